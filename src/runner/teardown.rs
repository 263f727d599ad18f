//! Removing what a run created, found by label only, never by name.

use futures_util::future::join_all;

use crate::docker::Engine;
use crate::plan::{NETWORK_NAME, labels};

/// Label on task objects: the process that supervises them, so that `down`
/// can tell a live run from one whose CLI was killed.
pub const SUPERVISOR_PID: &str = "ecs-run-local.supervisor-pid";

/// Removes the containers (pause included) and task-scoped volumes of a run.
/// Shared volumes, the network and the agent stay for the next run.
pub async fn run_objects(engine: &Engine, run_id: &str) -> anyhow::Result<()> {
    let label = [format!("{}={run_id}", labels::RUN_ID)];
    let containers = engine.containers_labelled(&label).await?;
    let removals = join_all(containers.iter().map(|c| engine.remove_container(&c.id))).await;
    let mut first_error = removals
        .into_iter()
        .find_map(Result::err)
        .map(anyhow::Error::new);
    for volume in engine.volumes_labelled(&label).await? {
        if let Err(e) = engine.remove_volume(&volume.name).await {
            first_error.get_or_insert(e.into());
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// What `down` removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub runs: usize,
    pub agent: bool,
}

/// `down`: removes the runs whose supervisor is gone (or every run with
/// `all`, and then the agent and the network too).
pub async fn down(engine: &Engine, all: bool) -> anyhow::Result<Removed> {
    let mut stopped = 0;
    if all {
        // Detached tasks (and foreground runs) stop as ECS stops them, through
        // their supervisors, which also deregister them from the agent.
        let tasks = super::tasks::list(engine).await?;
        let supervised: Vec<_> = tasks
            .iter()
            .filter(|t| t.supervisor_pid.is_some())
            .collect();
        stopped = supervised.len();
        futures_util::future::join_all(supervised.iter().map(|t| super::tasks::stop(engine, t)))
            .await
            .into_iter()
            .collect::<anyhow::Result<Vec<()>>>()?;
    }
    let tasks = engine
        .containers_labelled(&[labels::RUN_ID.to_owned()])
        .await?;
    let mut runs: Vec<String> = tasks
        .iter()
        .filter(|c| all || !supervisor_alive(c.labels.get(SUPERVISOR_PID)))
        .filter_map(|c| c.labels.get(labels::RUN_ID).cloned())
        .collect();
    // Task volumes whose containers are all gone belong to no live run either.
    for volume in engine
        .volumes_labelled(&[labels::RUN_ID.to_owned()])
        .await?
    {
        let Some(run) = volume.labels.get(labels::RUN_ID) else {
            continue;
        };
        if !tasks
            .iter()
            .any(|c| c.labels.get(labels::RUN_ID) == Some(run))
        {
            runs.push(run.clone());
        }
    }
    runs.sort();
    runs.dedup();
    for run in &runs {
        run_objects(engine, run).await?;
    }
    let mut removed = Removed {
        runs: runs.len() + stopped,
        agent: false,
    };
    if all {
        for agent in engine
            .containers_labelled(&[format!("{}=agent", labels::ROLE)])
            .await?
        {
            engine.remove_container(&agent.id).await?;
            removed.agent = true;
        }
        engine.remove_network(NETWORK_NAME).await?;
    }
    Ok(removed)
}

/// Whether the process named by a supervisor-pid label still runs here, and
/// is an ecs-run-local (not another process that got the same pid since).
pub(super) fn supervisor_alive(pid: Option<&String>) -> bool {
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
