//! Networks: finding one by name with its subnets, creating and removing
//! one (the runner's shared network).

use std::collections::HashMap;

use bollard::models::NetworkCreateRequest;
use bollard::query_parameters::ListNetworksOptionsBuilder;

use super::{DockerError, Engine, tolerate};

impl Engine {
    /// The subnets of a network, or `None` when it does not exist.
    pub async fn network_subnets(&self, name: &str) -> Result<Option<Vec<String>>, DockerError> {
        let options = ListNetworksOptionsBuilder::default()
            .filters(&HashMap::from([("name", vec![name])]))
            .build();
        let networks = self
            .call("GET /networks", self.docker.list_networks(Some(options)))
            .await?
            .map_err(DockerError::api("cannot list networks"))?;
        Ok(networks
            .into_iter()
            .find(|n| n.name.as_deref() == Some(name))
            .map(|n| {
                n.ipam
                    .and_then(|i| i.config)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|c| c.subnet)
                    .collect()
            }))
    }

    /// Creates a network as `request` describes it; one that already exists
    /// is an error ([`DockerError::is_conflict`]), so the caller decides
    /// whether the existing one will do. On Podman it is created through
    /// libpod's API, whose lease range can leave the subnet's broadcast
    /// address out (see `libpod::create_network`).
    pub async fn create_network(&self, request: &NetworkCreateRequest) -> Result<(), DockerError> {
        if self.podman
            && let Some(created) = self.create_libpod_network(request).await
        {
            return created;
        }
        self.call(
            "POST /networks/create",
            self.docker.create_network(request.clone()),
        )
        .await?
        .map(drop)
        .map_err(DockerError::api(format!(
            "cannot create network `{}`",
            request.name
        )))
    }

    /// Removes a network for teardown; one already gone is not an error.
    pub async fn remove_network(&self, name: &str) -> Result<(), DockerError> {
        let result = self
            .call("DELETE /networks/{name}", self.docker.remove_network(name))
            .await?;
        tolerate(result, &[404], || format!("cannot remove network `{name}`"))
    }
}
