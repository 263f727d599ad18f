//! The smoke report as people and tools read it: the table on stdout, JSON
//! (`--json`), JUnit (`--junit`), and in GitHub Actions the `::error` lines
//! and the step summary in Markdown. The report itself is the runner's
//! ([`crate::runner::smoke_report`]); nothing here runs anything.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::plan::TaskPlan;
use crate::runner::smoke_report::{SmokeReport, Verdict};

fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// The container rows of the summary, header first.
fn container_rows(report: &SmokeReport) -> Vec<Vec<String>> {
    let mut rows = vec![
        [
            "CONTAINER",
            "STATUS",
            "HEALTH",
            "EXIT",
            "READY AFTER",
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
            c.ready_after.map_or_else(|| "-".into(), seconds),
            c.problem
                .clone()
                .map_or_else(|| "ok".into(), |p| format!("FAILED: {p}")),
        ]);
    }
    rows
}

/// The check and probe rows of the summary, header first.
fn check_rows(report: &SmokeReport) -> Vec<Vec<String>> {
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
    rows
}

/// What the failed containers left to read: their last health checks and
/// their last lines, indented under their names.
fn diagnostics(report: &SmokeReport) -> String {
    let mut out = String::new();
    for c in &report.containers {
        if !c.health_checks.is_empty() {
            let _ = writeln!(out, "\n{}: last health checks", c.name);
            for run in &c.health_checks {
                let _ = writeln!(out, "  exit {}: {}", run.exit_code, one_line(&run.output));
            }
        }
        if !c.last_lines.is_empty() {
            let _ = writeln!(out, "\n{}: last output", c.name);
            for line in &c.last_lines {
                let _ = writeln!(out, "  | {line}");
            }
        }
    }
    out
}

fn one_line(text: &str) -> String {
    let text = text.trim().replace(['\r', '\n'], " ");
    if text.is_empty() {
        "(no output)".into()
    } else {
        text
    }
}

/// The verdict line.
fn verdict_line(report: &SmokeReport, task: &TaskPlan) -> String {
    let name = format!("`{}:{}`", task.family, task.revision);
    match &report.verdict {
        Verdict::Passed => format!("smoke test of {name} passed in {}", seconds(report.elapsed)),
        Verdict::Failed(reason) => format!("smoke test of {name} FAILED: {reason}"),
        Verdict::TimedOut(on) => format!(
            "smoke test of {name} TIMED OUT after {}, waiting for {on}",
            seconds(report.elapsed)
        ),
        Verdict::Interrupted => format!("smoke test of {name} interrupted"),
    }
}

/// The table printed at the end of `smoke`, and its verdict line.
#[must_use]
pub fn table(report: &SmokeReport, task: &TaskPlan) -> String {
    let mut out = crate::output::columns(&container_rows(report));
    out.push_str(&diagnostics(report));
    if !report.checks.is_empty() {
        out.push('\n');
        out.push_str(&crate::output::columns(&check_rows(report)));
    }
    let _ = writeln!(out, "\n{}", verdict_line(report, task));
    out
}

/// The summary as GitHub-flavoured Markdown, for `$GITHUB_STEP_SUMMARY`.
#[must_use]
pub fn markdown(report: &SmokeReport, task: &TaskPlan) -> String {
    fn table(out: &mut String, rows: &[Vec<String>]) {
        for (i, row) in rows.iter().enumerate() {
            let cells: Vec<String> = row
                .iter()
                .map(|cell| cell.replace('|', "\\|").replace('\n', " "))
                .collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
            if i == 0 {
                let _ = writeln!(out, "|{}", " --- |".repeat(row.len()));
            }
        }
    }
    let mut out = format!("### {}\n\n", verdict_line(report, task));
    table(&mut out, &container_rows(report));
    let found = diagnostics(report);
    if !found.is_empty() {
        let _ = write!(out, "\n```{found}```\n");
    }
    if !report.checks.is_empty() {
        out.push('\n');
        table(&mut out, &check_rows(report));
    }
    out.push('\n');
    out
}

/// GitHub Actions' `::error` workflow commands, one per failure: each
/// failed container, check and probe, or the verdict when none carries it.
#[must_use]
pub fn github_errors(report: &SmokeReport, task: &TaskPlan) -> Vec<String> {
    let name = format!("{}:{}", task.family, task.revision);
    let mut errors: Vec<(String, String)> = Vec::new();
    for c in &report.containers {
        if let Some(problem) = &c.problem {
            errors.push((
                format!("smoke {name}: container {}", c.name),
                problem.clone(),
            ));
        }
    }
    for c in report.checks.iter().filter(|c| !c.passed) {
        let what = if c.probe { "probe" } else { "check" };
        let message = c
            .error
            .clone()
            .unwrap_or_else(|| format!("exited with {}", c.exit_code.unwrap_or(-1)));
        errors.push((
            format!(
                "smoke {name}: {what} {} in {}",
                c.command.join(" "),
                c.container
            ),
            message,
        ));
    }
    if errors.is_empty() && verdict_name(&report.verdict).1.is_some() {
        errors.push((format!("smoke {name}"), verdict_line(report, task)));
    }
    errors
        .into_iter()
        .map(|(title, message)| {
            format!(
                "::error title={}::{}",
                escape_property(&title),
                escape_data(&message)
            )
        })
        .collect()
}

/// A workflow command's message: `%`, CR and LF escaped.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: also `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
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
            "secondsToReady": c.ready_after.map(|d| d.as_secs_f64()),
            "problem": c.problem,
            "healthChecks": c.health_checks.iter().map(|r| json!({
                "exitCode": r.exit_code,
                "output": r.output,
            })).collect::<Vec<Value>>(),
            "lastLines": c.last_lines,
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

/// `--junit`: one test suite, a test case per container, per check and per
/// probe, in the shape of the common JUnit schema (windyroad's `JUnit.xsd`,
/// which CI viewers read): the suite's `id`, `package`, `hostname` and
/// zone-less `timestamp`, its `properties`, `system-out` and `system-err`,
/// and a `type` on every failure. What the checks printed goes to the
/// suite's `system-out`, since the schema allows none in a test case.
#[must_use]
pub fn junit(report: &SmokeReport, task: &TaskPlan) -> String {
    let begun = chrono::Utc::now() - chrono::Duration::from_std(report.elapsed).unwrap_or_default();
    junit_at(
        report,
        task,
        &begun.format("%Y-%m-%dT%H:%M:%S").to_string(),
        &hostname(),
    )
}

fn junit_at(report: &SmokeReport, task: &TaskPlan, timestamp: &str, host: &str) -> String {
    let suite = format!("ecs-run-local smoke {}:{}", task.family, task.revision);
    let mut cases = String::new();
    let mut output = String::new();
    let mut failures = 0;
    let mut case = |name: String, time: Duration, failure: Option<(&str, String, String)>| {
        let _ = write!(
            cases,
            "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
            escape(&name),
            escape(&suite),
            time.as_secs_f64()
        );
        match failure {
            None => cases.push_str("/>\n"),
            Some((kind, message, text)) => {
                failures += 1;
                let _ = write!(
                    cases,
                    ">\n      <failure message=\"{}\" type=\"{kind}\">{}</failure>\n    </testcase>\n",
                    escape(&message),
                    escape(&text)
                );
            }
        }
    };
    for c in &report.containers {
        let failure = c.problem.as_ref().map(|problem| {
            let mut text = format!(
                "status {}, health {}, exit code {}",
                c.status,
                c.health.as_deref().unwrap_or("none"),
                c.exit_code.map_or_else(|| "none".into(), |e| e.to_string())
            );
            for run in &c.health_checks {
                let _ = write!(
                    text,
                    "\nhealth check exit {}: {}",
                    run.exit_code,
                    one_line(&run.output)
                );
            }
            for line in &c.last_lines {
                let _ = write!(text, "\n| {line}");
            }
            ("container", problem.clone(), text)
        });
        case(
            format!("container {}", c.name),
            c.ready_after.unwrap_or_default(),
            failure,
        );
    }
    for c in &report.checks {
        let name = if c.probe {
            format!("probe {}", c.command.join(" "))
        } else {
            format!("exec {}: {}", c.container, c.command.join(" "))
        };
        let failure = (!c.passed).then(|| {
            let message = c
                .error
                .clone()
                .unwrap_or_else(|| format!("exited with {}", c.exit_code.unwrap_or(-1)));
            (
                if c.probe { "probe" } else { "exec" },
                message,
                c.output.clone(),
            )
        });
        if !c.output.is_empty() {
            let _ = writeln!(output, "{name}:\n{}", c.output.trim_end());
        }
        case(name, c.duration, failure);
    }
    let tests = report.containers.len() + report.checks.len();
    // A timeout or a failure no test case carries still fails the suite.
    let (result, reason) = verdict_name(&report.verdict);
    let mut errors = 0;
    if failures == 0 && reason.is_some() {
        errors = 1;
        let _ = writeln!(
            cases,
            "    <testcase name=\"task\" classname=\"{}\" time=\"{:.3}\">\n      <error message=\"{}\" type=\"{result}\"/>\n    </testcase>",
            escape(&suite),
            report.elapsed.as_secs_f64(),
            escape(reason.unwrap_or_default())
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"{:.3}\" timestamp=\"{timestamp}\" hostname=\"{}\" id=\"0\" package=\"ecs-run-local\">\n    <properties>\n      <property name=\"task-arn\" value=\"{}\"/>\n      <property name=\"result\" value=\"{result}\"/>\n    </properties>\n{cases}    <system-out>{}</system-out>\n    <system-err/>\n  </testsuite>\n</testsuites>\n",
        escape(&suite),
        tests + errors,
        report.elapsed.as_secs_f64(),
        escape(host),
        escape(&task.task_arn),
        escape(&output),
    )
}

/// This machine's name, for the JUnit suite; `localhost` when unknown.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
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
    use crate::runner::smoke_report::{CheckReport, ContainerReport, HealthCheckRun};

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
                    ready_after: Some(Duration::from_millis(5900)),
                    problem: None,
                    health_checks: Vec::new(),
                    last_lines: Vec::new(),
                },
                ContainerReport {
                    name: "migrate".into(),
                    essential: false,
                    status: "STOPPED",
                    health: None,
                    exit_code: Some(3),
                    time_to_healthy: None,
                    ready_after: None,
                    problem: Some("`migrate` exited with 3, expected 0".into()),
                    health_checks: vec![HealthCheckRun {
                        exit_code: 1,
                        output: "no <table>\n".into(),
                    }],
                    last_lines: vec!["applying 0042".into(), "error: relation \"users\" exists".into()],
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
                probe: false,
            }, CheckReport {
                container: "web".into(),
                command: vec!["http web:8080/health".into()],
                exit_code: None,
                output: "HTTP/1.1 503 Service Unavailable: warming up".into(),
                duration: Duration::from_secs(6),
                passed: false,
                error: Some("not passed within --timeout; last response: HTTP/1.1 503 Service Unavailable: warming up".into()),
                probe: true,
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
        let xml = junit_at(
            &report(Verdict::Failed("x".into())),
            &task(),
            "2026-12-02T10:00:00",
            "ci-runner",
        );
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
