//! Removing what a run created, found by label only, never by name.

use futures_util::future::join_all;

use crate::docker::Engine;
use crate::plan::labels;

pub use crate::plan::labels::SUPERVISOR_PID;

/// Removes the containers (pause included), task-scoped volumes and task
/// cgroup of a run.
/// Shared volumes, the network and the agent stay for the next run.
pub async fn run_objects(engine: &Engine, run_id: &str) -> anyhow::Result<()> {
    let label = [format!("{}={run_id}", labels::RUN_ID)];
    let containers = engine.containers_labelled(&label).await?;
    // Those joined to a namespace before its holder: smoke's probes first,
    // the pause container last. Podman refuses to remove a namespace's
    // holder while containers joined to it remain.
    let role =
        |c: &&crate::docker::ContainerSummary| match c.labels.get(labels::ROLE).map(String::as_str)
        {
            Some("probe") => 0,
            Some("pause") => 2,
            _ => 1,
        };
    let mut removals = Vec::new();
    for rank in 0..3 {
        let group = containers.iter().filter(|c| role(c) == rank);
        removals.extend(join_all(group.map(|c| engine.remove_container(&c.id))).await);
    }
    let mut first_error = removals
        .into_iter()
        .find_map(Result::err)
        .map(anyhow::Error::new);
    // The task's cgroup, once nothing is in it.
    if first_error.is_none()
        && let Err(e) = super::task_cgroup::remove_for(engine, &containers).await
    {
        first_error = Some(e);
    }
    for volume in engine.volumes_labelled(&label).await? {
        if let Err(e) = engine.remove_volume(&volume.name).await {
            first_error.get_or_insert(e.into());
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Whether the process named by a supervisor-pid label still runs here, and
/// is an ecs-run-local (not another process that got the same pid since).
#[must_use]
pub fn supervisor_alive(pid: Option<&String>) -> bool {
    pid.and_then(|p| p.parse::<u32>().ok()).is_some_and(|pid| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains("ecs-run-local"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_alive_while_its_supervisor_is() {
        // (A live supervisor is seen in the integration tests: `ps --json`.)
        // Another program that got the pid is not a supervisor.
        let mut other = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let alive = supervisor_alive(Some(&other.id().to_string()));
        let _ = other.kill();
        let _ = other.wait();
        assert!(!alive);
        assert!(!supervisor_alive(Some(&"4000000000".to_owned())));
        assert!(!supervisor_alive(None));
        assert!(!supervisor_alive(Some(&"not a pid".to_owned())));
    }
}
