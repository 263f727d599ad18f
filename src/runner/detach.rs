//! `--detach`: the CLI starts itself again as a background supervisor, in its
//! own process group (so the terminal's Ctrl-C does not reach it), and waits
//! for the supervisor to say the task started. The supervisor keeps the ECS
//! semantics of a foreground run (an essential exit stops the task,
//! credentials are refreshed) and removes the task when it ends; `stop`
//! signals it. Its status lines go to a log file, never the terminal; the
//! containers' output stays with Docker (`logs`).

use std::io::{Read as _, Seek as _};
use std::process::Stdio;

use anyhow::Context as _;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::signal::unix::{SignalKind, signal};

use crate::exit::{ExitStatus, Failure};

/// Set in a detached supervisor's environment: where its status lines go
/// (and the file it removes when it ends).
pub const DETACHED_LOG: &str = "ECS_RUN_LOCAL_DETACHED_LOG";

/// What the supervisor prints on its stdout once every essential container runs.
pub const STARTED: &str = "started ";

/// Starts the supervisor and returns once the task runs, printing its id;
/// a task that cannot start fails here with the supervisor's own error.
/// Ctrl-C or SIGTERM meanwhile is passed on to the supervisor, which stops
/// what it began as a foreground run would; we wait for it to end.
pub async fn start() -> Result<ExitStatus, Failure> {
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let log = std::env::temp_dir().join(format!(
        "ecs-run-local-{}.log",
        uuid::Uuid::new_v4().simple()
    ));
    let log_file = std::fs::File::create(&log)
        .with_context(|| format!("cannot create `{}`", log.display()))?;
    // Our own handle: the supervisor removes the file when it ends, and its
    // last words (the error line) come after that.
    let mut said =
        std::fs::File::open(&log).with_context(|| format!("cannot read `{}`", log.display()))?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut child = tokio::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(DETACHED_LOG, &log)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file)
        .process_group(0)
        .kill_on_drop(false)
        .spawn()
        .context("cannot start the task's supervisor")?;
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    let stdout = child
        .stdout
        .take()
        .context("the supervisor has no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut interrupted = false;
    loop {
        let forward = tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) => {
                    if let Some(id) = line.strip_prefix(STARTED) {
                        if !interrupted {
                            println!("{id}");
                            return Ok(ExitStatus::Success);
                        }
                    }
                    continue;
                }
                // The supervisor ended before the task started.
                Ok(None) | Err(_) => break,
            },
            _ = int.recv() => Signal::SIGINT,
            _ = term.recv() => Signal::SIGTERM,
        };
        // As in the foreground: the first stops the task, a second kills it.
        interrupted = true;
        if let Some(pid) = pid {
            let _ = kill(pid, forward);
        }
    }
    let status = child
        .wait()
        .await
        .context("cannot wait for the task's supervisor")?;
    let mut text = String::new();
    let _ = said.rewind();
    let _ = said.read_to_string(&mut text);
    let _ = std::fs::remove_file(&log);
    eprint!("{text}");
    if interrupted {
        return Ok(ExitStatus::Interrupted);
    }
    Ok(match status.code().unwrap_or(1) {
        0 => ExitStatus::Success,
        2 => ExitStatus::Usage,
        130 => ExitStatus::Interrupted,
        _ => ExitStatus::Failure,
    })
}

/// In a detached supervisor: its log file.
#[must_use]
pub fn log_path() -> Option<String> {
    std::env::var(DETACHED_LOG).ok().filter(|p| !p.is_empty())
}

/// The log file of a supervisor that is gone (named by its task's label),
/// when it is one of ours: `ecs-run-local-<32 hex>.log` in the temporary
/// directory, as [`start`] names them. Anything else is left alone.
pub fn remove_orphaned_log(path: &str) {
    if is_our_log(std::path::Path::new(path)) {
        let _ = std::fs::remove_file(path);
    }
}

/// Every supervisor log file left in the temporary directory (`down
/// --all`, once every supervisor has stopped): those of supervisors
/// stopped or killed before their task had a container to name them.
pub fn remove_every_log() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for path in entries.flatten().map(|e| e.path()) {
        if is_our_log(&path) {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn is_our_log(path: &std::path::Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let id = name
        .strip_prefix("ecs-run-local-")
        .and_then(|rest| rest.strip_suffix(".log"))
        .unwrap_or_default();
    path.parent() == Some(std::env::temp_dir().as_path())
        && id.len() == 32
        && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// In the supervisor: removes its log file when the run is over.
pub fn remove_log() {
    if let Some(path) = std::env::var_os(DETACHED_LOG) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_logs_are_ever_removed() {
        let ours = std::env::temp_dir().join(format!(
            "ecs-run-local-{}.log",
            uuid::Uuid::new_v4().simple()
        ));
        assert!(is_our_log(&ours));
        for other in [
            "/etc/passwd".into(),
            std::env::temp_dir().join("ecs-run-local-x.log"),
            std::env::temp_dir().join("other-0123456789abcdef0123456789abcdef.log"),
            std::env::temp_dir()
                .join("sub")
                .join(ours.file_name().unwrap()),
            std::path::PathBuf::from("ecs-run-local-0123456789abcdef0123456789abcdef.log"),
        ] {
            assert!(!is_our_log(&other), "{other:?}");
        }
        std::fs::write(&ours, "status").unwrap();
        remove_orphaned_log(ours.to_str().unwrap());
        assert!(!ours.exists());
    }
}
