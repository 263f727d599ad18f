//! The Docker engine behind a narrow interface: images, networks, volumes,
//! containers, logs and events. Nothing here knows about ECS or AWS; the
//! runner speaks in these terms and this module speaks bollard.

use std::collections::HashMap;
use std::pin::Pin;

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, NetworkCreateRequest, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, DownloadFromContainerOptionsBuilder,
    EventsOptionsBuilder, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
    ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder, RemoveVolumeOptionsBuilder,
    StopContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

pub use bollard::auth::DockerCredentials;

/// What went wrong talking to the engine, with the object it was about.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("cannot reach the Docker engine; is it running? (DOCKER_HOST or /var/run/docker.sock)")]
    Unreachable(#[source] bollard::errors::Error),
    #[error("image `{image}` is not on this machine and could not be pulled: {message}")]
    Pull { image: String, message: String },
    #[error("image `{image}` is not on this machine (and `--pull never` forbids pulling it)")]
    ImageMissing { image: String },
    #[error("a file archive from the engine is unreadable: {0}")]
    Archive(String),
    #[error("{what}")]
    Api {
        what: String,
        #[source]
        source: bollard::errors::Error,
    },
}

impl DockerError {
    fn api(what: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> DockerError {
        let what = what.into();
        move |source| DockerError::Api { what, source }
    }

    /// Docker answered 404 for the object.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, DockerError::Api { source, .. } if status_of(source) == Some(404))
    }

    /// Docker answered 409: the object exists or is in use.
    #[must_use]
    pub fn is_conflict(&self) -> bool {
        matches!(self, DockerError::Api { source, .. } if status_of(source) == Some(409))
    }
}

fn status_of(error: &bollard::errors::Error) -> Option<u16> {
    match error {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// One step of an image pull, aggregated per layer by the caller.
#[derive(Debug, Clone)]
pub struct PullProgress {
    pub layer: Option<String>,
    pub status: String,
    pub current: Option<i64>,
    pub total: Option<i64>,
}

/// What the runner needs of a container's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerState {
    pub id: String,
    pub running: bool,
    pub exit_code: Option<i64>,
    /// `starting`, `healthy`, `unhealthy`, or `None` without a health check.
    pub health: Option<String>,
    pub ip_address: Option<String>,
    pub oom_killed: bool,
    pub error: Option<String>,
}

/// A container event of interest to supervision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerEvent {
    Start { id: String },
    Die { id: String, exit_code: i64 },
    Health { id: String, status: String },
    Oom { id: String },
}

/// A line (or chunk) a container wrote.
#[derive(Debug, Clone)]
pub struct LogChunk {
    pub stderr: bool,
    pub bytes: Bytes,
}

/// A container found by label.
#[derive(Debug, Clone)]
pub struct ContainerSummary {
    pub id: String,
    pub name: String,
    pub state: String,
    /// Docker's status line: `Up 3 minutes (healthy)`, `Exited (0) 2 seconds ago`.
    pub status: String,
    pub labels: HashMap<String, String>,
    /// Published ports: `0.0.0.0:8080->80/tcp`.
    pub ports: Vec<String>,
}

/// A volume found by label.
#[derive(Debug, Clone)]
pub struct VolumeSummary {
    pub name: String,
    pub labels: HashMap<String, String>,
}

pub type EventStream = Pin<Box<dyn Stream<Item = Result<ContainerEvent, DockerError>> + Send>>;
/// `(action, container id)` pairs.
pub type ActivityStream = Pin<Box<dyn Stream<Item = Result<(String, String), DockerError>> + Send>>;
pub type LogStream = Pin<Box<dyn Stream<Item = Result<LogChunk, DockerError>> + Send>>;

/// A connection to the Docker engine.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
}

impl Engine {
    /// Connects as the Docker CLI would (`DOCKER_HOST`, else the local socket)
    /// and checks that the engine answers.
    pub async fn connect() -> Result<Engine, DockerError> {
        let docker = Docker::connect_with_defaults().map_err(DockerError::Unreachable)?;
        docker.ping().await.map_err(DockerError::Unreachable)?;
        Ok(Engine { docker })
    }

    /// The bollard client, for what this interface does not cover.
    #[must_use]
    pub fn bollard(&self) -> &Docker {
        &self.docker
    }

    /// The CPU architecture of the engine, as Docker names it (`x86_64`).
    pub async fn architecture(&self) -> Result<String, DockerError> {
        let info = self
            .docker
            .info()
            .await
            .map_err(DockerError::api("cannot read the engine's info"))?;
        Ok(info.architecture.unwrap_or_default())
    }

    pub async fn image_exists(&self, image: &str) -> Result<bool, DockerError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) if status_of(&e) == Some(404) => Ok(false),
            Err(e) => Err(DockerError::api(format!("cannot inspect image `{image}`"))(
                e,
            )),
        }
    }

    /// Pulls `image`, reporting each progress message.
    pub async fn pull(
        &self,
        image: &str,
        platform: Option<&str>,
        credentials: Option<DockerCredentials>,
        mut progress: impl FnMut(PullProgress) + Send,
    ) -> Result<(), DockerError> {
        let mut options = CreateImageOptionsBuilder::default().from_image(image);
        if let Some(platform) = platform {
            options = options.platform(platform);
        }
        let mut stream = self
            .docker
            .create_image(Some(options.build()), None, credentials);
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| DockerError::Pull {
                image: image.to_owned(),
                message: pull_message(&e),
            })?;
            let detail = info.progress_detail.unwrap_or_default();
            progress(PullProgress {
                layer: info.id,
                status: info.status.unwrap_or_default(),
                current: detail.current,
                total: detail.total,
            });
        }
        Ok(())
    }

    /// Imports a root file system tarball as `repo:tag` (Docker's image
    /// import API), applying Dockerfile `changes` such as `ENTRYPOINT`.
    pub async fn import_rootfs(
        &self,
        tar: Bytes,
        repo: &str,
        tag: &str,
        changes: &[String],
    ) -> Result<(), DockerError> {
        let options = CreateImageOptionsBuilder::default()
            .from_src("-")
            .repo(repo)
            .tag(tag)
            .changes(changes.to_vec())
            .build();
        let mut stream =
            self.docker
                .create_image(Some(options), Some(bollard::body_full(tar)), None);
        while let Some(item) = stream.next().await {
            item.map_err(DockerError::api(format!(
                "cannot import image `{repo}:{tag}`"
            )))?;
        }
        Ok(())
    }

    pub async fn remove_image(&self, image: &str) -> Result<(), DockerError> {
        let options = RemoveImageOptionsBuilder::default().force(true).build();
        let result = self
            .docker
            .remove_image(image, Some(options), None)
            .await
            .map(drop);
        tolerate(result, &[404], || format!("cannot remove image `{image}`"))
    }

    /// The subnets of a network, or `None` when it does not exist.
    pub async fn network_subnets(&self, name: &str) -> Result<Option<Vec<String>>, DockerError> {
        let options = ListNetworksOptionsBuilder::default()
            .filters(&HashMap::from([("name", vec![name])]))
            .build();
        let networks = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(DockerError::api("cannot list networks"))?;
        Ok(networks
            .into_iter()
            .find(|n| n.name.as_deref() == Some(name))
            .map(|n| {
                n.ipam
                    .and_then(|i| i.config)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|c| c.subnet)
                    .collect()
            }))
    }

    pub async fn create_network(&self, request: &NetworkCreateRequest) -> Result<(), DockerError> {
        self.docker
            .create_network(request.clone())
            .await
            .map(drop)
            .map_err(DockerError::api(format!(
                "cannot create network `{}`",
                request.name
            )))
    }

    pub async fn remove_network(&self, name: &str) -> Result<(), DockerError> {
        let result = self.docker.remove_network(name).await;
        tolerate(result, &[404], || format!("cannot remove network `{name}`"))
    }

    pub async fn volume_exists(&self, name: &str) -> Result<bool, DockerError> {
        match self.docker.inspect_volume(name).await {
            Ok(_) => Ok(true),
            Err(e) if status_of(&e) == Some(404) => Ok(false),
            Err(e) => Err(DockerError::api(format!("cannot inspect volume `{name}`"))(
                e,
            )),
        }
    }

    pub async fn create_volume(&self, request: VolumeCreateRequest) -> Result<(), DockerError> {
        let name = request.name.clone().unwrap_or_default();
        self.docker
            .create_volume(request)
            .await
            .map(drop)
            .map_err(DockerError::api(format!("cannot create volume `{name}`")))
    }

    pub async fn remove_volume(&self, name: &str) -> Result<(), DockerError> {
        let options = RemoveVolumeOptionsBuilder::default().force(true).build();
        let result = self.docker.remove_volume(name, Some(options)).await;
        tolerate(result, &[404], || format!("cannot remove volume `{name}`"))
    }

    /// Volumes carrying all of `labels` (`key=value`), with their labels.
    pub async fn volumes_labelled(
        &self,
        labels: &[String],
    ) -> Result<Vec<VolumeSummary>, DockerError> {
        let options = ListVolumesOptionsBuilder::default()
            .filters(&label_filter(labels))
            .build();
        let list = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(DockerError::api("cannot list volumes"))?;
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| VolumeSummary {
                name: v.name,
                labels: v.labels,
            })
            .collect())
    }

    /// Creates a container and returns its id.
    pub async fn create_container(
        &self,
        name: &str,
        body: ContainerCreateBody,
        platform: Option<&str>,
    ) -> Result<String, DockerError> {
        let mut options = CreateContainerOptionsBuilder::default().name(name);
        if let Some(platform) = platform {
            options = options.platform(platform);
        }
        self.docker
            .create_container(Some(options.build()), body)
            .await
            .map(|r| r.id)
            .map_err(DockerError::api(format!(
                "cannot create container `{name}`"
            )))
    }

    /// Starts a container; one that already runs is not an error (304).
    pub async fn start_container(&self, id: &str) -> Result<(), DockerError> {
        let result = self.docker.start_container(id, None).await;
        tolerate(result, &[304], || format!("cannot start container `{id}`"))
    }

    /// Sends SIGTERM, then SIGKILL after `timeout_secs`, as `docker stop` does.
    pub async fn stop_container(&self, id: &str, timeout_secs: i64) -> Result<(), DockerError> {
        let options = StopContainerOptionsBuilder::default()
            .t(i32::try_from(timeout_secs).unwrap_or(i32::MAX))
            .build();
        let result = self.docker.stop_container(id, Some(options)).await;
        tolerate(result, &[304, 404], || {
            format!("cannot stop container `{id}`")
        })
    }

    pub async fn kill_container(&self, id: &str) -> Result<(), DockerError> {
        let options = KillContainerOptionsBuilder::default()
            .signal("SIGKILL")
            .build();
        let result = self.docker.kill_container(id, Some(options)).await;
        tolerate(result, &[404, 409], || {
            format!("cannot kill container `{id}`")
        })
    }

    /// Removes a container, running or not, with its anonymous volumes.
    pub async fn remove_container(&self, id: &str) -> Result<(), DockerError> {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        let result = self.docker.remove_container(id, Some(options)).await;
        tolerate(result, &[404], || format!("cannot remove container `{id}`"))
    }

    pub async fn inspect_container(&self, id: &str) -> Result<ContainerState, DockerError> {
        let c = self.inspect_raw(id).await?;
        let state = c.state.unwrap_or_default();
        let ip_address = c
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|nets| {
                nets.into_values()
                    .find_map(|e| e.ip_address.filter(|ip| !ip.is_empty()))
            });
        Ok(ContainerState {
            id: c.id.unwrap_or_default(),
            running: state.running.unwrap_or(false),
            exit_code: state.exit_code,
            health: state.health.and_then(|h| h.status).map(|s| s.to_string()),
            ip_address,
            oom_killed: state.oom_killed.unwrap_or(false),
            error: state.error.filter(|e| !e.is_empty()),
        })
    }

    /// The whole inspect document of a container.
    pub async fn inspect_raw(&self, id: &str) -> Result<ContainerInspectResponse, DockerError> {
        self.docker
            .inspect_container(id, None)
            .await
            .map_err(DockerError::api(format!("cannot inspect container `{id}`")))
    }

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

    /// Writes one file into a container (before it starts, for instance).
    pub async fn put_file(
        &self,
        id: &str,
        path: &str,
        contents: &[u8],
        mode: u32,
    ) -> Result<(), DockerError> {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(mode);
        header.set_entry_type(tar::EntryType::Regular);
        let relative = path.trim_start_matches('/');
        let archive = tar
            .append_data(&mut header, relative, contents)
            .and_then(|()| tar.into_inner())
            .map_err(|e| DockerError::Archive(e.to_string()))?;
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        self.docker
            .upload_to_container(id, Some(options), bollard::body_full(Bytes::from(archive)))
            .await
            .map_err(DockerError::api(format!(
                "cannot write {path} into container `{id}`"
            )))
    }

    /// Reads one file out of a container.
    pub async fn get_file(&self, id: &str, path: &str) -> Result<Vec<u8>, DockerError> {
        let options = DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let mut archive = Vec::new();
        let mut stream = self.docker.download_from_container(id, Some(options));
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(DockerError::api(format!(
                "cannot read {path} from container `{id}`"
            )))?;
            archive.extend_from_slice(&chunk);
        }
        let mut tar = tar::Archive::new(archive.as_slice());
        let entries = tar
            .entries()
            .map_err(|e| DockerError::Archive(e.to_string()))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| DockerError::Archive(e.to_string()))?;
            if entry.header().entry_type().is_file() {
                let mut contents = Vec::new();
                std::io::Read::read_to_end(&mut entry, &mut contents)
                    .map_err(|e| DockerError::Archive(e.to_string()))?;
                return Ok(contents);
            }
        }
        Err(DockerError::Archive(format!("{path} is not a file")))
    }

    /// Containers (running or not) carrying all of `labels` (`key=value`).
    pub async fn containers_labelled(
        &self,
        labels: &[String],
    ) -> Result<Vec<ContainerSummary>, DockerError> {
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&label_filter(labels))
            .build();
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(DockerError::api("cannot list containers"))?;
        Ok(list
            .into_iter()
            .map(|c| ContainerSummary {
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .map(|n| n.trim_start_matches('/').to_owned())
                    .unwrap_or_default(),
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                status: c.status.unwrap_or_default(),
                labels: c.labels.unwrap_or_default(),
                ports: c
                    .ports
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| {
                        let protocol = p.typ.map_or_else(|| "tcp".to_owned(), |t| t.to_string());
                        Some(format!(
                            "{}:{}->{}/{protocol}",
                            p.ip.unwrap_or_default(),
                            p.public_port?,
                            p.private_port
                        ))
                    })
                    .collect(),
            })
            .collect())
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

    /// What a container writes from its start (or from `since`, in Unix
    /// seconds), followed live until it stops.
    #[must_use]
    pub fn follow_logs(&self, id: &str, since: Option<u64>) -> LogStream {
        self.logs(id, true, since)
    }

    /// What a container wrote, and with `follow` what it writes until it stops.
    #[must_use]
    pub fn logs(&self, id: &str, follow: bool, since: Option<u64>) -> LogStream {
        let mut options = LogsOptionsBuilder::default()
            .follow(follow)
            .stdout(true)
            .stderr(true);
        if let Some(since) = since {
            options = options.since(i32::try_from(since).unwrap_or(i32::MAX));
        }
        let options = options.build();
        let what = format!("cannot read the logs of `{id}`");
        self.docker
            .logs(id, Some(options))
            .map(move |item| {
                use bollard::container::LogOutput;
                match item {
                    Ok(LogOutput::StdErr { message }) => Ok(LogChunk {
                        stderr: true,
                        bytes: message,
                    }),
                    Ok(
                        LogOutput::StdOut { message }
                        | LogOutput::Console { message }
                        | LogOutput::StdIn { message },
                    ) => Ok(LogChunk {
                        stderr: false,
                        bytes: message,
                    }),
                    Err(e) => Err(DockerError::api(what.clone())(e)),
                }
            })
            .boxed()
    }
}

impl Engine {
    /// Runs `command` in a running container, as `docker exec` does, and
    /// returns its exit code and its output (stdout and stderr together).
    pub async fn exec(&self, id: &str, command: &[String]) -> Result<(i64, String), DockerError> {
        use bollard::exec::{CreateExecOptions, StartExecResults};
        let what = || format!("cannot run `{}` in `{id}`", command.join(" "));
        let created = self
            .docker
            .create_exec(
                id,
                CreateExecOptions {
                    cmd: Some(command.to_vec()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(DockerError::api(what()))?;
        let mut text = Vec::new();
        if let StartExecResults::Attached { mut output, .. } = self
            .docker
            .start_exec(&created.id, None)
            .await
            .map_err(DockerError::api(what()))?
        {
            while let Some(chunk) = output.next().await {
                let chunk = chunk.map_err(DockerError::api(what()))?;
                text.extend_from_slice(&chunk.into_bytes());
            }
        }
        let inspected = self
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(DockerError::api(what()))?;
        Ok((
            inspected.exit_code.unwrap_or(-1),
            String::from_utf8_lossy(&text).into_owned(),
        ))
    }
}

/// `label=key=value` filters for list and event calls.
fn label_filter(labels: &[String]) -> HashMap<&'static str, Vec<&str>> {
    HashMap::from([("label", labels.iter().map(String::as_str).collect())])
}

/// Treats the given HTTP statuses as success: removing what is gone (404),
/// starting or stopping what already is (304), killing what is not running (409).
fn tolerate(
    result: Result<(), bollard::errors::Error>,
    statuses: &[u16],
    what: impl FnOnce() -> String,
) -> Result<(), DockerError> {
    match result {
        Err(e) if !status_of(&e).is_some_and(|s| statuses.contains(&s)) => {
            Err(DockerError::api(what())(e))
        }
        _ => Ok(()),
    }
}

/// Docker's pull errors are long; keep the part a person acts on.
fn pull_message(error: &bollard::errors::Error) -> String {
    match error {
        bollard::errors::Error::DockerStreamError { error } => error.clone(),
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}
