//! Validation: every problem at once, each with its JSON path and a plain reason.
//!
//! Errors are what ECS itself rejects and what a Linux Docker engine cannot run;
//! warnings are what runs, but differently than on ECS (EFS, `FireLens`, App Mesh,
//! inference accelerators, GPUs), and what ECS would reject while a local run
//! does not care (an EC2 container with no memory setting).

use std::collections::{BTreeMap, BTreeSet};

use super::diagnostic::Diagnostic;
use super::model::{
    Compatibility, ContainerDefinition, DependencyCondition, NetworkMode, PortMapping,
    TaskDefinition, Volume, VolumeScope,
};
use super::secret::SecretRef;
use super::units;

/// The log drivers ECS accepts in `logConfiguration.logDriver` on Linux.
pub const LOG_DRIVERS: &[&str] = &[
    "awslogs",
    "awsfirelens",
    "fluentd",
    "gelf",
    "json-file",
    "journald",
    "logentries",
    "splunk",
    "syslog",
];

/// The ulimit names ECS accepts.
const ULIMITS: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// Docker refuses a memory limit below 6 MiB.
const MIN_MEMORY_MIB: i64 = 6;

/// Checks a loaded definition and returns every finding, errors first in
/// document order, then warnings.
#[must_use]
pub fn validate(def: &TaskDefinition) -> Vec<Diagnostic> {
    let mut v = Validator {
        def,
        mode: def.network_mode.unwrap_or_default(),
        out: Vec::new(),
    };
    v.task();
    v.volumes();
    v.containers();
    v.dependencies();
    v.out.sort_by_key(|d| d.severity);
    v.out
}

struct Validator<'a> {
    def: &'a TaskDefinition,
    mode: NetworkMode,
    out: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.out.push(Diagnostic::error(path, message));
    }

    fn warning(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.out.push(Diagnostic::warning(path, message));
    }

    fn is_fargate(&self) -> bool {
        self.def
            .requires_compatibilities
            .contains(&Compatibility::Fargate)
    }

    fn container_index(&self, name: &str) -> Option<usize> {
        self.def
            .container_definitions
            .iter()
            .position(|c| c.name() == name)
    }

    fn task(&mut self) {
        let def = self.def;
        match def.family.as_deref() {
            None | Some("") => self.error("family", "is required"),
            Some(family) => {
                if !is_ecs_name(family) {
                    self.error(
                        "family",
                        format!("`{family}` may hold only letters, digits, hyphens and underscores (at most 255)"),
                    );
                }
            }
        }
        if def.container_definitions.is_empty() {
            self.error(
                "containerDefinitions",
                "at least one container definition is required",
            );
        }
        if let Some(os) = def
            .runtime_platform
            .as_ref()
            .and_then(|p| p.operating_system_family.as_deref())
        {
            if os.starts_with("WINDOWS") {
                self.error(
                    "runtimePlatform.operatingSystemFamily",
                    format!(
                        "`{os}` needs a Windows container host; a Linux Docker engine cannot run it"
                    ),
                );
            } else if os != "LINUX" {
                self.error(
                    "runtimePlatform.operatingSystemFamily",
                    format!("`{os}` is not an operating system family ECS knows (LINUX or WINDOWS_SERVER_*)"),
                );
            }
        }
        let task_cpu = def.cpu.as_ref().map(units::cpu_units);
        let task_memory = def.memory.as_ref().map(units::memory_mib);
        if let Some(Err(reason)) = &task_cpu {
            self.error("cpu", reason.clone());
        }
        if let Some(Err(reason)) = &task_memory {
            self.error("memory", reason.clone());
        }
        if self.is_fargate() {
            if self.mode != NetworkMode::Awsvpc {
                self.warning(
                    "networkMode",
                    format!(
                        "ECS requires `awsvpc` for FARGATE; this runs locally in `{}` mode",
                        self.mode
                    ),
                );
            }
            if def.cpu.is_none() || def.memory.is_none() {
                self.warning("", "ECS requires task-level `cpu` and `memory` for FARGATE");
            }
            if def.ipc_mode.is_some() {
                self.warning(
                    "ipcMode",
                    "FARGATE does not support ipcMode; it applies locally",
                );
            }
        }
        if let Some(Ok(task_memory)) = task_memory {
            for (i, c) in def.container_definitions.iter().enumerate() {
                if let Some(memory) = c.memory.filter(|m| *m > task_memory) {
                    self.error(
                        format!("containerDefinitions[{i}].memory"),
                        format!("{memory} MiB is more than the task's memory ({task_memory} MiB)"),
                    );
                }
            }
        }
        if let Some(proxy) = &def.proxy_configuration {
            match proxy.container_name.as_deref() {
                None | Some("") => self.error("proxyConfiguration.containerName", "is required"),
                Some(name) if self.container_index(name).is_none() => self.error(
                    "proxyConfiguration.containerName",
                    format!("`{name}` is not a container of this task"),
                ),
                Some(name) => self.warning(
                    "proxyConfiguration",
                    format!(
                        "the App Mesh proxy's traffic redirection is not set up locally: `{name}` runs as a plain container and the others talk to each other directly"
                    ),
                ),
            }
            if self.mode != NetworkMode::Awsvpc {
                self.error(
                    "proxyConfiguration",
                    "ECS supports a proxy configuration only in awsvpc mode",
                );
            }
        }
        if !def.inference_accelerators.is_empty() {
            self.warning(
                "inferenceAccelerators",
                "Elastic Inference accelerators do not exist locally; the task runs without them",
            );
        }
    }

    fn volumes(&mut self) {
        let mut seen = BTreeMap::new();
        for (i, volume) in self.def.volumes.iter().enumerate() {
            let at = format!("volumes[{i}]");
            match volume.name.as_deref() {
                None | Some("") => self.error(format!("{at}.name"), "is required"),
                Some(name) => {
                    if let Some(first) = seen.insert(name, i) {
                        self.error(
                            format!("{at}.name"),
                            format!("duplicate volume name `{name}` (also volumes[{first}])"),
                        );
                    }
                }
            }
            self.volume(&at, volume);
        }
    }

    fn volume(&mut self, at: &str, volume: &Volume) {
        let kinds = [
            volume.host.is_some(),
            volume.docker_volume_configuration.is_some(),
            volume.efs_volume_configuration.is_some(),
            volume
                .fsx_windows_file_server_volume_configuration
                .is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() > 1 {
            self.error(
                at,
                "give only one of `host`, `dockerVolumeConfiguration`, `efsVolumeConfiguration` and `fsxWindowsFileServerVolumeConfiguration`",
            );
        }
        if let Some(path) = volume.host.as_ref().and_then(|h| h.source_path.as_deref()) {
            if is_windows_path(path) {
                self.error(
                    format!("{at}.host.sourcePath"),
                    format!("`{path}` is a Windows path; a Linux Docker engine cannot mount it"),
                );
            } else if !path.starts_with('/') {
                self.error(
                    format!("{at}.host.sourcePath"),
                    format!("`{path}` is not an absolute path"),
                );
            }
        }
        if let Some(docker) = &volume.docker_volume_configuration {
            if docker.autoprovision == Some(true)
                && docker.scope.unwrap_or_default() == VolumeScope::Task
            {
                self.error(
                    format!("{at}.dockerVolumeConfiguration.autoprovision"),
                    "applies only to volumes with `\"scope\": \"shared\"`",
                );
            }
        }
        if let Some(efs) = &volume.efs_volume_configuration {
            let fs = efs.file_system_id.as_deref().unwrap_or("?");
            self.warning(
                format!("{at}.efsVolumeConfiguration"),
                format!("EFS file system `{fs}` is not reachable locally; a task-scoped local Docker volume stands in for it"),
            );
        }
        if volume
            .fsx_windows_file_server_volume_configuration
            .is_some()
        {
            self.error(
                format!("{at}.fsxWindowsFileServerVolumeConfiguration"),
                "FSx for Windows File Server volumes need a Windows container host; a Linux Docker engine cannot mount them",
            );
        }
        if volume.configured_at_launch == Some(true) {
            self.warning(
                format!("{at}.configuredAtLaunch"),
                "the EBS volume attached at launch does not exist locally; a task-scoped local Docker volume stands in for it",
            );
        }
    }

    fn containers(&mut self) {
        let def = self.def;
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, c) in def.container_definitions.iter().enumerate() {
            let at = format!("containerDefinitions[{i}]");
            match c.name.as_deref() {
                None | Some("") => self.error(format!("{at}.name"), "is required"),
                Some(name) => {
                    if !is_ecs_name(name) {
                        self.error(
                            format!("{at}.name"),
                            format!("`{name}` may hold only letters, digits, hyphens and underscores (at most 255)"),
                        );
                    }
                    if let Some(first) = names.insert(name, i) {
                        self.error(
                            format!("{at}.name"),
                            format!("duplicate container name `{name}` (also containerDefinitions[{first}])"),
                        );
                    }
                }
            }
            self.container(&at, c);
        }
        if !def.container_definitions.is_empty()
            && !def
                .container_definitions
                .iter()
                .any(ContainerDefinition::is_essential)
        {
            self.error(
                "containerDefinitions",
                "no container is essential; at least one must be",
            );
        }
        self.task_ports();
        let firelens: Vec<usize> = def
            .container_definitions
            .iter()
            .enumerate()
            .filter(|(_, c)| c.firelens_configuration.is_some())
            .map(|(i, _)| i)
            .collect();
        if firelens.len() > 1 {
            self.error(
                format!(
                    "containerDefinitions[{}].firelensConfiguration",
                    firelens[1]
                ),
                "only one container of a task may have a FireLens configuration",
            );
        }
        for (i, c) in def.container_definitions.iter().enumerate() {
            let uses_firelens = c
                .log_configuration
                .as_ref()
                .and_then(|l| l.log_driver.as_deref())
                == Some("awsfirelens");
            if uses_firelens && firelens.is_empty() {
                self.error(
                    format!("containerDefinitions[{i}].logConfiguration.logDriver"),
                    "`awsfirelens` needs a container with a `firelensConfiguration` in the task",
                );
            }
        }
    }

    fn container(&mut self, at: &str, c: &ContainerDefinition) {
        match c.image.as_deref() {
            None => self.error(format!("{at}.image"), "is required"),
            Some(image) if image.trim().is_empty() => self.error(format!("{at}.image"), "is empty"),
            Some(image) if looks_like_placeholder(image) => {
                self.placeholder(format!("{at}.image"), image);
            }
            Some(_) => {}
        }
        self.resources(at, c);
        self.network_fields(at, c);
        for (j, p) in c.port_mappings.iter().enumerate() {
            self.port(&format!("{at}.portMappings[{j}]"), p);
        }
        for (j, kv) in c.environment.iter().enumerate() {
            if kv.name.as_deref().is_none_or(str::is_empty) {
                self.error(format!("{at}.environment[{j}].name"), "is required");
            }
        }
        for (j, file) in c.environment_files.iter().enumerate() {
            let path = format!("{at}.environmentFiles[{j}].value");
            match file.value.as_deref() {
                None | Some("") => self.error(path, "is required"),
                Some(value) if !is_s3_object_arn(value) => self.error(
                    path,
                    format!("`{value}` is not an S3 object ARN (`arn:aws:s3:::BUCKET/KEY.env`)"),
                ),
                Some(_) => {}
            }
        }
        for (j, secret) in c.secrets.iter().enumerate() {
            self.secret(
                &format!("{at}.secrets[{j}]"),
                secret.name.as_deref(),
                secret.value_from.as_deref(),
            );
        }
        self.mounts(at, c);
        if let Some(log) = &c.log_configuration {
            match log.log_driver.as_deref() {
                None | Some("") => {
                    self.error(format!("{at}.logConfiguration.logDriver"), "is required");
                }
                Some(driver) if !LOG_DRIVERS.contains(&driver) => self.error(
                    format!("{at}.logConfiguration.logDriver"),
                    format!(
                        "`{driver}` is not a log driver ECS supports ({})",
                        LOG_DRIVERS.join(", ")
                    ),
                ),
                Some(_) => {}
            }
            for (j, secret) in log.secret_options.iter().enumerate() {
                self.secret(
                    &format!("{at}.logConfiguration.secretOptions[{j}]"),
                    secret.name.as_deref(),
                    secret.value_from.as_deref(),
                );
            }
        }
        if let Some(creds) = &c.repository_credentials {
            let path = format!("{at}.repositoryCredentials.credentialsParameter");
            match creds
                .credentials_parameter
                .as_deref()
                .map(|p| (p, SecretRef::parse(p)))
            {
                None => self.error(path, "is required"),
                Some((value, _)) if looks_like_placeholder(value) => self.placeholder(path, value),
                Some((_, Ok(SecretRef::SecretsManager { .. }))) => {}
                Some((_, Ok(SecretRef::Parameter { .. }))) => {
                    self.error(path, "must be the ARN of a Secrets Manager secret");
                }
                Some((_, Err(reason))) => self.error(path, reason),
            }
        }
        self.health_check(at, c);
        self.linux(at, c);
        for (j, u) in c.ulimits.iter().enumerate() {
            let path = format!("{at}.ulimits[{j}]");
            match u.name.as_deref() {
                Some(name) if ULIMITS.contains(&name) => {}
                Some(name) => self.error(
                    format!("{path}.name"),
                    format!(
                        "`{name}` is not a ulimit ECS supports ({})",
                        ULIMITS.join(", ")
                    ),
                ),
                None => self.error(format!("{path}.name"), "is required"),
            }
            match (u.soft_limit, u.hard_limit) {
                (Some(soft), Some(hard)) if soft > hard => self.error(
                    format!("{path}.softLimit"),
                    format!("{soft} is above the hard limit {hard}"),
                ),
                (Some(_), Some(_)) => {}
                (None, _) => self.error(format!("{path}.softLimit"), "is required"),
                (_, None) => self.error(format!("{path}.hardLimit"), "is required"),
            }
        }
        for (j, s) in c.system_controls.iter().enumerate() {
            let namespace = s.namespace.as_deref().unwrap_or_default();
            if namespace.is_empty() {
                self.error(format!("{at}.systemControls[{j}].namespace"), "is required");
            } else if namespace.starts_with("net.") && self.mode == NetworkMode::Host {
                self.error(
                    format!("{at}.systemControls[{j}].namespace"),
                    format!(
                        "`{namespace}` cannot be set in host network mode: it would change the host"
                    ),
                );
            }
        }
        for option in &c.docker_security_options {
            if option.starts_with("credentialspec") {
                self.error(
                    format!("{at}.dockerSecurityOptions"),
                    format!("`{option}` is a Windows gMSA credential spec; a Linux Docker engine cannot use it"),
                );
            }
        }
        if !c.credential_specs.is_empty() {
            self.error(
                format!("{at}.credentialSpecs"),
                "gMSA credential specs need Active Directory and the ECS credentials fetcher; they cannot run locally",
            );
        }
        for (j, r) in c.resource_requirements.iter().enumerate() {
            let path = format!("{at}.resourceRequirements[{j}]");
            match r.kind {
                Some(super::model::ResourceType::Gpu) => {
                    if r.value
                        .as_deref()
                        .and_then(|v| v.parse::<u32>().ok())
                        .is_none_or(|n| n == 0)
                    {
                        self.error(
                            format!("{path}.value"),
                            "a GPU count must be a positive whole number",
                        );
                    } else {
                        self.warning(path, "GPUs are requested from Docker's `nvidia` driver; the engine needs the NVIDIA container runtime");
                    }
                }
                Some(super::model::ResourceType::InferenceAccelerator) => {
                    self.warning(
                        path,
                        "Elastic Inference accelerators do not exist locally; ignored",
                    );
                }
                None => self.error(format!("{path}.type"), "is required"),
            }
        }
        if let Some(firelens) = &c.firelens_configuration {
            if firelens.kind.is_none() {
                self.error(format!("{at}.firelensConfiguration.type"), "is required");
            }
            self.warning(
                format!("{at}.firelensConfiguration"),
                "FireLens log routing is not set up locally: this container runs as a plain container, and the logs of `awsfirelens` containers stream to the terminal",
            );
        }
        if let Some(restart) = &c.restart_policy {
            if let Some(period) = restart
                .restart_attempt_period
                .filter(|p| !(60..=1800).contains(p))
            {
                self.error(
                    format!("{at}.restartPolicy.restartAttemptPeriod"),
                    format!("{period} is outside 60..=1800 seconds"),
                );
            }
            if restart.ignored_exit_codes.len() > 50 {
                self.error(
                    format!("{at}.restartPolicy.ignoredExitCodes"),
                    "holds more than 50 exit codes",
                );
            }
        }
        for (field, value) in [
            ("startTimeout", c.start_timeout),
            ("stopTimeout", c.stop_timeout),
        ] {
            match value {
                Some(t) if t < 0 => self.error(format!("{at}.{field}"), format!("{t} is negative")),
                Some(t) if t > 120 && self.is_fargate() => {
                    self.warning(
                        format!("{at}.{field}"),
                        format!("FARGATE allows at most 120 seconds, not {t}"),
                    );
                }
                _ => {}
            }
        }
        if c.privileged == Some(true) && self.is_fargate() {
            self.warning(
                format!("{at}.privileged"),
                "FARGATE does not allow privileged containers; it applies locally",
            );
        }
    }

    fn resources(&mut self, at: &str, c: &ContainerDefinition) {
        let linux = c.linux_parameters.as_ref();
        let integers = [
            ("cpu", c.cpu),
            ("memory", c.memory),
            ("memoryReservation", c.memory_reservation),
            ("startTimeout", c.start_timeout),
            ("stopTimeout", c.stop_timeout),
            (
                "linuxParameters.sharedMemorySize",
                linux.and_then(|l| l.shared_memory_size),
            ),
            ("linuxParameters.maxSwap", linux.and_then(|l| l.max_swap)),
        ];
        for (field, value) in integers {
            if let Some(value) = value.filter(|v| *v > i64::from(i32::MAX)) {
                self.error(
                    format!("{at}.{field}"),
                    format!("{value} is larger than ECS accepts ({})", i32::MAX),
                );
            }
        }
        for (j, t) in linux
            .map(|l| l.tmpfs.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if let Some(size) = t.size.filter(|v| *v > i64::from(i32::MAX)) {
                self.error(
                    format!("{at}.linuxParameters.tmpfs[{j}].size"),
                    format!("{size} is larger than ECS accepts ({})", i32::MAX),
                );
            }
        }
        if let Some(cpu) = c.cpu.filter(|cpu| *cpu < 0) {
            self.error(format!("{at}.cpu"), format!("{cpu} is negative"));
        }
        for (field, value) in [
            ("memory", c.memory),
            ("memoryReservation", c.memory_reservation),
        ] {
            if let Some(m) = value.filter(|m| *m < MIN_MEMORY_MIB) {
                self.error(
                    format!("{at}.{field}"),
                    format!("{m} MiB is below Docker's minimum of {MIN_MEMORY_MIB} MiB"),
                );
            }
        }
        if let (Some(memory), Some(reservation)) = (c.memory, c.memory_reservation) {
            if reservation > memory {
                self.error(
                    format!("{at}.memoryReservation"),
                    format!("{reservation} MiB is above the hard limit `memory` ({memory} MiB)"),
                );
            }
        }
        let ec2 = !self.is_fargate();
        if ec2 && self.def.memory.is_none() && c.memory.is_none() && c.memory_reservation.is_none()
        {
            self.warning(
                at,
                "ECS requires `memory` or `memoryReservation` on each container when the task has no `memory`; locally it runs without a limit",
            );
        }
    }

    fn network_fields(&mut self, at: &str, c: &ContainerDefinition) {
        let mode = self.mode;
        if !c.links.is_empty() && mode != NetworkMode::Bridge {
            self.error(
                format!("{at}.links"),
                format!("links work only in bridge network mode, not `{mode}`"),
            );
        }
        if mode == NetworkMode::Bridge {
            for (j, link) in c.links.iter().enumerate() {
                let target = link.split(':').next().unwrap_or_default();
                if self.container_index(target).is_none() {
                    self.error(
                        format!("{at}.links[{j}]"),
                        format!("`{target}` is not a container of this task"),
                    );
                } else if target == c.name() {
                    self.error(
                        format!("{at}.links[{j}]"),
                        "a container cannot link to itself",
                    );
                }
            }
        }
        if mode == NetworkMode::Awsvpc {
            let unsupported = [
                ("hostname", c.hostname.is_some()),
                ("dnsServers", !c.dns_servers.is_empty()),
                ("dnsSearchDomains", !c.dns_search_domains.is_empty()),
                ("extraHosts", !c.extra_hosts.is_empty()),
            ];
            for (field, set) in unsupported {
                if set {
                    self.error(
                        format!("{at}.{field}"),
                        "is not supported in awsvpc network mode: the container shares the task's network namespace",
                    );
                }
            }
        }
        if mode == NetworkMode::Host && c.hostname.is_some() {
            self.error(
                format!("{at}.hostname"),
                "is not supported in host network mode",
            );
        }
        for (j, host) in c.extra_hosts.iter().enumerate() {
            if host.hostname.as_deref().is_none_or(str::is_empty) {
                self.error(format!("{at}.extraHosts[{j}].hostname"), "is required");
            }
            match host.ip_address.as_deref() {
                None => self.error(format!("{at}.extraHosts[{j}].ipAddress"), "is required"),
                Some(ip) if ip.parse::<std::net::IpAddr>().is_err() => self.error(
                    format!("{at}.extraHosts[{j}].ipAddress"),
                    format!("`{ip}` is not an IP address"),
                ),
                Some(_) => {}
            }
        }
    }

    fn port(&mut self, at: &str, p: &PortMapping) {
        match (p.container_port, p.container_port_range.as_deref()) {
            (None, None) => self.error(
                format!("{at}.containerPort"),
                "is required (or `containerPortRange`)",
            ),
            (Some(_), Some(_)) => {
                self.error(at, "give `containerPort` or `containerPortRange`, not both");
            }
            (Some(port), None) => {
                if !(1..=65535).contains(&port) {
                    self.error(
                        format!("{at}.containerPort"),
                        format!("{port} is not a port number (1-65535)"),
                    );
                }
            }
            (None, Some(range)) => {
                if let Err(reason) = parse_port_range(range) {
                    self.error(format!("{at}.containerPortRange"), reason);
                }
                if p.host_port.is_some() {
                    self.error(
                        format!("{at}.hostPort"),
                        "cannot be set with `containerPortRange`",
                    );
                }
            }
        }
        if let Some(host) = p.host_port {
            if !(0..=65535).contains(&host) {
                self.error(
                    format!("{at}.hostPort"),
                    format!("{host} is not a port number (0-65535)"),
                );
            } else if matches!(self.mode, NetworkMode::Awsvpc | NetworkMode::Host)
                && host != 0
                && p.container_port.is_some_and(|c| c != host)
            {
                self.error(
                    format!("{at}.hostPort"),
                    format!(
                        "{host} differs from containerPort {}; in {} mode the host port must equal the container port",
                        p.container_port.unwrap_or_default(),
                        self.mode
                    ),
                );
            }
        }
        if p.app_protocol.is_some() && p.name.is_none() {
            self.warning(
                format!("{at}.appProtocol"),
                "ECS uses `appProtocol` only on a named port mapping",
            );
        }
        if self.mode == NetworkMode::None {
            self.warning(at, "no port is published in `none` network mode");
        }
    }

    /// Ports that collide across the task: the same host port twice, or (in
    /// awsvpc and host mode, where containers share one network namespace) the
    /// same container port twice; port names must be unique.
    fn task_ports(&mut self) {
        let shared_namespace = matches!(self.mode, NetworkMode::Awsvpc | NetworkMode::Host);
        let mut host_ports = BTreeMap::new();
        let mut names = BTreeSet::new();
        for (i, c) in self.def.container_definitions.iter().enumerate() {
            for (j, p) in c.port_mappings.iter().enumerate() {
                let at = format!("containerDefinitions[{i}].portMappings[{j}]");
                let host = if shared_namespace {
                    p.container_port
                } else {
                    p.host_port.filter(|h| *h != 0)
                };
                if let Some(host) = host {
                    let protocol = p.protocol.unwrap_or_default();
                    if let Some(first) = host_ports.insert((host, protocol), at.clone()) {
                        self.error(
                            at.clone(),
                            format!(
                                "port {host}/{} is already taken by {first}",
                                protocol.as_str()
                            ),
                        );
                    }
                }
                if let Some(name) = &p.name {
                    if !names.insert(name.clone()) {
                        self.error(
                            format!("{at}.name"),
                            format!("port name `{name}` is used twice in the task"),
                        );
                    }
                }
            }
        }
    }

    fn secret(&mut self, at: &str, name: Option<&str>, value_from: Option<&str>) {
        if name.is_none_or(str::is_empty) {
            self.error(format!("{at}.name"), "is required");
        }
        match value_from {
            None => self.error(format!("{at}.valueFrom"), "is required"),
            Some(value) if looks_like_placeholder(value) => {
                self.placeholder(format!("{at}.valueFrom"), value);
            }
            Some(value) => {
                if let Err(reason) = SecretRef::parse(value) {
                    self.error(format!("{at}.valueFrom"), reason);
                }
            }
        }
    }

    /// Template text in a free-form string: the definition is a template a
    /// deploy tool fills in. It loads, but the value cannot be used as it is.
    fn placeholder(&mut self, path: String, value: &str) {
        self.warning(
            path,
            format!("`{value}` looks like an unfilled template placeholder"),
        );
    }

    fn mounts(&mut self, at: &str, c: &ContainerDefinition) {
        for (j, m) in c.mount_points.iter().enumerate() {
            let path = format!("{at}.mountPoints[{j}]");
            match m.source_volume.as_deref() {
                None | Some("") => self.error(format!("{path}.sourceVolume"), "is required"),
                Some(source) => {
                    if !self
                        .def
                        .volumes
                        .iter()
                        .any(|v| v.name.as_deref() == Some(source))
                    {
                        self.error(
                            format!("{path}.sourceVolume"),
                            format!("`{source}` is not a volume of this task (see `volumes`)"),
                        );
                    }
                }
            }
            match m.container_path.as_deref() {
                None | Some("") => self.error(format!("{path}.containerPath"), "is required"),
                Some(p) if is_windows_path(p) => self.error(
                    format!("{path}.containerPath"),
                    format!("`{p}` is a Windows path; a Linux container cannot have it"),
                ),
                Some(p) if !p.starts_with('/') => {
                    self.error(
                        format!("{path}.containerPath"),
                        format!("`{p}` is not an absolute path"),
                    );
                }
                Some(_) => {}
            }
        }
        for (j, from) in c.volumes_from.iter().enumerate() {
            let path = format!("{at}.volumesFrom[{j}].sourceContainer");
            match from.source_container.as_deref() {
                None | Some("") => self.error(path, "is required"),
                Some(source) if source == c.name() => {
                    self.error(path, "a container cannot take volumes from itself");
                }
                Some(source) if self.container_index(source).is_none() => {
                    self.error(path, format!("`{source}` is not a container of this task"));
                }
                Some(_) => {}
            }
        }
    }

    fn health_check(&mut self, at: &str, c: &ContainerDefinition) {
        let Some(h) = &c.health_check else { return };
        let at = format!("{at}.healthCheck");
        match h.command.first().map(String::as_str) {
            None => self.error(format!("{at}.command"), "is required"),
            Some("CMD" | "CMD-SHELL") if h.command.len() < 2 => {
                self.error(
                    format!("{at}.command"),
                    "names no command after `CMD`/`CMD-SHELL`",
                );
            }
            Some("CMD" | "CMD-SHELL" | "NONE") => {}
            Some(first) => self.error(
                format!("{at}.command[0]"),
                format!("`{first}` must be `CMD`, `CMD-SHELL` or `NONE`"),
            ),
        }
        let ranges = [
            ("interval", h.interval, 5, 300),
            ("timeout", h.timeout, 2, 60),
            ("retries", h.retries, 1, 10),
            ("startPeriod", h.start_period, 0, 300),
        ];
        for (field, value, min, max) in ranges {
            if let Some(value) = value.filter(|v| !(min..=max).contains(v)) {
                self.error(
                    format!("{at}.{field}"),
                    format!("{value} is outside {min}..={max}"),
                );
            }
        }
        if let (Some(timeout), Some(interval)) = (h.timeout, h.interval) {
            if timeout > interval {
                self.warning(
                    format!("{at}.timeout"),
                    format!("{timeout} s is longer than the interval ({interval} s)"),
                );
            }
        }
    }

    fn linux(&mut self, at: &str, c: &ContainerDefinition) {
        let Some(l) = &c.linux_parameters else { return };
        let at = format!("{at}.linuxParameters");
        for (j, d) in l.devices.iter().enumerate() {
            if d.host_path.as_deref().is_none_or(str::is_empty) {
                self.error(format!("{at}.devices[{j}].hostPath"), "is required");
            }
        }
        for (j, t) in l.tmpfs.iter().enumerate() {
            if t.container_path
                .as_deref()
                .is_none_or(|p| !p.starts_with('/'))
            {
                self.error(
                    format!("{at}.tmpfs[{j}].containerPath"),
                    "must be an absolute path",
                );
            }
            match t.size {
                None => self.error(format!("{at}.tmpfs[{j}].size"), "is required"),
                Some(size) if size <= 0 => self.error(
                    format!("{at}.tmpfs[{j}].size"),
                    format!("{size} MiB is not a size"),
                ),
                Some(_) => {}
            }
        }
        if let Some(size) = l.shared_memory_size.filter(|s| *s <= 0) {
            self.error(
                format!("{at}.sharedMemorySize"),
                format!("{size} MiB is not a size"),
            );
        }
        if let Some(swap) = l.max_swap.filter(|s| *s < 0) {
            self.error(format!("{at}.maxSwap"), format!("{swap} is negative"));
        }
        if let Some(swappiness) = l.swappiness.filter(|s| !(0..=100).contains(s)) {
            self.error(
                format!("{at}.swappiness"),
                format!("{swappiness} is outside 0..=100"),
            );
        }
        if self.is_fargate() && (!l.devices.is_empty() || l.max_swap.is_some()) {
            self.warning(
                at,
                "FARGATE does not support devices or swap; they apply locally",
            );
        }
    }

    fn dependencies(&mut self) {
        let def = self.def;
        for (i, c) in def.container_definitions.iter().enumerate() {
            for (j, dep) in c.depends_on.iter().enumerate() {
                let at = format!("containerDefinitions[{i}].dependsOn[{j}]");
                let Some(condition) = dep.condition else {
                    self.error(
                        format!("{at}.condition"),
                        "is required (START, COMPLETE, SUCCESS or HEALTHY)",
                    );
                    continue;
                };
                let target = match dep.container_name.as_deref() {
                    None | Some("") => {
                        self.error(format!("{at}.containerName"), "is required");
                        continue;
                    }
                    Some(name) if name == c.name() => {
                        self.error(
                            format!("{at}.containerName"),
                            "a container cannot depend on itself",
                        );
                        continue;
                    }
                    Some(name) => {
                        if let Some(t) = self.container_index(name) {
                            &def.container_definitions[t]
                        } else {
                            self.error(
                                format!("{at}.containerName"),
                                format!("`{name}` is not a container of this task"),
                            );
                            continue;
                        }
                    }
                };
                match condition {
                    DependencyCondition::Healthy if target.health_check.is_none() => self.error(
                        format!("{at}.condition"),
                        format!(
                            "HEALTHY needs a healthCheck on `{}`, which has none",
                            target.name()
                        ),
                    ),
                    DependencyCondition::Complete | DependencyCondition::Success
                        if target.is_essential() =>
                    {
                        self.error(
                            format!("{at}.condition"),
                            format!(
                                "{condition} cannot be set on an essential container: `{}` must say `\"essential\": false`",
                                target.name()
                            ),
                        );
                    }
                    _ => {}
                }
            }
        }
        if let Some(cycle) = dependency_cycle(def) {
            let names: Vec<&str> = cycle
                .iter()
                .map(|i| def.container_definitions[*i].name())
                .collect();
            self.error(
                format!("containerDefinitions[{}].dependsOn", cycle[0]),
                format!(
                    "dependsOn forms a cycle: {} -> {}",
                    names.join(" -> "),
                    names[0]
                ),
            );
        }
    }
}

/// The first cycle of start dependencies (`dependsOn`, `links`,
/// `volumesFrom`), as container indices in dependency order.
pub(crate) fn dependency_cycle(def: &TaskDefinition) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        def: &TaskDefinition,
        node: usize,
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        marks[node] = Mark::Open;
        stack.push(node);
        let container = &def.container_definitions[node];
        let explicit = container
            .depends_on
            .iter()
            .filter_map(|d| d.container_name.clone());
        for name in explicit.chain(container.implicit_dependencies()) {
            let Some(next) = def
                .container_definitions
                .iter()
                .position(|c| c.name.as_deref() == Some(name.as_str()))
            else {
                continue;
            };
            if next == node {
                continue; // reported as self-dependency
            }
            match marks[next] {
                Mark::Open => {
                    let start = stack.iter().position(|n| *n == next).unwrap_or(0);
                    return Some(stack[start..].to_vec());
                }
                Mark::New => {
                    if let Some(cycle) = visit(def, next, marks, stack) {
                        return Some(cycle);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks[node] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; def.container_definitions.len()];
    for node in 0..marks.len() {
        if marks[node] == Mark::New {
            if let Some(cycle) = visit(def, node, &mut marks, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

/// `"8000-8010"` as an inclusive range of valid ports.
pub fn parse_port_range(range: &str) -> Result<(u16, u16), String> {
    let bad = || format!("`{range}` is not a port range such as `8000-8010`");
    let (low, high) = range.split_once('-').ok_or_else(bad)?;
    let low: u16 = low.trim().parse().map_err(|_| bad())?;
    let high: u16 = high.trim().parse().map_err(|_| bad())?;
    if low == 0 || low >= high {
        return Err(bad());
    }
    Ok((low, high))
}

/// ECS names (family, container): letters, digits, `-` and `_`, at most 255.
fn is_ecs_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_windows_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    path.starts_with("\\\\")
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
}

fn is_s3_object_arn(value: &str) -> bool {
    value
        .split_once(":s3:::")
        .is_some_and(|(partition, object)| partition.starts_with("arn:aws") && object.contains('/'))
}

/// `{{image}}`, `${IMAGE}`, `$$$IMAGE$$$`, `<IMAGE_URI>`: text a template
/// engine was meant to replace.
pub(crate) fn looks_like_placeholder(value: &str) -> bool {
    value.contains("{{")
        || value.contains("${")
        || value.contains("$$")
        || (value.contains('<') && value.contains('>'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taskdef::load::load_str;

    /// Validates a definition given as JSON, returning `path: message` lines.
    fn check(json: &str) -> Vec<String> {
        let loaded = load_str(json, "t.json", "t").expect("test JSON loads");
        validate(&loaded.definition)
            .into_iter()
            .map(|d| format!("{:?} {d}", d.severity))
            .collect()
    }

    fn errors(json: &str) -> Vec<String> {
        check(json)
            .into_iter()
            .filter(|l| l.starts_with("Error"))
            .collect()
    }

    /// A definition with the given containers (a JSON array body) and extra top-level fields.
    fn task(extra: &str, containers: &str) -> String {
        format!(r#"{{"family":"app",{extra}"containerDefinitions":[{containers}]}}"#)
    }

    const WEB: &str = r#"{"name":"web","image":"busybox","memory":64}"#;

    #[test]
    fn a_minimal_task_is_clean() {
        assert_eq!(check(&task("", WEB)), Vec::<String>::new());
    }

    #[test]
    fn missing_family_containers_name_and_image() {
        assert_eq!(
            errors(r#"{"containerDefinitions":[{"memory":64}]}"#),
            [
                "Error family: is required",
                "Error containerDefinitions[0].name: is required",
                "Error containerDefinitions[0].image: is required",
            ]
        );
        assert_eq!(
            errors(r#"{"family":"f","containerDefinitions":[]}"#),
            ["Error containerDefinitions: at least one container definition is required"]
        );
    }

    #[test]
    fn bad_family_and_container_names() {
        let e = errors(
            &task("", r#"{"name":"a b","image":"i","memory":64}"#)
                .replace("\"app\"", "\"<TASK_NAME>\""),
        );
        assert!(
            e[0].starts_with("Error family: `<TASK_NAME>` may hold only"),
            "{e:?}"
        );
        assert!(
            e[1].starts_with("Error containerDefinitions[0].name: `a b` may hold only"),
            "{e:?}"
        );
    }

    #[test]
    fn duplicate_container_names() {
        assert_eq!(
            errors(&task("", &format!("{WEB},{WEB}"))),
            [
                "Error containerDefinitions[1].name: duplicate container name `web` (also containerDefinitions[0])"
            ]
        );
    }

    #[test]
    fn no_essential_container() {
        assert_eq!(
            errors(&task(
                "",
                r#"{"name":"a","image":"i","memory":64,"essential":false}"#
            )),
            ["Error containerDefinitions: no container is essential; at least one must be"]
        );
    }

    #[test]
    fn depends_on_unknown_self_and_missing_condition() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,"dependsOn":[
                {"containerName":"ghost","condition":"START"},
                {"containerName":"a","condition":"START"},
                {"containerName":"a"}]}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[0].dependsOn[0].containerName: `ghost` is not a container of this task",
                "Error containerDefinitions[0].dependsOn[1].containerName: a container cannot depend on itself",
                "Error containerDefinitions[0].dependsOn[2].condition: is required (START, COMPLETE, SUCCESS or HEALTHY)",
            ]
        );
    }

    #[test]
    fn depends_on_cycle() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,"dependsOn":[{"containerName":"b","condition":"START"}]},
               {"name":"b","image":"i","memory":64,"dependsOn":[{"containerName":"c","condition":"START"}]},
               {"name":"c","image":"i","memory":64,"dependsOn":[{"containerName":"a","condition":"START"}]}"#,
        ));
        assert_eq!(
            e,
            ["Error containerDefinitions[0].dependsOn: dependsOn forms a cycle: a -> b -> c -> a"]
        );
    }

    #[test]
    fn healthy_needs_a_health_check_and_complete_needs_a_non_essential_target() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,"dependsOn":[
                 {"containerName":"b","condition":"HEALTHY"},{"containerName":"b","condition":"SUCCESS"}]},
               {"name":"b","image":"i","memory":64}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[0].dependsOn[0].condition: HEALTHY needs a healthCheck on `b`, which has none",
                "Error containerDefinitions[0].dependsOn[1].condition: SUCCESS cannot be set on an essential container: `b` must say `\"essential\": false`",
            ]
        );
    }

    #[test]
    fn links_only_in_bridge_mode_and_to_known_containers() {
        let containers = r#"{"name":"a","image":"i","memory":64,"links":["b:db","nope"]},{"name":"b","image":"i","memory":64}"#;
        assert_eq!(
            errors(&task("", containers)),
            ["Error containerDefinitions[0].links[1]: `nope` is not a container of this task"]
        );
        assert_eq!(
            errors(&task(r#""networkMode":"awsvpc","#, containers)),
            [
                "Error containerDefinitions[0].links: links work only in bridge network mode, not `awsvpc`"
            ]
        );
    }

    #[test]
    fn host_port_must_equal_container_port_in_awsvpc_and_host() {
        let c = r#"{"name":"a","image":"i","memory":64,"portMappings":[{"containerPort":80,"hostPort":8080}]}"#;
        assert!(errors(&task("", c)).is_empty());
        for mode in ["awsvpc", "host"] {
            assert_eq!(
                errors(&task(&format!(r#""networkMode":"{mode}","#), c)),
                [format!(
                    "Error containerDefinitions[0].portMappings[0].hostPort: 8080 differs from containerPort 80; in {mode} mode the host port must equal the container port"
                )]
            );
        }
    }

    #[test]
    fn bad_ports_ranges_and_collisions() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,"portMappings":[
                {"containerPort":0},{"containerPort":70000,"hostPort":-1},{},
                {"containerPortRange":"9000-8000"},{"containerPort":1,"containerPortRange":"1-2"},
                {"containerPort":80,"hostPort":8080},{"containerPort":81,"hostPort":8080}]}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[0].portMappings[0].containerPort: 0 is not a port number (1-65535)",
                "Error containerDefinitions[0].portMappings[1].containerPort: 70000 is not a port number (1-65535)",
                "Error containerDefinitions[0].portMappings[1].hostPort: -1 is not a port number (0-65535)",
                "Error containerDefinitions[0].portMappings[2].containerPort: is required (or `containerPortRange`)",
                "Error containerDefinitions[0].portMappings[3].containerPortRange: `9000-8000` is not a port range such as `8000-8010`",
                "Error containerDefinitions[0].portMappings[4]: give `containerPort` or `containerPortRange`, not both",
                "Error containerDefinitions[0].portMappings[6]: port 8080/tcp is already taken by containerDefinitions[0].portMappings[5]",
            ]
        );
        let protocol = load_str(
            &task("", r#"{"name":"a","image":"i","portMappings":[{"containerPort":1,"protocol":"sctp"}]}"#),
            "t.json",
            "t",
        )
        .unwrap_err();
        assert!(
            protocol.problems()[0]
                .message
                .contains("unknown variant `sctp`, expected `tcp` or `udp`")
        );
    }

    #[test]
    fn awsvpc_containers_share_one_port_space() {
        let e = errors(&task(
            r#""networkMode":"awsvpc","#,
            r#"{"name":"a","image":"i","memory":64,"portMappings":[{"containerPort":80}]},
               {"name":"b","image":"i","memory":64,"portMappings":[{"containerPort":80}]}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[1].portMappings[0]: port 80/tcp is already taken by containerDefinitions[0].portMappings[0]"
            ]
        );
    }

    #[test]
    fn memory_rules() {
        let e = errors(&task(
            r#""memory":"128","#,
            r#"{"name":"a","image":"i","memory":64,"memoryReservation":100},
               {"name":"b","image":"i","memory":256},{"name":"c","image":"i","memory":4}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[1].memory: 256 MiB is more than the task's memory (128 MiB)",
                "Error containerDefinitions[0].memoryReservation: 100 MiB is above the hard limit `memory` (64 MiB)",
                "Error containerDefinitions[2].memory: 4 MiB is below Docker's minimum of 6 MiB",
            ]
        );
        let w = check(&task("", r#"{"name":"a","image":"i"}"#));
        assert!(
            w[0].starts_with(
                "Warning containerDefinitions[0]: ECS requires `memory` or `memoryReservation`"
            ),
            "{w:?}"
        );
        assert!(
            errors(&task(r#""cpu":"{{cpu}}","#, WEB))[0]
                .starts_with("Error cpu: `{{cpu}}` is not a size")
        );
    }

    #[test]
    fn mount_points_and_volumes_from_must_name_something() {
        let e = errors(&task(
            r#""volumes":[{"name":"data","host":{"sourcePath":"relative/dir"}}],"#,
            r#"{"name":"a","image":"i","memory":64,
                "mountPoints":[{"sourceVolume":"data","containerPath":"/d"},{"sourceVolume":"nope","containerPath":"d"}],
                "volumesFrom":[{"sourceContainer":"ghost"},{"sourceContainer":"a"}]}"#,
        ));
        assert_eq!(
            e,
            [
                "Error volumes[0].host.sourcePath: `relative/dir` is not an absolute path",
                "Error containerDefinitions[0].mountPoints[1].sourceVolume: `nope` is not a volume of this task (see `volumes`)",
                "Error containerDefinitions[0].mountPoints[1].containerPath: `d` is not an absolute path",
                "Error containerDefinitions[0].volumesFrom[0].sourceContainer: `ghost` is not a container of this task",
                "Error containerDefinitions[0].volumesFrom[1].sourceContainer: a container cannot take volumes from itself",
            ]
        );
    }

    #[test]
    fn malformed_secrets() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,"secrets":[
                {"name":"OK","valueFrom":"/app/db"},
                {"name":"BAD","valueFrom":"arn:aws:secretsmanager:us-east-1:1:secret:db:user"},
                {"valueFrom":"arn:aws:s3:::b/k"}]}"#,
        ));
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].starts_with(
            "Error containerDefinitions[0].secrets[1].valueFrom: `arn:aws:secretsmanager"
        ));
        assert_eq!(
            e[1],
            "Error containerDefinitions[0].secrets[2].name: is required"
        );
        assert!(e[2].contains("secrets[2].valueFrom: `arn:aws:s3:::b/k` is an ARN of `s3`"));
    }

    #[test]
    fn windows_features_are_errors() {
        let e = errors(&task(
            r#""runtimePlatform":{"operatingSystemFamily":"WINDOWS_SERVER_2019_CORE"},
               "volumes":[{"name":"p","host":{"sourcePath":"\\\\.\\pipe\\docker_engine"}},
                          {"name":"f","fsxWindowsFileServerVolumeConfiguration":{"fileSystemId":"fs-1"}}],"#,
            r#"{"name":"a","image":"i","memory":64,"dockerSecurityOptions":["credentialspec:file://x.json"],
                "credentialSpecs":["credentialspecdomainless:arn:aws:s3:::b/k"]}"#,
        ));
        assert_eq!(e.len(), 5, "{e:?}");
        assert!(
            e.iter()
                .all(|l| l.contains("Windows") || l.contains("gMSA")),
            "{e:?}"
        );
    }

    #[test]
    fn local_differences_are_warnings() {
        let w = check(&task(
            r#""networkMode":"awsvpc","inferenceAccelerators":[{"deviceName":"d","deviceType":"eia2.medium"}],
               "proxyConfiguration":{"type":"APPMESH","containerName":"envoy","properties":[]},
               "volumes":[{"name":"efs","efsVolumeConfiguration":{"fileSystemId":"fs-1"}}],"#,
            r#"{"name":"envoy","image":"i","memory":64,"firelensConfiguration":{"type":"fluentbit"},
                "resourceRequirements":[{"type":"GPU","value":"1"}]},
               {"name":"app","image":"i","memory":64,"logConfiguration":{"logDriver":"awsfirelens"}}"#,
        ));
        assert!(w.iter().all(|l| l.starts_with("Warning")), "{w:?}");
        let joined = w.join("\n");
        for expected in [
            "App Mesh",
            "Elastic Inference",
            "EFS file system `fs-1`",
            "FireLens",
            "NVIDIA",
        ] {
            assert!(
                joined.contains(expected),
                "{expected} missing from {joined}"
            );
        }
    }

    #[test]
    fn awsfirelens_needs_a_firelens_container() {
        assert_eq!(
            errors(&task(
                "",
                r#"{"name":"a","image":"i","memory":64,"logConfiguration":{"logDriver":"awsfirelens"}}"#
            )),
            [
                "Error containerDefinitions[0].logConfiguration.logDriver: `awsfirelens` needs a container with a `firelensConfiguration` in the task"
            ]
        );
    }

    #[test]
    fn health_check_ranges() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,"healthCheck":{"command":["curl","x"],"interval":1,"retries":11}}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[0].healthCheck.command[0]: `curl` must be `CMD`, `CMD-SHELL` or `NONE`",
                "Error containerDefinitions[0].healthCheck.interval: 1 is outside 5..=300",
                "Error containerDefinitions[0].healthCheck.retries: 11 is outside 1..=10",
            ]
        );
    }

    #[test]
    fn awsvpc_rejects_per_container_network_settings() {
        let e = errors(&task(
            r#""networkMode":"awsvpc","#,
            r#"{"name":"a","image":"i","memory":64,"hostname":"h","dnsServers":["1.1.1.1"],
                "extraHosts":[{"hostname":"x","ipAddress":"10.0.0.1"}]}"#,
        ));
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(
            e[0].starts_with("Error containerDefinitions[0].hostname: is not supported in awsvpc")
        );
    }

    #[test]
    fn ulimits_log_drivers_and_linux_parameters() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,
                "ulimits":[{"name":"nofile","softLimit":10,"hardLimit":5},{"name":"files","softLimit":1,"hardLimit":1}],
                "logConfiguration":{"logDriver":"cloudwatch"},
                "linuxParameters":{"tmpfs":[{"containerPath":"tmp","size":0}],"swappiness":101}}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[0].logConfiguration.logDriver: `cloudwatch` is not a log driver ECS supports (awslogs, awsfirelens, fluentd, gelf, json-file, journald, logentries, splunk, syslog)",
                "Error containerDefinitions[0].linuxParameters.tmpfs[0].containerPath: must be an absolute path",
                "Error containerDefinitions[0].linuxParameters.tmpfs[0].size: 0 MiB is not a size",
                "Error containerDefinitions[0].linuxParameters.swappiness: 101 is outside 0..=100",
                "Error containerDefinitions[0].ulimits[0].softLimit: 10 is above the hard limit 5",
                "Error containerDefinitions[0].ulimits[1].name: `files` is not a ulimit ECS supports (core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)",
            ]
        );
    }

    #[test]
    fn integers_beyond_the_api_range_are_rejected() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":9223372036854775807}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[0].memory: 9223372036854775807 is larger than ECS accepts (2147483647)"
            ]
        );
    }

    #[test]
    fn environment_files_must_be_s3_objects() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,"environmentFiles":[
                {"value":"arn:aws:s3:::bucket/app.env","type":"s3"},{"value":"./local.env","type":"s3"}]}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[0].environmentFiles[1].value: `./local.env` is not an S3 object ARN (`arn:aws:s3:::BUCKET/KEY.env`)"
            ]
        );
    }

    #[test]
    fn placeholders_in_images_are_flagged() {
        let w = check(&task("", r#"{"name":"a","image":"{{image}}","memory":64}"#));
        assert_eq!(
            w,
            [
                "Warning containerDefinitions[0].image: `{{image}}` looks like an unfilled template placeholder"
            ]
        );
    }

    #[test]
    fn dependency_cycle_finds_the_loop_only() {
        let loaded = load_str(
            &task(
                "",
                r#"{"name":"a","image":"i","dependsOn":[{"containerName":"b","condition":"START"}]},
                   {"name":"b","image":"i"}"#,
            ),
            "t",
            "t",
        )
        .unwrap();
        assert_eq!(dependency_cycle(&loaded.definition), None);
    }
}
