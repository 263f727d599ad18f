//! `down`: remove what killed runs left behind, or with `--all` every task,
//! the agent and the network.

use crate::docker::Engine;
use crate::exit::{ExitStatus, Failure};
use crate::runner::task_list;
use crate::taskdef::load::plural;

/// Removes and says what it removed.
pub fn down(all: bool) -> Result<ExitStatus, Failure> {
    super::block_on(async {
        let engine = Engine::connect().await.map_err(anyhow::Error::new)?;
        let removed = task_list::down(&engine, all).await?;
        let mut line = format!("removed {}", plural(removed.runs, "task"));
        if all {
            line.push_str(", the agent and the network");
        }
        super::write_stdout(&format!("{line}\n"))?;
        Ok(ExitStatus::Success)
    })
}
