//! Images: pull what is missing (or everything, or nothing), one progress bar
//! per image with its layers added up, for the platform `runtimePlatform` names.

use std::collections::BTreeMap;

use anyhow::Context as _;
use futures_util::future::try_join_all;

use crate::docker::{DockerError, Engine};
use crate::output::progress::PullBars;
use crate::plan::Plan;

/// `--pull`: when to pull an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PullPolicy {
    /// Pull every image, even one already on this machine.
    Always,
    /// Pull only what is not on this machine.
    #[default]
    Missing,
    /// Never pull; a missing image is an error.
    Never,
}

/// Makes every image of the plan's containers available.
pub async fn ensure(engine: &Engine, plan: &Plan, policy: PullPolicy) -> anyhow::Result<()> {
    // image and platform -> the containers that use it, for the error message.
    let mut wanted: BTreeMap<(String, Option<String>), Vec<String>> = BTreeMap::new();
    for c in &plan.containers {
        wanted
            .entry((c.image.clone(), c.platform.clone()))
            .or_default()
            .push(format!("`{}`", c.name));
    }
    let bars = PullBars::new();
    let pulls = wanted.into_iter().map(|((image, platform), users)| {
        let bars = bars.clone();
        async move {
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
            let bar = bars.add(&image);
            let result = engine
                .pull(&image, platform.as_deref(), None, |p| bar.update(&p))
                .await;
            bar.finish(result.is_ok());
            result
                .map_err(anyhow::Error::new)
                .with_context(|| format!("cannot start container {}", users.join(", ")))
        }
    });
    try_join_all(pulls).await.map(drop)
}
