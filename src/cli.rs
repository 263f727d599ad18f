//! Command-line types (the only clap derives of the crate); the doc comments
//! are the `--help` text. Each converts into the settings of its command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands;
use crate::runner::PullPolicy;

/// Run an Amazon ECS task definition on the local Docker engine, as ECS would.
///
/// ecs-run-local reads a task definition (register-task-definition input,
/// `aws ecs describe-task-definition` output, a bare container-definitions
/// array, or one registered in ECS: `--family`, `--task-def-arn`, `--cluster C
/// --service S`), checks it the way ECS does, and turns it into the Docker containers,
/// network, volumes and metadata endpoints ECS would create for it.
///
/// Run a task in the foreground: `ecs-run-local task-def.json`. Its logs stream
/// with a `name |` prefix; when an essential container exits, the others are
/// stopped and ecs-run-local exits with that container's exit code. Ctrl-C stops
/// the task (SIGTERM, stopTimeout, SIGKILL); a second Ctrl-C kills it. Whatever
/// the run created is removed when it ends.
#[derive(Debug, Parser)]
#[command(
    name = "ecs-run-local",
    version,
    propagate_version = true,
    max_term_width = 100,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// Log more (-v: debug, -vv: trace); `RUST_LOG` overrides this.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Option<Command>,

    /// Start the task, print its id once its essential containers run, and
    /// leave it running under a background supervisor (see `ps`, `logs`, `stop`).
    #[arg(short = 'd', long)]
    pub detach: bool,

    #[command(flatten)]
    pub run: RunArgs,
}

/// Running a task: `ecs-run-local [OPTIONS] TASKDEF`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub definition: DefinitionArgs,

    /// When to pull images: `missing` pulls what is not on this machine.
    #[arg(long, value_enum, default_value_t)]
    pub pull: PullArg,

    /// Use this local `.env` file for a container instead of its S3
    /// `environmentFiles` (repeatable; earlier files win, as in ECS).
    #[arg(long = "env-file", value_name = "CONTAINER=PATH")]
    pub env_files: Vec<crate::aws::envfiles::LocalEnvFile>,

    #[command(flatten)]
    pub task: TaskArgs,

    #[command(flatten)]
    pub overrides: OverrideArgs,

    #[command(flatten)]
    pub agent: AgentArgs,

    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Which task definition: a file, or one registered in ECS.
#[derive(Debug, Clone, Args)]
pub struct DefinitionArgs {
    /// The task definition file (or `-` for standard input).
    #[arg(
        value_name = "TASKDEF",
        required_unless_present_any = ["family", "task_def_arn", "service"],
        conflicts_with_all = ["family", "task_def_arn", "service"]
    )]
    pub taskdef: Option<PathBuf>,
    /// Read the task definition from ECS: this family's latest ACTIVE revision.
    #[arg(long, conflicts_with_all = ["task_def_arn", "service"])]
    pub family: Option<String>,
    /// With --family: this revision instead of the latest.
    #[arg(long, requires = "family")]
    pub revision: Option<u32>,
    /// Read this task definition from ECS (an ARN, or `family:revision`).
    #[arg(long, conflicts_with = "service")]
    pub task_def_arn: Option<String>,
    /// Read from ECS the task definition this service runs now, in `--cluster`
    /// (it also names the task on the shared network).
    #[arg(long)]
    pub service: Option<String>,
}

/// Changes to the definition for this run, as `aws ecs run-task` takes them.
#[derive(Debug, Clone, Default, Args)]
pub struct OverrideArgs {
    /// Overrides in `aws ecs run-task --overrides` shape (containerOverrides'
    /// command, environment, environmentFiles, cpu, memory, memoryReservation;
    /// taskRoleArn, executionRoleArn, cpu, memory): inline JSON, or a file
    /// (`file://` accepted).
    #[arg(long, value_name = "FILE|JSON")]
    pub overrides: Option<String>,
    /// Set a variable in one container (`app:KEY=VALUE`) or in all of them
    /// (`KEY=VALUE`), over the definition and --overrides (repeatable).
    #[arg(short = 'e', long = "env", value_name = "[CONTAINER:]KEY=VALUE")]
    pub env: Vec<crate::taskdef::overrides::EnvSetting>,
    /// Publish a container's port on a host port, in bridge or awsvpc mode
    /// (`web:8080:80`, `dns:5353:53/udp`; repeatable).
    #[arg(long, value_name = "CONTAINER:HOST:CONTAINER")]
    pub publish: Vec<crate::taskdef::overrides::Publish>,
}

/// The AWS profile and region every AWS call uses.
#[derive(Debug, Clone, Args)]
pub struct ProfileArgs {
    /// The AWS profile to use [default: `AWS_PROFILE`, else the default chain].
    #[arg(long)]
    pub profile: Option<String>,
    /// How long one AWS call may take, retries included (`30s`, `2m`); a
    /// connection gets at most 10 s of it. A call that runs out fails the run.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub aws_timeout: std::time::Duration,
}

/// How AWS is reached: the same configuration as the AWS CLI's.
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// How long each task role session lasts before it is refreshed (`900`, `15m`, `1h`).
    #[arg(long, value_parser = parse_duration, default_value = "1h")]
    pub role_duration: std::time::Duration,
    /// What reads secrets, S3 environment files and private-image logins:
    /// `profile`, your own credentials; `assume`, the definition's
    /// executionRoleArn assumed from them, as ECS reads them (a pre-deploy
    /// check of the role's permissions).
    #[arg(long, value_enum, default_value_t)]
    pub execution_role: ExecutionRoleMode,
    /// Give a task without a role credentials anyway: `profile` serves the
    /// profile's own temporary credentials (its session, or STS `GetSessionToken`).
    #[arg(long, value_enum)]
    pub credentials: Option<CredentialsMode>,
}

/// `--pull`: when to pull an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PullArg {
    /// Pull every image, even one already on this machine.
    Always,
    /// Pull only what is not on this machine.
    #[default]
    Missing,
    /// Never pull; a missing image is an error.
    Never,
}

/// Whose credentials read what ECS reads with the execution role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ExecutionRoleMode {
    /// Your own credentials.
    #[default]
    Profile,
    /// The executionRoleArn, assumed with STS from your credentials.
    Assume,
}

/// What `--credentials` serves to a task without a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CredentialsMode {
    /// The profile's own temporary credentials.
    Profile,
}

/// `CONTAINER=CODE`.
fn parse_expect_exit(text: &str) -> Result<(String, i64), String> {
    text.split_once('=')
        .and_then(|(c, code)| Some((c.to_owned(), code.parse().ok()?)))
        .filter(|(c, _)| !c.is_empty())
        .ok_or_else(|| format!("`{text}` is not CONTAINER=EXIT_CODE"))
}

/// The words of a smoke command line that take a value, and those that do
/// not: where an `--exec CONTAINER -- CMD…` command ends.
const SMOKE_OPTIONS: &[&str] = &["--exec", "--expect-exit", "--junit", "--json", "--timeout"];

/// Rewrites `smoke … --exec CONTAINER -- CMD ARGS…` (the command runs to the
/// next smoke option or the end) into one `--exec` value clap can carry:
/// the words joined by the unit separator, which [`ExecCheck`] reads back.
///
/// [`ExecCheck`]: crate::runner::smoke_test::ExecCheck
#[must_use]
pub fn expand_exec_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    // `smoke` is the subcommand when it comes before any `--exec`.
    let is_smoke = args
        .iter()
        .skip(1)
        .take_while(|a| a.to_str() != Some("--exec"))
        .any(|a| a.to_str() == Some("smoke"));
    if !is_smoke {
        return args;
    }
    let mut out = Vec::with_capacity(args.len());
    let mut i = 0;
    while i < args.len() {
        let word = args[i].to_str();
        let separated = args.get(i + 2).and_then(|a| a.to_str()) == Some("--");
        if let (Some("--exec"), true, Some(container)) =
            (word, separated, args.get(i + 1).and_then(|a| a.to_str()))
        {
            let mut command = vec![container.to_owned()];
            let mut j = i + 3;
            while let Some(next) = args.get(j) {
                let text = next.to_string_lossy();
                if SMOKE_OPTIONS
                    .iter()
                    .any(|o| text == *o || text.starts_with(&format!("{o}=")))
                {
                    break;
                }
                command.push(text.into_owned());
                j += 1;
            }
            out.push("--exec".into());
            out.push(command.join("\u{1f}").into());
            i = j;
        } else {
            out.push(args[i].clone());
            i += 1;
        }
    }
    out
}

/// `90`, `90s`, `15m`, `1h`.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 900, 15m or 1h"))?;
    let seconds = match unit {
        "s" => value,
        "m" => value * 60,
        "h" => value * 3600,
        _ => return Err(format!("`{text}` is not a duration like 900, 15m or 1h")),
    };
    Ok(std::time::Duration::from_secs(seconds))
}

/// Where the local agent comes from and where the host reaches it.
#[derive(Debug, Clone, Args)]
pub struct AgentArgs {
    /// Run the agent and pause containers from this image instead of one built
    /// from this executable (for an engine that cannot run it, e.g. macOS).
    #[arg(long, env = "ECS_RUN_LOCAL_AGENT_IMAGE", hide_env_values = true)]
    pub agent_image: Option<String>,

    /// The agent's port on 127.0.0.1, for host-mode tasks and the CLI.
    #[arg(long, env = "ECS_RUN_LOCAL_AGENT_PORT", hide_env_values = true, default_value_t = crate::plan::DEFAULT_AGENT_LOOPBACK_PORT)]
    pub agent_port: u16,
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
        #[command(flatten)]
        definition: DefinitionArgs,
        /// Print the whole plan as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        task: TaskArgs,
        #[command(flatten)]
        overrides: OverrideArgs,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Run the task as a pre-deploy check, then stop it and remove it.
    ///
    /// Waits until every essential container is RUNNING, every container with
    /// a healthCheck is HEALTHY and COMPLETE/SUCCESS dependencies are done;
    /// runs each --exec check in its container; prints a summary. Exits 0 when
    /// everything passed, 1 when something failed, 124 when --timeout ran out.
    Smoke {
        #[command(flatten)]
        run: RunArgs,
        /// Give up after this long (`90s`, `2m`): exit 124.
        #[arg(long, value_parser = parse_duration, default_value = "2m")]
        timeout: std::time::Duration,
        /// A check run in a container once the task is ready; exit 0 passes.
        /// `--exec web -- wget -qO- localhost/health` runs the words after `--`
        /// (up to the next smoke option); `--exec 'web=CMD'` runs CMD with `sh -c`.
        #[arg(long, value_name = "CONTAINER -- CMD")]
        exec: Vec<crate::runner::smoke_test::ExecCheck>,
        /// A container that must exit with this code (a migration, a job).
        #[arg(long, value_name = "CONTAINER=CODE", value_parser = parse_expect_exit)]
        expect_exit: Vec<(String, i64)>,
        /// Write a JUnit XML report here: one testcase per container and per check.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Print the report as JSON on stdout (container output goes to stderr).
        #[arg(long)]
        json: bool,
    },
    /// List the tasks running on this engine.
    Ps {
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a task's container output (a prefix of its id is enough).
    Logs {
        /// The task id (from `ps`, or the one `--detach` printed).
        task: String,
        /// Only this container.
        container: Option<String>,
        /// Keep following the output.
        #[arg(short, long)]
        follow: bool,
    },
    /// Stop a task as ECS would (SIGTERM, stopTimeout, SIGKILL) and remove it.
    Stop {
        /// The task id (from `ps`, or the one `--detach` printed).
        task: String,
    },
    /// Print a docker-compose file equivalent to a run of the task.
    ///
    /// The file has the `ecs-run-local` network with the agent at
    /// 169.254.170.2, the agent service (serving this task's metadata), the
    /// pause service for awsvpc, and every container. Task role credentials,
    /// secrets and S3 environment files are not exported.
    Compose {
        #[command(flatten)]
        definition: DefinitionArgs,
        #[command(flatten)]
        task: TaskArgs,
        #[command(flatten)]
        overrides: OverrideArgs,
        #[command(flatten)]
        agent: AgentArgs,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Remove what killed runs left behind (found by label).
    ///
    /// Without --all, removes the containers and task volumes of runs whose
    /// ecs-run-local process is gone. With --all, removes every task, the agent
    /// and the `ecs-run-local` network.
    Down {
        /// Remove every task, running or not, and the agent and network too.
        #[arg(long)]
        all: bool,
    },
    /// Serve the ECS agent endpoints (inside the agent container).
    #[command(hide = true)]
    Agent {
        /// Where containers reach the task endpoints.
        #[arg(long, default_value = "0.0.0.0:80")]
        listen: std::net::SocketAddr,
        /// The port published on the host's loopback: admin and introspection too.
        #[arg(long, default_value = "0.0.0.0:51679")]
        loopback: std::net::SocketAddr,
        /// The file holding the admin API's bearer token.
        #[arg(long, default_value = crate::protocol::TOKEN_FILE)]
        token_file: String,
    },
    /// Hold a task's namespaces as PID 1 (inside the pause container).
    #[command(hide = true)]
    Pause,
}

/// How the task is named and placed, as ECS would name it.
#[derive(Debug, Clone, Args)]
pub struct TaskArgs {
    /// The cluster name in the task ARN, labels and metadata.
    #[arg(long, default_value = crate::plan::DEFAULT_CLUSTER)]
    pub cluster: String,
    /// The region of AWS calls, synthesised ARNs and `AWS_REGION` in the containers
    /// [default: the environment's, else the task definition ARN's, else the
    /// profile's, else us-east-1].
    #[arg(long, env = "AWS_REGION", hide_env_values = true)]
    pub region: Option<String>,
    /// The name other tasks reach this one by on the shared network [default: the family].
    #[arg(long)]
    pub service_name: Option<String>,
    /// Assume this role for the task instead of the definition's `taskRoleArn`.
    #[arg(long)]
    pub task_role_arn: Option<String>,
}

impl From<PullArg> for PullPolicy {
    fn from(pull: PullArg) -> Self {
        match pull {
            PullArg::Always => PullPolicy::Always,
            PullArg::Missing => PullPolicy::Missing,
            PullArg::Never => PullPolicy::Never,
        }
    }
}

impl From<DefinitionArgs> for commands::DefinitionSource {
    fn from(args: DefinitionArgs) -> Self {
        commands::DefinitionSource {
            taskdef: args.taskdef,
            family: args.family,
            revision: args.revision,
            task_def_arn: args.task_def_arn,
            service: args.service,
        }
    }
}

impl From<TaskArgs> for commands::TaskSettings {
    fn from(args: TaskArgs) -> Self {
        commands::TaskSettings {
            cluster: args.cluster,
            region: args.region,
            service_name: args.service_name,
            task_role_arn: args.task_role_arn,
        }
    }
}

impl From<OverrideArgs> for commands::OverrideSettings {
    fn from(args: OverrideArgs) -> Self {
        commands::OverrideSettings {
            overrides: args.overrides,
            env: args.env,
            publish: args.publish,
        }
    }
}

impl From<AgentArgs> for commands::AgentSettings {
    fn from(args: AgentArgs) -> Self {
        commands::AgentSettings {
            image: args.agent_image,
            port: args.agent_port,
        }
    }
}

impl From<AwsArgs> for commands::AwsSettings {
    fn from(args: AwsArgs) -> Self {
        commands::AwsSettings {
            profile: args.profile.profile,
            timeout: args.profile.aws_timeout,
            role_duration: args.role_duration,
            execution_role: match args.execution_role {
                ExecutionRoleMode::Profile => commands::ExecutionRole::Profile,
                ExecutionRoleMode::Assume => commands::ExecutionRole::Assume,
            },
            profile_credentials: args.credentials == Some(CredentialsMode::Profile),
        }
    }
}

/// `plan` and `compose` only read from AWS: no role, no execution role.
impl From<ProfileArgs> for commands::AwsSettings {
    fn from(args: ProfileArgs) -> Self {
        commands::AwsSettings {
            profile: args.profile,
            timeout: args.aws_timeout,
            ..commands::AwsSettings::default()
        }
    }
}

impl From<RunArgs> for commands::RunSettings {
    fn from(args: RunArgs) -> Self {
        commands::RunSettings {
            definition: args.definition.into(),
            pull: args.pull.into(),
            env_files: args.env_files,
            task: args.task.into(),
            overrides: args.overrides.into(),
            agent: args.agent.into(),
            aws: args.aws.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(args: &[&str]) -> Vec<std::ffi::OsString> {
        args.iter().map(Into::into).collect()
    }

    #[test]
    fn exec_commands_after_a_double_dash_run_to_the_next_smoke_option() {
        let expanded = expand_exec_args(words(&[
            "ecs-run-local",
            "smoke",
            "-v",
            "t.json",
            "--exec",
            "web",
            "--",
            "wget",
            "-q",
            "--spider",
            "http://x/",
            "--exec",
            "db=pg_isready",
            "--timeout",
            "30s",
        ]));
        assert_eq!(
            expanded,
            words(&[
                "ecs-run-local",
                "smoke",
                "-v",
                "t.json",
                "--exec",
                "web\u{1f}wget\u{1f}-q\u{1f}--spider\u{1f}http://x/",
                "--exec",
                "db=pg_isready",
                "--timeout",
                "30s",
            ])
        );
        let cli = Cli::try_parse_from(expanded).unwrap();
        let Some(Command::Smoke { exec, timeout, .. }) = cli.command else {
            panic!("not smoke");
        };
        assert_eq!(exec[0].command, ["wget", "-q", "--spider", "http://x/"]);
        assert_eq!(exec[1].command, ["sh", "-c", "pg_isready"]);
        assert_eq!(timeout, std::time::Duration::from_secs(30));
        // Other commands are left alone.
        let run = words(&["ecs-run-local", "t.json", "--exec", "a", "--", "b"]);
        assert_eq!(expand_exec_args(run.clone()), run);
    }
}
