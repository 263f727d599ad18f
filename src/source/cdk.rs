//! A CDK cloud assembly (`cdk.out`): `manifest.json` lists its stacks
//! (artifacts of type `aws:cloudformation:stack`, each with its
//! `properties.templateFile`); the task definition is picked across them.
//! An image that points at CDK's container-asset repository is matched to
//! the asset in the stack's asset manifest (`dockerImages.<hash>.source`),
//! to be built locally.

use std::path::Path;

use serde_json::Value;

use super::template::{self, Candidate};
use super::{ImageAsset, Kind, Options, SourceError, Sourced};

/// Reads the task definition of the assembly in `dir`.
#[expect(
    clippy::too_many_lines,
    reason = "manifest, stack, template, assets and metadata of a cloud assembly, read in the order they refer to each other"
)]
pub fn load(dir: &Path, options: &Options) -> Result<Sourced, SourceError> {
    let source_name = dir.display().to_string();
    let fail = |message: String| SourceError::Assembly {
        source_name: source_name.clone(),
        message,
    };
    let read_json = |path: &Path| -> Result<Value, SourceError> {
        let text = std::fs::read_to_string(path).map_err(|source| SourceError::Read {
            source_name: path.display().to_string(),
            source,
        })?;
        serde_json::from_str(&text)
            .map_err(|e| fail(format!("`{}` is not valid JSON: {e}", path.display())))
    };
    let manifest_path = dir.join("manifest.json");
    if !manifest_path.is_file() {
        return Err(fail(
            "a directory, but not a CDK cloud assembly (it has no `manifest.json`)".into(),
        ));
    }
    // (stack, its assembly's directory, template file, document, task definitions, environment)
    let mut stacks = Vec::new();
    let mut assemblies = vec![dir.to_owned()];
    while let Some(assembly) = assemblies.pop() {
        let manifest = read_json(&assembly.join("manifest.json"))?;
        let artifacts = manifest
            .get("artifacts")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (name, artifact) in &artifacts {
            match artifact.get("type").and_then(Value::as_str) {
                // A stage's stacks live in a nested assembly.
                Some("cdk:cloud-assembly") => {
                    if let Some(nested) = artifact
                        .pointer("/properties/directoryName")
                        .and_then(Value::as_str)
                    {
                        assemblies.push(assembly.join(nested));
                    }
                }
                Some("aws:cloudformation:stack") => {
                    let Some(file) = artifact
                        .pointer("/properties/templateFile")
                        .and_then(Value::as_str)
                    else {
                        continue;
                    };
                    let document = read_json(&assembly.join(file))?;
                    let stack_path = artifact
                        .get("displayName")
                        .and_then(Value::as_str)
                        .unwrap_or(name)
                        .to_owned();
                    // Construct paths: the template's `aws:cdk:path`, else
                    // the assembly's `aws:cdk:logicalId` metadata (inline, or
                    // in the stack's metadata file), which `cdk synth` and
                    // `app.synth()` both write.
                    let mut metadata = artifact.get("metadata").cloned().unwrap_or(Value::Null);
                    if let Some(file) = artifact
                        .get("additionalMetadataFile")
                        .and_then(Value::as_str)
                        && let Ok(more) = read_json(&assembly.join(file))
                    {
                        metadata = more;
                    }
                    let paths = logical_id_paths(&metadata);
                    let found = template::candidates(&document)
                        .into_iter()
                        .map(|mut c| {
                            if c.construct_path.is_none() {
                                c.construct_path = paths.get(&c.logical_id).cloned();
                            }
                            c.stack_path = Some(stack_path.clone());
                            c
                        })
                        .collect();
                    let environment = artifact
                        .get("environment")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    stacks.push(Stack {
                        name: name.clone(),
                        assembly: assembly.clone(),
                        file: file.to_owned(),
                        document,
                        found,
                        environment,
                        assets_file: artifacts
                            .get(&format!("{name}.assets"))
                            .and_then(|a| a.pointer("/properties/file"))
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    });
                }
                _ => {}
            }
        }
    }
    let listing = || {
        stacks
            .iter()
            .flat_map(|stack| stack.found.iter().map(Candidate::describe))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut matching: Vec<(usize, Candidate)> = Vec::new();
    for (i, stack) in stacks.iter().enumerate() {
        let name = &stack.name;
        for candidate in &stack.found {
            let picked = match options.resource.as_deref() {
                None => true,
                Some(wanted) => {
                    candidate.matches(wanted)
                        || wanted
                            .strip_prefix(name.as_str())
                            .and_then(|rest| rest.strip_prefix('/'))
                            .is_some_and(|rest| candidate.matches(rest))
                }
            };
            if picked {
                matching.push((i, candidate.clone()));
            }
        }
    }
    let (index, candidate) = match (matching.len(), options.resource.as_deref()) {
        (1, _) => matching.remove(0),
        (0, None) => {
            return Err(SourceError::NoTaskDefinition { source_name });
        }
        (0, Some(wanted)) => {
            let all = listing();
            return Err(SourceError::UnknownResource {
                source_name,
                resource: wanted.to_owned(),
                candidates: if all.is_empty() {
                    "none".to_owned()
                } else {
                    all
                },
            });
        }
        _ => {
            return Err(SourceError::Ambiguous {
                source_name,
                candidates: matching
                    .iter()
                    .map(|(_, c)| c.describe())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    };
    let stack = &stacks[index];
    let template_name = stack.assembly.join(&stack.file).display().to_string();
    // A stack synthesized for an environment names its account and region.
    let mut context = options.context.clone();
    if let Some((account, region)) = stack
        .environment
        .as_deref()
        .and_then(|e| e.strip_prefix("aws://"))
        .and_then(|e| e.split_once('/'))
    {
        if context.account_id.is_none() && !account.starts_with("unknown-") {
            context.account_id = Some(account.to_owned());
        }
        if context.region.is_none() && !region.starts_with("unknown-") {
            context.region = Some(region.to_owned());
        }
    }
    let mapped = template::map(&stack.document, &candidate, &context, &template_name)?;
    let assets_file = stack
        .assets_file
        .clone()
        .unwrap_or_else(|| format!("{}.assets.json", stack.name));
    let assets = image_assets(&stack.assembly, &assets_file, &mapped.definition)?;
    let loaded = super::finish(mapped, &template_name)?;
    Ok(Sourced {
        loaded,
        kind: Kind::CloudAssembly,
        assets,
    })
}

/// Logical id → construct path (without its leading `/`), from an
/// artifact's metadata: `{"/Stack/TaskDef/Resource": [{"type":
/// "aws:cdk:logicalId", "data": "TaskDef54694570"}]}`.
fn logical_id_paths(metadata: &Value) -> std::collections::BTreeMap<String, String> {
    let mut paths = std::collections::BTreeMap::new();
    let Some(entries) = metadata.as_object() else {
        return paths;
    };
    for (path, items) in entries {
        for item in items.as_array().into_iter().flatten() {
            if item.get("type").and_then(Value::as_str) == Some("aws:cdk:logicalId")
                && let Some(id) = item.get("data").and_then(Value::as_str)
            {
                paths.insert(id.to_owned(), path.trim_start_matches('/').to_owned());
            }
        }
    }
    paths
}

/// A stack of the assembly (or of a nested one).
struct Stack {
    name: String,
    /// The directory of the assembly that lists it.
    assembly: std::path::PathBuf,
    file: String,
    document: Value,
    found: Vec<Candidate>,
    /// `aws://ACCOUNT/REGION`, `unknown-…` when environment-agnostic.
    environment: Option<String>,
    /// Its asset manifest, as the assembly names it.
    assets_file: Option<String>,
}

/// The containers whose image is one of the stack's container assets.
fn image_assets(
    dir: &Path,
    file: &str,
    definition: &Value,
) -> Result<Vec<ImageAsset>, SourceError> {
    let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
        return Ok(Vec::new());
    };
    let manifest: Value = serde_json::from_str(&text).map_err(|e| SourceError::Assembly {
        source_name: dir.join(file).display().to_string(),
        message: format!("not valid JSON: {e}"),
    })?;
    let Some(images) = manifest.get("dockerImages").and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    let mut assets = Vec::new();
    let containers = definition
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for container in &containers {
        let (Some(name), Some(image)) = (
            container.get("name").and_then(Value::as_str),
            container.get("image").and_then(Value::as_str),
        ) else {
            continue;
        };
        let Some((repository, tag)) = image.rsplit_once(':') else {
            continue;
        };
        if !repository.contains("container-assets") {
            continue;
        }
        let Some(source) = images.get(tag).and_then(|i| i.get("source")) else {
            continue;
        };
        let Some(directory) = source.get("directory").and_then(Value::as_str) else {
            continue;
        };
        let text = |key: &str| source.get(key).and_then(Value::as_str).map(str::to_owned);
        assets.push(ImageAsset {
            container: name.to_owned(),
            directory: dir.join(directory),
            dockerfile: text("dockerFile").map(Into::into),
            build_args: source
                .get("dockerBuildArgs")
                .and_then(Value::as_object)
                .map(|args| {
                    args.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            target: text("dockerBuildTarget"),
            platform: text("platform"),
        });
    }
    Ok(assets)
}
