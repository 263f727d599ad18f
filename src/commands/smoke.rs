//! `smoke`: run the task as a pre-deploy check (readiness, `--exec` checks,
//! expected exits), stop it, and report: a table or JSON on stdout, JUnit XML
//! for CI. A task that cannot even start still fails the JUnit report.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::exit::{ExitStatus, Failure};
use crate::plan::TaskPlan;
use crate::runner::Ending;
use crate::runner::smoke_report::{self, SmokeReport, Verdict};
use crate::runner::smoke_test::SmokeSpec;

use super::RunSettings;
use super::run::{Mode, run_task};

/// Where the report goes.
#[derive(Debug, Clone, Default)]
pub struct ReportSettings {
    pub junit: Option<PathBuf>,
    pub json: bool,
}

/// Runs the smoke test; the status says how it went.
pub fn smoke(
    settings: &RunSettings,
    spec: &SmokeSpec,
    report: &ReportSettings,
) -> Result<ExitStatus, Failure> {
    super::block_on(async {
        let finished = Box::pin(run_task(settings, Mode::Smoke(spec))).await?;
        let Some(plan) = &finished.plan else {
            return Ok(ExitStatus::Interrupted);
        };
        let ended = match finished.ended {
            Ok(ended) => ended,
            Err(e) => {
                if let Some(path) = &report.junit {
                    let failed = SmokeReport {
                        verdict: Verdict::Failed(format!("{e:#}")),
                        containers: Vec::new(),
                        checks: Vec::new(),
                        elapsed: finished.begun.elapsed(),
                    };
                    let _ = std::fs::write(path, smoke_report::junit(&failed, &plan.task));
                }
                return Err(e.into());
            }
        };
        match ended {
            Ending::Smoke(found) => publish(&found, &plan.task, report),
            Ending::Interrupted => Ok(ExitStatus::Interrupted),
            Ending::EssentialExited { .. } => Ok(ExitStatus::Failure),
        }
    })
}

/// Prints the report and writes the JUnit file; the status says how it went.
fn publish(
    found: &SmokeReport,
    task: &TaskPlan,
    report: &ReportSettings,
) -> Result<ExitStatus, Failure> {
    if let Some(path) = &report.junit {
        std::fs::write(path, smoke_report::junit(found, task))
            .with_context(|| format!("cannot write the JUnit report `{}`", path.display()))?;
    }
    super::write_stdout(&if report.json {
        smoke_report::json(found, task)
    } else {
        smoke_report::table(found, task)
    })?;
    Ok(match found.verdict {
        Verdict::Passed => ExitStatus::Success,
        Verdict::Failed(_) => ExitStatus::Failure,
        Verdict::TimedOut(_) => ExitStatus::Timeout,
        Verdict::Interrupted => ExitStatus::Interrupted,
    })
}
