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
    let manifest = read_json(&manifest_path)?;
    let artifacts = manifest
        .get("artifacts")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // (stack, template file, its document, its task definitions)
    let mut stacks = Vec::new();
    for (name, artifact) in &artifacts {
        if artifact.get("type").and_then(Value::as_str) != Some("aws:cloudformation:stack") {
            continue;
        }
        let Some(file) = artifact
            .pointer("/properties/templateFile")
            .and_then(Value::as_str)
        else {
            continue;
        };
        let document = read_json(&dir.join(file))?;
        let found = template::candidates(&document);
        stacks.push((name.clone(), file.to_owned(), document, found));
    }
    let listing = || {
        stacks
            .iter()
            .flat_map(|(_, _, _, found)| found.iter().map(Candidate::describe))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut matching: Vec<(usize, Candidate)> = Vec::new();
    for (i, (name, _, _, found)) in stacks.iter().enumerate() {
        for candidate in found {
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
    let (stack, file, document, _) = &stacks[index];
    let template_name = dir.join(file).display().to_string();
    let mapped = template::map(document, &candidate, &options.context, &template_name)?;
    let assets = image_assets(dir, &artifacts, stack, &mapped.definition)?;
    let loaded = super::finish(mapped, &template_name)?;
    Ok(Sourced {
        loaded,
        kind: Kind::CloudAssembly,
        assets,
    })
}

/// The containers whose image is one of the stack's container assets.
fn image_assets(
    dir: &Path,
    artifacts: &serde_json::Map<String, Value>,
    stack: &str,
    definition: &Value,
) -> Result<Vec<ImageAsset>, SourceError> {
    let file = artifacts
        .get(&format!("{stack}.assets"))
        .and_then(|a| a.pointer("/properties/file"))
        .and_then(Value::as_str)
        .map_or_else(|| format!("{stack}.assets.json"), str::to_owned);
    let Ok(text) = std::fs::read_to_string(dir.join(&file)) else {
        return Ok(Vec::new());
    };
    let manifest: Value = serde_json::from_str(&text).map_err(|e| SourceError::Assembly {
        source_name: dir.join(&file).display().to_string(),
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
