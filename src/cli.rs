//! Command-line types (the only clap derives of the crate); the doc comments
//! are the `--help` text. Each converts into the settings of its command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands;
use crate::runner::PullPolicy;
use crate::runner::smoke_test::ExecCheck;

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

    /// With --build: watch each DIR and, when something in it changes (what
    /// its `.dockerignore` ignores aside), rebuild the image and replace that
    /// container in the running task; a failed rebuild keeps the old one.
    #[arg(long, requires = "builds", conflicts_with = "detach")]
    pub watch: bool,

    #[command(flatten)]
    pub run: RunArgs,
}

impl Cli {
    /// Parses the process's arguments. `-v` may come before a subcommand
    /// (`ecs-run-local -v ps`): a bare run takes arguments where subcommands
    /// go, so clap alone would read `ps` as a task definition file there.
    #[must_use]
    pub fn parse_args() -> Cli {
        Cli::parse_from(verbose_after_subcommand(std::env::args_os().collect()))
    }
}

/// Moves the `-v`/`--verbose` flags that stand before a subcommand's name
/// to just after it; anything else is left as it is.
fn verbose_after_subcommand(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory as _;
    let is_verbose = |a: &std::ffi::OsString| {
        a.to_str().is_some_and(|a| {
            a == "--verbose"
                || (a.len() > 1 && a.starts_with('-') && a[1..].chars().all(|c| c == 'v'))
        })
    };
    let leading = args.iter().skip(1).take_while(|a| is_verbose(a)).count();
    let Some(name) = args.get(1 + leading).and_then(|a| a.to_str()) else {
        return args;
    };
    let command = Cli::command();
    let is_subcommand = command
        .get_subcommands()
        .any(|c| c.get_name() == name || c.get_all_aliases().any(|alias| alias == name));
    if leading > 0 && is_subcommand {
        let flags: Vec<_> = args.drain(1..=leading).collect();
        args.splice(2..2, flags);
    }
    args
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

    /// Give each container the ECS container metadata file, as the agent
    /// does with `ECS_ENABLE_CONTAINER_METADATA`: `ECS_CONTAINER_METADATA_FILE`
    /// names it, and its `MetadataFileStatus` becomes READY once the
    /// container runs and its ports are known.
    #[arg(long)]
    pub metadata_file: bool,

    /// Build a container's image from your directory DIR (its `Dockerfile`, or
    /// DOCKERFILE relative to DIR; `.dockerignore` honoured) and run it as
    /// `ecs-run-local/<family>-<container>:dev`; without CONTAINER=, the task's
    /// only container (repeatable).
    #[arg(long = "build", value_name = "[CONTAINER=]DIR[:DOCKERFILE]")]
    pub builds: Vec<crate::runner::build::BuildSpec>,

    /// A build-time variable for every --build (repeatable).
    #[arg(long = "build-arg", value_name = "KEY=VALUE", requires = "builds")]
    pub build_args: Vec<crate::runner::build::BuildArg>,

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
    /// The task definition file (or `-` for standard input): JSON, a
    /// CloudFormation/SAM template (JSON or YAML), a CDK cloud assembly
    /// directory (`cdk.out`), or `terraform show -json` output.
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
    #[command(flatten)]
    pub template: TemplateArgs,
    /// Resolve what a template's task definition refers to from this
    /// deployed CloudFormation stack: its resources' physical ids (a role's
    /// `Arn` derived from them), parameters, outputs and the account's
    /// exports, so the task runs with the roles and secrets really deployed.
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
}

/// Which resource of a template, a CDK cloud assembly or a Terraform plan,
/// and the values its deployment would give it.
#[derive(Debug, Clone, Default, Args)]
pub struct TemplateArgs {
    /// The task definition to read from a CloudFormation/SAM template (its
    /// logical id), a CDK cloud assembly (`cdk.out`; a logical id or a
    /// construct path such as `Api/TaskDef`) or `terraform show -json`
    /// output (an address such as `module.api.aws_ecs_task_definition.this`);
    /// needed when there are several.
    #[arg(long, value_name = "ID|PATH|ADDRESS")]
    pub resource: Option<String>,
    /// A template parameter's value, over its `Default` (repeatable).
    #[arg(long = "parameter", value_name = "KEY=VALUE")]
    pub parameters: Vec<crate::source::ParameterValue>,
}

/// Changes to the definition for this run, as `aws ecs run-task` takes them.
#[derive(Debug, Clone, Default, Args)]
pub struct OverrideArgs {
    #[command(flatten)]
    pub changes: ChangeArgs,
    /// Publish a container's port on a host port, in bridge or awsvpc mode
    /// (`web:8080:80`, `dns:5353:53/udp`; repeatable).
    #[arg(long, value_name = "CONTAINER:HOST:CONTAINER")]
    pub publish: Vec<crate::taskdef::overrides::Publish>,
}

/// Changes to the definition itself: what `render` writes out and a run uses.
#[derive(Debug, Clone, Default, Args)]
pub struct ChangeArgs {
    /// Overrides in `aws ecs run-task --overrides` shape (containerOverrides'
    /// command, environment, environmentFiles, cpu, memory, memoryReservation;
    /// taskRoleArn, executionRoleArn, cpu, memory): inline JSON, or a file
    /// (`file://` accepted).
    #[arg(long, value_name = "FILE|JSON")]
    pub overrides: Option<String>,
    /// Run this image in a container (`app=IMAGE`), or in the task's only
    /// container (`IMAGE`), after --overrides (repeatable): test the image you
    /// are about to deploy in the definition you deploy it with.
    #[arg(long = "image", value_name = "[CONTAINER=]IMAGE")]
    pub images: Vec<crate::taskdef::overrides::ImageSetting>,
    /// Set a variable in one container (`app:KEY=VALUE`) or in all of them
    /// (`KEY=VALUE`), over the definition and --overrides (repeatable).
    #[arg(short = 'e', long = "env", value_name = "[CONTAINER:]KEY=VALUE")]
    pub env: Vec<crate::taskdef::overrides::EnvSetting>,
}

/// The AWS profile and region every AWS call uses.
#[derive(Debug, Clone, Args)]
pub struct ProfileArgs {
    /// The AWS profile to use [default: `AWS_PROFILE`, else the default chain].
    #[arg(long)]
    pub profile: Option<String>,
    /// The MFA code for a profile whose role needs one (`mfa_serial`), instead
    /// of a prompt on the terminal. A session the AWS CLI or ecs-run-local
    /// cached in `~/.aws/cli/cache` is reused without one until it expires.
    #[arg(long, value_name = "CODE")]
    pub mfa_code: Option<String>,
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

/// `smoke --exec`, written out because clap's derive keeps the words of each
/// occurrence apart only with its unstable `Vec<Vec<T>>`.
#[derive(Debug, Clone, Default)]
pub struct ExecArgs {
    /// The words of each `--exec`, as typed, without the `;` that ended them.
    pub exec: Vec<Vec<String>>,
}

const EXEC_HELP: &str = "A check run in a container once the task is ready; exit 0 passes \
    (repeatable)";
const EXEC_LONG_HELP: &str = "A check run in a container once the task is ready; exit 0 passes \
    (repeatable). `--exec web -- wget -qO- localhost/health ';'` runs every word after `--`, \
    whatever it looks like, up to a lone `;` (as `find -exec` does) or the end of the line: \
    smoke's own options go before `--exec` or after the `;`. `--exec 'web=CMD'` runs CMD with \
    `sh -c`";

impl clap::Args for ExecArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.arg(
            clap::Arg::new("exec")
                .long("exec")
                .value_name("CONTAINER -- CMD")
                .num_args(1..)
                .allow_hyphen_values(true)
                .value_terminator(";")
                .action(clap::ArgAction::Append)
                .help(EXEC_HELP)
                .long_help(EXEC_LONG_HELP),
        )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for ExecArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let exec = matches
            .get_occurrences::<String>("exec")
            .map(|each| each.map(|words| words.cloned().collect()).collect())
            .unwrap_or_default();
        Ok(ExecArgs { exec })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

/// The checks of `smoke --exec`, from the words clap collected for each:
/// `smoke`'s checks as the runner takes them: the timeout, the `--exec`
/// commands, the probes and the expected exit codes.
pub fn smoke_spec(
    timeout: std::time::Duration,
    exec: ExecArgs,
    http: Vec<crate::runner::probe::Probe>,
    tcp: Vec<crate::runner::probe::Probe>,
    expect_exit: Vec<(String, i64)>,
) -> Result<crate::runner::smoke_test::SmokeSpec, String> {
    Ok(crate::runner::smoke_test::SmokeSpec {
        timeout,
        execs: exec_checks(exec.exec)?,
        expect_exit: expect_exit.into_iter().collect(),
        probes: http.into_iter().chain(tcp).collect(),
    })
}

/// `CONTAINER -- CMD ARGS…` (every word after `--` is the command, whatever it
/// looks like) or one `CONTAINER=SHELL-COMMAND` word, run with `sh -c` as a
/// `CMD-SHELL` health check is.
pub fn exec_checks(execs: Vec<Vec<String>>) -> Result<Vec<ExecCheck>, String> {
    execs.into_iter().map(exec_check).collect()
}

fn exec_check(words: Vec<String>) -> Result<ExecCheck, String> {
    let mut words = words.into_iter();
    let first = words.next().unwrap_or_default();
    let rest: Vec<String> = words.collect();
    if rest.first().map(String::as_str) == Some("--") {
        let command = rest[1..].to_vec();
        if first.is_empty() || command.is_empty() {
            return Err(format!("`--exec {first} --` has no command"));
        }
        return Ok(ExecCheck {
            container: first,
            command,
        });
    }
    match first.split_once('=') {
        Some((container, command)) if !container.is_empty() && !command.trim().is_empty() => {
            if let Some(next) = rest.first() {
                return Err(format!(
                    "`--exec {first}` is one word, but `{next}` follows it; end the check with a \
                     lone `;` or put smoke options before `--exec`"
                ));
            }
            Ok(ExecCheck {
                container: container.to_owned(),
                command: vec!["sh".into(), "-c".into(), command.to_owned()],
            })
        }
        _ => Err(format!(
            "`--exec {first}` is neither `CONTAINER -- CMD ARGS…` nor `CONTAINER=COMMAND`"
        )),
    }
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
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(format!("`{text}` is not a duration like 900, 15m or 1h")),
    };
    let seconds = value
        .checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is longer than a duration can be"))?;
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
        /// The task definition file (or `-` for standard input): JSON, a
        /// CloudFormation/SAM template, a CDK cloud assembly directory, or
        /// `terraform show -json` output.
        file: PathBuf,
        #[command(flatten)]
        template: TemplateArgs,
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
    /// Print the definition a run would use as `register-task-definition` input.
    ///
    /// The definition from any source, with --overrides, --image and -e
    /// applied, every field kept, secrets left as references, describe
    /// output's tags in the register shape, and the fields only ECS writes
    /// (taskDefinitionArn, revision, status, requiresAttributes,
    /// compatibilities, registeredAt, registeredBy, deregisteredAt) dropped:
    /// `aws ecs register-task-definition --cli-input-json file://rendered.json`
    /// registers exactly what `smoke` tested with the same options.
    Render {
        #[command(flatten)]
        definition: DefinitionArgs,
        #[command(flatten)]
        task: TaskArgs,
        #[command(flatten)]
        changes: ChangeArgs,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Run the task as a pre-deploy check, then stop it and remove it.
    ///
    /// Waits until every essential container is RUNNING, every container with
    /// a healthCheck is HEALTHY and COMPLETE/SUCCESS dependencies are done;
    /// runs each --exec check in its container and each --http/--tcp probe
    /// from a probe container in the task's network; prints a summary. Exits 0 when
    /// everything passed, 1 when something failed, 124 when --timeout ran out.
    Smoke {
        #[command(flatten)]
        run: Box<RunArgs>,
        /// Give up after this long (`90s`, `2m`): exit 124.
        #[arg(long, value_parser = parse_duration, default_value = "2m")]
        timeout: std::time::Duration,
        #[command(flatten)]
        exec: ExecArgs,
        /// Probe a container over HTTP from inside the task's network, until it
        /// answers STATUS (default: any 2xx or 3xx) or --timeout runs out; needs
        /// nothing in the image (repeatable; `web:8080/health`, `web:80/=204`).
        #[arg(long, value_name = "CONTAINER:PORT[/PATH][=STATUS]", value_parser = crate::runner::probe::Probe::http)]
        http: Vec<crate::runner::probe::Probe>,
        /// Probe a container's TCP port from inside the task's network until it
        /// accepts a connection (repeatable; `db:5432`).
        #[arg(long, value_name = "CONTAINER:PORT", value_parser = crate::runner::probe::Probe::tcp)]
        tcp: Vec<crate::runner::probe::Probe>,
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
    /// Run a command in a running task's container, as `aws ecs execute-command`.
    ///
    /// Without a command, an interactive shell (`sh`). With a terminal when
    /// standard input is one; the exit status is the command's.
    Exec {
        /// The task id (a prefix is enough, as for `logs`).
        task: String,
        /// The container's name in the task definition.
        container: String,
        /// The command and its arguments, after `--` [default: sh].
        #[arg(last = true, value_name = "CMD")]
        command: Vec<String>,
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
    /// Print a shell completion script (bash, zsh, fish, powershell).
    ///
    /// bash: `ecs-run-local completions bash > ~/.local/share/bash-completion/completions/ecs-run-local`;
    /// zsh: `ecs-run-local completions zsh > "${fpath[1]}/_ecs-run-local"`;
    /// fish: `ecs-run-local completions fish > ~/.config/fish/completions/ecs-run-local.fish`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Print the manual page (roff), generated from this help.
    ///
    /// `ecs-run-local man > ~/.local/share/man/man1/ecs-run-local.1`, then
    /// `man ecs-run-local`.
    Man,
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
    /// Make or remove a task's cgroup (inside a helper container).
    #[command(hide = true)]
    Cgroup {
        #[arg(value_parser = ["set", "remove"])]
        action: String,
        /// The cgroup parent, `/ecs-run-local/<task id>`.
        path: String,
        /// The task's memory limit in bytes.
        #[arg(long)]
        memory: Option<i64>,
        /// The task's CPU quota in µs per 100 ms.
        #[arg(long)]
        cpu_quota: Option<i64>,
    },
    /// Try 127.0.0.1:PORT until it answers (inside a probe container).
    #[command(hide = true)]
    Probe {
        #[arg(long)]
        port: u16,
        /// Ask for this path over HTTP; without it, a TCP connection passes.
        #[arg(long)]
        http_path: Option<String>,
        /// The HTTP status that passes [default: any 2xx or 3xx].
        #[arg(long, requires = "http_path")]
        status: Option<u16>,
    },
}

/// The shells `completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

impl From<CompletionShell> for clap_complete::Shell {
    fn from(shell: CompletionShell) -> Self {
        match shell {
            CompletionShell::Bash => clap_complete::Shell::Bash,
            CompletionShell::Zsh => clap_complete::Shell::Zsh,
            CompletionShell::Fish => clap_complete::Shell::Fish,
            CompletionShell::Powershell => clap_complete::Shell::PowerShell,
        }
    }
}

/// The completion script for `shell`, for the program named `ecs-run-local`.
#[must_use]
pub fn completions(shell: CompletionShell) -> Vec<u8> {
    let mut command = visible_command();
    let mut out = Vec::new();
    clap_complete::generate(
        clap_complete::Shell::from(shell),
        &mut command,
        "ecs-run-local",
        &mut out,
    );
    out
}

/// The manual page, in roff, from the same definition as `--help`.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(visible_command()).render(&mut out)?;
    Ok(out)
}

/// The command line as a user sees it: without the hidden subcommands the
/// CLI runs in its own containers (the generators would offer them).
fn visible_command() -> clap::Command {
    use clap::CommandFactory as _;
    let full = Cli::command();
    let mut visible = clap::Command::new("ecs-run-local")
        .version(env!("CARGO_PKG_VERSION"))
        .args_conflicts_with_subcommands(true);
    if let Some(about) = full.get_about() {
        visible = visible.about(about.clone());
    }
    if let Some(about) = full.get_long_about() {
        visible = visible.long_about(about.clone());
    }
    visible
        .args(full.get_arguments().cloned())
        .subcommands(full.get_subcommands().filter(|c| !c.is_hide_set()).cloned())
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
            template: commands::TemplateSettings {
                stack: args.stack,
                ..args.template.into()
            },
        }
    }
}

impl From<TemplateArgs> for commands::TemplateSettings {
    fn from(args: TemplateArgs) -> Self {
        commands::TemplateSettings {
            resource: args.resource,
            parameters: args
                .parameters
                .into_iter()
                .map(|p| (p.key, p.value))
                .collect(),
            stack: None,
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
            publish: args.publish,
            ..args.changes.into()
        }
    }
}

impl From<ChangeArgs> for commands::OverrideSettings {
    fn from(args: ChangeArgs) -> Self {
        commands::OverrideSettings {
            overrides: args.overrides,
            env: args.env,
            images: args.images,
            publish: Vec::new(),
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
            mfa_code: args.profile.mfa_code,
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
            mfa_code: args.mfa_code,
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
            metadata_file: args.metadata_file,
            builds: args.builds,
            build_args: args.build_args,
            watch: false,
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

    /// The `--exec` checks and the timeout of a smoke command line.
    fn smoke(args: &[&str]) -> (Result<Vec<ExecCheck>, String>, std::time::Duration, bool) {
        let cli = Cli::try_parse_from(["ecs-run-local", "smoke"].iter().chain(args))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        let Some(Command::Smoke {
            exec,
            timeout,
            json,
            ..
        }) = cli.command
        else {
            panic!("not smoke");
        };
        (exec_checks(exec.exec), timeout, json)
    }

    fn check(container: &str, command: &[&str]) -> ExecCheck {
        ExecCheck {
            container: container.to_owned(),
            command: command.iter().map(|&w| w.to_owned()).collect(),
        }
    }

    #[test]
    fn durations_read_as_documented_and_never_overflow() {
        assert_eq!(
            parse_duration("900"),
            Ok(std::time::Duration::from_secs(900))
        );
        assert_eq!(
            parse_duration("15m"),
            Ok(std::time::Duration::from_secs(900))
        );
        assert_eq!(
            parse_duration("2h"),
            Ok(std::time::Duration::from_secs(7200))
        );
        assert_eq!(
            parse_duration("18446744073709551615h"),
            Err("`18446744073709551615h` is longer than a duration can be".to_owned())
        );
        assert!(parse_duration("5d").is_err() && parse_duration("m").is_err());
    }

    #[test]
    fn verbose_may_come_before_a_subcommand() {
        let parse = |args: &[&str]| {
            let args: Vec<std::ffi::OsString> = std::iter::once("ecs-run-local")
                .chain(args.iter().copied())
                .map(Into::into)
                .collect();
            Cli::try_parse_from(verbose_after_subcommand(args)).unwrap()
        };
        let cli = parse(&["-v", "ps"]);
        assert_eq!(cli.verbose, 1);
        assert!(matches!(cli.command, Some(Command::Ps { .. })));
        let cli = parse(&["-vv", "--verbose", "down", "--all"]);
        assert_eq!(cli.verbose, 3);
        assert!(matches!(cli.command, Some(Command::Down { .. })));
        // A file named like no subcommand is still a run's task definition.
        let cli = parse(&["-v", "task.json"]);
        assert_eq!(cli.verbose, 1);
        assert!(cli.command.is_none());
        assert_eq!(
            cli.run.definition.taskdef.as_deref(),
            Some(std::path::Path::new("task.json"))
        );
    }

    #[test]
    fn every_word_after_exec_double_dash_is_the_command_up_to_a_lone_semicolon() {
        let (checks, timeout, json) = smoke(&[
            "-v",
            "t.json",
            "--exec",
            "web",
            "--",
            "wget",
            "--timeout=5",
            "-qO-",
            "--json",
            "-q",
            "--exec",
            "http://x/",
            ";",
            "--timeout",
            "30s",
            "--exec",
            "db=pg_isready",
        ]);
        assert_eq!(
            checks.unwrap(),
            [
                check(
                    "web",
                    &[
                        "wget",
                        "--timeout=5",
                        "-qO-",
                        "--json",
                        "-q",
                        "--exec",
                        "http://x/"
                    ]
                ),
                check("db", &["sh", "-c", "pg_isready"]),
            ]
        );
        assert_eq!(timeout, std::time::Duration::from_secs(30));
        assert!(!json);
    }

    #[test]
    fn smoke_options_after_an_unterminated_exec_belong_to_its_command() {
        let (checks, timeout, json) = smoke(&[
            "t.json",
            "--json",
            "--exec",
            "web",
            "--",
            "sh",
            "-c",
            "sleep 20",
            "--timeout=3",
            "--",
            "-h",
            "--help",
        ]);
        assert_eq!(
            checks.unwrap(),
            [check(
                "web",
                &["sh", "-c", "sleep 20", "--timeout=3", "--", "-h", "--help"]
            )]
        );
        assert_eq!(timeout, std::time::Duration::from_secs(120));
        assert!(json);
    }

    #[test]
    fn exec_words_that_are_no_check_are_errors() {
        for (args, error) in [
            (
                &["--exec", "web", "--"][..],
                "`--exec web --` has no command",
            ),
            (
                &["--exec", "web", "true"],
                "`--exec web` is neither `CONTAINER -- CMD ARGS…` nor `CONTAINER=COMMAND`",
            ),
            (
                &["--exec", "web=true", "--json"],
                "`--exec web=true` is one word, but `--json` follows it; end the check with a \
                 lone `;` or put smoke options before `--exec`",
            ),
        ] {
            let (checks, ..) = smoke(&[&["t.json"][..], args].concat());
            assert_eq!(checks.unwrap_err(), error, "{args:?}");
        }
        for word in ["web", "=true", "web= "] {
            let (checks, ..) = smoke(&["t.json", "--exec", word]);
            assert!(checks.is_err(), "{word}");
        }
        let (checks, ..) = smoke(&["t.json", "--exec", "web=wget -qO- x/health"]);
        assert_eq!(
            checks.unwrap(),
            [check("web", &["sh", "-c", "wget -qO- x/health"])]
        );
        let (checks, _, json) = smoke(&["t.json", "--exec", "web=true", ";", "--json"]);
        assert_eq!(checks.unwrap(), [check("web", &["sh", "-c", "true"])]);
        assert!(json);
    }
}
