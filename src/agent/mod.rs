//! The local agent: this same binary, run inside the agent container as the
//! hidden `agent` subcommand, plays the ECS container agent at 169.254.170.2.
//! The pause container runs the same image with the `pause` subcommand.
//!
//! Two listeners share one in-memory [`state::State`]:
//! - the task port (80 at 169.254.170.2): task metadata v2/v3/v4 and stats,
//!   credentials, task protection, what containers call;
//! - the loopback port (published on 127.0.0.1 only): the same routes for
//!   host-mode tasks, plus the introspection API and the CLI's admin API,
//!   all refused to task containers ([`access`]).
//!
//! The [`watch`] task follows the engine's events and keeps each registered
//! container's live state, so that no request waits on Docker, stats aside.

pub mod access;
pub mod admin;
pub mod credentials;
pub mod introspection;
pub mod metadata;
pub mod pause;
pub mod protection;
pub mod state;
pub mod stats;
pub mod tmds;
pub mod watch;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::agent::state::State;
use crate::protocol;
use crate::protocol::wire::Time;

/// What every handler shares.
#[derive(Clone)]
pub struct Agent {
    pub state: Arc<State>,
    /// `None` without an engine (unit tests): stats requests then fail as
    /// the agent's do when it has no stats.
    pub stats: Option<stats::Collectors>,
    /// The admin API's bearer token.
    pub token: Arc<str>,
    pub clock: fn() -> Time,
    /// Task ARNs whose containers the watcher should re-read.
    pub resync: Option<mpsc::UnboundedSender<String>>,
    /// Which link-layer address sent from an IP address ([`access`]).
    pub neighbours: access::Neighbours,
}

impl Agent {
    /// An agent without an engine, on the system clock (unit tests).
    #[cfg(test)]
    #[must_use]
    pub fn detached(token: &str) -> Agent {
        Agent {
            state: Arc::default(),
            stats: None,
            token: token.into(),
            clock: chrono::Utc::now,
            resync: None,
            neighbours: access::kernel_neighbour,
        }
    }
}

/// A compact JSON body, as Go's `json.Marshal` writes it.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "application/json")],
            "{}",
        )
            .into_response(),
    }
}

/// The agent's answer to a route it does not have.
async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "404 page not found\n",
    )
        .into_response()
}

/// What containers reach at 169.254.170.2.
pub fn task_router(agent: Agent) -> Router {
    Router::new()
        .merge(tmds::routes())
        .merge(credentials::routes())
        .merge(protection::routes())
        .fallback(not_found)
        .with_state(agent)
}

/// The loopback port: the task routes, introspection and the admin API,
/// for the host only.
pub fn loopback_router(agent: Agent) -> Router {
    Router::new()
        .merge(tmds::routes())
        .merge(credentials::routes())
        .merge(protection::routes())
        .merge(introspection::routes())
        .merge(admin::routes(agent.clone()))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            agent.clone(),
            access::host_only,
        ))
        .with_state(agent)
}

/// Serves both ports and follows the engine until SIGTERM or SIGINT (the
/// agent is PID 1 of its container).
pub async fn serve(
    listen: SocketAddr,
    loopback: SocketAddr,
    token_file: &str,
) -> anyhow::Result<()> {
    // A compose file's agent serves the task in its environment and takes
    // no registrations: its admin token is random and never leaves it.
    let preload = match std::env::var(crate::protocol::TASK_ENV) {
        Ok(text) => Some(
            serde_json::from_str::<protocol::TaskRegistration>(&text).with_context(|| {
                format!("{} is not a task registration", crate::protocol::TASK_ENV)
            })?,
        ),
        Err(_) => None,
    };
    let token = match std::fs::read_to_string(token_file) {
        Err(_) if preload.is_some() => {
            use rand::Rng as _;
            let bytes: [u8; 32] = rand::rng().random();
            bytes.iter().fold(String::new(), |mut hex, b| {
                use std::fmt::Write as _;
                let _ = write!(hex, "{b:02x}");
                hex
            })
        }
        read => read.with_context(|| format!("cannot read the agent token at {token_file}"))?,
    };
    let token = token.trim();
    anyhow::ensure!(
        !token.is_empty(),
        "the agent token at {token_file} is empty"
    );
    let engine = crate::docker::Engine::connect().await?;
    let (resync, resyncs) = mpsc::unbounded_channel();
    let agent = Agent {
        state: Arc::default(),
        stats: Some(stats::Collectors::new(engine.clone())),
        token: token.into(),
        clock: chrono::Utc::now,
        resync: Some(resync),
        neighbours: access::kernel_neighbour,
    };
    if let Some(task) = preload {
        agent
            .state
            .register(task)
            .map_err(|e| anyhow::anyhow!("cannot serve the task in the environment: {e}"))?;
    }
    tokio::spawn(watch::run(
        engine.clone(),
        Arc::clone(&agent.state),
        resyncs,
        agent.clock,
    ));
    let task_listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let loopback_listener = tokio::net::TcpListener::bind(loopback)
        .await
        .with_context(|| format!("cannot listen on {loopback}"))?;
    tracing::info!(%listen, %loopback, "agent listening");
    let tasks = axum::serve(
        task_listener,
        task_router(agent.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(pause::terminated());
    let local = axum::serve(
        loopback_listener,
        loopback_router(agent).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(pause::terminated());
    let (a, b) = tokio::join!(tasks.into_future(), local.into_future());
    a.and(b).context("the agent's server failed")
}

#[cfg(test)]
mod tests;
