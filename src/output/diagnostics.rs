//! Findings and failures, in the house format:
//! `ecs-run-local: error: …` once, then the located problems one per line.

use serde_json::json;

use crate::exit::Failure;
use crate::taskdef::{Diagnostic, Loaded, load::plural};

/// Prints a failure to stderr: the headline with its cause chain, then each
/// located problem indented beneath it.
pub fn report_failure(failure: &Failure) {
    eprintln!("{}{:#}", crate::exit::ERROR_PREFIX, failure.error);
    for detail in &failure.details {
        eprintln!("  {detail}");
    }
}

/// Prints one warning to stderr, naming the document it is about.
pub fn warn(source_name: &str, warning: &Diagnostic) {
    eprintln!("ecs-run-local: warning: {source_name}: {warning}");
}

/// The verdict `validate` prints on stdout for a definition that can run.
#[must_use]
pub fn valid_line(loaded: &Loaded, warnings: usize) -> String {
    let def = &loaded.definition;
    let mut line = format!(
        "{}: valid task definition `{}` ({}, {} network mode",
        loaded.source_name,
        def.family.as_deref().unwrap_or_default(),
        plural(def.container_definitions.len(), "container"),
        def.network_mode.unwrap_or_default(),
    );
    if warnings > 0 {
        line.push_str(", ");
        line.push_str(&plural(warnings, "warning"));
    }
    line.push_str(")\n");
    line
}

/// `validate --json`: the verdict and every finding, for tools.
#[must_use]
pub fn json(loaded: &Loaded, findings: &[Diagnostic]) -> String {
    let pick = |error: bool| -> Vec<_> {
        findings
            .iter()
            .filter(|d| d.is_error() == error)
            .map(|d| json!({"path": d.path, "message": d.message}))
            .collect()
    };
    let errors = pick(true);
    let body = json!({
        "source": loaded.source_name,
        "shape": loaded.shape,
        "family": loaded.definition.family,
        "valid": errors.is_empty(),
        "errors": errors,
        "warnings": pick(false),
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&body).unwrap_or_default()
    )
}
