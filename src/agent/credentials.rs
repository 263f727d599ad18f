//! The credentials endpoints: the agent's `/v1/credentials?id=` and
//! `/v2/credentials/<id>`, with its error bodies, and the seed project's
//! aliases `/creds`, `/role/<name>` and `/role-arn/<arn>`.
//!
//! Knowing the credentials id is the authorization, as in ECS; a wrong id,
//! or a host-mode caller without its task's authorization token, gets the
//! same `InvalidIdInRequest`, so nothing can be learnt by probing.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::any;
use serde::Serialize;

use crate::agent::state::CredentialSlot;
use crate::agent::{Agent, json};
use crate::protocol::Credentials;

pub fn routes() -> Router<Agent> {
    Router::new()
        .route("/v1/credentials", any(v1))
        .route("/v2/credentials/", any(v2_without_id))
        .route("/v2/credentials/{*id}", any(v2))
        .route("/creds", any(caller_credentials))
        .route("/role/{name}", any(by_role_name))
        .route("/role-arn/{*arn}", any(by_role_arn))
}

/// The agent's credentials error (`handlersutils.ErrorMessage`).
#[derive(Debug, Serialize)]
struct ErrorMessage {
    code: &'static str,
    message: String,
    #[serde(rename = "HTTPErrorCode")]
    http_error_code: u16,
}

fn failure(status: StatusCode, code: &'static str, prefix: &str, reason: &str) -> Response {
    json(
        status,
        &ErrorMessage {
            code,
            message: format!("{prefix}{reason}"),
            http_error_code: status.as_u16(),
        },
    )
}

fn no_id(prefix: &str) -> Response {
    failure(
        StatusCode::BAD_REQUEST,
        "NoIdInRequest",
        prefix,
        "No Credential ID in the request",
    )
}

fn not_found(prefix: &str) -> Response {
    failure(
        StatusCode::BAD_REQUEST,
        "InvalidIdInRequest",
        prefix,
        "Credentials not found",
    )
}

fn uninitialized(prefix: &str) -> Response {
    failure(
        StatusCode::SERVICE_UNAVAILABLE,
        "CredentialsUninitialized",
        prefix,
        "Credentials uninitialized for ID",
    )
}

fn serve(slot: &CredentialSlot, prefix: &str) -> Response {
    match &slot.credentials {
        Some(credentials) => json(StatusCode::OK, credentials),
        None => uninitialized(prefix),
    }
}

fn lookup(agent: &Agent, id: &str, headers: &HeaderMap, prefix: &str) -> Response {
    if id.is_empty() {
        return no_id(prefix);
    }
    let registry = agent.state.read();
    let Some(slot) = registry.credentials.get(id) else {
        return not_found(prefix);
    };
    if let Some(token) = &slot.authorization_token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if sent != Some(token.as_str()) {
            return not_found(prefix);
        }
    }
    serve(slot, prefix)
}

#[derive(serde::Deserialize)]
struct IdQuery {
    id: Option<String>,
}

async fn v1(
    State(agent): State<Agent>,
    headers: HeaderMap,
    Query(query): Query<IdQuery>,
) -> Response {
    lookup(
        &agent,
        query.id.as_deref().unwrap_or_default(),
        &headers,
        "CredentialsV1Request: ",
    )
}

async fn v2_without_id() -> Response {
    no_id("CredentialsV2Request: ")
}

async fn v2(State(agent): State<Agent>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    lookup(&agent, &id, &headers, "CredentialsV2Request: ")
}

/// The seed's `/creds`: the calling task's role credentials.
async fn caller_credentials(
    State(agent): State<Agent>,
    ConnectInfo(caller): ConnectInfo<SocketAddr>,
) -> Response {
    let registry = agent.state.read();
    let slot = registry
        .task_at(&caller.ip().to_string())
        .and_then(|task| task.registration.credentials_id.as_ref())
        .and_then(|id| registry.credentials.get(id));
    match slot {
        Some(slot) => serve(slot, "CredentialsV2Request: "),
        None => uninitialized("CredentialsV2Request: "),
    }
}

fn by_role(agent: &Agent, matches: impl Fn(&str) -> bool) -> Response {
    let registry = agent.state.read();
    let mut slots: Vec<&CredentialSlot> = registry
        .credentials
        .values()
        .filter(|slot| slot.role_arn.as_deref().is_some_and(&matches))
        .filter(|slot| slot.authorization_token.is_none())
        .collect();
    // The freshest credentials of that role.
    slots.sort_by(|a, b| expiration(b).cmp(&expiration(a)));
    match slots.first() {
        Some(slot) => serve(slot, "CredentialsV2Request: "),
        None => uninitialized("CredentialsV2Request: "),
    }
}

fn expiration(slot: &CredentialSlot) -> Option<&str> {
    slot.credentials
        .as_ref()
        .map(|c: &Credentials| c.expiration.as_str())
}

/// The seed's `/role/<name>`: credentials of a role by its name.
async fn by_role_name(State(agent): State<Agent>, Path(name): Path<String>) -> Response {
    by_role(&agent, |arn| {
        arn.rsplit_once(":role/")
            .is_some_and(|(_, path)| path.rsplit('/').next() == Some(name.as_str()))
    })
}

/// The seed's `/role-arn/<arn>`.
async fn by_role_arn(State(agent): State<Agent>, Path(arn): Path<String>) -> Response {
    by_role(&agent, |candidate| candidate == arn)
}
