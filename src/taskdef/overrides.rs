//! Overrides in `aws ecs run-task --overrides` shape, and the shortcuts
//! `--image [CONTAINER=]IMAGE`, `-e [CONTAINER:]KEY=VALUE` and `--publish
//! CONTAINER:HOST:CONTAINER`. `--image` applies after `--overrides`.
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
    #[error("`{flag}` names no container of {task} (its containers: {known})")]
    UnknownContainer {
        flag: String,
        /// The task by its family: ``the task `web` ``.
        task: String,
        known: String,
    },
    #[error("`{flag}` names no container, but {task} has several ({known}); write `{usage}`")]
    AmbiguousContainer {
        flag: String,
        task: String,
        known: String,
        /// The form that names one: `--image CONTAINER=IMAGE`.
        usage: &'static str,
    },
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

/// `--image [CONTAINER=]IMAGE`: the image a container runs, for testing
/// what is about to be deployed; without a container, the task's only one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSetting {
    pub container: Option<String>,
    pub image: String,
}

impl std::str::FromStr for ImageSetting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // An image reference has no `=`, so the first one ends the container.
        let (container, image) = match text.split_once('=') {
            Some((container, image)) => (Some(container.to_owned()), image),
            None => (None, text),
        };
        if image.is_empty() || container.as_deref() == Some("") || image.contains('=') {
            return Err(format!("`{text}` is not CONTAINER=IMAGE or IMAGE"));
        }
        Ok(ImageSetting {
            container,
            image: image.to_owned(),
        })
    }
}

/// Where a value of the overridden definition came from: `path` in the
/// definition was set by `by` (`--overrides containerOverrides[0].memory`,
/// `-e app:KEY`), so that a finding on it names what the user wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overridden {
    pub path: String,
    pub by: String,
    /// Whether what lies below `path` lies at the same place below `by` (so
    /// in `--overrides`, not in a `-e` word).
    pub nested: bool,
}

/// Where `path` (in the definition) came from, when an override set it.
#[must_use]
pub fn locate(overridden: &[Overridden], path: &str) -> Option<String> {
    overridden.iter().rev().find_map(|o| {
        let rest = path.strip_prefix(&o.path)?;
        if !(rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')) {
            return None;
        }
        Some(if o.nested {
            format!("{}{rest}", o.by)
        } else {
            o.by.clone()
        })
    })
}

/// Applies `--overrides`, then the `--image` and `-e` settings to the
/// definition, and says which paths of the definition they set.
#[expect(
    clippy::too_many_lines,
    reason = "every `run-task` override field in the API's order, then --image and -e"
)]
pub fn apply(
    def: &mut TaskDefinition,
    overrides: Option<&TaskOverride>,
    settings: &[EnvSetting],
    images: &[ImageSetting],
) -> Result<Vec<Overridden>, OverrideError> {
    let mut overridden = Vec::new();
    let mut record = |path: String, by: String, nested: bool| {
        overridden.push(Overridden { path, by, nested });
    };
    if let Some(o) = overrides {
        for (i, c) in o.container_overrides.iter().enumerate() {
            let (k, target) = container(def, &c.name, || {
                format!("--overrides containerOverrides[{i}].name")
            })?;
            let at = format!("containerDefinitions[{k}]");
            let by = format!("--overrides containerOverrides[{i}]");
            if let Some(command) = &c.command {
                target.command = Some(command.clone());
                record(format!("{at}.command"), format!("{by}.command"), true);
            }
            for (j, kv) in c.environment.iter().enumerate() {
                let index = set(&mut target.environment, kv.clone());
                record(
                    format!("{at}.environment[{index}]"),
                    format!("{by}.environment[{j}]"),
                    true,
                );
            }
            if let Some(files) = &c.environment_files {
                target.environment_files.clone_from(files);
                record(
                    format!("{at}.environmentFiles"),
                    format!("{by}.environmentFiles"),
                    true,
                );
            }
            for (field, value, slot) in [
                ("cpu", c.cpu, &mut target.cpu),
                ("memory", c.memory, &mut target.memory),
                (
                    "memoryReservation",
                    c.memory_reservation,
                    &mut target.memory_reservation,
                ),
            ] {
                if value.is_some() {
                    *slot = value;
                    record(format!("{at}.{field}"), format!("{by}.{field}"), true);
                }
            }
        }
        for (field, value, slot) in [
            ("taskRoleArn", &o.task_role_arn, &mut def.task_role_arn),
            (
                "executionRoleArn",
                &o.execution_role_arn,
                &mut def.execution_role_arn,
            ),
        ] {
            if value.is_some() {
                slot.clone_from(value);
                record(field.to_owned(), format!("--overrides {field}"), true);
            }
        }
        for (field, value, slot) in [
            ("cpu", &o.cpu, &mut def.cpu),
            ("memory", &o.memory, &mut def.memory),
        ] {
            if value.is_some() {
                slot.clone_from(value);
                record(field.to_owned(), format!("--overrides {field}"), true);
            }
        }
    }
    for setting in images {
        let flag = match &setting.container {
            Some(name) => format!("--image {name}={}", setting.image),
            None => format!("--image {}", setting.image),
        };
        let k = named_or_only(
            def,
            setting.container.as_deref(),
            &flag,
            "--image CONTAINER=IMAGE",
        )?;
        def.container_definitions[k].image = Some(setting.image.clone());
        record(format!("containerDefinitions[{k}].image"), flag, false);
    }
    for s in settings {
        let value = KeyValuePair {
            name: Some(s.name.clone()),
            value: Some(s.value.clone()),
        };
        match &s.container {
            Some(name) => {
                let (k, target) =
                    container(def, name, || format!("-e {name}:{}={}", s.name, s.value))?;
                let index = set(&mut target.environment, value);
                record(
                    format!("containerDefinitions[{k}].environment[{index}]"),
                    format!("-e {name}:{}", s.name),
                    false,
                );
            }
            None => {
                for (k, c) in def.container_definitions.iter_mut().enumerate() {
                    let index = set(&mut c.environment, value.clone());
                    record(
                        format!("containerDefinitions[{k}].environment[{index}]"),
                        format!("-e {}", s.name),
                        false,
                    );
                }
            }
        }
    }
    Ok(overridden)
}

/// Checks that every `--publish` names a container of the definition.
pub fn check_publish(def: &TaskDefinition, publish: &[Publish]) -> Result<(), OverrideError> {
    for p in publish {
        if !def.has_container(&p.container) {
            let protocol = if p.udp { "/udp" } else { "" };
            return Err(unknown(
                def,
                format!(
                    "--publish {}:{}:{}{protocol}",
                    p.container, p.host_port, p.container_port
                ),
            ));
        }
    }
    Ok(())
}

fn container<'a>(
    def: &'a mut TaskDefinition,
    name: &str,
    flag: impl FnOnce() -> String,
) -> Result<(usize, &'a mut super::model::ContainerDefinition), OverrideError> {
    match def
        .container_definitions
        .iter()
        .position(|c| c.name.as_deref() == Some(name))
    {
        Some(i) => Ok((i, &mut def.container_definitions[i])),
        None => Err(unknown(def, flag())),
    }
}

/// The container a `[CONTAINER=]…` setting (`flag`, as typed) is for: the
/// one it names, else the task's only one; `usage` is the form that names
/// one, for a task of several.
pub fn named_or_only(
    def: &TaskDefinition,
    name: Option<&str>,
    flag: &str,
    usage: &'static str,
) -> Result<usize, OverrideError> {
    match name {
        Some(name) => def
            .container_definitions
            .iter()
            .position(|c| c.name.as_deref() == Some(name))
            .ok_or_else(|| unknown(def, flag.to_owned())),
        None if def.container_definitions.len() == 1 => Ok(0),
        None => Err(OverrideError::AmbiguousContainer {
            flag: flag.to_owned(),
            task: task_name(def),
            known: def.container_list(),
            usage,
        }),
    }
}

fn unknown(def: &TaskDefinition, flag: String) -> OverrideError {
    OverrideError::UnknownContainer {
        flag,
        task: task_name(def),
        known: def.container_list(),
    }
}

/// The task by its family: ``the task `web` ``.
fn task_name(def: &TaskDefinition) -> String {
    def.family
        .as_deref()
        .map_or_else(|| "the task".to_owned(), |f| format!("the task `{f}`"))
}

/// Sets a variable, replacing one of the same name; returns its index.
fn set(environment: &mut Vec<KeyValuePair>, value: KeyValuePair) -> usize {
    if let Some(i) = environment.iter().position(|kv| kv.name == value.name) {
        environment[i] = value;
        i
    } else {
        environment.push(value);
        environment.len() - 1
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
        let settings = [
            "app:D=e".parse().unwrap(),
            "E=everyone".parse().unwrap(),
            "app:C=again".parse().unwrap(),
        ];
        let overridden = apply(&mut def, Some(&o), &settings, &[]).unwrap();
        // Every value says where it came from, the latest setting first.
        let from = |path: &str| locate(&overridden, path);
        assert_eq!(
            from("containerDefinitions[0].memory").as_deref(),
            Some("--overrides containerOverrides[0].memory")
        );
        assert_eq!(
            from("containerDefinitions[0].environment[1].name").as_deref(),
            Some("--overrides containerOverrides[0].environment[0].name")
        );
        assert_eq!(
            from("containerDefinitions[0].environment[2].value").as_deref(),
            Some("-e app:C")
        );
        assert_eq!(
            from("containerDefinitions[1].environment[0]").as_deref(),
            Some("-e E")
        );
        assert_eq!(from("cpu").as_deref(), Some("--overrides cpu"));
        assert_eq!(from("containerDefinitions[0].cpu"), None);
        assert_eq!(from("containerDefinitions[0].environment[0].name"), None);
        assert_eq!(from("containerDefinitions[0].commandX"), None);
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
        assert_eq!(env, ["A=def", "B=over", "C=again", "D=e", "E=everyone"]);
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
        let error = apply(&mut definition(), Some(&o), &[], &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`--overrides containerOverrides[0].name` names no container of the task `web` (its containers: `app`, `log`)"
        );
        let publish = ["nope:8080:80".parse().unwrap()];
        assert_eq!(
            check_publish(&definition(), &publish)
                .unwrap_err()
                .to_string(),
            "`--publish nope:8080:80` names no container of the task `web` (its containers: `app`, `log`)"
        );
        let settings = ["db:X=1".parse().unwrap()];
        let error = apply(&mut definition(), None, &settings, &[]).unwrap_err();
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

    #[test]
    fn images_replace_a_containers_image_after_the_overrides() {
        let o =
            TaskOverride::read(r#"{"containerOverrides":[{"name":"app","memory":256}]}"#).unwrap();
        let mut def = definition();
        let images = ["app=registry.local/app:abc123".parse().unwrap()];
        let overridden = apply(&mut def, Some(&o), &[], &images).unwrap();
        assert_eq!(
            def.container_definitions[0].image.as_deref(),
            Some("registry.local/app:abc123")
        );
        assert_eq!(def.container_definitions[1].image.as_deref(), Some("y"));
        assert_eq!(
            locate(&overridden, "containerDefinitions[0].image").as_deref(),
            Some("--image app=registry.local/app:abc123")
        );
    }

    #[test]
    fn an_image_without_a_container_needs_a_task_of_one_container() {
        let images = ["app:new".parse::<ImageSetting>().unwrap()];
        let error = apply(&mut definition(), None, &[], &images).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`--image app:new` names no container, but the task `web` has several (`app`, `log`); write `--image CONTAINER=IMAGE`"
        );
        let unknown = ["web=app:new".parse::<ImageSetting>().unwrap()];
        let error = apply(&mut definition(), None, &[], &unknown).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`--image web=app:new` names no container of the task `web` (its containers: `app`, `log`)"
        );
        let mut single = definition();
        single.container_definitions.truncate(1);
        apply(&mut single, None, &[], &images).unwrap();
        assert_eq!(
            single.container_definitions[0].image.as_deref(),
            Some("app:new")
        );
        assert!("=x".parse::<ImageSetting>().is_err());
        assert!("a=".parse::<ImageSetting>().is_err());
    }
}
