//! The hidden subcommands that run inside the agent image: `agent` serves
//! the ECS endpoints, `pause` holds an awsvpc task's namespaces, `probe`
//! tries a port of a task from inside its network for `smoke --http/--tcp`,
//! `cgroup` makes or removes a task's cgroup from a helper container.

use std::net::SocketAddr;

use crate::exit::{ExitStatus, Failure};

/// `agent`: serves until the container stops.
pub fn agent(
    listen: SocketAddr,
    loopback: SocketAddr,
    token_file: &str,
) -> Result<ExitStatus, Failure> {
    super::block_on(async {
        crate::agent::serve(listen, loopback, token_file).await?;
        Ok(ExitStatus::Success)
    })
}

/// `pause`: PID 1 of the task's namespaces until SIGTERM.
pub fn pause() -> Result<ExitStatus, Failure> {
    crate::agent::pause::run()?;
    Ok(ExitStatus::Success)
}

/// `probe`: inside a probe container, tries 127.0.0.1:`port` (over HTTP when
/// `http_path` is given) until it passes, one JSON line per attempt.
pub fn probe(
    port: u16,
    http_path: Option<String>,
    status: Option<u16>,
) -> Result<ExitStatus, Failure> {
    let http = http_path.map(|path| crate::runner::probe::HttpProbe { path, status });
    super::block_on(async {
        crate::runner::probe::serve(port, http).await;
        Ok(ExitStatus::Success)
    })
}

/// `cgroup set|remove PATH`: inside the helper container, makes a task's
/// cgroup with its limits, or removes it, under the host's `/sys/fs/cgroup`.
pub fn cgroup(
    action: &str,
    path: &str,
    memory: Option<i64>,
    cpu_quota: Option<i64>,
) -> Result<ExitStatus, Failure> {
    use crate::runner::task_cgroup;
    let root = std::path::Path::new(task_cgroup::CGROUP_ROOT);
    let done = match action {
        "set" => task_cgroup::set(root, path, memory, cpu_quota),
        _ => task_cgroup::remove(root, path),
    };
    done.map_err(|e| anyhow::anyhow!("cannot {action} the cgroup `{path}`: {e}"))?;
    Ok(ExitStatus::Success)
}
