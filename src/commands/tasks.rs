//! `ps`, `logs` and `stop`: the tasks running on this engine, found by label.

use anyhow::Context as _;

use crate::docker::Engine;
use crate::exit::{ExitStatus, Failure};
use crate::output::status;
use crate::runner::task_list;

/// `ps`: a table, or JSON.
pub fn ps(json: bool) -> Result<ExitStatus, Failure> {
    super::block_on(async {
        let engine = Engine::connect().await.map_err(anyhow::Error::new)?;
        let tasks = task_list::list(&engine).await?;
        let text = if json {
            let mut text =
                serde_json::to_string_pretty(&tasks).context("cannot print the tasks")?;
            text.push('\n');
            text
        } else {
            task_list::table(&tasks)
        };
        super::write_stdout(&text)?;
        Ok(ExitStatus::Success)
    })
}

/// `logs TASK [CONTAINER] [-f]`, the task named by a prefix of its id.
pub fn logs(task: &str, container: Option<&str>, follow: bool) -> Result<ExitStatus, Failure> {
    super::block_on(async {
        let engine = Engine::connect().await.map_err(anyhow::Error::new)?;
        let found = task_list::find(&engine, task).await?;
        task_list::logs(&engine, &found, container, follow).await?;
        Ok(ExitStatus::Success)
    })
}

/// `stop TASK`: through its supervisor, as ECS stops a task.
pub fn stop(task: &str) -> Result<ExitStatus, Failure> {
    super::block_on(async {
        let engine = Engine::connect().await.map_err(anyhow::Error::new)?;
        let found = task_list::find(&engine, task).await?;
        status(&format!(
            "stopping task `{}` ({}:{})",
            found.id, found.family, found.revision
        ));
        task_list::stop(&engine, &found).await?;
        super::write_stdout(&format!("{}\n", found.id))?;
        Ok(ExitStatus::Success)
    })
}
