//! The pause container's process: PID 1 of a task's shared namespaces.
//!
//! It does nothing but hold the namespaces, reap the orphans that the kernel
//! re-parents to it (with `pidMode: task` every container's orphans land here),
//! and exit 0 on SIGTERM or SIGINT, so that `docker stop` is immediate.

use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};

/// Runs the pause loop until SIGTERM or SIGINT.
pub fn run() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut children = signal(SignalKind::child())?;
        let stop = terminated();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                _ = children.recv() => reap(),
            }
        }
        reap();
        anyhow::Ok(())
    })
}

/// Resolves on the first SIGTERM or SIGINT.
pub async fn terminated() {
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers there is nothing to wait for; never resolve.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// Collects every exited child without blocking.
fn reap() {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => break,
            Ok(_) => {}
        }
    }
}
