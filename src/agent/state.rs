//! The agent's memory: registered tasks with the live state of their
//! containers, indexed by endpoint id, Docker id, container IP and
//! credentials id, so that answering a request never calls Docker.
//!
//! The CLI registers a task (what only the definition knows); the Docker
//! watcher feeds [`Observed`] container states (what only the engine knows).
//! Every change takes the time it happened as a parameter.

use std::collections::{BTreeMap, HashMap};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum, HealthStatusEnum};

use crate::plan::labels;
use crate::protocol::task_id;
use crate::protocol::wire::{Time, parse_time};
use crate::protocol::{Credentials, TaskRegistration};

/// The agent's longest health-check output (`maxHealthCheckOutputLength`).
const MAX_HEALTH_OUTPUT: usize = 1024;

/// A container's known status, in the agent's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ContainerStatus {
    Pulled,
    Created,
    Running,
    Stopped,
}

impl ContainerStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerStatus::Pulled => "PULLED",
            ContainerStatus::Created => "CREATED",
            ContainerStatus::Running => "RUNNING",
            ContainerStatus::Stopped => "STOPPED",
        }
    }
}

/// Docker's health, as the agent names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthState {
    Unknown,
    Healthy,
    Unhealthy,
}

/// A container's health as the metadata reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub status: HealthState,
    /// When the status last changed, by the agent's clock.
    pub since: Option<Time>,
    /// The last check's exit code, kept from the last time it was unhealthy.
    pub exit_code: i64,
    pub output: String,
}

/// One network a container is attached to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attachment {
    /// The Docker network's name (`ecs-run-local`, `host`, `none`).
    pub network: String,
    pub ipv4: String,
    pub ipv6: String,
    pub mac: String,
}

/// A published port.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub container_port: u16,
    pub protocol: String,
    pub host_port: u16,
    pub host_ip: String,
}

/// A mount, as the metadata's `Volumes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    pub name: String,
    pub source: String,
    pub destination: String,
}

/// What the engine says of a container: its ids, state, times and network.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspected {
    pub docker_id: String,
    pub docker_name: String,
    pub image_id: String,
    pub status: ContainerStatus,
    pub exit_code: Option<i64>,
    pub created_at: Option<Time>,
    pub started_at: Option<Time>,
    pub finished_at: Option<Time>,
    pub attachments: Vec<Attachment>,
    pub bindings: Vec<Binding>,
    pub mounts: Vec<Mount>,
}

impl Inspected {
    /// A container not created yet: its image pulled, its name known.
    fn pulled(docker_name: &str) -> Inspected {
        Inspected {
            docker_id: String::new(),
            docker_name: docker_name.to_owned(),
            image_id: String::new(),
            status: ContainerStatus::Pulled,
            exit_code: None,
            created_at: None,
            started_at: None,
            finished_at: None,
            attachments: Vec::new(),
            bindings: Vec::new(),
            mounts: Vec::new(),
        }
    }

    /// The IPv4 addresses this container holds.
    fn addresses(&self) -> impl Iterator<Item = &str> {
        self.attachments
            .iter()
            .map(|a| a.ipv4.as_str())
            .filter(|ip| !ip.is_empty())
    }
}

/// What one `docker inspect` says about a container of a task.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub task_arn: String,
    pub container_name: String,
    pub inspected: Inspected,
    /// Docker's health status with the last check's exit code and output.
    pub health: Option<(HealthState, i64, String)>,
}

impl Observed {
    /// Reads an inspect response; `None` for a container that is not a task's.
    #[expect(
        clippy::too_many_lines,
        reason = "one field of the agent's container state after another, as `docker inspect` gives them"
    )]
    pub fn from_inspect(inspect: &ContainerInspectResponse) -> Option<Observed> {
        let config_labels = inspect.config.as_ref()?.labels.as_ref()?;
        let task_arn = config_labels.get(labels::TASK_ARN)?.clone();
        let container_name = config_labels.get(labels::CONTAINER_NAME)?.clone();
        let state = inspect.state.as_ref();
        let status = match state.and_then(|s| s.status) {
            Some(ContainerStateStatusEnum::CREATED) | None => ContainerStatus::Created,
            Some(
                ContainerStateStatusEnum::RUNNING
                | ContainerStateStatusEnum::PAUSED
                | ContainerStateStatusEnum::RESTARTING,
            ) => ContainerStatus::Running,
            Some(_) => ContainerStatus::Stopped,
        };
        let health = state.and_then(|s| s.health.as_ref()).map(|h| {
            let last = h.log.as_ref().and_then(|log| log.last());
            let status = match h.status {
                Some(HealthStatusEnum::HEALTHY) => HealthState::Healthy,
                Some(HealthStatusEnum::UNHEALTHY) => HealthState::Unhealthy,
                _ => HealthState::Unknown,
            };
            let mut output = last.and_then(|l| l.output.clone()).unwrap_or_default();
            if output.len() > MAX_HEALTH_OUTPUT {
                let mut end = MAX_HEALTH_OUTPUT;
                while !output.is_char_boundary(end) {
                    end -= 1;
                }
                output.truncate(end);
            }
            (status, last.and_then(|l| l.exit_code).unwrap_or(0), output)
        });
        let network_settings = inspect.network_settings.as_ref();
        let mut attachments: Vec<Attachment> = network_settings
            .and_then(|n| n.networks.as_ref())
            .into_iter()
            .flatten()
            .map(|(name, endpoint)| Attachment {
                network: name.clone(),
                ipv4: endpoint.ip_address.clone().unwrap_or_default(),
                ipv6: endpoint.global_ipv6_address.clone().unwrap_or_default(),
                mac: endpoint.mac_address.clone().unwrap_or_default(),
            })
            .collect();
        attachments.sort_by(|a, b| a.network.cmp(&b.network));
        let mut bindings = Vec::new();
        for (key, hosts) in network_settings
            .and_then(|n| n.ports.as_ref())
            .into_iter()
            .flatten()
        {
            let (port, protocol) = key.split_once('/').unwrap_or((key, "tcp"));
            let Ok(container_port) = port.parse::<u16>() else {
                continue;
            };
            for host in hosts.iter().flatten() {
                bindings.push(Binding {
                    container_port,
                    protocol: protocol.to_owned(),
                    host_port: host
                        .host_port
                        .as_deref()
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0),
                    host_ip: host.host_ip.clone().unwrap_or_default(),
                });
            }
        }
        bindings.sort_by(|a, b| {
            (a.container_port, &a.protocol, &a.host_ip).cmp(&(
                b.container_port,
                &b.protocol,
                &b.host_ip,
            ))
        });
        let mounts = inspect
            .mounts
            .iter()
            .flatten()
            .map(|m| Mount {
                name: m.name.clone().unwrap_or_default(),
                source: m.source.clone().unwrap_or_default(),
                destination: m.destination.clone().unwrap_or_default(),
            })
            .collect();
        let inspected = Inspected {
            docker_id: inspect.id.clone().unwrap_or_default(),
            docker_name: inspect
                .name
                .as_deref()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_owned(),
            image_id: inspect.image.clone().unwrap_or_default(),
            status,
            exit_code: (status == ContainerStatus::Stopped)
                .then(|| state.and_then(|s| s.exit_code))
                .flatten(),
            created_at: inspect.created.as_deref().and_then(parse_time),
            started_at: state
                .and_then(|s| s.started_at.as_deref())
                .and_then(parse_time),
            finished_at: state
                .and_then(|s| s.finished_at.as_deref())
                .and_then(parse_time)
                .filter(|_| status == ContainerStatus::Stopped),
            attachments,
            bindings,
            mounts,
        };
        Some(Observed {
            task_arn,
            container_name,
            inspected,
            health,
        })
    }
}

/// A registered container's live state.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    pub inspected: Inspected,
    pub health: Option<Health>,
    pub restart_count: i64,
    /// Docker removed it.
    pub removed: bool,
}

impl Live {
    fn new(docker_name: &str) -> Live {
        Live {
            inspected: Inspected::pulled(docker_name),
            health: None,
            restart_count: 0,
            removed: false,
        }
    }
}

/// Task scale-in protection, kept locally.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Protection {
    pub enabled: bool,
    pub expires: Option<Time>,
}

/// A registered task and what the engine says of its containers.
#[derive(Debug, Clone)]
pub struct TaskEntry {
    pub registration: TaskRegistration,
    /// Parallel to `registration.containers`.
    pub live: Vec<Live>,
    pub desired_stopped: bool,
    pub execution_stopped_at: Option<Time>,
    pub protection: Option<Protection>,
}

impl TaskEntry {
    #[must_use]
    pub fn id(&self) -> &str {
        task_id(&self.registration.task_arn)
    }

    /// The link-layer address the engine gave this task's container that
    /// holds `ip` on the network (empty when the engine records none).
    #[must_use]
    pub fn recorded_mac(&self, ip: &str) -> Option<&str> {
        self.live
            .iter()
            .flat_map(|l| &l.inspected.attachments)
            .find(|a| a.ipv4 == ip)
            .map(|a| a.mac.as_str())
    }

    /// The task's known status: the least advanced of its containers'.
    #[must_use]
    pub fn known_status(&self) -> &'static str {
        let least = self.live.iter().map(|l| l.inspected.status).min();
        match least {
            Some(ContainerStatus::Stopped) => "STOPPED",
            Some(ContainerStatus::Running) => "RUNNING",
            Some(ContainerStatus::Created) => "CREATED",
            _ if self
                .live
                .iter()
                .any(|l| l.inspected.status == ContainerStatus::Stopped) =>
            {
                // A container stopped before the others were created.
                "STOPPED"
            }
            _ => "NONE",
        }
    }

    #[must_use]
    pub fn desired_status(&self) -> &'static str {
        if self.desired_stopped {
            "STOPPED"
        } else {
            "RUNNING"
        }
    }

    /// A container's desired status: it follows the task, and a stopped
    /// container is desired stopped, as the agent records it.
    #[must_use]
    pub fn container_desired_status(&self, index: usize) -> &'static str {
        if self.desired_stopped || self.live[index].inspected.status == ContainerStatus::Stopped {
            "STOPPED"
        } else {
            "RUNNING"
        }
    }

    /// The index of the container named `name`.
    #[must_use]
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.registration
            .containers
            .iter()
            .position(|c| c.name == name)
    }

    /// The pause container of an awsvpc task.
    #[must_use]
    pub fn pause(&self) -> Option<usize> {
        self.registration
            .containers
            .iter()
            .position(|c| c.kind == "CNI_PAUSE")
    }

    #[must_use]
    pub fn is_awsvpc(&self) -> bool {
        self.registration.network_mode == "awsvpc"
    }

    /// Whether a container has run: created once and now all gone.
    fn all_removed(&self) -> bool {
        self.live.iter().any(|l| !l.inspected.docker_id.is_empty())
            && self
                .live
                .iter()
                .all(|l| l.removed || l.inspected.docker_id.is_empty())
    }
}

/// A credentials id's slot: empty until the CLI pushes credentials.
#[derive(Debug, Clone)]
pub struct CredentialSlot {
    pub task_id: String,
    pub role_arn: Option<String>,
    pub authorization_token: Option<String>,
    pub credentials: Option<Credentials>,
}

#[derive(Debug, Default)]
pub struct Registry {
    /// By task id.
    pub tasks: HashMap<String, TaskEntry>,
    /// Endpoint id → (task id, container index).
    pub endpoints: HashMap<String, (String, usize)>,
    /// Docker id → (task id, container index).
    pub docker_ids: HashMap<String, (String, usize)>,
    /// Container IPv4 address → task id (the caller of v2 routes).
    pub addresses: HashMap<String, String>,
    pub credentials: HashMap<String, CredentialSlot>,
}

/// Why a registration was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegisterError {
    #[error("endpoint id `{0}` belongs to another task")]
    EndpointTaken(String),
    #[error("credentials id `{0}` belongs to another task")]
    CredentialsTaken(String),
    #[error("task ARN `{0}` has no task id")]
    BadArn(String),
}

/// The shared, locked registry.
#[derive(Debug, Default)]
pub struct State {
    inner: RwLock<Registry>,
}

impl State {
    pub fn read(&self) -> RwLockReadGuard<'_, Registry> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Registry> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a task, replacing an earlier registration of the same id.
    pub fn register(&self, registration: TaskRegistration) -> Result<(), RegisterError> {
        let id = task_id(&registration.task_arn).to_owned();
        if id.is_empty() {
            return Err(RegisterError::BadArn(registration.task_arn));
        }
        let mut registry = self.write();
        for c in &registration.containers {
            if let Some(endpoint) = &c.endpoint_id {
                if registry
                    .endpoints
                    .get(endpoint)
                    .is_some_and(|(t, _)| *t != id)
                {
                    return Err(RegisterError::EndpointTaken(endpoint.clone()));
                }
            }
        }
        if let Some(credentials_id) = &registration.credentials_id {
            if registry
                .credentials
                .get(credentials_id)
                .is_some_and(|slot| slot.task_id != id)
            {
                return Err(RegisterError::CredentialsTaken(credentials_id.clone()));
            }
        }
        registry.remove_task(&id);
        for (index, c) in registration.containers.iter().enumerate() {
            if let Some(endpoint) = &c.endpoint_id {
                registry
                    .endpoints
                    .insert(endpoint.clone(), (id.clone(), index));
            }
        }
        if let Some(credentials_id) = &registration.credentials_id {
            registry.credentials.insert(
                credentials_id.clone(),
                CredentialSlot {
                    task_id: id.clone(),
                    role_arn: registration.role_arn.clone(),
                    authorization_token: registration.authorization_token.clone(),
                    credentials: None,
                },
            );
        }
        let live = registration
            .containers
            .iter()
            .map(|c| Live::new(&c.docker_name))
            .collect();
        registry.tasks.insert(
            id,
            TaskEntry {
                registration,
                live,
                desired_stopped: false,
                execution_stopped_at: None,
                protection: None,
            },
        );
        Ok(())
    }

    /// Forgets a task and every index entry that points at it.
    pub fn deregister(&self, id: &str) -> bool {
        self.write().remove_task(id)
    }

    /// The CLI is stopping the task.
    pub fn stop(&self, id: &str) -> bool {
        let mut registry = self.write();
        match registry.tasks.get_mut(id) {
            Some(task) => {
                task.desired_stopped = true;
                true
            }
            None => false,
        }
    }

    /// Stores credentials for a registered credentials id.
    pub fn push_credentials(&self, id: &str, credentials: Credentials) -> bool {
        match self.write().credentials.get_mut(id) {
            Some(slot) => {
                slot.credentials = Some(credentials);
                true
            }
            None => false,
        }
    }

    /// Applies what the engine says of a container at `now`. Returns whether
    /// the container belongs to a registered task.
    pub fn observe(&self, observed: Observed, now: Time) -> bool {
        let mut registry = self.write();
        let registry = &mut *registry;
        let id = task_id(&observed.task_arn).to_owned();
        let Some(task) = registry.tasks.get_mut(&id) else {
            return false;
        };
        if task.registration.task_arn != observed.task_arn {
            return false;
        }
        let Some(index) = task.index_of(&observed.container_name) else {
            return false;
        };
        let has_health_check = task.registration.containers[index].has_health_check;
        let live = &mut task.live[index];
        for ip in live.inspected.addresses() {
            if registry.addresses.get(ip) == Some(&id) {
                registry.addresses.remove(ip);
            }
        }
        let (was, now_is) = (&live.inspected, &observed.inspected);
        if was.docker_id != now_is.docker_id && !was.docker_id.is_empty() {
            registry.docker_ids.remove(&was.docker_id);
        }
        // A restart: running again after a stop, or running since a later
        // start (the stop may have come and gone between two inspects).
        let started_again = was.status == ContainerStatus::Running
            && was.started_at.is_some()
            && now_is.started_at.is_some()
            && was.started_at != now_is.started_at
            && was.docker_id == now_is.docker_id;
        if now_is.status == ContainerStatus::Running
            && (was.status == ContainerStatus::Stopped || started_again)
        {
            live.restart_count += 1;
        }
        live.inspected = observed.inspected;
        live.removed = false;
        if has_health_check {
            let (status, exit_code, output) =
                observed
                    .health
                    .unwrap_or((HealthState::Unknown, 0, String::new()));
            let health = live.health.get_or_insert(Health {
                status: HealthState::Unknown,
                since: None,
                exit_code: 0,
                output: String::new(),
            });
            if health.status != status || health.since.is_none() {
                health.status = status;
                health.since = Some(now);
                health.output = output;
                if status == HealthState::Unhealthy {
                    health.exit_code = exit_code;
                }
            }
        }
        registry
            .docker_ids
            .insert(live.inspected.docker_id.clone(), (id.clone(), index));
        if live.inspected.status == ContainerStatus::Running {
            for ip in live.inspected.addresses() {
                registry.addresses.insert(ip.to_owned(), id.clone());
            }
        }
        if task.known_status() == "STOPPED" && task.execution_stopped_at.is_none() {
            task.execution_stopped_at = Some(now);
        }
        true
    }

    /// Docker removed a container. A task whose containers are all gone
    /// (its CLI was killed and `down` cleaned up) is forgotten.
    pub fn removed(&self, docker_id: &str) {
        let mut registry = self.write();
        let Some((id, index)) = registry.docker_ids.get(docker_id).cloned() else {
            return;
        };
        let Some(task) = registry.tasks.get_mut(&id) else {
            return;
        };
        task.live[index].removed = true;
        task.live[index].inspected.status = ContainerStatus::Stopped;
        if task.all_removed() {
            registry.remove_task(&id);
        }
    }

    /// Sets or clears scale-in protection.
    pub fn protect(&self, id: &str, protection: Protection) -> bool {
        match self.write().tasks.get_mut(id) {
            Some(task) => {
                task.protection = Some(protection);
                true
            }
            None => false,
        }
    }
}

impl Registry {
    fn remove_task(&mut self, id: &str) -> bool {
        let Some(task) = self.tasks.remove(id) else {
            return false;
        };
        self.endpoints.retain(|_, (t, _)| t != id);
        self.docker_ids.retain(|_, (t, _)| t != id);
        self.addresses.retain(|_, t| t != id);
        self.credentials.retain(|_, slot| slot.task_id != id);
        drop(task);
        true
    }

    /// The task and container behind an endpoint id.
    #[must_use]
    pub fn endpoint(&self, endpoint_id: &str) -> Option<(&TaskEntry, usize)> {
        let (id, index) = self.endpoints.get(endpoint_id)?;
        Some((self.tasks.get(id)?, *index))
    }

    /// The task whose container holds `ip`.
    #[must_use]
    pub fn task_at(&self, ip: &str) -> Option<&TaskEntry> {
        self.tasks.get(self.addresses.get(ip)?)
    }

    /// Whether `mac` is the link-layer address the engine gave a registered
    /// container.
    #[must_use]
    pub fn is_container_mac(&self, mac: &str) -> bool {
        self.tasks
            .values()
            .flat_map(|t| &t.live)
            .flat_map(|l| &l.inspected.attachments)
            .any(|a| !a.mac.is_empty() && a.mac.eq_ignore_ascii_case(mac))
    }

    /// A running container that may rewrite its network link, as
    /// `(family, container)`.
    #[must_use]
    pub fn link_rewriter(&self) -> Option<(&str, &str)> {
        self.tasks.values().find_map(|t| {
            t.registration
                .containers
                .iter()
                .zip(&t.live)
                .find(|(c, l)| c.may_rewrite_link && l.inspected.status == ContainerStatus::Running)
                .map(|(c, _)| (t.registration.family.as_str(), c.name.as_str()))
        })
    }

    /// Whether a registered container holds, or held, the address `ip`.
    #[must_use]
    pub fn is_container_address(&self, ip: &str) -> bool {
        self.addresses.contains_key(ip)
            || self
                .tasks
                .values()
                .flat_map(|t| &t.live)
                .any(|l| l.inspected.addresses().any(|a| a == ip))
    }

    /// The task and container of a Docker id.
    #[must_use]
    pub fn container(&self, docker_id: &str) -> Option<(&TaskEntry, usize)> {
        let (id, index) = self.docker_ids.get(docker_id)?;
        Some((self.tasks.get(id)?, *index))
    }

    /// Tasks in registration-independent, stable order.
    #[must_use]
    pub fn tasks_sorted(&self) -> Vec<&TaskEntry> {
        let sorted: BTreeMap<&str, &TaskEntry> =
            self.tasks.iter().map(|(k, v)| (k.as_str(), v)).collect();
        sorted.into_values().collect()
    }

    /// How many containers are registered, for the health answer.
    #[must_use]
    pub fn container_count(&self) -> usize {
        self.tasks.values().map(|t| t.live.len()).sum()
    }
}
