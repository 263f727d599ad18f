//! The task metadata bodies of v2, v3 and v4, field for field and in the
//! order of the ECS agent's Go structs (`tmds/handlers/v2/response.go`,
//! `v4/state/response.go`), built from a registered task and its live state.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::agent::state::{ContainerStatus, HealthState, TaskEntry};
use crate::plan::{NETWORK_GATEWAY, NETWORK_NAME, NETWORK_SUBNET};
use crate::protocol::wire::{self, Time};

/// The agent reports at least this many CPU units for a container (`minimumCPUUnit`).
const MINIMUM_CPU_UNITS: i64 = 2;

/// Which version of the metadata to shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V2,
    V3,
    V4,
}

#[derive(Debug, Serialize)]
pub struct Limits {
    #[serde(
        rename = "CPU",
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::option_float"
    )]
    pub cpu: Option<f64>,
    #[serde(rename = "Memory", skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct Port {
    #[serde(rename = "ContainerPort", skip_serializing_if = "is_zero")]
    pub container_port: u16,
    #[serde(rename = "Protocol", skip_serializing_if = "String::is_empty")]
    pub protocol: String,
    #[serde(rename = "HostPort", skip_serializing_if = "is_zero")]
    pub host_port: u16,
    #[serde(rename = "HostIp", skip_serializing_if = "String::is_empty")]
    pub host_ip: String,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn is_zero(port: &u16) -> bool {
    *port == 0
}

#[derive(Debug, Serialize)]
pub struct Network {
    #[serde(rename = "NetworkMode", skip_serializing_if = "String::is_empty")]
    pub network_mode: String,
    #[serde(rename = "IPv4Addresses", skip_serializing_if = "Vec::is_empty")]
    pub ipv4_addresses: Vec<String>,
    #[serde(rename = "IPv6Addresses", skip_serializing_if = "Vec::is_empty")]
    pub ipv6_addresses: Vec<String>,
}

/// v4's network: v3's plus the awsvpc interface's properties.
#[derive(Debug, Serialize)]
pub struct NetworkV4 {
    #[serde(flatten)]
    pub network: Network,
    #[serde(rename = "AttachmentIndex", skip_serializing_if = "Option::is_none")]
    pub attachment_index: Option<i64>,
    #[serde(rename = "MACAddress", skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
    #[serde(
        rename = "IPv4SubnetCIDRBlock",
        skip_serializing_if = "String::is_empty"
    )]
    pub ipv4_subnet_cidr_block: String,
    #[serde(rename = "PrivateDNSName", skip_serializing_if = "String::is_empty")]
    pub private_dns_name: String,
    #[serde(
        rename = "SubnetGatewayIpv4Address",
        skip_serializing_if = "String::is_empty"
    )]
    pub subnet_gateway_ipv4_address: String,
}

#[derive(Debug, Serialize)]
pub struct HealthResponse {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(
        rename = "statusSince",
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::time"
    )]
    pub since: Option<Time>,
    #[serde(rename = "exitCode", skip_serializing_if = "is_zero_i64")]
    pub exit_code: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub output: String,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

#[derive(Debug, Serialize)]
pub struct Volume {
    #[serde(rename = "DockerName", skip_serializing_if = "String::is_empty")]
    pub docker_name: String,
    #[serde(rename = "Source", skip_serializing_if = "String::is_empty")]
    pub source: String,
    #[serde(rename = "Destination", skip_serializing_if = "String::is_empty")]
    pub destination: String,
}

/// The v2/v3 container (`tmdsv2.ContainerResponse`).
#[derive(Debug, Serialize)]
pub struct Container {
    #[serde(rename = "DockerId")]
    pub docker_id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "DockerName")]
    pub docker_name: String,
    #[serde(rename = "Image")]
    pub image: String,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    #[serde(rename = "Ports", skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    #[serde(rename = "Labels", skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(rename = "DesiredStatus")]
    pub desired_status: &'static str,
    #[serde(rename = "KnownStatus")]
    pub known_status: &'static str,
    #[serde(rename = "ExitCode", skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(rename = "Limits")]
    pub limits: Limits,
    #[serde(
        rename = "CreatedAt",
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::time"
    )]
    pub created_at: Option<Time>,
    #[serde(
        rename = "StartedAt",
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::time"
    )]
    pub started_at: Option<Time>,
    #[serde(
        rename = "FinishedAt",
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::time"
    )]
    pub finished_at: Option<Time>,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Networks", skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<Network>,
    #[serde(rename = "Health", skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthResponse>,
    #[serde(rename = "Volumes", skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    #[serde(rename = "LogDriver", skip_serializing_if = "String::is_empty")]
    pub log_driver: String,
    #[serde(rename = "LogOptions", skip_serializing_if = "BTreeMap::is_empty")]
    pub log_options: BTreeMap<String, String>,
    #[serde(rename = "ContainerARN", skip_serializing_if = "String::is_empty")]
    pub container_arn: String,
}

/// The v4 container: v2's fields, then its own `Networks` (Go's embedding
/// puts the outer struct's fields after the embedded ones).
#[derive(Debug, Serialize)]
pub struct ContainerV4 {
    #[serde(flatten)]
    pub base: Container,
    #[serde(rename = "Networks", skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<NetworkV4>,
    #[serde(rename = "RestartCount", skip_serializing_if = "Option::is_none")]
    pub restart_count: Option<i64>,
}

/// The fields of `tmdsv2.TaskResponse` before `Containers`.
#[derive(Debug, Serialize)]
pub struct TaskHead {
    #[serde(rename = "Cluster")]
    pub cluster: String,
    #[serde(rename = "TaskARN")]
    pub task_arn: String,
    #[serde(rename = "Family")]
    pub family: String,
    #[serde(rename = "Revision")]
    pub revision: String,
    #[serde(rename = "DesiredStatus", skip_serializing_if = "str::is_empty")]
    pub desired_status: &'static str,
    #[serde(rename = "KnownStatus")]
    pub known_status: &'static str,
}

/// The fields of `tmdsv2.TaskResponse` after `Containers`.
#[derive(Debug, Serialize)]
pub struct TaskTail {
    #[serde(rename = "Limits", skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    #[serde(
        rename = "PullStartedAt",
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::time"
    )]
    pub pull_started_at: Option<Time>,
    #[serde(
        rename = "PullStoppedAt",
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::time"
    )]
    pub pull_stopped_at: Option<Time>,
    #[serde(
        rename = "ExecutionStoppedAt",
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::time"
    )]
    pub execution_stopped_at: Option<Time>,
    #[serde(rename = "AvailabilityZone", skip_serializing_if = "String::is_empty")]
    pub availability_zone: String,
    #[serde(rename = "TaskTags", skip_serializing_if = "Option::is_none")]
    pub task_tags: Option<BTreeMap<String, String>>,
    #[serde(
        rename = "ContainerInstanceTags",
        skip_serializing_if = "Option::is_none"
    )]
    pub container_instance_tags: Option<BTreeMap<String, String>>,
    #[serde(rename = "LaunchType", skip_serializing_if = "String::is_empty")]
    pub launch_type: String,
}

/// The v2 and v3 task.
#[derive(Debug, Serialize)]
pub struct Task {
    #[serde(flatten)]
    pub head: TaskHead,
    #[serde(rename = "Containers", skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<Container>,
    #[serde(flatten)]
    pub tail: TaskTail,
}

/// The v4 task (`v4/state.TaskResponse`).
#[derive(Debug, Serialize)]
pub struct TaskV4 {
    #[serde(flatten)]
    pub head: TaskHead,
    #[serde(flatten)]
    pub tail: TaskTail,
    #[serde(rename = "Containers", skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<ContainerV4>,
    #[serde(rename = "ServiceName", skip_serializing_if = "String::is_empty")]
    pub service_name: String,
    #[serde(rename = "FaultInjectionEnabled")]
    pub fault_injection_enabled: bool,
}

/// A container of a task, as `version` shows it.
#[must_use]
pub fn container(task: &TaskEntry, index: usize, version: Version) -> Container {
    let registration = &task.registration.containers[index];
    let live = &task.live[index];
    let v4 = version == Version::V4;
    let health = live
        .health
        .as_ref()
        .filter(|_| registration.has_health_check)
        .map(|h| HealthResponse {
            status: match h.status {
                HealthState::Unknown => String::new(),
                HealthState::Healthy => "HEALTHY".into(),
                HealthState::Unhealthy => "UNHEALTHY".into(),
            },
            since: h.since,
            exit_code: h.exit_code,
            output: h.output.clone(),
        });
    let networks = if task.is_awsvpc() {
        awsvpc_address(task)
            .map(|ip| Network {
                network_mode: "awsvpc".into(),
                ipv4_addresses: vec![ip],
                ipv6_addresses: Vec::new(),
            })
            .into_iter()
            .collect()
    } else if version == Version::V2 {
        // v2 reports networks of awsvpc tasks only.
        Vec::new()
    } else {
        docker_networks(task, index, v4)
    };
    Container {
        docker_id: live.inspected.docker_id.clone(),
        name: registration.name.clone(),
        docker_name: live.inspected.docker_name.clone(),
        image: registration.image.clone(),
        image_id: live.inspected.image_id.clone(),
        ports: ports(task, index, v4),
        labels: registration.labels.clone(),
        desired_status: task.container_desired_status(index),
        known_status: live.inspected.status.as_str(),
        exit_code: live.inspected.exit_code,
        limits: Limits {
            cpu: Some(registration.cpu.max(MINIMUM_CPU_UNITS) as f64),
            memory: Some(registration.memory),
        },
        created_at: live.inspected.created_at,
        started_at: live.inspected.started_at,
        finished_at: live.inspected.finished_at,
        kind: registration.kind.clone(),
        networks,
        health,
        volumes: live
            .inspected
            .mounts
            .iter()
            .map(|m| Volume {
                docker_name: m.name.clone(),
                source: m.source.clone(),
                destination: m.destination.clone(),
            })
            .collect(),
        log_driver: if v4 {
            registration.log_driver.clone().unwrap_or_default()
        } else {
            String::new()
        },
        log_options: if v4 {
            registration.log_options.clone()
        } else {
            BTreeMap::new()
        },
        container_arn: if v4 {
            registration.container_arn.clone()
        } else {
            String::new()
        },
    }
}

/// A v4 container: v2's fields with v4's networks and restart count.
#[must_use]
pub fn container_v4(task: &TaskEntry, index: usize) -> ContainerV4 {
    let mut base = container(task, index, Version::V4);
    let networks = std::mem::take(&mut base.networks)
        .into_iter()
        .map(|network| {
            if network.network_mode == "awsvpc" {
                awsvpc_details(task, network)
            } else {
                NetworkV4 {
                    network,
                    attachment_index: None,
                    mac_address: String::new(),
                    ipv4_subnet_cidr_block: String::new(),
                    private_dns_name: String::new(),
                    subnet_gateway_ipv4_address: String::new(),
                }
            }
        })
        .collect();
    ContainerV4 {
        base,
        networks,
        restart_count: restart_count(task, index),
    }
}

/// How often a container with a restart policy was restarted; `None` without one.
#[must_use]
pub fn restart_count(task: &TaskEntry, index: usize) -> Option<i64> {
    task.registration.containers[index]
        .restart_policy_enabled
        .then_some(task.live[index].restart_count)
}

fn head(task: &TaskEntry) -> TaskHead {
    let r = &task.registration;
    TaskHead {
        cluster: r.cluster.clone(),
        task_arn: r.task_arn.clone(),
        family: r.family.clone(),
        revision: r.revision.clone(),
        desired_status: task.desired_status(),
        known_status: task.known_status(),
    }
}

fn tail(task: &TaskEntry, with_tags: bool, v4: bool) -> TaskTail {
    let r = &task.registration;
    let limits = (r.cpu.is_some() || r.memory.is_some()).then_some(Limits {
        cpu: r.cpu,
        memory: r.memory,
    });
    TaskTail {
        limits,
        pull_started_at: r.pull_started_at,
        pull_stopped_at: r.pull_stopped_at,
        execution_stopped_at: task.execution_stopped_at,
        availability_zone: r.availability_zone.clone(),
        // No container instance here, so no instance tags; the task's tags
        // are the definition's (or DescribeTaskDefinition's).
        // Go's `omitempty` leaves out an empty map.
        task_tags: (with_tags && !r.tags.is_empty()).then(|| r.tags.clone().into_iter().collect()),
        container_instance_tags: None,
        launch_type: if v4 {
            r.launch_type.clone()
        } else {
            String::new()
        },
    }
}

/// The v2 or v3 task body.
#[must_use]
pub fn task(task: &TaskEntry, version: Version, with_tags: bool) -> Task {
    Task {
        head: head(task),
        containers: (0..task.live.len())
            .map(|i| container(task, i, version))
            .collect(),
        tail: tail(task, with_tags, false),
    }
}

/// The v4 task body.
#[must_use]
pub fn task_v4(task: &TaskEntry, with_tags: bool) -> TaskV4 {
    TaskV4 {
        head: head(task),
        tail: tail(task, with_tags, true),
        containers: (0..task.live.len())
            .map(|i| container_v4(task, i))
            .collect(),
        service_name: task.registration.service_name.clone(),
        fault_injection_enabled: false,
    }
}

/// The task's address in awsvpc mode: its pause container's.
fn awsvpc_address(task: &TaskEntry) -> Option<String> {
    let pause = &task.live[task.pause()?];
    pause
        .inspected
        .attachments
        .iter()
        .find(|a| a.network == NETWORK_NAME)
        .map(|a| a.ipv4.clone())
        .filter(|ip| !ip.is_empty())
}

fn awsvpc_details(task: &TaskEntry, network: Network) -> NetworkV4 {
    let mac = task
        .pause()
        .and_then(|p| {
            task.live[p]
                .inspected
                .attachments
                .iter()
                .find(|a| a.network == NETWORK_NAME)
        })
        .map(|a| a.mac.clone())
        .unwrap_or_default();
    let prefix = NETWORK_SUBNET.rsplit('/').next().unwrap_or("24");
    NetworkV4 {
        network,
        attachment_index: Some(0),
        mac_address: mac,
        ipv4_subnet_cidr_block: NETWORK_SUBNET.into(),
        // The pause container's hostname, which resolves on the network.
        private_dns_name: task.registration.service_name.clone(),
        subnet_gateway_ipv4_address: format!("{NETWORK_GATEWAY}/{prefix}"),
    }
}

/// Networks from Docker's settings (`GetContainerNetworkMetadata`); our
/// shared network stands in for the instance's `bridge`.
fn docker_networks(task: &TaskEntry, index: usize, v4: bool) -> Vec<Network> {
    let live = &task.live[index];
    if live.inspected.status != ContainerStatus::Running {
        return Vec::new();
    }
    live.inspected
        .attachments
        .iter()
        .map(|a| Network {
            network_mode: if a.network == NETWORK_NAME {
                task.registration.network_mode.clone()
            } else {
                a.network.clone()
            },
            ipv4_addresses: vec![a.ipv4.clone()],
            ipv6_addresses: if v4 && !a.ipv6.is_empty() {
                vec![a.ipv6.clone()]
            } else {
                Vec::new()
            },
        })
        .collect()
}

/// A container's ports: its own bindings in bridge mode, the pause
/// container's in awsvpc (host port = container port, as the agent
/// reports), the definition's in host mode. `HostIp` in v4 only.
fn ports(task: &TaskEntry, index: usize, v4: bool) -> Vec<Port> {
    let registration = &task.registration.containers[index];
    let declared = |b: &crate::agent::state::Binding| {
        registration
            .ports
            .contains(&format!("{}/{}", b.container_port, b.protocol))
    };
    let port = |container_port: u16, protocol: &str, host_port: u16, host_ip: &str| Port {
        container_port,
        protocol: protocol.to_owned(),
        host_port,
        host_ip: if v4 {
            host_ip.to_owned()
        } else {
            String::new()
        },
    };
    match task.registration.network_mode.as_str() {
        "awsvpc" => {
            let Some(pause) = task.pause() else {
                return Vec::new();
            };
            task.live[pause]
                .inspected
                .bindings
                .iter()
                .filter(|b| declared(b))
                .map(|b| port(b.container_port, &b.protocol, b.container_port, &b.host_ip))
                .collect()
        }
        "host" => registration
            .ports
            .iter()
            .filter_map(|key| {
                let (number, protocol) = key.split_once('/')?;
                let number: u16 = number.parse().ok()?;
                Some(port(number, protocol, number, ""))
            })
            .collect(),
        _ => {
            let mut ports: Vec<Port> = task.live[index]
                .inspected
                .bindings
                .iter()
                .map(|b| port(b.container_port, &b.protocol, b.host_port, &b.host_ip))
                .collect();
            // Without `HostIp`, Docker's IPv4 and IPv6 bindings of a port are one.
            ports.dedup_by(|a, b| {
                (a.container_port, &a.protocol, a.host_port, &a.host_ip)
                    == (b.container_port, &b.protocol, b.host_port, &b.host_ip)
            });
            ports
        }
    }
}
