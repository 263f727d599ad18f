//! Exec: running a command in a running container, as `docker exec` does:
//! captured (the checks of `smoke --exec`) or attached to this process's
//! terminal (`ecs-run-local exec`).

use bollard::container::LogOutput;
use futures_util::StreamExt;

use super::{DockerError, Engine};

/// The requests of an exec, as errors name them.
const START: &str = "POST /exec/{id}/start";
const INSPECT: &str = "GET /exec/{id}/json";

impl Engine {
    /// Runs `command` in a running container, as `docker exec` does, and
    /// returns its exit code and its output (stdout and stderr together).
    pub async fn exec(&self, id: &str, command: &[String]) -> Result<(i64, String), DockerError> {
        use bollard::exec::StartExecResults;
        let what = || format!("cannot run `{}` in `{id}`", command.join(" "));
        let created = self
            .create_exec(id, command, ExecTerminal::NONE, false, what())
            .await?;
        let mut text = Vec::new();
        if let StartExecResults::Attached { mut output, .. } = self
            .call(START, self.docker.start_exec(&created, None))
            .await?
            .map_err(DockerError::api(what()))?
        {
            while let Some(chunk) = output.next().await {
                let chunk = chunk.map_err(Engine::stream_error(START, what()))?;
                text.extend_from_slice(&chunk.into_bytes());
            }
        }
        let exit_code = self.exec_exit_code(&created, what()).await?;
        Ok((exit_code, String::from_utf8_lossy(&text).into_owned()))
    }

    /// Creates an exec of `command` with its output attached (its input too
    /// with `stdin`); its id. `what` is the context of a failure.
    async fn create_exec(
        &self,
        id: &str,
        command: &[String],
        terminal: ExecTerminal,
        stdin: bool,
        what: String,
    ) -> Result<String, DockerError> {
        let options = bollard::exec::CreateExecOptions {
            cmd: Some(command.to_vec()),
            attach_stdin: stdin.then_some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: terminal.tty.then_some(true),
            ..Default::default()
        };
        let created = self
            .call(
                "POST /containers/{id}/exec",
                self.docker.create_exec(id, options),
            )
            .await?
            .map_err(DockerError::api(what))?;
        Ok(created.id)
    }

    /// An exec's exit code, once it has ended (-1 when the engine has none).
    async fn exec_exit_code(&self, exec: &str, what: String) -> Result<i64, DockerError> {
        let inspected = self
            .call(INSPECT, self.docker.inspect_exec(exec))
            .await?
            .map_err(DockerError::api(what))?;
        Ok(inspected.exit_code.unwrap_or(-1))
    }
}

/// A command's terminal: with `tty`, the engine gives the command a
/// pseudo-terminal of this size (columns, rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecTerminal {
    pub tty: bool,
    pub size: Option<(u16, u16)>,
}

impl ExecTerminal {
    /// No terminal: the output is captured.
    pub const NONE: ExecTerminal = ExecTerminal {
        tty: false,
        size: None,
    };
}

impl Engine {
    /// Runs `command` in a running container with this process's standard
    /// input, output and error attached, as `docker exec -i` (and `-t` with
    /// a terminal) does; returns the command's exit code.
    pub async fn exec_attached(
        &self,
        id: &str,
        command: &[String],
        terminal: ExecTerminal,
    ) -> Result<i64, DockerError> {
        use bollard::exec::{ResizeExecOptions, StartExecOptions, StartExecResults};
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let what = || format!("cannot run `{}` in `{id}`", command.join(" "));
        let created = self
            .create_exec(id, command, terminal, true, what())
            .await?;
        let start = self.docker.start_exec(
            &created,
            Some(StartExecOptions {
                tty: terminal.tty,
                ..Default::default()
            }),
        );
        let started = self
            .call(START, start)
            .await?
            .map_err(DockerError::api(what()))?;
        let StartExecResults::Attached {
            mut output,
            mut input,
        } = started
        else {
            return Err(DockerError::Archive(format!(
                "`{id}` did not attach the command"
            )));
        };
        if let (true, Some((width, height))) = (terminal.tty, terminal.size) {
            let resize = self
                .docker
                .resize_exec(&created, ResizeExecOptions { height, width });
            let _ = self.call("POST /exec/{id}/resize", resize).await;
        }
        // Standard input goes to the command until it ends (or the command does).
        let feeding = tokio::spawn(async move {
            let mut stdin = tokio::io::stdin();
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stdin.read(&mut buffer).await {
                if n == 0 || input.write_all(&buffer[..n]).await.is_err() {
                    break;
                }
                let _ = input.flush().await;
            }
            let _ = input.shutdown().await;
        });
        let mut stdout = tokio::io::stdout();
        let mut stderr = tokio::io::stderr();
        // While standard input stays open the engine may keep the stream open
        // after the command ended, so its end is also asked for.
        let mut ended: Option<tokio::time::Instant> = None;
        loop {
            let chunk = tokio::select! {
                chunk = output.next() => match chunk {
                    Some(chunk) => chunk,
                    None => break,
                },
                () = tokio::time::sleep(std::time::Duration::from_millis(200)) => {
                    match ended {
                        // What it wrote last has had its moment to arrive.
                        Some(at) if at.elapsed() > std::time::Duration::from_millis(300) => break,
                        Some(_) => {}
                        None => {
                            let inspected = self.call(INSPECT, self.docker.inspect_exec(&created)).await;
                            let running = inspected.ok().and_then(Result::ok).and_then(|e| e.running);
                            if running == Some(false) {
                                ended = Some(tokio::time::Instant::now());
                            }
                        }
                    }
                    continue;
                }
            };
            match chunk.map_err(Engine::stream_error(START, what()))? {
                LogOutput::StdErr { message } => {
                    let _ = stderr.write_all(&message).await;
                    let _ = stderr.flush().await;
                }
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    let _ = stdout.write_all(&message).await;
                    let _ = stdout.flush().await;
                }
                LogOutput::StdIn { .. } => {}
            }
        }
        feeding.abort();
        self.exec_exit_code(&created, what()).await
    }
}
