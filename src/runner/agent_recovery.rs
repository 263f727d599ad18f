//! The agent's loss, repaired (docs/ARCHITECTURE.md, "The agent and its
//! protocol"): every live run follows the agent container's events; when it
//! dies or disappears, the run brings it back at 169.254.170.2 (several runs
//! may try at once; `ensure_agent` lets one win and the others wait for it)
//! and registers its task again with the same endpoint and credentials ids
//! and its current credentials, which live in this process's memory only.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures_util::{FutureExt as _, StreamExt as _};

use super::agent_client::AgentClient;
use super::agent_container;
use crate::docker::Engine;
use crate::output::status;
use crate::plan::labels;
use crate::protocol::{Credentials, TaskRegistration};

/// The agent a run talks to; replaced when the agent is brought back (a new
/// agent has a new token).
#[derive(Debug, Clone)]
pub struct SharedAgent(Arc<RwLock<AgentClient>>);

impl SharedAgent {
    #[must_use]
    pub fn new(client: AgentClient) -> SharedAgent {
        SharedAgent(Arc::new(RwLock::new(client)))
    }

    /// The current client (cheap: it shares its connection pool).
    #[must_use]
    pub fn get(&self) -> AgentClient {
        match self.0.read() {
            Ok(client) => client.clone(),
            Err(e) => (*e.into_inner()).clone(),
        }
    }

    fn replace(&self, client: AgentClient) {
        match self.0.write() {
            Ok(mut current) => *current = client,
            Err(e) => *e.into_inner() = client,
        }
    }
}

/// The credentials the agent serves the task now: the first ones, then
/// each refresh; what a new agent is given.
#[derive(Debug, Clone, Default)]
pub struct CurrentCredentials(Arc<Mutex<Option<Credentials>>>);

impl CurrentCredentials {
    #[must_use]
    pub fn new(task: Option<&super::TaskCredentials>) -> CurrentCredentials {
        CurrentCredentials(Arc::new(Mutex::new(
            task.map(|t| t.first.credentials.clone()),
        )))
    }

    pub fn set(&self, credentials: &Credentials) {
        match self.0.lock() {
            Ok(mut current) => *current = Some(credentials.clone()),
            Err(e) => *e.into_inner() = Some(credentials.clone()),
        }
    }

    fn get(&self) -> Option<Credentials> {
        match self.0.lock() {
            Ok(current) => current.clone(),
            Err(e) => (*e.into_inner()).clone(),
        }
    }
}

/// What a run needs to bring the agent back and be known to it again.
#[derive(Debug, Clone)]
pub struct Recovery {
    pub image: String,
    pub port: u16,
    pub agent: SharedAgent,
    pub registration: TaskRegistration,
    pub credentials_id: Option<String>,
    pub current: CurrentCredentials,
}

/// Follows the agent container's events until the run aborts it; after a
/// `die` or `destroy`, brings the agent back and registers the task again.
pub async fn watch(engine: Engine, recovery: Recovery) {
    let label = format!("{}=agent", labels::ROLE);
    loop {
        let mut activity = engine.container_activity(&label);
        while let Some(event) = activity.next().await {
            let Ok((action, _)) = event else { break };
            if action != "die" && action != "destroy" {
                continue;
            }
            // `docker rm -f` is a die and a destroy: settle, then act once.
            tokio::time::sleep(Duration::from_millis(300)).await;
            while let Some(Some(_)) = activity.next().now_or_never() {}
            recover(&engine, &recovery).await;
        }
        // The engine closed the stream (it restarted, say): follow again.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Brings the agent back (or finds the one another run brought back) and
/// registers the task with it, retrying until it works or the run ends.
async fn recover(engine: &Engine, recovery: &Recovery) {
    let task_id = crate::protocol::task_id(&recovery.registration.task_arn).to_owned();
    loop {
        match reregister(engine, recovery).await {
            Ok(()) => {
                status(&format!(
                    "the agent was restarted; task `{task_id}` is registered with it again"
                ));
                return;
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "cannot bring the agent back yet");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn reregister(engine: &Engine, recovery: &Recovery) -> anyhow::Result<()> {
    let client = agent_container::ensure_agent(engine, &recovery.image, recovery.port).await?;
    client.register(&recovery.registration).await?;
    if let (Some(id), Some(credentials)) = (&recovery.credentials_id, recovery.current.get()) {
        client.push_credentials(id, &credentials).await?;
    }
    recovery.agent.replace(client);
    Ok(())
}
