//! Events: the engine's container events, parsed for supervision or passed
//! on as `(action, id)` for the agent's watcher.

use std::collections::HashMap;
use std::pin::Pin;

use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::{Stream, StreamExt};

use super::libpod::HealthDriver;
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
    ///
    /// Podman (4.3) matches a label filter only as `key=value`: a bare key
    /// matches nothing. Its events carry the container's labels among their
    /// attributes, so a bare key is matched here instead.
    fn raw_container_events(
        &self,
        label: &str,
        since: Option<&str>,
    ) -> impl Stream<Item = Result<bollard::models::EventMessage, bollard::errors::Error>> + use<>
    {
        let key_here = (self.podman && !label.contains('=')).then(|| label.to_owned());
        let mut filters = HashMap::from([("type", vec!["container"])]);
        if key_here.is_none() {
            filters.insert("label", vec![label]);
        }
        let mut options = EventsOptionsBuilder::default().filters(&filters);
        if let Some(since) = since {
            options = options.since(since);
        }
        self.docker
            .events(Some(options.build()))
            .filter(move |item| {
                let keep = match (&key_here, item) {
                    (Some(key), Ok(event)) => event
                        .actor
                        .as_ref()
                        .and_then(|a| a.attributes.as_ref())
                        .is_some_and(|attributes| attributes.contains_key(key)),
                    _ => true,
                };
                std::future::ready(keep)
            })
    }

    /// Every container event, as `(action, id)`, of containers carrying
    /// `label` (`key` or `key=value`), from when the stream is first polled.
    #[must_use]
    pub fn container_activity(&self, label: &str) -> ActivityStream {
        self.raw_container_events(label, None)
            .map(|item| {
                let event = item.map_err(Engine::stream_error(
                    "GET /events",
                    "the engine's event stream failed".to_owned(),
                ))?;
                let id = event.actor.and_then(|a| a.id).unwrap_or_default();
                Ok((event.action.unwrap_or_default(), id))
            })
            .boxed()
    }

    /// Container events of the objects carrying `label` (`key=value`), from
    /// the moment of this call on, even though the stream only connects when
    /// first polled (Docker replays what happened `since` then).
    ///
    /// On Podman, which runs no health checks without systemd, the stream
    /// also drives each started container's health check and yields its
    /// verdicts as Docker's `health_status` events would (see `libpod`).
    #[must_use]
    pub fn container_events(&self, label: &str) -> EventStream {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let since = format!("{}.{:09}", now.as_secs(), now.subsec_nanos());
        let engine_events = self.parsed_events(label, &since);
        if !self.podman {
            return engine_events;
        }
        let (driver, verdicts) = HealthDriver::new(self.clone());
        let engine_events = engine_events.then(move |event| {
            let driver = driver.clone();
            async move {
                if let Ok(ContainerEvent::Start { id }) = &event {
                    driver.started(id).await;
                }
                event
            }
        });
        let verdicts = futures_util::stream::unfold(verdicts, |mut verdicts| async move {
            let verdict = verdicts.recv().await?;
            Some((Ok(verdict), verdicts))
        });
        futures_util::stream::select(engine_events, verdicts).boxed()
    }

    fn parsed_events(&self, label: &str, since: &str) -> EventStream {
        self.raw_container_events(label, Some(since))
            .filter_map(|item| async move {
                let event = match item {
                    Ok(event) => event,
                    Err(e) => {
                        return Some(Err(Engine::stream_error(
                            "GET /events",
                            "the engine's event stream failed".to_owned(),
                        )(e)));
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
