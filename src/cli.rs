//! Command-line types. The doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Run an Amazon ECS task definition on the local Docker engine, as ECS would.
///
/// ecs-run-local reads a task definition (register-task-definition input,
/// `aws ecs describe-task-definition` output, or a bare container-definitions
/// array), checks it the way ECS does, and turns it into the Docker containers,
/// network, volumes and metadata endpoints ECS would create for it.
#[derive(Debug, Parser)]
#[command(
    name = "ecs-run-local",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Log more (-v: debug, -vv: trace); `RUST_LOG` overrides this.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a task definition and list every problem with its JSON path.
    ///
    /// Exits 0 when the definition can run (warnings are printed to stderr),
    /// 2 when it cannot. `-` reads standard input.
    Validate {
        /// The task definition file (or `-` for standard input).
        file: PathBuf,
        /// Print the findings as JSON on stdout instead of text on stderr.
        #[arg(long)]
        json: bool,
    },
    /// Show what a run would create: network, volumes, containers, start order.
    ///
    /// Secret values are never shown; `--json` prints the full plan, including
    /// every container's Docker create body.
    Plan {
        /// The task definition file (or `-` for standard input).
        file: PathBuf,
        /// Print the whole plan as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        task: TaskArgs,
    },
}

/// How the task is named and placed, as ECS would name it.
#[derive(Debug, Clone, Args)]
pub struct TaskArgs {
    /// The cluster name in the task ARN, labels and metadata.
    #[arg(long, default_value = crate::plan::DEFAULT_CLUSTER)]
    pub cluster: String,
    /// The region of synthesised ARNs and of `AWS_REGION` in the containers
    /// [default: the environment's, else the task definition ARN's, else us-east-1].
    #[arg(long, env = "AWS_REGION", hide_env_values = true)]
    pub region: Option<String>,
    /// The name other tasks reach this one by on the shared network [default: the family].
    #[arg(long)]
    pub service_name: Option<String>,
}
