//! The `smoke` report: what a smoke test found, and how it is shown (a
//! summary table, JSON, and JUnit XML).

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::plan::TaskPlan;

/// How a smoke test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// What failed, in one line.
    Failed(String),
    /// What was still awaited when `--timeout` ran out.
    TimedOut(String),
    Interrupted,
}

/// One container in the report.
#[derive(Debug, Clone)]
pub struct ContainerReport {
    pub name: String,
    pub essential: bool,
    /// `PENDING`, `RUNNING` or `STOPPED`, as ECS names a container's state.
    pub status: &'static str,
    pub health: Option<String>,
    pub exit_code: Option<i64>,
    pub time_to_healthy: Option<Duration>,
    /// Why this container failed the test, if it did.
    pub problem: Option<String>,
}

/// One `--exec` check in the report.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub container: String,
    pub command: Vec<String>,
    pub exit_code: Option<i64>,
    /// The end of what the command printed.
    pub output: String,
    pub duration: Duration,
    pub passed: bool,
    /// Why it did not pass, when it did not run to an exit code.
    pub error: Option<String>,
}

/// Everything `smoke` found, for the summary table, `--json` and `--junit`.
#[derive(Debug, Clone)]
pub struct SmokeReport {
    pub verdict: Verdict,
    pub containers: Vec<ContainerReport>,
    pub checks: Vec<CheckReport>,
    pub elapsed: Duration,
}

fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// The table printed at the end of `smoke`, and its verdict line.
#[must_use]
pub fn table(report: &SmokeReport, task: &TaskPlan) -> String {
    let mut rows = vec![
        [
            "CONTAINER",
            "STATUS",
            "HEALTH",
            "EXIT",
            "HEALTHY AFTER",
            "RESULT",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for c in &report.containers {
        rows.push(vec![
            if c.essential {
                c.name.clone()
            } else {
                format!("{} (not essential)", c.name)
            },
            c.status.to_owned(),
            c.health.clone().unwrap_or_else(|| "-".into()),
            c.exit_code.map_or_else(|| "-".into(), |e| e.to_string()),
            c.time_to_healthy.map_or_else(|| "-".into(), seconds),
            c.problem
                .clone()
                .map_or_else(|| "ok".into(), |p| format!("FAILED: {p}")),
        ]);
    }
    let mut out = crate::output::columns(&rows);
    if !report.checks.is_empty() {
        let mut rows = vec![
            ["CHECK", "CONTAINER", "EXIT", "TIME", "RESULT"]
                .map(str::to_owned)
                .to_vec(),
        ];
        for c in &report.checks {
            rows.push(vec![
                c.command.join(" "),
                c.container.clone(),
                c.exit_code.map_or_else(|| "-".into(), |e| e.to_string()),
                seconds(c.duration),
                match (&c.error, c.passed) {
                    (_, true) => "ok".into(),
                    (Some(e), _) => format!("FAILED: {e}"),
                    (None, false) => "FAILED".into(),
                },
            ]);
        }
        out.push('\n');
        out.push_str(&crate::output::columns(&rows));
    }
    let name = format!("`{}:{}`", task.family, task.revision);
    let _ = writeln!(
        out,
        "\n{}",
        match &report.verdict {
            Verdict::Passed =>
                format!("smoke test of {name} passed in {}", seconds(report.elapsed)),
            Verdict::Failed(reason) => format!("smoke test of {name} FAILED: {reason}"),
            Verdict::TimedOut(on) => format!(
                "smoke test of {name} TIMED OUT after {}, waiting for {on}",
                seconds(report.elapsed)
            ),
            Verdict::Interrupted => format!("smoke test of {name} interrupted"),
        }
    );
    out
}

fn verdict_name(verdict: &Verdict) -> (&'static str, Option<&str>) {
    match verdict {
        Verdict::Passed => ("passed", None),
        Verdict::Failed(r) => ("failed", Some(r)),
        Verdict::TimedOut(r) => ("timedOut", Some(r)),
        Verdict::Interrupted => ("interrupted", None),
    }
}

/// `--json`: the whole report.
#[must_use]
pub fn json(report: &SmokeReport, task: &TaskPlan) -> String {
    let (result, reason) = verdict_name(&report.verdict);
    let value = json!({
        "family": task.family,
        "revision": task.revision,
        "taskArn": task.task_arn,
        "result": result,
        "reason": reason,
        "seconds": report.elapsed.as_secs_f64(),
        "containers": report.containers.iter().map(|c| json!({
            "name": c.name,
            "essential": c.essential,
            "status": c.status,
            "health": c.health,
            "exitCode": c.exit_code,
            "secondsToHealthy": c.time_to_healthy.map(|d| d.as_secs_f64()),
            "problem": c.problem,
        })).collect::<Vec<Value>>(),
        "checks": report.checks.iter().map(|c| json!({
            "container": c.container,
            "command": c.command,
            "exitCode": c.exit_code,
            "seconds": c.duration.as_secs_f64(),
            "passed": c.passed,
            "error": c.error,
            "output": c.output,
        })).collect::<Vec<Value>>(),
    });
    let mut text = serde_json::to_string_pretty(&value).expect("a JSON value prints");
    text.push('\n');
    text
}

/// `--junit`: one test suite, a test case per container and per check, in
/// the JUnit XML CI test viewers read (Jenkins, GitLab, GitHub actions).
#[must_use]
pub fn junit(report: &SmokeReport, task: &TaskPlan) -> String {
    let suite = format!("ecs-run-local smoke {}:{}", task.family, task.revision);
    let mut cases = String::new();
    let mut failures = 0;
    for c in &report.containers {
        let _ = write!(
            cases,
            "    <testcase classname=\"{}\" name=\"container {}\" time=\"{:.3}\">",
            escape(&suite),
            escape(&c.name),
            c.time_to_healthy.unwrap_or_default().as_secs_f64()
        );
        if let Some(problem) = &c.problem {
            failures += 1;
            let _ = write!(
                cases,
                "\n      <failure message=\"{}\">status {}, health {}, exit code {}</failure>\n    ",
                escape(problem),
                c.status,
                escape(c.health.as_deref().unwrap_or("none")),
                c.exit_code.map_or_else(|| "none".into(), |e| e.to_string())
            );
        }
        cases.push_str("</testcase>\n");
    }
    for c in &report.checks {
        let _ = write!(
            cases,
            "    <testcase classname=\"{}\" name=\"exec {}: {}\" time=\"{:.3}\">",
            escape(&suite),
            escape(&c.container),
            escape(&c.command.join(" ")),
            c.duration.as_secs_f64()
        );
        if !c.passed {
            failures += 1;
            let message = c
                .error
                .clone()
                .unwrap_or_else(|| format!("exited with {}", c.exit_code.unwrap_or(-1)));
            let _ = write!(
                cases,
                "\n      <failure message=\"{}\">{}</failure>\n    ",
                escape(&message),
                escape(&c.output)
            );
        }
        if !c.output.is_empty() {
            let _ = write!(cases, "<system-out>{}</system-out>", escape(&c.output));
        }
        cases.push_str("</testcase>\n");
    }
    let tests = report.containers.len() + report.checks.len();
    // A timeout or a failure no test case carries still fails the suite.
    let (result, reason) = verdict_name(&report.verdict);
    let mut errors = 0;
    if failures == 0 && reason.is_some() {
        errors = 1;
        let _ = writeln!(
            cases,
            "    <testcase classname=\"{}\" name=\"task\" time=\"{:.3}\">\n      <error message=\"{}\" type=\"{result}\"/>\n    </testcase>",
            escape(&suite),
            report.elapsed.as_secs_f64(),
            escape(reason.unwrap_or_default())
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"ecs-run-local smoke\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\">\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"{:.3}\">\n{cases}  </testsuite>\n</testsuites>\n",
        tests + errors,
        report.elapsed.as_secs_f64(),
        escape(&suite),
        tests + errors,
        report.elapsed.as_secs_f64(),
    )
}

/// XML text and attribute escaping; control characters XML 1.0 forbids are dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\r' | '\t' => out.push(ch),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::{CheckReport, ContainerReport};

    fn task() -> TaskPlan {
        let loaded = crate::taskdef::load_str(
            r#"{"family":"shop","containerDefinitions":[{"name":"web","image":"x"}]}"#,
            "t.json",
            "t",
        )
        .unwrap();
        crate::plan::plan(
            &loaded.definition,
            &crate::plan::PlanOptions::default(),
            &mut crate::plan::ids::SequentialIds::default(),
        )
        .unwrap()
        .task
    }

    fn report(verdict: Verdict) -> SmokeReport {
        SmokeReport {
            verdict,
            containers: vec![
                ContainerReport {
                    name: "web".into(),
                    essential: true,
                    status: "RUNNING",
                    health: Some("healthy".into()),
                    exit_code: None,
                    time_to_healthy: Some(Duration::from_millis(5120)),
                    problem: None,
                },
                ContainerReport {
                    name: "migrate".into(),
                    essential: false,
                    status: "STOPPED",
                    health: None,
                    exit_code: Some(3),
                    time_to_healthy: None,
                    problem: Some("`migrate` exited with 3, expected 0".into()),
                },
            ],
            checks: vec![CheckReport {
                container: "web".into(),
                command: vec![
                    "curl".into(),
                    "-f".into(),
                    "http://localhost/<health>".into(),
                ],
                exit_code: Some(22),
                output: "curl: (22) 503 & \u{1b}[0m\n".into(),
                duration: Duration::from_millis(40),
                passed: false,
                error: None,
            }],
            elapsed: Duration::from_millis(7250),
        }
    }

    #[test]
    fn the_summary_names_each_container_and_check() {
        let text = table(
            &report(Verdict::Failed(
                "`migrate` exited with 3, expected 0".into(),
            )),
            &task(),
        );
        insta::assert_snapshot!("smoke-table", text);
    }

    #[test]
    fn junit_has_a_case_per_container_and_check_with_escaped_text() {
        let xml = junit(&report(Verdict::Failed("x".into())), &task());
        insta::assert_snapshot!("smoke-junit", xml);
        // No failing case of its own: the verdict becomes an error case.
        let mut passed = report(Verdict::TimedOut("`web` to be HEALTHY".into()));
        passed.containers.truncate(1);
        passed.checks.clear();
        let xml = junit(&passed, &task());
        assert!(
            xml.contains("<error message=\"`web` to be HEALTHY\" type=\"timedOut\"/>"),
            "{xml}"
        );
        assert!(
            xml.contains("tests=\"2\" failures=\"0\" errors=\"1\""),
            "{xml}"
        );
    }

    #[test]
    fn xml_escapes_markup_and_drops_control_characters() {
        assert_eq!(
            escape("a<b>&\"c\"\u{1b}[0m'"),
            "a&lt;b&gt;&amp;&quot;c&quot;[0m&apos;"
        );
    }
}
