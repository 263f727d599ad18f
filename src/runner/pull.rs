//! Images: pull what is missing (or everything, or nothing), one progress bar
//! per image with its layers added up, for the platform `runtimePlatform` names.

use std::collections::BTreeMap;

use anyhow::Context as _;
use futures_util::future::try_join_all;

use crate::aws::Aws;
use crate::docker::{DockerError, Engine, EnginePlatform};
use crate::output::progress::PullBars;
use crate::plan::Plan;
use crate::runner::RunError;
use crate::taskdef::TaskDefinition;
use crate::taskdef::model::CpuArchitecture;

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
/// pulled with their `repositoryCredentials` or an ECR token, through `aws`;
/// the images `built` for the run are already here.
pub async fn ensure(
    engine: &Engine,
    plan: &Plan,
    policy: PullPolicy,
    aws: Option<&Aws>,
    built: &[String],
) -> anyhow::Result<()> {
    // image and platform -> the containers that use it, for the error message.
    let mut wanted: BTreeMap<(String, Option<String>), Users> = BTreeMap::new();
    for c in plan.containers.iter().filter(|c| !built.contains(&c.image)) {
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
            let present = engine
                .image_exists(&image)
                .await
                .with_context(|| format!("cannot start container {}", users.join(", ")))?;
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

/// A task whose `runtimePlatform.cpuArchitecture` the engine cannot run is
/// refused before anything starts: the engine must be of that architecture,
/// emulate others (Docker Desktop, `OrbStack`), or have QEMU registered for it
/// with the kernel (`binfmt_misc`, for an engine on this machine).
pub fn check_architecture(
    definition: &TaskDefinition,
    engine: &EnginePlatform,
) -> Result<(), RunError> {
    let Some(wanted) = definition
        .runtime_platform
        .as_ref()
        .and_then(|p| p.cpu_architecture)
    else {
        return Ok(());
    };
    let arch = wanted
        .docker_platform()
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let qemu = match arch {
        "arm64" => "qemu-aarch64",
        _ => "qemu-x86_64",
    };
    let local_engine = std::env::var("DOCKER_HOST").map_or(true, |h| h.starts_with("unix://"));
    let emulated = engine.emulates()
        || (local_engine
            && std::path::Path::new("/proc/sys/fs/binfmt_misc")
                .join(qemu)
                .exists());
    if engine.architecture.is_empty() || engine.docker_architecture() == arch || emulated {
        return Ok(());
    }
    Err(RunError::Architecture {
        wanted: match wanted {
            CpuArchitecture::X86_64 => "X86_64",
            CpuArchitecture::Arm64 => "ARM64",
        }
        .to_owned(),
        engine: engine.architecture.clone(),
    })
}
