//! `environmentFiles`: `.env` files in S3, fetched before the run, applied
//! with ECS's precedence: a container's `environment` wins over its files,
//! and among files the first to set a variable wins. `--env-file
//! CONTAINER=PATH` puts local files in place of a container's S3 files, for
//! offline use.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::aws::Aws;
use crate::plan::Plan;
use crate::taskdef::model::TaskDefinition;

/// Why an environment file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EnvFileError {
    #[error("cannot read environment file `{source_name}` of container `{container}`: {reason}")]
    Read {
        container: String,
        source_name: String,
        reason: String,
    },
    #[error(
        "environment file `{source_name}` line {line}: expected VARIABLE=VALUE, found `{text}`"
    )]
    Syntax {
        source_name: String,
        line: usize,
        text: String,
    },
    #[error("`--env-file {0}` names no container of the task")]
    UnknownContainer(String),
    #[error("`--env-file {0}`: expected CONTAINER=PATH")]
    Usage(String),
}

/// A local file for a container (`--env-file CONTAINER=PATH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalEnvFile {
    pub container: String,
    pub path: PathBuf,
}

impl std::str::FromStr for LocalEnvFile {
    type Err = EnvFileError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once('=') {
            Some((container, path)) if !container.is_empty() && !path.is_empty() => {
                Ok(LocalEnvFile {
                    container: container.to_owned(),
                    path: PathBuf::from(path),
                })
            }
            _ => Err(EnvFileError::Usage(text.to_owned())),
        }
    }
}

/// The variables of every container's environment files, in precedence order.
#[derive(Default, Clone)]
pub struct EnvFiles {
    by_container: HashMap<String, Vec<(String, String)>>,
}

impl std::fmt::Debug for EnvFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: BTreeMap<&str, Vec<&str>> = self
            .by_container
            .iter()
            .map(|(c, vars)| (c.as_str(), vars.iter().map(|(k, _)| k.as_str()).collect()))
            .collect();
        f.debug_struct("EnvFiles")
            .field("variables", &names)
            .finish()
    }
}

impl EnvFiles {
    /// Adds the files' variables under `env` (`KEY=value` entries): a
    /// variable already set keeps its value.
    pub fn apply(&self, container: &str, env: &mut Vec<String>) {
        for (key, value) in self.by_container.get(container).into_iter().flatten() {
            let taken = env
                .iter()
                .any(|kv| kv.split_once('=').map_or(kv.as_str(), |(k, _)| k) == key);
            if !taken {
                env.push(format!("{key}={value}"));
            }
        }
    }

    fn add(&mut self, container: &str, variables: Vec<(String, String)>) {
        let entry = self.by_container.entry(container.to_owned()).or_default();
        for (key, value) in variables {
            // The first file to set a variable wins.
            if !entry.iter().any(|(k, _)| *k == key) {
                entry.push((key, value));
            }
        }
    }
}

/// Refuses an `--env-file` for a container the definition does not have.
pub fn check_local(def: &TaskDefinition, local: &[LocalEnvFile]) -> Result<(), EnvFileError> {
    for l in local {
        if !def.has_container(&l.container) {
            return Err(EnvFileError::UnknownContainer(format!(
                "{}={}",
                l.container,
                l.path.display()
            )));
        }
    }
    Ok(())
}

/// Whether some container's environment files must come from S3: it has
/// some, and no `--env-file` stands in for them.
#[must_use]
pub fn needs_s3(def: &TaskDefinition, local: &[LocalEnvFile]) -> bool {
    def.container_definitions
        .iter()
        .any(|c| !c.environment_files.is_empty() && !local.iter().any(|l| l.container == c.name()))
}

/// Reads every container's environment files: local ones where given
/// (checked with [`check_local`]), else the definition's S3 objects (with `aws`).
pub async fn resolve(
    aws: Option<&Aws>,
    plan: &Plan,
    local: &[LocalEnvFile],
) -> Result<EnvFiles, EnvFileError> {
    let mut files = EnvFiles::default();
    for c in &plan.containers {
        let mine: Vec<&LocalEnvFile> = local.iter().filter(|l| l.container == c.name).collect();
        if !mine.is_empty() {
            for l in mine {
                let name = l.path.display().to_string();
                let text = std::fs::read_to_string(&l.path).map_err(|e| EnvFileError::Read {
                    container: c.name.clone(),
                    source_name: name.clone(),
                    reason: e.to_string(),
                })?;
                files.add(&c.name, parse(&name, &text)?);
            }
            continue;
        }
        for arn in &c.environment_files {
            let fail = |reason: String| EnvFileError::Read {
                container: c.name.clone(),
                source_name: arn.clone(),
                reason,
            };
            let aws = aws.ok_or_else(|| fail("no AWS configuration".into()))?;
            let text = fetch(aws, arn).await.map_err(fail)?;
            files.add(&c.name, parse(arn, &text)?);
        }
    }
    Ok(files)
}

/// `arn:aws:s3:::bucket/key/of/file.env` → the object's text (a `FireLens`
/// router's `config-file-type: s3` file too).
pub async fn fetch(aws: &Aws, arn: &str) -> Result<String, String> {
    let path = arn
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":s3:::"))
        .map(|(_, path)| path)
        .ok_or_else(|| "not an S3 object ARN (`arn:aws:s3:::BUCKET/KEY`)".to_owned())?;
    let (bucket, key) = path
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .ok_or_else(|| "not an S3 object ARN (`arn:aws:s3:::BUCKET/KEY`)".to_owned())?;
    let client = aws_sdk_s3::Client::new(aws.config());
    let object = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| aws.explain(crate::aws::Service::S3, None, &e))?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .into_bytes();
    String::from_utf8(bytes.to_vec()).map_err(|_| "the file is not UTF-8 text".to_owned())
}

/// ECS's `.env` format: `VARIABLE=VALUE` lines; `#` comments and blank lines ignored.
pub fn parse(source_name: &str, text: &str) -> Result<Vec<(String, String)>, EnvFileError> {
    let mut variables = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                variables.push((key.trim().to_owned(), value.to_owned()));
            }
            _ => {
                return Err(EnvFileError::Syntax {
                    source_name: source_name.to_owned(),
                    line: number + 1,
                    text: line.to_owned(),
                });
            }
        }
    }
    Ok(variables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files_parse_as_ecs_reads_them() {
        let text = "# settings\nA=1\n\nB=two=2\r\nC=\n";
        assert_eq!(
            parse("f.env", text).unwrap(),
            [
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), "two=2".to_owned()),
                ("C".to_owned(), String::new()),
            ]
        );
        let error = parse("f.env", "A=1\nnot a pair\n").unwrap_err().to_string();
        assert_eq!(
            error,
            "environment file `f.env` line 2: expected VARIABLE=VALUE, found `not a pair`"
        );
    }

    #[test]
    fn the_environment_wins_over_files_and_the_first_file_over_later_ones() {
        let mut files = EnvFiles::default();
        files.add(
            "app",
            vec![("A".into(), "file1".into()), ("B".into(), "file1".into())],
        );
        files.add(
            "app",
            vec![("B".into(), "file2".into()), ("C".into(), "file2".into())],
        );
        let mut env = vec!["A=environment".to_owned()];
        files.apply("app", &mut env);
        assert_eq!(env, ["A=environment", "B=file1", "C=file2"]);
        assert!(!format!("{files:?}").contains("file1"));
    }

    #[test]
    fn env_file_flags_name_a_container_and_a_path() {
        let flag: LocalEnvFile = "app=./local.env".parse().unwrap();
        assert_eq!(flag.container, "app");
        assert!("app".parse::<LocalEnvFile>().is_err());
        assert!("=x".parse::<LocalEnvFile>().is_err());
    }
}
