//! `ecs-run-local` runs an Amazon ECS task definition on a local Docker engine
//! the way ECS would.
//!
//! # Layout
//!
//! Data flows one way: `taskdef` → `plan` → runner → Docker and the agent.
//!
//! - [`taskdef`]: the serde model of a task definition, loading it from the
//!   shapes users have (register input, describe output, a bare container
//!   array), validation that reports every problem with its JSON path, and
//!   `run-task` style overrides.
//! - [`plan`]: a pure function from a validated definition and run options to
//!   the Docker objects to create: networks, the pause container, every
//!   container's create body with its injected environment, labels and names,
//!   volumes, and the start order derived from `dependsOn`. No I/O, so every
//!   mapping rule is a unit test.
//! - [`docker`]: the Docker engine behind a narrow interface (bollard);
//!   nothing ECS- or AWS-specific.
//! - [`runner`]: images, the shared network and agent, creating and starting
//!   a plan's containers in `dependsOn` order, supervision (essential exits,
//!   restart policies, Ctrl-C), `smoke` readiness and checks, the detached
//!   supervisor, the task list behind `ps`/`logs`/`stop`, and a teardown by
//!   label on every path.
//! - [`agent`]: the hidden `agent` and `pause` subcommands that run inside the
//!   agent image built from this executable: an axum router per endpoint
//!   family (task metadata v2/v3/v4 and stats, credentials, task protection,
//!   introspection, the CLI's admin API) over an in-memory state that a
//!   Docker event watcher keeps current.
//! - [`aws`]: one `SdkConfig` for everything AWS-facing: task role
//!   credentials assumed with STS and refreshed, secrets, S3 environment
//!   files, registry logins (ECR, `repositoryCredentials`) and task
//!   definitions read from ECS.
//! - [`output`]: how findings, plans, logs, progress, smoke reports and the
//!   compose export are shown to a person.
//! - [`cli`]: the clap types; their doc comments are the `--help` text.
//! - [`app`]: the orchestration layer that runs a parsed command and maps the
//!   outcome to an [`ExitStatus`].

pub mod agent;
pub mod app;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod docker;
pub mod exit;
pub mod output;
pub mod plan;
pub mod protocol;
pub mod runner;
pub mod taskdef;

pub use app::run;
pub use exit::{ExitStatus, Failure};
