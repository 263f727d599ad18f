//! Building an image from a context archive through the engine's build API
//! (the classic builder, which Docker and Podman both speak), its output
//! handed over line by line.

use std::collections::HashMap;

use bollard::query_parameters::{BuildImageOptionsBuilder, BuilderVersion};
use bytes::Bytes;
use futures_util::StreamExt as _;

use super::{DockerError, Engine};

/// A build context as it is made: a tar archive in pieces, so a large one
/// is sent while it is read rather than held whole.
pub type ContextStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// What to build: the context, where its Dockerfile is, and how to tag it.
pub struct BuildRequest {
    /// The build context as a tar archive.
    pub context: ContextStream,
    /// The Dockerfile's path inside the context.
    pub dockerfile: String,
    /// The tag the image gets.
    pub tag: String,
    /// `--build-arg`s.
    pub args: HashMap<String, String>,
    /// Labels of the image.
    pub labels: HashMap<String, String>,
    /// The Dockerfile stage to build (`--target`), else its last.
    pub target: Option<String>,
    /// The platform to build for (`linux/amd64`), else the engine's.
    pub platform: Option<String>,
}

impl Engine {
    /// Builds `request`'s image, handing each line of the builder's output
    /// to `output`. A failed step is [`DockerError::Build`] with the step
    /// the builder was at. Dropping the future closes the connection, which
    /// makes the engine cancel the build; intermediate containers are
    /// removed on every path (`forcerm`).
    pub async fn build_image(
        &self,
        request: BuildRequest,
        mut output: impl FnMut(&str) + Send,
    ) -> Result<(), DockerError> {
        let mut options = BuildImageOptionsBuilder::default()
            .dockerfile(&request.dockerfile)
            .t(&request.tag)
            .rm(true)
            .forcerm(true)
            .buildargs(&request.args)
            .labels(&request.labels)
            .version(BuilderVersion::BuilderV1);
        if let Some(target) = &request.target {
            options = options.target(target);
        }
        if let Some(platform) = &request.platform {
            options = options.platform(platform);
        }
        let options = options.build();
        let docker = self.slow();
        let mut stream = docker.build_image(
            options,
            None,
            Some(bollard::body_try_stream(request.context)),
        );
        let mut step = None::<String>;
        let mut pending = String::new();
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(bollard::errors::Error::RequestTimeoutError) => {
                    return Err(super::bounds::unanswered(
                        "POST /build",
                        super::Bounds::current().slow_answer,
                    ));
                }
                Err(e) => {
                    return Err(DockerError::Build {
                        image: request.tag,
                        step,
                        message: build_message(&e),
                    });
                }
            };
            if let Some(error) = info.error_detail.and_then(|d| d.message) {
                return Err(DockerError::Build {
                    image: request.tag,
                    step,
                    message: error.trim().to_owned(),
                });
            }
            // Docker streams text in pieces that need not end at a line.
            let text = info.stream.or(info.status).unwrap_or_default();
            pending.push_str(&text);
            while let Some(end) = pending.find('\n') {
                let line: String = pending.drain(..=end).collect();
                let line = line.trim_end();
                if let Some(at) = step_of(line) {
                    step = Some(at.to_owned());
                }
                if !line.is_empty() {
                    output(line);
                }
            }
        }
        if !pending.trim().is_empty() {
            output(pending.trim_end());
        }
        Ok(())
    }
}

/// The step a builder line starts: Docker's `Step 2/4 : RUN make`, Podman's
/// `STEP 2/4: RUN make`; the step without its prefix.
fn step_of(line: &str) -> Option<&str> {
    let rest = line
        .strip_prefix("Step ")
        .or_else(|| line.strip_prefix("STEP "))?;
    let (number, _) = rest.split_once(':')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    let valid = number
        .trim()
        .split_once('/')
        .is_some_and(|(done, all)| digits(done) && digits(all));
    valid.then(|| rest.trim())
}

fn build_message(error: &bollard::errors::Error) -> String {
    match error {
        bollard::errors::Error::DockerStreamError { error } => error.trim().to_owned(),
        bollard::errors::Error::DockerResponseServerError { message, .. } => {
            message.trim().to_owned()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_read_from_docker_and_podman_output() {
        assert_eq!(step_of("Step 2/4 : RUN make"), Some("2/4 : RUN make"));
        assert_eq!(step_of("STEP 3/3: COPY . /app"), Some("3/3: COPY . /app"));
        assert_eq!(step_of(" ---> Running in 1234"), None);
        assert_eq!(step_of("Step by step: nothing"), None);
    }
}
