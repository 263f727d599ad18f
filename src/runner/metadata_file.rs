//! `--metadata-file`: the ECS container metadata file, as the agent writes
//! it with `ECS_ENABLE_CONTAINER_METADATA`. At creation it holds the task's
//! fields and no status; once the container runs, the engine's view of it
//! (id, image, ports, networks) and `"MetadataFileStatus": "READY"`. The
//! fields keep the agent's order and its tab indentation; the host fields
//! ECS fills from the instance (container instance ARN, availability zone,
//! host addresses) are left out, as the agent omits what it does not know.

use bollard::models::ContainerInspectResponse;
use serde::Serialize;

use crate::docker::{DockerError, Engine};
use crate::plan::{ContainerPlan, Plan};
use crate::taskdef::model::NetworkMode;

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct FileBody {
    cluster: String,
    #[serde(rename = "TaskARN")]
    task_arn: String,
    task_definition_family: String,
    task_definition_revision: String,
    #[serde(rename = "ContainerID", skip_serializing_if = "String::is_empty")]
    container_id: String,
    container_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    docker_container_name: String,
    #[serde(rename = "ImageID", skip_serializing_if = "String::is_empty")]
    image_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    image_name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    port_mappings: Vec<PortMapping>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    networks: Vec<Network>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata_file_status: Option<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PortMapping {
    container_port: u16,
    host_port: u16,
    bind_ip: String,
    protocol: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Network {
    network_mode: String,
    #[serde(rename = "IPv4Addresses")]
    ipv4_addresses: Vec<String>,
}

impl FileBody {
    fn initial(plan: &Plan, c: &ContainerPlan) -> FileBody {
        FileBody {
            cluster: plan.task.cluster.clone(),
            task_arn: plan.task.task_arn.clone(),
            task_definition_family: plan.task.family.clone(),
            task_definition_revision: plan.task.revision.to_string(),
            container_id: String::new(),
            container_name: c.name.clone(),
            docker_container_name: String::new(),
            image_id: String::new(),
            image_name: String::new(),
            port_mappings: Vec::new(),
            networks: Vec::new(),
            metadata_file_status: None,
        }
    }

    /// The file once the container runs: `inspect` is the container's,
    /// `holder` the one holding its network (the pause container in awsvpc).
    fn ready(
        plan: &Plan,
        c: &ContainerPlan,
        inspect: &ContainerInspectResponse,
        holder: &ContainerInspectResponse,
    ) -> FileBody {
        let settings = holder.network_settings.as_ref();
        let mut port_mappings = Vec::new();
        for (port, bindings) in settings
            .and_then(|s| s.ports.as_ref())
            .into_iter()
            .flatten()
        {
            let (number, protocol) = port.split_once('/').unwrap_or((port, "tcp"));
            let Ok(container_port) = number.parse() else {
                continue;
            };
            // IPv4 bindings, as the agent reports them.
            for binding in bindings
                .iter()
                .flatten()
                .filter(|b| !b.host_ip.as_deref().unwrap_or_default().contains(':'))
            {
                port_mappings.push(PortMapping {
                    container_port,
                    host_port: binding
                        .host_port
                        .as_deref()
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0),
                    // Podman leaves the address of every interface empty.
                    bind_ip: binding
                        .host_ip
                        .clone()
                        .filter(|ip| !ip.is_empty())
                        .unwrap_or_else(|| "0.0.0.0".into()),
                    protocol: protocol.to_owned(),
                });
            }
        }
        port_mappings.sort_by_key(|p| (p.container_port, p.host_port));
        let mode = plan.task.network_mode;
        let networks = match mode {
            NetworkMode::Host | NetworkMode::None => vec![Network {
                network_mode: mode.to_string(),
                ipv4_addresses: Vec::new(),
            }],
            NetworkMode::Bridge | NetworkMode::Awsvpc => settings
                .and_then(|s| s.networks.as_ref())
                .into_iter()
                .flatten()
                .map(|(_, endpoint)| Network {
                    network_mode: mode.to_string(),
                    ipv4_addresses: endpoint.ip_address.iter().cloned().collect(),
                })
                .collect(),
        };
        FileBody {
            container_id: inspect.id.clone().unwrap_or_default(),
            docker_container_name: inspect.name.clone().unwrap_or_default(),
            image_id: inspect.image.clone().unwrap_or_default(),
            image_name: c.image.clone(),
            port_mappings,
            networks,
            metadata_file_status: Some("READY"),
            ..FileBody::initial(plan, c)
        }
    }

    /// As the agent writes it: indented with tabs.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
        self.serialize(&mut serializer)
            .expect("the metadata file serializes");
        out
    }
}

/// Writes the file as it is at creation, before the container starts.
pub(super) async fn write_initial(
    engine: &Engine,
    plan: &Plan,
    c: &ContainerPlan,
    id: &str,
) -> Result<(), DockerError> {
    let Some(path) = &c.metadata_file else {
        return Ok(());
    };
    let file = FileBody::initial(plan, c);
    engine.put_file_in(id, path, &file.to_bytes(), 0o644).await
}

/// Writes the file once the container runs, with `READY`.
pub(super) async fn write_ready(
    engine: &Engine,
    plan: &Plan,
    c: &ContainerPlan,
    id: &str,
) -> Result<(), DockerError> {
    let Some(path) = &c.metadata_file else {
        return Ok(());
    };
    let inspect = engine.inspect_raw(id).await?;
    let holder = match (&plan.pause, plan.task.network_mode) {
        (Some(pause), NetworkMode::Awsvpc) => engine.inspect_raw(&pause.docker_name).await?,
        _ => inspect.clone(),
    };
    let file = FileBody::ready(plan, c, &inspect, &holder);
    engine.put_file_in(id, path, &file.to_bytes(), 0o644).await
}
