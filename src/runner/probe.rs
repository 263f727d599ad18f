//! `smoke --http` and `--tcp`: probes that need nothing in the image. Each
//! runs in a probe container made from the agent image (this executable,
//! `ecs-run-local probe`), joined to the network namespace of the container
//! it probes (awsvpc: the pause container's; host mode: the host's), so it
//! reaches `127.0.0.1:PORT` there without a shell, a published port or a
//! tool in the image. The probe retries until it passes and prints one line
//! per attempt; the runner keeps the last and stops it at `--timeout`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig};
use futures_util::StreamExt as _;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use serde::{Deserialize, Serialize};

use super::smoke_report::CheckReport;
use super::supervise::Task;
use super::teardown::SUPERVISOR_PID;
use crate::output::logs::LineSplitter;
use crate::plan::{AGENT_EXECUTABLE, labels};
use crate::taskdef::model::NetworkMode;

/// How long one attempt may take, and the pause between attempts.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
const ATTEMPT_INTERVAL: Duration = Duration::from_millis(500);
/// How much of a response body the report keeps.
const BODY_BYTES: usize = 120;

/// `--http CONTAINER:PORT[/PATH][=STATUS]` or `--tcp CONTAINER:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub container: String,
    pub port: u16,
    /// `None` for a TCP probe.
    pub http: Option<HttpProbe>,
}

/// What an HTTP probe asks for and accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpProbe {
    pub path: String,
    /// The status that passes; any 2xx or 3xx when `None`.
    pub status: Option<u16>,
}

impl Probe {
    /// Reads `CONTAINER:PORT[/PATH][=STATUS]`.
    pub fn http(text: &str) -> Result<Probe, String> {
        let bad = || format!("`--http {text}` is not CONTAINER:PORT[/PATH][=STATUS]");
        // `=STATUS` is three digits after the last `=`; another `=` belongs
        // to the path's query (`/ready?full=1`).
        let (target, status) = match text.rsplit_once('=') {
            Some((target, status))
                if status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()) =>
            {
                (target, Some(status.parse::<u16>().map_err(|_| bad())?))
            }
            Some((target, _)) if !target.contains('/') => return Err(bad()),
            _ => (text, None),
        };
        let (container, rest) = target.split_once(':').ok_or_else(bad)?;
        let (port, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(bad)?;
        // A request line cannot carry spaces or control characters: such a
        // path would be retried until the timeout, never answered.
        let unsendable = path.bytes().any(|b| b <= b' ' || b == 0x7f);
        if container.is_empty() || unsendable || status.is_some_and(|s| !(100..=599).contains(&s)) {
            return Err(bad());
        }
        Ok(Probe {
            container: container.to_owned(),
            port,
            http: Some(HttpProbe {
                path: path.to_owned(),
                status,
            }),
        })
    }

    /// Reads `CONTAINER:PORT`.
    pub fn tcp(text: &str) -> Result<Probe, String> {
        let bad = || format!("`--tcp {text}` is not CONTAINER:PORT");
        let (container, port) = text.split_once(':').ok_or_else(bad)?;
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(bad)?;
        if container.is_empty() {
            return Err(bad());
        }
        Ok(Probe {
            container: container.to_owned(),
            port,
            http: None,
        })
    }

    /// How the report names it: `http web:8080/health`, `tcp db:5432`.
    #[must_use]
    pub fn name(&self) -> String {
        match &self.http {
            Some(http) => {
                let status = http.status.map(|s| format!("={s}")).unwrap_or_default();
                format!("http {}:{}{}{status}", self.container, self.port, http.path)
            }
            None => format!("tcp {}:{}", self.container, self.port),
        }
    }

    /// The probe container's arguments to `ecs-run-local probe`.
    fn arguments(&self) -> Vec<String> {
        let mut args = vec![
            "probe".to_owned(),
            "--port".to_owned(),
            self.port.to_string(),
        ];
        if let Some(http) = &self.http {
            args.extend(["--http-path".to_owned(), http.path.clone()]);
            if let Some(status) = http.status {
                args.extend(["--status".to_owned(), status.to_string()]);
            }
        }
        args
    }
}

/// One attempt, as the probe container prints it (one JSON line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub passed: bool,
    /// The status line and the first bytes of the body, `connected`, or the
    /// connection error.
    pub response: String,
}

/// Inside the probe container: tries `127.0.0.1:port` until it passes,
/// printing every attempt; returns once one passes.
pub async fn serve(port: u16, http: Option<HttpProbe>) {
    use std::io::Write as _;
    loop {
        let attempt =
            match tokio::time::timeout(ATTEMPT_TIMEOUT, attempt(port, http.as_ref())).await {
                Ok(attempt) => attempt,
                Err(_) => Attempt {
                    passed: false,
                    response: format!("no answer within {}s", ATTEMPT_TIMEOUT.as_secs()),
                },
            };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string(&attempt).unwrap_or_default()
        );
        let _ = out.flush();
        drop(out);
        if attempt.passed {
            return;
        }
        tokio::time::sleep(ATTEMPT_INTERVAL).await;
    }
}

async fn attempt(port: u16, http: Option<&HttpProbe>) -> Attempt {
    let failed = |response: String| Attempt {
        passed: false,
        response,
    };
    let stream = match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
        Ok(stream) => stream,
        Err(e) => return failed(format!("cannot connect to 127.0.0.1:{port}: {e}")),
    };
    let Some(http) = http else {
        return Attempt {
            passed: true,
            response: format!("connected to 127.0.0.1:{port}"),
        };
    };
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, connection) = match hyper::client::conn::http1::handshake(io).await {
        Ok(pair) => pair,
        Err(e) => return failed(format!("HTTP handshake failed: {e}")),
    };
    let driver = tokio::spawn(connection);
    let request = hyper::Request::get(http.path.as_str())
        .header(hyper::header::HOST, format!("127.0.0.1:{port}"))
        .header(hyper::header::USER_AGENT, "ecs-run-local-probe")
        .body(Empty::<Bytes>::new());
    let result = match request {
        Err(e) => failed(format!("cannot ask for {}: {e}", http.path)),
        Ok(request) => match sender.send_request(request).await {
            Err(e) => failed(format!("no HTTP answer: {e}")),
            Ok(response) => {
                let status = response.status();
                let mut body = Vec::new();
                let mut frames = response.into_body();
                while body.len() < BODY_BYTES {
                    match frames.frame().await {
                        Some(Ok(frame)) => {
                            if let Some(data) = frame.data_ref() {
                                body.extend_from_slice(data);
                            }
                        }
                        _ => break,
                    }
                }
                body.truncate(BODY_BYTES);
                let passed = match http.status {
                    Some(expected) => status.as_u16() == expected,
                    None => status.is_success() || status.is_redirection(),
                };
                let text = String::from_utf8_lossy(&body).replace(['\r', '\n'], " ");
                let line = format!(
                    "HTTP/1.1 {} {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or_default()
                );
                Attempt {
                    passed,
                    response: if text.trim().is_empty() {
                        line
                    } else {
                        format!("{line}: {}", text.trim())
                    },
                }
            }
        },
    };
    driver.abort();
    result
}

/// Runs every probe against the ready task until it passes or `deadline`;
/// each becomes a check of the report.
pub(super) async fn run_all(
    task: &Task<'_>,
    probes: &[Probe],
    agent_image: &str,
    deadline: Instant,
) -> Vec<CheckReport> {
    let runs = probes
        .iter()
        .enumerate()
        .map(|(i, probe)| run_one(task, probe, i, agent_image, deadline));
    futures_util::future::join_all(runs).await
}

async fn run_one(
    task: &Task<'_>,
    probe: &Probe,
    index: usize,
    agent_image: &str,
    deadline: Instant,
) -> CheckReport {
    let started = Instant::now();
    let mut report = CheckReport {
        container: probe.container.clone(),
        command: vec![probe.name()],
        exit_code: None,
        output: String::new(),
        duration: Duration::ZERO,
        passed: false,
        error: None,
        probe: true,
    };
    match probe_container(task, probe, index, agent_image, deadline).await {
        Ok((passed, last)) => {
            report.passed = passed;
            report.output = last.clone().unwrap_or_default();
            if !passed {
                report.error = Some(match last {
                    Some(last) => format!("not passed within --timeout; last response: {last}"),
                    None => "not passed within --timeout; no attempt finished".to_owned(),
                });
            }
        }
        Err(e) => report.error = Some(format!("could not run: {e:#}")),
    }
    report.duration = started.elapsed();
    report
}

/// Creates, starts and follows the probe container; whether it passed, and
/// its last response.
async fn probe_container(
    task: &Task<'_>,
    probe: &Probe,
    index: usize,
    agent_image: &str,
    deadline: Instant,
) -> anyhow::Result<(bool, Option<String>)> {
    let slot = task
        .slots
        .iter()
        .find(|s| s.plan.name == probe.container)
        .ok_or_else(|| anyhow::anyhow!("no container `{}`", probe.container))?;
    let network_mode = match task.plan.task.network_mode {
        NetworkMode::Awsvpc => match &task.plan.pause {
            Some(pause) => format!("container:{}", pause.docker_name),
            None => format!("container:{}", slot.id),
        },
        NetworkMode::Host => "host".to_owned(),
        NetworkMode::None => anyhow::bail!("`{}` has no network to probe", probe.container),
        NetworkMode::Bridge => format!("container:{}", slot.id),
    };
    let run_id = &task.plan.run_id;
    let labels = HashMap::from([
        (labels::RUN_ID.to_owned(), run_id.clone()),
        (labels::ROLE.to_owned(), "probe".to_owned()),
        (labels::FAMILY.to_owned(), task.plan.task.family.clone()),
        (SUPERVISOR_PID.to_owned(), std::process::id().to_string()),
    ]);
    let body = ContainerCreateBody {
        image: Some(agent_image.to_owned()),
        entrypoint: Some(vec![AGENT_EXECUTABLE.to_owned()]),
        cmd: Some(probe.arguments()),
        labels: Some(labels),
        host_config: Some(HostConfig {
            network_mode: Some(network_mode),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    let short = &run_id[..run_id.len().min(12)];
    let name = format!("ecs-run-local-probe-{short}-{index}");
    let id = task.engine.create_container(&name, body, None).await?;
    task.engine.start_container(&id).await?;
    let mut logs = task.engine.follow_logs(&id, None);
    let mut lines = LineSplitter::default();
    let mut last: Option<String> = None;
    let followed = tokio::time::timeout_at(deadline.into(), async {
        while let Some(Ok(chunk)) = logs.next().await {
            for line in lines.push(&chunk.bytes) {
                if let Ok(attempt) = serde_json::from_str::<Attempt>(&line) {
                    let passed = attempt.passed;
                    last = Some(attempt.response);
                    if passed {
                        return true;
                    }
                }
            }
        }
        false
    })
    .await;
    let passed = followed.unwrap_or(false);
    // Gone at once: it holds nothing, and teardown would remove it anyway.
    let _ = task.engine.remove_container(&id).await;
    Ok((passed, last))
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    #[test]
    fn probes_read_as_documented() {
        let probe = Probe::http("web:8080/health=204").unwrap();
        assert_eq!(probe.container, "web");
        assert_eq!(probe.port, 8080);
        assert_eq!(
            probe.http,
            Some(HttpProbe {
                path: "/health".into(),
                status: Some(204)
            })
        );
        assert_eq!(probe.name(), "http web:8080/health=204");
        assert_eq!(
            probe.arguments(),
            [
                "probe",
                "--port",
                "8080",
                "--http-path",
                "/health",
                "--status",
                "204"
            ]
        );
        let bare = Probe::http("web:80").unwrap();
        assert_eq!(bare.http.unwrap().path, "/");
        let query = Probe::http("web:80/ready?full=1").unwrap();
        assert_eq!(query.http.unwrap().path, "/ready?full=1");
        assert_eq!(Probe::tcp("db:5432").unwrap().name(), "tcp db:5432");
        for bad in [
            "web",
            "web:x",
            ":80",
            "web:0",
            "web:80=999",
            "web:80=ok",
            "web:80=20",
            "web:8080/a b",
            "web:8080/a\tb",
        ] {
            assert!(Probe::http(bad).is_err(), "{bad}");
        }
        for bad in ["db", "db:", ":5432", "db:99999"] {
            assert!(Probe::tcp(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn an_attempt_reports_the_status_line_and_the_first_bytes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut buffer = [0u8; 1024];
                let n = stream.read(&mut buffer).await.unwrap();
                let ready = String::from_utf8_lossy(&buffer[..n]).contains("GET /ready ");
                let reply: &[u8] = if ready {
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
                } else {
                    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 13\r\n\r\nwarming up\r\n."
                };
                stream.write_all(reply).await.unwrap();
            }
        });
        let health = HttpProbe {
            path: "/health".into(),
            status: None,
        };
        let failed = attempt(port, Some(&health)).await;
        assert_eq!(
            failed,
            Attempt {
                passed: false,
                response: "HTTP/1.1 503 Service Unavailable: warming up  .".into()
            }
        );
        let ready = HttpProbe {
            path: "/ready".into(),
            status: Some(200),
        };
        assert!(attempt(port, Some(&ready)).await.passed);
        assert!(attempt(port, None).await.passed);
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let refused = attempt(closed, None).await;
        assert!(!refused.passed);
        assert!(
            refused
                .response
                .starts_with(&format!("cannot connect to 127.0.0.1:{closed}")),
            "{refused:?}"
        );
    }
}
