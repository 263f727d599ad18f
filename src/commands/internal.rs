//! The hidden subcommands that run inside the agent image: `agent` serves
//! the ECS endpoints, `pause` holds an awsvpc task's namespaces.

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
