//! CloudFormation and SAM templates (and the templates of a CDK cloud
//! assembly): which `AWS::ECS::TaskDefinition` to read, and its properties
//! evaluated and mapped to a definition.

use serde_json::{Map, Value};

use super::intrinsics::{Context, Evaluator, Template};
use super::mapping::Mapper;
use super::{Mapped, SourceError};

/// The resource type this reads.
pub const TASK_DEFINITION: &str = "AWS::ECS::TaskDefinition";

/// Whether `document` is a template holding a task definition, or at least
/// a template (a `Resources` map of typed resources).
#[must_use]
pub fn is_template(document: &Value) -> bool {
    document
        .get("Resources")
        .and_then(Value::as_object)
        .is_some_and(|resources| {
            resources
                .values()
                .any(|r| r.get("Type").and_then(Value::as_str).is_some())
        })
}

/// A task definition of a template: its logical id and CDK construct path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub logical_id: String,
    pub construct_path: Option<String>,
    /// In a cloud assembly: the construct path of its stack (`Prod/Api`).
    pub stack_path: Option<String>,
}

impl Candidate {
    /// How a listing names it: `TaskDef` or `TaskDef (Api/TaskDef)`; in a
    /// cloud assembly, with its stack.
    #[must_use]
    pub fn describe(&self) -> String {
        match (&self.construct_path, &self.stack_path) {
            (Some(path), Some(_)) => format!(
                "`{}` (`{}`)",
                self.logical_id,
                path.trim_end_matches("/Resource")
            ),
            (Some(path), None) => format!("`{}` (`{}`)", self.logical_id, cdk_short(path)),
            (None, Some(stack)) => format!("`{}` (stack `{stack}`)", self.logical_id),
            (None, None) => format!("`{}`", self.logical_id),
        }
    }

    /// Whether `--resource` names it: its logical id, or its construct path
    /// with or without the trailing `/Resource` and the stack's name.
    #[must_use]
    pub fn matches(&self, wanted: &str) -> bool {
        if self.logical_id == wanted {
            return true;
        }
        let Some(path) = &self.construct_path else {
            return false;
        };
        let wanted = wanted.trim_matches('/');
        let full = path.as_str();
        // Below its stack: `Prod/Api/TaskDef/Resource` → `TaskDef/Resource`.
        let short = self
            .stack_path
            .as_deref()
            .and_then(|stack| full.strip_prefix(stack))
            .and_then(|rest| rest.strip_prefix('/'))
            .map_or_else(|| cdk_short(path), str::to_owned);
        let shortest = cdk_short(path);
        [
            full,
            full.trim_end_matches("/Resource"),
            short.as_str(),
            short.trim_end_matches("/Resource"),
            shortest.as_str(),
            shortest.trim_end_matches("/Resource"),
        ]
        .contains(&wanted)
    }
}

/// A construct path without its stack: `Stack/Api/TaskDef/Resource` → `Api/TaskDef/Resource`.
fn cdk_short(path: &str) -> String {
    path.split_once('/')
        .map_or(path, |(_, rest)| rest)
        .to_owned()
}

/// The template's task definitions, in document order.
#[must_use]
pub fn candidates(document: &Value) -> Vec<Candidate> {
    let Some(resources) = document.get("Resources").and_then(Value::as_object) else {
        return Vec::new();
    };
    resources
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(TASK_DEFINITION))
        .map(|(id, r)| Candidate {
            logical_id: id.clone(),
            construct_path: r
                .pointer("/Metadata/aws:cdk:path")
                .and_then(Value::as_str)
                .map(|p| p.trim_start_matches('/').to_owned()),
            stack_path: None,
        })
        .collect()
}

/// The one task definition `resource` names, or the only one.
pub fn pick(
    document: &Value,
    resource: Option<&str>,
    source_name: &str,
) -> Result<Candidate, SourceError> {
    let all = candidates(document);
    let listing = || {
        all.iter()
            .map(Candidate::describe)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match resource {
        Some(wanted) => all
            .iter()
            .find(|c| c.matches(wanted))
            .cloned()
            .ok_or_else(|| SourceError::UnknownResource {
                source_name: source_name.to_owned(),
                resource: wanted.to_owned(),
                candidates: if all.is_empty() {
                    "none".to_owned()
                } else {
                    listing()
                },
            }),
        None => match all.len() {
            0 => Err(SourceError::NoTaskDefinition {
                source_name: source_name.to_owned(),
            }),
            1 => Ok(all[0].clone()),
            _ => Err(SourceError::Ambiguous {
                source_name: source_name.to_owned(),
                candidates: listing(),
            }),
        },
    }
}

/// The chosen task definition's properties, evaluated and mapped.
pub fn map(
    document: &Value,
    candidate: &Candidate,
    context: &Context,
    source_name: &str,
) -> Result<Mapped, SourceError> {
    let empty = Map::new();
    let template = Template::of(document.as_object().unwrap_or(&empty));
    let id = &candidate.logical_id;
    let at = format!("Resources.{id}.Properties");
    let properties = document
        .pointer(&format!("/Resources/{}/Properties", pointer_escape(id)))
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let mut evaluator = Evaluator::new(&template, context, id);
    let intrinsic = |e: super::intrinsics::EvalError| SourceError::Intrinsic {
        source_name: source_name.to_owned(),
        path: e.path,
        message: e.message,
    };
    // A resource under a condition that does not hold is not created.
    if let Some(Value::String(condition)) =
        document.pointer(&format!("/Resources/{}/Condition", pointer_escape(id)))
    {
        let at = format!("Resources.{id}.Condition");
        if !evaluator.holds(condition, &at).map_err(intrinsic)? {
            return Err(SourceError::Intrinsic {
                source_name: source_name.to_owned(),
                path: at,
                message: format!(
                    "`{id}` is not created: condition `{condition}` is false with these parameters"
                ),
            });
        }
    }
    let mut mapper = Mapper {
        evaluator: &mut evaluator,
        origins: crate::taskdef::Origins::default(),
        warnings: Vec::new(),
    };
    let mut definition = mapper.properties(&properties, &at).map_err(intrinsic)?;
    let (origins, warnings) = (mapper.origins, mapper.warnings);
    // Without `Family`, CloudFormation names the family after the stack and
    // the logical id; locally, the logical id alone.
    if let Value::Object(object) = &mut definition
        && !object.contains_key("family")
    {
        object.insert("family".into(), Value::String(id.clone()));
    }
    Ok(Mapped {
        definition,
        origins,
        warnings,
        placeholders: evaluator
            .placeholders
            .into_iter()
            .map(|(_, text)| text)
            .collect(),
        family: id.clone(),
    })
}

fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({"Resources": {
            "A": {"Type": TASK_DEFINITION, "Metadata": {"aws:cdk:path": "Stack/Api/TaskDef/Resource"}, "Properties": {}},
            "B": {"Type": TASK_DEFINITION, "Properties": {}},
            "Role": {"Type": "AWS::IAM::Role"}
        }})
    }

    #[test]
    fn resources_are_picked_by_logical_id_or_construct_path() {
        let d = doc();
        for wanted in [
            "A",
            "Api/TaskDef",
            "Api/TaskDef/Resource",
            "Stack/Api/TaskDef/Resource",
        ] {
            assert_eq!(
                pick(&d, Some(wanted), "t").unwrap().logical_id,
                "A",
                "{wanted}"
            );
        }
        assert_eq!(pick(&d, Some("B"), "t").unwrap().logical_id, "B");
        let err = pick(&d, None, "t.json").unwrap_err().to_string();
        assert_eq!(
            err,
            "`t.json` holds 2 task definitions; pick one with `--resource`: `A` (`Api/TaskDef/Resource`), `B`"
        );
        let err = pick(&d, Some("Role"), "t.json").unwrap_err().to_string();
        assert!(err.contains("no task definition `Role`"), "{err}");
        let none = json!({"Resources": {"Role": {"Type": "AWS::IAM::Role"}}});
        assert!(is_template(&none));
        let err = pick(&none, None, "t.json").unwrap_err().to_string();
        assert_eq!(err, "`t.json` has no `AWS::ECS::TaskDefinition` resource");
    }
}
