//! Podman's own API, for the one thing its Docker-compatible API lacks here:
//! running a container's health check. Podman runs health checks from
//! systemd timers; where there is no systemd (containers, CI machines) none
//! run, so a HEALTHY dependency would never come. On Podman, the event
//! stream of a task drives each started container's check at its interval
//! through `GET /libpod/containers/{id}/healthcheck` and reports the
//! verdict Podman then records (retries and start period are Podman's), as
//! Docker's `health_status` events would.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;

use super::bounds::{self, Bounds};
use super::{ContainerEvent, DockerError, Engine};

/// Docker's interval when a health check names none.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// How long one check may take before it is given up: the check's own
/// timeout is Podman's (Docker's default is 30 s) and the request waits for
/// it, so this is longer than the engine's ordinary bounds (`bounds`).
const HEALTH_CHECK_BOUND: Duration = Duration::from_secs(120);

/// Where the engine listens, as `DOCKER_HOST` names it.
#[derive(Debug, Clone)]
pub(super) enum Endpoint {
    Unix(String),
    Tcp(String),
}

impl Endpoint {
    pub(super) fn from_env() -> Option<Endpoint> {
        let (host, _) = super::docker_host();
        if let Some(path) = host.strip_prefix("unix://") {
            Some(Endpoint::Unix(path.to_owned()))
        } else {
            host.strip_prefix("tcp://")
                .or_else(|| host.strip_prefix("http://"))
                .map(|address| Endpoint::Tcp(address.trim_end_matches('/').to_owned()))
        }
    }
}

/// One plain HTTP/1 request on a fresh connection, within the connect
/// bound and `whole`; the status and the body. `request` names it in a
/// bound's error (`POST /libpod/networks/create`), `what` in any other.
pub(super) async fn exchange(
    endpoint: &Endpoint,
    method: Method,
    path: &str,
    body: Option<Bytes>,
    (request, what): (&str, &str),
    whole: Duration,
) -> Result<(StatusCode, Bytes), DockerError> {
    let failed = |e: std::io::Error| DockerError::Api {
        what: what.to_owned(),
        source: bollard::errors::Error::IOError { err: e },
    };
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, "podman");
    if body.is_some() {
        builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
    }
    let request_body = Full::new(body.unwrap_or_default());
    let built = builder
        .body(request_body)
        .map_err(|e| failed(std::io::Error::other(e)))?;
    let connect = Bounds::current().connect;
    let exchanged = async {
        match endpoint {
            Endpoint::Unix(socket) => {
                let stream = tokio::time::timeout(connect, tokio::net::UnixStream::connect(socket))
                    .await
                    .map_err(|_| bounds::no_connection(connect))?
                    .map_err(failed)?;
                send(stream, built).await.map_err(failed)
            }
            Endpoint::Tcp(address) => {
                let stream = tokio::time::timeout(connect, tokio::net::TcpStream::connect(address))
                    .await
                    .map_err(|_| bounds::no_connection(connect))?
                    .map_err(failed)?;
                send(stream, built).await.map_err(failed)
            }
        }
    };
    tokio::time::timeout(whole, exchanged)
        .await
        .map_err(|_| bounds::unanswered(request, whole))?
}

async fn send<S>(stream: S, request: Request<Full<Bytes>>) -> std::io::Result<(StatusCode, Bytes)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    let driver = tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(std::io::Error::other);
    let result = match response {
        Ok(response) => {
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(std::io::Error::other)?;
            Ok((status, body.to_bytes()))
        }
        Err(e) => Err(e),
    };
    driver.abort();
    result
}

/// The health checks this event stream drives, one per running container.
#[derive(Clone)]
pub(super) struct HealthDriver {
    engine: Engine,
    endpoint: Option<Endpoint>,
    running: Arc<Mutex<HashSet<String>>>,
    verdicts: mpsc::UnboundedSender<ContainerEvent>,
}

impl HealthDriver {
    /// A driver whose verdicts arrive on the returned receiver.
    pub(super) fn new(engine: Engine) -> (HealthDriver, mpsc::UnboundedReceiver<ContainerEvent>) {
        let (verdicts, receiver) = mpsc::unbounded_channel();
        let driver = HealthDriver {
            engine,
            endpoint: Endpoint::from_env(),
            running: Arc::default(),
            verdicts,
        };
        (driver, receiver)
    }

    /// A container started: drive its health check, if it has one and is
    /// not already driven, until it stops or the event stream is dropped.
    pub(super) async fn started(&self, id: &str) {
        let Some(endpoint) = self.endpoint.clone() else {
            return;
        };
        let Some(interval) = self.engine.health_check_interval(id).await else {
            return;
        };
        if !self.lock().insert(id.to_owned()) {
            return;
        }
        let driver = self.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            driver.drive(&endpoint, &id, interval).await;
            driver.lock().remove(&id);
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn drive(&self, endpoint: &Endpoint, id: &str, interval: Duration) {
        let path = format!("/v4.0.0/libpod/containers/{id}/healthcheck");
        let mut last: Option<String> = None;
        loop {
            tokio::select! {
                () = self.verdicts.closed() => return,
                () = tokio::time::sleep(interval) => {}
            }
            let checked = exchange(
                endpoint,
                Method::GET,
                &path,
                None,
                (
                    "GET /libpod/containers/{id}/healthcheck",
                    "cannot run a health check",
                ),
                HEALTH_CHECK_BOUND,
            )
            .await;
            match checked {
                // Not running any more (409) or gone (404): the driver ends;
                // a restart starts another.
                Ok((status, _))
                    if status == StatusCode::CONFLICT || status == StatusCode::NOT_FOUND =>
                {
                    return;
                }
                Ok((status, body)) if !status.is_success() => {
                    tracing::debug!(container = id, %status, body = %String::from_utf8_lossy(&body), "podman health check refused");
                    return;
                }
                // A check that outlived its bound is Podman's to judge.
                Err(DockerError::Unanswered { .. } | DockerError::NoConnection { .. }) | Ok(_) => {}
                Err(e) => {
                    tracing::debug!(container = id, error = %e, "podman health check failed");
                    return;
                }
            }
            // Podman's verdict over the retries and the start period.
            let Ok(state) = self.engine.inspect_container(id).await else {
                return;
            };
            if let Some(health) = state.health
                && last.as_deref() != Some(health.as_str())
            {
                last = Some(health.clone());
                let verdict = ContainerEvent::Health {
                    id: id.to_owned(),
                    status: health,
                };
                if self.verdicts.send(verdict).is_err() {
                    return;
                }
            }
        }
    }
}

impl Engine {
    /// How often a container's health check runs, or `None` when it has none.
    async fn health_check_interval(&self, id: &str) -> Option<Duration> {
        let inspect = self
            .call(
                "GET /containers/{id}/json",
                self.docker.inspect_container(id, None),
            )
            .await
            .ok()?
            .ok()?;
        let check = inspect.config?.healthcheck?;
        let test = check.test.unwrap_or_default();
        if test.is_empty() || test.first().is_some_and(|t| t == "NONE") {
            return None;
        }
        Some(match check.interval {
            Some(ns) if ns > 0 => Duration::from_nanos(ns.unsigned_abs()),
            _ => DEFAULT_INTERVAL,
        })
    }
}

/// The part of libpod's network (`POST /libpod/networks/create`) that the
/// Docker API cannot say: each subnet's lease range.
#[derive(Debug, serde::Serialize)]
struct LibpodNetwork {
    name: String,
    driver: String,
    /// As Podman's Docker API creates its networks: containers resolve
    /// each other's names and aliases.
    dns_enabled: bool,
    subnets: Vec<LibpodSubnet>,
    labels: std::collections::HashMap<String, String>,
}

#[derive(Debug, serde::Serialize)]
struct LibpodSubnet {
    subnet: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    gateway: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lease_range: Option<LeaseRange>,
}

#[derive(Debug, PartialEq, Eq, serde::Serialize)]
struct LeaseRange {
    start_ip: String,
    end_ip: String,
}

/// The addresses of an IPv4 `ip_range` within `subnet` that may be leased:
/// the range without the subnet's broadcast address. Podman's Docker API
/// leases a range to its last address, so a /25 at the top of a /24 would
/// eventually give a container the broadcast address, which nothing
/// reaches. `None` for what is not IPv4 CIDR.
fn lease_range(subnet: &str, ip_range: &str) -> Option<LeaseRange> {
    fn cidr(text: &str) -> Option<(u32, u32)> {
        let (address, bits) = text.split_once('/')?;
        let address: std::net::Ipv4Addr = address.parse().ok()?;
        let bits: u32 = bits.parse().ok().filter(|b| *b <= 32)?;
        let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
        let first = u32::from(address) & mask;
        Some((first, first | !mask))
    }
    let (_, broadcast) = cidr(subnet)?;
    let (first, mut last) = cidr(ip_range)?;
    if last == broadcast {
        last -= 1;
    }
    (first <= last).then(|| LeaseRange {
        start_ip: std::net::Ipv4Addr::from(first).to_string(),
        end_ip: std::net::Ipv4Addr::from(last).to_string(),
    })
}

impl Engine {
    /// Creates `request`'s network through libpod's API, each subnet's
    /// `ip_range` leased without the subnet's broadcast address; `None`
    /// when the engine's socket is not one this client speaks to directly
    /// (the caller then uses the Docker API).
    pub(super) async fn create_libpod_network(
        &self,
        request: &bollard::models::NetworkCreateRequest,
    ) -> Option<Result<(), DockerError>> {
        let endpoint = Endpoint::from_env()?;
        let subnets = request
            .ipam
            .as_ref()
            .and_then(|i| i.config.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let subnet = c.subnet.clone()?;
                let lease_range = c
                    .ip_range
                    .as_deref()
                    .and_then(|range| lease_range(&subnet, range));
                Some(LibpodSubnet {
                    subnet,
                    gateway: c.gateway.clone(),
                    lease_range,
                })
            })
            .collect();
        let network = LibpodNetwork {
            name: request.name.clone(),
            driver: request.driver.clone().unwrap_or_else(|| "bridge".into()),
            dns_enabled: true,
            subnets,
            labels: request.labels.clone().unwrap_or_default(),
        };
        let what = format!("cannot create network `{}`", request.name);
        let body = match serde_json::to_vec(&network) {
            Ok(body) => Bytes::from(body),
            Err(e) => {
                return Some(Err(DockerError::Api {
                    what,
                    source: bollard::errors::Error::from(e),
                }));
            }
        };
        let bounds = Bounds::current();
        let request = "POST /libpod/networks/create";
        let answered = exchange(
            &endpoint,
            Method::POST,
            "/v4.0.0/libpod/networks/create",
            Some(body),
            (request, &what),
            bounds.whole,
        )
        .await;
        Some(match answered {
            Ok((status, _)) if status.is_success() => Ok(()),
            Ok((status, body)) => {
                let text = String::from_utf8_lossy(&body);
                let message = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
                    .unwrap_or_else(|| text.trim().to_owned());
                Err(DockerError::Api {
                    what,
                    source: bollard::errors::Error::DockerResponseServerError {
                        status_code: status.as_u16(),
                        message,
                    },
                })
            }
            Err(e) => Err(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_range_stops_short_of_the_broadcast_address() {
        assert_eq!(
            lease_range("169.254.170.0/24", "169.254.170.128/25"),
            Some(LeaseRange {
                start_ip: "169.254.170.128".into(),
                end_ip: "169.254.170.254".into(),
            })
        );
        // A range below the top keeps its last address.
        assert_eq!(
            lease_range("10.0.0.0/16", "10.0.1.0/24"),
            Some(LeaseRange {
                start_ip: "10.0.1.0".into(),
                end_ip: "10.0.1.255".into(),
            })
        );
        assert_eq!(lease_range("fd00::/64", "fd00::/80"), None);
        assert_eq!(lease_range("10.0.0.0/24", "nonsense"), None);
    }
}
