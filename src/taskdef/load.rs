//! Loading a task definition from the shapes a user has at hand.
//!
//! | shape | where it comes from |
//! |---|---|
//! | `{"family": …, "containerDefinitions": […]}` | `register-task-definition --cli-input-json`, a bare definition with or without its ARN fields |
//! | `{"taskDefinition": {…}, "tags": […]}` | `aws ecs describe-task-definition` (and register/deregister output) |
//! | `{"taskDefinitions": [{…}], "failures": []}` | `aws ecs delete-task-definitions` output |
//! | `[{"name": …, "image": …}]` | a `--container-definitions file://` array; the family comes from the file name |
//!
//! Parsing happens in two passes: `serde_json` into a [`Value`] (syntax errors
//! with line and column), then the [`TaskDefinition`] model (type errors with
//! their JSON path, unknown fields as warnings). When the model pass fails, each
//! container and volume is read on its own as well, so that one run reports every
//! type error instead of the first.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::diagnostic::{Diagnostic, json_wording};
use super::model::{ContainerDefinition, Tag, TaskDefinition, Volume};
use super::overrides::Overridden;

/// Errors that stop a task definition from loading at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read `{source_name}`")]
    Read {
        source_name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{source_name}` is not valid JSON: {message} at line {line}, column {column}")]
    Syntax {
        source_name: String,
        message: String,
        line: usize,
        column: usize,
    },
    #[error("`{source_name}` is not a task definition: {reason}")]
    Shape { source_name: String, reason: String },
    #[error("`{source_name}` has {} that cannot be read as a task definition", plural(problems.len(), "problem"))]
    Types {
        source_name: String,
        /// Every type error, located in the document as the user wrote it.
        problems: Vec<Diagnostic>,
    },
}

impl LoadError {
    /// The located problems behind a type error, for listing one per line.
    #[must_use]
    pub fn problems(&self) -> &[Diagnostic] {
        match self {
            LoadError::Types { problems, .. } => problems,
            _ => &[],
        }
    }
}

/// Which of the accepted document shapes the definition came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// The definition itself, as register input or with its output-only fields.
    Definition,
    /// `{"taskDefinition": {…}, "tags": […]}`.
    Describe,
    /// `{"taskDefinitions": [{…}]}`.
    List,
    /// A bare array of container definitions.
    ContainerArray,
    /// A resource of a template or a plan (CloudFormation, CDK, Terraform),
    /// mapped to a definition; [`Loaded::origins`] locates its paths.
    Template,
}

impl Shape {
    /// Where a path inside the definition sits in the document the user wrote,
    /// so that every message points into *their* file.
    #[must_use]
    pub fn locate(self, path: &str) -> String {
        let inner = |prefix: &str| {
            if path.is_empty() {
                prefix.trim_end_matches('.').to_owned()
            } else {
                format!("{prefix}{path}")
            }
        };
        match self {
            Shape::Definition | Shape::Template => path.to_owned(),
            Shape::Describe => inner("taskDefinition."),
            Shape::List => inner("taskDefinitions[0]."),
            Shape::ContainerArray => path
                .strip_prefix("containerDefinitions")
                .map_or_else(|| path.to_owned(), str::to_owned),
        }
    }
}

/// A task definition read from a document, with what was noticed on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// How the source is named in messages: its path, or `<stdin>`.
    pub source_name: String,
    pub shape: Shape,
    pub definition: TaskDefinition,
    /// Unknown fields and shape notes, paths already located in the document.
    pub warnings: Vec<Diagnostic>,
    /// What the run's overrides set, to name them in findings.
    pub overridden: Vec<Overridden>,
    /// The definition as the document holds it (describe output's tags
    /// moved in), every field kept, for `render`.
    pub document: Map<String, Value>,
    /// For a definition mapped from another document (a template): each
    /// mapped path of the definition and the path it came from in that
    /// document, so that findings name the user's own file.
    pub origins: Origins,
    /// Values the source could not resolve and stand in as placeholders
    /// (`<TaskRole.Arn>`), each at its definition path.
    pub placeholders: Vec<Placeholder>,
}

/// A value of the definition that stands for something only a deployment
/// knows (another resource's id, an export, a value known after apply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// Where it sits in the definition (`containerDefinitions[0].image`).
    pub path: String,
    /// The text standing in for the value, as it appears in the definition.
    pub text: String,
}

/// Definition paths and the document paths they were mapped from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins {
    paths: std::collections::BTreeMap<String, String>,
    /// How the document names a field the definition names (`memory` →
    /// `Memory`), for the part of a path below its recorded prefix (a field
    /// the document does not have).
    names: std::collections::BTreeMap<String, String>,
}

impl Origins {
    /// Records that the definition's `path` came from `origin`.
    pub fn insert(&mut self, path: impl Into<String>, origin: impl Into<String>) {
        self.paths.insert(path.into(), origin.into());
    }

    /// Records how the document names the definition's field `name`.
    pub fn name(&mut self, name: impl Into<String>, in_document: impl Into<String>) {
        self.names
            .entry(name.into())
            .or_insert_with(|| in_document.into());
    }

    /// The document path of `path`: the origin of its longest recorded
    /// prefix, with the rest of the path appended in the document's names.
    #[must_use]
    pub fn locate(&self, path: &str) -> Option<String> {
        let mut end = path.len();
        loop {
            let prefix = &path[..end];
            if let Some(origin) = self.paths.get(prefix) {
                let rest = self.rename(&path[end..]);
                let dot = if origin.is_empty() || rest.is_empty() || rest.starts_with(['.', '[']) {
                    ""
                } else {
                    "."
                };
                return Some(format!("{origin}{dot}{rest}"));
            }
            end = match path[..end].rfind(['.', '[']) {
                Some(at) => at,
                None if end > 0 => 0,
                None => return None,
            };
        }
    }

    fn rename(&self, rest: &str) -> String {
        if self.names.is_empty() {
            return rest.to_owned();
        }
        rest.split('.')
            .map(|segment| {
                let (name, index) = segment
                    .find('[')
                    .map_or((segment, ""), |at| segment.split_at(at));
                let name = self.names.get(name).map_or(name, String::as_str);
                format!("{name}{index}")
            })
            .collect::<Vec<_>>()
            .join(".")
    }
}

impl Loaded {
    /// Where a path inside the definition came from: the override that set
    /// it, else its place in the user's document.
    #[must_use]
    pub fn locate(&self, path: &str) -> String {
        super::overrides::locate(&self.overridden, path)
            .or_else(|| self.origins.locate(path))
            .unwrap_or_else(|| self.shape.locate(path))
    }
}

/// A document as read: its text, how messages name it (its path, or `-`),
/// and the family a bare container array takes (the file's stem).
#[derive(Debug)]
pub struct Document {
    pub text: String,
    pub source_name: String,
    pub stem: String,
}

/// Reads a document from a file, or from standard input when `path` is
/// `-`; a failure comes with the source's name.
pub fn read_document(path: &Path) -> Result<Document, (String, std::io::Error)> {
    let source_name = path.display().to_string();
    let read = if source_name == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    };
    let text = read.map_err(|e| (source_name.clone(), e))?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| *s != "-")
        .unwrap_or("task")
        .to_owned();
    Ok(Document {
        text,
        source_name,
        stem,
    })
}

/// Reads a task definition from a file, or from standard input when `path` is `-`
/// (the unit tests' way; commands read through `source`).
#[cfg(test)]
pub fn load_path(path: &Path) -> Result<Loaded, LoadError> {
    let Document {
        text,
        source_name,
        stem,
    } = read_document(path).map_err(|(source_name, source)| LoadError::Read {
        source_name,
        source,
    })?;
    load_str(&text, &source_name, &stem)
}

/// Reads a task definition from text. `fallback_family` names a bare
/// container-definitions array, which carries no family of its own.
pub fn load_str(text: &str, source_name: &str, fallback_family: &str) -> Result<Loaded, LoadError> {
    load_value(parse(text, source_name)?, source_name, fallback_family)
}

/// Parses JSON text, a syntax error located by line and column.
pub fn parse(text: &str, source_name: &str) -> Result<Value, LoadError> {
    serde_json::from_str(text).map_err(|e| LoadError::Syntax {
        source_name: source_name.to_owned(),
        message: syntax_message(&e),
        line: e.line(),
        column: e.column(),
    })
}

/// Reads a task definition from parsed JSON, in any of the shapes above.
#[expect(
    clippy::too_many_lines,
    reason = "each accepted document shape, then the two parsing passes that locate every problem"
)]
pub fn load_value(
    value: Value,
    source_name: &str,
    fallback_family: &str,
) -> Result<Loaded, LoadError> {
    let shape_error = |reason: &str| LoadError::Shape {
        source_name: source_name.to_owned(),
        reason: reason.to_owned(),
    };
    let mut warnings = Vec::new();
    let (shape, object, outer_tags) = match value {
        Value::Array(containers) => {
            warnings.push(Diagnostic::warning(
                "",
                format!(
                    "a bare array of container definitions: the task family is taken from the file name (`{fallback_family}`)"
                ),
            ));
            let mut object = Map::new();
            object.insert(
                "family".into(),
                Value::String(family_from_stem(fallback_family)),
            );
            object.insert("containerDefinitions".into(), Value::Array(containers));
            (Shape::ContainerArray, object, None)
        }
        Value::Object(mut outer) => {
            if let Some(inner) = outer.remove("taskDefinition") {
                let Value::Object(inner) = inner else {
                    return Err(shape_error("`taskDefinition` is not an object"));
                };
                let tags = outer.remove("tags");
                (Shape::Describe, inner, tags)
            } else if let Some(list) = outer.remove("taskDefinitions") {
                let Value::Array(mut list) = list else {
                    return Err(shape_error("`taskDefinitions` is not an array"));
                };
                match list.len() {
                    1 => {}
                    0 => return Err(shape_error("`taskDefinitions` is empty")),
                    n => {
                        return Err(shape_error(&format!(
                            "`taskDefinitions` holds {n} definitions; save the one to run on its own"
                        )));
                    }
                }
                let Value::Object(inner) = list.remove(0) else {
                    return Err(shape_error("`taskDefinitions[0]` is not an object"));
                };
                (Shape::List, inner, None)
            } else if outer.contains_key("containerDefinitions") || outer.contains_key("family") {
                (Shape::Definition, outer, None)
            } else {
                return Err(shape_error(
                    "it has neither `containerDefinitions` nor a `taskDefinition` object",
                ));
            }
        }
        other => {
            return Err(shape_error(&format!(
                "expected a JSON object, found {}",
                json_kind(&other)
            )));
        }
    };

    let mut document = object.clone();
    if let Some(Value::Array(tags)) = &outer_tags
        && !document.contains_key("tags")
    {
        document.insert("tags".into(), Value::Array(tags.clone()));
    }
    let (mut definition, ignored) =
        read_model(Value::Object(object)).map_err(|problems| LoadError::Types {
            source_name: source_name.to_owned(),
            problems: problems
                .into_iter()
                .map(|d| Diagnostic {
                    path: shape.locate(&d.path),
                    ..d
                })
                .collect(),
        })?;
    for path in ignored {
        warnings.push(Diagnostic::warning(
            shape.locate(&path),
            "unknown field, ignored",
        ));
    }
    // describe-task-definition prints the tags beside the definition, not in it.
    if let Some(tags) = outer_tags {
        match serde_json::from_value::<Vec<Tag>>(tags) {
            Ok(tags) if definition.tags.is_empty() => definition.tags = tags,
            Ok(_) => {}
            Err(e) => {
                return Err(LoadError::Types {
                    source_name: source_name.to_owned(),
                    problems: vec![Diagnostic::error("tags", json_wording(&e.to_string()))],
                });
            }
        }
    }
    Ok(Loaded {
        source_name: source_name.to_owned(),
        shape,
        definition,
        warnings,
        overridden: Vec::new(),
        document,
        origins: Origins::default(),
        placeholders: Vec::new(),
    })
}

/// Reads the model, returning the paths of the fields it did not know, or
/// every type error it can find.
fn read_model(value: Value) -> Result<(TaskDefinition, Vec<String>), Vec<Diagnostic>> {
    let mut ignored = Vec::new();
    match deserialize_at::<TaskDefinition>(value.clone(), "", &mut ignored) {
        Ok(definition) => Ok((definition, ignored)),
        Err(first) => {
            // Read each part alone so that every broken container is reported.
            let Value::Object(mut top) = value else {
                return Err(vec![first]);
            };
            let mut problems = Vec::new();
            for (key, kind) in [
                ("containerDefinitions", Part::Container),
                ("volumes", Part::Volume),
            ] {
                if let Some(Value::Array(items)) = top.get_mut(key) {
                    for (i, item) in std::mem::take(items).into_iter().enumerate() {
                        let at = format!("{key}[{i}]");
                        let result = match kind {
                            Part::Container => {
                                deserialize_at::<ContainerDefinition>(item, &at, &mut Vec::new())
                                    .map(drop)
                            }
                            Part::Volume => {
                                deserialize_at::<Volume>(item, &at, &mut Vec::new()).map(drop)
                            }
                        };
                        problems.extend(result.err());
                    }
                }
            }
            problems.extend(
                deserialize_at::<TaskDefinition>(Value::Object(top), "", &mut Vec::new()).err(),
            );
            if problems.is_empty() {
                problems.push(first);
            }
            Err(problems)
        }
    }
}

#[derive(Clone, Copy)]
enum Part {
    Container,
    Volume,
}

/// Deserializes `value`, recording unknown fields in `ignored` and locating a
/// type error by its JSON path under `prefix`.
fn deserialize_at<T: DeserializeOwned>(
    value: Value,
    prefix: &str,
    ignored: &mut Vec<String>,
) -> Result<T, Diagnostic> {
    let mut on_ignored = |path: serde_ignored::Path<'_>| {
        ignored.push(join_path(prefix, &ignored_path(&path)));
    };
    let de = serde_ignored::Deserializer::new(super::strict::Strict(value), &mut on_ignored);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        Diagnostic::error(
            join_path(prefix, &path),
            json_wording(&e.into_inner().to_string()),
        )
    })
}

fn join_path(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
        (false, false) => format!("{prefix}.{path}"),
    }
}

/// Renders a `serde_ignored` path the way `serde_path_to_error` renders its own.
fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path as P;
    match path {
        P::Root => String::new(),
        P::Seq { parent, index } => format!("{}[{index}]", ignored_path(parent)),
        P::Map { parent, key } => join_path(&ignored_path(parent), key),
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            ignored_path(parent)
        }
    }
}

/// `serde_json` ends its messages with " at line L column C"; we say that ourselves.
fn syntax_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let message = text
        .rfind(" at line ")
        .map_or(text.as_str(), |at| &text[..at]);
    json_wording(message)
        .replace(
            "EOF while parsing a list",
            "the document ends inside an array",
        )
        .replace(
            "EOF while parsing an object",
            "the document ends inside an object",
        )
        .replace(
            "EOF while parsing a string",
            "the document ends inside a string",
        )
        .replace(
            "EOF while parsing a value",
            "the document ends where a value was expected",
        )
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A family may hold letters, digits, `-` and `_`; anything else in a file name
/// becomes `-`.
fn family_from_stem(stem: &str) -> String {
    stem.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Loaded, LoadError> {
        load_str(text, "t.json", "t")
    }

    #[test]
    fn register_input_loads() {
        let l =
            load(r#"{"family":"f","containerDefinitions":[{"name":"a","image":"i"}]}"#).unwrap();
        assert_eq!(l.shape, Shape::Definition);
        assert_eq!(l.definition.family.as_deref(), Some("f"));
        assert_eq!(l.definition.container_definitions[0].name(), "a");
        assert!(l.warnings.is_empty());
    }

    #[test]
    fn describe_output_takes_the_outer_tags() {
        let l = load(
            r#"{"taskDefinition":{"family":"f","revision":3,"containerDefinitions":[]},
                "tags":[{"key":"team","value":"a"}]}"#,
        )
        .unwrap();
        assert_eq!(l.shape, Shape::Describe);
        assert_eq!(l.definition.revision, Some(3));
        assert_eq!(l.definition.tags[0].key.as_deref(), Some("team"));
    }

    #[test]
    fn list_wrapper_with_one_definition_loads() {
        let l =
            load(r#"{"taskDefinitions":[{"family":"f","containerDefinitions":[]}],"failures":[]}"#)
                .unwrap();
        assert_eq!(l.shape, Shape::List);
        let err = load(r#"{"taskDefinitions":[{"family":"a"},{"family":"b"}]}"#).unwrap_err();
        assert!(err.to_string().contains("holds 2 definitions"), "{err}");
    }

    #[test]
    fn container_array_takes_family_from_file_name() {
        let l = load_str(r#"[{"name":"a","image":"i"}]"#, "x/my app.json", "my app").unwrap();
        assert_eq!(l.shape, Shape::ContainerArray);
        assert_eq!(l.definition.family.as_deref(), Some("my-app"));
        assert!(l.warnings[0].message.contains("file name"));
    }

    #[test]
    fn syntax_error_says_line_and_column() {
        let err = load("{\n  \"family\": \"f\",\n  \"cpu\": ,\n}").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("line 3, column 10"), "{text}");
        assert!(
            text.starts_with("`t.json` is not valid JSON: expected value"),
            "{text}"
        );
    }

    #[test]
    fn every_broken_container_is_reported() {
        let err = load(
            r#"{"family":"f","networkMode":"$$$NETWORK_MODE$$$","containerDefinitions":[
                {"name":"a","image":"i","portMappings":{"containerPort":80}},
                {"name":"b","image":"i"},
                {"name":"c","image":"i","logConfiguration":[{"logDriver":"awslogs"}]}]}"#,
        )
        .unwrap_err();
        let paths: Vec<_> = err.problems().iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "containerDefinitions[0].portMappings",
                "containerDefinitions[2].logConfiguration",
                "networkMode"
            ]
        );
        assert_eq!(
            err.problems()[0].message,
            "invalid type: object, expected an array"
        );
        assert!(
            err.problems()[2]
                .message
                .contains("unknown variant `$$$NETWORK_MODE$$$`")
        );
    }

    #[test]
    fn type_errors_are_located_in_the_users_document() {
        let err = load(r#"{"taskDefinition":{"family":"f","containerDefinitions":[{"name":"a","cpu":"256"}]}}"#)
            .unwrap_err();
        assert_eq!(
            err.problems()[0].path,
            "taskDefinition.containerDefinitions[0].cpu"
        );
        assert!(err.problems()[0].message.contains("expected an integer"));
    }

    #[test]
    fn unknown_fields_are_warnings_with_their_path() {
        let l = load(
            r#"{"family":"f","containerDefinitions":[{"name":"a","image":"i","domainname":"x",
                "portMappings":[{"containerPort":1,"HostPort":2}]}]}"#,
        )
        .unwrap();
        let paths: Vec<_> = l.warnings.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "containerDefinitions[0].domainname",
                "containerDefinitions[0].portMappings[0].HostPort"
            ]
        );
    }

    #[test]
    fn nulls_read_as_absent() {
        let l = load(
            r#"{"family":"f","containerDefinitions":[{"name":"a","image":"i","ulimits":null,
                "mountPoints":[{"sourceVolume":"v","containerPath":"/v","readOnly":null}]}]}"#,
        )
        .unwrap();
        let c = &l.definition.container_definitions[0];
        assert!(c.ulimits.is_empty());
        assert_eq!(c.mount_points[0].read_only, None);
    }

    #[test]
    fn task_size_accepts_strings_and_integers() {
        let l =
            load(r#"{"family":"f","cpu":256,"memory":"1 GB","containerDefinitions":[]}"#).unwrap();
        assert_eq!(
            l.definition.cpu,
            Some(crate::taskdef::model::TaskSize::Number(256))
        );
        let err = load(r#"{"family":"f","cpu":true,"containerDefinitions":[]}"#).unwrap_err();
        assert!(err.problems()[0].message.contains("\"1 vCPU\""), "{err:?}");
    }

    #[test]
    fn origins_locate_the_longest_recorded_prefix() {
        let mut origins = Origins::default();
        origins.insert(
            "containerDefinitions[0]",
            "R.Properties.ContainerDefinitions[2]",
        );
        origins.insert(
            "containerDefinitions[0].image",
            "R.Properties.ContainerDefinitions[2].Image",
        );
        assert_eq!(
            origins.locate("containerDefinitions[0].image").as_deref(),
            Some("R.Properties.ContainerDefinitions[2].Image")
        );
        assert_eq!(
            origins
                .locate("containerDefinitions[0].logConfiguration.options.x")
                .as_deref(),
            Some("R.Properties.ContainerDefinitions[2].logConfiguration.options.x")
        );
        assert_eq!(origins.locate("family"), None);
        origins.insert("", "R.Properties");
        origins.name("memory", "Memory");
        assert_eq!(
            origins.locate("containerDefinitions[0].memory").as_deref(),
            Some("R.Properties.ContainerDefinitions[2].Memory")
        );
        assert_eq!(
            origins.locate("family").as_deref(),
            Some("R.Properties.family")
        );
    }

    #[test]
    fn non_objects_are_not_task_definitions() {
        assert!(matches!(load("42"), Err(LoadError::Shape { .. })));
        assert!(matches!(load(r#"{"foo":1}"#), Err(LoadError::Shape { .. })));
        assert!(matches!(
            load(r#"{"taskDefinition":[]}"#),
            Err(LoadError::Shape { .. })
        ));
    }
}
