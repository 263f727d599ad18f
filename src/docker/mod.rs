//! The Docker engine behind a narrow interface: images, networks, volumes,
//! containers, logs and events. Nothing here knows about ECS or AWS; the
//! runner speaks in these terms and this module speaks bollard.
//!
//! This file holds the connection ([`Engine`]) and the error type; the
//! methods of [`Engine`] live with their Docker API area, one file each, as
//! bollard arranges them: `containers` (with logs and file copies), `images`,
//! `networks`, `volumes`, `events` and `exec`.

use std::collections::HashMap;

use bollard::Docker;

pub mod bounds;
mod build;
mod containers;
mod events;
mod exec;
mod images;
mod libpod;
mod networks;
mod volumes;

pub use bounds::Bounds;
pub use build::BuildRequest;
pub use containers::ContainerSummary;
pub use events::{ContainerEvent, EventStream};
pub use exec::ExecTerminal;
pub use images::{DockerCredentials, PullProgress};

/// What went wrong talking to the engine, with the object it was about.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The engine did not answer when connecting: no daemon, a wrong
    /// `DOCKER_HOST`, or no permission on the socket.
    #[error("cannot reach the Docker engine at {host} ({origin}): {cause}; is it running?")]
    Unreachable {
        host: String,
        origin: &'static str,
        /// The innermost reason (`Connection refused (os error 111)`).
        cause: String,
    },
    /// The engine did not answer a request within its bound (see
    /// [`bounds`]): a wedged daemon, or a proxy whose backend is gone.
    #[error("the Docker engine at {host} ({origin}) did not answer within {bound} ({request})")]
    Unanswered {
        host: String,
        origin: &'static str,
        /// The bound that ran out, as a person reads it (`30 s`).
        bound: String,
        /// What was asked: `GET /version`.
        request: String,
    },
    /// The engine's address did not take a connection within the connect
    /// bound: its backlog full, or packets to it dropped.
    #[error("the Docker engine at {host} ({origin}) did not accept a connection within {bound}")]
    NoConnection {
        host: String,
        origin: &'static str,
        bound: String,
    },
    /// Something answered where the engine should be, but not as a Docker
    /// or Podman engine (a web server, a proxy, another service's port).
    #[error("{host} ({origin}) answered, but not as a Docker or Podman engine: {answer}")]
    NotAnEngine {
        host: String,
        origin: &'static str,
        answer: String,
    },
    /// The engine has no init binary for a container with
    /// `initProcessEnabled` (Docker's `--init`): Podman runs Debian's
    /// `catatonit`, a package of its own, which it answers with a bare 500.
    #[error(
        "Podman has no init binary for `initProcessEnabled` ({cause}); install it: apt-get install catatonit"
    )]
    InitMissing {
        /// What the engine could not find (`stat /usr/libexec/podman/catatonit: …`).
        cause: String,
    },
    /// Pulling an image failed (unknown image, denied, registry down), with
    /// Docker's message shortened to what a person acts on.
    #[error("image `{image}` is not on this machine and could not be pulled: {message}")]
    Pull { image: String, message: String },
    /// The engine refuses the image's name (Docker's 400 `invalid reference
    /// format`).
    #[error("the engine refuses the image name `{image}`: {message}")]
    ImageName { image: String, message: String },
    /// Building an image failed: the step the builder was at (`2/4 : RUN
    /// make`) and the builder's message.
    #[error("{}{message}", step.as_ref().map(|s| format!("step {s}: ")).unwrap_or_default())]
    Build {
        image: String,
        step: Option<String>,
        message: String,
    },
    /// An image is missing locally and the pull policy forbids pulling it.
    #[error("image `{image}` is not on this machine (and `--pull never` forbids pulling it)")]
    ImageMissing { image: String },
    /// A tar archive copied into or out of a container could not be built
    /// or read, or did not hold the expected file.
    #[error("a file archive from the engine is unreadable: {0}")]
    Archive(String),
    /// Any other engine call failed; `what` says which call and object, the
    /// source carries Docker's status (see [`DockerError::is_not_found`]).
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

    /// Docker answered 409: the object exists or is in use. Podman answers
    /// a name taken by another container with a 500 that says so.
    #[must_use]
    pub fn is_conflict(&self) -> bool {
        let DockerError::Api { source, .. } = self else {
            return false;
        };
        match source {
            bollard::errors::Error::DockerResponseServerError {
                status_code: 500,
                message,
            } => message.contains("is already in use"),
            other => status_of(other) == Some(409),
        }
    }
}

fn status_of(error: &bollard::errors::Error) -> Option<u16> {
    match error {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// A connection to the Docker engine. Cheap to clone (the clones share
/// bollard's client), so every task and the agent's watcher hold their own.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    /// Podman's Docker-compatible API, whose quirks this module absorbs:
    /// short image names it looks up on Docker Hub only, tags its import
    /// API ignores.
    podman: bool,
}

impl Engine {
    /// Connects as the Docker CLI would (`DOCKER_HOST`, else the local socket)
    /// and checks that the engine answers.
    pub async fn connect() -> Result<Engine, DockerError> {
        let (host, origin) = docker_host();
        let refused = |source: bollard::errors::Error| match source {
            bollard::errors::Error::DockerResponseServerError {
                status_code,
                message,
            } => DockerError::NotAnEngine {
                host: host.clone(),
                origin,
                answer: format!("HTTP {status_code} {}", first_words(&message)),
            },
            bollard::errors::Error::JsonSerdeError { .. }
            | bollard::errors::Error::JsonDataError { .. } => DockerError::NotAnEngine {
                host: host.clone(),
                origin,
                answer: "its answer is not the Docker API's".into(),
            },
            source => DockerError::Unreachable {
                host: host.clone(),
                origin,
                cause: innermost(&source),
            },
        };
        let bounds = Bounds::current();
        let docker = Docker::connect_with_defaults()
            .map_err(refused)?
            .with_timeout(bounds::client_timeout(bounds.answer));
        reachable(&host, origin, bounds.connect).await?;
        let ping = docker.ping();
        bounds::bounded("GET /_ping", bounds.answer, bounds.whole, ping)
            .await?
            .map_err(refused)?;
        let version = docker.version();
        let version = bounds::bounded("GET /version", bounds.answer, bounds.whole, version)
            .await?
            .map_err(refused)?;
        let podman = version
            .components
            .unwrap_or_default()
            .iter()
            .any(|c| c.name.contains("Podman"));
        Ok(Engine { docker, podman })
    }

    /// Whether the engine is Podman (its Docker-compatible API).
    #[must_use]
    pub fn is_podman(&self) -> bool {
        self.podman
    }

    /// Whether the engine makes a container's `Links` (endpoint or host
    /// config) resolvable inside it. Podman's Docker API ignores them, so
    /// there a linked container's alias must come another way (an
    /// `/etc/hosts` entry, `ExtraHosts`).
    #[must_use]
    pub fn honours_links(&self) -> bool {
        !self.podman
    }

    /// The bollard client, for the test suite's own image work (building,
    /// exporting and inspecting images the CLI never needs).
    #[must_use]
    pub fn bollard(&self) -> &Docker {
        &self.docker
    }

    /// What the engine runs containers on: its OS and CPU architecture as
    /// it names them (`linux`, `x86_64`), and what it says it is (`Docker
    /// Desktop`, `Debian GNU/Linux 12`), so that this executable is only put
    /// in an image the engine can run and a task's `cpuArchitecture` checked.
    pub async fn platform(&self) -> Result<EnginePlatform, DockerError> {
        let info = self
            .call("GET /info", self.docker.info())
            .await?
            .map_err(DockerError::api("cannot read the engine's info"))?;
        Ok(EnginePlatform {
            os: info.os_type.unwrap_or_default(),
            architecture: info.architecture.unwrap_or_default(),
            operating_system: info.operating_system.unwrap_or_default(),
            cgroup_driver: info
                .cgroup_driver
                .map(|d| d.to_string())
                .unwrap_or_default(),
        })
    }
}

impl Engine {
    /// Runs one request that is not a stream under the engine's answer and
    /// whole bounds ([`bounds`]); the inner result is the engine's answer.
    async fn call<T>(
        &self,
        request: &str,
        work: impl std::future::Future<Output = Result<T, bollard::errors::Error>>,
    ) -> Result<Result<T, bollard::errors::Error>, DockerError> {
        let bounds = Bounds::current();
        bounds::bounded(request, bounds.answer, bounds.whole, work).await
    }

    /// The client with the slow answer bound, for a pull, a build or an
    /// import, whose first byte waits on a registry or an upload.
    fn slow(&self) -> Docker {
        self.docker
            .clone()
            .with_timeout(bounds::client_timeout(Bounds::current().slow_answer))
    }

    /// Maps a stream's errors: the answer bound running out names the
    /// request; anything else is `what` with its cause.
    fn stream_error(
        request: &str,
        what: String,
    ) -> impl FnOnce(bollard::errors::Error) -> DockerError {
        bounds::stream_error(request, Bounds::current().answer, what)
    }
}

/// Opens (and drops) one connection to the engine within the connect bound,
/// so that an address that swallows connections fails as such; requests
/// then open their own within their answer bound. Only plain sockets are
/// tried; an engine behind SSH or TLS is bounded by its requests alone.
async fn reachable(
    host: &str,
    origin: &'static str,
    bound: std::time::Duration,
) -> Result<(), DockerError> {
    let connecting = async {
        if let Some(path) = host.strip_prefix("unix://") {
            tokio::net::UnixStream::connect(path).await.map(drop)
        } else if let Some(address) = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"))
        {
            tokio::net::TcpStream::connect(address.trim_end_matches('/'))
                .await
                .map(drop)
        } else {
            Ok(())
        }
    };
    match tokio::time::timeout(bound, connecting).await {
        Err(_) => Err(bounds::no_connection(bound)),
        Ok(Err(e)) => Err(DockerError::Unreachable {
            host: host.to_owned(),
            origin,
            cause: e.to_string(),
        }),
        Ok(Ok(())) => Ok(()),
    }
}

/// Where an engine runs its containers (see [`Engine::platform`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnginePlatform {
    pub os: String,
    pub architecture: String,
    pub operating_system: String,
    /// `cgroupfs` or `systemd` (`none` on rootless engines).
    pub cgroup_driver: String,
}

impl EnginePlatform {
    /// The architecture as Docker's platforms name it (`amd64`, `arm64`).
    #[must_use]
    pub fn docker_architecture(&self) -> &str {
        docker_architecture(&self.architecture)
    }

    /// Whether the engine runs other architectures' images by emulation
    /// (Docker Desktop and `OrbStack` do, with Rosetta or QEMU).
    #[must_use]
    pub fn emulates(&self) -> bool {
        self.operating_system.contains("Docker Desktop")
            || self.operating_system.contains("OrbStack")
    }
}

/// Where the engine is, and what said so: `DOCKER_HOST`, else the local
/// socket, as the Docker CLI and bollard look for it.
pub(crate) fn docker_host() -> (String, &'static str) {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.is_empty() => (host, "DOCKER_HOST"),
        _ => (
            "unix:///var/run/docker.sock".to_owned(),
            "the default socket",
        ),
    }
}

/// The deepest cause of an error, which is the one a person acts on.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut error = error;
    while let Some(source) = error.source() {
        error = source;
    }
    error.to_string()
}

/// The start of an answer, enough to recognise what answered.
fn first_words(message: &str) -> String {
    let line = message
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim();
    match line.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

/// An architecture as Docker's platforms name it, whichever name it came
/// by (`x86_64` and `amd64` are `amd64`; `aarch64` and `arm64` are `arm64`).
#[must_use]
pub fn docker_architecture(arch: &str) -> &str {
    match arch {
        "x86_64" | "amd64" => "amd64",
        "aarch64" | "arm64" => "arm64",
        other => other,
    }
}

/// `label=key=value` filters for list and event calls.
fn label_filter(labels: &[String]) -> HashMap<&'static str, Vec<&str>> {
    HashMap::from([("label", labels.iter().map(String::as_str).collect())])
}

/// Podman's refusal to start a container with an init when it has none
/// (`container-init binary not found on the host: stat …`), as the line that
/// says what to install; other answers as they are.
fn init_missing(error: bollard::errors::Error) -> Result<DockerError, bollard::errors::Error> {
    const PODMAN: &str = "container-init binary not found on the host";
    match &error {
        bollard::errors::Error::DockerResponseServerError { message, .. }
            if message.contains(PODMAN) =>
        {
            let cause = message
                .split_once(PODMAN)
                .map_or("", |(_, rest)| rest)
                .trim_start_matches(':')
                .trim();
            Ok(DockerError::InitMissing {
                cause: if cause.is_empty() {
                    PODMAN.to_owned()
                } else {
                    cause.to_owned()
                },
            })
        }
        _ => Err(error),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status_code: u16, message: &str) -> DockerError {
        DockerError::api("cannot create container `x`")(
            bollard::errors::Error::DockerResponseServerError {
                status_code,
                message: message.to_owned(),
            },
        )
    }

    #[test]
    fn podman_without_catatonit_is_one_line_saying_what_to_install() {
        let raw = bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message: "container create: container-init binary not found on the host: stat /usr/libexec/podman/catatonit: no such file or directory".into(),
        };
        let Ok(e) = init_missing(raw) else {
            panic!("not recognised");
        };
        assert_eq!(
            e.to_string(),
            "Podman has no init binary for `initProcessEnabled` (stat /usr/libexec/podman/catatonit: no such file or directory); install it: apt-get install catatonit"
        );
        let other = bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message: "no space left on device".into(),
        };
        assert!(init_missing(other).is_err());
    }

    #[test]
    fn a_taken_name_is_a_conflict_on_docker_and_on_podman() {
        assert!(answered(409, "Conflict. The container name is already in use").is_conflict());
        assert!(
            answered(
                500,
                "container create: creating container storage: the container name \"ecs-run-local-agent\" is already in use by ea64"
            )
            .is_conflict()
        );
        assert!(!answered(500, "no space left on device").is_conflict());
        assert!(!answered(404, "no such container").is_conflict());
    }
}
