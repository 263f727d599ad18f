//! How `ecs-run-local` ends: the exit status every command returns, and the
//! one failure it reports. A leaf every layer above `taskdef` may use.

use std::process::ExitCode;

use crate::taskdef::{Diagnostic, LoadError};

/// What begins the one line a failure prints (`main` prints it; a helper
/// container that runs this program prints it too).
pub const ERROR_PREFIX: &str = "ecs-run-local: error: ";

/// How `ecs-run-local` exits (docs/ARCHITECTURE.md, "Lifecycle").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    /// The task could not start.
    Failure,
    /// Bad usage or an invalid task definition.
    Usage,
    /// The exit code of the essential container that stopped the task.
    Container(u8),
    /// A `--timeout` ran out.
    Timeout,
    /// Stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
    Interrupted,
}

impl ExitStatus {
    /// The status of a task that an essential container stopped.
    #[must_use]
    pub fn of_container(exit_code: i64) -> ExitStatus {
        match exit_code {
            0 => ExitStatus::Success,
            1..=255 => ExitStatus::Container(exit_code as u8),
            _ => ExitStatus::Failure,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Container(code) => code,
            ExitStatus::Timeout => 124,
            ExitStatus::Interrupted => 130,
        })
    }
}

/// A failure to report: one headline with its cause chain, the located
/// problems behind it, and how to exit.
#[derive(Debug)]
pub struct Failure {
    pub status: ExitStatus,
    pub error: anyhow::Error,
    pub details: Vec<Diagnostic>,
}

impl Failure {
    /// Bad usage or an invalid definition (exit 2), with the located problems.
    pub fn usage(error: impl Into<anyhow::Error>, details: Vec<Diagnostic>) -> Self {
        Failure {
            status: ExitStatus::Usage,
            error: error.into(),
            details,
        }
    }
}

impl From<LoadError> for Failure {
    fn from(error: LoadError) -> Self {
        let details = error.problems().to_vec();
        Failure::usage(error, details)
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        anyhow::Error::new(error).into()
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure {
            status: ExitStatus::Failure,
            error,
            details: Vec::new(),
        }
    }
}
