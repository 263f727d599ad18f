//! The agent's introspection API (`/v1/metadata`, `/v1/tasks`), served on
//! the loopback port only, as the ECS agent serves it on 51678.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::any;
use serde::Serialize;

use crate::agent::metadata::{self, Network, Port, Version, Volume};
use crate::agent::state::TaskEntry;
use crate::agent::{Agent, json};
use crate::plan::DEFAULT_CLUSTER;
use crate::protocol::wire::{self, Time};

pub fn routes() -> Router<Agent> {
    Router::new()
        .route("/v1/metadata", any(agent_metadata))
        .route("/v1/tasks", any(tasks))
}

#[derive(Debug, Serialize)]
struct AgentMetadata {
    #[serde(rename = "Cluster")]
    cluster: String,
    #[serde(rename = "ContainerInstanceArn")]
    container_instance_arn: Option<String>,
    #[serde(rename = "Version")]
    version: String,
}

#[derive(Debug, Default, Serialize)]
struct Task {
    #[serde(rename = "Arn")]
    arn: String,
    #[serde(rename = "DesiredStatus", skip_serializing_if = "str::is_empty")]
    desired_status: &'static str,
    #[serde(rename = "KnownStatus")]
    known_status: &'static str,
    #[serde(rename = "Family")]
    family: String,
    #[serde(rename = "Version")]
    version: String,
    #[serde(rename = "Containers")]
    containers: Option<Vec<Container>>,
}

#[derive(Debug, Serialize)]
struct Container {
    #[serde(rename = "DockerId")]
    docker_id: String,
    #[serde(rename = "DockerName")]
    docker_name: String,
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Image")]
    image: String,
    #[serde(rename = "ImageID")]
    image_id: String,
    #[serde(
        rename = "CreatedAt",
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::time"
    )]
    created_at: Option<Time>,
    #[serde(
        rename = "StartedAt",
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::time"
    )]
    started_at: Option<Time>,
    #[serde(rename = "Ports", skip_serializing_if = "Vec::is_empty")]
    ports: Vec<Port>,
    #[serde(rename = "Networks", skip_serializing_if = "Vec::is_empty")]
    networks: Vec<Network>,
    #[serde(rename = "Volumes", skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<Volume>,
    #[serde(rename = "RestartCount", skip_serializing_if = "Option::is_none")]
    restart_count: Option<i64>,
}

#[derive(Debug, Serialize)]
struct Tasks {
    #[serde(rename = "Tasks")]
    tasks: Vec<Task>,
}

async fn agent_metadata(State(agent): State<Agent>) -> Response {
    let registry = agent.state.read();
    let mut clusters = registry
        .tasks
        .values()
        .map(|t| t.registration.cluster.as_str());
    let first = clusters.next();
    let cluster = match first {
        Some(c) if clusters.all(|other| other == c) => c.to_owned(),
        _ => DEFAULT_CLUSTER.to_owned(),
    };
    json(
        StatusCode::OK,
        &AgentMetadata {
            cluster,
            container_instance_arn: None,
            version: format!("ecs-run-local - v{}", env!("CARGO_PKG_VERSION")),
        },
    )
}

fn task(entry: &TaskEntry) -> Task {
    let containers = (0..entry.live.len())
        .map(|i| {
            let c = metadata::container(entry, i, Version::V4);
            Container {
                docker_id: c.docker_id,
                docker_name: c.docker_name,
                name: c.name,
                image: c.image,
                image_id: c.image_id,
                created_at: c.created_at,
                started_at: c.started_at,
                ports: c.ports,
                networks: c.networks,
                volumes: c.volumes,
                restart_count: metadata::restart_count(entry, i),
            }
        })
        .collect();
    Task {
        arn: entry.registration.task_arn.clone(),
        desired_status: entry.desired_status(),
        known_status: entry.known_status(),
        family: entry.registration.family.clone(),
        version: entry.registration.revision.clone(),
        containers: Some(containers),
    }
}

async fn tasks(
    State(agent): State<Agent>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let registry = agent.state.read();
    let docker_id = query.get("dockerid");
    let task_arn = query.get("taskarn");
    let found = match (docker_id, task_arn) {
        (Some(_), Some(_)) => return json(StatusCode::BAD_REQUEST, &Task::default()),
        (Some(id), None) => registry.tasks_sorted().into_iter().find(|t| {
            t.live.iter().any(|l| {
                !l.inspected.docker_id.is_empty()
                    && if id.len() > 12 {
                        l.inspected.docker_id == *id
                    } else {
                        l.inspected.docker_id.starts_with(id.as_str())
                    }
            })
        }),
        (None, Some(arn)) => registry
            .tasks
            .values()
            .find(|t| t.registration.task_arn == *arn),
        (None, None) => {
            let tasks = registry.tasks_sorted().into_iter().map(task).collect();
            return json(StatusCode::OK, &Tasks { tasks });
        }
    };
    match found {
        Some(entry) => json(StatusCode::OK, &task(entry)),
        None => json(StatusCode::NOT_FOUND, &Task::default()),
    }
}
