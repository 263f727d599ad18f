//! `ecs-run-local TASKDEF`: check the definition before touching Docker,
//! resolve what ECS resolves (role, secrets, environment files), bring up the
//! agent, plan with its image, and run the task until it ends. `--detach`
//! hands the same run to a background supervisor.

use std::time::Instant;

use crate::aws::LazyAws;
use crate::aws::sessions::{RoleSession, Source};
use crate::docker::{Engine, EnginePlatform};
use crate::exit::{ExitStatus, Failure};
use crate::output::logs::LogSink;
use crate::output::status;
use crate::plan::{self, Plan, PlanOptions, RandomIds};
use crate::runner::build::{Build, BuildArg, BuildSpec};
use crate::runner::smoke_test::SmokeSpec;
use crate::runner::{self, AgentStartup, Ending, RunOptions, Shutdown, TaskCredentials};
use crate::source::ImageAsset;
use crate::taskdef::{self, Loaded, TaskDefinition};

use super::definition;
use super::{AgentSettings, ExecutionRole, RunSettings};

/// Runs a task in the foreground (or, with `detach`, under a supervisor).
pub fn run(settings: &RunSettings, detach: bool) -> Result<ExitStatus, Failure> {
    if detach && std::env::var_os(runner::detach::DETACHED_LOG).is_none() {
        return super::block_on(runner::detach::start());
    }
    super::block_on(async {
        let finished = Box::pin(run_task(settings, Mode::Run { detached: detach })).await?;
        Ok(match finished.ended.map_err(run_failure)? {
            Ending::EssentialExited { exit_code, .. } => ExitStatus::of_container(exit_code),
            Ending::Interrupted => ExitStatus::Interrupted,
            Ending::Smoke(_) => ExitStatus::Failure,
        })
    })
}

/// A failed run's exit status: bad input the engine showed (a `FireLens`
/// router's unknown `user`) is exit 2, as an invalid definition is.
pub(super) fn run_failure(error: anyhow::Error) -> Failure {
    match error.downcast_ref::<runner::error::RunError>() {
        Some(e) if e.is_usage() => Failure::usage(error, Vec::new()),
        // smoke's `--timeout` ran out while the engine kept it waiting.
        Some(runner::error::RunError::SmokeTimeout { .. }) => Failure {
            status: ExitStatus::Timeout,
            error,
            details: Vec::new(),
        },
        _ => error.into(),
    }
}

/// How a started task is followed.
#[derive(Clone, Copy)]
pub(super) enum Mode<'a> {
    /// In the foreground, or as the supervisor of a `--detach`ed task.
    Run { detached: bool },
    /// `smoke`: checked, stopped, and reported.
    Smoke(&'a SmokeSpec),
}

/// A task that ran (its plan, and how the run ended), or one stopped by
/// Ctrl-C before it existed (no plan).
pub(super) struct Finished {
    pub plan: Option<Plan>,
    pub ended: anyhow::Result<Ending>,
    pub begun: Instant,
}

/// The whole run of one task, raced against Ctrl-C and SIGTERM from the
/// first step; what fails before the task exists is an `Err`.
pub(super) async fn run_task(settings: &RunSettings, mode: Mode<'_>) -> Result<Finished, Failure> {
    let shutdown = Shutdown::listen()?;
    let begun = Instant::now();
    let mut preparing = Box::pin(prepare(settings, mode, begun));
    // smoke's deadline holds before the task exists too, whatever the
    // engine does: nothing of the task exists to clean up.
    let prepared = shutdown
        .race(async {
            match mode {
                Mode::Smoke(spec) => tokio::select! {
                    prepared = &mut preparing => Ok(prepared),
                    // Named while the request it waits for is under way.
                    () = tokio::time::sleep_until((begun + spec.timeout).into()) => {
                        Err(runner::smoke_timeout(spec.timeout))
                    }
                },
                Mode::Run { .. } => Ok((&mut preparing).await),
            }
        })
        .await;
    drop(preparing);
    let prepared = match prepared {
        Some(Err(timed_out)) => {
            return Err(Failure {
                status: ExitStatus::Timeout,
                error: timed_out.into(),
                details: Vec::new(),
            });
        }
        Some(Ok(prepared)) => Some(prepared),
        None => None,
    };
    if matches!(mode, Mode::Run { detached: true }) && !matches!(prepared, Some(Ok(_))) {
        // The detaching CLI reads what we say through its own handle.
        runner::detach::remove_log();
    }
    let Some(prepared) = prepared else {
        status("stopped before the task started; nothing was left behind");
        return Ok(Finished {
            plan: None,
            ended: Ok(Ending::Interrupted),
            begun,
        });
    };
    let (engine, plan, options) = prepared?;
    let ended = Box::pin(runner::run(&engine, &plan, &options, shutdown)).await;
    if matches!(mode, Mode::Run { detached: true }) {
        runner::detach::remove_log();
    }
    Ok(Finished {
        plan: Some(plan),
        ended,
        begun,
    })
}

/// Everything before the task exists: the definition, what ECS resolves
/// (role, secrets, environment files), the agent, and the plan.
async fn prepare(
    settings: &RunSettings,
    mode: Mode<'_>,
    begun: Instant,
) -> Result<(Engine, Plan, RunOptions), Failure> {
    let aws = LazyAws::new(
        settings.aws.profile.as_deref(),
        settings.task.region.as_deref(),
        settings.aws.timeout,
        settings.aws.mfa_code.as_deref(),
    );
    let (loaded, builds) = checked_definition(settings, mode, &aws).await?;
    // The task's id comes first: its role session is named after it.
    let task_id = plan::Ids::hex(&mut RandomIds, 32);
    // A role that cannot be assumed fails the run before anything exists.
    let credentials = task_credentials(settings, &loaded, &aws, &task_id).await?;
    let execution = execution_aws(settings, &loaded.definition, &aws).await?;
    let engine = Engine::connect().await.map_err(anyhow::Error::new)?;
    let platform = engine.platform().await.map_err(anyhow::Error::new)?;
    runner::pull::check_architecture(&loaded.definition, &platform).map_err(anyhow::Error::new)?;
    // A failed build fails the run before anything of the task exists.
    runner::build::build_all(&engine, &builds)
        .await
        .map_err(anyhow::Error::new)?;
    let (image, agent) = bring_up_agent(&engine, &platform, &settings.agent, settings.pull).await?;
    // Until the run takes over the agent's start-up, a failure here waits
    // for it: a process that ends half-way through it leaves an agent
    // container without its token.
    let planned = async {
        // The caller's account only when the run talks to AWS anyway.
        let account = match aws.loaded() {
            Some(aws) => aws.account().await,
            None => None,
        };
        let options = PlanOptions {
            agent_image: image.clone(),
            agent_loopback_port: settings.agent.port,
            profile_credentials: credentials.is_some(),
            account,
            profile_region: aws.profile_region().await,
            publish: settings.overrides.publish.clone(),
            metadata_file: settings.metadata_file,
            // The task's own cgroup, as the agent makes it, where the engine
            // takes a cgroup path (the systemd driver takes only slices). Not on
            // Podman: its `conmon` processes live in the parent, and an exec
            // session's lingers for minutes, so the parent cannot be removed.
            task_cgroup: platform.os == "linux"
                && platform.cgroup_driver == "cgroupfs"
                && !engine.is_podman(),
            task_id: Some(task_id),
            ..definition::plan_options(&settings.task, &settings.definition)
        };
        let mut plan = plan::plan(&loaded.definition, &options, &mut RandomIds)
            .map_err(|e| definition::located_failure(&loaded, e))?;
        status(&format!(
            "running `{}:{}` ({}, {} network mode)",
            plan.task.family,
            plan.task.revision,
            taskdef::load::plural(plan.containers.len(), "container"),
            plan.task.network_mode
        ));
        let secrets = match &execution {
            Some(aws) => crate::aws::secrets::resolve(aws, &plan)
                .await
                .map_err(anyhow::Error::new)?,
            None => crate::aws::secrets::Resolved::default(),
        };
        let env_files =
            crate::aws::envfiles::resolve(execution.as_ref(), &plan, &settings.env_files)
                .await
                .map_err(anyhow::Error::new)?;
        firelens_s3_config(execution.as_ref(), &mut plan).await?;
        let detached = matches!(mode, Mode::Run { detached: true });
        let options = RunOptions {
            pull: settings.pull,
            aws: execution,
            agent: agent.clone(),
            agent_image: image,
            agent_port: settings.agent.port,
            credentials,
            secrets,
            env_files,
            logs: match mode {
                _ if detached => LogSink::Discard,
                Mode::Smoke(_) => LogSink::Stderr,
                Mode::Run { .. } => LogSink::Stdout,
            },
            smoke: match mode {
                Mode::Smoke(spec) => Some(spec.clone()),
                Mode::Run { .. } => None,
            },
            begun,
            started: detached.then(|| announce_start(&plan)),
            built_images: builds.iter().map(|b| b.tag.clone()).collect(),
            watch: if settings.watch { builds } else { Vec::new() },
        };
        Ok::<_, Failure>((plan, options))
    }
    .await;
    if planned.is_err() {
        let _ = agent.ready().await;
    }
    let (plan, options) = planned?;
    Ok((engine, plan, options))
}

/// The definition as this run will use it: read, overridden (`--build`'s
/// containers running their image's tag), and free of errors (its warnings
/// printed); smoke's checks must name its containers.
async fn checked_definition(
    settings: &RunSettings,
    mode: Mode<'_>,
    aws: &LazyAws,
) -> Result<(Loaded, Vec<Build>), Failure> {
    let sourced = definition::load(&settings.definition, &settings.task, aws).await?;
    let mut loaded = sourced.loaded;
    definition::apply_overrides(&mut loaded, &settings.overrides)?;
    let specs = with_assets(&loaded, &settings.builds, &sourced.assets);
    let builds = runner::build::apply(&mut loaded.definition, &specs, &settings.build_args)
        .map_err(|e| Failure::usage(anyhow::Error::new(e), Vec::new()))?;
    // A built image replaces whatever the source said.
    loaded.placeholders.retain(|p| {
        !builds.iter().any(|b| {
            loaded
                .definition
                .container_definitions
                .iter()
                .position(|c| c.name() == b.container)
                .is_some_and(|i| p.path == format!("containerDefinitions[{i}].image"))
        })
    });
    definition::settle_placeholders_for_run(&mut loaded, settings.task.task_role_arn.is_some())?;
    if let Mode::Smoke(spec) = mode {
        spec.check(&loaded.definition)
            .map_err(|e| Failure::usage(anyhow::anyhow!(e), Vec::new()))?;
    }
    definition::reject_errors(&loaded)?;
    definition::print_warnings(&loaded);
    crate::aws::envfiles::check_local(&loaded.definition, &settings.env_files)
        .map_err(|e| Failure::usage(anyhow::Error::new(e), Vec::new()))?;
    Ok((loaded, builds))
}

/// `--build`, and a build of each CDK image asset whose container neither
/// `--build` nor `--image` gives an image.
fn with_assets(loaded: &Loaded, builds: &[BuildSpec], assets: &[ImageAsset]) -> Vec<BuildSpec> {
    let mut specs = builds.to_vec();
    let only = (loaded.definition.container_definitions.len() == 1)
        .then(|| loaded.definition.container_definitions[0].name().to_owned());
    for asset in assets {
        let built = builds
            .iter()
            .any(|b| b.container.as_ref().or(only.as_ref()) == Some(&asset.container));
        let index = loaded
            .definition
            .container_definitions
            .iter()
            .position(|c| c.name() == asset.container);
        let overridden = index.is_some_and(|i| {
            crate::taskdef::overrides::locate(
                &loaded.overridden,
                &format!("containerDefinitions[{i}].image"),
            )
            .is_some()
        });
        if built || overridden {
            continue;
        }
        specs.push(BuildSpec {
            container: Some(asset.container.clone()),
            dir: asset.directory.clone(),
            dockerfile: asset.dockerfile.clone(),
            args: asset
                .build_args
                .iter()
                .map(|(key, value)| BuildArg {
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect(),
            target: asset.target.clone(),
            platform: asset.platform.clone(),
        });
    }
    specs
}

/// The agent image and the shared network, each created when absent, and
/// the agent coming up in the background (the run waits for it before its
/// containers start).
async fn bring_up_agent(
    engine: &Engine,
    platform: &EnginePlatform,
    agent: &AgentSettings,
    pull: runner::PullPolicy,
) -> Result<(String, AgentStartup), Failure> {
    use crate::runner::agent_container;
    let (image, ()) = tokio::try_join!(
        agent_container::ensure_image(engine, platform, agent.image.as_deref(), pull),
        agent_container::ensure_network(engine),
    )?;
    let startup = AgentStartup::spawn(engine, &image, agent.port);
    Ok((image, startup))
}

/// For `--detach`: a channel the run signals once its essential containers
/// run; the detaching CLI waits for the line this prints on our stdout.
fn announce_start(plan: &Plan) -> tokio::sync::mpsc::UnboundedSender<()> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let id = plan.task.task_id.clone();
    tokio::spawn(async move {
        if rx.recv().await.is_some() {
            let _ = super::write_stdout(&format!("{}{id}\n", runner::detach::STARTED));
        }
    });
    tx
}

/// The AWS configuration that reads what ECS reads with the execution role
/// (secrets, S3 environment files, registry logins), when the task needs
/// any: the user's own, or with `--execution-role assume` the definition's
/// `executionRoleArn` assumed from it.
async fn execution_aws(
    settings: &RunSettings,
    definition: &TaskDefinition,
    aws: &LazyAws,
) -> Result<Option<crate::aws::Aws>, Failure> {
    let needed = definition.container_definitions.iter().any(|c| {
        !c.secrets.is_empty()
            || c.log_configuration.as_ref().is_some_and(|l| {
                l.log_driver.as_deref() == Some("awsfirelens") && !l.secret_options.is_empty()
            })
            || c.firelens_configuration.as_ref().is_some_and(|f| {
                f.options.get("config-file-type").map(String::as_str) == Some("s3")
            })
    }) || crate::aws::envfiles::needs_s3(definition, &settings.env_files)
        || (settings.pull != runner::PullPolicy::Never
            && crate::aws::registry::needs_login(definition));
    if !needed {
        return Ok(None);
    }
    let own = aws.get().await.map_err(anyhow::Error::new)?;
    let role = match (settings.aws.execution_role, &definition.execution_role_arn) {
        (ExecutionRole::Assume, Some(role)) => role,
        (ExecutionRole::Assume, None) => {
            status(
                "the definition has no executionRoleArn; reading secrets with your own credentials",
            );
            return Ok(Some(own.clone()));
        }
        (ExecutionRole::Profile, _) => return Ok(Some(own.clone())),
    };
    let family = definition.family.clone().unwrap_or_default();
    let session = RoleSession::execution(role, &family);
    let fetched = session.fetch(own).await.map_err(anyhow::Error::new)?;
    Ok(Some(own.assuming(&fetched)))
}

/// A `FireLens` router's `config-file-type: s3` file, read as ECS reads it,
/// with the execution role, before anything exists.
async fn firelens_s3_config(
    execution: Option<&crate::aws::Aws>,
    plan: &mut Plan,
) -> Result<(), Failure> {
    let Some(firelens) = plan.firelens.as_mut() else {
        return Ok(());
    };
    let router = firelens.router.clone();
    let Some(s3) = firelens.s3_config.as_mut() else {
        return Ok(());
    };
    let fail = |reason: String| {
        anyhow::anyhow!(
            "cannot read the FireLens configuration of `{router}` from `{}`: {reason}",
            s3.arn
        )
    };
    let aws = execution.ok_or_else(|| fail("no AWS configuration".into()))?;
    let text = crate::aws::envfiles::fetch(aws, &s3.arn)
        .await
        .map_err(fail)?;
    s3.contents = Some(text);
    Ok(())
}

/// The task's credentials: its role assumed in a session named after the
/// task (or the profile's own with `--credentials profile`), fetched once
/// before anything is created.
async fn task_credentials(
    settings: &RunSettings,
    loaded: &Loaded,
    aws: &LazyAws,
    task_id: &str,
) -> Result<Option<TaskCredentials>, Failure> {
    let role = settings
        .task
        .task_role_arn
        .clone()
        .or_else(|| loaded.definition.task_role_arn.clone());
    let source = match role {
        Some(role) => Source::Role(RoleSession::new(&role, task_id, settings.aws.role_duration)),
        None if settings.aws.profile_credentials => Source::Profile {
            duration: settings.aws.role_duration,
        },
        None => return Ok(None),
    };
    let aws = aws.get().await.map_err(anyhow::Error::new)?;
    let first = source.fetch(aws).await.map_err(anyhow::Error::new)?;
    Ok(Some(TaskCredentials {
        aws: aws.clone(),
        source,
        first,
    }))
}
