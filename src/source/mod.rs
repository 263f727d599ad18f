//! Where a task definition really lives: CloudFormation and SAM templates
//! (JSON or YAML), CDK cloud assemblies (`cdk.out`), and `terraform show
//! -json` output, each read into the definition the rest of the program
//! runs, every mapped path remembering where in the user's file it came
//! from. Anything else goes to [`crate::taskdef`]'s loader unchanged.
//!
//! Pure but for reading files: values only a deployment knows come in a
//! [`Context`] fetched beforehand, or stand as placeholders.
//!
//! | source | detected by |
//! |---|---|
//! | CloudFormation / SAM / CDK template | a `Resources` map of typed resources |
//! | Terraform plan or state | `format_version` with `planned_values` or `values` |
//! | CDK cloud assembly | a directory holding `manifest.json` |

pub mod cdk;
pub mod intrinsics;
pub mod mapping;
pub mod template;
pub mod terraform;
mod yaml;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use intrinsics::Context;

use crate::taskdef::{self, Diagnostic, LoadError, Loaded, Origins, Placeholder, Shape};

/// Why a source could not be read as a task definition.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read `{source_name}`")]
    Read {
        source_name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{source_name}` is not valid YAML: {message} at line {line}, column {column}")]
    Yaml {
        source_name: String,
        message: String,
        line: usize,
        column: usize,
    },
    #[error(
        "`{source_name}` uses the tag `{tag}`, which is not a CloudFormation intrinsic function"
    )]
    Tag { source_name: String, tag: String },
    #[error("`{source_name}` has no `AWS::ECS::TaskDefinition` resource")]
    NoTaskDefinition { source_name: String },
    #[error("`{source_name}` holds {count} task definitions; pick one with `--resource`: {candidates}", count = candidates.split(", ").count())]
    Ambiguous {
        source_name: String,
        candidates: String,
    },
    #[error("`{source_name}` has no task definition `{resource}`; it has {candidates}")]
    UnknownResource {
        source_name: String,
        resource: String,
        candidates: String,
    },
    #[error("`{source_name}`: {path}: {message}")]
    Intrinsic {
        source_name: String,
        path: String,
        message: String,
    },
    #[error("`{source_name}`: {message}")]
    Terraform {
        source_name: String,
        message: String,
    },
    #[error(
        "`{source_name}` is Terraform JSON of format version `{version}`; this reads format version 1.x"
    )]
    FormatVersion {
        source_name: String,
        version: String,
    },
    #[error("`{source_name}`: {message}")]
    Assembly {
        source_name: String,
        message: String,
    },
    #[error(
        "`--resource {resource}` picks a resource of a template or a plan, and `{source_name}` is a task definition"
    )]
    NotATemplate {
        source_name: String,
        resource: String,
    },
    #[error(transparent)]
    Load(#[from] LoadError),
}

impl SourceError {
    /// The located problems behind a type error, for listing one per line.
    #[must_use]
    pub fn problems(&self) -> &[Diagnostic] {
        match self {
            SourceError::Load(e) => e.problems(),
            _ => &[],
        }
    }
}

/// `--parameter KEY=VALUE`: a template parameter's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterValue {
    pub key: String,
    pub value: String,
}

impl std::str::FromStr for ParameterValue {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok(ParameterValue {
                key: key.to_owned(),
                value: value.to_owned(),
            }),
            _ => Err(format!("`{text}` is not KEY=VALUE")),
        }
    }
}

/// What the user chose about the source.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--resource`: a logical id, a CDK construct path, or a Terraform address.
    pub resource: Option<String>,
    pub context: Context,
}

/// Which kind of document the definition came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Json,
    CloudFormation,
    CloudAssembly,
    Terraform,
}

/// A CDK container-image asset a container's image stands for, to build locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageAsset {
    pub container: String,
    pub directory: PathBuf,
    pub dockerfile: Option<PathBuf>,
    pub build_args: Vec<(String, String)>,
    pub target: Option<String>,
    pub platform: Option<String>,
}

/// A definition read from a source, with the assets its images are built from.
#[derive(Debug, Clone)]
pub struct Sourced {
    pub loaded: Loaded,
    /// Which reader took the document.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the tests assert which reader took a document")
    )]
    pub kind: Kind,
    pub assets: Vec<ImageAsset>,
}

/// A resource mapped to definition JSON, before the model reads it.
#[derive(Debug, Clone)]
pub struct Mapped {
    pub definition: Value,
    pub origins: Origins,
    /// Unknown properties and the like, at their template paths.
    pub warnings: Vec<Diagnostic>,
    /// The placeholder texts evaluation produced.
    pub placeholders: Vec<String>,
    pub family: String,
}

/// A source as read once (standard input cannot be read twice), to be
/// evaluated again once the values it refers to are fetched.
#[derive(Debug, Clone)]
pub enum Input {
    Text {
        text: String,
        source_name: String,
        stem: String,
    },
    /// A CDK cloud assembly's directory.
    Assembly(PathBuf),
}

impl Input {
    /// Reads `path` (`-`: standard input; a directory: a CDK cloud assembly).
    pub fn read(path: &Path) -> Result<Input, SourceError> {
        if path.is_dir() {
            return Ok(Input::Assembly(path.to_owned()));
        }
        let taskdef::load::Document {
            text,
            source_name,
            stem,
        } = taskdef::load::read_document(path).map_err(|(source_name, source)| {
            SourceError::Read {
                source_name,
                source,
            }
        })?;
        Ok(Input::Text {
            text,
            source_name,
            stem,
        })
    }

    /// Whether it is a CloudFormation template or a CDK cloud assembly, the
    /// sources a deployed stack can resolve.
    #[must_use]
    pub fn is_cloudformation(&self) -> bool {
        match self {
            Input::Assembly(_) => true,
            Input::Text {
                text, source_name, ..
            } => taskdef::load::parse(text, source_name)
                .ok()
                .or_else(|| yaml::parse(text, source_name).ok())
                .is_some_and(|document| template::is_template(&document)),
        }
    }

    /// The definition it holds, evaluated with `options`.
    pub fn load(&self, options: &Options) -> Result<Sourced, SourceError> {
        match self {
            Input::Text {
                text,
                source_name,
                stem,
            } => load_text(text, source_name, stem, options),
            Input::Assembly(dir) => cdk::load(dir, options),
        }
    }
}

/// Reads the definition at `path` (`-`: standard input; a directory: a CDK
/// cloud assembly).
pub fn load(path: &Path, options: &Options) -> Result<Sourced, SourceError> {
    Input::read(path)?.load(options)
}

/// What a loaded definition's placeholders ask to fetch: SSM parameters by
/// name (SSM-typed parameters, `{{resolve:ssm:…}}`), and other dynamic
/// references (`resolve:secretsmanager:…`).
#[must_use]
pub fn wanted(loaded: &Loaded) -> (Vec<String>, Vec<String>) {
    let mut ssm = BTreeSet::new();
    let mut dynamic = BTreeSet::new();
    for p in &loaded.placeholders {
        let inner = p.text.trim_start_matches('<').trim_end_matches('>');
        if let Some(name) = inner.strip_prefix("ssm:") {
            ssm.insert(name.to_owned());
        } else if let Some(name) = inner.strip_prefix("resolve:ssm:") {
            let name = name
                .rsplit_once(':')
                .filter(|(_, v)| v.parse::<u64>().is_ok())
                .map_or(name, |(n, _)| n);
            ssm.insert(name.to_owned());
        } else if inner.starts_with("resolve:") {
            dynamic.insert(inner.to_owned());
        }
    }
    (ssm.into_iter().collect(), dynamic.into_iter().collect())
}

/// Reads a definition from text of any source.
pub fn load_text(
    text: &str,
    source_name: &str,
    stem: &str,
    options: &Options,
) -> Result<Sourced, SourceError> {
    let document = match taskdef::load::parse(text, source_name) {
        Ok(value) => value,
        Err(json_error) => {
            // Not JSON: a YAML template, else the JSON error stands.
            let looks_yaml = !text.trim_start().starts_with(['{', '[']);
            match yaml::parse(text, source_name) {
                Ok(value) if template::is_template(&value) => value,
                Err(yaml_error) if looks_yaml && text.contains("Resources") => {
                    return Err(yaml_error);
                }
                _ => return Err(json_error.into()),
            }
        }
    };
    if template::is_template(&document) {
        let candidate = template::pick(&document, options.resource.as_deref(), source_name)?;
        let mapped = template::map(&document, &candidate, &options.context, source_name)?;
        return Ok(Sourced {
            loaded: finish(mapped, source_name)?,
            kind: Kind::CloudFormation,
            assets: Vec::new(),
        });
    }
    if terraform::is_terraform(&document) {
        let mapped = terraform::map(&document, options.resource.as_deref(), source_name)?;
        return Ok(Sourced {
            loaded: finish(mapped, source_name)?,
            kind: Kind::Terraform,
            assets: Vec::new(),
        });
    }
    if let Some(resource) = &options.resource {
        return Err(SourceError::NotATemplate {
            source_name: source_name.to_owned(),
            resource: resource.clone(),
        });
    }
    Ok(Sourced {
        loaded: taskdef::load_value(document, source_name, stem)?,
        kind: Kind::Json,
        assets: Vec::new(),
    })
}

/// The model read from mapped JSON, every path located in the source.
pub(crate) fn finish(mapped: Mapped, source_name: &str) -> Result<Loaded, SourceError> {
    let Mapped {
        definition,
        origins,
        warnings,
        placeholders,
        family,
    } = mapped;
    let placeholders = locate_placeholders(&definition, &placeholders);
    let relocate = |d: Diagnostic| Diagnostic {
        path: origins.locate(&d.path).unwrap_or(d.path.clone()),
        ..d
    };
    let mut loaded = match taskdef::load_value(definition, source_name, &family) {
        Ok(loaded) => loaded,
        Err(LoadError::Types {
            source_name,
            problems,
        }) => {
            return Err(LoadError::Types {
                source_name,
                problems: problems.into_iter().map(relocate).collect(),
            }
            .into());
        }
        Err(other) => return Err(other.into()),
    };
    loaded.warnings = std::mem::take(&mut loaded.warnings)
        .into_iter()
        .map(relocate)
        .chain(warnings)
        .collect();
    loaded.shape = Shape::Template;
    loaded.origins = origins;
    loaded.placeholders = placeholders;
    Ok(loaded)
}

/// Where each placeholder text ended up in the definition.
fn locate_placeholders(definition: &Value, texts: &[String]) -> Vec<Placeholder> {
    fn walk(value: &Value, path: &str, texts: &BTreeSet<&str>, found: &mut Vec<Placeholder>) {
        match value {
            Value::String(s) => {
                for text in texts.iter().filter(|t| s.contains(**t)) {
                    found.push(Placeholder {
                        path: path.to_owned(),
                        text: (*text).to_owned(),
                    });
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"), texts, found);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    let child = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    walk(item, &child, texts, found);
                }
            }
            _ => {}
        }
    }
    let texts: BTreeSet<&str> = texts.iter().map(String::as_str).collect();
    let mut found = Vec::new();
    if !texts.is_empty() {
        walk(definition, "", &texts, &mut found);
    }
    found
}

/// How a placeholder's value can be given, by where it sits and what it
/// stands for (a template's resource, or a Terraform value known after apply).
#[must_use]
pub fn way_out(path: &str, text: &str) -> &'static str {
    let terraform = text.ends_with("known after apply>");
    let image = path.rsplit('.').next() == Some("image");
    match (terraform, image, path) {
        (true, true, _) => "give the image with `--image`",
        (true, false, "taskRoleArn") => "give the role with `--task-role-arn`",
        (true, false, _) => "apply first and read the state (`terraform show -json`)",
        (false, true, _) => {
            "give the image with `--image`, or pass `--stack` for the deployed stack"
        }
        (false, false, "taskRoleArn") => "pass `--stack` or `--task-role-arn`",
        (false, false, _) => "pass `--stack` for the deployed stack",
    }
}

/// Whether a run cannot do without the value at `path`: an image, a
/// secret's `valueFrom`, an environment file, registry credentials, or an
/// execution role that secrets or a private registry need.
#[must_use]
pub fn run_needs(path: &str, definition: &taskdef::TaskDefinition) -> bool {
    let container_field =
        |suffix: &str| path.starts_with("containerDefinitions[") && path.contains(suffix);
    if path == "executionRoleArn" {
        // What ECS reads with the execution role: secrets (also the log
        // driver's), registry credentials, a private (ECR) image, S3
        // environment files.
        return definition.container_definitions.iter().any(|c| {
            !c.secrets.is_empty()
                || c.repository_credentials.is_some()
                || !c.environment_files.is_empty()
                || c.log_configuration
                    .as_ref()
                    .is_some_and(|l| !l.secret_options.is_empty())
                || c.image.as_deref().is_some_and(|i| i.contains(".dkr.ecr."))
        });
    }
    path.starts_with("containerDefinitions[") && path.rsplit('.').next() == Some("image")
        || container_field(".secrets[")
        || container_field(".secretOptions[")
        || container_field(".environmentFiles[")
        || container_field(".repositoryCredentials")
}

#[cfg(test)]
mod tests;
