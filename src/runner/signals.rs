//! Ctrl-C and SIGTERM: the first asks the task to stop as ECS would (SIGTERM,
//! `stopTimeout`, SIGKILL), the second kills it at once. Every stage before
//! the task exists is raced against the first ([`Shutdown::race`]).

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// How insistently the user asked us to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stop {
    Running,
    Graceful,
    Immediate,
}

/// A handle on the process's stop requests; clone it freely.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<Stop>,
}

impl Shutdown {
    /// Installs the SIGINT and SIGTERM handlers for the rest of the process.
    pub fn listen() -> anyhow::Result<Shutdown> {
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        let (tx, rx) = watch::channel(Stop::Running);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                let next = match *tx.borrow() {
                    Stop::Running => Stop::Graceful,
                    _ => Stop::Immediate,
                };
                if tx.send(next).is_err() {
                    break;
                }
            }
        });
        Ok(Shutdown { rx })
    }

    #[must_use]
    pub fn current(&self) -> Stop {
        *self.rx.borrow()
    }

    /// Runs `work` unless a stop is asked for first (or was already):
    /// `None` then, and `work` is dropped where it stood.
    pub async fn race<F: std::future::Future>(&self, work: F) -> Option<F::Output> {
        let mut stop = self.clone();
        tokio::select! {
            biased;
            () = stop.reached(Stop::Graceful) => None,
            done = work => Some(done),
        }
    }

    /// Resolves once a stop of at least `level` was asked for.
    pub async fn reached(&mut self, level: Stop) {
        let _ = self.rx.wait_for(|stop| *stop >= level).await;
    }
}
