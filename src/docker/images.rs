//! Images: whether one is present, pulling (with registry credentials and
//! progress), importing a root file system as an image, and removing one.

use bollard::query_parameters::{
    CreateImageOptionsBuilder, RemoveImageOptionsBuilder, TagImageOptionsBuilder,
};
use bytes::Bytes;
use futures_util::StreamExt;

use super::bounds::{self, Bounds};
use super::{DockerError, Engine, status_of, tolerate};

/// Registry credentials for a pull, as bollard takes them; re-exported so
/// that the AWS side can hand over a registry login without naming bollard.
pub use bollard::auth::DockerCredentials;

/// One step of an image pull, aggregated per layer by the caller.
#[derive(Debug, Clone)]
pub struct PullProgress {
    /// The layer the step is about, or `None` for messages about the image.
    pub layer: Option<String>,
    /// Docker's wording of the step: `Downloading`, `Pull complete`.
    pub status: String,
    /// Bytes done so far, when Docker counts them.
    pub current: Option<i64>,
    /// Bytes in all, when Docker knows them.
    pub total: Option<i64>,
}

impl Engine {
    /// Whether `image` is on this machine, so that the runner pulls or
    /// builds only what is missing.
    pub async fn image_exists(&self, image: &str) -> Result<bool, DockerError> {
        Ok(self.local_reference(image).await?.is_some())
    }

    /// How the engine names `image` on this machine: as it is, or on Podman
    /// `localhost/NAME` for a short name imported or built locally (Podman's
    /// Docker API looks short names up on Docker Hub only); `None` when it
    /// is not here.
    pub(super) async fn local_reference(&self, image: &str) -> Result<Option<String>, DockerError> {
        if self.inspect_image(image).await? {
            return Ok(Some(image.to_owned()));
        }
        let first = image.split('/').next().unwrap_or_default();
        let short = !image.contains('/')
            || !(first.contains('.') || first.contains(':') || first == "localhost");
        let local = format!("localhost/{image}");
        if self.podman && short && self.inspect_image(&local).await? {
            return Ok(Some(local));
        }
        Ok(None)
    }

    async fn inspect_image(&self, image: &str) -> Result<bool, DockerError> {
        match self
            .call("GET /images/{name}/json", self.docker.inspect_image(image))
            .await?
        {
            Ok(_) => Ok(true),
            Err(e) if status_of(&e) == Some(404) => Ok(false),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 400,
                message,
            }) => Err(DockerError::ImageName {
                image: image.to_owned(),
                message: rejection(&message).to_owned(),
            }),
            Err(e) => Err(DockerError::api(format!("cannot inspect image `{image}`"))(
                e,
            )),
        }
    }

    /// Pulls `image`, reporting each progress message.
    pub async fn pull(
        &self,
        image: &str,
        platform: Option<&str>,
        credentials: Option<DockerCredentials>,
        mut progress: impl FnMut(PullProgress) + Send,
    ) -> Result<(), DockerError> {
        let mut options = CreateImageOptionsBuilder::default().from_image(image);
        if let Some(platform) = platform {
            options = options.platform(platform);
        }
        let mut stream = self
            .slow()
            .create_image(Some(options.build()), None, credentials);
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| match e {
                bollard::errors::Error::RequestTimeoutError => {
                    bounds::unanswered("POST /images/create", Bounds::current().slow_answer)
                }
                e => DockerError::Pull {
                    image: image.to_owned(),
                    message: pull_message(&e),
                },
            })?;
            let detail = info.progress_detail.unwrap_or_default();
            progress(PullProgress {
                layer: info.id,
                status: info.status.unwrap_or_default(),
                current: detail.current,
                total: detail.total,
            });
        }
        Ok(())
    }

    /// Imports a root file system tarball as `repo:tag` (Docker's image
    /// import API), applying Dockerfile `changes` such as `ENTRYPOINT`.
    pub async fn import_rootfs(
        &self,
        tar: Bytes,
        repo: &str,
        tag: &str,
        changes: &[String],
    ) -> Result<(), DockerError> {
        let options = CreateImageOptionsBuilder::default()
            .from_src("-")
            .repo(repo)
            .tag(tag)
            .changes(changes.to_vec())
            .build();
        let mut stream =
            self.slow()
                .create_image(Some(options), Some(bollard::body_full(tar)), None);
        let mut imported = None;
        while let Some(item) = stream.next().await {
            let info = item.map_err(bounds::stream_error(
                "POST /images/create",
                Bounds::current().slow_answer,
                format!("cannot import image `{repo}:{tag}`"),
            ))?;
            // Docker and Podman end with the new image's id as the status.
            if let Some(status) = info.status.filter(|s| is_image_id(s)) {
                imported = Some(status);
            }
        }
        // Podman's import ignores the tag asked for: tag the image after it.
        let reference = format!("{repo}:{tag}");
        if let Some(id) = imported
            && !self.image_exists(&reference).await?
        {
            let options = TagImageOptionsBuilder::default()
                .repo(repo)
                .tag(tag)
                .build();
            self.call(
                "POST /images/{name}/tag",
                self.docker.tag_image(id.trim(), Some(options)),
            )
            .await?
            .map_err(DockerError::api(format!("cannot tag image `{reference}`")))?;
        }
        Ok(())
    }

    /// Removes `image` unless a container uses it or it is tagged; whether
    /// it went. For an image a rebuild has superseded.
    pub async fn remove_unused_image(&self, image: &str) -> bool {
        let options = RemoveImageOptionsBuilder::default().build();
        self.call(
            "DELETE /images/{name}",
            self.docker.remove_image(image, Some(options), None),
        )
        .await
        .is_ok_and(|removed| removed.is_ok())
    }

    /// Removes `image` even when containers still use it, for cleaning up
    /// images a run or a test made; one already gone is not an error.
    pub async fn remove_image(&self, image: &str) -> Result<(), DockerError> {
        let options = RemoveImageOptionsBuilder::default().force(true).build();
        let result = self
            .call(
                "DELETE /images/{name}",
                self.docker.remove_image(image, Some(options), None),
            )
            .await?
            .map(drop);
        tolerate(result, &[404], || format!("cannot remove image `{image}`"))
    }
}

/// Docker's pull errors are long; keep the part a person acts on.
fn pull_message(error: &bollard::errors::Error) -> String {
    match error {
        bollard::errors::Error::DockerStreamError { error } => error.clone(),
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// `sha256:<64 hex>` or a bare 64-hex id.
fn is_image_id(text: &str) -> bool {
    let hex = text.trim().strip_prefix("sha256:").unwrap_or(text.trim());
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The engine's reason for refusing an image name, without what it repeats
/// of the request: Docker says `no such image: NAME: invalid reference
/// format: …`.
fn rejection(message: &str) -> &str {
    message
        .find("invalid reference format")
        .map_or(message, |at| &message[at..])
}
