//! The build context: a directory as the tar archive the build API takes,
//! without what its `.dockerignore` leaves out; the Dockerfile and the
//! `.dockerignore` always go, as the Docker CLI sends them.

use std::path::{Path, PathBuf};

use super::dockerignore::DockerIgnore;

/// The name a Dockerfile from outside the context gets inside it.
const OUTSIDE_DOCKERFILE: &str = ".ecs-run-local.Dockerfile";

/// A context checked and ready to write: where its Dockerfile goes.
#[derive(Debug)]
pub struct Context {
    dir: PathBuf,
    /// The Dockerfile on disk.
    file: PathBuf,
    ignore: DockerIgnore,
    /// The Dockerfile's path inside the context, when it is inside it.
    inside: Option<String>,
    /// The Dockerfile's path inside the archive.
    pub dockerfile: String,
}

/// Why a context could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("the build context `{0}` is not a directory")]
    NotADirectory(PathBuf),
    #[error("there is no Dockerfile at `{0}`")]
    NoDockerfile(PathBuf),
    // The cause follows once, as the source of the chain.
    #[error("cannot read `{path}` of the build context")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ContextError {
    /// Whether writing stopped because the reader went away (the build
    /// ended before the whole context was sent).
    #[must_use]
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, ContextError::Read { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// The `.dockerignore` of `dir` (none: nothing ignored).
pub fn ignore_file(dir: &Path) -> Result<DockerIgnore, ContextError> {
    let path = dir.join(".dockerignore");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(DockerIgnore::parse(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DockerIgnore::default()),
        Err(source) => Err(ContextError::Read { path, source }),
    }
}

/// Where the Dockerfile is: `dockerfile` relative to `dir` (as compose
/// reads it) or absolute, else `dir/Dockerfile`.
#[must_use]
pub fn dockerfile_path(dir: &Path, dockerfile: Option<&Path>) -> PathBuf {
    dir.join(dockerfile.unwrap_or(Path::new("Dockerfile")))
}

/// Checks `dir` and its Dockerfile for a build, before anything is sent.
pub fn prepare(dir: &Path, dockerfile: Option<&Path>) -> Result<Context, ContextError> {
    if !dir.is_dir() {
        return Err(ContextError::NotADirectory(dir.to_owned()));
    }
    let file = dockerfile_path(dir, dockerfile);
    if !file.is_file() {
        return Err(ContextError::NoDockerfile(file));
    }
    let ignore = ignore_file(dir)?;
    let inside = std::fs::canonicalize(&file)
        .ok()
        .zip(std::fs::canonicalize(dir).ok())
        .and_then(|(f, d)| {
            f.strip_prefix(&d)
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        });
    let dockerfile = inside
        .clone()
        .unwrap_or_else(|| OUTSIDE_DOCKERFILE.to_owned());
    Ok(Context {
        dir: dir.to_owned(),
        file,
        ignore,
        inside,
        dockerfile,
    })
}

impl Context {
    /// The context's directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the context as a tar archive to `out`, file by file, so a
    /// large context is never held in memory; returns how many files went.
    pub fn write_to(&self, out: impl std::io::Write) -> Result<usize, ContextError> {
        let dir = self.dir.as_path();
        let mut builder = tar::Builder::new(out);
        builder.follow_symlinks(false);
        let mut files = 0;
        let mut stack = vec![PathBuf::new()];
        while let Some(relative) = stack.pop() {
            let entries =
                std::fs::read_dir(dir.join(&relative)).map_err(read(&dir.join(&relative)))?;
            let mut names: Vec<_> = entries
                .map(|e| e.map(|e| e.file_name()))
                .collect::<Result<_, _>>()
                .map_err(read(&dir.join(&relative)))?;
            names.sort();
            for name in names {
                let path = relative.join(&name);
                let text = path.to_string_lossy().replace('\\', "/");
                let full = dir.join(&path);
                let kind = std::fs::symlink_metadata(&full).map_err(read(&full))?;
                let always =
                    text == ".dockerignore" || self.inside.as_deref() == Some(text.as_str());
                if !always && self.ignore.ignores(&text) {
                    // An exception may bring back something below it.
                    if !(kind.is_dir() && self.ignore.has_exceptions()) {
                        continue;
                    }
                } else {
                    builder
                        .append_path_with_name(&full, &path)
                        .map_err(read(&full))?;
                    if !kind.is_dir() {
                        files += 1;
                    }
                }
                if kind.is_dir() {
                    stack.push(path);
                }
            }
        }
        if self.inside.is_none() {
            let text = std::fs::read(&self.file).map_err(read(&self.file))?;
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, OUTSIDE_DOCKERFILE, text.as_slice())
                .map_err(read(&self.file))?;
            files += 1;
        }
        builder.into_inner().map_err(read(dir))?;
        Ok(files)
    }
}

/// Archives `dir` for a build with `dockerfile` into memory (for tests).
#[cfg(test)]
fn archive(
    dir: &Path,
    dockerfile: Option<&Path>,
) -> Result<(Context, Vec<u8>, usize), ContextError> {
    let context = prepare(dir, dockerfile)?;
    let mut bytes = Vec::new();
    let files = context.write_to(&mut bytes)?;
    Ok((context, bytes, files))
}

fn read(path: &Path) -> impl FnOnce(std::io::Error) -> ContextError + use<> {
    let path = path.to_owned();
    move |source| ContextError::Read { path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(archive: &[u8]) -> Vec<String> {
        let mut archive = tar::Archive::new(archive);
        let mut names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_context_leaves_out_what_dockerignore_says_but_never_the_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, text) in [
            ("Dockerfile", "FROM scratch\n"),
            (
                ".dockerignore",
                "*.log\nnode_modules\nDockerfile\ndocs\n!docs/keep.md\n",
            ),
            ("app.sh", "echo hi\n"),
            ("debug.log", "noise\n"),
            ("node_modules/x/index.js", "1\n"),
            ("src/main.sh", "echo main\n"),
            ("docs/drop.md", "x\n"),
            ("docs/keep.md", "y\n"),
        ] {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let (context, bytes, files) = archive(root, None).unwrap();
        assert_eq!(context.dockerfile, "Dockerfile");
        assert_eq!(
            names(&bytes),
            [
                ".dockerignore",
                "Dockerfile",
                "app.sh",
                "docs/keep.md",
                "src",
                "src/main.sh"
            ]
        );
        assert_eq!(files, 5);
    }

    #[test]
    fn a_file_that_cannot_be_archived_is_named_with_its_cause_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("app.sock")).unwrap();
        let error = archive(dir.path(), None).unwrap_err();
        let shown = format!("{:#}", anyhow::Error::new(error));
        let path = dir.path().join("app.sock");
        assert!(
            shown.starts_with(&format!(
                "cannot read `{}` of the build context: ",
                path.display()
            )),
            "{shown}"
        );
        let cause = shown.rsplit(": ").next().unwrap();
        assert_eq!(shown.matches(cause).count(), 1, "{shown}");
    }

    #[test]
    fn a_dockerfile_elsewhere_travels_inside_the_context() {
        let dir = tempfile::tempdir().unwrap();
        let context_dir = dir.path().join("ctx");
        std::fs::create_dir(&context_dir).unwrap();
        std::fs::write(context_dir.join("a"), "a").unwrap();
        std::fs::write(dir.path().join("Dev.Dockerfile"), "FROM scratch\n").unwrap();
        let (context, bytes, _) =
            archive(&context_dir, Some(Path::new("../Dev.Dockerfile"))).unwrap();
        assert_eq!(context.dockerfile, OUTSIDE_DOCKERFILE);
        assert_eq!(names(&bytes), [OUTSIDE_DOCKERFILE, "a"]);
        let missing = archive(&context_dir, None).unwrap_err();
        assert_eq!(
            missing.to_string(),
            format!(
                "there is no Dockerfile at `{}`",
                context_dir.join("Dockerfile").display()
            )
        );
    }
}
