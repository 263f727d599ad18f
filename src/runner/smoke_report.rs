//! The `smoke` report: what a smoke test found. How it is shown (the
//! table, JSON, JUnit, GitHub's lines and summary) is `views::smoke`.

use std::time::Duration;

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
    /// How long after the smoke test began it was ready: RUNNING, HEALTHY,
    /// or exited as expected.
    pub ready_after: Option<Duration>,
    /// Why this container failed the test, if it did.
    pub problem: Option<String>,
    /// When it failed with a health check: Docker's last check runs.
    pub health_checks: Vec<HealthCheckRun>,
    /// When it failed and had exited: the last lines it wrote.
    pub last_lines: Vec<String>,
}

/// One run of a container's health check, as Docker keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckRun {
    pub exit_code: i64,
    pub output: String,
}

/// One `--exec` check or `--http`/`--tcp` probe in the report.
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
    /// A `--http`/`--tcp` probe rather than an `--exec` command.
    pub probe: bool,
}

/// Everything `smoke` found, for the summary table, `--json` and `--junit`.
#[derive(Debug, Clone)]
pub struct SmokeReport {
    pub verdict: Verdict,
    pub containers: Vec<ContainerReport>,
    pub checks: Vec<CheckReport>,
    pub elapsed: Duration,
}
