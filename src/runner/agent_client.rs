//! The CLI's side of the agent's admin API: plain HTTP/1.1 to the loopback
//! port with the agent's bearer token.

use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::protocol::{self, Credentials, DesiredStatus, Health, TaskRegistration};

/// How long one admin call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the calls of a task's end (stopping, deregistering) wait: a dead
/// agent must not hold up a stop.
pub const ENDING_TIMEOUT: Duration = Duration::from_secs(2);

/// A handle on the running agent.
#[derive(Clone)]
pub struct AgentClient {
    port: u16,
    token: String,
    timeout: Duration,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl std::fmt::Debug for AgentClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentClient")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Why an admin call failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("the agent on 127.0.0.1:{port} refused our token (another ecs-run-local's agent?)")]
    Unauthorized { port: u16 },
    #[error("the agent answered {status} to {what}: {body}")]
    Status {
        what: String,
        status: StatusCode,
        body: String,
    },
    #[error("cannot reach the agent on 127.0.0.1:{port}")]
    Unreachable {
        port: u16,
        #[source]
        source: anyhow::Error,
    },
}

impl AgentClient {
    #[must_use]
    pub fn new(port: u16, token: String) -> AgentClient {
        AgentClient {
            port,
            token,
            timeout: CALL_TIMEOUT,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// The same agent, with calls bounded by `timeout` instead.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> AgentClient {
        self.timeout = timeout;
        self
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes), AdminError> {
        let request = Request::builder()
            .method(method.clone())
            .uri(format!("http://127.0.0.1:{}{path}", self.port))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| self.unreachable(e.into()))?;
        let exchange = async {
            let response = self.client.request(request).await?;
            let status = response.status();
            let bytes = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|e| self.unreachable(e.into()))?
            .map_err(|e| self.unreachable(e))?;
        if status == StatusCode::UNAUTHORIZED {
            return Err(AdminError::Unauthorized { port: self.port });
        }
        Ok((status, bytes))
    }

    fn unreachable(&self, source: anyhow::Error) -> AdminError {
        AdminError::Unreachable {
            port: self.port,
            source,
        }
    }

    async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        what: &str,
        ok: &[StatusCode],
    ) -> Result<Bytes, AdminError> {
        let (status, bytes) = self.call(method, path, body).await?;
        if ok.contains(&status) {
            Ok(bytes)
        } else {
            Err(AdminError::Status {
                what: what.to_owned(),
                status,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            })
        }
    }

    async fn put<T: Serialize>(&self, path: &str, body: &T, what: &str) -> anyhow::Result<()> {
        let body = serde_json::to_vec(body)?;
        self.expect(
            Method::PUT,
            path,
            Some(body),
            what,
            &[StatusCode::NO_CONTENT],
        )
        .await?;
        Ok(())
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, what: &str) -> anyhow::Result<T> {
        let bytes = self
            .expect(Method::GET, path, None, what, &[StatusCode::OK])
            .await?;
        serde_json::from_slice(&bytes).with_context(|| format!("the agent's answer to {what}"))
    }

    /// The agent's version and state sizes.
    pub async fn health(&self) -> Result<Health, AdminError> {
        let bytes = self
            .expect(
                Method::GET,
                protocol::HEALTH_PATH,
                None,
                "the health check",
                &[StatusCode::OK],
            )
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| self.unreachable(e.into()))
    }

    /// Registers a task before its containers exist.
    pub async fn register(&self, task: &TaskRegistration) -> anyhow::Result<()> {
        let id = crate::protocol::task_id(&task.task_arn);
        self.put(
            &format!("{}/{id}", protocol::TASKS_PATH),
            task,
            "the task's registration",
        )
        .await
    }

    /// The task is being stopped: its desired status becomes STOPPED.
    pub async fn stopping(&self, task_id: &str) -> anyhow::Result<()> {
        self.put(
            &format!("{}/{task_id}/desired-status", protocol::TASKS_PATH),
            &DesiredStatus {
                desired_status: "STOPPED".into(),
            },
            "the task's stop",
        )
        .await
    }

    /// Forgets a task; one the agent no longer knows is not an error.
    pub async fn deregister(&self, task_id: &str) -> anyhow::Result<()> {
        self.expect(
            Method::DELETE,
            &format!("{}/{task_id}", protocol::TASKS_PATH),
            None,
            "the task's deregistration",
            &[StatusCode::NO_CONTENT, StatusCode::NOT_FOUND],
        )
        .await?;
        Ok(())
    }

    /// Serves `credentials` at `/v2/credentials/<credentials_id>`.
    pub async fn push_credentials(
        &self,
        credentials_id: &str,
        credentials: &Credentials,
    ) -> anyhow::Result<()> {
        self.put(
            &format!("{}/{credentials_id}", protocol::CREDENTIALS_PATH),
            credentials,
            "the credentials push",
        )
        .await
    }

    /// Waits until the agent answers its health check.
    pub async fn wait_healthy(&self, within: Duration) -> anyhow::Result<Health> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match self.health().await {
                Ok(health) => return Ok(health),
                Err(e @ AdminError::Unauthorized { .. }) => return Err(e.into()),
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e.into()),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// A raw `GET` of an agent route, for tests and diagnostics.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.get(path, path).await
    }
}
