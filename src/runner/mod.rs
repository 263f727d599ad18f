//! Running a plan on the engine: images, the shared network and agent, the
//! task's containers in `dependsOn` order, supervision, and a teardown that
//! runs on every path (normal end, Ctrl-C or SIGTERM, a failure half-way).

pub mod agent_client;
pub mod agent_container;
pub mod detach;
pub mod error;
pub mod pull;
pub mod signals;
pub mod smoke_report;
pub mod smoke_test;
pub mod supervise;
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
    /// The agent that serves the task's endpoints.
    pub agent: AgentClient,
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
    /// `--detach`: told once every essential container has started.
    pub started: Option<tokio::sync::mpsc::UnboundedSender<()>>,
}

/// Where the task's credentials come from, and the first ones, fetched
/// before the run.
#[derive(Debug, Clone)]
pub struct TaskCredentials {
    pub aws: Aws,
    pub source: Source,
    pub first: Fetched,
}

/// Runs a planned task in the foreground until it stops, then removes
/// everything the run created. The agent image must already be in the plan.
pub async fn run(
    engine: &Engine,
    plan: &Plan,
    options: &RunOptions,
    shutdown: Shutdown,
) -> anyhow::Result<Ending> {
    let begun = Instant::now();
    let pull_started = chrono::Utc::now();
    pull::ensure(engine, plan, options.pull, options.aws.as_ref()).await?;
    let pulls = Pulls {
        started: Some(pull_started),
        stopped: Some(chrono::Utc::now()),
    };
    // Subscribe before anything exists, so that no start or exit is missed.
    let events = engine.container_events(&format!("{}={}", labels::RUN_ID, plan.run_id));
    let agent = &options.agent;
    let registration = TaskRegistration::from_plan(plan, pulls, &mut RandomIds);
    let mut refresher = None;
    let result = async {
        agent
            .register(&registration)
            .await
            .context("cannot register the task with the agent")?;
        if let (Some(credentials), Some(id)) = (&options.credentials, &plan.task.credentials_id) {
            agent
                .push_credentials(id, &credentials.first.credentials)
                .await
                .context("cannot hand the task role's credentials to the agent")?;
            refresher = Some(tokio::spawn(refresh(
                agent.clone(),
                id.clone(),
                credentials.clone(),
            )));
        }
        let mut task =
            supervise::Task::create(engine, plan, &options.secrets, &options.env_files).await?;
        task.log_to(options.logs);
        if let Some(started) = &options.started {
            task.notify_started(started.clone());
        }
        let mut events = events;
        let outcome = match &options.smoke {
            None => task.supervise(&mut events, shutdown.clone()).await,
            Some(spec) => Ok(Ending::Smoke(Box::new(
                smoke_test::run(&mut task, &mut events, shutdown.clone(), spec, begun).await,
            ))),
        };
        match &outcome {
            Ok(Ending::EssentialExited {
                container,
                exit_code,
            }) => {
                status(&format!(
                    "essential container `{container}` exited with {exit_code}; stopping the task"
                ));
            }
            Ok(Ending::Interrupted) => status("stopping the task (press Ctrl-C again to kill it)"),
            Ok(Ending::Smoke(_)) => status("stopping the task"),
            Err(_) => {}
        }
        if let Err(e) = agent.stopping(&plan.task.task_id).await {
            tracing::warn!(error = %e, "the agent did not take the task's stop");
        }
        task.stop(shutdown).await;
        outcome
    };
    let outcome = result.await;
    if let Some(refresher) = refresher {
        refresher.abort();
    }
    let cleaned = teardown::run_objects(engine, &plan.run_id).await;
    if let Err(e) = agent.deregister(&plan.task.task_id).await {
        tracing::warn!(error = %e, "the agent did not take the task's deregistration");
    }
    tracing::debug!(elapsed = ?begun.elapsed(), "run over");
    let ending = outcome?;
    cleaned?;
    Ok(ending)
}

/// Keeps the task role's credentials fresh in the agent: one STS call per
/// refresh window, however many containers ask the agent for them.
async fn refresh(agent: AgentClient, credentials_id: String, credentials: TaskCredentials) {
    let mut current = credentials.first;
    let mut fetched_at = chrono::Utc::now();
    loop {
        let wait = (current.refresh_at(fetched_at) - chrono::Utc::now())
            .to_std()
            .unwrap_or_default();
        tokio::time::sleep(wait).await;
        let now = chrono::Utc::now();
        match credentials.source.fetch(&credentials.aws).await {
            Ok(next) => match agent
                .push_credentials(&credentials_id, &next.credentials)
                .await
            {
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
            },
            Err(e) => {
                crate::output::status(&format!("warning: {e}; retrying in 10 s"));
                tokio::time::sleep(std::time::Duration::from_secs(10)).await;
            }
        }
    }
}
