//! Follows the engine: every event of a task container (create, start, die,
//! health change, restart…) is answered with one inspect, whose result
//! updates the state; a removal marks the container gone. A registration,
//! and every reconnection of the event stream, re-reads the containers that
//! exist, so nothing that happened in between is missed.
//!
//! Events are handled one at a time, so inspects apply in the order Docker
//! reported the changes.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::mpsc;

use crate::agent::state::{Observed, State};
use crate::docker::Engine;
use crate::plan::labels;
use crate::protocol::task_label;
use crate::protocol::wire::Time;

/// Follows the engine until the process ends.
pub async fn run(
    engine: Engine,
    state: Arc<State>,
    mut resyncs: mpsc::UnboundedReceiver<String>,
    clock: fn() -> Time,
) {
    loop {
        let mut events = engine.container_activity(labels::TASK_ARN);
        // Re-read everything once the subscription stands.
        resync(&engine, &state, labels::TASK_ARN, clock).await;
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok((action, id))) => apply(&engine, &state, &action, &id, clock).await,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "the engine's event stream failed; reconnecting");
                        break;
                    }
                    None => break,
                },
                Some(task_arn) = resyncs.recv() => {
                    resync(&engine, &state, &task_label(&task_arn), clock).await;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn apply(engine: &Engine, state: &State, action: &str, id: &str, clock: fn() -> Time) {
    match action {
        "destroy" => state.removed(id),
        "create" | "start" | "restart" | "die" | "stop" | "kill" | "oom" | "pause" | "unpause"
        | "rename" => observe(engine, state, id, clock).await,
        other if other.starts_with("health_status") => observe(engine, state, id, clock).await,
        _ => {}
    }
}

async fn observe(engine: &Engine, state: &State, id: &str, clock: fn() -> Time) {
    match engine.inspect_raw(id).await {
        Ok(inspect) => {
            if let Some(observed) = Observed::from_inspect(&inspect) {
                state.observe(observed, clock());
            }
        }
        Err(e) if e.is_not_found() => state.removed(id),
        Err(e) => tracing::warn!(error = %e, "cannot inspect a task container"),
    }
}

async fn resync(engine: &Engine, state: &State, label: &str, clock: fn() -> Time) {
    match engine.containers_labelled(&[label.to_owned()]).await {
        Ok(found) => {
            for container in found {
                observe(engine, state, &container.id, clock).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot list task containers"),
    }
}
