//! Volumes and what refers to them: the task's `volumes`, each container's
//! `mountPoints` and `volumesFrom`.

use std::collections::BTreeMap;

use super::{Validator, is_windows_path};
use crate::taskdef::model::{ContainerDefinition, Volume, VolumeScope};

impl Validator<'_> {
    pub(super) fn volumes(&mut self) {
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

    pub(super) fn mounts(&mut self, at: &str, c: &ContainerDefinition) {
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
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{errors, task};

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
}
