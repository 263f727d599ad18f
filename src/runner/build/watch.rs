//! `--watch`: each built container's directory is watched; a change (what
//! its `.dockerignore` ignores aside) is let settle, the image rebuilt, and
//! the supervisor told to replace the container. A failed rebuild leaves
//! the running container alone and says why.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::dockerignore::DockerIgnore;
use super::{Build, build_one, context, output_prefixes};
use crate::docker::Engine;
use crate::output::logs::{LogSink, print_line_to};
use crate::output::status;

/// How long a directory must stay quiet after a change before the rebuild:
/// an editor's save, a `git checkout`, a formatter touching many files.
const SETTLE: Duration = Duration::from_millis(300);

/// A container whose image was rebuilt and now waits to be replaced.
#[derive(Debug, Clone)]
pub struct Rebuilt {
    pub container: String,
    /// When the first change of the rebuild was seen.
    pub changed_at: Instant,
}

/// Why watching could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch `{dir}` for --watch: {reason}")]
pub struct WatchError {
    dir: PathBuf,
    reason: String,
}

/// Starts watching every build's directory; each rebuilt image is sent on
/// the receiver. The returned futures run the watches: spawn them, and
/// abort them to stop (a rebuild under way is cancelled with them).
pub fn start(
    engine: &Engine,
    builds: &[Build],
) -> Result<
    (
        Vec<impl Future<Output = ()> + Send + 'static>,
        UnboundedReceiver<Rebuilt>,
    ),
    WatchError,
> {
    let (rebuilt, receiver) = unbounded_channel();
    let mut watches = Vec::new();
    for (build, prefix) in builds.iter().zip(output_prefixes(builds)) {
        let dir = std::fs::canonicalize(&build.dir).map_err(|e| WatchError {
            dir: build.dir.clone(),
            reason: e.to_string(),
        })?;
        let (changes, changed) = unbounded_channel();
        let mut watcher = notify::recommended_watcher(forward(dir.clone(), changes))
            .and_then(|mut w| w.watch(&dir, RecursiveMode::Recursive).map(|()| w))
            .map_err(|e| WatchError {
                dir: build.dir.clone(),
                reason: e.to_string(),
            })?;
        let engine = engine.clone();
        let build = build.clone();
        let rebuilt = rebuilt.clone();
        watches.push(async move {
            rebuild_on_change(&engine, &build, &dir, changed, &prefix, &rebuilt).await;
            // Watching ends with the future.
            let _ = watcher.unwatch(&dir);
        });
    }
    Ok((watches, receiver))
}

/// notify's callback: the paths (relative to `dir`) of changes to content.
fn forward(
    dir: PathBuf,
    changes: UnboundedSender<String>,
) -> impl FnMut(notify::Result<notify::Event>) + Send + 'static {
    move |event| {
        let Ok(event) = event else { return };
        if !matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
        ) {
            return;
        }
        for path in event.paths {
            if let Ok(relative) = path.strip_prefix(&dir) {
                let _ = changes.send(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
}

async fn rebuild_on_change(
    engine: &Engine,
    build: &Build,
    dir: &Path,
    mut changed: UnboundedReceiver<String>,
    prefix: &str,
    rebuilt: &UnboundedSender<Rebuilt>,
) {
    let mut ignore = load_ignore(dir);
    while let Some(path) = changed.recv().await {
        if path == ".dockerignore" {
            ignore = load_ignore(dir);
        } else if path.is_empty() || ignore.ignores(&path) {
            continue;
        }
        let changed_at = Instant::now();
        // Let the burst of changes settle.
        loop {
            match tokio::time::timeout(SETTLE, changed.recv()).await {
                Ok(Some(other)) if other == ".dockerignore" => ignore = load_ignore(dir),
                Ok(Some(_)) => {}
                Ok(None) => return,
                Err(_) => break,
            }
        }
        status(&format!(
            "`{path}` changed in {}; rebuilding `{}`",
            build.dir.display(),
            build.container
        ));
        let output = |line: &str| print_line_to(LogSink::Stderr, prefix, line);
        match build_one(engine, build, output).await {
            Ok(()) => {
                if rebuilt
                    .send(Rebuilt {
                        container: build.container.clone(),
                        changed_at,
                    })
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => status(&format!(
                "warning: {:#}; `{}` keeps running the image it had",
                anyhow::Error::new(e),
                build.container
            )),
        }
    }
}

fn load_ignore(dir: &Path) -> DockerIgnore {
    context::ignore_file(dir).unwrap_or_default()
}
