//! The local agent: this same binary, run inside the agent container as the
//! hidden `agent` subcommand, plays the ECS container agent at 169.254.170.2.
//! The pause container runs the same image with the `pause` subcommand.
//!
//! This first version answers the CLI's health probe and, like the real
//! agent, `404 page not found` on every other route; the metadata,
//! credentials and task-protection endpoints arrive with the agent issue.

pub mod pause;

use std::net::SocketAddr;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

/// Where the CLI asks whether the agent is up.
pub const HEALTH_PATH: &str = "/ecs-run-local/health";

/// The agent's routes.
pub fn router() -> Router {
    Router::new()
        .route(
            HEALTH_PATH,
            get(|| async { concat!("ecs-run-local agent ", env!("CARGO_PKG_VERSION")) }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "404 page not found\n") })
}

/// Serves until SIGTERM or SIGINT (the agent is PID 1 of its container).
pub async fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(%listen, "agent listening");
    axum::serve(listener, router())
        .with_graceful_shutdown(pause::terminated())
        .await
        .context("the agent's server failed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    async fn get(path: &str) -> (StatusCode, String) {
        let response = router()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn health_answers_and_unknown_routes_are_the_agents_404() {
        let (status, body) = get(HEALTH_PATH).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.starts_with("ecs-run-local agent "));
        assert_eq!(
            get("/v4/nope/task").await,
            (StatusCode::NOT_FOUND, "404 page not found\n".into())
        );
    }
}
