//! Mapping rules: a container definition to a Docker create body, field by field.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerCreateBody, DeviceMapping, DeviceRequest, EndpointSettings, HealthConfig, HostConfig,
    HostConfigLogConfig, NetworkingConfig, PortBinding, ResourcesUlimits,
};

use super::names::{PAUSE_NAME, docker_name};
use super::{
    AGENT_IP, ContainerKind, ContainerPlan, DEFAULT_STOP_TIMEOUT_SECS, Dependency, Ids, LaunchType,
    LogPlan, NETWORK_NAME, PlanOptions, RestartPlan, Scope, SecretEnv, TaskPlan, VolumePlan,
    labels,
};
use crate::taskdef::model::{
    ContainerDefinition, DevicePermission, IpcMode, NetworkMode, PidMode, PortMapping,
    ResourceType, TaskDefinition,
};
use crate::taskdef::validate::parse_port_range;

const MIB: i64 = 1024 * 1024;
const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Docker's smallest CPU share; the ECS agent raises anything lower to it.
const MIN_CPU_SHARES: i64 = 2;
/// ECS's health check defaults, in seconds.
const HEALTH_INTERVAL: i64 = 30;
const HEALTH_TIMEOUT: i64 = 5;
const HEALTH_RETRIES: i64 = 3;
/// The swappiness the ECS agent applies when `maxSwap` is set without one.
const DEFAULT_SWAPPINESS: i64 = 60;

pub(super) struct Context<'a> {
    def: &'a TaskDefinition,
    options: &'a PlanOptions,
    task: &'a TaskPlan,
    run_id: &'a str,
    ids: &'a mut dyn Ids,
}

impl<'a> Context<'a> {
    pub(super) fn new(
        def: &'a TaskDefinition,
        options: &'a PlanOptions,
        task: &'a TaskPlan,
        run_id: &'a str,
        ids: &'a mut dyn Ids,
    ) -> Self {
        Context {
            def,
            options,
            task,
            run_id,
            ids,
        }
    }

    fn mode(&self) -> NetworkMode {
        self.task.network_mode
    }

    fn docker_name(&mut self, name: &str) -> String {
        let suffix = self.ids.hex(20);
        docker_name(&self.task.family, self.task.revision, name, &suffix)
    }

    /// The labels every object of this run carries.
    fn labels(&self, container: &str, role: &str) -> BTreeMap<String, String> {
        [
            (labels::CLUSTER, self.task.cluster.as_str()),
            (labels::CONTAINER_NAME, container),
            (labels::TASK_ARN, self.task.task_arn.as_str()),
            (labels::FAMILY, self.task.family.as_str()),
            (labels::VERSION, &self.task.revision.to_string()),
            (labels::RUN_ID, self.run_id),
            (labels::ROLE, role),
            (labels::NETWORK_MODE, self.mode().as_str()),
            (labels::SERVICE_NAME, self.task.service_name.as_str()),
        ]
        .into_iter()
        .chain(
            self.options
                .supervisor_log
                .as_deref()
                .map(|log| (labels::SUPERVISOR_LOG, log)),
        )
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// Every volume of the task that becomes a Docker volume: name-only and
    /// empty `host` volumes, Docker volumes, and local stand-ins for EFS and
    /// volumes configured at launch. Host paths are bind mounts instead.
    pub(super) fn volumes(&mut self) -> Vec<VolumePlan> {
        let mut out = Vec::new();
        for volume in &self.def.volumes {
            let name = volume.name.clone().unwrap_or_default();
            if volume
                .host
                .as_ref()
                .is_some_and(|h| h.source_path.is_some())
            {
                continue;
            }
            let docker = volume.docker_volume_configuration.as_ref();
            let scope = docker
                .and_then(|d| d.scope)
                .map_or(Scope::Task, Scope::from);
            let stands_in_for = if let Some(efs) = &volume.efs_volume_configuration {
                Some(format!(
                    "efs {}",
                    efs.file_system_id.as_deref().unwrap_or("?")
                ))
            } else if volume.configured_at_launch == Some(true) {
                Some("ebs volume configured at launch".to_owned())
            } else {
                None
            };
            let docker_name = match scope {
                // A shared volume is found by its own name, across tasks, as on ECS.
                Scope::Shared => name.clone(),
                Scope::Task => {
                    let suffix = self.ids.hex(20);
                    docker_name(&self.task.family, self.task.revision, &name, &suffix)
                }
            };
            let mut labels = docker.map(|d| d.labels.clone()).unwrap_or_default();
            if scope == Scope::Task {
                labels.extend(self.labels("", "volume"));
                labels.remove(labels::CONTAINER_NAME);
            }
            out.push(VolumePlan {
                name,
                docker_name,
                scope,
                driver: docker
                    .and_then(|d| d.driver.clone())
                    .unwrap_or_else(|| "local".into()),
                driver_opts: docker.map(|d| d.driver_opts.clone()).unwrap_or_default(),
                labels,
                autoprovision: docker.and_then(|d| d.autoprovision).unwrap_or(false),
                stands_in_for,
            });
        }
        out
    }

    /// The pause container: it holds the network namespace of an awsvpc task
    /// (ports published on it) and the PID/IPC namespaces of `task` modes.
    pub(super) fn pause(&mut self) -> Option<ContainerPlan> {
        let awsvpc = self.mode() == NetworkMode::Awsvpc;
        let shares_pid = self.def.pid_mode == Some(PidMode::Task);
        let shares_ipc = self.def.ipc_mode == Some(IpcMode::Task);
        if !(awsvpc || shares_pid || shares_ipc) {
            return None;
        }
        let docker_name = self.docker_name(PAUSE_NAME);
        let mut host = HostConfig {
            ipc_mode: shares_ipc.then(|| "shareable".to_owned()),
            ..Default::default()
        };
        let mut networking = None;
        let mut exposed = None;
        if awsvpc {
            let service = self.task.service_name.clone();
            let mappings: Vec<&PortMapping> = self
                .def
                .container_definitions
                .iter()
                .flat_map(|c| &c.port_mappings)
                .collect();
            let (ports, bindings) = publish(&mappings, NetworkMode::Awsvpc);
            exposed = ports;
            host.port_bindings = bindings;
            host.network_mode = Some(NETWORK_NAME.into());
            let mut aliases = vec![service];
            aliases.extend(mappings.iter().filter_map(|p| p.name.clone()));
            networking = Some(endpoint(aliases, Vec::new()));
        } else {
            host.network_mode = Some(network_mode_of(self.mode()).into());
        }
        let labels = self.labels(PAUSE_NAME, "pause");
        let create = ContainerCreateBody {
            image: Some(self.options.agent_image.clone()),
            // Named, not inherited: Podman's image import drops ENTRYPOINT.
            entrypoint: Some(vec![super::AGENT_EXECUTABLE.into()]),
            cmd: Some(vec!["pause".into()]),
            hostname: awsvpc.then(|| self.task.service_name.clone()),
            labels: Some(labels.into_iter().collect()),
            exposed_ports: exposed,
            host_config: Some(host),
            networking_config: networking,
            ..Default::default()
        };
        Some(ContainerPlan {
            name: PAUSE_NAME.into(),
            docker_name,
            kind: ContainerKind::Pause,
            image: self.options.agent_image.clone(),
            platform: None,
            essential: false,
            endpoint_id: None,
            depends_on: Vec::new(),
            implicit_dependencies: Vec::new(),
            start_timeout_secs: None,
            stop_timeout_secs: DEFAULT_STOP_TIMEOUT_SECS,
            restart_policy: None,
            secrets: Vec::new(),
            environment_files: Vec::new(),
            repository_credentials: None,
            log_configuration: None,
            cpu: 0,
            memory: None,
            ports: Vec::new(),
            metadata_file: None,
            create,
        })
    }

    #[expect(
        clippy::too_many_lines,
        reason = "the create body field by field, in the order the mapping rules are documented and tested"
    )]
    pub(super) fn container(
        &mut self,
        c: &ContainerDefinition,
        pause: Option<&ContainerPlan>,
        volumes: &[VolumePlan],
    ) -> ContainerPlan {
        let name = c.name().to_owned();
        let docker_name = self.docker_name(&name);
        let endpoint_id = (self.mode() != NetworkMode::None).then(|| self.ids.uuid());
        let image = c.image.clone().unwrap_or_default();
        let mut labels: HashMap<String, String> = c.docker_labels.clone().into_iter().collect();
        labels.extend(self.labels(&name, "container"));

        let mut host = HostConfig {
            binds: non_empty(self.binds(c, volumes)),
            volumes_from: non_empty(volumes_from(c)),
            // Every container logs to json-file locally, so its output can be streamed.
            log_config: Some(HostConfigLogConfig {
                typ: Some("json-file".into()),
                config: None,
            }),
            privileged: c.privileged,
            readonly_rootfs: c.readonly_root_filesystem,
            dns: non_empty(c.dns_servers.clone()),
            dns_search: non_empty(c.dns_search_domains.clone()),
            extra_hosts: non_empty(
                c.extra_hosts
                    .iter()
                    .map(|h| {
                        format!(
                            "{}:{}",
                            h.hostname.as_deref().unwrap_or_default(),
                            h.ip_address.as_deref().unwrap_or_default()
                        )
                    })
                    .collect(),
            ),
            security_opt: non_empty(c.docker_security_options.clone()),
            sysctls: non_empty_map(
                c.system_controls
                    .iter()
                    .map(|s| {
                        (
                            s.namespace.clone().unwrap_or_default(),
                            s.value.clone().unwrap_or_default(),
                        )
                    })
                    .collect(),
            ),
            ulimits: non_empty(
                c.ulimits
                    .iter()
                    .map(|u| ResourcesUlimits {
                        name: u.name.clone(),
                        soft: u.soft_limit,
                        hard: u.hard_limit,
                    })
                    .collect(),
            ),
            device_requests: non_empty(gpu_requests(c)),
            ..Default::default()
        };
        self.resources(c, &mut host);
        linux_parameters(c, &mut host);
        self.namespaces(pause, &mut host);

        let mut exposed = None;
        let mut networking = None;
        match self.mode() {
            NetworkMode::Bridge => {
                let mappings: Vec<&PortMapping> = c.port_mappings.iter().collect();
                let (ports, bindings) = publish(&mappings, NetworkMode::Bridge);
                exposed = ports;
                host.port_bindings = bindings;
                host.network_mode = Some(NETWORK_NAME.into());
                // Other tasks reach this one by its service name (on the
                // container that serves it) and by its port mappings' names.
                let mut aliases = vec![name.clone()];
                if front_container(self.def) == Some(name.as_str()) {
                    aliases.push(self.task.service_name.clone());
                }
                aliases.extend(c.port_mappings.iter().filter_map(|p| p.name.clone()));
                aliases.dedup();
                networking = Some(endpoint(aliases, links(c)));
            }
            NetworkMode::Awsvpc => {
                let pause_name = pause.map_or_else(String::new, |p| p.docker_name.clone());
                host.network_mode = Some(format!("container:{pause_name}"));
            }
            NetworkMode::Host | NetworkMode::None => {
                host.network_mode = Some(network_mode_of(self.mode()).into());
            }
        }

        let mut env = self.environment(c, endpoint_id.as_deref());
        let metadata_file = self.options.metadata_file.then(|| {
            format!(
                "{}/{}/{}",
                super::METADATA_DIR,
                self.ids.uuid(),
                super::METADATA_FILE_NAME
            )
        });
        if let Some(file) = &metadata_file {
            env.push(format!("ECS_CONTAINER_METADATA_FILE={file}"));
        }
        let create = ContainerCreateBody {
            image: Some(image.clone()),
            entrypoint: c.entry_point.clone(),
            cmd: c.command.clone(),
            env: Some(env),
            // The file's directory is an anonymous volume: written before the
            // start, even with a read-only root, and removed with the container.
            volumes: metadata_file.as_deref().and_then(|f| {
                let dir = f.rsplit_once('/')?.0.to_owned();
                Some(vec![dir])
            }),
            working_dir: c.working_directory.clone(),
            user: c.user.clone(),
            hostname: c.hostname.clone(),
            tty: c.pseudo_terminal,
            open_stdin: c.interactive,
            network_disabled: c.disable_networking,
            healthcheck: c.health_check.as_ref().map(|h| {
                health_config(&h.command, h.interval, h.timeout, h.retries, h.start_period)
            }),
            labels: Some(labels),
            exposed_ports: exposed,
            stop_timeout: Some(c.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT_SECS)),
            host_config: Some(host),
            networking_config: networking,
            ..Default::default()
        };
        ContainerPlan {
            name,
            docker_name,
            kind: ContainerKind::Normal,
            image,
            platform: self
                .def
                .runtime_platform
                .as_ref()
                .and_then(|p| p.cpu_architecture)
                .map(|a| a.docker_platform().to_owned()),
            essential: c.is_essential(),
            endpoint_id,
            depends_on: c
                .depends_on
                .iter()
                .filter_map(|d| {
                    Some(Dependency {
                        container: d.container_name.clone()?,
                        condition: d.condition?,
                    })
                })
                .collect(),
            implicit_dependencies: c.implicit_dependencies(),
            start_timeout_secs: c.start_timeout,
            stop_timeout_secs: c.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT_SECS),
            restart_policy: c
                .restart_policy
                .as_ref()
                .filter(|r| r.enabled == Some(true))
                .map(RestartPlan::from),
            secrets: c
                .secrets
                .iter()
                .filter_map(|s| {
                    Some(SecretEnv {
                        name: s.name.clone()?,
                        value_from: s.value_from.clone()?,
                    })
                })
                .collect(),
            environment_files: c
                .environment_files
                .iter()
                .filter_map(|f| f.value.clone())
                .collect(),
            repository_credentials: c
                .repository_credentials
                .as_ref()
                .and_then(|r| r.credentials_parameter.clone()),
            log_configuration: c.log_configuration.as_ref().map(LogPlan::from),
            cpu: c.cpu.unwrap_or(0),
            memory: c.memory,
            ports: publish(&c.port_mappings.iter().collect::<Vec<_>>(), self.mode())
                .0
                .unwrap_or_default(),
            metadata_file,
            create,
        }
    }

    /// The definition's `environment`, then what the ECS agent injects.
    /// The agent's variables win over the definition's, except the region,
    /// which the definition may set itself.
    fn environment(&self, c: &ContainerDefinition, endpoint_id: Option<&str>) -> Vec<String> {
        let task = self.task;
        let base = match self.mode() {
            NetworkMode::Host => format!("http://127.0.0.1:{}", self.options.agent_loopback_port),
            _ => format!("http://{AGENT_IP}"),
        };
        let mut injected: Vec<(String, String)> = Vec::new();
        if let Some(id) = endpoint_id {
            injected.push((
                "ECS_CONTAINER_METADATA_URI".into(),
                format!("{base}/v3/{id}"),
            ));
            injected.push((
                "ECS_CONTAINER_METADATA_URI_V4".into(),
                format!("{base}/v4/{id}"),
            ));
            injected.push(("ECS_AGENT_URI".into(), format!("{base}/api/{id}")));
        }
        if let (Some(credentials_id), true) = (&task.credentials_id, endpoint_id.is_some()) {
            let path = format!("/v2/credentials/{credentials_id}");
            if let Some(token) = &task.authorization_token {
                injected.push((
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
                    format!("{base}{path}"),
                ));
                injected.push(("AWS_CONTAINER_AUTHORIZATION_TOKEN".into(), token.clone()));
            } else {
                injected.push(("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI".into(), path));
            }
        }
        let execution_env = match task.launch_type {
            LaunchType::Fargate => "AWS_ECS_FARGATE",
            LaunchType::Ec2 => "AWS_ECS_EC2",
        };
        injected.push(("AWS_EXECUTION_ENV".into(), execution_env.into()));

        let defined = |key: &str| {
            c.environment
                .iter()
                .find(|kv| kv.name.as_deref() == Some(key))
                .and_then(|kv| kv.value.clone())
        };
        // A definition that sets one of the two region variables gets the
        // other with the same value, so that every SDK agrees on the region.
        let region = defined("AWS_REGION")
            .or_else(|| defined("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| task.region.clone());
        for key in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
            if defined(key).is_none() {
                injected.push((key.into(), region.clone()));
            }
        }
        let mut env: Vec<String> = c
            .environment
            .iter()
            .filter_map(|kv| {
                let key = kv.name.as_deref()?;
                let overridden = injected.iter().any(|(k, _)| k == key);
                (!overridden).then(|| format!("{key}={}", kv.value.as_deref().unwrap_or_default()))
            })
            .collect();
        env.extend(injected.into_iter().map(|(k, v)| format!("{k}={v}")));
        env
    }

    fn resources(&self, c: &ContainerDefinition, host: &mut HostConfig) {
        host.cpu_shares = Some(c.cpu.unwrap_or(0).max(MIN_CPU_SHARES));
        // A container without its own hard limit may use the whole task's memory.
        let memory = c.memory.or(self.task.memory);
        host.memory = memory.map(mib);
        host.memory_reservation = c.memory_reservation.map(mib);
        if let Some(params) = &c.linux_parameters {
            if let (Some(max_swap), Some(memory)) = (params.max_swap, memory) {
                host.memory_swap = Some(mib(memory.saturating_add(max_swap)));
                host.memory_swappiness = Some(params.swappiness.unwrap_or(DEFAULT_SWAPPINESS));
            } else if let Some(swappiness) = params.swappiness {
                host.memory_swappiness = Some(swappiness);
            }
        }
    }

    fn namespaces(&self, pause: Option<&ContainerPlan>, host: &mut HostConfig) {
        let holder = pause.map(|p| format!("container:{}", p.docker_name));
        host.pid_mode = match self.def.pid_mode {
            Some(PidMode::Host) => Some("host".into()),
            Some(PidMode::Task) => holder.clone(),
            None => None,
        };
        host.ipc_mode = match self.def.ipc_mode {
            Some(IpcMode::Host) => Some("host".into()),
            Some(IpcMode::Task) => holder,
            Some(IpcMode::None) => Some("none".into()),
            None => None,
        };
    }

    /// Host paths as bind mounts, everything else as the run's Docker volumes.
    fn binds(&self, c: &ContainerDefinition, volumes: &[VolumePlan]) -> Vec<String> {
        c.mount_points
            .iter()
            .filter_map(|m| {
                let source = m.source_volume.as_deref()?;
                let target = m.container_path.as_deref()?;
                let volume = self
                    .def
                    .volumes
                    .iter()
                    .find(|v| v.name.as_deref() == Some(source))?;
                let from = match volume.host.as_ref().and_then(|h| h.source_path.as_deref()) {
                    Some(path) => path.to_owned(),
                    None => volumes
                        .iter()
                        .find(|v| v.name == source)?
                        .docker_name
                        .clone(),
                };
                let mode = if m.read_only == Some(true) { ":ro" } else { "" };
                Some(format!("{from}:{target}{mode}"))
            })
            .collect()
    }
}

fn volumes_from(c: &ContainerDefinition) -> Vec<String> {
    c.volumes_from
        .iter()
        .filter_map(|v| {
            let source = v.source_container.as_deref()?;
            let mode = if v.read_only == Some(true) { ":ro" } else { "" };
            Some(format!("{{{source}}}{mode}"))
        })
        .collect()
}

/// `links` as Docker link aliases on the shared network. The linked
/// container's Docker name is only known once the whole task is planned,
/// so the name is written `{container}` and resolved by [`resolve_names`].
fn links(c: &ContainerDefinition) -> Vec<String> {
    c.links
        .iter()
        .map(|link| {
            let (target, alias) = link.split_once(':').unwrap_or((link, link));
            format!("{{{target}}}:{alias}")
        })
        .collect()
}

/// Replaces the `{container}` references in links and `volumesFrom` by the
/// Docker names the plan gave those containers.
pub(super) fn resolve_names(containers: &mut [ContainerPlan]) {
    let names: Vec<(String, String)> = containers
        .iter()
        .map(|c| (format!("{{{}}}", c.name), c.docker_name.clone()))
        .collect();
    let resolve = |value: &mut String| {
        for (reference, docker) in &names {
            if value.starts_with(reference.as_str()) {
                value.replace_range(..reference.len(), docker);
            }
        }
    };
    for c in containers {
        if let Some(from) = c
            .create
            .host_config
            .as_mut()
            .and_then(|h| h.volumes_from.as_mut())
        {
            from.iter_mut().for_each(resolve);
        }
        if let Some(endpoints) = c
            .create
            .networking_config
            .as_mut()
            .and_then(|n| n.endpoints_config.as_mut())
        {
            for settings in endpoints.values_mut() {
                if let Some(links) = settings.links.as_mut() {
                    links.iter_mut().for_each(resolve);
                }
            }
        }
    }
}

fn network_mode_of(mode: NetworkMode) -> &'static str {
    match mode {
        NetworkMode::Bridge | NetworkMode::Awsvpc => NETWORK_NAME,
        NetworkMode::Host => "host",
        NetworkMode::None => "none",
    }
}

fn endpoint(aliases: Vec<String>, links: Vec<String>) -> NetworkingConfig {
    NetworkingConfig {
        endpoints_config: Some(
            [(
                NETWORK_NAME.to_owned(),
                EndpointSettings {
                    aliases: non_empty(aliases),
                    links: non_empty(links),
                    ..Default::default()
                },
            )]
            .into(),
        ),
    }
}

type PortBindings = HashMap<String, Option<Vec<PortBinding>>>;

/// Exposed ports and their bindings. Bridge mode publishes on the given host
/// port, or an ephemeral one when it is absent or 0; awsvpc publishes on the
/// container port itself; a port range gets one ephemeral port per port.
fn publish(
    mappings: &[&PortMapping],
    mode: NetworkMode,
) -> (Option<Vec<String>>, Option<PortBindings>) {
    let mut exposed = Vec::new();
    let mut bindings: PortBindings = HashMap::new();
    for p in mappings {
        let protocol = p.protocol.unwrap_or_default().as_str();
        let ports: Vec<(i64, Option<i64>)> =
            match (p.container_port, p.container_port_range.as_deref()) {
                (Some(port), _) => {
                    let host = match mode {
                        NetworkMode::Awsvpc => Some(port),
                        _ => p.host_port.filter(|h| *h != 0),
                    };
                    vec![(port, host)]
                }
                (None, Some(range)) => parse_port_range(range)
                    .map(|(low, high)| {
                        (i64::from(low)..=i64::from(high))
                            .map(|port| (port, None))
                            .collect()
                    })
                    .unwrap_or_default(),
                (None, None) => Vec::new(),
            };
        for (port, host) in ports {
            let key = format!("{port}/{protocol}");
            if !exposed.contains(&key) {
                exposed.push(key.clone());
            }
            bindings
                .entry(key)
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: None,
                    host_port: Some(host.map(|h| h.to_string()).unwrap_or_default()),
                });
        }
    }
    if exposed.is_empty() {
        (None, None)
    } else {
        (Some(exposed), Some(bindings))
    }
}

/// ECS's health check in Docker's units (nanoseconds), with ECS's defaults.
fn health_config(
    command: &[String],
    interval: Option<i64>,
    timeout: Option<i64>,
    retries: Option<i64>,
    start_period: Option<i64>,
) -> HealthConfig {
    HealthConfig {
        test: Some(command.to_vec()),
        interval: Some(nanos(interval.unwrap_or(HEALTH_INTERVAL))),
        timeout: Some(nanos(timeout.unwrap_or(HEALTH_TIMEOUT))),
        retries: Some(retries.unwrap_or(HEALTH_RETRIES)),
        start_period: Some(nanos(start_period.unwrap_or(0))),
        start_interval: None,
    }
}

fn linux_parameters(c: &ContainerDefinition, host: &mut HostConfig) {
    let Some(l) = &c.linux_parameters else { return };
    if let Some(caps) = &l.capabilities {
        host.cap_add = non_empty(caps.add.clone());
        host.cap_drop = non_empty(caps.drop.clone());
    }
    host.devices = non_empty(
        l.devices
            .iter()
            .map(|d| {
                let host_path = d.host_path.clone().unwrap_or_default();
                let permissions: String = if d.permissions.is_empty() {
                    "rwm".into()
                } else {
                    d.permissions
                        .iter()
                        .map(|p| match p {
                            DevicePermission::Read => 'r',
                            DevicePermission::Write => 'w',
                            DevicePermission::Mknod => 'm',
                        })
                        .collect()
                };
                DeviceMapping {
                    path_in_container: Some(
                        d.container_path
                            .clone()
                            .unwrap_or_else(|| host_path.clone()),
                    ),
                    path_on_host: Some(host_path),
                    cgroup_permissions: Some(permissions),
                }
            })
            .collect(),
    );
    host.init = l.init_process_enabled;
    host.shm_size = l.shared_memory_size.map(mib);
    host.tmpfs = non_empty_map(
        l.tmpfs
            .iter()
            .map(|t| {
                let mut options = vec![format!("size={}m", t.size.unwrap_or_default())];
                options.extend(t.mount_options.iter().cloned());
                (
                    t.container_path.clone().unwrap_or_default(),
                    options.join(","),
                )
            })
            .collect(),
    );
}

fn gpu_requests(c: &ContainerDefinition) -> Vec<DeviceRequest> {
    c.resource_requirements
        .iter()
        .filter(|r| r.kind == Some(ResourceType::Gpu))
        .filter_map(|r| r.value.as_deref()?.parse::<i64>().ok())
        .map(|count| DeviceRequest {
            driver: Some("nvidia".into()),
            count: Some(count),
            capabilities: Some(vec![vec!["gpu".into()]]),
            ..Default::default()
        })
        .collect()
}

/// MiB to bytes; validation keeps sizes far below overflow, this keeps the plan total.
fn mib(size: i64) -> i64 {
    size.saturating_mul(MIB)
}

fn nanos(secs: i64) -> i64 {
    secs.saturating_mul(NANOS_PER_SEC)
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

fn non_empty_map(items: HashMap<String, String>) -> Option<HashMap<String, String>> {
    (!items.is_empty()).then_some(items)
}

/// `--publish`: a container port on a chosen host port, added to the
/// container's bindings (the pause container's in awsvpc), replacing the
/// binding the definition gave that port.
pub(super) fn publish_more(
    containers: &mut [ContainerPlan],
    pause: Option<&mut ContainerPlan>,
    publish: &[crate::taskdef::overrides::Publish],
    mode: NetworkMode,
) -> Result<(), crate::taskdef::Diagnostic> {
    let mut pause = pause;
    for p in publish {
        if matches!(mode, NetworkMode::Host | NetworkMode::None) {
            return Err(crate::taskdef::Diagnostic::error(
                "networkMode",
                format!(
                    "`--publish {}:{}:{}` needs bridge or awsvpc network mode (host mode uses the host's ports as they are)",
                    p.container, p.host_port, p.container_port
                ),
            ));
        }
        let key = format!("{}/{}", p.container_port, if p.udp { "udp" } else { "tcp" });
        let Some(owner) = containers.iter_mut().find(|c| c.name == p.container) else {
            continue;
        };
        if !owner.ports.contains(&key) {
            owner.ports.push(key.clone());
        }
        let target = match (mode, pause.as_deref_mut()) {
            (NetworkMode::Awsvpc, Some(pause)) => pause,
            _ => owner,
        };
        let exposed = target.create.exposed_ports.get_or_insert_with(Vec::new);
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        target
            .create
            .host_config
            .get_or_insert_with(HostConfig::default)
            .port_bindings
            .get_or_insert_with(HashMap::new)
            .insert(
                key,
                Some(vec![PortBinding {
                    host_ip: None,
                    host_port: Some(p.host_port.to_string()),
                }]),
            );
    }
    Ok(())
}

/// The container a bridge task's service name resolves to: the first with
/// port mappings, else the first essential one.
fn front_container(def: &TaskDefinition) -> Option<&str> {
    let containers = &def.container_definitions;
    containers
        .iter()
        .find(|c| !c.port_mappings.is_empty())
        .or_else(|| containers.iter().find(|c| c.essential != Some(false)))
        .and_then(|c| c.name.as_deref())
}

/// One test per mapping rule: what the agent (and Docker) would be given for
/// each definition field.
#[cfg(test)]
mod tests {
    use super::super::test_support::planned;
    use super::super::{DEFAULT_AGENT_LOOPBACK_PORT, Plan};
    use super::*;

    fn one(container: &str) -> String {
        format!(r#"{{"family":"web","containerDefinitions":[{container}]}}"#)
    }

    fn host(plan: &Plan, name: &str) -> HostConfig {
        plan.container(name).create.host_config.clone().unwrap()
    }

    fn env(plan: &Plan, name: &str) -> Vec<String> {
        plan.container(name).create.env.clone().unwrap()
    }

    #[test]
    fn cpu_becomes_shares_with_dockers_minimum_and_memory_becomes_bytes() {
        let plan = planned(&one(
            r#"{"name":"a","image":"i","cpu":0,"memory":64,"memoryReservation":32}"#,
        ));
        let h = host(&plan, "a");
        assert_eq!(h.cpu_shares, Some(MIN_CPU_SHARES));
        assert_eq!(h.memory, Some(64 * 1024 * 1024));
        assert_eq!(h.memory_reservation, Some(32 * 1024 * 1024));
        let plan = planned(&one(r#"{"name":"a","image":"i","cpu":512,"memory":64,
            "linuxParameters":{"maxSwap":128}}"#));
        let h = host(&plan, "a");
        assert_eq!(h.cpu_shares, Some(512));
        // maxSwap is on top of memory; swappiness takes ECS's default then.
        assert_eq!(h.memory_swap, Some(192 * 1024 * 1024));
        assert_eq!(h.memory_swappiness, Some(DEFAULT_SWAPPINESS));
    }

    #[test]
    fn a_container_without_a_memory_of_its_own_gets_the_tasks() {
        let plan = planned(
            r#"{"family":"web","memory":"256","containerDefinitions":[{"name":"a","image":"i"}]}"#,
        );
        assert_eq!(host(&plan, "a").memory, Some(256 * 1024 * 1024));
    }

    #[test]
    fn the_agents_variables_come_after_the_definitions_and_win_but_the_region() {
        let plan = planned(&one(r#"{"name":"a","image":"i","memory":64,"environment":[
                {"name":"APP","value":"1"},
                {"name":"ECS_CONTAINER_METADATA_URI_V4","value":"mine"},
                {"name":"AWS_DEFAULT_REGION","value":"eu-west-3"}]}"#));
        let env = env(&plan, "a");
        assert_eq!(env[0], "APP=1");
        assert_eq!(env[1], "AWS_DEFAULT_REGION=eu-west-3");
        let id = plan.container("a").endpoint_id.clone().unwrap();
        assert!(env.contains(&format!(
            "ECS_CONTAINER_METADATA_URI_V4=http://{AGENT_IP}/v4/{id}"
        )));
        assert!(env.contains(&format!(
            "ECS_CONTAINER_METADATA_URI=http://{AGENT_IP}/v3/{id}"
        )));
        assert!(!env.contains(&"ECS_CONTAINER_METADATA_URI_V4=mine".to_owned()));
        // The other region variable follows the one the definition set.
        assert!(env.contains(&"AWS_REGION=eu-west-3".to_owned()));
        assert!(env.contains(&"AWS_EXECUTION_ENV=AWS_ECS_EC2".to_owned()));
    }

    #[test]
    fn host_mode_reaches_the_agent_on_the_loopback_port() {
        let plan = planned(
            r#"{"family":"web","networkMode":"host","containerDefinitions":[{"name":"a","image":"i","memory":64}]}"#,
        );
        let id = plan.container("a").endpoint_id.clone().unwrap();
        let port = DEFAULT_AGENT_LOOPBACK_PORT;
        assert!(env(&plan, "a").contains(&format!(
            "ECS_CONTAINER_METADATA_URI_V4=http://127.0.0.1:{port}/v4/{id}"
        )));
        assert_eq!(host(&plan, "a").network_mode.as_deref(), Some("host"));
    }

    #[test]
    fn health_checks_take_ecs_defaults_in_nanoseconds() {
        let plan = planned(&one(
            r#"{"name":"a","image":"i","memory":64,"healthCheck":{"command":["CMD-SHELL","true"],"interval":10}}"#,
        ));
        let check = plan.container("a").create.healthcheck.clone().unwrap();
        assert_eq!(check.test, Some(vec!["CMD-SHELL".into(), "true".into()]));
        assert_eq!(check.interval, Some(10_000_000_000));
        assert_eq!(check.timeout, Some(HEALTH_TIMEOUT * 1_000_000_000));
        assert_eq!(check.retries, Some(HEALTH_RETRIES));
        assert_eq!(check.start_period, Some(0));
    }

    #[test]
    fn bridge_ports_publish_on_the_host_port_or_an_ephemeral_one() {
        let plan = planned(&one(
            r#"{"name":"a","image":"i","memory":64,"portMappings":[
                {"containerPort":80,"hostPort":8080},
                {"containerPort":53,"protocol":"udp"},
                {"containerPortRange":"9000-9001"}]}"#,
        ));
        let create = &plan.container("a").create;
        assert_eq!(
            create.exposed_ports.clone().unwrap(),
            ["80/tcp", "53/udp", "9000/tcp", "9001/tcp"]
        );
        let bindings = host(&plan, "a").port_bindings.unwrap();
        let port = |key: &str| bindings[key].clone().unwrap()[0].host_port.clone().unwrap();
        assert_eq!(port("80/tcp"), "8080");
        assert_eq!(port("53/udp"), "");
        assert_eq!(port("9001/tcp"), "");
    }

    #[test]
    fn awsvpc_containers_join_the_pause_container_which_publishes_their_ports() {
        let plan = planned(
            r#"{"family":"web","networkMode":"awsvpc","containerDefinitions":[
                {"name":"a","image":"i","memory":64,"portMappings":[{"containerPort":8080}]}]}"#,
        );
        let pause = plan.pause.as_ref().unwrap();
        assert_eq!(
            host(&plan, "a").network_mode,
            Some(format!("container:{}", pause.docker_name))
        );
        assert!(plan.container("a").create.exposed_ports.is_none());
        assert_eq!(plan.container("a").ports, ["8080/tcp"]);
    }

    #[test]
    fn mounts_volumes_from_and_links_name_what_they_use() {
        let plan = planned(
            r#"{"family":"web","volumes":[{"name":"data"},{"name":"logs","host":{"sourcePath":"/var/log/app"}}],
               "containerDefinitions":[
                {"name":"db","image":"i","memory":64,"mountPoints":[
                    {"sourceVolume":"data","containerPath":"/data"},
                    {"sourceVolume":"logs","containerPath":"/logs","readOnly":true}]},
                {"name":"app","image":"i","memory":64,"links":["db:database"],
                 "volumesFrom":[{"sourceContainer":"db","readOnly":true}]}]}"#,
        );
        let db = host(&plan, "db");
        let data = &plan
            .volumes
            .iter()
            .find(|v| v.name == "data")
            .unwrap()
            .docker_name;
        assert_eq!(
            db.binds.unwrap(),
            [format!("{data}:/data"), "/var/log/app:/logs:ro".to_owned()]
        );
        let db_name = &plan.container("db").docker_name;
        assert_eq!(
            host(&plan, "app").volumes_from.unwrap(),
            [format!("{db_name}:ro")]
        );
        let endpoints = plan
            .container("app")
            .create
            .networking_config
            .clone()
            .unwrap();
        let endpoint = &endpoints.endpoints_config.unwrap()[NETWORK_NAME];
        assert_eq!(
            endpoint.links.clone().unwrap(),
            [format!("{db_name}:database")]
        );
        assert!(
            endpoint
                .aliases
                .clone()
                .unwrap()
                .contains(&"app".to_owned())
        );
    }

    #[test]
    fn linux_parameters_become_capabilities_devices_and_init() {
        let plan = planned(&one(
            r#"{"name":"a","image":"i","memory":64,"linuxParameters":{
                "capabilities":{"add":["NET_ADMIN"],"drop":["MKNOD"]},
                "devices":[{"hostPath":"/dev/fuse","permissions":["read","write"]}],
                "initProcessEnabled":true,"sharedMemorySize":64,
                "tmpfs":[{"containerPath":"/run","size":16,"mountOptions":["noexec"]}]}}"#,
        ));
        let h = host(&plan, "a");
        assert_eq!(h.cap_add.unwrap(), ["NET_ADMIN"]);
        assert_eq!(h.cap_drop.unwrap(), ["MKNOD"]);
        let device = &h.devices.unwrap()[0];
        assert_eq!(device.path_on_host.as_deref(), Some("/dev/fuse"));
        assert_eq!(device.cgroup_permissions.as_deref(), Some("rw"));
        assert_eq!(h.init, Some(true));
        assert_eq!(h.shm_size, Some(64 * 1024 * 1024));
        assert!(h.tmpfs.unwrap()["/run"].contains("noexec"));
    }

    #[test]
    fn container_settings_pass_through_as_docker_names_them() {
        let plan = planned(&one(
            r#"{"name":"a","image":"i","memory":64,"user":"1000:1000","workingDirectory":"/srv",
                "readonlyRootFilesystem":true,"privileged":false,"dnsServers":["10.0.0.2"],
                "extraHosts":[{"hostname":"db","ipAddress":"10.0.0.9"}],
                "ulimits":[{"name":"nofile","softLimit":1024,"hardLimit":2048}],
                "dockerLabels":{"team":"web"},"stopTimeout":5,
                "systemControls":[{"namespace":"net.core.somaxconn","value":"1024"}]}"#,
        ));
        let create = &plan.container("a").create;
        assert_eq!(create.user.as_deref(), Some("1000:1000"));
        assert_eq!(create.working_dir.as_deref(), Some("/srv"));
        assert_eq!(create.stop_timeout, Some(5));
        assert_eq!(create.labels.as_ref().unwrap()["team"], "web");
        let h = host(&plan, "a");
        assert_eq!(h.readonly_rootfs, Some(true));
        assert_eq!(h.dns.unwrap(), ["10.0.0.2"]);
        assert_eq!(h.extra_hosts.unwrap(), ["db:10.0.0.9"]);
        let ulimit = &h.ulimits.unwrap()[0];
        assert_eq!((ulimit.soft, ulimit.hard), (Some(1024), Some(2048)));
        assert_eq!(h.sysctls.unwrap()["net.core.somaxconn"], "1024");
        // Every container logs to json-file locally, whatever it names.
        assert_eq!(h.log_config.unwrap().typ.as_deref(), Some("json-file"));
    }

    #[test]
    fn a_stop_timeout_defaults_to_ecss_thirty_seconds() {
        let plan = planned(&one(r#"{"name":"a","image":"i","memory":64}"#));
        assert_eq!(
            plan.container("a").stop_timeout_secs,
            DEFAULT_STOP_TIMEOUT_SECS
        );
        assert_eq!(plan.container("a").create.stop_timeout, Some(30));
    }
}
