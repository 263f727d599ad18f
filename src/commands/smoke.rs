//! `smoke`: run the task as a pre-deploy check (readiness, `--exec` checks,
//! expected exits), stop it, and report: a table or JSON on stdout, JUnit XML
//! for CI. A task that cannot even start still fails the JUnit report.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::exit::{ExitStatus, Failure};
use crate::plan::TaskPlan;
use crate::runner::Ending;
use crate::runner::smoke_report::{SmokeReport, Verdict};
use crate::runner::smoke_test::SmokeSpec;
use crate::views::smoke as view;

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
                    let _ = std::fs::write(path, view::junit(&failed, &plan.task));
                }
                return Err(super::run::run_failure(e));
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
        std::fs::write(path, view::junit(found, task))
            .with_context(|| format!("cannot write the JUnit report `{}`", path.display()))?;
    }
    super::write_stdout(&if report.json {
        view::json(found, task)
    } else {
        view::table(found, task)
    })?;
    if std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true") {
        github(found, task, report.json)?;
    }
    Ok(match found.verdict {
        Verdict::Passed => ExitStatus::Success,
        Verdict::Failed(_) => ExitStatus::Failure,
        Verdict::TimedOut(_) => ExitStatus::Timeout,
        Verdict::Interrupted => ExitStatus::Interrupted,
    })
}

/// In a GitHub Actions job: an `::error` line per failure (on stdout, or on
/// stderr beside `--json`), and the summary appended to the job's summary.
fn github(found: &SmokeReport, task: &TaskPlan, json: bool) -> Result<(), Failure> {
    for line in view::github_errors(found, task) {
        if json {
            eprintln!("{line}");
        } else {
            super::write_stdout(&format!("{line}\n"))?;
        }
    }
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        use std::io::Write as _;
        let path = PathBuf::from(path);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(view::markdown(found, task).as_bytes()))
            .with_context(|| {
                format!("cannot append to GITHUB_STEP_SUMMARY `{}`", path.display())
            })?;
    }
    Ok(())
}
