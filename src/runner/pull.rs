//! Images: pull what is missing (or everything, or nothing), one progress bar
//! per image with its layers added up, for the platform `runtimePlatform` names.

use std::collections::BTreeMap;

use anyhow::Context as _;
use futures_util::future::try_join_all;

use crate::aws::Aws;
use crate::docker::{DockerError, Engine};
use crate::output::progress::PullBars;
use crate::plan::Plan;

/// `--pull`: when to pull an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Pull every image, even one already on this machine.
    Always,
    /// Pull only what is not on this machine.
    #[default]
    Missing,
    /// Never pull; a missing image is an error.
    Never,
}

/// The containers that use one image, and how to log in to pull it.
#[derive(Default)]
struct Users {
    names: Vec<String>,
    /// The first user's `repositoryCredentials`, with that user's name.
    login: Option<(String, String)>,
}

/// Makes every image of the plan's containers available. Private images are
/// pulled with their `repositoryCredentials` or an ECR token, through `aws`.
pub async fn ensure(
    engine: &Engine,
    plan: &Plan,
    policy: PullPolicy,
    aws: Option<&Aws>,
) -> anyhow::Result<()> {
    // image and platform -> the containers that use it, for the error message.
    let mut wanted: BTreeMap<(String, Option<String>), Users> = BTreeMap::new();
    for c in &plan.containers {
        let entry = wanted
            .entry((c.image.clone(), c.platform.clone()))
            .or_default();
        entry.names.push(format!("`{}`", c.name));
        if entry.login.is_none() {
            entry.login = c
                .repository_credentials
                .clone()
                .map(|arn| (c.name.clone(), arn));
        }
    }
    let bars = PullBars::new();
    let pulls = wanted.into_iter().map(|((image, platform), users)| {
        let bars = bars.clone();
        async move {
            let Users {
                names: users,
                login,
            } = users;
            let present = engine.image_exists(&image).await?;
            let needed = match policy {
                PullPolicy::Always => true,
                PullPolicy::Missing => !present,
                PullPolicy::Never if present => false,
                PullPolicy::Never => {
                    return Err(anyhow::Error::new(DockerError::ImageMissing { image }))
                        .with_context(|| format!("cannot start container {}", users.join(", ")));
                }
            };
            if !needed {
                return Ok(());
            }
            let credentials = match aws {
                Some(aws) => {
                    let (container, arn) = match &login {
                        Some((container, arn)) => (container.as_str(), Some(arn.as_str())),
                        None => ("", None),
                    };
                    crate::aws::registry::pull_credentials(aws, container, &image, arn).await?
                }
                None => None,
            };
            let bar = bars.add(&image);
            let result = engine
                .pull(&image, platform.as_deref(), credentials, |p| bar.update(&p))
                .await;
            bar.finish(result.is_ok());
            result
                .map_err(anyhow::Error::new)
                .with_context(|| format!("cannot start container {}", users.join(", ")))
        }
    });
    try_join_all(pulls).await.map(drop)
}
