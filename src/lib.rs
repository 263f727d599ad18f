//! `ecs-run-local` runs an Amazon ECS task definition on a local Docker engine
//! the way ECS would.
//!
//! # Layout
//!
//! Modules are layered (docs/ARCHITECTURE.md, "Layers"); each imports only
//! modules below it, and `tests/integration/layers.rs` keeps it so. From the
//! bottom:
//!
//! - [`taskdef`]: the serde model of a task definition, loading it from the
//!   shapes users have (register input, describe output, a bare container
//!   array), validation that reports every problem with its JSON path (one
//!   file per area), and `run-task` style overrides.
//! - [`source`]: where a definition really lives: CloudFormation and SAM
//!   templates (JSON or YAML with short-form tags), CDK cloud assemblies and
//!   `terraform show -json` output, read into the definition with every path
//!   remembering its place in the user's file; intrinsics evaluated from a
//!   context of values fetched beforehand, so it stays pure.
//! - [`exit`]: the exit status and the failure every command returns.
//! - [`plan`]: a pure function from a validated definition and run options to
//!   the Docker objects to create: networks, the pause container, every
//!   container's create body with its injected environment, labels and names,
//!   volumes, and the start order derived from `dependsOn`. No I/O, so every
//!   mapping rule is a unit test.
//! - [`docker`]: the Docker engine behind a narrow interface (bollard), one
//!   file per API area; nothing ECS- or AWS-specific.
//! - [`protocol`]: what the CLI and the agent both speak: the admin API's
//!   paths and bodies, and JSON as the Go agent writes it.
//! - [`aws`]: one `SdkConfig` for everything AWS-facing: role sessions
//!   assumed with STS and refreshed, secrets, S3 environment files, registry
//!   logins (ECR, `repositoryCredentials`) and task definitions read from ECS;
//!   MFA profiles' sessions, shared with the AWS CLI's cache; a deployed
//!   stack's values for `--stack` (`aws::stacks`).
//! - [`output`]: how findings, plans, logs, progress and the compose export
//!   are shown to a person.
//! - [`agent`]: the hidden `agent` and `pause` subcommands that run inside the
//!   agent image built from this executable: an axum router per endpoint
//!   family (task metadata v2/v3/v4 and stats, credentials, task protection,
//!   introspection, the CLI's admin API) over an in-memory state that a
//!   Docker event watcher keeps current.
//! - [`runner`]: the agent image, network and container; pulls; creating and
//!   starting a plan's containers in `dependsOn` order; supervision
//!   (essential exits, restart policies, Ctrl-C); smoke tests and their
//!   report; the detached supervisor; the task list behind `ps`/`logs`/`stop`;
//!   a teardown by label on every path. It returns `anyhow` errors with their
//!   context; [`runner::RunError`] names the failures of a run itself (a start
//!   timeout, a dependency never reached, an image of another architecture).
//! - [`views`]: what people see of the runner's results: the smoke report
//!   (table, JSON, JUnit, GitHub) and the `ps` table.
//! - [`commands`]: one module per subcommand, each a short sequence of calls
//!   into the layers below, taking plain settings.
//! - [`cli`]: the clap types; their doc comments are the `--help` text.
//! - [`app`]: the dispatcher from a parsed command line to its command.

mod agent;
mod app;
mod aws;
mod cli;
mod commands;
mod docker;
mod exit;
mod output;
mod plan;
mod protocol;
mod runner;
mod source;
mod taskdef;
mod views;

pub use app::run;
pub use cli::Cli;
pub use exit::{ExitStatus, Failure};
pub use output::diagnostics::report_failure;

/// What the integration tests and the benchmark drive besides the command
/// line, exposed deliberately: the engine, the agent's admin client, the
/// labels and names the objects carry, the registration bodies.
#[doc(hidden)]
pub mod testing {
    pub use crate::docker::{ContainerEvent, Engine};
    pub use crate::plan::{DEFAULT_AGENT_LOOPBACK_PORT, NETWORK_NAME, labels};
    pub use crate::protocol::{
        ContainerRegistration, Credentials, HEALTH_PATH, TOKEN_FILE, TaskRegistration, task_id,
    };
    pub use crate::runner::AgentClient;
    pub use crate::runner::agent_container::AGENT_CONTAINER;
    pub use crate::runner::build::tag as build_tag;
    pub use crate::runner::task_cgroup::remove_for as remove_task_cgroups;
}
