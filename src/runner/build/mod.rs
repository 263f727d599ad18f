//! `--build CONTAINER=DIR[:DOCKERFILE]`: a container runs an image built
//! from the developer's working copy, through the engine's build API, and
//! with `--watch` is rebuilt and replaced when the copy changes.

pub mod context;
pub mod dockerignore;
pub mod watch;

use std::collections::HashMap;
use std::path::PathBuf;

use futures_util::future::try_join_all;

use crate::docker::{BuildRequest, DockerError, Engine};
use crate::output::logs::{LogPrefixes, LogSink, print_line_to};
use crate::plan::labels;
use crate::taskdef::TaskDefinition;
use crate::taskdef::overrides::{OverrideError, named_or_only};

/// `--build [CONTAINER=]DIR[:DOCKERFILE]`, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildSpec {
    pub container: Option<String>,
    pub dir: PathBuf,
    /// Relative to `dir`, as compose reads `dockerfile`.
    pub dockerfile: Option<PathBuf>,
    /// Build arguments of this build alone (a CDK asset's), under `--build-arg`.
    pub args: Vec<BuildArg>,
    /// The Dockerfile stage to build.
    pub target: Option<String>,
    /// The platform to build for.
    pub platform: Option<String>,
}

impl std::str::FromStr for BuildSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (container, rest) = match text.split_once('=') {
            Some((container, rest)) => (Some(container.to_owned()), rest),
            None => (None, text),
        };
        let (dir, dockerfile) = match rest.split_once(':') {
            Some((dir, dockerfile)) => (dir, Some(PathBuf::from(dockerfile))),
            None => (rest, None),
        };
        if dir.is_empty()
            || container.as_deref() == Some("")
            || dockerfile
                .as_ref()
                .is_some_and(|d| d.as_os_str().is_empty())
        {
            return Err(format!("`{text}` is not CONTAINER=DIR[:DOCKERFILE]"));
        }
        Ok(BuildSpec {
            args: Vec::new(),
            target: None,
            platform: None,
            container,
            dir: PathBuf::from(dir),
            dockerfile,
        })
    }
}

/// `--build-arg KEY=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildArg {
    pub key: String,
    pub value: String,
}

impl std::str::FromStr for BuildArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok(BuildArg {
                key: key.to_owned(),
                value: value.to_owned(),
            }),
            _ => Err(format!("`{text}` is not KEY=VALUE")),
        }
    }
}

/// One container's build: where from, and the tag its image gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub container: String,
    pub dir: PathBuf,
    pub dockerfile: Option<PathBuf>,
    pub tag: String,
    /// `--build-arg`s.
    pub args: HashMap<String, String>,
    pub target: Option<String>,
    pub platform: Option<String>,
}

/// Why a build could not be set up or failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The container it names is not the task's, or it names none in a
    /// task of several.
    #[error(transparent)]
    Container(#[from] OverrideError),
    #[error("cannot build the image of `{container}` from {dir}")]
    Context {
        container: String,
        dir: String,
        source: context::ContextError,
    },
    #[error("cannot build the image of `{container}` from {dir}")]
    Failed {
        container: String,
        dir: String,
        source: DockerError,
    },
}

/// The tag of a container's image built for `family`:
/// `ecs-run-local/<family>-<container>:dev`, lowercased (image names are).
#[must_use]
pub fn tag(family: &str, container: &str) -> String {
    let name: String = format!("{family}-{container}")
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-') => c,
            _ => '-',
        })
        .collect();
    format!("ecs-run-local/{}:dev", name.trim_matches('-'))
}

/// Points each built container of `definition` at its image's tag.
pub fn apply(
    definition: &mut TaskDefinition,
    specs: &[BuildSpec],
    args: &[BuildArg],
) -> Result<Vec<Build>, BuildError> {
    let family = definition.family.clone().unwrap_or_default();
    let args: HashMap<String, String> = args
        .iter()
        .map(|a| (a.key.clone(), a.value.clone()))
        .collect();
    let mut builds = Vec::new();
    for spec in specs {
        let index = named_or_only(
            definition,
            spec.container.as_deref(),
            &format!("--build {}", spec_text(spec)),
            "--build CONTAINER=DIR",
        )?;
        let container = &mut definition.container_definitions[index];
        let name = container.name.clone().unwrap_or_default();
        let tag = tag(&family, &name);
        container.image = Some(tag.clone());
        let mut build_args: HashMap<String, String> = spec
            .args
            .iter()
            .map(|a| (a.key.clone(), a.value.clone()))
            .collect();
        build_args.extend(args.clone());
        builds.push(Build {
            container: name,
            dir: spec.dir.clone(),
            dockerfile: spec.dockerfile.clone(),
            tag,
            args: build_args,
            target: spec.target.clone(),
            platform: spec.platform.clone(),
        });
    }
    Ok(builds)
}

fn spec_text(spec: &BuildSpec) -> String {
    let mut text = spec
        .container
        .as_ref()
        .map(|c| format!("{c}="))
        .unwrap_or_default();
    text.push_str(&spec.dir.display().to_string());
    if let Some(dockerfile) = &spec.dockerfile {
        text.push(':');
        text.push_str(&dockerfile.display().to_string());
    }
    text
}

/// Builds every image, at once; each builder line shows under
/// `<container> build |` on stderr.
pub async fn build_all(engine: &Engine, builds: &[Build]) -> Result<(), BuildError> {
    let prefixes = output_prefixes(builds);
    try_join_all(builds.iter().zip(prefixes).map(|(build, prefix)| {
        build_one(engine, build, move |line| {
            print_line_to(LogSink::Stderr, &prefix, line);
        })
    }))
    .await
    .map(drop)
}

/// The `<container> build | ` prefix of each build's output, aligned.
fn output_prefixes(builds: &[Build]) -> Vec<String> {
    let names: Vec<String> = builds
        .iter()
        .map(|b| format!("{} build", b.container))
        .collect();
    let prefixes = LogPrefixes::new(names.iter().map(String::as_str));
    names
        .iter()
        .enumerate()
        .map(|(i, name)| prefixes.prefix(name, i))
        .collect()
}

/// Builds one image, handing each line of the builder's output to `output`.
/// The context is archived in a thread of its own while it is sent, in
/// pieces of [`CHUNK`] bytes, a few of them in flight.
pub async fn build_one(
    engine: &Engine,
    build: &Build,
    output: impl FnMut(&str) + Send,
) -> Result<(), BuildError> {
    let dir = format!("`{}`", build.dir.display());
    let context_error = |source| BuildError::Context {
        container: build.container.clone(),
        dir: dir.clone(),
        source,
    };
    let context =
        context::prepare(&build.dir, build.dockerfile.as_deref()).map_err(context_error)?;
    let dockerfile = context.dockerfile.clone();
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let writer = tokio::task::spawn_blocking(move || {
        let mut out = std::io::BufWriter::with_capacity(CHUNK, ChannelWriter(sender.clone()));
        let written = context.write_to(&mut out).and_then(|files| {
            use std::io::Write as _;
            out.flush()
                .map(|()| files)
                .map_err(|source| context::ContextError::Read {
                    path: context.dir().to_owned(),
                    source,
                })
        });
        if let Err(e) = &written {
            // The engine then sees the upload fail; our error is the cause.
            let _ = sender.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
        written
    });
    let request = BuildRequest {
        context: Box::pin(tokio_stream_of(receiver)),
        dockerfile,
        tag: build.tag.clone(),
        args: build.args.clone(),
        labels: HashMap::from([(labels::ROLE.to_owned(), "build".to_owned())]),
        target: build.target.clone(),
        platform: build.platform.clone(),
    };
    let built = engine.build_image(request, output).await;
    let archived = writer
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    match (built, archived) {
        (Ok(()), Ok(files)) => {
            tracing::debug!(container = %build.container, files, "build context sent");
            Ok(())
        }
        // The context could not be read: that is why the upload failed.
        (_, Err(source)) if !source.is_broken_pipe() => Err(context_error(source)),
        // The engine stopped reading (the build failed): its error is the cause.
        (Err(source), _) => Err(BuildError::Failed {
            container: build.container.clone(),
            dir,
            source,
        }),
        (Ok(()), Err(source)) => Err(context_error(source)),
    }
}

/// The size of the pieces a context is sent in.
const CHUNK: usize = 64 * 1024;

/// Hands what is written to a channel; a receiver that is gone (the build
/// ended or was dropped) is a broken pipe, which ends the archiving.
struct ChannelWriter(tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>);

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(bytes::Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The receiving end of the context channel as a stream.
fn tokio_stream_of(
    mut receiver: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_specs_name_a_container_a_directory_and_maybe_a_dockerfile() {
        let spec: BuildSpec = "app=./svc:docker/Dev.Dockerfile".parse().unwrap();
        assert_eq!(spec.container.as_deref(), Some("app"));
        assert_eq!(spec.dir, PathBuf::from("./svc"));
        assert_eq!(
            spec.dockerfile,
            Some(PathBuf::from("docker/Dev.Dockerfile"))
        );
        let bare: BuildSpec = ".".parse().unwrap();
        assert_eq!((bare.container, bare.dockerfile), (None, None));
        assert!("app=".parse::<BuildSpec>().is_err());
        assert!("=dir".parse::<BuildSpec>().is_err());
        assert!("app=dir:".parse::<BuildSpec>().is_err());
        assert!("=x".parse::<BuildArg>().is_err());
        assert_eq!(
            "V=a=b".parse::<BuildArg>().unwrap(),
            BuildArg {
                key: "V".into(),
                value: "a=b".into()
            }
        );
    }

    #[test]
    fn tags_are_valid_image_names() {
        assert_eq!(tag("My_Service", "web"), "ecs-run-local/my-service-web:dev");
        assert_eq!(tag("api", "App.1"), "ecs-run-local/api-app-1:dev");
    }
}
