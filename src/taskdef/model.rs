//! The serde model of a Linux ECS task definition, field for field as the
//! `RegisterTaskDefinition` API and `DescribeTaskDefinition` output name them.
//!
//! Every field is optional at this level: the API's required fields are checked
//! by `taskdef::validate`, so that a missing `image` is reported with its
//! path next to every other problem instead of aborting the parse. Enumerations
//! are real Rust enums, so a placeholder such as `"$$$NETWORK_MODE$$$"` fails with
//! the list of accepted values. `null` is read as "absent", as the AWS CLI does.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// A whole task definition: `RegisterTaskDefinition` input plus the fields that
/// only `DescribeTaskDefinition` returns.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinition {
    pub family: Option<String>,
    pub task_role_arn: Option<String>,
    pub execution_role_arn: Option<String>,
    pub network_mode: Option<NetworkMode>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub container_definitions: Vec<ContainerDefinition>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub volumes: Vec<Volume>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub placement_constraints: Vec<PlacementConstraint>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub requires_compatibilities: Vec<Compatibility>,
    /// Task CPU as the API takes it: a string of CPU units (`"1024"`) or vCPU
    /// (`"1 vCPU"`); an integer is accepted too. See [`TaskSize`].
    pub cpu: Option<TaskSize>,
    /// Task memory: MiB (`"2048"`) or GB (`"2 GB"`); an integer is accepted too.
    pub memory: Option<TaskSize>,
    pub pid_mode: Option<PidMode>,
    pub ipc_mode: Option<IpcMode>,
    pub proxy_configuration: Option<ProxyConfiguration>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub inference_accelerators: Vec<InferenceAccelerator>,
    pub ephemeral_storage: Option<EphemeralStorage>,
    pub runtime_platform: Option<RuntimePlatform>,
    pub enable_fault_injection: Option<bool>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<Tag>,

    // Output-only fields of DescribeTaskDefinition.
    pub task_definition_arn: Option<String>,
    pub revision: Option<i64>,
    pub status: Option<TaskDefinitionStatus>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub compatibilities: Vec<Compatibility>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub requires_attributes: Vec<Attribute>,
    pub registered_at: Option<Timestamp>,
    pub deregistered_at: Option<Timestamp>,
    pub registered_by: Option<String>,
}

/// One container of the task, as `containerDefinitions[]` describes it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDefinition {
    pub name: Option<String>,
    pub image: Option<String>,
    pub repository_credentials: Option<RepositoryCredentials>,
    pub cpu: Option<i64>,
    pub memory: Option<i64>,
    pub memory_reservation: Option<i64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub links: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub port_mappings: Vec<PortMapping>,
    /// `None` means essential: ECS treats an omitted flag as `true`.
    pub essential: Option<bool>,
    pub restart_policy: Option<RestartPolicy>,
    pub entry_point: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub environment: Vec<KeyValuePair>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub environment_files: Vec<EnvironmentFile>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub mount_points: Vec<MountPoint>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub volumes_from: Vec<VolumeFrom>,
    pub linux_parameters: Option<LinuxParameters>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub secrets: Vec<Secret>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub depends_on: Vec<ContainerDependency>,
    /// Seconds to wait for a dependency condition of this container.
    pub start_timeout: Option<i64>,
    /// Seconds between SIGTERM and SIGKILL when the container is stopped.
    pub stop_timeout: Option<i64>,
    pub version_consistency: Option<VersionConsistency>,
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub working_directory: Option<String>,
    pub disable_networking: Option<bool>,
    pub privileged: Option<bool>,
    pub readonly_root_filesystem: Option<bool>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub dns_servers: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub dns_search_domains: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub extra_hosts: Vec<HostEntry>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub docker_security_options: Vec<String>,
    pub interactive: Option<bool>,
    pub pseudo_terminal: Option<bool>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub docker_labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub ulimits: Vec<Ulimit>,
    pub log_configuration: Option<LogConfiguration>,
    pub health_check: Option<HealthCheck>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub system_controls: Vec<SystemControl>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub resource_requirements: Vec<ResourceRequirement>,
    pub firelens_configuration: Option<FirelensConfiguration>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub credential_specs: Vec<String>,
}

impl TaskDefinition {
    /// Whether the task has a container of this name.
    #[must_use]
    pub fn has_container(&self, name: &str) -> bool {
        self.container_definitions.iter().any(|c| c.name() == name)
    }

    /// The containers' names for messages: `` `app`, `log` ``.
    #[must_use]
    pub fn container_list(&self) -> String {
        let names: Vec<String> = self
            .container_definitions
            .iter()
            .filter_map(|c| c.name.as_deref().map(|n| format!("`{n}`")))
            .collect();
        names.join(", ")
    }
}

impl ContainerDefinition {
    /// The container's name, or `""` where it is missing (validation reports that).
    #[must_use]
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    /// The containers this one `links` to or takes `volumesFrom`, which the
    /// ECS agent starts before it (an implicit START dependency).
    #[must_use]
    pub fn implicit_dependencies(&self) -> Vec<String> {
        let linked = self
            .links
            .iter()
            .map(|l| l.split(':').next().unwrap_or(l).to_owned());
        let volumes = self
            .volumes_from
            .iter()
            .filter_map(|v| v.source_container.clone());
        let mut out: Vec<String> = Vec::new();
        for name in linked.chain(volumes) {
            if !out.contains(&name) && name != self.name() {
                out.push(name);
            }
        }
        out
    }

    /// ECS treats a container as essential unless it says `"essential": false`.
    #[must_use]
    pub fn is_essential(&self) -> bool {
        self.essential.unwrap_or(true)
    }
}

/// `networkMode`; absent means `bridge` on Linux, as on EC2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    #[default]
    Bridge,
    Host,
    Awsvpc,
    None,
}

impl NetworkMode {
    /// The name the API uses, for messages.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Bridge => "bridge",
            NetworkMode::Host => "host",
            NetworkMode::Awsvpc => "awsvpc",
            NetworkMode::None => "none",
        }
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compatibility {
    Ec2,
    Fargate,
    External,
    ManagedInstances,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PidMode {
    Host,
    Task,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpcMode {
    Host,
    Task,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskDefinitionStatus {
    Active,
    Inactive,
    DeleteInProgress,
}

/// `registeredAt` and `deregisteredAt`: the AWS CLI prints an ISO string, the
/// raw API JSON an epoch number. We keep what we got; nothing runs on it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Timestamp {
    Epoch(f64),
    Text(String),
}

/// Task-level `cpu` or `memory`: the API's string, or a bare integer as many
/// templates write it. `taskdef::units` turns it into CPU units or MiB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskSize {
    Number(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for TaskSize {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = TaskSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string such as \"1024\" or \"1 vCPU\", or an integer")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<TaskSize, E> {
                Ok(TaskSize::Number(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<TaskSize, E> {
                i64::try_from(v)
                    .map(TaskSize::Number)
                    .map_err(|_| E::custom(format!("{v} is too large")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TaskSize, E> {
                Ok(TaskSize::Text(v.to_owned()))
            }
        }
        de.deserialize_any(Visitor)
    }
}

impl fmt::Display for TaskSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskSize::Number(n) => write!(f, "{n}"),
            TaskSize::Text(s) => f.write_str(s),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: Option<String>,
    pub host: Option<HostVolumeProperties>,
    pub docker_volume_configuration: Option<DockerVolumeConfiguration>,
    pub efs_volume_configuration: Option<EfsVolumeConfiguration>,
    pub fsx_windows_file_server_volume_configuration: Option<FsxWindowsVolumeConfiguration>,
    /// An EBS volume attached at launch (by a service or `RunTask`), not here.
    pub configured_at_launch: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostVolumeProperties {
    pub source_path: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DockerVolumeConfiguration {
    pub scope: Option<VolumeScope>,
    pub autoprovision: Option<bool>,
    pub driver: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
}

/// Docker volume scope: `task` volumes live and die with the task, `shared`
/// ones outlive it. ECS's default is `task`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum VolumeScope {
    #[default]
    Task,
    Shared,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EfsVolumeConfiguration {
    pub file_system_id: Option<String>,
    pub root_directory: Option<String>,
    pub transit_encryption: Option<EnabledDisabled>,
    pub transit_encryption_port: Option<i64>,
    pub authorization_config: Option<EfsAuthorizationConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EfsAuthorizationConfig {
    pub access_point_id: Option<String>,
    pub iam: Option<EnabledDisabled>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EnabledDisabled {
    Enabled,
    Disabled,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FsxWindowsVolumeConfiguration {
    pub file_system_id: Option<String>,
    pub root_directory: Option<String>,
    pub authorization_config: Option<FsxAuthorizationConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FsxAuthorizationConfig {
    pub credentials_parameter: Option<String>,
    pub domain: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlacementConstraint {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub expression: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyConfiguration {
    #[serde(rename = "type")]
    pub kind: Option<ProxyType>,
    pub container_name: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: Vec<KeyValuePair>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ProxyType {
    #[serde(rename = "APPMESH")]
    AppMesh,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceAccelerator {
    pub device_name: Option<String>,
    pub device_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EphemeralStorage {
    pub size_in_gi_b: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimePlatform {
    pub cpu_architecture: Option<CpuArchitecture>,
    /// `LINUX` or one of the `WINDOWS_SERVER_*` families; kept as text so that a
    /// Windows family can be rejected with a message of our own.
    pub operating_system_family: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum CpuArchitecture {
    #[serde(rename = "X86_64")]
    X86_64,
    #[serde(rename = "ARM64")]
    Arm64,
}

impl CpuArchitecture {
    /// The Docker platform string an image is pulled for.
    #[must_use]
    pub fn docker_platform(self) -> &'static str {
        match self {
            CpuArchitecture::X86_64 => "linux/amd64",
            CpuArchitecture::Arm64 => "linux/arm64",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    pub key: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    pub name: Option<String>,
    pub value: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryCredentials {
    pub credentials_parameter: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    pub container_port: Option<i64>,
    /// Absent or `0` in bridge mode means an ephemeral host port.
    pub host_port: Option<i64>,
    pub protocol: Option<Protocol>,
    pub name: Option<String>,
    pub app_protocol: Option<AppProtocol>,
    /// `"8000-8010"`: a range of container ports, each given an ephemeral host port.
    pub container_port_range: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
}

impl Protocol {
    /// The suffix Docker puts on a port key (`80/tcp`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppProtocol {
    Http,
    Http2,
    Grpc,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestartPolicy {
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub ignored_exit_codes: Vec<i64>,
    /// Seconds a container must have run before a restart is attempted again.
    pub restart_attempt_period: Option<i64>,
}

/// A `{"name", "value"}` pair: environment variables and proxy properties.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyValuePair {
    pub name: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentFile {
    pub value: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<EnvironmentFileType>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentFileType {
    S3,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MountPoint {
    pub source_volume: Option<String>,
    pub container_path: Option<String>,
    pub read_only: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeFrom {
    pub source_container: Option<String>,
    pub read_only: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxParameters {
    pub capabilities: Option<KernelCapabilities>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub devices: Vec<Device>,
    pub init_process_enabled: Option<bool>,
    /// MiB of `/dev/shm`.
    pub shared_memory_size: Option<i64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tmpfs: Vec<Tmpfs>,
    /// MiB of swap on top of `memory`; `0` disables swap.
    pub max_swap: Option<i64>,
    pub swappiness: Option<i64>,
}

/// Whether an added capability lets a container change its own network
/// link (its address or its link-layer address): `NET_ADMIN`, `SYS_ADMIN`
/// or `ALL`, with or without Docker's `CAP_` prefix, in any case.
#[must_use]
pub fn rewrites_link(capability: &str) -> bool {
    let capability = capability.to_ascii_uppercase();
    matches!(
        capability.strip_prefix("CAP_").unwrap_or(&capability),
        "NET_ADMIN" | "SYS_ADMIN" | "ALL"
    )
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KernelCapabilities {
    #[serde(default, deserialize_with = "null_as_default")]
    pub add: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub drop: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub host_path: Option<String>,
    pub container_path: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub permissions: Vec<DevicePermission>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DevicePermission {
    Read,
    Write,
    Mknod,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tmpfs {
    pub container_path: Option<String>,
    /// MiB.
    pub size: Option<i64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub mount_options: Vec<String>,
}

/// A secret (`secrets[]`, `logConfiguration.secretOptions[]`): an SSM parameter
/// name or ARN, or a Secrets Manager ARN with an optional
/// `:json-key:version-stage:version-id` suffix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    pub name: Option<String>,
    pub value_from: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDependency {
    pub container_name: Option<String>,
    pub condition: Option<DependencyCondition>,
}

/// What a dependency must reach before the dependent container starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DependencyCondition {
    /// The dependency has been started.
    Start,
    /// The dependency ran to completion, with any exit code.
    Complete,
    /// The dependency exited with code 0.
    Success,
    /// The dependency's health check passed.
    Healthy,
}

impl DependencyCondition {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            DependencyCondition::Start => "START",
            DependencyCondition::Complete => "COMPLETE",
            DependencyCondition::Success => "SUCCESS",
            DependencyCondition::Healthy => "HEALTHY",
        }
    }
}

impl fmt::Display for DependencyCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionConsistency {
    Enabled,
    Disabled,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostEntry {
    pub hostname: Option<String>,
    pub ip_address: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ulimit {
    pub name: Option<String>,
    pub soft_limit: Option<i64>,
    pub hard_limit: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    pub log_driver: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub options: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub secret_options: Vec<Secret>,
}

/// A container health check; seconds throughout, ECS's defaults applied in the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    #[serde(default, deserialize_with = "null_as_default")]
    pub command: Vec<String>,
    pub interval: Option<i64>,
    pub timeout: Option<i64>,
    pub retries: Option<i64>,
    pub start_period: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemControl {
    pub namespace: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRequirement {
    pub value: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<ResourceType>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ResourceType {
    #[serde(rename = "GPU")]
    Gpu,
    InferenceAccelerator,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirelensConfiguration {
    #[serde(rename = "type")]
    pub kind: Option<FirelensType>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FirelensType {
    Fluentd,
    Fluentbit,
}

/// Reads `null` as the type's default, as the AWS CLI treats a `null` member as
/// absent (`"ulimits": null`, `"readOnly": null` occur in published definitions).
fn null_as_default<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}
