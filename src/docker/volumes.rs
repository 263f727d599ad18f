//! Volumes: whether one exists, creating, removing, and listing them by
//! label for teardown.

use std::collections::HashMap;

use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::{ListVolumesOptionsBuilder, RemoveVolumeOptionsBuilder};

use super::{DockerError, Engine, label_filter, status_of, tolerate};

/// A volume found by label.
#[derive(Debug, Clone)]
pub struct VolumeSummary {
    /// Docker's name of the volume, to remove it by.
    pub name: String,
    /// Its labels, which say which run and task made it.
    pub labels: HashMap<String, String>,
}

impl Engine {
    /// Whether a volume named `name` exists, so that a task's volumes are
    /// created once and an existing one is reused.
    pub async fn volume_exists(&self, name: &str) -> Result<bool, DockerError> {
        match self
            .call("GET /volumes/{name}", self.docker.inspect_volume(name))
            .await?
        {
            Ok(_) => Ok(true),
            Err(e) if status_of(&e) == Some(404) => Ok(false),
            Err(e) => Err(DockerError::api(format!("cannot inspect volume `{name}`"))(
                e,
            )),
        }
    }

    /// Where a volume's data lives on the engine's host: what the engine's
    /// own daemon (its log drivers, say) reaches it by.
    pub async fn volume_mountpoint(&self, name: &str) -> Result<String, DockerError> {
        self.call("GET /volumes/{name}", self.docker.inspect_volume(name))
            .await?
            .map(|v| v.mountpoint)
            .map_err(DockerError::api(format!("cannot inspect volume `{name}`")))
    }

    /// Creates a volume as `request` describes it (name, driver, labels).
    pub async fn create_volume(&self, request: VolumeCreateRequest) -> Result<(), DockerError> {
        let name = request.name.clone().unwrap_or_default();
        self.call("POST /volumes/create", self.docker.create_volume(request))
            .await?
            .map(drop)
            .map_err(DockerError::api(format!("cannot create volume `{name}`")))
    }

    /// Removes a volume for teardown; one already gone is not an error.
    pub async fn remove_volume(&self, name: &str) -> Result<(), DockerError> {
        let options = RemoveVolumeOptionsBuilder::default().force(true).build();
        let result = self
            .call(
                "DELETE /volumes/{name}",
                self.docker.remove_volume(name, Some(options)),
            )
            .await?;
        tolerate(result, &[404], || format!("cannot remove volume `{name}`"))
    }

    /// Volumes carrying all of `labels` (`key=value`), with their labels.
    pub async fn volumes_labelled(
        &self,
        labels: &[String],
    ) -> Result<Vec<VolumeSummary>, DockerError> {
        let options = ListVolumesOptionsBuilder::default()
            .filters(&label_filter(labels))
            .build();
        let list = self
            .call("GET /volumes", self.docker.list_volumes(Some(options)))
            .await?
            .map_err(DockerError::api("cannot list volumes"))?;
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| VolumeSummary {
                name: v.name,
                labels: v.labels,
            })
            .collect())
    }
}
