//! The credentials endpoints: the agent's `/v1/credentials?id=` and
//! `/v2/credentials/<id>`, with its error bodies, and the seed project's
//! aliases `/creds`, `/role/<name>` and `/role-arn/<arn>`.
//!
//! Knowing the credentials id is the authorization, as in ECS; a wrong id,
//! or a host-mode caller without its task's authorization token, gets the
//! same `InvalidIdInRequest`, so nothing can be learnt by probing. The
//! aliases have no id: they answer a task container with its own task's
//! credentials only, found by its address as v2 finds its caller, and any
//! other role name or ARN (or a caller that is no task's) gets that same
//! `InvalidIdInRequest`.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::any;
use serde::Serialize;

use crate::agent::state::{CredentialSlot, Registry};
use crate::agent::{Agent, access, json};

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

/// The calling task's credentials, found by its address as v2 finds its
/// caller (an awsvpc task by its pause container's). A host-mode task shares
/// the host's address: its credentials go only with its token, by id.
/// A caller the agent cannot bind to a task's container gets nothing
/// ([`access::task_by_address`]).
fn caller_slot<'a>(
    registry: &'a Registry,
    neighbours: access::Neighbours,
    caller: &SocketAddr,
) -> Option<&'a CredentialSlot> {
    let task = match access::task_by_address(registry, neighbours, caller.ip()) {
        Ok(task) => task,
        Err(why) => {
            tracing::debug!(caller = %caller.ip(), ?why, "credentials alias caller not bound to a task");
            return None;
        }
    };
    let slot = registry
        .credentials
        .get(task.registration.credentials_id.as_ref()?)?;
    slot.authorization_token.is_none().then_some(slot)
}

/// The seed's aliases answer with the caller's own credentials when
/// `wanted` accepts its role; anything else is a wrong id.
fn own_role(agent: &Agent, caller: &SocketAddr, wanted: impl Fn(Option<&str>) -> bool) -> Response {
    let registry = agent.state.read();
    match caller_slot(&registry, agent.neighbours, caller) {
        Some(slot) if wanted(slot.role_arn.as_deref()) => serve(slot, "CredentialsV2Request: "),
        _ => not_found("CredentialsV2Request: "),
    }
}

/// The seed's `/creds`: the calling task's role credentials.
async fn caller_credentials(
    State(agent): State<Agent>,
    ConnectInfo(caller): ConnectInfo<SocketAddr>,
) -> Response {
    own_role(&agent, &caller, |_| true)
}

/// The seed's `/role/<name>`: the caller's role, if that is its name.
async fn by_role_name(
    State(agent): State<Agent>,
    ConnectInfo(caller): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
) -> Response {
    own_role(&agent, &caller, |arn| {
        arn.and_then(|arn| arn.rsplit_once(":role/"))
            .is_some_and(|(_, path)| path.rsplit('/').next() == Some(name.as_str()))
    })
}

/// The seed's `/role-arn/<arn>`: the caller's role, if that is its ARN.
async fn by_role_arn(
    State(agent): State<Agent>,
    ConnectInfo(caller): ConnectInfo<SocketAddr>,
    Path(arn): Path<String>,
) -> Response {
    own_role(&agent, &caller, |own| own == Some(arn.as_str()))
}
