//! The task's cgroup on the engine's host (see `plan::cgroup`): made with
//! its limits before the task's containers, removed after them. The engine
//! may run in a VM (Docker Desktop), so a short-lived helper container of
//! the agent image does it (`ecs-run-local cgroup`), with the host's
//! `/sys/fs/cgroup` bound at `/host-cgroup` (root may write there; no
//! privilege is needed, nor given). cgroup v1 gets the limits in its `memory` and
//! `cpu` hierarchies; v2 in the task's directory, with the controllers
//! enabled on the way down.

use std::collections::HashMap;
use std::io;
use std::path::Path;

use anyhow::Context as _;
use bollard::models::{ContainerCreateBody, HostConfig};
use futures_util::StreamExt as _;

use crate::docker::{ContainerSummary, Engine};
use crate::plan::cgroup::{TaskCgroupPlan, labels as cgroup_labels};
use crate::plan::{AGENT_EXECUTABLE, Plan, labels};

/// The host's cgroups, and where the helper sees them.
const HOST_CGROUPS: &str = "/sys/fs/cgroup";
pub const CGROUP_ROOT: &str = "/host-cgroup";

/// Inside the helper: makes `path` with its limits under `root`.
pub fn set(root: &Path, path: &str, memory: Option<i64>, cpu_quota: Option<i64>) -> io::Result<()> {
    let relative = path.trim_start_matches('/');
    if root.join("cgroup.controllers").exists() {
        // v2: a controller must be enabled in every parent's subtree.
        let mut dir = root.to_path_buf();
        for part in relative.split('/') {
            let _ = std::fs::write(dir.join("cgroup.subtree_control"), "+memory +cpu");
            dir.push(part);
            std::fs::create_dir_all(&dir)?;
        }
        if let Some(bytes) = memory {
            std::fs::write(dir.join("memory.max"), bytes.to_string())?;
        }
        if let Some(quota) = cpu_quota {
            let period = crate::plan::cgroup::CPU_PERIOD_MICROS;
            std::fs::write(dir.join("cpu.max"), format!("{quota} {period}"))?;
        }
        return Ok(());
    }
    if let Some(bytes) = memory {
        let dir = root.join("memory").join(relative);
        std::fs::create_dir_all(&dir)?;
        // Children count against the parent (always so on recent kernels).
        let _ = std::fs::write(dir.join("memory.use_hierarchy"), "1");
        std::fs::write(dir.join("memory.limit_in_bytes"), bytes.to_string())?;
    }
    if let Some(quota) = cpu_quota {
        let dir = root.join("cpu").join(relative);
        std::fs::create_dir_all(&dir)?;
        let period = crate::plan::cgroup::CPU_PERIOD_MICROS;
        std::fs::write(dir.join("cpu.cfs_period_us"), period.to_string())?;
        std::fs::write(dir.join("cpu.cfs_quota_us"), quota.to_string())?;
    }
    Ok(())
}

/// Inside the helper: removes `path` (and what the engine left below it)
/// from every hierarchy that has it.
pub fn remove(root: &Path, path: &str) -> io::Result<()> {
    let relative = path.trim_start_matches('/');
    // v2 is one hierarchy at the root; v1 has one per controller.
    let mut bases = vec![root.to_path_buf()];
    for entry in std::fs::read_dir(root)?.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            bases.push(entry.path());
        }
    }
    for base in bases {
        let dir = base.join(relative);
        if dir.is_dir() {
            remove_tree(&base, &dir)?;
        }
    }
    Ok(())
}

/// cgroup directories go with `rmdir`, deepest first; their files go with
/// them. Processes the engine leaves behind (Podman's `conmon` of an exec
/// session lingers for minutes) move to the hierarchy's root first; a
/// cgroup still being emptied is tried again for up to 5 s.
fn remove_tree(base: &Path, dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)?.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(base, &entry.path())?;
        }
    }
    if let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        for pid in procs.split_whitespace() {
            let _ = std::fs::write(base.join("cgroup.procs"), pid);
        }
    }
    let mut tries = 50;
    loop {
        match std::fs::remove_dir(dir) {
            // A plain directory (as in the tests) holds files; a cgroup does not.
            Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => {
                return std::fs::remove_dir_all(dir);
            }
            Err(e) if e.kind() == io::ErrorKind::ResourceBusy && tries > 0 => {
                tries -= 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

/// Makes the task's cgroup before its containers exist. The helper that
/// makes it stays (exited) until the teardown, labelled with the run, its
/// supervisor and the cgroup: the engine's record of a cgroup that has no
/// container yet, so that `down` finds it after a CLI killed at any moment.
pub(super) async fn create(
    engine: &Engine,
    plan: &Plan,
    cgroup: &TaskCgroupPlan,
) -> anyhow::Result<()> {
    let mut args = vec!["cgroup".to_owned(), "set".to_owned(), cgroup.path.clone()];
    if let Some(bytes) = cgroup.memory_bytes {
        args.extend(["--memory".to_owned(), bytes.to_string()]);
    }
    if let Some(quota) = cgroup.cpu_quota_micros {
        args.extend(["--cpu-quota".to_owned(), quota.to_string()]);
    }
    let record = HashMap::from([
        (cgroup_labels::PATH.to_owned(), cgroup.path.clone()),
        (
            cgroup_labels::HELPER_IMAGE.to_owned(),
            cgroup.helper_image.clone(),
        ),
        (
            labels::SUPERVISOR_PID.to_owned(),
            std::process::id().to_string(),
        ),
        (labels::FAMILY.to_owned(), plan.task.family.clone()),
    ]);
    helper(
        engine,
        &cgroup.helper_image,
        &plan.run_id,
        "set",
        args,
        Some(record),
    )
    .await
    .with_context(|| format!("cannot make the task's cgroup `{}`", cgroup.path))
}

/// Removes the cgroups of these (removed) containers' tasks.
pub async fn remove_for(engine: &Engine, containers: &[ContainerSummary]) -> anyhow::Result<()> {
    let mut done = Vec::new();
    for c in containers {
        let (Some(path), Some(image)) = (
            c.labels.get(cgroup_labels::PATH),
            c.labels.get(cgroup_labels::HELPER_IMAGE),
        ) else {
            continue;
        };
        if done.contains(path) {
            continue;
        }
        done.push(path.clone());
        let run = c.labels.get(labels::RUN_ID).cloned().unwrap_or_default();
        let args = vec!["cgroup".to_owned(), "remove".to_owned(), path.clone()];
        helper(engine, image, &run, "remove", args, None)
            .await
            .with_context(|| format!("cannot remove the task's cgroup `{path}`"))?;
    }
    Ok(())
}

/// Runs the helper to its end; its output, without the program's own
/// prefix, is the error. It is removed when done, unless it carries a
/// `record` (labels that keep it as the run's record until the teardown).
async fn helper(
    engine: &Engine,
    image: &str,
    run_id: &str,
    what: &str,
    args: Vec<String>,
    record: Option<HashMap<String, String>>,
) -> anyhow::Result<()> {
    let mut labels = HashMap::from([
        (labels::ROLE.to_owned(), "cgroup-helper".to_owned()),
        (labels::RUN_ID.to_owned(), run_id.to_owned()),
    ]);
    let keep = record.is_some();
    labels.extend(record.unwrap_or_default());
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        entrypoint: Some(vec![AGENT_EXECUTABLE.to_owned()]),
        cmd: Some(args),
        // The run's label: `down` removes a helper a killed run left.
        labels: Some(labels),
        host_config: Some(HostConfig {
            binds: Some(vec![format!("{HOST_CGROUPS}:{CGROUP_ROOT}:rw")]),
            network_mode: Some("none".into()),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    let short = &run_id[..run_id.len().min(12)];
    let name = format!("ecs-run-local-cgroup-{what}-{short}");
    let id = engine.create_container(&name, body, None).await?;
    let result = async {
        engine.start_container(&id).await?;
        let code = engine.wait_exit(&id).await?;
        if code == 0 {
            return Ok(());
        }
        let mut said = Vec::new();
        let mut logs = engine.logs(&id, false, None);
        while let Some(Ok(chunk)) = logs.next().await {
            said.extend_from_slice(&chunk.bytes);
        }
        anyhow::bail!("{}", helper_error(&String::from_utf8_lossy(&said)))
    }
    .await;
    if !keep {
        let _ = engine.remove_container(&id).await;
    }
    result
}

/// What the helper said, without the `ecs-run-local: error: ` its own
/// `main` put before it: the run prints that prefix once, on its own line.
fn helper_error(said: &str) -> &str {
    let said = said.trim();
    said.strip_prefix(crate::exit::ERROR_PREFIX).unwrap_or(said)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_limits_go_to_the_memory_and_cpu_hierarchies_and_removal_takes_every_one() {
        let root = tempfile::tempdir().unwrap();
        for c in ["memory", "cpu", "pids"] {
            std::fs::create_dir(root.path().join(c)).unwrap();
        }
        set(
            root.path(),
            "/ecs-run-local/t1",
            Some(134_217_728),
            Some(50_000),
        )
        .unwrap();
        let read = |p: &str| std::fs::read_to_string(root.path().join(p)).unwrap();
        assert_eq!(
            read("memory/ecs-run-local/t1/memory.limit_in_bytes"),
            "134217728"
        );
        assert_eq!(read("cpu/ecs-run-local/t1/cpu.cfs_quota_us"), "50000");
        assert_eq!(read("cpu/ecs-run-local/t1/cpu.cfs_period_us"), "100000");
        // What the engine made below the parent, in other hierarchies too.
        std::fs::create_dir_all(root.path().join("pids/ecs-run-local/t1/abc")).unwrap();
        remove(root.path(), "/ecs-run-local/t1").unwrap();
        for c in ["memory", "cpu", "pids"] {
            assert!(
                !root.path().join(c).join("ecs-run-local/t1").exists(),
                "{c}"
            );
            assert!(
                root.path().join(c).join("ecs-run-local").exists(),
                "{c}: the root stays"
            );
        }
    }

    #[test]
    fn the_helpers_error_is_printed_once_without_its_prefix() {
        assert_eq!(
            helper_error(
                "ecs-run-local: error: cannot set `cpu.max`: Invalid argument (os error 22)\n"
            ),
            "cannot set `cpu.max`: Invalid argument (os error 22)"
        );
        assert_eq!(helper_error(" other\n"), "other");
    }

    #[test]
    fn v2_limits_go_to_the_tasks_directory() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("cgroup.controllers"), "cpu memory pids").unwrap();
        set(root.path(), "/ecs-run-local/t2", Some(268_435_456), None).unwrap();
        let read = |p: &str| std::fs::read_to_string(root.path().join(p)).unwrap();
        assert_eq!(read("ecs-run-local/t2/memory.max"), "268435456");
        assert_eq!(read("ecs-run-local/cgroup.subtree_control"), "+memory +cpu");
        assert!(!root.path().join("ecs-run-local/t2/cpu.max").exists());
        remove(root.path(), "/ecs-run-local/t2").unwrap();
        assert!(!root.path().join("ecs-run-local/t2").exists());
    }
}
