//! `smoke`: start the task, wait until it is ready as a deploy would want it
//! (essential containers RUNNING, health checks HEALTHY, COMPLETE and SUCCESS
//! dependencies done, expected exits seen), run the `--exec` checks inside
//! their containers and the `--http`/`--tcp` probes beside them, and report.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;

use super::probe::Probe;
use super::signals::{Shutdown, Stop};
use super::smoke_report::{CheckReport, ContainerReport, HealthCheckRun, SmokeReport, Verdict};
use super::supervise::{State, TICK, Task};
use crate::docker::EventStream;
use crate::output::logs::LineSplitter;
use crate::taskdef::model::DependencyCondition;

/// What `smoke` checks, beyond the task becoming ready.
#[derive(Debug, Clone, Default)]
pub struct SmokeSpec {
    pub timeout: Duration,
    pub execs: Vec<ExecCheck>,
    /// `--expect-exit CONTAINER=CODE`: a container that must exit so.
    pub expect_exit: BTreeMap<String, i64>,
    /// `--http` and `--tcp`: probes run from a probe container.
    pub probes: Vec<Probe>,
}

impl SmokeSpec {
    /// Every container a check names must be one of the task's.
    pub fn check(&self, def: &crate::taskdef::TaskDefinition) -> Result<(), String> {
        let named = self
            .execs
            .iter()
            .map(|e| ("--exec", e.container.as_str()))
            .chain(
                self.expect_exit
                    .keys()
                    .map(|c| ("--expect-exit", c.as_str())),
            )
            .chain(self.probes.iter().map(|p| {
                let flag = if p.http.is_some() { "--http" } else { "--tcp" };
                (flag, p.container.as_str())
            }));
        for (flag, container) in named {
            if !def.has_container(container) {
                return Err(format!(
                    "`{flag} {container}` names no container of the task (its containers: {})",
                    def.container_list()
                ));
            }
        }
        Ok(())
    }
}

/// A command run in a container once the task is ready (`smoke --exec`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCheck {
    pub container: String,
    pub command: Vec<String>,
}

/// What each container still needs before the task is ready.
enum Wait {
    Ready,
    Pending(String),
    Failed(String),
}

/// Waits for the task to be ready, runs the checks, and reports. The caller
/// stops and removes the task afterwards, whatever the verdict. Readiness
/// times count from `begun` (the run's start); `--timeout` ends at
/// `deadline` (counted from the command's start).
pub async fn run(
    task: &mut Task<'_>,
    events: &mut EventStream,
    mut shutdown: Shutdown,
    spec: &SmokeSpec,
    agent_image: &str,
    begun: Instant,
    deadline: Instant,
) -> SmokeReport {
    let mut verdict = loop {
        // An engine that stops answering must not hold the smoke past its
        // deadline: a start cut short is found by teardown like the rest.
        let mut starting = Box::pin(task.start_ready());
        let started = tokio::select! {
            started = &mut starting => started,
            () = tokio::time::sleep_until(deadline.into()) => {
                let engine = crate::docker::bounds::waiting_on()
                    .map(|w| format!(" ({w})"))
                    .unwrap_or_default();
                break Verdict::TimedOut(format!("the containers to start{engine}"));
            }
        };
        drop(starting);
        if let Err(e) = started {
            break Verdict::Failed(format!("{e:#}"));
        }
        let pending = match readiness(task, spec) {
            Wait::Ready => break Verdict::Passed,
            Wait::Failed(reason) => break Verdict::Failed(reason),
            Wait::Pending(on) => on,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break Verdict::TimedOut(pending);
        }
        match task.wait(events, &mut shutdown, left.min(TICK)).await {
            Ok(true) => {}
            Ok(false) => break Verdict::Interrupted,
            Err(e) => break Verdict::Failed(format!("{e:#}")),
        }
    };
    let mut checks = Vec::new();
    if verdict == Verdict::Passed {
        for check in &spec.execs {
            let left = deadline.saturating_duration_since(Instant::now());
            let report = exec(task, check, left).await;
            if !report.passed && verdict == Verdict::Passed {
                verdict = match &report.error {
                    Some(e) if e.starts_with("timed out") => Verdict::TimedOut(format!(
                        "`{}` in `{}` to finish",
                        check.command.join(" "),
                        check.container
                    )),
                    _ => Verdict::Failed(format!(
                        "check `{}` in `{}` {}",
                        check.command.join(" "),
                        check.container,
                        report.error.clone().unwrap_or_else(|| format!(
                            "exited with {}",
                            report.exit_code.unwrap_or(-1)
                        ))
                    )),
                };
            }
            checks.push(report);
        }
    }
    if verdict == Verdict::Passed && !spec.probes.is_empty() {
        // Probes may retry until the deadline; Ctrl-C ends them at once (their
        // containers carry the run's label, so teardown removes them).
        let probing = super::probe::run_all(task, &spec.probes, agent_image, deadline);
        let probed = tokio::select! {
            probed = probing => probed,
            () = shutdown.reached(Stop::Graceful) => {
                verdict = Verdict::Interrupted;
                Vec::new()
            }
        };
        for report in probed {
            if !report.passed && verdict == Verdict::Passed {
                verdict = Verdict::Failed(format!(
                    "probe `{}` {}",
                    report.command.join(" "),
                    report.error.clone().unwrap_or_default()
                ));
            }
            checks.push(report);
        }
    }
    SmokeReport {
        containers: containers(task, spec, &verdict, begun).await,
        verdict,
        checks,
        elapsed: begun.elapsed(),
    }
}

/// Whether every container is where a deploy wants it.
fn readiness(task: &Task<'_>, spec: &SmokeSpec) -> Wait {
    let mut pending = Vec::new();
    for slot in &task.slots {
        match wait_for(task, slot, spec) {
            Wait::Ready => {}
            Wait::Failed(reason) => return Wait::Failed(reason),
            Wait::Pending(on) => pending.push(on),
        }
    }
    if pending.is_empty() {
        Wait::Ready
    } else {
        Wait::Pending(pending.join(", "))
    }
}

fn wait_for(task: &Task<'_>, slot: &super::supervise::Slot, spec: &SmokeSpec) -> Wait {
    let name = &slot.plan.name;
    if let Some(&expected) = spec.expect_exit.get(name) {
        return match slot.state {
            State::Exited(code) if code == expected => Wait::Ready,
            State::Exited(code) => {
                Wait::Failed(format!("`{name}` exited with {code}, expected {expected}"))
            }
            _ => Wait::Pending(format!("`{name}` to exit with {expected}")),
        };
    }
    let has_health = slot.plan.create.healthcheck.is_some();
    if has_health {
        match (slot.health.as_deref(), slot.state) {
            (Some("healthy"), State::Running) => {}
            (Some("unhealthy"), _) => {
                return Wait::Failed(format!("`{name}` is unhealthy"));
            }
            (_, State::Exited(code)) => {
                return Wait::Failed(format!("`{name}` exited with {code} before it was healthy"));
            }
            _ => return Wait::Pending(format!("`{name}` to be HEALTHY")),
        }
    }
    // A container others wait on for COMPLETE or SUCCESS must be done.
    let awaited = task.slots.iter().flat_map(|s| &s.needs).find(|n| {
        &n.container == name
            && matches!(
                n.condition,
                DependencyCondition::Complete | DependencyCondition::Success
            )
    });
    if let Some(need) = awaited {
        return match slot.state {
            State::Exited(code) if need.condition == DependencyCondition::Success && code != 0 => {
                Wait::Failed(format!("`{name}` exited with {code}, and SUCCESS needs 0"))
            }
            State::Exited(_) => Wait::Ready,
            _ => Wait::Pending(format!("`{name}` to {}", need.condition)),
        };
    }
    if slot.plan.essential {
        return match slot.state {
            State::Running => Wait::Ready,
            State::Exited(code) => Wait::Failed(format!(
                "essential container `{name}` exited with {code}{}",
                super::supervise::oom_reason(slot.oom_killed)
            )),
            State::Created => Wait::Pending(format!("`{name}` to start")),
        };
    }
    Wait::Ready
}

async fn exec(task: &Task<'_>, check: &ExecCheck, left: Duration) -> CheckReport {
    let started = Instant::now();
    let mut report = CheckReport {
        container: check.container.clone(),
        command: check.command.clone(),
        exit_code: None,
        output: String::new(),
        duration: Duration::ZERO,
        passed: false,
        error: None,
        probe: false,
    };
    let slot = task.slots.iter().find(|s| s.plan.name == check.container);
    match slot {
        Some(slot) if slot.state == State::Running => {
            match tokio::time::timeout(left, task.engine.exec(&slot.id, &check.command)).await {
                Ok(Ok((code, output))) => {
                    report.exit_code = Some(code);
                    report.passed = code == 0;
                    report.output = tail(&output, 2000);
                }
                Ok(Err(e)) => report.error = Some(format!("could not run: {e}")),
                Err(_) => report.error = Some("timed out".into()),
            }
        }
        Some(_) => report.error = Some("could not run: the container is not running".into()),
        None => report.error = Some("could not run: no such container".into()),
    }
    report.duration = started.elapsed();
    report
}

/// The last `max` bytes of `text`, on a character boundary.
fn tail(text: &str, max: usize) -> String {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_owned()
}

/// How many of Docker's kept health check runs, and of a stopped
/// container's last lines, the report shows.
const HEALTH_RUNS: usize = 3;
const LAST_LINES: usize = 10;

async fn containers(
    task: &Task<'_>,
    spec: &SmokeSpec,
    verdict: &Verdict,
    begun: Instant,
) -> Vec<ContainerReport> {
    let failed = match verdict {
        Verdict::Failed(reason) | Verdict::TimedOut(reason) => reason.as_str(),
        _ => "",
    };
    // In the definition's order, not the start order.
    let mut slots: Vec<&super::supervise::Slot> = task.slots.iter().collect();
    slots.sort_by_key(|s| {
        task.plan
            .containers
            .iter()
            .position(|c| c.name == s.plan.name)
    });
    let mut reports = Vec::new();
    for slot in slots {
        let name = &slot.plan.name;
        let has_health = slot.plan.create.healthcheck.is_some();
        let wait = wait_for(task, slot, spec);
        let ready_at = match (&wait, slot.state) {
            (Wait::Ready, State::Exited(_)) => slot.exited_at,
            (Wait::Ready, _) if has_health => slot.healthy_at,
            (Wait::Ready, _) => slot.started,
            _ => None,
        };
        let problem = match wait {
            Wait::Failed(reason) => Some(reason),
            Wait::Pending(on) if !matches!(verdict, Verdict::Passed) => {
                Some(format!("still waiting for {on}"))
            }
            _ if failed.contains(&format!("`{name}`")) => Some(failed.to_owned()),
            _ => None,
        };
        let (health_checks, last_lines) = if problem.is_some() {
            diagnose(task, slot, has_health).await
        } else {
            (Vec::new(), Vec::new())
        };
        reports.push(ContainerReport {
            name: name.clone(),
            essential: slot.plan.essential,
            status: match slot.state {
                State::Created => "PENDING",
                State::Running => "RUNNING",
                State::Exited(_) => "STOPPED",
            },
            health: slot.health.clone(),
            exit_code: match slot.state {
                State::Exited(code) => Some(code),
                _ => None,
            },
            time_to_healthy: match (slot.started, slot.healthy_at) {
                (Some(started), Some(healthy)) => Some(healthy.duration_since(started)),
                _ => None,
            },
            ready_after: ready_at.map(|at| at.saturating_duration_since(begun)),
            problem,
            health_checks,
            last_lines,
        });
    }
    reports
}

/// What a failed container leaves to read: Docker's last health check runs
/// (when it has a check) and its last lines (when it stopped).
async fn diagnose(
    task: &Task<'_>,
    slot: &super::supervise::Slot,
    has_health: bool,
) -> (Vec<HealthCheckRun>, Vec<String>) {
    let mut runs = Vec::new();
    if has_health && let Ok(inspect) = task.engine.inspect_raw(&slot.id).await {
        let log = inspect
            .state
            .and_then(|s| s.health)
            .and_then(|h| h.log)
            .unwrap_or_default();
        let skip = log.len().saturating_sub(HEALTH_RUNS);
        runs = log
            .into_iter()
            .skip(skip)
            .map(|run| HealthCheckRun {
                exit_code: run.exit_code.unwrap_or(-1),
                output: tail(run.output.as_deref().unwrap_or_default(), 300),
            })
            .collect();
    }
    let mut lines = Vec::new();
    if matches!(slot.state, State::Exited(_)) {
        let mut logs = task.engine.logs(&slot.id, false, None);
        let mut splitter = LineSplitter::default();
        while let Some(Ok(chunk)) = logs.next().await {
            lines.extend(splitter.push(&chunk.bytes));
        }
        lines.extend(splitter.finish());
        let skip = lines.len().saturating_sub(LAST_LINES);
        lines.drain(..skip);
    }
    (runs, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_keep_whole_characters() {
        assert_eq!(tail("héllo", 4), "llo");
        assert_eq!(tail("abc", 10), "abc");
    }
}
