//! What several commands do with a definition before they use it: read it
//! (a file, standard input, or ECS), apply the run's overrides, gather its
//! findings located in the user's document, and plan it.

use crate::aws::LazyAws;
use crate::aws::remote::Remote;
use crate::exit::Failure;
use crate::output;
use crate::plan::{self, Plan, PlanError, PlanOptions, RandomIds};
use crate::source::{self, Sourced};
use crate::taskdef::overrides::TaskOverride;
use crate::taskdef::{self, Diagnostic, Loaded};

use super::{AwsSettings, DefinitionSource, OverrideSettings, TaskSettings, TemplateSettings};

/// How a source's options follow from the arguments: `--resource`,
/// `--parameter`, and the region the run names (the account stays a
/// placeholder without a stack).
pub(super) fn source_options(template: &TemplateSettings, region: Option<&str>) -> source::Options {
    let region = region
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty());
    source::Options {
        resource: template.resource.clone(),
        context: source::Context {
            region,
            parameters: template.parameters.iter().cloned().collect(),
            ..source::Context::default()
        },
    }
}

/// Reads a definition file of any source.
pub(super) fn load_file(
    path: &std::path::Path,
    template: &TemplateSettings,
    region: Option<&str>,
) -> Result<Sourced, Failure> {
    source::load(path, &source_options(template, region)).map_err(source_failure)
}

/// A definition file evaluated with what AWS knows: with `--stack`, the
/// deployed stack's values; then the SSM parameters and secrets its dynamic
/// references and SSM-typed parameters name, when it has any (a source
/// that needs none makes no AWS call).
async fn load_deployed(
    path: &std::path::Path,
    template: &TemplateSettings,
    task: &TaskSettings,
    aws: &LazyAws,
) -> Result<Sourced, Failure> {
    let input = source::Input::read(path).map_err(source_failure)?;
    let mut options = source_options(template, task.region.as_deref());
    // As the SDK reads it: `--region`, the environment, then the profile.
    if options.context.region.is_none() {
        options.context.region = aws.profile_region().await;
    }
    if let Some(stack) = &template.stack
        && !input.is_cloudformation()
    {
        return Err(Failure::usage(
            anyhow::anyhow!(
                "`--stack {stack}` resolves what a CloudFormation template or a CDK app refers to, and `{}` is neither",
                path.display()
            ),
            Vec::new(),
        ));
    }
    if let Some(stack) = &template.stack {
        let client = aws.get().await.map_err(anyhow::Error::new)?;
        let deployed = crate::aws::stacks::describe(client, stack)
            .await
            .map_err(stack_failure)?;
        let context = &mut options.context;
        for (key, value) in deployed.parameters {
            context.parameters.entry(key).or_insert(value);
        }
        context.ssm.extend(deployed.resolved);
        context.physical_ids = deployed.physical_ids;
        context.exports = deployed.exports;
        context.stack_name = Some(deployed.name);
        context.stack_id = Some(deployed.id);
        context.region = deployed.region.or(context.region.take());
        context.account_id = deployed.account;
    }
    let sourced = input.load(&options).map_err(source_failure)?;
    let (ssm, dynamic) = source::wanted(&sourced.loaded);
    if ssm.is_empty() && dynamic.is_empty() {
        return Ok(sourced);
    }
    // What cannot be read stays a placeholder: the run decides whether it
    // can do without it (an `--image` may replace it).
    let source_name = sourced.loaded.source_name.clone();
    let unread = |e: &dyn std::fmt::Display| {
        output::diagnostics::warn(
            &source_name,
            &Diagnostic::warning("", format!("{e}; it stays a placeholder")),
        );
    };
    let client = match aws.get().await {
        Ok(client) => client,
        Err(e) => {
            unread(&e);
            return Ok(sourced);
        }
    };
    match crate::aws::stacks::ssm_parameters(client, &ssm).await {
        Ok(fetched) => options.context.ssm.extend(fetched),
        Err(e) => unread(&e),
    }
    match crate::aws::stacks::secrets(client, &dynamic).await {
        Ok(fetched) => options.context.dynamic.extend(fetched),
        Err(e) => unread(&e),
    }
    input.load(&options).map_err(source_failure)
}

/// A stack that is not there is bad input (exit 2); AWS failing, exit 1.
fn stack_failure(error: crate::aws::stacks::StackError) -> Failure {
    if error.is_not_found() {
        Failure::usage(error, Vec::new())
    } else {
        Failure::from(anyhow::Error::new(error))
    }
}

/// A source that cannot be read: bad input, exit 2, its problems listed.
pub(super) fn source_failure(error: source::SourceError) -> Failure {
    let details = error.problems().to_vec();
    Failure::usage(error, details)
}

/// Reads the task definition the arguments name: a file, standard input, or
/// one registered in ECS.
pub(super) async fn load(
    definition: &DefinitionSource,
    task: &TaskSettings,
    aws: &LazyAws,
) -> Result<Sourced, Failure> {
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
        return load_deployed(path, &definition.template, task, aws).await;
    } else {
        return Err(Failure::usage(
            anyhow::anyhow!("no task definition given; see `ecs-run-local --help`"),
            Vec::new(),
        ));
    };
    let aws = aws.get().await.map_err(anyhow::Error::new)?;
    let described = crate::aws::remote::describe_definition(aws, &remote)
        .await
        .map_err(anyhow::Error::new)?;
    Ok(Sourced {
        loaded: taskdef::load_str(&described.body, &described.arn, &described.family)?,
        kind: source::Kind::Json,
        assets: Vec::new(),
    })
}

/// `--overrides`, `--image`, `-e` and `--publish`: a container they name that the task
/// does not have is a usage error. Findings on what they set name them.
pub(super) fn apply_overrides(loaded: &mut Loaded, args: &OverrideSettings) -> Result<(), Failure> {
    let usage = |e: crate::taskdef::overrides::OverrideError| Failure::usage(e, Vec::new());
    let overrides = args
        .overrides
        .as_deref()
        .map(TaskOverride::read)
        .transpose()
        .map_err(usage)?;
    loaded.overridden = crate::taskdef::overrides::apply(
        &mut loaded.definition,
        overrides.as_ref(),
        &args.env,
        &args.images,
    )
    .map_err(usage)?;
    crate::taskdef::overrides::check_publish(&loaded.definition, &args.publish).map_err(usage)
}

/// `plan` and `compose`: the definition the arguments name, overridden and
/// planned with `base`'s agent settings; its warnings are printed.
pub(super) async fn load_and_plan(
    definition: &DefinitionSource,
    task: &TaskSettings,
    overrides: &OverrideSettings,
    aws: &AwsSettings,
    base: PlanOptions,
) -> Result<Plan, Failure> {
    let aws = LazyAws::new(
        aws.profile.as_deref(),
        task.region.as_deref(),
        aws.timeout,
        aws.mfa_code.as_deref(),
    );
    let mut loaded = load(definition, task, &aws).await?.loaded;
    apply_overrides(&mut loaded, overrides)?;
    // As a run would: a task role only a deployment knows is no role (its
    // placeholder stays, for the warning).
    if open_placeholders(&loaded)
        .iter()
        .any(|p| p.path == "taskRoleArn")
    {
        loaded.definition.task_role_arn = None;
    }
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

/// Load warnings and validation findings, every path located in the user's document.
pub(super) fn all_findings(loaded: &Loaded) -> Vec<Diagnostic> {
    let open = open_placeholders(loaded);
    let mut findings: Vec<Diagnostic> = taskdef::validate(&loaded.definition)
        .into_iter()
        // A source's placeholder is said once, below, with its way out.
        .filter(|d| {
            !open
                .iter()
                .any(|p| p.path == d.path && d.message.contains(&p.text))
        })
        .map(|d| Diagnostic {
            path: loaded.locate(&d.path),
            ..d
        })
        .collect();
    findings.extend(loaded.warnings.iter().cloned());
    findings.extend(open.into_iter().map(|p| {
        Diagnostic::warning(
            loaded.locate(&p.path),
            format!(
                "`{}` is known only once deployed; {}",
                p.text,
                source::way_out(&p.path, &p.text)
            ),
        )
    }));
    findings.sort_by_key(|d| d.severity);
    findings
}

/// The placeholders no override replaced.
pub(super) fn open_placeholders(loaded: &Loaded) -> Vec<taskdef::Placeholder> {
    loaded
        .placeholders
        .iter()
        .filter(|p| taskdef::overrides::locate(&loaded.overridden, &p.path).is_none())
        .cloned()
        .collect()
}

/// `render` writes the definition to register: every value must be known.
pub(super) fn reject_placeholders(loaded: &Loaded) -> Result<(), Failure> {
    let open = open_placeholders(loaded);
    if open.is_empty() {
        return Ok(());
    }
    let details: Vec<Diagnostic> = open
        .iter()
        .map(|p| {
            Diagnostic::error(
                loaded.locate(&p.path),
                format!(
                    "`{}` is known only once deployed; {}",
                    p.text,
                    source::way_out(&p.path, &p.text)
                ),
            )
        })
        .collect();
    Err(Failure::usage(
        anyhow::anyhow!(
            "`{}` has {} known only once deployed; render needs every value",
            loaded.source_name,
            taskdef::load::plural(details.len(), "value")
        ),
        details,
    ))
}

/// A run goes ahead where the task still runs as ECS would: an unresolved
/// task role runs it with no role (one warning); a value it cannot do
/// without (an image, a secret, an environment file, an execution role
/// those need) stops it, one finding each.
pub(super) fn settle_placeholders_for_run(
    loaded: &mut Loaded,
    task_role_given: bool,
) -> Result<(), Failure> {
    let open = open_placeholders(loaded);
    if let Some(role) = open.iter().find(|p| p.path == "taskRoleArn") {
        loaded.definition.task_role_arn = None;
        loaded.placeholders.retain(|p| p.path != "taskRoleArn");
        if !task_role_given {
            output::diagnostics::warn(
                &loaded.source_name,
                &Diagnostic::warning(
                    loaded.locate("taskRoleArn"),
                    format!(
                        "`{}` is known only once deployed; the task runs with no role ({})",
                        role.text,
                        source::way_out("taskRoleArn", &role.text)
                    ),
                ),
            );
        }
    }
    let blocking: Vec<Diagnostic> = open
        .iter()
        .filter(|p| source::run_needs(&p.path, &loaded.definition))
        .map(|p| {
            Diagnostic::error(
                loaded.locate(&p.path),
                format!(
                    "`{}` is known only once deployed and the run needs it; {}",
                    p.text,
                    source::way_out(&p.path, &p.text)
                ),
            )
        })
        .collect();
    if blocking.is_empty() {
        Ok(())
    } else {
        Err(Failure::usage(
            anyhow::anyhow!(
                "`{}` cannot run without {} known only once deployed",
                loaded.source_name,
                taskdef::load::plural(blocking.len(), "value")
            ),
            blocking,
        ))
    }
}

/// The definition's errors as one usage failure, or nothing when it can run.
pub(super) fn reject_errors(loaded: &Loaded) -> Result<(), Failure> {
    let errors: Vec<Diagnostic> = all_findings(loaded)
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::usage(invalid(loaded, errors.len()), errors))
    }
}

/// A planning error, located in the user's document.
pub(super) fn located_failure(loaded: &Loaded, error: PlanError) -> Failure {
    let PlanError::Invalid(errors) = error;
    let errors: Vec<Diagnostic> = errors
        .into_iter()
        .map(|d| Diagnostic {
            path: loaded.locate(&d.path),
            ..d
        })
        .collect();
    Failure::usage(invalid(loaded, errors.len()), errors)
}

/// The headline of a definition that cannot run.
pub(super) fn invalid(loaded: &Loaded, count: usize) -> anyhow::Error {
    anyhow::anyhow!(
        "`{}` is not a valid task definition ({})",
        loaded.source_name,
        taskdef::load::plural(count, "error")
    )
}

pub(super) fn print_warnings(loaded: &Loaded) {
    for warning in all_findings(loaded).iter().filter(|d| !d.is_error()) {
        output::diagnostics::warn(&loaded.source_name, warning);
    }
}

/// The plan options every command derives from the task's settings.
pub(super) fn plan_options(task: &TaskSettings, definition: &DefinitionSource) -> PlanOptions {
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
        // In a detached supervisor: its log, for `down` should it be killed.
        supervisor_log: crate::runner::detach::log_path(),
        ..PlanOptions::default()
    }
}
