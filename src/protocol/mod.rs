//! The protocol between the CLI and the agent, the one place both sides
//! import: the admin API's paths and bodies (what a task registration
//! carries, credentials, health), and [`wire`], JSON as the Go agent writes
//! it. Every admin route needs the agent's bearer token. Every admin route needs the agent's bearer token.
//!
//! A registration holds what the agent cannot learn from Docker: the task's
//! identity, limits, tags, endpoint and credentials ids, and each
//! container's definition-side facts. Everything live (Docker ids, states,
//! addresses, health, exit codes) the agent reads from the engine itself.

pub mod wire;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::plan::{ContainerKind, Ids, LaunchType, Plan, labels};
use crate::taskdef::model::NetworkMode;
use wire::Time;

/// The agent's environment variable holding a task to serve from the start
/// (a compose file's agent, which takes no registrations).
pub const TASK_ENV: &str = "ECS_RUN_LOCAL_TASK";

// Every admin route lives under `/ecs-run-local`.
/// `GET`: the agent's version and state sizes (see [`Health`]).
pub const HEALTH_PATH: &str = "/ecs-run-local/health";
/// `PUT /ecs-run-local/tasks/<task-id>` registers, `DELETE` deregisters.
pub const TASKS_PATH: &str = "/ecs-run-local/tasks";
/// `PUT /ecs-run-local/credentials/<credentials-id>` pushes credentials.
pub const CREDENTIALS_PATH: &str = "/ecs-run-local/credentials";
/// Where the token sits inside the agent container; the CLI that creates the
/// agent writes it there before the start, later CLIs read it back through
/// the Docker API. It never touches the host's file system.
pub const TOKEN_FILE: &str = "/etc/ecs-run-local/agent-token";

/// A task, as the CLI registers it before creating its containers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRegistration {
    pub task_arn: String,
    /// The metadata's `Cluster`: the name on EC2, the ARN on Fargate, as ECS shows them.
    pub cluster: String,
    pub family: String,
    pub revision: String,
    pub network_mode: String,
    pub launch_type: String,
    pub availability_zone: String,
    pub service_name: String,
    /// Task-level vCPU and MiB (`Limits`).
    pub cpu: Option<f64>,
    pub memory: Option<i64>,
    pub tags: BTreeMap<String, String>,
    pub pull_started_at: Option<Time>,
    pub pull_stopped_at: Option<Time>,
    /// The id behind `/v2/credentials/<id>`; `None` for a task without a role.
    pub credentials_id: Option<String>,
    pub role_arn: Option<String>,
    /// Host-mode tasks send it as `Authorization` with their credentials requests.
    pub authorization_token: Option<String>,
    pub containers: Vec<ContainerRegistration>,
}

/// One container of a registered task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerRegistration {
    pub name: String,
    pub docker_name: String,
    /// The id of `/v3/<id>` and `/v4/<id>`; `None` for the pause container
    /// and for `none` network mode.
    pub endpoint_id: Option<String>,
    pub image: String,
    /// `NORMAL` or `CNI_PAUSE`.
    #[serde(rename = "type")]
    pub kind: String,
    pub essential: bool,
    pub cpu: i64,
    pub memory: i64,
    /// The container's labels as the metadata shows them (ours left out).
    pub labels: BTreeMap<String, String>,
    pub log_driver: Option<String>,
    pub log_options: BTreeMap<String, String>,
    pub container_arn: String,
    pub has_health_check: bool,
    pub restart_policy_enabled: bool,
    /// `port/protocol` of the definition's port mappings.
    pub ports: Vec<String>,
    /// The container may change its own network link: take another
    /// address or link-layer address (`NET_ADMIN`, `SYS_ADMIN` or `ALL`
    /// added, or privileged). While one runs, the agent answers no request
    /// by its source address (docs/ARCHITECTURE.md, "Who may ask what").
    #[serde(default)]
    pub may_rewrite_link: bool,
}

/// Whether a container created with `host` may rewrite its network link.
#[must_use]
pub fn may_rewrite_link(host: Option<&bollard::models::HostConfig>) -> bool {
    let Some(host) = host else {
        return false;
    };
    host.privileged == Some(true)
        || host
            .cap_add
            .iter()
            .flatten()
            .any(|cap| crate::taskdef::model::rewrites_link(cap))
}

/// Credentials the CLI pushes for a credentials id (the body of `PUT`),
/// served as they are at `/v2/credentials/<id>`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    #[serde(rename = "RoleArn")]
    pub role_arn: String,
    #[serde(rename = "AccessKeyId")]
    pub access_key_id: String,
    #[serde(rename = "SecretAccessKey")]
    pub secret_access_key: String,
    #[serde(rename = "Token")]
    pub token: String,
    #[serde(rename = "Expiration")]
    pub expiration: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("role_arn", &self.role_arn)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// The body of `PUT /ecs-run-local/tasks/<task-id>/desired-status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredStatus {
    pub desired_status: String,
}

/// What `GET /ecs-run-local/health` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub version: String,
    pub tasks: usize,
    pub containers: usize,
    pub credentials: usize,
    /// Resident memory of the agent process, for the leak check.
    pub rss_bytes: u64,
}

/// When the images of a run were pulled (`PullStartedAt`/`PullStoppedAt`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pulls {
    pub started: Option<Time>,
    pub stopped: Option<Time>,
}

/// A container's log options as ECS reports them in v4 metadata: with the
/// `awslogs` driver and an `awslogs-stream-prefix`, ECS adds the stream it
/// names `<prefix>/<container name>/<task id>` as `awslogs-stream` (the
/// OpenTelemetry ECS detector builds the log stream ARN from it). The ECS
/// agent passes on what ECS sent and adds nothing itself; without a prefix
/// Docker names the stream after the container id, and no `awslogs-stream`
/// is reported.
fn reported_log_options(
    log: &crate::plan::LogPlan,
    container: &str,
    task_id: &str,
) -> BTreeMap<String, String> {
    let mut options = log.options.clone();
    if log.log_driver == "awslogs"
        && let Some(prefix) = options.get("awslogs-stream-prefix").cloned()
    {
        options
            .entry("awslogs-stream".into())
            .or_insert_with(|| format!("{prefix}/{container}/{task_id}"));
    }
    options
}

impl TaskRegistration {
    /// The registration of a planned task. `ids` supplies the container ARNs' UUIDs.
    pub fn from_plan(plan: &Plan, pulls: Pulls, ids: &mut dyn Ids) -> TaskRegistration {
        let task = &plan.task;
        let cluster = match task.launch_type {
            LaunchType::Fargate => format!(
                "arn:aws:ecs:{}:{}:cluster/{}",
                task.region, task.account, task.cluster
            ),
            LaunchType::Ec2 => task.cluster.clone(),
        };
        let awsvpc = task.network_mode == NetworkMode::Awsvpc;
        let pause = plan.pause.iter().filter(|_| awsvpc);
        let containers = pause
            .chain(&plan.containers)
            .map(|c| {
                let log = c.log_configuration.as_ref();
                ContainerRegistration {
                    name: c.name.clone(),
                    docker_name: c.docker_name.clone(),
                    endpoint_id: c.endpoint_id.clone(),
                    image: c.image.clone(),
                    kind: match c.kind {
                        ContainerKind::Normal => "NORMAL",
                        ContainerKind::Pause => "CNI_PAUSE",
                    }
                    .into(),
                    essential: c.essential,
                    cpu: c.cpu,
                    memory: c.memory.unwrap_or(0),
                    labels: c
                        .create
                        .labels
                        .iter()
                        .flatten()
                        .filter(|(k, _)| !k.starts_with("ecs-run-local."))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    log_driver: log.map(|l| l.log_driver.clone()),
                    log_options: log
                        .map(|l| reported_log_options(l, &c.name, &task.task_id))
                        .unwrap_or_default(),
                    // Internal containers have no ARN.
                    container_arn: match c.kind {
                        ContainerKind::Pause => String::new(),
                        ContainerKind::Normal => format!(
                            "arn:aws:ecs:{}:{}:container/{}/{}/{}",
                            task.region,
                            task.account,
                            task.cluster,
                            task.task_id,
                            ids.uuid()
                        ),
                    },
                    has_health_check: c.create.healthcheck.is_some(),
                    restart_policy_enabled: c.restart_policy.is_some(),
                    ports: c.ports.clone(),
                    may_rewrite_link: may_rewrite_link(c.create.host_config.as_ref()),
                }
            })
            .collect();
        TaskRegistration {
            task_arn: task.task_arn.clone(),
            cluster,
            family: task.family.clone(),
            revision: task.revision.to_string(),
            network_mode: task.network_mode.to_string(),
            launch_type: task.launch_type.to_string(),
            availability_zone: format!("{}a", task.region),
            service_name: task.service_name.clone(),
            cpu: task.cpu.map(|units| units as f64 / 1024.0),
            memory: task.memory,
            tags: task.tags.clone(),
            pull_started_at: pulls.started,
            pull_stopped_at: pulls.stopped,
            credentials_id: task.credentials_id.clone(),
            role_arn: task.task_role_arn.clone(),
            authorization_token: task.authorization_token.clone(),
            containers,
        }
    }
}

/// The label that ties a Docker container to its task.
#[must_use]
pub fn task_label(task_arn: &str) -> String {
    format!("{}={task_arn}", labels::TASK_ARN)
}

/// The task id at the end of a task ARN.
#[must_use]
pub fn task_id(task_arn: &str) -> &str {
    task_arn.rsplit('/').next().unwrap_or(task_arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(driver: &str, options: &[(&str, &str)]) -> crate::plan::LogPlan {
        crate::plan::LogPlan {
            log_driver: driver.into(),
            options: options
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn awslogs_with_a_prefix_reports_the_stream_ecs_names() {
        let task = "0123456789abcdef0123456789abcdef";
        let with_prefix = log(
            "awslogs",
            &[
                ("awslogs-group", "/ecs/web"),
                ("awslogs-stream-prefix", "ecs"),
            ],
        );
        assert_eq!(
            reported_log_options(&with_prefix, "app", task)["awslogs-stream"],
            "ecs/app/0123456789abcdef0123456789abcdef"
        );
        let without = log("awslogs", &[("awslogs-group", "/ecs/web")]);
        assert!(!reported_log_options(&without, "app", task).contains_key("awslogs-stream"));
        let other = log("fluentd", &[("awslogs-stream-prefix", "x")]);
        assert!(!reported_log_options(&other, "app", task).contains_key("awslogs-stream"));
    }
}
