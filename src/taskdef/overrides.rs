//! Overrides in `aws ecs run-task --overrides` shape, and the shortcuts
//! `-e [CONTAINER:]KEY=VALUE` and `--publish CONTAINER:HOST:CONTAINER`.
//!
//! They apply as ECS applies them: a container override's `command` and
//! `environmentFiles` replace the definition's, its `environment` adds to and
//! overrides the definition's variables, its `cpu`, `memory` and
//! `memoryReservation` replace the container's; the task-level fields replace
//! the task's.

use serde::Deserialize;

use super::model::{EnvironmentFile, KeyValuePair, TaskDefinition, TaskSize};

/// `--overrides`: the `overrides` structure of `RunTask`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskOverride {
    #[serde(default)]
    pub container_overrides: Vec<ContainerOverride>,
    pub task_role_arn: Option<String>,
    pub execution_role_arn: Option<String>,
    pub cpu: Option<TaskSize>,
    pub memory: Option<TaskSize>,
    /// Accepted for compatibility; a local engine has no per-task storage size.
    pub ephemeral_storage: Option<serde_json::Value>,
    /// Accepted for compatibility; there are no accelerators locally.
    pub inference_accelerator_overrides: Option<serde_json::Value>,
}

/// One entry of `containerOverrides`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerOverride {
    pub name: String,
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub environment: Vec<KeyValuePair>,
    pub environment_files: Option<Vec<EnvironmentFile>>,
    pub cpu: Option<i64>,
    pub memory: Option<i64>,
    pub memory_reservation: Option<i64>,
    /// Accepted for compatibility (GPUs and accelerators).
    pub resource_requirements: Option<serde_json::Value>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OverrideError {
    #[error("cannot read the overrides `{source_name}`: {reason}")]
    Read { source_name: String, reason: String },
    #[error("`{flag}` names no container of the task `{container}` (its containers: {known})")]
    UnknownContainer {
        flag: String,
        container: String,
        known: String,
    },
    #[error("`{flag}` is not {expected}")]
    Syntax { flag: String, expected: String },
}

impl TaskOverride {
    /// Reads `--overrides`: inline JSON when it starts with `{`, else a file
    /// (`file://` accepted, as the AWS CLI writes it).
    pub fn read(argument: &str) -> Result<TaskOverride, OverrideError> {
        let (text, source_name) = if argument.trim_start().starts_with('{') {
            (argument.to_owned(), "--overrides".to_owned())
        } else {
            let path = argument.strip_prefix("file://").unwrap_or(argument);
            let text = std::fs::read_to_string(path).map_err(|e| OverrideError::Read {
                source_name: path.to_owned(),
                reason: e.to_string(),
            })?;
            (text, path.to_owned())
        };
        let document = &mut serde_json::Deserializer::from_str(&text);
        serde_path_to_error::deserialize(document).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let reason = if path == "." {
                inner.to_string()
            } else {
                format!("at `{path}`: {inner}")
            };
            OverrideError::Read {
                source_name,
                reason,
            }
        })
    }
}

/// `-e [CONTAINER:]KEY=VALUE`: one variable for one container, or for every one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvSetting {
    pub container: Option<String>,
    pub name: String,
    pub value: String,
}

impl std::str::FromStr for EnvSetting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (target, value) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` is not [CONTAINER:]KEY=VALUE"))?;
        let (container, name) = match target.split_once(':') {
            Some((container, name)) => (Some(container.to_owned()), name),
            None => (None, target),
        };
        if name.is_empty() || container.as_deref() == Some("") {
            return Err(format!("`{text}` is not [CONTAINER:]KEY=VALUE"));
        }
        Ok(EnvSetting {
            container,
            name: name.to_owned(),
            value: value.to_owned(),
        })
    }
}

/// `--publish CONTAINER:HOST:CONTAINER[/udp]`: a container port on a host port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub container: String,
    pub host_port: u16,
    pub container_port: u16,
    pub udp: bool,
}

impl std::str::FromStr for Publish {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{text}` is not CONTAINER:HOST_PORT:CONTAINER_PORT");
        let (rest, udp) = match text.strip_suffix("/udp") {
            Some(rest) => (rest, true),
            None => (text.strip_suffix("/tcp").unwrap_or(text), false),
        };
        let mut parts = rest.rsplitn(3, ':');
        let container_port = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let host_port = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let container = parts.next().filter(|c| !c.is_empty()).ok_or_else(bad)?;
        if container_port == 0 {
            return Err(bad());
        }
        Ok(Publish {
            container: container.to_owned(),
            host_port,
            container_port,
            udp,
        })
    }
}

/// Applies `--overrides` and then the `-e` settings to the definition.
pub fn apply(
    def: &mut TaskDefinition,
    overrides: Option<&TaskOverride>,
    settings: &[EnvSetting],
) -> Result<(), OverrideError> {
    if let Some(o) = overrides {
        for (i, c) in o.container_overrides.iter().enumerate() {
            let target = container(def, &c.name, || {
                format!("--overrides containerOverrides[{i}].name")
            })?;
            if let Some(command) = &c.command {
                target.command = Some(command.clone());
            }
            for kv in &c.environment {
                set(&mut target.environment, kv.clone());
            }
            if let Some(files) = &c.environment_files {
                target.environment_files.clone_from(files);
            }
            target.cpu = c.cpu.or(target.cpu);
            target.memory = c.memory.or(target.memory);
            target.memory_reservation = c.memory_reservation.or(target.memory_reservation);
        }
        if o.task_role_arn.is_some() {
            def.task_role_arn.clone_from(&o.task_role_arn);
        }
        if o.execution_role_arn.is_some() {
            def.execution_role_arn.clone_from(&o.execution_role_arn);
        }
        if o.cpu.is_some() {
            def.cpu.clone_from(&o.cpu);
        }
        if o.memory.is_some() {
            def.memory.clone_from(&o.memory);
        }
    }
    for s in settings {
        let value = KeyValuePair {
            name: Some(s.name.clone()),
            value: Some(s.value.clone()),
        };
        match &s.container {
            Some(name) => {
                let target = container(def, name, || format!("-e {name}:{}={}", s.name, s.value))?;
                set(&mut target.environment, value);
            }
            None => {
                for c in &mut def.container_definitions {
                    set(&mut c.environment, value.clone());
                }
            }
        }
    }
    Ok(())
}

/// Checks that every `--publish` names a container of the definition.
pub fn check_publish(def: &TaskDefinition, publish: &[Publish]) -> Result<(), OverrideError> {
    for p in publish {
        if !def.has_container(&p.container) {
            return Err(unknown(
                def,
                format!("--publish {}", p.container),
                &p.container,
            ));
        }
    }
    Ok(())
}

fn container<'a>(
    def: &'a mut TaskDefinition,
    name: &str,
    flag: impl FnOnce() -> String,
) -> Result<&'a mut super::model::ContainerDefinition, OverrideError> {
    match def
        .container_definitions
        .iter()
        .position(|c| c.name.as_deref() == Some(name))
    {
        Some(i) => Ok(&mut def.container_definitions[i]),
        None => Err(unknown(def, flag(), name)),
    }
}

fn unknown(def: &TaskDefinition, flag: String, container: &str) -> OverrideError {
    OverrideError::UnknownContainer {
        flag,
        container: container.to_owned(),
        known: def.container_list(),
    }
}

/// Sets a variable, replacing one of the same name.
fn set(environment: &mut Vec<KeyValuePair>, value: KeyValuePair) {
    match environment.iter_mut().find(|kv| kv.name == value.name) {
        Some(existing) => *existing = value,
        None => environment.push(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition() -> TaskDefinition {
        crate::taskdef::load_str(
            r#"{"family":"web","cpu":"256","containerDefinitions":[
                {"name":"app","image":"x","command":["serve"],"cpu":128,
                 "environment":[{"name":"A","value":"def"},{"name":"B","value":"def"}],
                 "environmentFiles":[{"value":"arn:aws:s3:::b/def.env","type":"s3"}]},
                {"name":"log","image":"y"}]}"#,
            "t.json",
            "t",
        )
        .unwrap()
        .definition
    }

    #[test]
    fn container_overrides_apply_as_run_task_applies_them() {
        let o = TaskOverride::read(
            r#"{"containerOverrides":[{"name":"app","command":["migrate","--all"],
                "environment":[{"name":"B","value":"over"},{"name":"C","value":"new"}],
                "environmentFiles":[{"value":"arn:aws:s3:::b/over.env","type":"s3"}],
                "memory":512}],
               "taskRoleArn":"arn:aws:iam::123456789012:role/other","cpu":"1 vCPU"}"#,
        )
        .unwrap();
        let mut def = definition();
        let settings = ["app:D=e".parse().unwrap(), "E=everyone".parse().unwrap()];
        apply(&mut def, Some(&o), &settings).unwrap();
        let app = &def.container_definitions[0];
        assert_eq!(app.command, Some(vec!["migrate".into(), "--all".into()]));
        let env: Vec<String> = app
            .environment
            .iter()
            .map(|kv| {
                format!(
                    "{}={}",
                    kv.name.as_deref().unwrap(),
                    kv.value.as_deref().unwrap()
                )
            })
            .collect();
        assert_eq!(env, ["A=def", "B=over", "C=new", "D=e", "E=everyone"]);
        assert_eq!(app.environment_files.len(), 1);
        assert_eq!(
            app.environment_files[0].value.as_deref(),
            Some("arn:aws:s3:::b/over.env")
        );
        assert_eq!((app.cpu, app.memory), (Some(128), Some(512)));
        assert_eq!(def.container_definitions[1].environment.len(), 1);
        assert_eq!(
            def.task_role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/other")
        );
        assert_eq!(def.cpu, Some(TaskSize::Text("1 vCPU".into())));
    }

    #[test]
    fn unknown_containers_and_fields_are_clear_errors() {
        let o = TaskOverride::read(r#"{"containerOverrides":[{"name":"nope"}]}"#).unwrap();
        let error = apply(&mut definition(), Some(&o), &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`--overrides containerOverrides[0].name` names no container of the task `nope` (its containers: `app`, `log`)"
        );
        let settings = ["db:X=1".parse().unwrap()];
        let error = apply(&mut definition(), None, &settings).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("`-e db:X=1` names no container"),
            "{error}"
        );
        let error = TaskOverride::read(r#"{"containerOverrides":[{"name":"app","comand":[]}]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("cannot read the overrides `--overrides`: at `containerOverrides[0].comand`: unknown field `comand`"),
            "{error}"
        );
        assert!("=x".parse::<EnvSetting>().is_err());
        assert!("app:".parse::<EnvSetting>().is_err());
    }

    #[test]
    fn publish_reads_container_host_and_container_ports() {
        let p: Publish = "web:8080:80".parse().unwrap();
        assert_eq!(
            p,
            Publish {
                container: "web".into(),
                host_port: 8080,
                container_port: 80,
                udp: false
            }
        );
        assert!("dns:5353:53/udp".parse::<Publish>().unwrap().udp);
        for bad in ["web:80", "web:x:80", ":1:2", "web:1:0"] {
            assert!(bad.parse::<Publish>().is_err(), "{bad}");
        }
    }
}
