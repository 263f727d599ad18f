//! What a user can hit while a task starts and runs, as typed errors: the
//! orchestration above adds context with `anyhow`, these carry the facts.

use crate::docker::DockerError;

/// Why a run of a task failed: what the engine cannot do for it, or what
/// went wrong once its containers began to exist.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// `runtimePlatform.cpuArchitecture` names an architecture the engine
    /// neither is nor emulates.
    #[error(
        "the task needs {wanted} (runtimePlatform.cpuArchitecture) and the Docker engine runs {engine} without emulation; run it on a {wanted} engine, or register QEMU for it (binfmt_misc)"
    )]
    Architecture { wanted: String, engine: String },
    /// A dependency's condition was not reached within the container's
    /// `startTimeout` (ECS's default: 3 minutes).
    #[error(
        "container `{container}` cannot start: {waiting_for} was not reached within its startTimeout of {seconds}s"
    )]
    StartTimeout {
        container: String,
        /// The dependency and condition, e.g. `` `db` HEALTHY ``.
        waiting_for: String,
        seconds: u64,
    },
    /// A dependency ended so that the condition can never be reached (a
    /// SUCCESS dependency exited non-zero, a HEALTHY one became unhealthy).
    #[error("container `{container}` cannot start: {reason}")]
    DependencyNeverReached { container: String, reason: String },
    /// A `shared` volume without `autoprovision` that nobody created.
    #[error(
        "the shared volume `{volume}` does not exist and `autoprovision` is off; create it with `docker volume create {volume}`"
    )]
    SharedVolumeMissing { volume: String },
    /// The engine stopped sending the task's events (it stopped, or restarted).
    #[error("the Docker engine closed its event stream")]
    EventStreamEnded,
    /// `smoke --timeout` ran out before the task's containers existed (the
    /// engine, a pull or the agent took it all), with the engine request
    /// still unanswered, if one was.
    #[error("`--timeout` ({timeout}) ran out before the task started{}", waiting_on.as_ref().map(|w| format!(": {w}")).unwrap_or_default())]
    SmokeTimeout {
        timeout: String,
        /// `the Docker engine at … had not answered GET /_ping`.
        waiting_on: Option<String>,
    },
    /// The engine refused a container's create body.
    #[error("cannot create container `{container}`")]
    CreateContainer {
        container: String,
        #[source]
        source: DockerError,
    },
    /// The engine refused to start a created container (a port in use, a
    /// missing bind-mount source).
    #[error("cannot start container `{container}`")]
    StartContainer {
        container: String,
        #[source]
        source: DockerError,
    },
    /// The engine refused to create a task volume.
    #[error("cannot create volume `{volume}`")]
    CreateVolume {
        volume: String,
        #[source]
        source: DockerError,
    },
    /// The `FireLens` router's `user` names a user (or group) its image
    /// does not have, so the socket directory cannot be given to it.
    #[error(
        "the log router `{router}` runs as `{user}`, which image `{image}` does not have ({reason}); use a numeric `uid` or `uid:gid`"
    )]
    FirelensUser {
        router: String,
        user: String,
        image: String,
        reason: String,
    },
    /// An essential `FireLens` router ran without opening its socket.
    #[error(
        "the log router `{router}` did not open {socket} within {seconds}s of its start; stopping the task"
    )]
    FirelensSocket {
        router: String,
        socket: String,
        seconds: u64,
    },
    /// A bridge-mode container's `FLUENT_HOST` is its router's address,
    /// which a router that does not run has not.
    #[error(
        "cannot create container `{container}`: its log router `{router}` has no address (it is not running)"
    )]
    FirelensAddress { container: String, router: String },
}

impl RunError {
    /// Bad input rather than a failure of the run (exit 2).
    #[must_use]
    pub fn is_usage(&self) -> bool {
        matches!(self, RunError::FirelensUser { .. })
    }
}
