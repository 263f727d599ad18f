//! One module per subcommand, each a short sequence of calls into the layers
//! below: [`run`] (a task in the foreground or detached), [`smoke`],
//! [`tasks`] (`ps`, `logs`, `stop`), [`down`], [`inspect`] (`validate`,
//! `plan`), [`compose`], and [`internal`] (the hidden `agent` and `pause`
//! that run inside the agent image).
//!
//! Commands take plain settings, not clap types: the `cli` layer above
//! turns what the user typed into these.

pub mod compose;
pub mod down;
pub mod inspect;
pub mod internal;
pub mod run;
pub mod smoke;
pub mod tasks;

mod definition;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use crate::aws::envfiles::LocalEnvFile;
use crate::exit::{ExitStatus, Failure};
use crate::runner::PullPolicy;
use crate::runner::build::{BuildArg, BuildSpec};
use crate::taskdef::overrides::{EnvSetting, ImageSetting, Publish};

/// Which task definition: a file (or `-`), or one registered in ECS.
#[derive(Debug, Clone, Default)]
pub struct DefinitionSource {
    pub taskdef: Option<PathBuf>,
    /// The family's latest ACTIVE revision, or `revision`.
    pub family: Option<String>,
    pub revision: Option<u32>,
    pub task_def_arn: Option<String>,
    /// The definition this service runs now, in the task's cluster.
    pub service: Option<String>,
    pub template: TemplateSettings,
}

/// Which resource of a template or plan, and its parameters' values.
#[derive(Debug, Clone, Default)]
pub struct TemplateSettings {
    /// `--resource`.
    pub resource: Option<String>,
    /// `--parameter KEY=VALUE`, in order (a later one wins).
    pub parameters: Vec<(String, String)>,
    /// `--stack`: the deployed stack to resolve references from.
    pub stack: Option<String>,
}

/// How the task is named and placed, as ECS would name it.
#[derive(Debug, Clone, Default)]
pub struct TaskSettings {
    pub cluster: String,
    pub region: Option<String>,
    pub service_name: Option<String>,
    pub task_role_arn: Option<String>,
}

/// Changes to the definition for this run, as `aws ecs run-task` takes them.
#[derive(Debug, Clone, Default)]
pub struct OverrideSettings {
    /// `--overrides`: inline JSON or a file.
    pub overrides: Option<String>,
    pub env: Vec<EnvSetting>,
    /// `--image [CONTAINER=]IMAGE`, applied after `--overrides`.
    pub images: Vec<ImageSetting>,
    pub publish: Vec<Publish>,
}

/// Where the local agent comes from and where the host reaches it.
#[derive(Debug, Clone, Default)]
pub struct AgentSettings {
    pub image: Option<String>,
    pub port: u16,
}

/// Whose credentials read what ECS reads with the execution role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutionRole {
    /// The user's own.
    #[default]
    Profile,
    /// The definition's `executionRoleArn`, assumed from the user's.
    Assume,
}

/// How AWS is reached and what credentials the task gets.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    pub profile: Option<String>,
    /// `--mfa-code`: for a profile whose role needs MFA.
    pub mfa_code: Option<String>,
    pub role_duration: Duration,
    pub execution_role: ExecutionRole,
    /// `--credentials profile`: a task without a role gets the profile's
    /// own temporary credentials.
    pub profile_credentials: bool,
    /// `--aws-timeout`: the bound of every AWS call, retries included.
    pub timeout: Duration,
}

/// Everything a run of a task needs to know beyond the definition.
#[derive(Debug, Clone, Default)]
pub struct RunSettings {
    pub definition: DefinitionSource,
    pub pull: PullPolicy,
    pub env_files: Vec<LocalEnvFile>,
    /// `--metadata-file`.
    pub metadata_file: bool,
    /// `--build`: containers whose image is built from a directory.
    pub builds: Vec<BuildSpec>,
    pub build_args: Vec<BuildArg>,
    /// `--watch`: rebuild and replace them when their directory changes.
    pub watch: bool,
    pub task: TaskSettings,
    pub overrides: OverrideSettings,
    pub agent: AgentSettings,
    pub aws: AwsSettings,
}

/// Runs the async part of a command on a fresh runtime.
fn block_on(
    work: impl std::future::Future<Output = Result<ExitStatus, Failure>>,
) -> Result<ExitStatus, Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(work);
    // Not waiting for blocked reads (a terminal's standard input, after
    // `exec`): the command's work is done.
    runtime.shutdown_background();
    result
}

/// Writes what the user asked for to stdout; a closed pipe is not an error.
/// `completions` and `man`: a generated document, on stdout as it is.
pub fn print_document(document: &[u8]) -> Result<ExitStatus, Failure> {
    write_stdout(&String::from_utf8_lossy(document))?;
    Ok(ExitStatus::Success)
}

fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // `ecs-run-local plan x.json | head` is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}
