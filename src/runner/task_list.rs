//! The tasks on this engine, found by label: `ps`, `logs` and `stop`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use serde::Serialize;

use super::teardown::{self, SUPERVISOR_PID, supervisor_alive};
use crate::docker::{ContainerSummary, Engine};
use crate::output::logs::{LineSplitter, LogPrefixes, LogSink, print_line_to};
use crate::plan::{NETWORK_NAME, labels};

/// One task, as `ps` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSummary {
    /// The last part of the task ARN.
    pub id: String,
    pub task_arn: String,
    pub family: String,
    pub revision: String,
    pub network_mode: String,
    pub service_name: String,
    /// The `ecs-run-local` process that supervises the task, if it still runs.
    pub supervisor_pid: Option<u32>,
    /// Whether that process still runs; not so after it was killed.
    pub supervised: bool,
    pub containers: Vec<ContainerLine>,
    #[serde(skip)]
    pub run_id: String,
    /// A detached supervisor's status log.
    #[serde(skip)]
    pub supervisor_log: Option<String>,
}

/// One container of a task.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerLine {
    pub name: String,
    /// Docker's state: `created`, `running`, `exited`.
    pub status: String,
    /// `healthy`, `unhealthy`, `starting`, or none without a health check.
    pub health: Option<String>,
    pub ports: Vec<String>,
    #[serde(skip)]
    pub docker_id: String,
}

/// Every task on the engine, by task id.
pub async fn list(engine: &Engine) -> anyhow::Result<Vec<TaskSummary>> {
    let found = engine
        .containers_labelled(&[labels::RUN_ID.to_owned()])
        .await?;
    let mut runs: BTreeMap<String, Vec<ContainerSummary>> = BTreeMap::new();
    for c in found {
        // Helpers (smoke's probes, the cgroup helper) are not the task's.
        if matches!(
            c.labels.get(labels::ROLE).map(String::as_str),
            Some("probe" | "cgroup-helper")
        ) {
            continue;
        }
        let run = c.labels.get(labels::RUN_ID).cloned().unwrap_or_default();
        runs.entry(run).or_default().push(c);
    }
    let mut tasks: Vec<TaskSummary> = runs
        .into_iter()
        .map(|(run_id, containers)| {
            let first = &containers[0];
            let label = |key: &str| first.labels.get(key).cloned().unwrap_or_default();
            let is_pause = |c: &&ContainerSummary| {
                c.labels.get(labels::ROLE).map(String::as_str) == Some("pause")
            };
            // awsvpc ports are published on the pause container.
            let pause_ports: Vec<String> = containers
                .iter()
                .filter(is_pause)
                .flat_map(|c| c.ports.clone())
                .collect();
            let mut lines: Vec<ContainerLine> = containers
                .iter()
                .filter(|c| !is_pause(c))
                .map(|c| {
                    let name = c
                        .labels
                        .get(labels::CONTAINER_NAME)
                        .cloned()
                        .unwrap_or_default();
                    container_line(c, &name, pause_ports.clone())
                })
                .collect();
            lines.sort_by(|a, b| a.name.cmp(&b.name));
            let task_arn = label(labels::TASK_ARN);
            let supervisor_pid = first
                .labels
                .get(SUPERVISOR_PID)
                .filter(|p| supervisor_alive(Some(p)))
                .and_then(|p| p.parse().ok());
            TaskSummary {
                id: task_arn.rsplit('/').next().unwrap_or_default().to_owned(),
                task_arn,
                family: label(labels::FAMILY),
                revision: label(labels::VERSION),
                network_mode: label(labels::NETWORK_MODE),
                service_name: label(labels::SERVICE_NAME),
                supervisor_pid,
                supervised: supervisor_pid.is_some(),
                containers: lines,
                run_id,
                supervisor_log: first.labels.get(labels::SUPERVISOR_LOG).cloned(),
            }
        })
        .collect();
    tasks.sort_by(|a, b| (&a.family, &a.id).cmp(&(&b.family, &b.id)));
    Ok(tasks)
}

fn container_line(c: &ContainerSummary, name: &str, mut ports: Vec<String>) -> ContainerLine {
    ports.extend(c.ports.iter().cloned());
    ports.sort();
    ports.dedup();
    let health = ["healthy", "unhealthy", "health: starting"]
        .into_iter()
        .find(|h| c.status.contains(&format!("({h})")))
        .map(|h| h.trim_start_matches("health: ").to_owned());
    ContainerLine {
        name: name.to_owned(),
        status: c.state.clone(),
        health,
        ports,
        docker_id: c.id.clone(),
    }
}

/// The one task whose id (or ARN) starts with `prefix`.
pub async fn find(engine: &Engine, prefix: &str) -> anyhow::Result<TaskSummary> {
    let tasks = list(engine).await?;
    let matching: Vec<&TaskSummary> = tasks
        .iter()
        .filter(|t| !prefix.is_empty() && (t.id.starts_with(prefix) || t.task_arn == prefix))
        .collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => bail!("no task `{prefix}` on this engine (see `ecs-run-local ps`)"),
        many => bail!(
            "`{prefix}` names {} tasks ({}); give more of the id",
            many.len(),
            many.iter()
                .map(|t| t.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Prints a task's container output with prefixes, as a foreground run
/// does; with `follow`, until every container has stopped.
pub async fn logs(
    engine: &Engine,
    task: &TaskSummary,
    container: Option<&str>,
    follow: bool,
) -> anyhow::Result<()> {
    let containers: Vec<&ContainerLine> = task
        .containers
        .iter()
        .filter(|c| container.is_none_or(|name| c.name == name))
        .collect();
    if containers.is_empty() {
        bail!(
            "task `{}` has no container `{}`",
            task.id,
            container.unwrap_or_default()
        );
    }
    let prefixes = LogPrefixes::new(containers.iter().map(|c| c.name.as_str()));
    let streams = containers.iter().enumerate().map(|(index, c)| {
        let prefix = prefixes.prefix(&c.name, index);
        let mut stream = engine.logs(&c.docker_id, follow, None);
        async move {
            let mut lines = LineSplitter::default();
            while let Some(Ok(chunk)) = stream.next().await {
                for line in lines.push(&chunk.bytes) {
                    print_line_to(LogSink::Stdout, &prefix, &line);
                }
            }
            if let Some(rest) = lines.finish() {
                print_line_to(LogSink::Stdout, &prefix, &rest);
            }
        }
    });
    if follow {
        futures_util::future::join_all(streams).await;
    } else {
        // One container after the other, each in its own order.
        for stream in streams {
            stream.await;
        }
    }
    Ok(())
}

/// Stops a task: asks its supervisor to stop it as ECS would and waits for
/// its containers to be gone; a task without a supervisor is removed here.
pub async fn stop(engine: &Engine, task: &TaskSummary) -> anyhow::Result<()> {
    let Some(pid) = task.supervisor_pid else {
        teardown::run_objects(engine, &task.run_id).await?;
        if let Some(log) = &task.supervisor_log {
            super::detach::remove_orphaned_log(log);
        }
        return Ok(());
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .with_context(|| {
        format!(
            "cannot signal the supervisor (pid {pid}) of task `{}`",
            task.id
        )
    })?;
    // The longest stopTimeout ECS allows is 120 s; a supervisor that takes
    // longer than that and a margin is gone wrong, and is cleaned up here.
    let deadline = Instant::now() + Duration::from_secs(130);
    let label = [format!("{}={}", labels::RUN_ID, task.run_id)];
    while Instant::now() < deadline {
        if engine.containers_labelled(&label).await?.is_empty()
            && !supervisor_alive(Some(&pid.to_string()))
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    teardown::run_objects(engine, &task.run_id).await
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
        let tasks = list(engine).await?;
        let supervised: Vec<_> = tasks
            .iter()
            .filter(|t| t.supervisor_pid.is_some())
            .collect();
        stopped = supervised.len();
        futures_util::future::join_all(supervised.iter().map(|t| stop(engine, t)))
            .await
            .into_iter()
            .collect::<anyhow::Result<Vec<()>>>()?;
    }
    let tasks = engine
        .containers_labelled(&[labels::RUN_ID.to_owned()])
        .await?;
    let unsupervised: Vec<&ContainerSummary> = tasks
        .iter()
        .filter(|c| all || !supervisor_alive(c.labels.get(SUPERVISOR_PID)))
        .collect();
    let mut runs: Vec<String> = unsupervised
        .iter()
        .filter_map(|c| c.labels.get(labels::RUN_ID).cloned())
        .collect();
    // The status logs of detached supervisors that were killed.
    let mut logs: Vec<&String> = unsupervised
        .iter()
        .filter_map(|c| c.labels.get(labels::SUPERVISOR_LOG))
        .collect();
    logs.sort();
    logs.dedup();
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
        teardown::run_objects(engine, run).await?;
    }
    for log in logs {
        super::detach::remove_orphaned_log(log);
    }
    if all {
        super::detach::remove_every_log();
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn summary(state: &str, status: &str, ports: &[&str]) -> ContainerSummary {
        ContainerSummary {
            id: "abc".into(),
            name: "ecs-web-1-app-0123".into(),
            state: state.into(),
            status: status.into(),
            labels: HashMap::new(),
            ports: ports.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn container_lines_read_health_from_dockers_status() {
        let cases = [
            ("Up 3 minutes (healthy)", Some("healthy")),
            ("Up 2 seconds (health: starting)", Some("starting")),
            ("Up 1 minute (unhealthy)", Some("unhealthy")),
            ("Up 4 seconds", None),
            ("Exited (0) 2 seconds ago", None),
        ];
        for (status, health) in cases {
            let line = container_line(&summary("running", status, &[]), "app", Vec::new());
            assert_eq!(line.health.as_deref(), health, "{status}");
        }
        // The pause container's ports (awsvpc) join the container's own, once each.
        let line = container_line(
            &summary("running", "Up", &["0.0.0.0:8080->80/tcp"]),
            "app",
            vec!["0.0.0.0:8080->80/tcp".into(), "0.0.0.0:9090->90/tcp".into()],
        );
        assert_eq!(line.ports, ["0.0.0.0:8080->80/tcp", "0.0.0.0:9090->90/tcp"]);
    }
}
