//! The orchestration layer: runs a parsed command and says how it ended.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{Cli, Command, TaskArgs};
use crate::output;
use crate::plan::{self, PlanError, PlanOptions, RandomIds};
use crate::taskdef::{self, Diagnostic, LoadError, Loaded};

/// How `ecs-run-local` exits (DESIGN.md, "Lifecycle").
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
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Container(code) => code,
            ExitStatus::Timeout => 124,
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
    fn usage(error: impl Into<anyhow::Error>, details: Vec<Diagnostic>) -> Self {
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

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure {
            status: ExitStatus::Failure,
            error,
            details: Vec::new(),
        }
    }
}

/// Runs one command to its end.
pub fn run(cli: Cli) -> Result<ExitStatus, Failure> {
    match cli.command {
        Command::Validate { file, json } => {
            let loaded = taskdef::load_path(&file)?;
            validate(&loaded, json)
        }
        Command::Plan { file, json, task } => {
            let loaded = taskdef::load_path(&file)?;
            let options = plan_options(&task);
            let plan = plan::plan(&loaded.definition, &options, &mut RandomIds)
                .map_err(|e| located_failure(&loaded, e))?;
            print_warnings(&loaded);
            let text = if json {
                output::plan::json(&plan)
            } else {
                output::plan::summary(&plan)
            };
            write_stdout(&text)?;
            Ok(ExitStatus::Success)
        }
    }
}

fn validate(loaded: &Loaded, json: bool) -> Result<ExitStatus, Failure> {
    let findings = all_findings(loaded);
    let errors: Vec<Diagnostic> = findings.iter().filter(|d| d.is_error()).cloned().collect();
    if json {
        write_stdout(&output::diagnostics::json(loaded, &findings))?;
        return Ok(if errors.is_empty() {
            ExitStatus::Success
        } else {
            ExitStatus::Usage
        });
    }
    for warning in findings.iter().filter(|d| !d.is_error()) {
        output::diagnostics::warn(&loaded.source_name, warning);
    }
    if errors.is_empty() {
        write_stdout(&output::diagnostics::valid_line(loaded, findings.len()))?;
        Ok(ExitStatus::Success)
    } else {
        Err(Failure::usage(invalid(loaded, errors.len()), errors))
    }
}

/// Load warnings and validation findings, every path located in the user's document.
fn all_findings(loaded: &Loaded) -> Vec<Diagnostic> {
    let mut findings: Vec<Diagnostic> = taskdef::validate(&loaded.definition)
        .into_iter()
        .map(|d| Diagnostic {
            path: loaded.shape.locate(&d.path),
            ..d
        })
        .collect();
    findings.extend(loaded.warnings.iter().cloned());
    findings.sort_by_key(|d| d.severity);
    findings
}

fn located_failure(loaded: &Loaded, error: PlanError) -> Failure {
    let PlanError::Invalid(errors) = error;
    let errors: Vec<Diagnostic> = errors
        .into_iter()
        .map(|d| Diagnostic {
            path: loaded.shape.locate(&d.path),
            ..d
        })
        .collect();
    Failure::usage(invalid(loaded, errors.len()), errors)
}

fn invalid(loaded: &Loaded, count: usize) -> anyhow::Error {
    anyhow::anyhow!(
        "`{}` is not a valid task definition ({})",
        loaded.source_name,
        taskdef::load::plural(count, "error")
    )
}

fn print_warnings(loaded: &Loaded) {
    for warning in all_findings(loaded).iter().filter(|d| !d.is_error()) {
        output::diagnostics::warn(&loaded.source_name, warning);
    }
}

fn plan_options(task: &TaskArgs) -> PlanOptions {
    PlanOptions {
        cluster: task.cluster.clone(),
        region: task
            .region
            .clone()
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .filter(|r| !r.is_empty()),
        service_name: task.service_name.clone(),
        ..PlanOptions::default()
    }
}

fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // `ecs-run-local plan x.json | head` is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}
