//! Running a plan on the engine: images, the shared network and agent, the
//! task's containers in `dependsOn` order, supervision, and a teardown that
//! runs on every path (normal end, Ctrl-C or SIGTERM, a failure half-way).

pub mod agent_client;
pub mod agent_container;
pub mod agent_recovery;
pub mod build;
mod create;
pub mod detach;
pub mod error;
mod firelens;
mod links;
mod metadata_file;
pub mod probe;
pub mod pull;
mod replace;
pub mod signals;
pub mod smoke_report;
pub mod smoke_test;
pub mod supervise;
pub mod task_cgroup;
pub mod task_list;
pub mod teardown;

use std::time::Instant;

use anyhow::Context as _;

use crate::aws::Aws;
use crate::aws::envfiles::EnvFiles;
use crate::aws::secrets::Resolved;
use crate::aws::sessions::{Fetched, Source};
use crate::docker::Engine;
use crate::output::logs::LogSink;
use crate::output::status;
use crate::plan::{Plan, RandomIds, labels};
use crate::protocol::{Pulls, TaskRegistration};

pub use agent_client::AgentClient;
pub use agent_container::AgentStartup;
pub use agent_recovery::{CurrentCredentials, SharedAgent};
pub use error::RunError;

pub use pull::PullPolicy;
pub use signals::{Shutdown, Stop};
pub use supervise::Ending;

/// How a run should behave, beyond the plan.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub pull: PullPolicy,
    /// The user's AWS configuration, when the run talks to AWS (private images).
    pub aws: Option<Aws>,
    /// The agent that serves the task's endpoints, coming up.
    pub agent: AgentStartup,
    /// The agent's image and loopback port, to bring it back if it dies.
    pub agent_image: String,
    pub agent_port: u16,
    /// The task role's session, when the task has a role.
    pub credentials: Option<TaskCredentials>,
    /// The values of the containers' `secrets`, resolved before the run.
    pub secrets: Resolved,
    /// The variables of the containers' environment files.
    pub env_files: EnvFiles,
    /// Where the containers' output goes.
    pub logs: LogSink,
    /// `smoke`: wait for readiness, run the checks, stop, and report.
    pub smoke: Option<smoke_test::SmokeSpec>,
    /// When the command began: `smoke --timeout` counts from there, so the
    /// engine's connection, the agent and the pulls are within it.
    pub begun: Instant,
    /// `--detach`: told once every essential container has started.
    pub started: Option<tokio::sync::mpsc::UnboundedSender<()>>,
    /// The images `--build` made for this run, never pulled.
    pub built_images: Vec<String>,
    /// `--watch`: the builds to redo, and containers to replace, on change.
    pub watch: Vec<build::Build>,
}

/// Where the task's credentials come from, and the first ones, fetched
/// before the run.
#[derive(Debug, Clone)]
pub struct TaskCredentials {
    pub aws: Aws,
    pub source: Source,
    pub first: Fetched,
}

/// `smoke --timeout` ran out before the task's containers existed; the
/// engine request it was waiting for, if any, is named.
#[must_use]
pub fn smoke_timeout(timeout: std::time::Duration) -> RunError {
    RunError::SmokeTimeout {
        timeout: crate::docker::bounds::human(timeout),
        waiting_on: crate::docker::bounds::waiting_on(),
    }
}

/// Runs a planned task in the foreground until it stops, then removes
/// everything the run created. The agent image must already be in the plan.
/// Until the containers exist (pulls, registration, creation) the run is
/// raced against Ctrl-C and SIGTERM; after that supervision stops the task
/// as ECS would.
#[expect(
    clippy::too_many_lines,
    reason = "a run's stages in order, each raced against Ctrl-C; House II splits the runner next"
)]
pub async fn run(
    engine: &Engine,
    plan: &Plan,
    options: &RunOptions,
    shutdown: Shutdown,
) -> anyhow::Result<Ending> {
    let begun = Instant::now();
    // Subscribe before anything exists, so that no start or exit is missed.
    let events = engine.container_events(&format!("{}={}", labels::RUN_ID, plan.run_id));
    let current = CurrentCredentials::new(options.credentials.as_ref());
    let mut background = Background::default();
    // The agent the task is registered with, once it is.
    let mut registered: Option<SharedAgent> = None;
    let result = async {
        let mut pulling = Box::pin(pull_images(engine, plan, options));
        // Nothing of the task exists yet: smoke's deadline cuts a pull short.
        let pulled = shutdown
            .race(async {
                match &options.smoke {
                    Some(spec) => tokio::select! {
                        pulls = &mut pulling => Ok(pulls),
                        () = tokio::time::sleep_until((options.begun + spec.timeout).into()) => {
                            Err(smoke_timeout(spec.timeout))
                        }
                    },
                    None => Ok((&mut pulling).await),
                }
            })
            .await;
        drop(pulling);
        let pulls = match pulled {
            None => {
                status("stopping the task (press Ctrl-C again to kill it)");
                return Ok(Ending::Interrupted);
            }
            Some(Err(timed_out)) => return Err(timed_out.into()),
            Some(Ok(pulls)) => pulls,
        };
        let pulls = pulls?;
        // The agent comes up (when this run started it) and takes the
        // registration while the containers are created; none starts before
        // both are done. Creation is not cut short: a create dropped
        // half-way may still finish on the engine after the teardown has
        // looked. A stop asked for meanwhile is taken once they all exist.
        let registering = Box::pin(register(
            engine,
            plan,
            options,
            pulls,
            &current,
            &mut background,
        ));
        let creating = Box::pin(supervise::Task::create(
            engine,
            plan,
            &options.secrets,
            &options.env_files,
        ));
        let (registering, created) = tokio::join!(shutdown.race(registering), creating);
        let registering = registering.map(|r| r.map(|agent| registered = Some(agent)));
        let mut task = created?;
        registering.transpose()?;
        task.log_to(options.logs);
        if let Some(started) = &options.started {
            task.notify_started(started.clone());
        }
        if shutdown.current() != Stop::Running {
            status("stopping the task (press Ctrl-C again to kill it)");
            background.stop();
            task.stop(shutdown).await;
            return Ok(Ending::Interrupted);
        }
        if !options.watch.is_empty() {
            let (watches, rebuilt) = build::watch::start(engine, &options.watch)?;
            for watch in watches {
                background.spawn(watch);
            }
            task.rebuilds = Some(rebuilt);
            for b in &options.watch {
                status(&format!(
                    "watching {} for changes to `{}`",
                    b.dir.display(),
                    b.container
                ));
            }
        }
        let mut events = events;
        let outcome = match &options.smoke {
            None => Box::pin(task.supervise(&mut events, shutdown.clone())).await,
            Some(spec) => Ok(Ending::Smoke(Box::new(
                Box::pin(smoke_test::run(
                    &mut task,
                    &mut events,
                    shutdown.clone(),
                    spec,
                    &options.agent_image,
                    begun,
                    options.begun + spec.timeout,
                ))
                .await,
            ))),
        };
        match &outcome {
            Ok(Ending::EssentialExited {
                container,
                exit_code,
                oom,
            }) => {
                status(&format!(
                    "essential container `{container}` exited with {exit_code}{}; stopping the task",
                    supervise::oom_reason(*oom)
                ));
            }
            Ok(Ending::Interrupted) => status("stopping the task (press Ctrl-C again to kill it)"),
            Ok(Ending::Smoke(_)) => status("stopping the task"),
            Err(_) => {}
        }
        // From here on a dead agent stays dead: the task is going away.
        background.stop();
        if let Some(agent) = &registered {
            let ending = agent.get().with_timeout(agent_client::ENDING_TIMEOUT);
            if let Err(e) = ending.stopping(&plan.task.task_id).await {
                tracing::warn!(error = %e, "the agent did not take the task's stop");
            }
        }
        task.stop(shutdown).await;
        outcome
    };
    let outcome = Box::pin(result).await;
    background.stop();
    let cleaned = teardown::run_objects(engine, &plan.run_id).await;
    // A run that ended before the agent stood waits for it: a process that
    // ends half-way through its start-up leaves it without its token.
    if registered.is_none() {
        let _ = options.agent.ready().await;
    }
    if let Some(agent) = &registered {
        let ending = agent.get().with_timeout(agent_client::ENDING_TIMEOUT);
        if let Err(e) = ending.deregister(&plan.task.task_id).await {
            tracing::warn!(error = %e, "the agent did not take the task's deregistration");
        }
    }
    tracing::debug!(elapsed = ?begun.elapsed(), "run over");
    let ending = outcome?;
    cleaned?;
    Ok(ending)
}

/// Makes the task's images available; when that began and ended.
async fn pull_images(engine: &Engine, plan: &Plan, options: &RunOptions) -> anyhow::Result<Pulls> {
    let started = chrono::Utc::now();
    pull::ensure(
        engine,
        plan,
        options.pull,
        options.aws.as_ref(),
        &options.built_images,
    )
    .await?;
    Ok(Pulls {
        started: Some(started),
        stopped: Some(chrono::Utc::now()),
    })
}

/// Waits for the agent, registers the task with it (and its credentials),
/// and starts the background work that keeps both current.
async fn register(
    engine: &Engine,
    plan: &Plan,
    options: &RunOptions,
    pulls: Pulls,
    current: &CurrentCredentials,
    background: &mut Background,
) -> anyhow::Result<SharedAgent> {
    let agent = SharedAgent::new(options.agent.ready().await?);
    let registration = TaskRegistration::from_plan(plan, pulls, &mut RandomIds);
    agent
        .get()
        .register(&registration)
        .await
        .context("cannot register the task with the agent")?;
    if let (Some(credentials), Some(id)) = (&options.credentials, &plan.task.credentials_id) {
        agent
            .get()
            .push_credentials(id, &credentials.first.credentials)
            .await
            .context("cannot hand the task role's credentials to the agent")?;
        background.spawn(refresh(
            agent.clone(),
            id.clone(),
            credentials.clone(),
            current.clone(),
        ));
    }
    background.spawn(agent_recovery::watch(
        engine.clone(),
        agent_recovery::Recovery {
            image: options.agent_image.clone(),
            port: options.agent_port,
            agent: agent.clone(),
            registration,
            credentials_id: plan.task.credentials_id.clone(),
            current: current.clone(),
        },
    ));
    Ok(agent)
}

/// Work a run keeps going beside supervision (credential refreshes, the
/// agent's recovery), aborted when the run stops, on every path.
#[derive(Default)]
struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Background {
    fn spawn(&mut self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        self.0.push(tokio::spawn(work));
    }

    fn stop(&mut self) {
        for handle in self.0.drain(..) {
            handle.abort();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Keeps the task role's credentials fresh in the agent: one STS call per
/// refresh window, however many containers ask the agent for them.
async fn refresh(
    agent: SharedAgent,
    credentials_id: String,
    credentials: TaskCredentials,
    served: CurrentCredentials,
) {
    let mut current = credentials.first;
    let mut fetched_at = chrono::Utc::now();
    loop {
        let wait = (current.refresh_at(fetched_at) - chrono::Utc::now())
            .to_std()
            .unwrap_or_default();
        tokio::time::sleep(wait).await;
        let now = chrono::Utc::now();
        match credentials.source.fetch(&credentials.aws).await {
            Ok(next) => {
                // What the agent must serve, even if it is being brought back.
                served.set(&next.credentials);
                let pushed = agent
                    .get()
                    .push_credentials(&credentials_id, &next.credentials)
                    .await;
                match pushed {
                    Ok(()) => {
                        tracing::info!(
                            source = %credentials.source.describe(),
                            expires = %crate::aws::sessions::describe_expiry(&next),
                            "refreshed the task's credentials"
                        );
                        current = next;
                        fetched_at = now;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot hand refreshed credentials to the agent");
                        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    }
                }
            }
            Err(e) => {
                crate::output::status(&format!("warning: {e}; retrying in 10 s"));
                tokio::time::sleep(std::time::Duration::from_secs(10)).await;
            }
        }
    }
}
