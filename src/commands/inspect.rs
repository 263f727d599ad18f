//! `validate`, `plan` and `render`: what is wrong with a definition, what a
//! run of it would create, and the definition a run uses as register input,
//! without running anything.

use std::path::Path;

use crate::exit::{ExitStatus, Failure};
use crate::output::{diagnostics, plan_view};
use crate::plan::PlanOptions;
use crate::taskdef::{self, Diagnostic};

use super::{
    AwsSettings, DefinitionSource, OverrideSettings, TaskSettings, TemplateSettings, definition,
};

/// `validate FILE`: every finding; exit 2 when the definition cannot run.
pub fn validate(
    file: &Path,
    template: &TemplateSettings,
    json: bool,
) -> Result<ExitStatus, Failure> {
    let loaded = definition::load_file(file, template, None)?.loaded;
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

/// `render`: the overridden definition as `register-task-definition` input,
/// on stdout; warnings on stderr, exit 2 when it cannot run.
pub fn render(
    source: &DefinitionSource,
    task: &TaskSettings,
    changes: &OverrideSettings,
    aws: &AwsSettings,
) -> Result<ExitStatus, Failure> {
    super::block_on(async {
        let aws = crate::aws::LazyAws::new(
            aws.profile.as_deref(),
            task.region.as_deref(),
            aws.timeout,
            aws.mfa_code.as_deref(),
        );
        let mut loaded = definition::load(source, task, &aws).await?.loaded;
        definition::apply_overrides(&mut loaded, changes)?;
        definition::reject_errors(&loaded)?;
        definition::reject_placeholders(&loaded)?;
        definition::print_warnings(&loaded);
        // What the rendered file is for (registering, deploying) needs images
        // Docker can pull.
        let bad_images: Vec<taskdef::Diagnostic> = loaded
            .definition
            .container_definitions
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let image = c.image.as_deref()?;
                let why = taskdef::render::image_reference_problem(image)?;
                Some(taskdef::Diagnostic::error(
                    loaded.locate(&format!("containerDefinitions[{i}].image")),
                    format!("`{image}` is not an image reference Docker can pull: {why}"),
                ))
            })
            .collect();
        if !bad_images.is_empty() {
            return Err(Failure::usage(
                anyhow::anyhow!("the definition names an image that cannot be pulled"),
                bad_images,
            ));
        }
        let input = taskdef::render::register_input(&loaded);
        let mut text = serde_json::to_string_pretty(&input).map_err(anyhow::Error::new)?;
        text.push('\n');
        super::write_stdout(&text)?;
        Ok(ExitStatus::Success)
    })
}
