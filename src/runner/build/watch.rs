//! `--watch`: each built container's directory is watched; a change (what
//! its `.dockerignore` ignores aside) is let settle, the image rebuilt, and
//! the supervisor told to replace the container. A failed rebuild leaves
//! the running container alone and says why.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use notify::event::{ModifyKind, RenameMode};
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
        // The parent too, without recursion: a directory removed and made
        // again (a `git checkout`, a tool that regenerates it) has lost its
        // own watch and must get it back.
        let parent = dir.parent().map(Path::to_path_buf);
        let mut watcher = notify::recommended_watcher(forward(dir.clone(), changes))
            .and_then(|mut w| w.watch(&dir, RecursiveMode::Recursive).map(|()| w))
            .and_then(|mut w| match &parent {
                Some(parent) => w.watch(parent, RecursiveMode::NonRecursive).map(|()| w),
                None => Ok(w),
            })
            .map_err(|e| WatchError {
                dir: build.dir.clone(),
                reason: e.to_string(),
            })?;
        let engine = engine.clone();
        let build = build.clone();
        let rebuilt = rebuilt.clone();
        watches.push(async move {
            let watched = Watched {
                dir: &dir,
                watcher: &mut watcher,
            };
            rebuild_on_change(&engine, &build, watched, changed, &prefix, &rebuilt).await;
            // Watching ends with the future.
            let _ = watcher.unwatch(&dir);
            if let Some(parent) = &parent {
                let _ = watcher.unwatch(parent);
            }
        });
    }
    Ok((watches, receiver))
}

/// What notify's callback sends for the watched directory itself.
const DIR_REMOVED: &str = "\0removed";
const DIR_CREATED: &str = "\0created";

/// A build directory under watch, and the watcher that can watch it again.
struct Watched<'a> {
    dir: &'a Path,
    watcher: &'a mut notify::RecommendedWatcher,
}

/// notify's callback: the paths (relative to `dir`) of changes to content,
/// and [`DIR_REMOVED`] / [`DIR_CREATED`] for the directory itself.
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
        let last = event.paths.len().saturating_sub(1);
        for (i, path) in event.paths.into_iter().enumerate() {
            if path == dir {
                // A rename names the old path first and the new one last.
                let said = match event.kind {
                    EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
                        DIR_CREATED
                    }
                    EventKind::Remove(_)
                    | EventKind::Modify(ModifyKind::Name(RenameMode::From)) => DIR_REMOVED,
                    EventKind::Modify(ModifyKind::Name(_)) if i == last && i > 0 => DIR_CREATED,
                    EventKind::Modify(ModifyKind::Name(_)) => DIR_REMOVED,
                    _ => continue,
                };
                let _ = changes.send(said.to_owned());
            } else if let Ok(relative) = path.strip_prefix(&dir) {
                let _ = changes.send(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
}

async fn rebuild_on_change(
    engine: &Engine,
    build: &Build,
    watched: Watched<'_>,
    mut changed: UnboundedReceiver<String>,
    prefix: &str,
    rebuilt: &UnboundedSender<Rebuilt>,
) {
    let dir = watched.dir;
    let mut ignore = load_ignore(dir);
    while let Some(path) = changed.recv().await {
        if path == DIR_REMOVED {
            status(&format!(
                "warning: {} was removed; --watch waits for it to come back",
                build.dir.display()
            ));
            continue;
        }
        if path == DIR_CREATED {
            if let Err(e) = watched.watcher.watch(dir, RecursiveMode::Recursive) {
                status(&format!(
                    "warning: cannot watch {} again: {e}",
                    build.dir.display()
                ));
                continue;
            }
            ignore = load_ignore(dir);
        } else if path == ".dockerignore" {
            ignore = load_ignore(dir);
        } else if path.is_empty() || ignore.ignores(&path) {
            continue;
        }
        // The directory itself came back: everything in it is new.
        let path = if path == DIR_CREATED {
            ".".to_owned()
        } else {
            path
        };
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
