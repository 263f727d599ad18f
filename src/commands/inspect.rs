//! `validate` and `plan`: what is wrong with a definition, and what a run of
//! it would create, without running anything.

use std::path::Path;

use crate::exit::{ExitStatus, Failure};
use crate::output::{diagnostics, plan_view};
use crate::plan::PlanOptions;
use crate::taskdef::{self, Diagnostic};

use super::{AwsSettings, DefinitionSource, OverrideSettings, TaskSettings, definition};

/// `validate FILE`: every finding; exit 2 when the definition cannot run.
pub fn validate(file: &Path, json: bool) -> Result<ExitStatus, Failure> {
    let loaded = taskdef::load_path(file)?;
    let findings = definition::all_findings(&loaded);
    let errors: Vec<Diagnostic> = findings.iter().filter(|d| d.is_error()).cloned().collect();
    if json {
        super::write_stdout(&diagnostics::json(&loaded, &findings))?;
        return Ok(if errors.is_empty() {
            ExitStatus::Success
        } else {
            ExitStatus::Usage
        });
    }
    for warning in findings.iter().filter(|d| !d.is_error()) {
        diagnostics::warn(&loaded.source_name, warning);
    }
    if errors.is_empty() {
        super::write_stdout(&diagnostics::valid_line(&loaded, findings.len()))?;
        Ok(ExitStatus::Success)
    } else {
        Err(Failure::usage(
            definition::invalid(&loaded, errors.len()),
            errors,
        ))
    }
}

/// `plan`: a summary, or the whole plan as JSON.
pub fn plan(
    source: &DefinitionSource,
    task: &TaskSettings,
    overrides: &OverrideSettings,
    aws: &AwsSettings,
    json: bool,
) -> Result<ExitStatus, Failure> {
    super::block_on(async {
        let plan =
            definition::load_and_plan(source, task, overrides, aws, PlanOptions::default()).await?;
        super::write_stdout(&if json {
            plan_view::json(&plan)
        } else {
            plan_view::summary(&plan)
        })?;
        Ok(ExitStatus::Success)
    })
}
