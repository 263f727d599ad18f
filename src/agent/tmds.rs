//! The task metadata endpoints v2, v3 and v4, with the agent's routes,
//! status codes and error bodies (a JSON string):
//!
//! - v2 identifies its caller by source IP and fails with 400; a container
//!   of another task (metadata or stats by Docker id) fails as an unknown id;
//! - v3 identifies it by endpoint id and fails with 500 (metadata) or 400 (stats);
//! - v4 likewise, failing with 404 for an unknown id.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::any;

use crate::agent::metadata::{self, Version};
use crate::agent::state::{Registry, TaskEntry};
use crate::agent::stats::{Stats, StatsV4};
use crate::agent::{Agent, access, json};

pub fn routes() -> Router<Agent> {
    Router::new()
        .route("/v2/metadata", any(v2_task))
        .route("/v2/metadata/", any(v2_task))
        .route("/v2/metadataWithTags", any(v2_task_with_tags))
        .route("/v2/metadataWithTags/", any(v2_task_with_tags))
        .route("/v2/metadata/{docker_id}", any(v2_container))
        .route("/v2/stats", any(v2_task_stats))
        .route("/v2/stats/", any(v2_task_stats))
        .route("/v2/stats/{docker_id}", any(v2_container_stats))
        .route("/v3/{id}", any(v3_container))
        .route("/v3/{id}/task", any(v3_task))
        .route("/v3/{id}/taskWithTags", any(v3_task_with_tags))
        .route("/v3/{id}/stats", any(v3_container_stats))
        .route("/v3/{id}/task/stats", any(v3_task_stats))
        .route("/v4/{id}", any(v4_container))
        .route("/v4/{id}/task", any(v4_task))
        .route("/v4/{id}/taskWithTags", any(v4_task_with_tags))
        .route("/v4/{id}/stats", any(v4_container_stats))
        .route("/v4/{id}/task/stats", any(v4_task_stats))
}

/// The agent's error: a JSON string.
fn error(status: StatusCode, message: &str) -> Response {
    json(status, &message)
}

fn unknown_task(id: &str) -> String {
    format!("unable to get task arn from request: unable to get task Arn from v3 endpoint ID: {id}")
}

fn unknown_container(id: &str) -> String {
    format!(
        "unable to get container ID from request: unable to get docker ID from v3 endpoint ID: {id}"
    )
}

/// The task of a v2 caller, or the agent's 400: a caller the agent cannot
/// bind to a task's container is none ([`access::task_by_address`]).
fn v2_caller<'a>(
    registry: &'a Registry,
    neighbours: access::Neighbours,
    caller: &SocketAddr,
) -> Result<&'a TaskEntry, Response> {
    access::task_by_address(registry, neighbours, caller.ip()).map_err(|why| {
        let ip = caller.ip();
        tracing::debug!(%ip, ?why, "v2 caller not bound to a task");
        error(
            StatusCode::BAD_REQUEST,
            &format!("Unable to get task arn from request: unable to associate '{ip}' with task"),
        )
    })
}

fn v2_task_body(agent: &Agent, caller: &SocketAddr, with_tags: bool) -> Response {
    let registry = agent.state.read();
    match v2_caller(&registry, agent.neighbours, caller) {
        Ok(task) => json(
            StatusCode::OK,
            &metadata::task(task, Version::V2, with_tags),
        ),
        Err(response) => response,
    }
}

async fn v2_task(
    State(agent): State<Agent>,
    ConnectInfo(caller): ConnectInfo<SocketAddr>,
) -> Response {
    v2_task_body(&agent, &caller, false)
}

async fn v2_task_with_tags(
    State(agent): State<Agent>,
    ConnectInfo(caller): ConnectInfo<SocketAddr>,
) -> Response {
    v2_task_body(&agent, &caller, true)
}

async fn v2_container(
    State(agent): State<Agent>,
    ConnectInfo(caller): ConnectInfo<SocketAddr>,
    Path(docker_id): Path<String>,
) -> Response {
    let registry = agent.state.read();
    let own = match v2_caller(&registry, agent.neighbours, &caller) {
        Ok(task) => task.id(),
        Err(response) => return response,
    };
    // Another task's container is as unknown to the caller as a made-up id.
    match registry
        .container(&docker_id)
        .filter(|(task, _)| task.id() == own)
    {
        Some((task, index)) => json(
            StatusCode::OK,
            &metadata::container(task, index, Version::V2),
        ),
        None => error(
            StatusCode::BAD_REQUEST,
            &format!("Unable to generate metadata for container '{docker_id}'"),
        ),
    }
}

async fn v2_task_stats(
    State(agent): State<Agent>,
    ConnectInfo(caller): ConnectInfo<SocketAddr>,
) -> Response {
    let ids = {
        let registry = agent.state.read();
        match v2_caller(&registry, agent.neighbours, &caller) {
            Ok(task) => stats_targets(task),
            Err(response) => return response,
        }
    };
    json(StatusCode::OK, &task_stats(&agent, ids).await)
}

async fn v2_container_stats(
    State(agent): State<Agent>,
    ConnectInfo(caller): ConnectInfo<SocketAddr>,
    Path(docker_id): Path<String>,
) -> Response {
    let target = {
        let registry = agent.state.read();
        let task = match v2_caller(&registry, agent.neighbours, &caller) {
            Ok(task) => task,
            Err(response) => return response,
        };
        stats_targets(task)
            .into_iter()
            .find(|t| t.docker_id == docker_id)
    };
    container_stats_v3(&agent, target, &docker_id).await
}

fn v3_task_body(agent: &Agent, id: &str, with_tags: bool) -> Response {
    let registry = agent.state.read();
    match registry.endpoint(id) {
        Some((task, _)) => json(
            StatusCode::OK,
            &metadata::task(task, Version::V3, with_tags),
        ),
        None => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("V3 task metadata handler: {}", unknown_task(id)),
        ),
    }
}

async fn v3_container(State(agent): State<Agent>, Path(id): Path<String>) -> Response {
    let registry = agent.state.read();
    match registry
        .endpoint(&id)
        .filter(|(task, i)| !task.live[*i].inspected.docker_id.is_empty())
    {
        Some((task, index)) => json(
            StatusCode::OK,
            &metadata::container(task, index, Version::V3),
        ),
        None => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("V3 container metadata handler: {}", unknown_container(&id)),
        ),
    }
}

async fn v3_task(State(agent): State<Agent>, Path(id): Path<String>) -> Response {
    v3_task_body(&agent, &id, false)
}

async fn v3_task_with_tags(State(agent): State<Agent>, Path(id): Path<String>) -> Response {
    v3_task_body(&agent, &id, true)
}

/// What the stats of a container need: its id, and in awsvpc the pause
/// container whose namespace holds the task's network counters.
#[derive(Debug, Clone)]
struct StatsTarget {
    docker_id: String,
    network_from: Option<String>,
}

fn stats_targets(task: &TaskEntry) -> Vec<StatsTarget> {
    let pause = task
        .pause()
        .map(|p| task.live[p].inspected.docker_id.clone())
        .filter(|id| !id.is_empty());
    task.live
        .iter()
        .filter(|l| !l.inspected.docker_id.is_empty())
        .map(|l| StatsTarget {
            docker_id: l.inspected.docker_id.clone(),
            network_from: pause.clone().filter(|p| *p != l.inspected.docker_id),
        })
        .collect()
}

fn endpoint_target(agent: &Agent, id: &str) -> Result<StatsTarget, String> {
    let registry = agent.state.read();
    let (task, index) = registry.endpoint(id).ok_or_else(|| unknown_task(id))?;
    let docker_id = &task.live[index].inspected.docker_id;
    if docker_id.is_empty() {
        return Err(unknown_container(id));
    }
    stats_targets(task)
        .into_iter()
        .find(|t| t.docker_id == *docker_id)
        .ok_or_else(|| unknown_container(id))
}

/// A container's stats, with the task's network counters in awsvpc.
async fn sample(agent: &Agent, target: &StatsTarget) -> Option<StatsV4> {
    let collectors = agent.stats.as_ref()?;
    let (mut stats, mut rate) = collectors.sample(&target.docker_id).await?;
    if let Some(pause) = &target.network_from {
        if let Some((pause_stats, pause_rate)) = collectors.sample(pause).await {
            stats.networks = pause_stats.networks;
            rate = pause_rate;
        }
    }
    Some(StatsV4 {
        stats,
        network_rate_stats: rate,
    })
}

async fn container_stats_v3(
    agent: &Agent,
    target: Option<StatsTarget>,
    docker_id: &str,
) -> Response {
    let stats = match &target {
        Some(target) => sample(agent, target).await,
        None => None,
    };
    match stats {
        Some(stats) => json(StatusCode::OK, &stats.stats),
        None => error(
            StatusCode::BAD_REQUEST,
            &format!("Unable to get container stats for: {docker_id}"),
        ),
    }
}

/// Stats by Docker id; `null` for a container without any (v2, v3).
async fn task_stats(agent: &Agent, targets: Vec<StatsTarget>) -> BTreeMap<String, Option<Stats>> {
    let samples = futures_util::future::join_all(targets.iter().map(|t| sample(agent, t))).await;
    targets
        .into_iter()
        .zip(samples)
        .map(|(t, s)| (t.docker_id, s.map(|s| s.stats)))
        .collect()
}

async fn v3_container_stats(State(agent): State<Agent>, Path(id): Path<String>) -> Response {
    match endpoint_target(&agent, &id) {
        Ok(target) => {
            let docker_id = target.docker_id.clone();
            container_stats_v3(&agent, Some(target), &docker_id).await
        }
        Err(reason) => error(
            StatusCode::BAD_REQUEST,
            &format!("V3 container stats handler: {reason}"),
        ),
    }
}

/// The containers of the task behind an endpoint id, or the agent's error
/// for an unknown id (v3: 400, v4: 404, each with its handler's name).
fn task_stats_targets(
    agent: &Agent,
    id: &str,
    unknown: StatusCode,
    handler: &str,
) -> Result<Vec<StatsTarget>, Response> {
    let registry = agent.state.read();
    match registry.endpoint(id) {
        Some((task, _)) => Ok(stats_targets(task)),
        None => Err(error(unknown, &format!("{handler}: {}", unknown_task(id)))),
    }
}

async fn v3_task_stats(State(agent): State<Agent>, Path(id): Path<String>) -> Response {
    match task_stats_targets(
        &agent,
        &id,
        StatusCode::BAD_REQUEST,
        "V3 task stats handler",
    ) {
        Ok(targets) => json(StatusCode::OK, &task_stats(&agent, targets).await),
        Err(response) => response,
    }
}

async fn v4_container(State(agent): State<Agent>, Path(id): Path<String>) -> Response {
    let registry = agent.state.read();
    match registry
        .endpoint(&id)
        .filter(|(task, i)| !task.live[*i].inspected.docker_id.is_empty())
    {
        Some((task, index)) => json(StatusCode::OK, &metadata::container_v4(task, index)),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("V4 container metadata handler: {}", unknown_container(&id)),
        ),
    }
}

fn v4_task_body(agent: &Agent, id: &str, with_tags: bool) -> Response {
    let registry = agent.state.read();
    match registry.endpoint(id) {
        Some((task, _)) => json(StatusCode::OK, &metadata::task_v4(task, with_tags)),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("V4 task metadata handler: {}", unknown_task(id)),
        ),
    }
}

async fn v4_task(State(agent): State<Agent>, Path(id): Path<String>) -> Response {
    v4_task_body(&agent, &id, false)
}

async fn v4_task_with_tags(State(agent): State<Agent>, Path(id): Path<String>) -> Response {
    v4_task_body(&agent, &id, true)
}

async fn v4_container_stats(State(agent): State<Agent>, Path(id): Path<String>) -> Response {
    let target = match endpoint_target(&agent, &id) {
        Ok(target) => target,
        Err(reason) => {
            return error(
                StatusCode::NOT_FOUND,
                &format!("V4 container stats handler: {reason}"),
            );
        }
    };
    match sample(&agent, &target).await {
        Some(stats) => json(StatusCode::OK, &stats),
        None => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Unable to get container stats for: {}", target.docker_id),
        ),
    }
}

/// The agent's empty `StatsResponse` for a container without stats.
#[derive(serde::Serialize)]
struct Empty {}

#[derive(serde::Serialize)]
#[serde(untagged)]
enum MaybeStats {
    Stats(Box<StatsV4>),
    Empty(Empty),
}

async fn v4_task_stats(State(agent): State<Agent>, Path(id): Path<String>) -> Response {
    let targets =
        match task_stats_targets(&agent, &id, StatusCode::NOT_FOUND, "V4 task stats handler") {
            Ok(targets) => targets,
            Err(response) => return response,
        };
    let samples = futures_util::future::join_all(targets.iter().map(|t| sample(&agent, t))).await;
    let body: BTreeMap<String, MaybeStats> = targets
        .into_iter()
        .zip(samples)
        .map(|(t, s)| {
            (
                t.docker_id,
                s.map_or(MaybeStats::Empty(Empty {}), |s| {
                    MaybeStats::Stats(Box::new(s))
                }),
            )
        })
        .collect();
    json(StatusCode::OK, &body)
}
