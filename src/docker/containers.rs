//! Containers: creating, starting, stopping, killing, removing, inspecting
//! and listing them by label, copying one file in or out, and their logs.

use std::collections::HashMap;
use std::pin::Pin;

use bollard::models::{ContainerCreateBody, ContainerInspectResponse, ContainerStatsResponse};
use bollard::query_parameters::{
    ContainerArchiveInfoOptionsBuilder, CreateContainerOptionsBuilder,
    DownloadFromContainerOptionsBuilder, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, StatsOptions, StopContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use std::time::Duration;

use super::bounds::{self, Bounds};
use super::{DockerError, Engine, label_filter, tolerate};

/// What the runner needs of a container's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerState {
    /// The container's full id.
    pub id: String,
    /// Whether its main process runs.
    pub running: bool,
    /// The exit code of its last run, once it has exited.
    pub exit_code: Option<i64>,
    /// `starting`, `healthy`, `unhealthy`, or `None` without a health check.
    pub health: Option<String>,
    /// Its address on a network that gave it one (the first found).
    pub ip_address: Option<String>,
    /// Whether the kernel killed it for want of memory.
    pub oom_killed: bool,
    /// Why Docker could not run it (a missing entrypoint, for instance).
    pub error: Option<String>,
}

/// A line (or chunk) a container wrote.
#[derive(Debug, Clone)]
pub struct LogChunk {
    /// Whether it came from stderr rather than stdout.
    pub stderr: bool,
    /// What was written, as written (not necessarily UTF-8 or whole lines).
    pub bytes: Bytes,
}

/// A container found by label.
#[derive(Debug, Clone)]
pub struct ContainerSummary {
    /// The container's full id.
    pub id: String,
    /// Its name, without Docker's leading `/`.
    pub name: String,
    /// Docker's state word: `created`, `running`, `exited`.
    pub state: String,
    /// Docker's status line: `Up 3 minutes (healthy)`, `Exited (0) 2 seconds ago`.
    pub status: String,
    /// Its labels, which say which run, task and container definition it is.
    pub labels: HashMap<String, String>,
    /// Published ports: `0.0.0.0:8080->80/tcp`.
    pub ports: Vec<String>,
}

/// A container's stats samples (see [`Engine::stats`]).
pub type StatsStream =
    Pin<Box<dyn Stream<Item = Result<ContainerStatsResponse, DockerError>> + Send>>;

/// What a container writes, boxed so that callers can hold it without
/// naming bollard's stream type.
pub type LogStream = Pin<Box<dyn Stream<Item = Result<LogChunk, DockerError>> + Send>>;

impl Engine {
    /// Creates a container and returns its id. On Podman a short image name
    /// is the local image's (`localhost/NAME`) when that is where it is, and
    /// a container joining another's network (`container:ID`, awsvpc's
    /// pause) joins its hostname too, as it does on Docker.
    pub async fn create_container(
        &self,
        name: &str,
        mut body: ContainerCreateBody,
        platform: Option<&str>,
    ) -> Result<String, DockerError> {
        if self.podman
            && let Some(image) = &body.image
            && let Some(local) = self.local_reference(image).await?
        {
            body.image = Some(local);
        }
        if self.podman
            && let Some(host) = body.host_config.as_mut()
            && let Some(mode) = host.network_mode.as_deref()
            && mode.starts_with("container:")
            && host.uts_mode.is_none()
        {
            host.uts_mode = Some(mode.to_owned());
        }
        let mut options = CreateContainerOptionsBuilder::default().name(name);
        if let Some(platform) = platform {
            options = options.platform(platform);
        }
        let created = self
            .call(
                "POST /containers/create",
                self.docker.create_container(Some(options.build()), body),
            )
            .await?;
        // Podman looks for its init binary when it creates the container.
        match created.map_err(super::init_missing) {
            Ok(created) => Ok(created.id),
            Err(Ok(missing)) => Err(missing),
            Err(Err(answer)) => Err(DockerError::api(format!(
                "cannot create container `{name}`"
            ))(answer)),
        }
    }

    /// Gives a container another name, freeing its own for a successor.
    pub async fn rename_container(&self, id: &str, name: &str) -> Result<(), DockerError> {
        let options = bollard::query_parameters::RenameContainerOptionsBuilder::default()
            .name(name)
            .build();
        self.call(
            "POST /containers/{id}/rename",
            self.docker.rename_container(id, options),
        )
        .await?
        .map_err(DockerError::api(format!(
            "cannot rename container `{id}` to `{name}`"
        )))
    }

    /// Starts a container; one that already runs is not an error (304).
    pub async fn start_container(&self, id: &str) -> Result<(), DockerError> {
        let result = self
            .call(
                "POST /containers/{id}/start",
                self.docker.start_container(id, None),
            )
            .await?;
        match result.map_err(super::init_missing) {
            Err(Ok(missing)) => Err(missing),
            Err(Err(answer)) => tolerate(Err(answer), &[304], || {
                format!("cannot start container `{id}`")
            }),
            Ok(()) => Ok(()),
        }
    }

    /// Sends SIGTERM, then SIGKILL after `timeout_secs`, as `docker stop` does.
    pub async fn stop_container(&self, id: &str, timeout_secs: i64) -> Result<(), DockerError> {
        let options = StopContainerOptionsBuilder::default()
            .t(i32::try_from(timeout_secs).unwrap_or(i32::MAX))
            .build();
        // Docker answers a stop once the container is down: the grace
        // period comes on top of the bounds.
        let bounds = Bounds::current();
        let grace = Duration::from_secs(timeout_secs.max(0).unsigned_abs());
        let docker = self
            .docker
            .clone()
            .with_timeout(bounds::client_timeout(bounds.answer + grace));
        let result = bounds::bounded(
            "POST /containers/{id}/stop",
            bounds.answer + grace,
            bounds.whole + grace,
            docker.stop_container(id, Some(options)),
        )
        .await?;
        tolerate(result, &[304, 404], || {
            format!("cannot stop container `{id}`")
        })
    }

    /// Sends SIGKILL at once, for a second Ctrl-C that will not wait for a
    /// graceful stop; one gone or not running is not an error.
    pub async fn kill_container(&self, id: &str) -> Result<(), DockerError> {
        let options = KillContainerOptionsBuilder::default()
            .signal("SIGKILL")
            .build();
        let result = self
            .call(
                "POST /containers/{id}/kill",
                self.docker.kill_container(id, Some(options)),
            )
            .await?;
        tolerate(result, &[404, 409], || {
            format!("cannot kill container `{id}`")
        })
    }

    /// Waits for a started container to exit and returns its exit code
    /// (`-1` when the engine did not say).
    pub async fn wait_exit(&self, id: &str) -> Result<i64, DockerError> {
        let mut waits = self
            .docker
            .wait_container(id, None::<bollard::query_parameters::WaitContainerOptions>);
        match waits.next().await {
            Some(Ok(done)) => Ok(done.status_code),
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(Engine::stream_error(
                "POST /containers/{id}/wait",
                format!("cannot wait for container `{id}`"),
            )(e)),
            None => Ok(-1),
        }
    }

    /// Removes a container, running or not, with its anonymous volumes.
    pub async fn remove_container(&self, id: &str) -> Result<(), DockerError> {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        let result = self
            .call(
                "DELETE /containers/{id}",
                self.docker.remove_container(id, Some(options)),
            )
            .await?;
        tolerate(result, &[404], || format!("cannot remove container `{id}`"))
    }

    /// The part of a container's inspect document the runner acts on (exit
    /// code, health, address), so that it need not walk bollard's model.
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
        self.call(
            "GET /containers/{id}/json",
            self.docker.inspect_container(id, None),
        )
        .await?
        .map_err(DockerError::api(format!("cannot inspect container `{id}`")))
    }

    /// Writes one file into a container (before it starts, for instance),
    /// creating the directories on its path.
    pub async fn put_file(
        &self,
        id: &str,
        path: &str,
        contents: &[u8],
        mode: u32,
    ) -> Result<(), DockerError> {
        self.upload(id, "/", path.trim_start_matches('/'), contents, mode)
            .await
    }

    /// Writes one file into a directory the container has, such as a
    /// volume: that works on a read-only root file system too, where Docker
    /// refuses any write through `/`.
    pub async fn put_file_in(
        &self,
        id: &str,
        path: &str,
        contents: &[u8],
        mode: u32,
    ) -> Result<(), DockerError> {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let dir = if dir.is_empty() { "/" } else { dir };
        self.upload(id, dir, name, contents, mode).await
    }

    async fn upload(
        &self,
        id: &str,
        dir: &str,
        relative: &str,
        contents: &[u8],
        mode: u32,
    ) -> Result<(), DockerError> {
        let path = format!("{}/{relative}", dir.trim_end_matches('/'));
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(mode);
        header.set_entry_type(tar::EntryType::Regular);
        let archive = tar
            .append_data(&mut header, relative, contents)
            .and_then(|()| tar.into_inner())
            .map_err(|e| DockerError::Archive(e.to_string()))?;
        let options = UploadToContainerOptionsBuilder::default().path(dir).build();
        let upload = self.docker.upload_to_container(
            id,
            Some(options),
            bollard::body_full(Bytes::from(archive)),
        );
        self.call("PUT /containers/{id}/archive", upload)
            .await?
            .map_err(DockerError::api(format!(
                "cannot write {path} into container `{id}`"
            )))
    }

    /// Reads one file out of a container.
    pub async fn get_file(&self, id: &str, path: &str) -> Result<Vec<u8>, DockerError> {
        let options = DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let mut stream = self.docker.download_from_container(id, Some(options));
        let download = async {
            let mut archive = Vec::new();
            while let Some(chunk) = stream.next().await {
                archive.extend_from_slice(&chunk?);
            }
            Ok(archive)
        };
        let archive = self
            .call("GET /containers/{id}/archive", download)
            .await?
            .map_err(DockerError::api(format!(
                "cannot read {path} from container `{id}`"
            )))?;
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

    /// Whether a path exists in a container (any kind of file: a socket,
    /// say), from the engine's stat of it (`HEAD …/archive`).
    pub async fn path_exists(&self, id: &str, path: &str) -> Result<bool, DockerError> {
        let options = ContainerArchiveInfoOptionsBuilder::default()
            .path(path)
            .build();
        match self
            .docker
            .get_container_archive_info(id, Some(options))
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if super::status_of(&e) == Some(404) => Ok(false),
            Err(e) => Err(DockerError::api(format!(
                "cannot look for {path} in container `{id}`"
            ))(e)),
        }
    }

    /// A container's address on its networks: `network`'s when it has one
    /// there, else the first it has.
    pub async fn container_address(
        &self,
        id: &str,
        network: &str,
    ) -> Result<Option<String>, DockerError> {
        let inspect = self.inspect_raw(id).await?;
        let networks = inspect
            .network_settings
            .and_then(|n| n.networks)
            .unwrap_or_default();
        let address =
            |n: &bollard::models::EndpointSettings| n.ip_address.clone().filter(|a| !a.is_empty());
        Ok(networks
            .get(network)
            .and_then(address)
            .or_else(|| networks.values().find_map(address)))
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
            .call(
                "GET /containers/json",
                self.docker.list_containers(Some(options)),
            )
            .await?
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

    /// What a container writes from its start (or from `since`, in Unix
    /// seconds), followed live until it stops.
    #[must_use]
    pub fn follow_logs(&self, id: &str, since: Option<u64>) -> LogStream {
        self.logs(id, true, since)
    }

    /// What a container wrote, and with `follow` what it writes until it stops.
    ///
    /// Podman (4.3) sends a followed log's headers with the container's
    /// first line, so a quiet container looks like an engine that does not
    /// answer: when the answer bound runs out before anything came and the
    /// engine still answers that the container runs, the logs are asked
    /// for again (nothing was read, so nothing is repeated or lost).
    #[must_use]
    pub fn logs(&self, id: &str, follow: bool, since: Option<u64>) -> LogStream {
        if !(self.podman && follow) {
            return self.logs_once(id, follow, since);
        }
        let engine = self.clone();
        let id = id.to_owned();
        futures_util::stream::unfold(
            (None::<LogStream>, false),
            move |(mut current, mut answered)| {
                let engine = engine.clone();
                let id = id.clone();
                async move {
                    loop {
                        let stream =
                            current.get_or_insert_with(|| engine.logs_once(&id, true, since));
                        match stream.next().await {
                            None => return None,
                            Some(Err(DockerError::Unanswered { .. }))
                                if !answered
                                    && engine
                                        .inspect_container(&id)
                                        .await
                                        .is_ok_and(|state| state.running) =>
                            {
                                current = None;
                            }
                            Some(item) => {
                                answered = true;
                                return Some((item, (current, answered)));
                            }
                        }
                    }
                }
            },
        )
        .boxed()
    }

    fn logs_once(&self, id: &str, follow: bool, since: Option<u64>) -> LogStream {
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
                    Err(e) => Err(Engine::stream_error(
                        "GET /containers/{id}/logs",
                        what.clone(),
                    )(e)),
                }
            })
            .boxed()
    }

    /// A running container's stats, one sample a second as Docker streams
    /// them, until it stops. Samples carry the container's id and its
    /// interfaces as Docker names them. Podman (4.3) streams one every five
    /// seconds, so there each sample is asked for on its own; it also names
    /// the id `Id` and sums every interface as `network`, which in a task's
    /// namespace is `eth0`.
    #[must_use]
    pub fn stats(&self, id: &str) -> StatsStream {
        let what = format!("cannot read the stats of `{id}`");
        let docker_id = id.to_owned();
        let podman = self.podman;
        let samples = if podman {
            let docker = self.docker.clone();
            let id = id.to_owned();
            futures_util::stream::unfold(true, move |first| {
                let docker = docker.clone();
                let id = id.clone();
                async move {
                    if !first {
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                    let once = StatsOptions {
                        stream: false,
                        one_shot: false,
                    };
                    let sample = docker.stats(&id, Some(once)).next().await?;
                    // A stopped or removed container ends the samples.
                    let more = sample.is_ok();
                    more.then_some((sample, false))
                }
            })
            .boxed()
        } else {
            let stream = StatsOptions {
                stream: true,
                one_shot: false,
            };
            self.docker.stats(id, Some(stream)).boxed()
        };
        samples
            .map(move |item| {
                let mut sample = item.map_err(Engine::stream_error(
                    "GET /containers/{id}/stats",
                    what.clone(),
                ))?;
                if sample.id.as_deref().is_none_or(str::is_empty) {
                    sample.id = Some(docker_id.clone());
                }
                if podman
                    && let Some(networks) = sample.networks.as_mut()
                    && networks.len() == 1
                    && let Some(all) = networks.remove("network")
                {
                    networks.insert("eth0".to_owned(), all);
                }
                Ok(sample)
            })
            .boxed()
    }
}
