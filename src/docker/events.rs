//! Events: the engine's container events, parsed for supervision or passed
//! on as `(action, id)` for the agent's watcher.

use std::collections::HashMap;
use std::pin::Pin;

use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::{Stream, StreamExt};

use super::{DockerError, Engine};

/// A container event of interest to supervision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerEvent {
    /// The container started (again, after a restart).
    Start { id: String },
    /// The container's main process exited with `exit_code` (`-1` when
    /// Docker did not say).
    Die { id: String, exit_code: i64 },
    /// The health check's verdict changed: `starting`, `healthy`, `unhealthy`.
    Health { id: String, status: String },
    /// The kernel killed a process of the container for want of memory.
    Oom { id: String },
}

/// The parsed container events supervision waits on, boxed so that the
/// runner can hold it without naming bollard's stream type.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<ContainerEvent, DockerError>> + Send>>;
/// `(action, container id)` pairs of every container event, for a watcher
/// that re-inspects the container rather than trust the event.
pub type ActivityStream = Pin<Box<dyn Stream<Item = Result<(String, String), DockerError>> + Send>>;

impl Engine {
    /// Docker's container events of the objects carrying `label`, from
    /// `since` (Unix seconds with a fraction) or from the first poll.
    fn raw_container_events(
        &self,
        label: &str,
        since: Option<&str>,
    ) -> impl Stream<Item = Result<bollard::models::EventMessage, bollard::errors::Error>> + use<>
    {
        let mut options = EventsOptionsBuilder::default().filters(&HashMap::from([
            ("type", vec!["container"]),
            ("label", vec![label]),
        ]));
        if let Some(since) = since {
            options = options.since(since);
        }
        self.docker.events(Some(options.build()))
    }

    /// Every container event, as `(action, id)`, of containers carrying
    /// `label` (`key` or `key=value`), from when the stream is first polled.
    #[must_use]
    pub fn container_activity(&self, label: &str) -> ActivityStream {
        self.raw_container_events(label, None)
            .map(|item| {
                let event = item.map_err(DockerError::api("the engine's event stream failed"))?;
                let id = event.actor.and_then(|a| a.id).unwrap_or_default();
                Ok((event.action.unwrap_or_default(), id))
            })
            .boxed()
    }

    /// Container events of the objects carrying `label` (`key=value`), from
    /// the moment of this call on, even though the stream only connects when
    /// first polled (Docker replays what happened `since` then).
    #[must_use]
    pub fn container_events(&self, label: &str) -> EventStream {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let since = format!("{}.{:09}", now.as_secs(), now.subsec_nanos());
        self.raw_container_events(label, Some(&since))
            .filter_map(|item| async move {
                let event = match item {
                    Ok(event) => event,
                    Err(e) => {
                        return Some(Err(DockerError::api("the engine's event stream failed")(e)));
                    }
                };
                let actor = event.actor.unwrap_or_default();
                let id = actor.id.unwrap_or_default();
                let attributes = actor.attributes.unwrap_or_default();
                let action = event.action.unwrap_or_default();
                let parsed = match action.as_str() {
                    "start" => ContainerEvent::Start { id },
                    "die" => ContainerEvent::Die {
                        id,
                        exit_code: attributes
                            .get("exitCode")
                            .and_then(|c| c.parse().ok())
                            .unwrap_or(-1),
                    },
                    "oom" => ContainerEvent::Oom { id },
                    other => {
                        let status = other.strip_prefix("health_status: ")?;
                        ContainerEvent::Health {
                            id,
                            status: status.trim().to_owned(),
                        }
                    }
                };
                Some(Ok(parsed))
            })
            .boxed()
    }
}
