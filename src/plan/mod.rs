//! The plan: a pure function from a validated task definition and run options
//! to every Docker object a run creates.
//!
//! Nothing here touches Docker, AWS, the clock or the file system; the random
//! parts come from an [`Ids`] source, so a plan is a value that tests pin with
//! snapshots. The runner executes a plan; `ecs-run-local plan` prints one.

pub mod cgroup;
mod container;
pub mod firelens;
pub mod ids;
pub mod names;
pub mod order;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
pub(crate) mod test_support;

use std::collections::BTreeMap;

use bollard::models::{ContainerCreateBody, NetworkCreateRequest};
use serde::Serialize;

use crate::taskdef::model::{
    Compatibility, DependencyCondition, LogConfiguration, NetworkMode, RestartPolicy,
    TaskDefinition, VolumeScope,
};
use crate::taskdef::{Diagnostic, units};

#[cfg(test)]
pub use ids::SequentialIds;
pub use ids::{Ids, RandomIds};

/// Where the agent image holds this executable (its entrypoint), for the
/// agent and pause containers.
pub const AGENT_EXECUTABLE: &str = "/ecs-run-local";

/// The network every task and the agent share.
pub const NETWORK_NAME: &str = "ecs-run-local";
/// The link-local subnet ECS uses for its task endpoints.
pub const NETWORK_SUBNET: &str = "169.254.170.0/24";
pub const NETWORK_GATEWAY: &str = "169.254.170.1";
/// IPAM hands task containers addresses from here only, so none can take the agent's.
pub const NETWORK_IP_RANGE: &str = "169.254.170.128/25";
/// Where containers reach the agent, as on ECS.
pub const AGENT_IP: &str = "169.254.170.2";
/// The agent's port on 127.0.0.1 for host-mode tasks and the CLI (the ECS
/// agent's own credentials port).
pub const DEFAULT_AGENT_LOOPBACK_PORT: u16 = 51679;
/// The cluster name in ARNs and labels when `--cluster` is not given.
pub const DEFAULT_CLUSTER: &str = "default";
/// The region when neither the options, the environment, the definition nor the profile name one.
pub const FALLBACK_REGION: &str = "us-east-1";
/// The account in synthesised ARNs when nothing names a real one.
pub const FALLBACK_ACCOUNT: &str = "000000000000";
/// ECS's default `stopTimeout` (the agent's `ECS_CONTAINER_STOP_TIMEOUT`).
pub const DEFAULT_STOP_TIMEOUT_SECS: i64 = 30;

/// Our labels, beside the agent's `com.amazonaws.ecs.*` ones. Cleanup finds
/// objects by these, never by name.
pub mod labels {
    pub const RUN_ID: &str = "ecs-run-local.run-id";
    pub const ROLE: &str = "ecs-run-local.role";
    pub const CLUSTER: &str = "com.amazonaws.ecs.cluster";
    pub const CONTAINER_NAME: &str = "com.amazonaws.ecs.container-name";
    pub const TASK_ARN: &str = "com.amazonaws.ecs.task-arn";
    pub const FAMILY: &str = "com.amazonaws.ecs.task-definition-family";
    pub const VERSION: &str = "com.amazonaws.ecs.task-definition-version";
    /// `bridge`, `awsvpc`, `host` or `none`, for `ps`.
    pub const NETWORK_MODE: &str = "ecs-run-local.network-mode";
    /// The name other tasks reach this one by, for `ps`.
    pub const SERVICE_NAME: &str = "ecs-run-local.service-name";
    /// A detached supervisor's status log, for `down` to remove after a
    /// supervisor that was killed.
    pub const SUPERVISOR_LOG: &str = "ecs-run-local.supervisor-log";
    /// The process that supervises a task's objects, so that `down` can
    /// tell a live run from one whose CLI was killed.
    pub const SUPERVISOR_PID: &str = "ecs-run-local.supervisor-pid";
}

/// What the user chose for this run, beyond the definition itself.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub cluster: String,
    /// `--region` or the environment's; the definition's ARN otherwise.
    pub region: Option<String>,
    /// The region the AWS profile configures, after the definition's ARN.
    pub profile_region: Option<String>,
    /// The caller's account (STS `GetCallerIdentity`), when the definition's
    /// own ARN names none.
    pub account: Option<String>,
    /// The DNS name other tasks reach this one by; the family when `None`.
    pub service_name: Option<String>,
    /// The image of the agent and pause containers (built from our own binary).
    pub agent_image: String,
    pub agent_loopback_port: u16,
    /// Overrides `taskRoleArn` (`--task-role-arn`).
    pub task_role_arn: Option<String>,
    /// `--credentials profile`: a task without a role gets credentials too.
    pub profile_credentials: bool,
    /// `--publish`: more host ports.
    pub publish: Vec<crate::taskdef::overrides::Publish>,
    /// A detached supervisor's status log, labelled on the run's objects.
    pub supervisor_log: Option<String>,
    /// `--metadata-file`: each container gets the ECS container metadata
    /// file (`ECS_CONTAINER_METADATA_FILE`), as with the agent's
    /// `ECS_ENABLE_CONTAINER_METADATA`.
    pub metadata_file: bool,
    /// The engine uses the `cgroupfs` driver: a task with `cpu` or `memory`
    /// gets a cgroup of its own (see [`cgroup`]).
    pub task_cgroup: bool,
    /// The task's id, when the run chose it before planning (the task
    /// role's session is named after it); a fresh one otherwise.
    pub task_id: Option<String>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            cluster: DEFAULT_CLUSTER.into(),
            region: None,
            profile_region: None,
            account: None,
            service_name: None,
            agent_image: format!("ecs-run-local-agent:{}", env!("CARGO_PKG_VERSION")),
            agent_loopback_port: DEFAULT_AGENT_LOOPBACK_PORT,
            task_role_arn: None,
            profile_credentials: false,
            publish: Vec::new(),
            supervisor_log: None,
            metadata_file: false,
            task_cgroup: false,
            task_id: None,
        }
    }
}

/// Everything a run creates, in the order it creates it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Labels every object of this run, for teardown and `down`.
    pub run_id: String,
    pub task: TaskPlan,
    /// The shared network; created if absent, never removed by a run.
    pub network: NetworkCreateRequest,
    /// Volumes to create before the containers.
    pub volumes: Vec<VolumePlan>,
    /// The namespace holder of awsvpc tasks and of `pidMode`/`ipcMode` `task`.
    pub pause: Option<ContainerPlan>,
    pub containers: Vec<ContainerPlan>,
    /// Container names in start order: each after everything it depends on.
    pub start_order: Vec<String>,
    /// The task's own cgroup, when it has task-level limits and the engine
    /// can take them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_cgroup: Option<cgroup::TaskCgroupPlan>,
    /// The task's log routing, when it has a `FireLens` router.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firelens: Option<firelens::FirelensPlan>,
}

/// The task as ECS would describe it: identity, mode and limits.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskPlan {
    pub family: String,
    pub revision: i64,
    pub task_arn: String,
    pub task_id: String,
    pub cluster: String,
    pub region: String,
    pub account: String,
    pub launch_type: LaunchType,
    pub network_mode: NetworkMode,
    pub service_name: String,
    pub task_role_arn: Option<String>,
    pub execution_role_arn: Option<String>,
    /// The id behind `/v2/credentials/<id>` when the task has a role.
    pub credentials_id: Option<String>,
    /// Task-level CPU units and memory MiB, as the metadata's `Limits`.
    pub cpu: Option<i64>,
    pub memory: Option<i64>,
    pub tags: BTreeMap<String, String>,
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN` of host-mode tasks; never printed.
    #[serde(skip)]
    pub authorization_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LaunchType {
    Ec2,
    Fargate,
}

impl std::fmt::Display for LaunchType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LaunchType::Ec2 => "EC2",
            LaunchType::Fargate => "FARGATE",
        })
    }
}

/// One container to create: the Docker body plus what the runner and agent
/// need beside it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPlan {
    /// The name in the task definition (`~internal~ecs~pause` for the pause container).
    pub name: String,
    pub docker_name: String,
    pub kind: ContainerKind,
    pub image: String,
    /// `linux/arm64` and the like, from `runtimePlatform`.
    pub platform: Option<String>,
    pub essential: bool,
    /// The id in this container's metadata URIs (`/v4/<endpoint-id>`).
    pub endpoint_id: Option<String>,
    pub depends_on: Vec<Dependency>,
    /// Containers this one `links` to or takes `volumesFrom`: the ECS agent
    /// starts them first (an implicit START dependency).
    pub implicit_dependencies: Vec<String>,
    pub start_timeout_secs: Option<i64>,
    pub stop_timeout_secs: i64,
    pub restart_policy: Option<RestartPlan>,
    /// Variables whose values are resolved at run time, never shown.
    pub secrets: Vec<SecretEnv>,
    /// S3 ARNs of environment files, applied before `environment`.
    pub environment_files: Vec<String>,
    pub repository_credentials: Option<String>,
    /// The definition's log configuration, reported in metadata. Locally
    /// every container logs to `json-file` so that its output can be streamed.
    pub log_configuration: Option<LogPlan>,
    /// The definition's `cpu` units and `memory` MiB, as the metadata's `Limits`.
    pub cpu: i64,
    pub memory: Option<i64>,
    /// The definition's port mappings as `port/protocol`; where the agent
    /// finds this container's bindings (on the pause container in awsvpc).
    pub ports: Vec<String>,
    /// With `--metadata-file`: the container metadata file's path inside
    /// the container (in an anonymous volume of its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_file: Option<String>,
    pub create: ContainerCreateBody,
}

/// Where the ECS agent mounts a container's metadata file directory
/// (`/opt/ecs/metadata/<uuid>/`), and the file's name in it.
pub const METADATA_DIR: &str = "/opt/ecs/metadata";
pub const METADATA_FILE_NAME: &str = "ecs-container-metadata.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContainerKind {
    Normal,
    /// The agent's `CNI_PAUSE` (awsvpc) or `NAMESPACE_PAUSE` container.
    Pause,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    pub container: String,
    pub condition: DependencyCondition,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestartPlan {
    pub ignored_exit_codes: Vec<i64>,
    pub restart_attempt_period_secs: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretEnv {
    pub name: String,
    pub value_from: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogPlan {
    pub log_driver: String,
    pub options: BTreeMap<String, String>,
}

/// A Docker volume the run creates (task scope) or reuses (shared scope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumePlan {
    /// The name in the task definition.
    pub name: String,
    pub docker_name: String,
    pub scope: Scope,
    pub driver: String,
    pub driver_opts: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// For a shared volume: create it when absent (else it must exist).
    pub autoprovision: bool,
    /// What this local volume replaces (`efs fs-123`), if anything.
    pub stands_in_for: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Created for this task, removed at teardown.
    Task,
    /// Outlives the task; never removed by a run.
    Shared,
}

/// Why a definition cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("the task definition has {} (run `ecs-run-local validate` to list them)", crate::taskdef::load::plural(.0.len(), "error"))]
    Invalid(Vec<Diagnostic>),
}

/// Plans a run of `def`. Validation errors make it fail: a plan exists only
/// for a definition that can run.
pub fn plan(
    def: &TaskDefinition,
    options: &PlanOptions,
    ids: &mut dyn Ids,
) -> Result<Plan, PlanError> {
    let errors: Vec<Diagnostic> = crate::taskdef::validate(def)
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    if !errors.is_empty() {
        return Err(PlanError::Invalid(errors));
    }
    let order = order::start_order(def).ok_or_else(|| {
        PlanError::Invalid(vec![Diagnostic::error(
            "containerDefinitions",
            "dependsOn forms a cycle",
        )])
    })?;
    let task = task_plan(def, options, ids);
    let run_id = ids.hex(32);
    let mut ctx = container::Context::new(def, options, &task, &run_id, ids);
    let volumes = ctx.volumes();
    let mut pause = ctx.pause();
    let mut containers: Vec<ContainerPlan> = def
        .container_definitions
        .iter()
        .map(|c| ctx.container(c, pause.as_ref(), &volumes))
        .collect();
    container::resolve_names(&mut containers);
    container::publish_more(
        &mut containers,
        pause.as_mut(),
        &options.publish,
        def.network_mode.unwrap_or_default(),
    )
    .map_err(|d| PlanError::Invalid(vec![d]))?;
    let network = network_request();
    let (cpu, memory) = (task.cpu, task.memory);
    let mut plan = Plan {
        run_id,
        task,
        network,
        volumes,
        pause,
        containers,
        start_order: order
            .into_iter()
            .map(|i| def.container_definitions[i].name().to_owned())
            .collect(),
        task_cgroup: None,
        firelens: None,
    };
    firelens::apply(&mut plan, def, ids);
    if options.task_cgroup {
        cgroup::apply(&mut plan, cpu, memory, &options.agent_image);
    }
    Ok(plan)
}

fn task_plan(def: &TaskDefinition, options: &PlanOptions, ids: &mut dyn Ids) -> TaskPlan {
    let family = def.family.clone().unwrap_or_default();
    let arn_parts = def
        .task_definition_arn
        .as_deref()
        .map(|arn| arn.split(':').collect::<Vec<_>>())
        .filter(|p| p.len() >= 6);
    let role_account = [
        &options.task_role_arn,
        &def.task_role_arn,
        &def.execution_role_arn,
    ]
    .into_iter()
    .flatten()
    .filter_map(|arn| arn.split(':').nth(4))
    .find(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
    .map(str::to_owned);
    let region = options
        .region
        .clone()
        .or_else(|| {
            arn_parts
                .as_ref()
                .map(|p| p[3].to_owned())
                .filter(|r| !r.is_empty())
        })
        .or_else(|| options.profile_region.clone())
        .unwrap_or_else(|| FALLBACK_REGION.to_owned());
    // The definition's own ARN first, then the caller's account (STS), then
    // the role ARNs.
    let account = arn_parts
        .as_ref()
        .map(|p| p[4].to_owned())
        .filter(|a| !a.is_empty())
        .or_else(|| options.account.clone())
        .or(role_account)
        .unwrap_or_else(|| FALLBACK_ACCOUNT.to_owned());
    let network_mode = def.network_mode.unwrap_or_default();
    let fargate = def
        .requires_compatibilities
        .contains(&Compatibility::Fargate)
        || (def.requires_compatibilities.is_empty()
            && def.compatibilities == [Compatibility::Fargate]);
    let launch_type = if fargate && network_mode == NetworkMode::Awsvpc {
        LaunchType::Fargate
    } else {
        LaunchType::Ec2
    };
    let task_id = options.task_id.clone().unwrap_or_else(|| ids.hex(32));
    let task_role_arn = options
        .task_role_arn
        .clone()
        .or_else(|| def.task_role_arn.clone());
    let has_credentials = task_role_arn.is_some() || options.profile_credentials;
    let credentials_id = has_credentials.then(|| ids.uuid());
    let authorization_token =
        (network_mode == NetworkMode::Host && has_credentials).then(|| ids.hex(64));
    TaskPlan {
        revision: def.revision.unwrap_or(1),
        task_arn: format!(
            "arn:aws:ecs:{region}:{account}:task/{}/{task_id}",
            options.cluster
        ),
        task_id,
        cluster: options.cluster.clone(),
        region,
        account,
        launch_type,
        network_mode,
        service_name: options
            .service_name
            .clone()
            .unwrap_or_else(|| family.clone()),
        family,
        task_role_arn,
        execution_role_arn: def.execution_role_arn.clone(),
        credentials_id,
        cpu: def.cpu.as_ref().and_then(|c| units::cpu_units(c).ok()),
        memory: def.memory.as_ref().and_then(|m| units::memory_mib(m).ok()),
        tags: def
            .tags
            .iter()
            .filter_map(|t| Some((t.key.clone()?, t.value.clone().unwrap_or_default())))
            .collect(),
        authorization_token,
    }
}

/// The shared network (docs/ARCHITECTURE.md, "The agent and its protocol"):
/// the link-local /24 with the agent at .2
/// and task containers handed addresses from the upper half only.
#[must_use]
pub fn network_request() -> NetworkCreateRequest {
    use bollard::models::{Ipam, IpamConfig};
    NetworkCreateRequest {
        name: NETWORK_NAME.into(),
        driver: Some("bridge".into()),
        ipam: Some(Ipam {
            driver: Some("default".into()),
            config: Some(vec![IpamConfig {
                subnet: Some(NETWORK_SUBNET.into()),
                ip_range: Some(NETWORK_IP_RANGE.into()),
                gateway: Some(NETWORK_GATEWAY.into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        labels: Some([(labels::ROLE.to_owned(), "network".to_owned())].into()),
        ..Default::default()
    }
}

impl Plan {
    /// The containers in the order they start, pause first.
    pub fn containers_in_start_order(&self) -> impl Iterator<Item = &ContainerPlan> {
        self.pause.iter().chain(
            self.start_order
                .iter()
                .filter_map(|name| self.containers.iter().find(|c| &c.name == name)),
        )
    }
}

impl From<&RestartPolicy> for RestartPlan {
    fn from(policy: &RestartPolicy) -> Self {
        RestartPlan {
            ignored_exit_codes: policy.ignored_exit_codes.clone(),
            restart_attempt_period_secs: policy.restart_attempt_period.unwrap_or(300),
        }
    }
}

impl From<&LogConfiguration> for LogPlan {
    fn from(log: &LogConfiguration) -> Self {
        LogPlan {
            log_driver: log.log_driver.clone().unwrap_or_default(),
            options: log.options.clone(),
        }
    }
}

impl From<VolumeScope> for Scope {
    fn from(scope: VolumeScope) -> Self {
        match scope {
            VolumeScope::Task => Scope::Task,
            VolumeScope::Shared => Scope::Shared,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task_of(document: &str, options: &PlanOptions) -> TaskPlan {
        super::test_support::planned_with(document, options).task
    }

    #[test]
    fn region_and_account_come_from_the_flag_the_arn_the_profile_then_placeholders() {
        let bare = r#"{"family":"web","containerDefinitions":[{"name":"app","image":"x"}]}"#;
        let with_arn = r#"{"family":"web","taskDefinitionArn":"arn:aws:ecs:eu-west-1:111122223333:task-definition/web:3","containerDefinitions":[{"name":"app","image":"x"}]}"#;
        let profile = PlanOptions {
            profile_region: Some("ap-south-1".into()),
            account: Some("444455556666".into()),
            ..PlanOptions::default()
        };
        let flag = PlanOptions {
            region: Some("us-west-2".into()),
            ..profile.clone()
        };
        let cases = [
            (
                bare,
                PlanOptions::default(),
                FALLBACK_REGION,
                FALLBACK_ACCOUNT,
            ),
            (bare, profile.clone(), "ap-south-1", "444455556666"),
            (with_arn, profile, "eu-west-1", "111122223333"),
            (with_arn, flag, "us-west-2", "111122223333"),
        ];
        for (document, options, region, account) in cases {
            let task = task_of(document, &options);
            assert_eq!(
                (task.region.as_str(), task.account.as_str()),
                (region, account)
            );
            assert!(
                task.task_arn
                    .starts_with(&format!("arn:aws:ecs:{region}:{account}:task/")),
                "{}",
                task.task_arn
            );
        }
    }
}
