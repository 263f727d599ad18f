//! Task scale-in protection at `$ECS_AGENT_URI/task-protection/v1/state`,
//! kept per task with its expiry instead of calling ECS, with the agent's
//! request checks, status codes and bodies. As on ECS, a task needs task
//! role credentials to use it.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{Duration, DurationRound as _, TimeDelta};
use serde::{Deserialize, Serialize};

use crate::agent::state::{Protection, TaskEntry};
use crate::agent::{Agent, json};
use crate::protocol::wire::{self, Time};

/// ECS's default and bounds for `ExpiresInMinutes`.
const DEFAULT_MINUTES: i64 = 120;
const MAX_MINUTES: i64 = 2880;

pub fn routes() -> Router<Agent> {
    Router::new().route(
        "/api/{id}/task-protection/v1/state",
        get(get_protection).put(update_protection),
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(rename = "ProtectionEnabled")]
    protection_enabled: Option<bool>,
    #[serde(rename = "ExpiresInMinutes")]
    expires_in_minutes: Option<i64>,
}

/// ECS's `ProtectedTask`, in the SDK's field order.
#[derive(Debug, Serialize)]
struct ProtectedTask {
    #[serde(rename = "ExpirationDate", serialize_with = "wire::time")]
    expiration_date: Option<Time>,
    #[serde(rename = "ProtectionEnabled")]
    protection_enabled: bool,
    #[serde(rename = "TaskArn")]
    task_arn: String,
}

#[derive(Debug, Serialize)]
struct ErrorResponse {
    #[serde(rename = "Arn", skip_serializing_if = "String::is_empty")]
    arn: String,
    #[serde(rename = "Code")]
    code: &'static str,
    #[serde(rename = "Message")]
    message: String,
}

/// The agent's `TaskProtectionResponse`.
#[derive(Debug, Serialize)]
struct Body {
    #[serde(skip_serializing_if = "Option::is_none")]
    protection: Option<ProtectedTask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorResponse>,
}

fn error(status: StatusCode, arn: &str, code: &'static str, message: &str) -> Response {
    json(
        status,
        &Body {
            protection: None,
            error: Some(ErrorResponse {
                arn: arn.to_owned(),
                code,
                message: message.to_owned(),
            }),
        },
    )
}

fn protected(task: &TaskEntry, now: Time) -> Response {
    let (enabled, expires) = match task.protection {
        Some(Protection {
            enabled: true,
            expires,
        }) if expires.is_none_or(|e| e > now) => (true, expires),
        _ => (false, None),
    };
    json(
        StatusCode::OK,
        &Body {
            protection: Some(ProtectedTask {
                expiration_date: expires,
                protection_enabled: enabled,
                task_arn: task.registration.task_arn.clone(),
            }),
            error: None,
        },
    )
}

/// The task of an endpoint id that may use the API, or the agent's error.
fn allowed<'a>(
    registry: &'a crate::agent::state::Registry,
    id: &str,
) -> Result<&'a TaskEntry, Response> {
    let Some((task, _)) = registry.endpoint(id) else {
        return Err(error(
            StatusCode::NOT_FOUND,
            "",
            "ResourceNotFoundException",
            "Failed to find a task for the request",
        ));
    };
    Ok(task)
}

fn has_credentials(registry: &crate::agent::state::Registry, task: &TaskEntry) -> bool {
    task.registration
        .credentials_id
        .as_ref()
        .and_then(|id| registry.credentials.get(id))
        .is_some_and(|slot| slot.credentials.is_some())
}

fn no_credentials(task: &TaskEntry) -> Response {
    error(
        StatusCode::FORBIDDEN,
        &task.registration.task_arn,
        "AccessDeniedException",
        "Invalid Request: no task IAM role credentials available for task",
    )
}

async fn get_protection(State(agent): State<Agent>, Path(id): Path<String>) -> Response {
    let registry = agent.state.read();
    let task = match allowed(&registry, &id) {
        Ok(task) => task,
        Err(response) => return response,
    };
    if !has_credentials(&registry, task) {
        return no_credentials(task);
    }
    protected(task, (agent.clock)())
}

async fn update_protection(
    State(agent): State<Agent>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(request) = serde_json::from_slice::<Request>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "",
            "InvalidParameterException",
            "UpdateTaskProtection: failed to decode request",
        );
    };
    let now = (agent.clock)();
    let (task_id, protection) = {
        let registry = agent.state.read();
        let task = match allowed(&registry, &id) {
            Ok(task) => task,
            Err(response) => return response,
        };
        let arn = task.registration.task_arn.clone();
        let Some(enabled) = request.protection_enabled else {
            return error(
                StatusCode::BAD_REQUEST,
                &arn,
                "InvalidParameterException",
                "Invalid request: does not contain 'ProtectionEnabled' field",
            );
        };
        if !has_credentials(&registry, task) {
            return no_credentials(task);
        }
        let minutes = request.expires_in_minutes.unwrap_or(DEFAULT_MINUTES);
        if enabled && !(1..=MAX_MINUTES).contains(&minutes) {
            // What ECS's UpdateTaskProtection answers, passed on by the agent.
            return error(
                StatusCode::BAD_REQUEST,
                &arn,
                "InvalidParameterException",
                &format!("expiresInMinutes must be between 1 and {MAX_MINUTES}, got {minutes}"),
            );
        }
        let expires = enabled.then(|| {
            let at = now + Duration::minutes(minutes);
            // ECS keeps milliseconds.
            at.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(at)
        });
        let protection = Protection { enabled, expires };
        (task.id().to_owned(), protection)
    };
    agent.state.protect(&task_id, protection);
    let registry = agent.state.read();
    match registry.tasks.get(&task_id) {
        Some(task) => protected(task, now),
        None => error(
            StatusCode::NOT_FOUND,
            "",
            "ResourceNotFoundException",
            "Failed to find a task for the request",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    /// The agent's bodies for failures of its ECS call, which a local
    /// agent never makes; the shape is the same one the local errors use.
    #[tokio::test]
    async fn the_agents_ecs_call_errors_have_the_same_bytes() {
        let cases = [
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "taskARN",
                "ServerException",
                "Unexpected error occurred",
                "agent-test-taskprotection-multiple-failures-500.json",
            ),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "",
                "ServerException",
                "Failed to find a task for the request",
                "agent-test-taskprotection-task-metadata-error-500.json",
            ),
            (
                StatusCode::GATEWAY_TIMEOUT,
                "taskARN",
                "RequestCanceled",
                "Timed out calling ECS Task Protection API",
                "agent-test-taskprotection-timeout-504.json",
            ),
        ];
        for (status, arn, code, message, fixture) in cases {
            let response = error(status, arn, code, message);
            assert_eq!(response.status(), status);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(
                String::from_utf8_lossy(&body),
                crate::agent::tests::endpoint_fixture(fixture),
                "{fixture}"
            );
        }
    }
}
