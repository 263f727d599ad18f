//! Exec: running a command in a running container, as `docker exec` does
//! (the checks of `smoke --exec`).

use futures_util::StreamExt;

use super::{DockerError, Engine};

impl Engine {
    /// Runs `command` in a running container, as `docker exec` does, and
    /// returns its exit code and its output (stdout and stderr together).
    pub async fn exec(&self, id: &str, command: &[String]) -> Result<(i64, String), DockerError> {
        use bollard::exec::{CreateExecOptions, StartExecResults};
        let what = || format!("cannot run `{}` in `{id}`", command.join(" "));
        let created = self
            .docker
            .create_exec(
                id,
                CreateExecOptions {
                    cmd: Some(command.to_vec()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(DockerError::api(what()))?;
        let mut text = Vec::new();
        if let StartExecResults::Attached { mut output, .. } = self
            .docker
            .start_exec(&created.id, None)
            .await
            .map_err(DockerError::api(what()))?
        {
            while let Some(chunk) = output.next().await {
                let chunk = chunk.map_err(DockerError::api(what()))?;
                text.extend_from_slice(&chunk.into_bytes());
            }
        }
        let inspected = self
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(DockerError::api(what()))?;
        Ok((
            inspected.exit_code.unwrap_or(-1),
            String::from_utf8_lossy(&text).into_owned(),
        ))
    }
}
