//! The agent against the real agent's bodies in `tests/fixtures/ecs-endpoints`:
//! for each response kind, our body for an equivalent task has the same keys
//! in the same order; every error body is reproduced byte for byte.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;

use super::*;
use crate::agent::state::{
    Attachment, Binding, ContainerStatus, HealthState, Inspected, Observed, Protection,
};
use crate::protocol::wire::parse_time;
use crate::protocol::{ContainerRegistration, Credentials, TaskRegistration};

const TOKEN: &str = "test-token";
const TASK_ARN: &str =
    "arn:aws:ecs:us-west-2:111122223333:task/default/158d1c8083dd49d6b527399fd6414f5c";
const CALLER: &str = "10.0.2.106";
/// Where the host's requests come from through the published port: the
/// network's gateway (Docker's proxy).
const HOST: &str = "169.254.170.1";

/// A file of `tests/fixtures/ecs-endpoints` (`ECS_RUN_LOCAL_FIXTURES` moves the root).
pub(crate) fn endpoint_fixture(name: &str) -> String {
    let root = std::env::var_os("ECS_RUN_LOCAL_FIXTURES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
        PathBuf::from,
    );
    let path = root.join("ecs-endpoints").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&endpoint_fixture(name)).unwrap()
}

/// Keys in document order, as paths. Map-valued fields (labels, options,
/// tags) hold data, not struct fields, so their keys are not compared.
fn key_paths(value: &Value) -> Vec<String> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let path = format!("{prefix}/{k}");
                    out.push(path.clone());
                    if !matches!(
                        k.as_str(),
                        "Labels" | "LogOptions" | "TaskTags" | "ContainerInstanceTags"
                    ) {
                        walk(&path, v, out);
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), item, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", value, &mut out);
    out
}

/// The fixture's key paths without the fields named in `absent` (fields
/// this machine has no source for) and with `moved` placed where Go puts them.
fn expected_paths(fixture: &Value, absent: &[&str]) -> Vec<String> {
    key_paths(fixture)
        .into_iter()
        .filter(|p| {
            !absent
                .iter()
                .any(|a| p.ends_with(&format!("/{a}")) || p.contains(&format!("/{a}/")))
        })
        .collect()
}

fn container(name: &str, kind: &str, endpoint: &str) -> ContainerRegistration {
    ContainerRegistration {
        name: name.into(),
        docker_name: format!("ecs-nginx-5-{name}-ccccb9f49db0dfe0d901"),
        endpoint_id: (kind == "NORMAL").then(|| endpoint.into()),
        image: "nginx:latest".into(),
        kind: kind.into(),
        essential: kind == "NORMAL",
        cpu: 512,
        memory: 512,
        labels: BTreeMap::from([
            ("com.amazonaws.ecs.cluster".into(), "default".into()),
            ("com.amazonaws.ecs.container-name".into(), name.into()),
        ]),
        log_driver: (kind == "NORMAL").then(|| "awslogs".into()),
        log_options: if kind == "NORMAL" {
            BTreeMap::from([("awslogs-group".into(), "/ecs/metadata".into())])
        } else {
            BTreeMap::new()
        },
        container_arn: if kind == "NORMAL" {
            "arn:aws:ecs:us-west-2:111122223333:container/0206b271-b33f-47ab-86c6-a0ba208a70a9"
                .into()
        } else {
            String::new()
        },
        has_health_check: false,
        restart_policy_enabled: false,
        ports: Vec::new(),
        may_rewrite_link: false,
    }
}

/// An awsvpc task like the documentation's: a pause container and one
/// container, both running.
fn awsvpc_registration() -> TaskRegistration {
    TaskRegistration {
        task_arn: TASK_ARN.into(),
        cluster: "default".into(),
        family: "nginx".into(),
        revision: "5".into(),
        network_mode: "awsvpc".into(),
        launch_type: "EC2".into(),
        availability_zone: "us-west-2b".into(),
        service_name: "nginx-service".into(),
        cpu: None,
        memory: None,
        tags: BTreeMap::from([("tag-use".into(), "task-metadata-endpoint-test".into())]),
        pull_started_at: parse_time("2018-02-01T20:55:09.372495529Z"),
        pull_stopped_at: parse_time("2018-02-01T20:55:10.552018345Z"),
        credentials_id: Some("credentials-id".into()),
        role_arn: Some("arn:aws:iam::111122223333:role/app".into()),
        authorization_token: None,
        containers: vec![
            container("~internal~ecs~pause", "CNI_PAUSE", ""),
            container("nginx-curl", "NORMAL", "endpoint-id"),
        ],
    }
}

fn observed(name: &str, docker_id: &str, ip: &str) -> Observed {
    Observed {
        task_arn: TASK_ARN.into(),
        container_name: name.into(),
        inspected: Inspected {
            docker_id: docker_id.into(),
            docker_name: format!("ecs-nginx-5-{name}-ccccb9f49db0dfe0d901"),
            image_id: "sha256:c4b0b0b0".into(),
            status: ContainerStatus::Running,
            exit_code: None,
            created_at: parse_time("2018-02-01T20:55:10.554941919Z"),
            started_at: parse_time("2018-02-01T20:55:11.064236631Z"),
            finished_at: None,
            attachments: vec![Attachment {
                network: crate::plan::NETWORK_NAME.into(),
                ipv4: ip.into(),
                ipv6: String::new(),
                mac: MAC.into(),
            }],
            bindings: Vec::new(),
            mounts: Vec::new(),
        },
        health: None,
    }
}

/// The link-layer address every container of these tests has.
const MAC: &str = "0e:9e:32:c7:48:85";

/// The network bridge's own link-layer address (the gateway's).
const BRIDGE_MAC: &str = "02:42:5e:1c:0a:01";

/// A neighbour table in which every caller sends from the link the engine
/// gave it: containers from [`MAC`], the gateway from the bridge's.
#[expect(clippy::unnecessary_wraps, reason = "an `access::Neighbours`")]
fn genuine(ip: &str) -> Option<String> {
    Some(
        if ip == crate::plan::NETWORK_GATEWAY {
            BRIDGE_MAC
        } else {
            MAC
        }
        .to_owned(),
    )
}

/// An agent without an engine whose callers are who their address says.
fn test_agent() -> Agent {
    Agent {
        neighbours: genuine,
        ..Agent::detached(TOKEN)
    }
}

/// Credentials whose values do not matter to the test.
fn placeholder_credentials() -> Credentials {
    Credentials {
        role_arn: "r".into(),
        access_key_id: "a".into(),
        secret_access_key: "s".into(),
        token: "t".into(),
        expiration: "e".into(),
    }
}

fn now() -> crate::protocol::wire::Time {
    parse_time("2018-02-01T21:00:00Z").unwrap()
}

/// An agent holding the documentation's awsvpc task.
fn awsvpc_agent() -> Agent {
    let agent = Agent {
        clock: now,
        ..test_agent()
    };
    agent.state.register(awsvpc_registration()).unwrap();
    agent.state.observe(
        observed("~internal~ecs~pause", "pause-docker-id", CALLER),
        now(),
    );
    // Containers in the pause container's namespace have no address of their own.
    let mut app = observed("nginx-curl", "app-docker-id", "");
    app.inspected.attachments.clear();
    agent.state.observe(app, now());
    agent
}

async fn call(
    router: Router,
    method: Method,
    path: &str,
    body: &str,
) -> (StatusCode, String, String) {
    call_from(router, CALLER, method, path, body).await
}

/// A request from the address `from`.
async fn call_from(
    router: Router,
    from: &str,
    method: Method,
    path: &str,
    body: &str,
) -> (StatusCode, String, String) {
    let caller: SocketAddr = format!("{from}:40000").parse().unwrap();
    let response = router
        .layer(MockConnectInfo(caller))
        .oneshot(
            Request::builder()
                .method(method)
                .uri(path)
                .header("authorization", format!("Bearer {TOKEN}"))
                .header("content-type", "application/json")
                .body(Body::from(body.to_owned()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

async fn get(agent: &Agent, path: &str) -> (StatusCode, String) {
    let (status, _, body) = call(task_router(agent.clone()), Method::GET, path, "").await;
    (status, body)
}

async fn get_json(agent: &Agent, path: &str) -> Value {
    let (status, body) = get(agent, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn v2_task_metadata_has_the_agents_keys_in_its_order() {
    let ours = get_json(&awsvpc_agent(), "/v2/metadata").await;
    let theirs = fixture_json("doc-v2-task-metadata.json");
    assert_eq!(key_paths(&ours), expected_paths(&theirs, &[]));
}

#[tokio::test]
async fn v3_task_and_container_metadata_have_the_agents_keys_in_its_order() {
    let agent = awsvpc_agent();
    let ours = get_json(&agent, "/v3/endpoint-id/task").await;
    let theirs = fixture_json("doc-v3-task-metadata.json");
    assert_eq!(key_paths(&ours), expected_paths(&theirs, &[]));
    let ours = get_json(&agent, "/v3/endpoint-id").await;
    let theirs = fixture_json("doc-v3-container-metadata.json");
    assert_eq!(key_paths(&ours), expected_paths(&theirs, &[]));
}

#[tokio::test]
async fn v4_container_metadata_has_the_agents_keys_in_its_order() {
    let ours = get_json(&awsvpc_agent(), "/v4/endpoint-id").await;
    let theirs = fixture_json("doc-v4-ec2-awsvpc-container-metadata.json");
    assert_eq!(key_paths(&ours), expected_paths(&theirs, &[]));
    assert_eq!(ours["Networks"][0]["IPv4Addresses"][0], CALLER);
    assert_eq!(
        ours["Networks"][0]["IPv4SubnetCIDRBlock"],
        "169.254.170.0/24"
    );
    assert_eq!(
        ours["Networks"][0]["SubnetGatewayIpv4Address"],
        "169.254.170.1/24"
    );
}

#[tokio::test]
async fn v4_task_metadata_has_the_agents_keys_in_its_order() {
    let agent = awsvpc_agent();
    let ours = get_json(&agent, "/v4/endpoint-id/task").await;
    // The documentation moved ServiceName and VPCID by hand (SOURCES.md);
    // the managed-instances example has the agent's own order. There is no
    // VPC here, and no clock-bound daemon to report ClockDrift, nor a
    // snapshotter name.
    let mut theirs = key_paths(&fixture_json("doc-v4-ec2-awsvpc-task-metadata.json"));
    theirs.retain(|p| p != "/ServiceName" && p != "/VPCID");
    theirs.push("/ServiceName".into());
    theirs.push("/FaultInjectionEnabled".into());
    assert_eq!(key_paths(&ours), theirs);

    let managed = fixture_json("doc-v4-managed-instances-task-metadata.json");
    let top: Vec<String> = key_paths(&managed)
        .into_iter()
        .filter(|p| p.matches('/').count() == 1 && p != "/ClockDrift")
        .collect();
    let ours_top: Vec<String> = key_paths(&ours)
        .into_iter()
        .filter(|p| p.matches('/').count() == 1)
        .collect();
    // Ours has no task Limits (the definition sets none) where theirs does.
    let top: Vec<String> = top.into_iter().filter(|p| p != "/Limits").collect();
    assert_eq!(ours_top, top);
}

#[tokio::test]
async fn v4_task_with_tags_has_the_agents_keys_in_its_order() {
    let ours = get_json(&awsvpc_agent(), "/v4/endpoint-id/taskWithTags").await;
    let mut theirs = key_paths(&fixture_json("doc-v4-ec2-awsvpc-taskWithTags.json"));
    // No container instance, so no instance tags (Go omits an empty map).
    theirs.retain(|p| p != "/ServiceName" && p != "/VPCID" && p != "/ContainerInstanceTags");
    theirs.push("/ServiceName".into());
    theirs.push("/FaultInjectionEnabled".into());
    assert_eq!(key_paths(&ours), theirs);
    assert_eq!(ours["TaskTags"]["tag-use"], "task-metadata-endpoint-test");
}

#[tokio::test]
async fn unknown_endpoint_ids_get_the_agents_errors_byte_for_byte() {
    let agent = awsvpc_agent();
    for (path, fixture) in [
        ("/v4/bad", "agent-test-v4-container-404.json"),
        ("/v4/bad/task", "agent-test-v4-task-404.json"),
        ("/v4/bad/stats", "agent-test-v4-container-stats-404.json"),
        ("/v4/bad/task/stats", "agent-test-v4-task-stats-404.json"),
    ] {
        let (status, content_type, body) =
            call(task_router(agent.clone()), Method::GET, path, "").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(content_type, "application/json");
        assert_eq!(body, endpoint_fixture(fixture), "{path}");
    }
    let (status, body) = get(&agent, "/v3/bad/task").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body,
        r#""V3 task metadata handler: unable to get task arn from request: unable to get task Arn from v3 endpoint ID: bad""#
    );
    let (status, body) = get(&agent, "/v3/bad/stats").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.starts_with(r#""V3 container stats handler: unable to get task arn"#));
    let (status, _, body) = call(task_router(agent), Method::GET, "/v4/bad/nothing/here", "").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::NOT_FOUND, "404 page not found\n")
    );
}

#[tokio::test]
async fn v2_identifies_its_caller_by_address() {
    let agent = awsvpc_agent();
    let caller: SocketAddr = "10.9.9.9:1".parse().unwrap();
    let response = task_router(agent.clone())
        .layer(MockConnectInfo(caller))
        .oneshot(Request::get("/v2/metadata").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        body,
        r#""Unable to get task arn from request: unable to associate '10.9.9.9' with task""#
    );
    let ours = get_json(&agent, "/v2/metadata/app-docker-id").await;
    assert_eq!(ours["Name"], "nginx-curl");
    let (status, body) = get(&agent, "/v2/metadata/nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        r#""Unable to generate metadata for container 'nope'""#
    );
}

#[tokio::test]
async fn credentials_answer_and_fail_as_the_agent_does_byte_for_byte() {
    let agent = awsvpc_agent();
    let (status, body) = get(&agent, "/v2/credentials/").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        endpoint_fixture("agent-test-credentials-v2-error-no-id-400.json")
    );
    let (status, body) = get(&agent, "/v2/credentials/guessed").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        endpoint_fixture("agent-test-credentials-v2-error-not-found-400.json")
    );
    let (status, body) = get(&agent, "/v2/credentials/credentials-id").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body,
        endpoint_fixture("agent-test-credentials-v2-error-uninitialized-503.json")
    );
    for alias in [
        "/creds",
        "/role/app",
        "/role-arn/arn:aws:iam::111122223333:role/app",
    ] {
        assert_eq!(
            get(&agent, alias).await.0,
            StatusCode::SERVICE_UNAVAILABLE,
            "{alias}"
        );
    }

    let credentials = Credentials {
        role_arn: "rolearn".into(),
        access_key_id: "access_key_id".into(),
        secret_access_key: "secret_access_key".into(),
        token: "session_token".into(),
        expiration: "expiration".into(),
    };
    let (status, _, _) = call_from(
        loopback_router(agent.clone()),
        HOST,
        Method::PUT,
        "/ecs-run-local/credentials/credentials-id",
        &serde_json::to_string(&credentials).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let success = endpoint_fixture("agent-test-credentials-success.json");
    for path in [
        "/v2/credentials/credentials-id",
        "/v1/credentials?id=credentials-id",
        "/creds",
        "/role/app",
        "/role-arn/arn:aws:iam::111122223333:role/app",
    ] {
        assert_eq!(
            get(&agent, path).await,
            (StatusCode::OK, success.clone()),
            "{path}"
        );
    }
    assert!(!format!("{credentials:?}").contains("secret_access_key"));
}

#[tokio::test]
async fn a_host_mode_task_needs_its_authorization_token() {
    let agent = test_agent();
    let mut registration = awsvpc_registration();
    registration.network_mode = "host".into();
    registration.authorization_token = Some("task-token".into());
    agent.state.register(registration).unwrap();
    assert!(
        agent
            .state
            .push_credentials("credentials-id", placeholder_credentials())
    );
    // The admin token is not the task's: the credentials stay hidden.
    let (status, body) = get(&agent, "/v2/credentials/credentials-id").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let response = task_router(agent.clone())
        .layer(MockConnectInfo(
            "127.0.0.1:1".parse::<SocketAddr>().unwrap(),
        ))
        .oneshot(
            Request::get("/v2/credentials/credentials-id")
                .header("authorization", "task-token")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Nor do the seed's aliases hand them out: a wrong id.
    assert_eq!(
        get(&agent, "/role/app").await,
        (
            StatusCode::BAD_REQUEST,
            endpoint_fixture("agent-test-credentials-v2-error-not-found-400.json")
        )
    );
}

#[tokio::test]
async fn task_protection_follows_the_agents_rules_byte_for_byte() {
    let agent = awsvpc_agent();
    let path = "/api/endpoint-id/task-protection/v1/state";
    let put = |body: &'static str| {
        let agent = agent.clone();
        async move { call(task_router(agent), Method::PUT, path, body).await }
    };
    let (status, _, body) = put("not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        endpoint_fixture("agent-test-taskprotection-malformed-request-400.json")
    );
    let (status, _, body) = put(r#"{"ProtectionEnabled":true,"Unknown":1}"#).await;
    assert_eq!(
        (status, body.contains("failed to decode")),
        (StatusCode::BAD_REQUEST, true)
    );
    let (status, _, body) = call(
        task_router(agent.clone()),
        Method::GET,
        "/api/bad/task-protection/v1/state",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        endpoint_fixture("agent-test-taskprotection-task-not-found-404.json")
    );
    let (status, _, body) = put(r#"{"ExpiresInMinutes":5}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        endpoint_fixture("agent-test-taskprotection-missing-field-400.json")
            .replace("taskARN", TASK_ARN)
    );
    // No task role credentials yet: ECS refuses.
    let (status, _, body) = put(r#"{"ProtectionEnabled":true}"#).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        endpoint_fixture("agent-test-taskprotection-no-creds-403.json")
            .replace("taskARN", TASK_ARN)
    );

    agent
        .state
        .push_credentials("credentials-id", placeholder_credentials());
    let (status, _, body) = put(r#"{"ProtectionEnabled":true,"ExpiresInMinutes":60}"#).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        format!(
            r#"{{"protection":{{"ExpirationDate":"2018-02-01T22:00:00Z","ProtectionEnabled":true,"TaskArn":"{TASK_ARN}"}}}}"#
        )
    );
    let (status, body) = get(&agent, path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#""ProtectionEnabled":true"#), "{body}");
    let (status, _, body) = put(r#"{"ProtectionEnabled":true,"ExpiresInMinutes":2881}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("InvalidParameterException"), "{body}");
    let (status, _, body) = put(r#"{"ProtectionEnabled":false}"#).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(r#"{"ExpirationDate":null,"ProtectionEnabled":false"#),
        "{body}"
    );

    // The happy fixture's shape: protected with no expiry.
    let id = crate::protocol::task_id(TASK_ARN);
    agent.state.protect(
        id,
        Protection {
            enabled: true,
            expires: None,
        },
    );
    let (_, body) = get(&agent, path).await;
    assert_eq!(
        body,
        endpoint_fixture("agent-test-taskprotection-happy-200.json").replace("taskARN", TASK_ARN)
    );
}

#[tokio::test]
async fn protection_expires_by_the_agents_clock() {
    let agent = awsvpc_agent();
    let id = crate::protocol::task_id(TASK_ARN);
    agent
        .state
        .push_credentials("credentials-id", placeholder_credentials());
    agent.state.protect(
        id,
        Protection {
            enabled: true,
            expires: parse_time("2018-02-01T20:59:59Z"),
        },
    );
    let (_, body) = get(&agent, "/api/endpoint-id/task-protection/v1/state").await;
    assert!(
        body.contains(r#""ExpirationDate":null,"ProtectionEnabled":false"#),
        "{body}"
    );
}

#[tokio::test]
async fn the_admin_api_needs_the_bearer_token() {
    let agent = test_agent();
    let response = loopback_router(agent.clone())
        .layer(MockConnectInfo(
            "127.0.0.1:1".parse::<SocketAddr>().unwrap(),
        ))
        .oneshot(
            Request::get(protocol::HEALTH_PATH)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (status, _, body) = call(
        loopback_router(agent.clone()),
        Method::GET,
        protocol::HEALTH_PATH,
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let health: protocol::Health = serde_json::from_str(&body).unwrap();
    assert_eq!(health.tasks, 0);
    // The task port has no admin routes at all.
    let (status, _, _) = call(task_router(agent), Method::GET, protocol::HEALTH_PATH, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn registration_goes_through_the_admin_api_and_leaves_nothing_when_undone() {
    let agent = test_agent();
    let body = serde_json::to_string(&awsvpc_registration()).unwrap();
    let task_path = format!(
        "{}/{}",
        protocol::TASKS_PATH,
        crate::protocol::task_id(TASK_ARN)
    );
    let router = || loopback_router(agent.clone());
    let (status, _, _) = call(router(), Method::PUT, "/ecs-run-local/tasks/other", &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, text) = call(router(), Method::PUT, &task_path, &body).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    assert_eq!(
        get_json(&agent, "/v4/endpoint-id/task").await["KnownStatus"],
        "NONE"
    );
    let (status, _, _) = call(
        router(),
        Method::PUT,
        &format!("{task_path}/desired-status"),
        r#"{"desiredStatus":"STOPPED"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        get_json(&agent, "/v4/endpoint-id/task").await["DesiredStatus"],
        "STOPPED"
    );
    let (status, _, _) = call(router(), Method::DELETE, &task_path, "").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = call(router(), Method::DELETE, &task_path, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let registry = agent.state.read();
    assert!(registry.tasks.is_empty() && registry.endpoints.is_empty());
    assert!(registry.credentials.is_empty() && registry.addresses.is_empty());
}

#[test]
fn another_task_cannot_take_an_endpoint_or_credentials_id() {
    let state = state::State::default();
    state.register(awsvpc_registration()).unwrap();
    let mut other = awsvpc_registration();
    other.task_arn = other.task_arn.replace("158d1c80", "00000000");
    assert!(matches!(
        state.register(other.clone()),
        Err(state::RegisterError::EndpointTaken(_))
    ));
    other.containers[1].endpoint_id = Some("other-endpoint".into());
    assert!(matches!(
        state.register(other),
        Err(state::RegisterError::CredentialsTaken(_))
    ));
}

#[test]
fn the_task_status_follows_its_containers() {
    let agent = awsvpc_agent();
    let id = crate::protocol::task_id(TASK_ARN).to_owned();
    let status = |agent: &Agent| agent.state.read().tasks[&id].known_status();
    assert_eq!(status(&agent), "RUNNING");
    let mut stopped = observed("nginx-curl", "app-docker-id", "");
    stopped.inspected.status = ContainerStatus::Stopped;
    stopped.inspected.exit_code = Some(3);
    stopped.inspected.finished_at = parse_time("2018-02-01T21:00:05Z");
    agent.state.observe(stopped.clone(), now());
    assert_eq!(status(&agent), "RUNNING");
    let mut pause = observed("~internal~ecs~pause", "pause-docker-id", CALLER);
    pause.inspected.status = ContainerStatus::Stopped;
    agent.state.observe(pause, now());
    assert_eq!(status(&agent), "STOPPED");
    let registry = agent.state.read();
    let task = &registry.tasks[&id];
    assert_eq!(task.execution_stopped_at, Some(now()));
    let body = serde_json::to_value(metadata::container(task, 1, metadata::Version::V4)).unwrap();
    assert_eq!(body["ExitCode"], 3);
    assert_eq!(body["DesiredStatus"], "STOPPED");
    assert_eq!(body["FinishedAt"], "2018-02-01T21:00:05Z");
    // A stopped task's address is free for another task.
    assert!(registry.addresses.is_empty());
}

#[test]
fn health_reports_status_changes_with_their_time() {
    let agent = test_agent();
    let mut registration = awsvpc_registration();
    registration.containers[1].has_health_check = true;
    agent.state.register(registration).unwrap();
    let at = |s: &str| parse_time(s).unwrap();
    let mut app = observed("nginx-curl", "app-docker-id", "");
    app.health = Some((HealthState::Unknown, 0, String::new()));
    agent.state.observe(app.clone(), at("2018-02-01T21:00:00Z"));
    app.health = Some((HealthState::Unhealthy, 1, "boom".into()));
    agent.state.observe(app.clone(), at("2018-02-01T21:00:10Z"));
    agent.state.observe(app.clone(), at("2018-02-01T21:00:20Z"));
    let id = crate::protocol::task_id(TASK_ARN).to_owned();
    let body = {
        let registry = agent.state.read();
        serde_json::to_string(
            &metadata::container(&registry.tasks[&id], 1, metadata::Version::V4).health,
        )
        .unwrap()
    };
    assert_eq!(
        body,
        r#"{"status":"UNHEALTHY","statusSince":"2018-02-01T21:00:10Z","exitCode":1,"output":"boom"}"#
    );
    app.health = Some((HealthState::Healthy, 0, "ok".into()));
    agent.state.observe(app, at("2018-02-01T21:00:30Z"));
    let registry = agent.state.read();
    let health = metadata::container(&registry.tasks[&id], 1, metadata::Version::V4).health;
    assert_eq!(
        serde_json::to_string(&health).unwrap(),
        r#"{"status":"HEALTHY","statusSince":"2018-02-01T21:00:30Z","exitCode":1,"output":"ok"}"#
    );
}

#[test]
fn bridge_ports_and_networks_come_from_docker_with_host_ip_in_v4_only() {
    let agent = test_agent();
    let mut registration = awsvpc_registration();
    registration.network_mode = "bridge".into();
    registration.containers.remove(0);
    registration.containers[0].ports = vec!["80/tcp".into()];
    agent.state.register(registration).unwrap();
    let mut app = observed("nginx-curl", "app-docker-id", "169.254.170.130");
    app.inspected.bindings = ["0.0.0.0", "::"]
        .into_iter()
        .map(|ip| Binding {
            container_port: 80,
            protocol: "tcp".into(),
            host_port: 32768,
            host_ip: ip.into(),
        })
        .collect();
    agent.state.observe(app, now());
    let registry = agent.state.read();
    let task = registry.tasks.values().next().unwrap();
    let v3 = serde_json::to_value(metadata::container(task, 0, metadata::Version::V3)).unwrap();
    assert_eq!(
        v3["Ports"],
        serde_json::json!([{"ContainerPort":80,"Protocol":"tcp","HostPort":32768}])
    );
    assert_eq!(
        v3["Networks"],
        serde_json::json!([{"NetworkMode":"bridge","IPv4Addresses":["169.254.170.130"]}])
    );
    let v4 = serde_json::to_value(metadata::container_v4(task, 0)).unwrap();
    assert_eq!(v4["Ports"][1]["HostIp"], "::");
    let v2 = serde_json::to_value(metadata::container(task, 0, metadata::Version::V2)).unwrap();
    assert!(
        v2.get("Networks").is_none(),
        "v2 reports awsvpc networks only"
    );
    assert_eq!(
        registry
            .task_at("169.254.170.130")
            .map(super::state::TaskEntry::id),
        Some(task.id())
    );
}

#[test]
fn a_task_whose_containers_are_all_removed_is_forgotten() {
    let agent = awsvpc_agent();
    agent.state.removed("pause-docker-id");
    assert_eq!(agent.state.read().tasks.len(), 1);
    agent.state.removed("app-docker-id");
    let registry = agent.state.read();
    assert!(registry.tasks.is_empty() && registry.docker_ids.is_empty());
}

#[tokio::test]
async fn introspection_lists_tasks_on_the_loopback_port_only() {
    let agent = awsvpc_agent();
    let (status, _, body) = call_from(
        loopback_router(agent.clone()),
        HOST,
        Method::GET,
        "/v1/tasks",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let ours: Value = serde_json::from_str(&body).unwrap();
    let theirs = fixture_json("doc-introspection-v1-tasks.json");
    let top = |v: &Value| {
        v["Tasks"][0]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(top(&ours), top(&theirs));
    let (status, _, body) = call_from(
        loopback_router(agent.clone()),
        HOST,
        Method::GET,
        "/v1/tasks?dockerid=nope",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        r#"{"Arn":"","KnownStatus":"","Family":"","Version":"","Containers":null}"#
    );
    let (status, _, body) = call_from(
        loopback_router(agent.clone()),
        HOST,
        Method::GET,
        "/v1/tasks?dockerid=app-docker",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(TASK_ARN));
    let (status, _, body) = call_from(
        loopback_router(agent.clone()),
        HOST,
        Method::GET,
        "/v1/metadata",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&body)
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, ["Cluster", "ContainerInstanceArn", "Version"]);
    assert_eq!(get(&agent, "/v1/tasks").await.0, StatusCode::NOT_FOUND);
}

const OTHER_ARN: &str =
    "arn:aws:ecs:us-west-2:111122223333:task/default/0000000000000000000000000000000b";
/// A bridge container's address, in the range task containers get.
const OTHER_IP: &str = "169.254.170.130";

fn role_credentials(role: &str) -> Credentials {
    Credentials {
        role_arn: role.into(),
        ..placeholder_credentials()
    }
}

/// The documentation's awsvpc task (role `app`, at [`CALLER`]) and a bridge
/// task of role `other` at [`OTHER_IP`], both with their credentials.
fn two_tasks_agent() -> Agent {
    let agent = awsvpc_agent();
    let mut other = awsvpc_registration();
    other.task_arn = OTHER_ARN.into();
    other.network_mode = "bridge".into();
    other.containers.remove(0);
    other.containers[0].endpoint_id = Some("other-endpoint".into());
    other.credentials_id = Some("other-credentials-id".into());
    other.role_arn = Some("arn:aws:iam::111122223333:role/other".into());
    agent.state.register(other).unwrap();
    let mut app = observed("nginx-curl", "other-docker-id", OTHER_IP);
    app.task_arn = OTHER_ARN.into();
    agent.state.observe(app, now());
    agent
        .state
        .push_credentials("credentials-id", role_credentials("app-credentials"));
    agent.state.push_credentials(
        "other-credentials-id",
        role_credentials("other-credentials"),
    );
    agent
}

async fn get_from(agent: &Agent, from: &str, path: &str) -> (StatusCode, String) {
    let (status, _, body) =
        call_from(task_router(agent.clone()), from, Method::GET, path, "").await;
    (status, body)
}

#[tokio::test]
async fn the_seeds_aliases_answer_with_the_callers_own_role_only() {
    let agent = two_tasks_agent();
    let wrong_id = (
        StatusCode::BAD_REQUEST,
        endpoint_fixture("agent-test-credentials-v2-error-not-found-400.json"),
    );
    let role_of = |(status, body): (StatusCode, String)| {
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()["RoleArn"].clone()
    };
    for (from, own, own_arn, other, other_arn) in [
        (
            CALLER,
            "app",
            "app-credentials",
            "other",
            "arn:aws:iam::111122223333:role/other",
        ),
        (
            OTHER_IP,
            "other",
            "other-credentials",
            "app",
            "arn:aws:iam::111122223333:role/app",
        ),
    ] {
        // Another task's role, by name or by ARN: a wrong id.
        assert_eq!(
            get_from(&agent, from, &format!("/role/{other}")).await,
            wrong_id,
            "{from}"
        );
        assert_eq!(
            get_from(&agent, from, &format!("/role-arn/{other_arn}")).await,
            wrong_id,
            "{from}"
        );
        assert_eq!(
            get_from(&agent, from, "/role/nobody").await,
            wrong_id,
            "{from}"
        );
        // Its own, by name, by ARN and as `/creds`.
        let arn = format!("arn:aws:iam::111122223333:role/{own}");
        for path in [
            format!("/role/{own}"),
            format!("/role-arn/{arn}"),
            "/creds".to_owned(),
        ] {
            assert_eq!(
                role_of(get_from(&agent, from, &path).await),
                own_arn,
                "{from}{path}"
            );
        }
    }
    // A caller that is no task's has no role at all.
    for path in ["/creds", "/role/app", "/role/other"] {
        assert_eq!(
            get_from(&agent, "169.254.170.200", path).await,
            wrong_id,
            "{path}"
        );
    }
}

#[tokio::test]
async fn v2_by_docker_id_answers_for_the_callers_own_task_only() {
    let agent = two_tasks_agent();
    // Another task's container is an unknown id, byte for byte.
    for (path, unknown) in [
        ("/v2/metadata/other-docker-id", "/v2/metadata/nope"),
        ("/v2/stats/other-docker-id", "/v2/stats/nope"),
    ] {
        let (status, body) = get_from(&agent, CALLER, path).await;
        let (unknown_status, unknown_body) = get_from(&agent, CALLER, unknown).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            (status, body),
            (
                unknown_status,
                unknown_body.replace("nope", "other-docker-id")
            ),
            "{path}"
        );
    }
    let (status, body) = get_from(&agent, OTHER_IP, "/v2/metadata/app-docker-id").await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::BAD_REQUEST,
            r#""Unable to generate metadata for container 'app-docker-id'""#
        )
    );
    // Each task still reads its own containers.
    let (status, body) = get_from(&agent, OTHER_IP, "/v2/metadata/other-docker-id").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.starts_with(r#"{"DockerId":"other-docker-id","#),
        "{body}"
    );
    assert_eq!(
        get_json(&agent, "/v2/metadata/app-docker-id").await["DockerId"],
        "app-docker-id"
    );
}

#[tokio::test]
async fn the_loopback_port_serves_the_host_only() {
    let agent = two_tasks_agent();
    let paths = [
        "/v1/tasks",
        "/v1/metadata",
        protocol::HEALTH_PATH,
        "/v4/endpoint-id",
        "/v2/credentials/credentials-id",
        "/no/such/route",
    ];
    // The host: through Docker's proxy from the gateway, or from loopback.
    for from in [HOST, "127.0.0.1"] {
        for path in paths {
            let (status, _, body) =
                call_from(loopback_router(agent.clone()), from, Method::GET, path, "").await;
            let expected = if path == "/no/such/route" {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            };
            assert_eq!(status, expected, "{from}{path}: {body}");
        }
    }
    // Task containers: an address of the task range (known or not), or one
    // a registered container holds.
    for from in [OTHER_IP, "169.254.170.250", CALLER] {
        for path in paths {
            let (status, content_type, body) =
                call_from(loopback_router(agent.clone()), from, Method::GET, path, "").await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{from}{path}");
            assert_eq!(content_type, "application/json");
            assert_eq!(
                body, r#"{"error":"the agent's loopback port serves the host only"}"#,
                "{from}{path}"
            );
        }
        let (status, _, _) = call_from(
            loopback_router(agent.clone()),
            from,
            Method::PUT,
            "/ecs-run-local/credentials/credentials-id",
            &serde_json::to_string(&placeholder_credentials()).unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{from}");
    }
    assert_eq!(
        agent.state.read().credentials["credentials-id"]
            .credentials
            .as_ref()
            .map(|c| c.role_arn.as_str()),
        Some("app-credentials")
    );
    // Without a peer address, nothing.
    let response = loopback_router(agent.clone())
        .oneshot(Request::get("/v1/tasks").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // The task port has no introspection at all, whoever asks.
    for from in [HOST, OTHER_IP] {
        assert_eq!(
            get_from(&agent, from, "/v1/tasks").await.0,
            StatusCode::NOT_FOUND
        );
    }
}

/// A neighbour table in which every address was seen from one container's
/// link: the one that added the others' addresses to its interface.
#[expect(clippy::unnecessary_wraps, reason = "an `access::Neighbours`")]
fn borrowed(_: &str) -> Option<String> {
    Some("02:42:a9:fe:aa:99".to_owned())
}

#[tokio::test]
async fn a_container_that_took_another_tasks_address_gets_nothing_of_that_task() {
    let agent = Agent {
        neighbours: borrowed,
        ..two_tasks_agent()
    };
    let wrong_id = (
        StatusCode::BAD_REQUEST,
        endpoint_fixture("agent-test-credentials-v2-error-not-found-400.json"),
    );
    for from in [CALLER, OTHER_IP] {
        for path in ["/creds", "/role/app", "/role/other"] {
            assert_eq!(get_from(&agent, from, path).await, wrong_id, "{from}{path}");
        }
        let (status, body) = get_from(&agent, from, "/v2/metadata").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{from}: {body}");
        assert!(body.contains("unable to associate"), "{body}");
    }
    // By id, as the SDKs ask, nothing changes.
    let (status, _) = get_from(&agent, OTHER_IP, "/v2/credentials/other-credentials-id").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn while_a_container_that_may_rewrite_its_link_runs_no_answer_goes_by_address() {
    let agent = two_tasks_agent();
    // A third task whose container was granted NET_ADMIN, running.
    let mut rewriter = awsvpc_registration();
    rewriter.task_arn =
        "arn:aws:ecs:us-west-2:111122223333:task/default/0000000000000000000000000000000c".into();
    rewriter.network_mode = "bridge".into();
    rewriter.containers.remove(0);
    rewriter.containers[0].endpoint_id = Some("rewriter-endpoint".into());
    rewriter.containers[0].may_rewrite_link = true;
    rewriter.credentials_id = None;
    rewriter.role_arn = None;
    let rewriter_arn = rewriter.task_arn.clone();
    agent.state.register(rewriter).unwrap();
    let mut app = observed("nginx-curl", "rewriter-docker-id", "169.254.170.140");
    app.task_arn = rewriter_arn;
    agent.state.observe(app.clone(), now());
    let wrong_id = (
        StatusCode::BAD_REQUEST,
        endpoint_fixture("agent-test-credentials-v2-error-not-found-400.json"),
    );
    for from in [CALLER, OTHER_IP] {
        assert_eq!(get_from(&agent, from, "/creds").await, wrong_id, "{from}");
        let (status, _) = get_from(&agent, from, "/v2/metadata").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{from}");
    }
    // Introspection on the loopback port then needs the agent's token.
    let bare = |from: &'static str| {
        let router = loopback_router(agent.clone()).layer(MockConnectInfo(
            format!("{from}:40000").parse::<SocketAddr>().unwrap(),
        ));
        async move {
            router
                .oneshot(
                    Request::builder()
                        .uri("/v1/tasks")
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(bare(HOST).await, StatusCode::FORBIDDEN);
    let (status, _, _) = call_from(
        loopback_router(agent.clone()),
        HOST,
        Method::GET,
        "/v1/tasks",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Once it stops, answers by address are back.
    app.inspected.status = ContainerStatus::Stopped;
    agent.state.observe(app, now());
    let (status, _) = get_from(&agent, OTHER_IP, "/creds").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bare(HOST).await, StatusCode::OK);
}

#[tokio::test]
async fn the_loopback_port_refuses_every_network_address_but_the_bridges() {
    let agent = two_tasks_agent();
    // An address of the network outside the task range, which a container
    // can give itself.
    for from in ["169.254.170.50", "169.254.170.3", "169.254.170.127"] {
        let (status, _, _) = call_from(
            loopback_router(agent.clone()),
            from,
            Method::GET,
            "/v1/tasks",
            "",
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{from}");
    }
    // The gateway's address, claimed by a container: its link is one the
    // engine gave a container, not the bridge's.
    let claimed = Agent {
        neighbours: |_| Some(MAC.to_owned()),
        ..agent.clone()
    };
    let (status, _, _) =
        call_from(loopback_router(claimed), HOST, Method::GET, "/v1/tasks", "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
