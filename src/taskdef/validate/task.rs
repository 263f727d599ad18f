//! Task-level fields: family, the container list, runtime platform, task cpu and
//! memory, FARGATE requirements, the App Mesh proxy and inference accelerators.

use super::{Validator, is_ecs_name};
use crate::taskdef::model::NetworkMode;
use crate::taskdef::units;

/// The task-level `cpu` `RegisterTaskDefinition` takes for EC2 and external
/// instances (Linux): 0.125 to 192 vCPU.
const EC2_TASK_CPU: (i64, i64) = (128, 196_608);

/// Whether FARGATE has a task size of `cpu` units with `memory` MiB (the
/// pairs of "Task CPU and memory" in the ECS developer guide).
fn fargate_size(cpu: i64, memory: i64) -> bool {
    let gib = |n: i64| n * 1024;
    let stepped = |from: i64, to: i64, step: i64| {
        (gib(from)..=gib(to)).contains(&memory) && (memory - gib(from)) % gib(step) == 0
    };
    match cpu {
        256 => [512, 1024, 2048].contains(&memory),
        512 => stepped(1, 4, 1),
        1024 => stepped(2, 8, 1),
        2048 => stepped(4, 16, 1),
        4096 => stepped(8, 30, 1),
        8192 => stepped(16, 60, 4),
        16384 => stepped(32, 120, 8),
        _ => false,
    }
}

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
        self.task_size();
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

    /// Task-level `cpu` and `memory`: readable, what ECS registers, a
    /// FARGATE size, and room for every container's memory.
    fn task_size(&mut self) {
        let def = self.def;
        let task_cpu = def.cpu.as_ref().map(units::cpu_units);
        let task_memory = def.memory.as_ref().map(units::memory_mib);
        if let Some(Err(reason)) = &task_cpu {
            self.error("cpu", reason.clone());
        }
        if let Some(Err(reason)) = &task_memory {
            self.error("memory", reason.clone());
        }
        if let Some(Ok(cpu)) = task_cpu {
            if !(EC2_TASK_CPU.0..=EC2_TASK_CPU.1).contains(&cpu) {
                self.error(
                    "cpu",
                    format!(
                        "{cpu} CPU units is outside what ECS registers for a task ({} to {} units, 0.125 to 192 vCPU)",
                        EC2_TASK_CPU.0, EC2_TASK_CPU.1
                    ),
                );
            } else if self.is_fargate()
                && let Some(Ok(memory)) = task_memory
                && !fargate_size(cpu, memory)
            {
                self.error(
                    "cpu",
                    format!(
                        "FARGATE has no size of {cpu} CPU units with {memory} MiB; see the task size table in the ECS documentation (256 CPU units take 512, 1024 or 2048 MiB)"
                    ),
                );
            }
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
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{errors, task};

    const ONE: &str = r#"{"name":"app","image":"i","memory":64}"#;

    #[test]
    fn task_cpu_is_what_register_task_definition_takes() {
        // "1" is one CPU unit, not one vCPU: ECS refuses it, and so does the
        // kernel's CFS quota (97 µs) if it ever reached a run.
        assert_eq!(
            errors(&task(r#""cpu":"1","#, ONE)),
            [
                "Error cpu: 1 CPU units is outside what ECS registers for a task (128 to 196608 units, 0.125 to 192 vCPU)"
            ]
        );
        assert!(errors(&task(r#""cpu":"127","#, ONE))[0].starts_with("Error cpu: 127 CPU units"));
        for fine in [
            r#""cpu":"128","#,
            r#""cpu":"1 vCPU","#,
            r#""cpu":196608,"#,
            r#""cpu":"0.25 vcpu","#,
        ] {
            assert_eq!(errors(&task(fine, ONE)), Vec::<String>::new(), "{fine}");
        }
        assert!(!errors(&task(r#""cpu":"196609","#, ONE)).is_empty());
    }

    #[test]
    fn fargate_takes_only_its_task_sizes() {
        let fargate = |sizes: &str| {
            errors(&task(
                &format!(r#""requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc",{sizes}"#),
                ONE,
            ))
        };
        for fine in [
            r#""cpu":"256","memory":"512","#,
            r#""cpu":"256","memory":"2 GB","#,
            r#""cpu":"1 vCPU","memory":"8192","#,
            r#""cpu":"4096","memory":"30720","#,
            r#""cpu":"8192","memory":"20480","#,
            r#""cpu":"16384","memory":"122880","#,
        ] {
            assert_eq!(fargate(fine), Vec::<String>::new(), "{fine}");
        }
        assert_eq!(
            fargate(r#""cpu":"256","memory":"4096","#),
            [
                "Error cpu: FARGATE has no size of 256 CPU units with 4096 MiB; see the task size table in the ECS documentation (256 CPU units take 512, 1024 or 2048 MiB)"
            ]
        );
        for bad in [
            r#""cpu":"128","memory":"512","#,
            r#""cpu":"512","memory":"512","#,
            r#""cpu":"8192","memory":"18432","#,
        ] {
            assert_eq!(fargate(bad).len(), 1, "{bad}");
        }
    }

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
