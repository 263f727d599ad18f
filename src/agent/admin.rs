//! The admin API the CLI drives (register, stop and deregister a task, push
//! credentials, health), on the loopback port, behind the agent's bearer token.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, put};

use crate::agent::{Agent, json};
use crate::protocol::task_id;
use crate::protocol::{self, Credentials, DesiredStatus, Health, TaskRegistration};

pub fn routes(agent: Agent) -> Router<Agent> {
    Router::new()
        .route(protocol::HEALTH_PATH, get(health))
        .route(
            &format!("{}/{{id}}", protocol::TASKS_PATH),
            put(register).delete(deregister),
        )
        .route(
            &format!("{}/{{id}}/desired-status", protocol::TASKS_PATH),
            put(desired_status),
        )
        .route(
            &format!("{}/{{id}}", protocol::CREDENTIALS_PATH),
            put(push_credentials),
        )
        .route_layer(middleware::from_fn_with_state(agent, authorize))
}

#[derive(serde::Serialize)]
struct Problem {
    error: String,
}

fn problem(status: StatusCode, error: impl Into<String>) -> Response {
    json(
        status,
        &Problem {
            error: error.into(),
        },
    )
}

/// Compares in constant time, so the token cannot be guessed byte by byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a request carries the agent's bearer token.
#[must_use]
pub fn carries_token(agent: &Agent, headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| same(token.as_bytes(), agent.token.as_bytes()))
}

async fn authorize(State(agent): State<Agent>, request: Request, next: Next) -> Response {
    if carries_token(&agent, request.headers()) {
        next.run(request).await
    } else {
        problem(
            StatusCode::UNAUTHORIZED,
            "the admin API needs the agent's bearer token",
        )
    }
}

async fn health(State(agent): State<Agent>) -> Response {
    let registry = agent.state.read();
    json(
        StatusCode::OK,
        &Health {
            version: env!("CARGO_PKG_VERSION").into(),
            tasks: registry.tasks.len(),
            containers: registry.container_count(),
            credentials: registry.credentials.len(),
            rss_bytes: resident_memory().unwrap_or(0),
        },
    )
}

/// `VmRSS` of this process.
fn resident_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

async fn register(
    State(agent): State<Agent>,
    Path(id): Path<String>,
    Json(registration): Json<TaskRegistration>,
) -> Response {
    if task_id(&registration.task_arn) != id {
        return problem(
            StatusCode::BAD_REQUEST,
            format!(
                "task ARN `{}` does not end with `{id}`",
                registration.task_arn
            ),
        );
    }
    let arn = registration.task_arn.clone();
    match agent.state.register(registration) {
        Ok(()) => {
            // Catch up with containers that exist already (a re-registration).
            if let Some(resync) = &agent.resync {
                let _ = resync.send(arn);
            }
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => problem(StatusCode::CONFLICT, e.to_string()),
    }
}

async fn deregister(State(agent): State<Agent>, Path(id): Path<String>) -> Response {
    if agent.state.deregister(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        problem(StatusCode::NOT_FOUND, format!("no task `{id}`"))
    }
}

async fn desired_status(
    State(agent): State<Agent>,
    Path(id): Path<String>,
    Json(desired): Json<DesiredStatus>,
) -> Response {
    if desired.desired_status != "STOPPED" {
        return problem(
            StatusCode::BAD_REQUEST,
            "a task's desired status can only become STOPPED",
        );
    }
    if agent.state.stop(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        problem(StatusCode::NOT_FOUND, format!("no task `{id}`"))
    }
}

async fn push_credentials(
    State(agent): State<Agent>,
    Path(id): Path<String>,
    Json(credentials): Json<Credentials>,
) -> Response {
    if agent.state.push_credentials(&id, credentials) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        problem(StatusCode::NOT_FOUND, "no task has that credentials id")
    }
}
