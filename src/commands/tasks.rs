//! `ps`, `logs`, `exec` and `stop`: the tasks running on this engine, found
//! by label.

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
            crate::views::tasks::table(&tasks)
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

/// `exec TASK CONTAINER [-- CMD…]`: a command (a shell by default) in a
/// running task's container, as `aws ecs execute-command` gives one: with a
/// terminal when standard input is one; the status is the command's.
pub fn exec(task: &str, container: &str, command: &[String]) -> Result<ExitStatus, Failure> {
    use std::io::IsTerminal as _;
    let command = if command.is_empty() {
        vec!["sh".to_owned()]
    } else {
        command.to_vec()
    };
    super::block_on(async {
        let engine = Engine::connect().await.map_err(anyhow::Error::new)?;
        let found = task_list::find(&engine, task).await?;
        let Some(target) = found.containers.iter().find(|c| c.name == container) else {
            let names: Vec<String> = found
                .containers
                .iter()
                .map(|c| format!("`{}`", c.name))
                .collect();
            return Err(anyhow::anyhow!(
                "task `{}` has no container `{container}` (its containers: {})",
                found.id,
                names.join(", ")
            )
            .into());
        };
        if target.status != "running" {
            return Err(anyhow::anyhow!(
                "container `{container}` of task `{}` is {}, not running",
                found.id,
                target.status
            )
            .into());
        }
        let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
        let terminal = crate::docker::ExecTerminal {
            tty,
            size: if tty { terminal_size() } else { None },
        };
        let _raw = tty.then(RawMode::enter).flatten();
        let code = engine
            .exec_attached(&target.docker_id, &command, terminal)
            .await
            .map_err(anyhow::Error::new)?;
        Ok(ExitStatus::of_container(code))
    })
}

/// The terminal's size (columns, rows), as `stty size` reads it.
fn terminal_size() -> Option<(u16, u16)> {
    let out = std::process::Command::new("stty")
        .arg("size")
        .stdin(std::process::Stdio::inherit())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    let rows = words.next()?.parse().ok()?;
    let columns = words.next()?.parse().ok()?;
    Some((columns, rows))
}

/// The terminal in raw mode (keys go to the command as typed) until dropped.
struct RawMode(nix::sys::termios::Termios);

impl RawMode {
    fn enter() -> Option<RawMode> {
        use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).ok()?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(&stdin, SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode(saved))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        use nix::sys::termios::{SetArg, tcsetattr};
        let _ = tcsetattr(std::io::stdin(), SetArg::TCSANOW, &self.0);
    }
}
