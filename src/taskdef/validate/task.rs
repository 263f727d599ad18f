//! Task-level fields: family, the container list, runtime platform, task cpu and
//! memory, FARGATE requirements, the App Mesh proxy and inference accelerators.

use super::{Validator, is_ecs_name};
use crate::taskdef::model::NetworkMode;
use crate::taskdef::units;

impl Validator<'_> {
    pub(super) fn task(&mut self) {
        let def = self.def;
        match def.family.as_deref() {
            None | Some("") => self.error("family", "is required"),
            Some(family) => {
                if !is_ecs_name(family) {
                    self.error(
                        "family",
                        format!("`{family}` may hold only letters, digits, hyphens and underscores (at most 255)"),
                    );
                }
            }
        }
        if def.container_definitions.is_empty() {
            self.error(
                "containerDefinitions",
                "at least one container definition is required",
            );
        }
        if let Some(os) = def
            .runtime_platform
            .as_ref()
            .and_then(|p| p.operating_system_family.as_deref())
        {
            if os.starts_with("WINDOWS") {
                self.error(
                    "runtimePlatform.operatingSystemFamily",
                    format!(
                        "`{os}` needs a Windows container host; a Linux Docker engine cannot run it"
                    ),
                );
            } else if os != "LINUX" {
                self.error(
                    "runtimePlatform.operatingSystemFamily",
                    format!("`{os}` is not an operating system family ECS knows (LINUX or WINDOWS_SERVER_*)"),
                );
            }
        }
        let task_cpu = def.cpu.as_ref().map(units::cpu_units);
        let task_memory = def.memory.as_ref().map(units::memory_mib);
        if let Some(Err(reason)) = &task_cpu {
            self.error("cpu", reason.clone());
        }
        if let Some(Err(reason)) = &task_memory {
            self.error("memory", reason.clone());
        }
        if self.is_fargate() {
            if self.mode != NetworkMode::Awsvpc {
                self.warning(
                    "networkMode",
                    format!(
                        "ECS requires `awsvpc` for FARGATE; this runs locally in `{}` mode",
                        self.mode
                    ),
                );
            }
            if def.cpu.is_none() || def.memory.is_none() {
                self.warning("", "ECS requires task-level `cpu` and `memory` for FARGATE");
            }
            if def.ipc_mode.is_some() {
                self.warning(
                    "ipcMode",
                    "FARGATE does not support ipcMode; it applies locally",
                );
            }
        }
        if let Some(Ok(task_memory)) = task_memory {
            for (i, c) in def.container_definitions.iter().enumerate() {
                if let Some(memory) = c.memory.filter(|m| *m > task_memory) {
                    self.error(
                        format!("containerDefinitions[{i}].memory"),
                        format!("{memory} MiB is more than the task's memory ({task_memory} MiB)"),
                    );
                }
            }
        }
        if let Some(proxy) = &def.proxy_configuration {
            match proxy.container_name.as_deref() {
                None | Some("") => self.error("proxyConfiguration.containerName", "is required"),
                Some(name) if self.container_index(name).is_none() => self.error(
                    "proxyConfiguration.containerName",
                    format!("`{name}` is not a container of this task"),
                ),
                Some(name) => self.warning(
                    "proxyConfiguration",
                    format!(
                        "the App Mesh proxy's traffic redirection is not set up locally: `{name}` runs as a plain container and the others talk to each other directly"
                    ),
                ),
            }
            if self.mode != NetworkMode::Awsvpc {
                self.error(
                    "proxyConfiguration",
                    "ECS supports a proxy configuration only in awsvpc mode",
                );
            }
        }
        if !def.inference_accelerators.is_empty() {
            self.warning(
                "inferenceAccelerators",
                "Elastic Inference accelerators do not exist locally; the task runs without them",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{errors, task};

    #[test]
    fn missing_family_containers_name_and_image() {
        assert_eq!(
            errors(r#"{"containerDefinitions":[{"memory":64}]}"#),
            [
                "Error family: is required",
                "Error containerDefinitions[0].name: is required",
                "Error containerDefinitions[0].image: is required",
            ]
        );
        assert_eq!(
            errors(r#"{"family":"f","containerDefinitions":[]}"#),
            ["Error containerDefinitions: at least one container definition is required"]
        );
    }

    #[test]
    fn bad_family_and_container_names() {
        let e = errors(
            &task("", r#"{"name":"a b","image":"i","memory":64}"#)
                .replace("\"app\"", "\"<TASK_NAME>\""),
        );
        assert!(
            e[0].starts_with("Error family: `<TASK_NAME>` may hold only"),
            "{e:?}"
        );
        assert!(
            e[1].starts_with("Error containerDefinitions[0].name: `a b` may hold only"),
            "{e:?}"
        );
    }
}
