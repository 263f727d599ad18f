//! The orchestration layer: runs a parsed command and says how it ended.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::aws::LazyAws;
use crate::aws::credentials::{RoleSession, Source};
use crate::aws::remote::Remote;
use crate::cli::{Cli, Command, DefinitionArgs, OverrideArgs, ProfileArgs, RunArgs, TaskArgs};
use crate::cli::{CredentialsMode, ExecutionRoleMode};
use crate::docker::Engine;
use crate::output::logs::LogSink;
use crate::output::{self, status};
use crate::plan::{self, PlanError, PlanOptions, RandomIds};
use crate::runner::smoke::{SmokeReport, SmokeSpec, Verdict};
use crate::runner::{self, Ending, RunOptions, Shutdown, TaskCredentials};
use crate::taskdef::overrides::TaskOverride;
use crate::taskdef::{self, Diagnostic, LoadError, Loaded};

/// How `ecs-run-local` exits (DESIGN.md, "Lifecycle").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    /// The task could not start.
    Failure,
    /// Bad usage or an invalid task definition.
    Usage,
    /// The exit code of the essential container that stopped the task.
    Container(u8),
    /// A `--timeout` ran out.
    Timeout,
    /// Stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
    Interrupted,
}

impl ExitStatus {
    /// The status of a task that an essential container stopped.
    #[must_use]
    pub fn of_container(exit_code: i64) -> ExitStatus {
        match exit_code {
            0 => ExitStatus::Success,
            1..=255 => ExitStatus::Container(exit_code as u8),
            _ => ExitStatus::Failure,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Container(code) => code,
            ExitStatus::Timeout => 124,
            ExitStatus::Interrupted => 130,
        })
    }
}

/// A failure to report: one headline with its cause chain, the located
/// problems behind it, and how to exit.
#[derive(Debug)]
pub struct Failure {
    pub status: ExitStatus,
    pub error: anyhow::Error,
    pub details: Vec<Diagnostic>,
}

impl Failure {
    fn usage(error: impl Into<anyhow::Error>, details: Vec<Diagnostic>) -> Self {
        Failure {
            status: ExitStatus::Usage,
            error: error.into(),
            details,
        }
    }
}

impl From<LoadError> for Failure {
    fn from(error: LoadError) -> Self {
        let details = error.problems().to_vec();
        Failure::usage(error, details)
    }
}

impl From<crate::docker::DockerError> for Failure {
    fn from(error: crate::docker::DockerError) -> Self {
        anyhow::Error::new(error).into()
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        anyhow::Error::new(error).into()
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure {
            status: ExitStatus::Failure,
            error,
            details: Vec::new(),
        }
    }
}

/// Runs one command to its end.
pub fn run(cli: Cli) -> Result<ExitStatus, Failure> {
    match cli.command {
        None if cli.detach && std::env::var_os(DETACHED_LOG).is_none() => {
            crate::runner::detach::start()
        }
        None => run_task(
            &cli.run,
            &Mode::Run {
                detached: cli.detach,
            },
        ),
        Some(Command::Smoke {
            run,
            timeout,
            exec,
            expect_exit,
            junit,
            json,
        }) => {
            let spec = SmokeSpec {
                timeout,
                execs: exec,
                expect_exit: expect_exit.into_iter().collect(),
            };
            run_task(&run, &Mode::Smoke { spec, junit, json })
        }
        Some(Command::Ps { json }) => block_on(async {
            let engine = Engine::connect().await?;
            let tasks = runner::tasks::list(&engine).await?;
            let text = if json {
                let mut text =
                    serde_json::to_string_pretty(&tasks).context("cannot print the tasks")?;
                text.push('\n');
                text
            } else {
                runner::tasks::table(&tasks)
            };
            write_stdout(&text)?;
            Ok(ExitStatus::Success)
        }),
        Some(Command::Logs {
            task,
            container,
            follow,
        }) => block_on(async {
            let engine = Engine::connect().await?;
            let found = runner::tasks::find(&engine, &task).await?;
            runner::tasks::logs(&engine, &found, container.as_deref(), follow).await?;
            Ok(ExitStatus::Success)
        }),
        Some(Command::Stop { task }) => block_on(async {
            let engine = Engine::connect().await?;
            let found = runner::tasks::find(&engine, &task).await?;
            status(&format!(
                "stopping task `{}` ({}:{})",
                found.id, found.family, found.revision
            ));
            runner::tasks::stop(&engine, &found).await?;
            write_stdout(&format!("{}\n", found.id))?;
            Ok(ExitStatus::Success)
        }),
        Some(Command::Compose {
            definition,
            task,
            overrides,
            agent,
            profile,
        }) => block_on(async {
            let engine = Engine::connect().await?;
            let image = runner::agent::ensure_image(&engine, agent.agent_image.as_deref()).await?;
            let base = PlanOptions {
                agent_image: image.clone(),
                agent_loopback_port: agent.agent_port,
                ..PlanOptions::default()
            };
            let plan = load_and_plan(&definition, &task, &overrides, &profile, base).await?;
            write_stdout(&output::compose::file(&plan, &image, agent.agent_port))?;
            Ok(ExitStatus::Success)
        }),
        Some(Command::Validate { file, json }) => {
            let loaded = taskdef::load_path(&file)?;
            validate(&loaded, json)
        }
        Some(Command::Plan {
            definition,
            json,
            task,
            overrides,
            profile,
        }) => block_on(async {
            let plan = load_and_plan(
                &definition,
                &task,
                &overrides,
                &profile,
                PlanOptions::default(),
            )
            .await?;
            let text = if json {
                output::plan::json(&plan)
            } else {
                output::plan::summary(&plan)
            };
            write_stdout(&text)?;
            Ok(ExitStatus::Success)
        }),
        Some(Command::Down { all }) => block_on(async {
            let engine = Engine::connect().await?;
            let removed = runner::teardown::down(&engine, all).await?;
            let mut line = format!("removed {}", taskdef::load::plural(removed.runs, "task"));
            if all {
                line.push_str(", the agent and the network");
            }
            write_stdout(&format!("{line}\n"))?;
            Ok(ExitStatus::Success)
        }),
        Some(Command::Agent {
            listen,
            loopback,
            token_file,
        }) => block_on(async {
            crate::agent::serve(listen, loopback, &token_file).await?;
            Ok(ExitStatus::Success)
        }),
        Some(Command::Pause) => {
            crate::agent::pause::run()?;
            Ok(ExitStatus::Success)
        }
    }
}

/// `plan` and `compose`: the definition the arguments name, overridden and
/// planned with `base`'s agent settings; its warnings are printed.
async fn load_and_plan(
    definition: &DefinitionArgs,
    task: &TaskArgs,
    overrides: &OverrideArgs,
    profile: &ProfileArgs,
    base: PlanOptions,
) -> Result<crate::plan::Plan, Failure> {
    let aws = LazyAws::new(profile.profile.as_deref(), task.region.as_deref());
    let mut loaded = load_definition(definition, task, &aws).await?;
    apply_overrides(&mut loaded, overrides)?;
    let options = PlanOptions {
        agent_image: base.agent_image,
        agent_loopback_port: base.agent_loopback_port,
        profile_region: aws.profile_region().await,
        publish: overrides.publish.clone(),
        ..plan_options(task, definition)
    };
    let plan = plan::plan(&loaded.definition, &options, &mut RandomIds)
        .map_err(|e| located_failure(&loaded, e))?;
    print_warnings(&loaded);
    Ok(plan)
}

/// Set in a detached supervisor's environment: where its status lines go
/// (and the file it removes when it ends).
pub const DETACHED_LOG: &str = "ECS_RUN_LOCAL_DETACHED_LOG";

/// How a started task is followed.
enum Mode {
    /// In the foreground, or as the supervisor of a `--detach`ed task.
    Run { detached: bool },
    /// `smoke`: checked, stopped, and reported.
    Smoke {
        spec: SmokeSpec,
        junit: Option<std::path::PathBuf>,
        json: bool,
    },
}

/// `ecs-run-local TASKDEF`: load and check the definition before touching
/// Docker, then bring up the agent, plan with its image, and run.
fn run_task(args: &RunArgs, mode: &Mode) -> Result<ExitStatus, Failure> {
    block_on(async {
        let aws = LazyAws::new(
            args.aws.profile.profile.as_deref(),
            args.task.region.as_deref(),
        );
        let mut loaded = load_definition(&args.definition, &args.task, &aws).await?;
        apply_overrides(&mut loaded, &args.overrides)?;
        if let Mode::Smoke { spec, .. } = mode {
            spec.check(&loaded.definition)
                .map_err(|e| Failure::usage(anyhow::anyhow!(e), Vec::new()))?;
        }
        let errors: Vec<Diagnostic> = all_findings(&loaded)
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect();
        if !errors.is_empty() {
            return Err(Failure::usage(invalid(&loaded, errors.len()), errors));
        }
        print_warnings(&loaded);
        crate::aws::envfiles::check_local(&loaded.definition, &args.env_files)
            .map_err(|e| Failure::usage(anyhow::Error::new(e), Vec::new()))?;
        let shutdown = Shutdown::listen()?;
        // A role that cannot be assumed fails the run before anything exists.
        let credentials = task_credentials(args, &loaded, &aws).await?;
        let definition = &loaded.definition;
        // What ECS reads with the execution role: secrets, S3 environment
        // files, registry logins.
        let reads_with_execution_role = definition
            .container_definitions
            .iter()
            .any(|c| !c.secrets.is_empty())
            || crate::aws::envfiles::needs_s3(definition, &args.env_files)
            || (args.pull != runner::PullPolicy::Never
                && crate::aws::registry::needs_login(definition));
        let execution = if reads_with_execution_role {
            Some(execution_aws(args, definition, aws.get().await).await?)
        } else {
            None
        };
        let engine = Engine::connect().await?;
        let port = args.agent.agent_port;
        let image = runner::agent::ensure_image(&engine, args.agent.agent_image.as_deref()).await?;
        runner::agent::ensure_network(&engine).await?;
        let agent = runner::agent::ensure_agent(&engine, &image, port).await?;
        // The caller's account only when the run talks to AWS anyway.
        let account = match aws.loaded() {
            Some(aws) => aws.account().await,
            None => None,
        };
        let options = PlanOptions {
            agent_image: image,
            agent_loopback_port: port,
            profile_credentials: credentials.is_some(),
            account,
            profile_region: aws.profile_region().await,
            publish: args.overrides.publish.clone(),
            ..plan_options(&args.task, &args.definition)
        };
        let plan = plan::plan(definition, &options, &mut RandomIds)
            .map_err(|e| located_failure(&loaded, e))?;
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
        let env_files = crate::aws::envfiles::resolve(execution.as_ref(), &plan, &args.env_files)
            .await
            .map_err(anyhow::Error::new)?;
        let detached = matches!(mode, Mode::Run { detached: true });
        let started = detached.then(|| {
            // The detaching CLI waits for this line on our stdout.
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
            let id = plan.task.task_id.clone();
            tokio::spawn(async move {
                if rx.recv().await.is_some() {
                    let _ = write_stdout(&format!("{}{id}\n", runner::detach::STARTED));
                }
            });
            tx
        });
        let options = RunOptions {
            pull: args.pull,
            aws: execution,
            agent,
            credentials,
            secrets,
            env_files,
            logs: match mode {
                _ if detached => LogSink::Discard,
                Mode::Smoke { .. } => LogSink::Stderr,
                Mode::Run { .. } => LogSink::Stdout,
            },
            smoke: match mode {
                Mode::Smoke { spec, .. } => Some(spec.clone()),
                Mode::Run { .. } => None,
            },
            started,
        };
        let begun = std::time::Instant::now();
        let ended = runner::run(&engine, &plan, &options, shutdown).await;
        if detached {
            runner::detach::remove_log();
        }
        if let (
            Err(e),
            Mode::Smoke {
                junit: Some(path), ..
            },
        ) = (&ended, mode)
        {
            // A task that could not even start still fails the CI report.
            let report = SmokeReport {
                verdict: Verdict::Failed(format!("{e:#}")),
                containers: Vec::new(),
                checks: Vec::new(),
                elapsed: begun.elapsed(),
            };
            let _ = std::fs::write(path, output::smoke::junit(&report, &plan.task));
        }
        Ok(match ended? {
            Ending::EssentialExited { exit_code, .. } => ExitStatus::of_container(exit_code),
            Ending::Interrupted => ExitStatus::Interrupted,
            Ending::Smoke(report) => report_smoke(&report, &plan.task, mode)?,
        })
    })
}

/// Prints the smoke report and writes the JUnit file; the status says how it went.
fn report_smoke(
    report: &SmokeReport,
    task: &crate::plan::TaskPlan,
    mode: &Mode,
) -> Result<ExitStatus, Failure> {
    let Mode::Smoke { junit, json, .. } = mode else {
        return Ok(ExitStatus::Failure);
    };
    if let Some(path) = junit {
        std::fs::write(path, output::smoke::junit(report, task))
            .with_context(|| format!("cannot write the JUnit report `{}`", path.display()))?;
    }
    write_stdout(&if *json {
        output::smoke::json(report, task)
    } else {
        output::smoke::table(report, task)
    })?;
    Ok(match report.verdict {
        Verdict::Passed => ExitStatus::Success,
        Verdict::Failed(_) => ExitStatus::Failure,
        Verdict::TimedOut(_) => ExitStatus::Timeout,
        Verdict::Interrupted => ExitStatus::Interrupted,
    })
}

/// Reads the task definition the arguments name: a file, standard input, or
/// one registered in ECS.
async fn load_definition(
    definition: &DefinitionArgs,
    task: &TaskArgs,
    aws: &LazyAws,
) -> Result<Loaded, Failure> {
    let remote = if let Some(family) = &definition.family {
        Remote::Family {
            family: family.clone(),
            revision: definition.revision,
        }
    } else if let Some(arn) = &definition.task_def_arn {
        Remote::Arn(arn.clone())
    } else if let Some(service) = &definition.service {
        Remote::Service {
            cluster: task.cluster.clone(),
            service: service.clone(),
        }
    } else if let Some(path) = &definition.taskdef {
        return Ok(taskdef::load_path(path)?);
    } else {
        return Err(Failure::usage(
            anyhow::anyhow!("no task definition given; see `ecs-run-local --help`"),
            Vec::new(),
        ));
    };
    let described = crate::aws::remote::describe_definition(aws.get().await, &remote)
        .await
        .map_err(anyhow::Error::new)?;
    Ok(taskdef::load_str(
        &described.body,
        &described.arn,
        &described.family,
    )?)
}

/// `--overrides`, `-e` and `--publish`: a container they name that the task
/// does not have is a usage error.
fn apply_overrides(loaded: &mut Loaded, args: &OverrideArgs) -> Result<(), Failure> {
    let usage = |e: crate::taskdef::overrides::OverrideError| Failure::usage(e, Vec::new());
    let overrides = args
        .overrides
        .as_deref()
        .map(TaskOverride::read)
        .transpose()
        .map_err(usage)?;
    crate::taskdef::overrides::apply(&mut loaded.definition, overrides.as_ref(), &args.env)
        .map_err(usage)?;
    crate::taskdef::overrides::check_publish(&loaded.definition, &args.publish).map_err(usage)
}

/// The AWS configuration that reads what ECS reads with the execution role:
/// the user's own, or with `--execution-role assume` the definition's
/// `executionRoleArn` assumed from it.
async fn execution_aws(
    args: &RunArgs,
    definition: &crate::taskdef::TaskDefinition,
    own: &crate::aws::Aws,
) -> Result<crate::aws::Aws, Failure> {
    let role = match (args.aws.execution_role, &definition.execution_role_arn) {
        (ExecutionRoleMode::Assume, Some(role)) => role,
        (ExecutionRoleMode::Assume, None) => {
            status(
                "the definition has no executionRoleArn; reading secrets with your own credentials",
            );
            return Ok(own.clone());
        }
        (ExecutionRoleMode::Profile, _) => return Ok(own.clone()),
    };
    let family = definition.family.clone().unwrap_or_default();
    let session = RoleSession::execution(role, &family);
    let fetched = session.fetch(own).await.map_err(anyhow::Error::new)?;
    Ok(own.assuming(&fetched))
}

/// The task's credentials: its role assumed (or the profile's own with
/// `--credentials profile`), fetched once before anything is created.
async fn task_credentials(
    args: &RunArgs,
    loaded: &Loaded,
    aws: &LazyAws,
) -> Result<Option<TaskCredentials>, Failure> {
    let role = args
        .task
        .task_role_arn
        .clone()
        .or_else(|| loaded.definition.task_role_arn.clone());
    let family = loaded.definition.family.clone().unwrap_or_default();
    let source = match role {
        Some(role) => Source::Role(RoleSession::new(&role, &family, args.aws.role_duration)),
        None if args.aws.credentials == Some(CredentialsMode::Profile) => Source::Profile {
            duration: args.aws.role_duration,
        },
        None => return Ok(None),
    };
    let aws = aws.get().await;
    let first = source.fetch(aws).await.map_err(anyhow::Error::new)?;
    Ok(Some(TaskCredentials {
        aws: aws.clone(),
        source,
        first,
    }))
}

/// Runs the async part of a command on a fresh runtime.
fn block_on(
    work: impl std::future::Future<Output = Result<ExitStatus, Failure>>,
) -> Result<ExitStatus, Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(work)
}

fn validate(loaded: &Loaded, json: bool) -> Result<ExitStatus, Failure> {
    let findings = all_findings(loaded);
    let errors: Vec<Diagnostic> = findings.iter().filter(|d| d.is_error()).cloned().collect();
    if json {
        write_stdout(&output::diagnostics::json(loaded, &findings))?;
        return Ok(if errors.is_empty() {
            ExitStatus::Success
        } else {
            ExitStatus::Usage
        });
    }
    for warning in findings.iter().filter(|d| !d.is_error()) {
        output::diagnostics::warn(&loaded.source_name, warning);
    }
    if errors.is_empty() {
        write_stdout(&output::diagnostics::valid_line(loaded, findings.len()))?;
        Ok(ExitStatus::Success)
    } else {
        Err(Failure::usage(invalid(loaded, errors.len()), errors))
    }
}

/// Load warnings and validation findings, every path located in the user's document.
fn all_findings(loaded: &Loaded) -> Vec<Diagnostic> {
    let mut findings: Vec<Diagnostic> = taskdef::validate(&loaded.definition)
        .into_iter()
        .map(|d| Diagnostic {
            path: loaded.shape.locate(&d.path),
            ..d
        })
        .collect();
    findings.extend(loaded.warnings.iter().cloned());
    findings.sort_by_key(|d| d.severity);
    findings
}

fn located_failure(loaded: &Loaded, error: PlanError) -> Failure {
    let PlanError::Invalid(errors) = error;
    let errors: Vec<Diagnostic> = errors
        .into_iter()
        .map(|d| Diagnostic {
            path: loaded.shape.locate(&d.path),
            ..d
        })
        .collect();
    Failure::usage(invalid(loaded, errors.len()), errors)
}

fn invalid(loaded: &Loaded, count: usize) -> anyhow::Error {
    anyhow::anyhow!(
        "`{}` is not a valid task definition ({})",
        loaded.source_name,
        taskdef::load::plural(count, "error")
    )
}

fn print_warnings(loaded: &Loaded) {
    for warning in all_findings(loaded).iter().filter(|d| !d.is_error()) {
        output::diagnostics::warn(&loaded.source_name, warning);
    }
}

fn plan_options(task: &TaskArgs, definition: &DefinitionArgs) -> PlanOptions {
    PlanOptions {
        cluster: task.cluster.clone(),
        region: task
            .region
            .clone()
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .filter(|r| !r.is_empty()),
        // `--service S` runs S's definition under S's name.
        service_name: task
            .service_name
            .clone()
            .or_else(|| definition.service.clone()),
        task_role_arn: task.task_role_arn.clone(),
        ..PlanOptions::default()
    }
}

fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // `ecs-run-local plan x.json | head` is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}
