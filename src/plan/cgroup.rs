//! One cgroup per task, as the ECS agent makes on Linux: a task's `cpu` and
//! `memory` limit the task as a whole. Every container of the task is
//! created under the task's cgroup parent (Docker's `CgroupParent`), which
//! holds the task limits; containers keep their own limits inside it, and a
//! container without a `memory` of its own is no longer given the task's.
//!
//! Only with the engine's `cgroupfs` driver (cgroup v1 or v2): the agent
//! names the parent `/ecs/<task id>` there. The runner creates it with its
//! limits before the containers and removes it after them (see
//! `runner::task_cgroup`). Without it (the systemd driver, or `compose`)
//! each container keeps the task's memory as its own limit, as before.

use serde::Serialize;

use super::{ContainerPlan, Plan};

/// The CPU period the agent uses for task CPU quotas (100 ms, in µs).
pub const CPU_PERIOD_MICROS: i64 = 100_000;
/// The directory under the cgroup root that holds the tasks' cgroups.
pub const ROOT: &str = "/ecs-run-local";

/// The task's cgroup and its limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskCgroupPlan {
    /// Docker's `CgroupParent`: `/ecs-run-local/<task id>`.
    pub path: String,
    pub memory_bytes: Option<i64>,
    /// CPU quota per [`CPU_PERIOD_MICROS`]: the task's CPU units as vCPU.
    pub cpu_quota_micros: Option<i64>,
    /// The image whose helper makes and removes it (the agent image).
    pub helper_image: String,
}

/// Labels on every container of a task with its own cgroup, so that
/// teardown (and `down`) remove the cgroup with the image that made it.
pub mod labels {
    pub const PATH: &str = "ecs-run-local.cgroup-parent";
    pub const HELPER_IMAGE: &str = "ecs-run-local.cgroup-helper-image";
}

/// Puts the task's containers (and pause container) under the task's cgroup
/// when the task has a `cpu` or `memory` and the engine can take it.
pub(super) fn apply(plan: &mut Plan, cpu_units: Option<i64>, memory_mib: Option<i64>, image: &str) {
    if cpu_units.is_none() && memory_mib.is_none() {
        return;
    }
    let cgroup = TaskCgroupPlan {
        path: format!("{ROOT}/{}", plan.task.task_id),
        memory_bytes: memory_mib.map(|m| m * 1024 * 1024),
        cpu_quota_micros: cpu_units.map(|units| units * CPU_PERIOD_MICROS / 1024),
        helper_image: image.to_owned(),
    };
    for c in plan.pause.iter_mut().chain(plan.containers.iter_mut()) {
        under(c, &cgroup, image);
    }
    plan.task_cgroup = Some(cgroup);
}

fn under(c: &mut ContainerPlan, cgroup: &TaskCgroupPlan, image: &str) {
    let labels = c.create.labels.get_or_insert_with(Default::default);
    labels.insert(labels::PATH.into(), cgroup.path.clone());
    labels.insert(labels::HELPER_IMAGE.into(), image.to_owned());
    let host = c.create.host_config.get_or_insert_with(Default::default);
    host.cgroup_parent = Some(cgroup.path.clone());
    // The task's memory limits the task, not each container.
    if c.memory.is_none() {
        host.memory = None;
        host.memory_swap = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PlanOptions, SequentialIds, plan};

    fn planned(task: &str, options: &PlanOptions) -> Plan {
        let def = crate::taskdef::load_str(task, "t.json", "t")
            .unwrap()
            .definition;
        plan(&def, options, &mut SequentialIds::default()).unwrap()
    }

    #[test]
    fn a_task_with_memory_puts_its_containers_under_one_limited_parent() {
        let task = r#"{"family":"web","cpu":"512","memory":"128","networkMode":"awsvpc",
            "containerDefinitions":[{"name":"a","image":"x"},{"name":"b","image":"x","memory":64}]}"#;
        let options = PlanOptions {
            task_cgroup: true,
            ..PlanOptions::default()
        };
        let p = planned(task, &options);
        let cgroup = p.task_cgroup.clone().unwrap();
        assert_eq!(cgroup.path, format!("/ecs-run-local/{}", p.task.task_id));
        assert_eq!(cgroup.memory_bytes, Some(134_217_728));
        assert_eq!(cgroup.cpu_quota_micros, Some(50_000));
        for c in p.pause.iter().chain(&p.containers) {
            let host = c.create.host_config.as_ref().unwrap();
            assert_eq!(
                host.cgroup_parent.as_deref(),
                Some(cgroup.path.as_str()),
                "{}",
                c.name
            );
        }
        let memory = |name: &str| {
            p.containers
                .iter()
                .find(|c| c.name == name)
                .unwrap()
                .create
                .host_config
                .as_ref()
                .unwrap()
                .memory
        };
        assert_eq!(memory("a"), None, "the task limits it, not a copy");
        assert_eq!(memory("b"), Some(64 * 1024 * 1024));

        // Without the engine's cgroupfs, each container keeps the task's memory.
        let copied = planned(task, &PlanOptions::default());
        assert!(copied.task_cgroup.is_none());
        let a = &copied.containers[0].create.host_config.as_ref().unwrap();
        assert_eq!(a.memory, Some(134_217_728));
        assert_eq!(a.cgroup_parent, None);
    }
}
