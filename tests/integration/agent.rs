//! The agent as containers see it: task metadata v2/v3/v4 from inside
//! bridge, awsvpc and host-mode tasks, its 404s, credentials that cannot be
//! guessed, and the agent under load and across many registrations.

use std::time::{Duration, Instant};

use ecs_run_local::testing::AgentClient;
use ecs_run_local::testing::{self as protocol, Credentials, TaskRegistration};
use serde_json::{Value, json};

use crate::docker_harness::{
    Moto, Running, Session, block, container, container_env, container_id, engine, free_port,
    http_get, start, start_with_env,
};

const STARTUP: Duration = Duration::from_secs(90);
const AGENT_PORT: u16 = ecs_run_local::testing::DEFAULT_AGENT_LOOPBACK_PORT;

/// The payload of the line `<container> | <mark> <payload>` in `stdout`.
fn marked(stdout: &str, container: &str, mark: &str) -> String {
    let prefix = format!("{container} | {mark} ");
    stdout
        .lines()
        .find_map(|line| line.trim_end().strip_prefix(&prefix).map(str::to_owned))
        .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{stdout}"))
}

fn marked_json(stdout: &str, container: &str, mark: &str) -> Value {
    let text = marked(stdout, container, mark);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{mark}: {e}: {text}"))
}

/// A raw request from inside a container: status line and body, one line
/// each (busybox `nc` stops reading when its input ends, hence the sleep).
fn raw_get(host_port: &str, path: &str, mark: &str) -> String {
    format!(
        "r=$( (printf \"GET {path} HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n\"; sleep 1) | nc {host_port}); \
         echo \"{mark}-STATUS $(echo \"$r\" | head -1 | tr -d '\\r')\"; \
         echo \"{mark}-BODY $(echo \"$r\" | tail -1)\"; "
    )
}

/// The script that prints what a container sees of its task.
const READ_METADATA: &str = "\
    until wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task >/tmp/task 2>/dev/null \
      && grep -q '\"Revision\":\"1\",\"DesiredStatus\":\"RUNNING\",\"KnownStatus\":\"RUNNING\"' /tmp/task; \
      do sleep 0.2; done; \
    echo \"V4TASK $(cat /tmp/task)\"; \
    echo \"V4CONTAINER $(wget -qO- $ECS_CONTAINER_METADATA_URI_V4)\"; \
    echo \"V3TASK $(wget -qO- $ECS_CONTAINER_METADATA_URI/task)\"; \
    echo \"V3CONTAINER $(wget -qO- $ECS_CONTAINER_METADATA_URI)\"; \
    echo \"MYIP $(hostname -i | cut -d' ' -f1)\"; ";

fn check_metadata(stdout: &str, family: &str, names: &[&str], own_ip: &str) {
    let task = marked_json(stdout, "app", "V4TASK");
    assert_eq!(task["Family"], family, "{task}");
    assert_eq!(task["Revision"], "1");
    assert_eq!(task["KnownStatus"], "RUNNING", "{task}");
    let listed: Vec<&str> = task["Containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, names);
    let me = marked_json(stdout, "app", "V4CONTAINER");
    assert_eq!(me["Name"], "app");
    assert_eq!(me["Networks"][0]["IPv4Addresses"][0], own_ip, "{me}");
    assert!(me["DockerId"].as_str().unwrap().len() == 64, "{me}");
    let v3 = marked_json(stdout, "app", "V3TASK");
    assert_eq!(v3["TaskARN"], task["TaskARN"]);
    assert!(v3.get("LaunchType").is_none(), "v3 has no v4 fields: {v3}");
    let v3_container = marked_json(stdout, "app", "V3CONTAINER");
    assert_eq!(v3_container["DockerId"], me["DockerId"]);
}

#[test]
fn a_bridge_container_reads_its_task_from_every_metadata_version() {
    let s = Session::new("meta-bridge");
    let script = format!(
        "{READ_METADATA} \
         echo \"V2TASK $(wget -qO- http://169.254.170.2/v2/metadata)\"; \
         echo \"V4STATS $(wget -qO- $ECS_CONTAINER_METADATA_URI_V4/stats)\"; \
         echo \"V4TASKSTATS $(wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task/stats)\"; \
         {} {} echo CHECKS-DONE; sleep 300",
        raw_get("169.254.170.2 80", "/v4/not-an-endpoint/task", "UNKNOWN"),
        raw_get(
            "169.254.170.2 80",
            "/v4/not-an-endpoint/nothing-here",
            "NOROUTE"
        ),
    );
    let mut app = container("app", &script);
    app["logConfiguration"] = json!({ "logDriver": "awslogs", "options": {
        "awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "ecs" } });
    let side = container("aux", "sleep 300");
    let path = s.write(&json!([app, side]), &json!({ "networkMode": "bridge" }));
    let mut run = start([path]);
    run.wait_for("app | CHECKS-DONE", STARTUP);
    let stdout = run.stdout();
    let own_ip = marked(&stdout, "app", "MYIP");
    assert!(own_ip.starts_with("169.254.170."), "{own_ip}");
    check_metadata(&stdout, &s.family, &["app", "aux"], &own_ip);
    let v2 = marked_json(&stdout, "app", "V2TASK");
    assert_eq!(v2["Family"], s.family.as_str());
    assert_eq!(v2["Containers"].as_array().unwrap().len(), 2);
    assert_eq!(
        marked(&stdout, "app", "UNKNOWN-STATUS"),
        "HTTP/1.0 404 Not Found"
    );
    assert_eq!(
        marked(&stdout, "app", "UNKNOWN-BODY"),
        "\"V4 task metadata handler: unable to get task arn from request: unable to get task Arn from v3 endpoint ID: not-an-endpoint\""
    );
    assert_eq!(marked(&stdout, "app", "NOROUTE-BODY"), "404 page not found");
    // Docker's stats in the agent's shape, with v4's network rates.
    let me = marked_json(&stdout, "app", "V4CONTAINER");
    // awslogs with a prefix: the stream ECS names, as ECS reports it.
    let task_arn = marked_json(&stdout, "app", "V4TASK")["TaskARN"]
        .as_str()
        .unwrap()
        .to_owned();
    let task_id = task_arn.rsplit('/').next().unwrap();
    assert_eq!(me["LogDriver"], "awslogs", "{me}");
    assert_eq!(
        me["LogOptions"]["awslogs-stream"],
        format!("ecs/app/{task_id}"),
        "{me}"
    );
    let stats = marked_json(&stdout, "app", "V4STATS");
    assert_eq!(stats["id"], me["DockerId"]);
    assert!(
        stats["cpu_stats"]["cpu_usage"]["total_usage"]
            .as_u64()
            .unwrap()
            > 0,
        "{stats}"
    );
    assert!(
        stats["networks"]["eth0"]["rx_bytes"].as_u64().is_some(),
        "{stats}"
    );
    assert!(
        stats["network_rate_stats"]["rx_bytes_per_sec"].is_number(),
        "{stats}"
    );
    let task_stats = marked_json(&stdout, "app", "V4TASKSTATS");
    let task = marked_json(&stdout, "app", "V4TASK");
    let ids: Vec<&Value> = task["Containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["DockerId"])
        .collect();
    let keys: Vec<Value> = task_stats
        .as_object()
        .unwrap()
        .keys()
        .map(|k| Value::from(k.as_str()))
        .collect();
    assert_eq!(keys.len(), 2, "{task_stats}");
    assert!(ids.iter().all(|id| keys.contains(id)), "{task_stats}");
    run.interrupt();
    assert_eq!(run.wait().code, Some(130));
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn an_awsvpc_container_reads_its_task_with_the_pause_container_and_its_address() {
    let s = Session::new("meta-awsvpc");
    let script = format!(
        "{READ_METADATA} echo \"V2TASK $(wget -qO- http://169.254.170.2/v2/metadata)\"; \
         echo CHECKS-DONE; sleep 300"
    );
    let app = container("app", &script);
    let side = container("aux", "sleep 300");
    let extra = json!({
        "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": "256", "memory": "512"
    });
    let path = s.write(&json!([app, side]), &extra);
    let mut run = start([path]);
    run.wait_for("app | CHECKS-DONE", STARTUP);
    let stdout = run.stdout();
    let own_ip = marked(&stdout, "app", "MYIP");
    check_metadata(
        &stdout,
        &s.family,
        &["~internal~ecs~pause", "app", "aux"],
        &own_ip,
    );
    let task = marked_json(&stdout, "app", "V4TASK");
    assert_eq!(task["LaunchType"], "FARGATE");
    assert_eq!(task["Limits"], json!({ "CPU": 0.25, "Memory": 512 }));
    assert_eq!(task["Containers"][0]["Type"], "CNI_PAUSE");
    let network = &task["Containers"][1]["Networks"][0];
    assert_eq!(network["NetworkMode"], "awsvpc");
    assert_eq!(network["IPv4SubnetCIDRBlock"], "169.254.170.0/24");
    assert!(
        network["MACAddress"].as_str().unwrap().len() == 17,
        "{network}"
    );
    // v2 finds the task by the caller's address: the pause container's.
    let v2 = marked_json(&stdout, "app", "V2TASK");
    assert_eq!(v2["TaskARN"], task["TaskARN"]);
    run.interrupt();
    assert_eq!(run.wait().code, Some(130));
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn a_host_mode_container_reaches_the_loopback_uris() {
    let s = Session::new("meta-host");
    let app = container(
        "app",
        "until wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task >/tmp/task 2>/dev/null; do sleep 0.2; done; \
         echo \"V4TASK $(cat /tmp/task)\"; echo \"URI $ECS_CONTAINER_METADATA_URI_V4\"; exit 0",
    );
    let path = s.write(&json!([app]), &json!({ "networkMode": "host" }));
    let out = start([path]).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        marked(&out.stdout, "app", "URI")
            .starts_with(&format!("http://127.0.0.1:{AGENT_PORT}/v4/")),
        "{out:?}"
    );
    assert_eq!(
        marked_json(&out.stdout, "app", "V4TASK")["Family"],
        s.family.as_str()
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

/// The agent's admin client, with the token read out of its container.
fn agent_client() -> AgentClient {
    let token = block(engine().get_file(
        ecs_run_local::testing::AGENT_CONTAINER,
        protocol::TOKEN_FILE,
    ))
    .expect("the agent holds its token");
    AgentClient::new(
        AGENT_PORT,
        String::from_utf8(token).unwrap().trim().to_owned(),
    )
}

#[test]
fn credentials_are_served_to_their_task_and_cannot_be_guessed() {
    let moto = Moto::start();
    let s = Session::new("creds");
    let own = "$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
    let script = format!(
        "{} {} echo WAITING; \
         until wget -qO- http://169.254.170.2{own} 2>/dev/null | grep -q ASIATESTTESTTESTTEST; \
           do sleep 0.2; done; \
         echo \"PUSHED $(wget -qO- http://169.254.170.2{own})\"; echo CHECKS-DONE; sleep 300",
        raw_get("169.254.170.2 80", own, "OWN"),
        raw_get(
            "169.254.170.2 80",
            "/v2/credentials/6f1c9e42-5e0c-4b7e-9d0a-3f4f2b6f8e11",
            "GUESS"
        ),
    );
    let app = container("app", &script);
    let extra = json!({
        "networkMode": "bridge",
        "taskRoleArn": "arn:aws:iam::123456789012:role/app-role"
    });
    let path = s.write(&json!([app]), &extra);
    let mut run = start_with_env([path], &moto.env());
    run.wait_for("app | WAITING", STARTUP);
    let stdout = run.stdout();
    // The task's own id: the assumed role's credentials.
    assert_eq!(marked(&stdout, "app", "OWN-STATUS"), "HTTP/1.0 200 OK");
    let own_body: Value = serde_json::from_str(&marked(&stdout, "app", "OWN-BODY")).unwrap();
    assert_eq!(
        own_body["RoleArn"],
        "arn:aws:iam::123456789012:role/app-role"
    );
    // Any other id: the agent's 400, whatever task asks.
    assert_eq!(
        marked(&stdout, "app", "GUESS-STATUS"),
        "HTTP/1.0 400 Bad Request"
    );
    assert_eq!(
        marked(&stdout, "app", "GUESS-BODY"),
        r#"{"code":"InvalidIdInRequest","message":"CredentialsV2Request: Credentials not found","HTTPErrorCode":400}"#
    );
    // Credentials pushed over the admin API replace them under the same id.
    let uri = container_env(&s.family, "app", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    let id = uri.strip_prefix("/v2/credentials/").unwrap();
    let credentials = Credentials {
        role_arn: "arn:aws:iam::123456789012:role/app-role".into(),
        access_key_id: "ASIATESTTESTTESTTEST".into(),
        secret_access_key: "not-a-real-secret".into(),
        token: "not-a-real-token".into(),
        expiration: "2030-01-01T00:00:00Z".into(),
    };
    block(agent_client().push_credentials(id, &credentials)).unwrap();
    run.wait_for("app | CHECKS-DONE", STARTUP);
    let served = marked_json(&run.stdout(), "app", "PUSHED");
    assert_eq!(served["AccessKeyId"], "ASIATESTTESTTESTTEST");
    run.interrupt();
    let out = run.wait();
    assert_eq!(out.code, Some(130));
    let secret = own_body["SecretAccessKey"].as_str().unwrap();
    assert!(!out.stderr.contains(secret), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

const ROLE_A: &str = "arn:aws:iam::123456789012:role/app-role";
const ROLE_B: &str = "arn:aws:iam::123456789012:role/other-role";
/// The agent's body for a credentials id it does not know.
const WRONG_ID: &str = r#"{"code":"InvalidIdInRequest","message":"CredentialsV2Request: Credentials not found","HTTPErrorCode":400}"#;

/// Task A: a bridge task with role A, running until the test ends. Returns
/// the run and the Docker id of its container.
fn start_task_a(s: &Session, moto: &Moto) -> (Running, String) {
    let app = container("app", "echo UP; sleep 300");
    let path = s.write(
        &json!([app]),
        &json!({ "networkMode": "bridge", "taskRoleArn": ROLE_A }),
    );
    let mut run = start_with_env([path], &moto.env());
    run.wait_for("app | UP", STARTUP);
    let id = container_id(&s.family, "app");
    (run, id)
}

/// What a container of another task tries against task A (its role, its
/// container `a_id`, the agent's host-only port), once its own task runs.
fn probe_task_a(a_id: &str) -> String {
    let arn_a = ROLE_A;
    format!(
        "until wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task >/tmp/task 2>/dev/null \
           && grep -q '\"Revision\":\"1\",\"DesiredStatus\":\"RUNNING\",\"KnownStatus\":\"RUNNING\"' /tmp/task; \
           do sleep 0.2; done; \
         me=$(wget -qO- $ECS_CONTAINER_METADATA_URI_V4 | sed -n 's/.*\"DockerId\":\"\\([0-9a-f]*\\)\".*/\\1/p'); \
         {} {} {} {} {} {} {} {} {} {} {} echo CHECKS-DONE; sleep 300",
        raw_get("169.254.170.2 80", "/role/app-role", "ROLE-A"),
        raw_get("169.254.170.2 80", &format!("/role-arn/{arn_a}"), "ARN-A"),
        raw_get("169.254.170.2 80", "/role/other-role", "ROLE-B"),
        raw_get("169.254.170.2 80", "/creds", "CREDS"),
        raw_get(
            "169.254.170.2 80",
            &format!("/v2/metadata/{a_id}"),
            "META-A"
        ),
        raw_get("169.254.170.2 80", &format!("/v2/stats/{a_id}"), "STATS-A"),
        raw_get("169.254.170.2 80", "/v2/metadata/$me", "META-OWN"),
        raw_get("169.254.170.2 51679", "/v1/tasks", "TASKS"),
        raw_get("169.254.170.2 51679", "/v1/metadata", "AGENT"),
        raw_get("169.254.170.2 51679", protocol::HEALTH_PATH, "ADMIN"),
        raw_get(
            "169.254.170.2 51679",
            &format!("/v2/metadata/{a_id}"),
            "LOOPBACK-META-A"
        ),
    )
}

/// What the probe saw of task A: nothing but the agent's errors for a wrong
/// id, and a refusal on the host-only port.
fn check_probe(stdout: &str, a_id: &str, a_arn: &str) {
    for mark in ["ROLE-A", "ARN-A"] {
        assert_eq!(
            marked(stdout, "probe", &format!("{mark}-STATUS")),
            "HTTP/1.0 400 Bad Request",
            "{mark}"
        );
        assert_eq!(
            marked(stdout, "probe", &format!("{mark}-BODY")),
            WRONG_ID,
            "{mark}"
        );
    }
    assert_eq!(
        marked(stdout, "probe", "META-A-STATUS"),
        "HTTP/1.0 400 Bad Request"
    );
    assert_eq!(
        marked(stdout, "probe", "META-A-BODY"),
        format!("\"Unable to generate metadata for container '{a_id}'\"")
    );
    assert_eq!(
        marked(stdout, "probe", "STATS-A-STATUS"),
        "HTTP/1.0 400 Bad Request"
    );
    assert_eq!(
        marked(stdout, "probe", "STATS-A-BODY"),
        format!("\"Unable to get container stats for: {a_id}\"")
    );
    // Its own container, by its own Docker id.
    assert_eq!(
        marked(stdout, "probe", "META-OWN-STATUS"),
        "HTTP/1.0 200 OK"
    );
    let own: Value = serde_json::from_str(&marked(stdout, "probe", "META-OWN-BODY")).unwrap();
    assert_eq!(own["Name"], "probe", "{own}");
    for mark in ["TASKS", "AGENT", "ADMIN", "LOOPBACK-META-A"] {
        assert_eq!(
            marked(stdout, "probe", &format!("{mark}-STATUS")),
            "HTTP/1.0 403 Forbidden",
            "{mark}"
        );
        let body = marked(stdout, "probe", &format!("{mark}-BODY"));
        assert!(
            !body.contains(a_arn) && !body.contains(a_id),
            "{mark}: {body}"
        );
    }
}

/// Runs task A, then task B (`extra`) whose `probe` container tries to get
/// at A; checks what B saw and returns B's output.
fn probe_from_another_task(name: &str, extra: &Value) -> String {
    let moto = Moto::start();
    let a = Session::new("own-a");
    let b = a.sibling(name);
    let (run_a, a_id) = start_task_a(&a, &moto);
    // The host reads introspection through the published port.
    let found: Value =
        serde_json::from_str(&http_get(AGENT_PORT, &format!("/v1/tasks?dockerid={a_id}"))).unwrap();
    let a_arn = found["Arn"].as_str().unwrap().to_owned();
    assert!(a_arn.contains(":task/"), "{found}");
    let probe = container("probe", &probe_task_a(&a_id));
    let path = b.write(&json!([probe]), extra);
    let mut run_b = start_with_env([path], &moto.env());
    run_b.wait_for("probe | CHECKS-DONE", STARTUP);
    let stdout = run_b.stdout();
    // The host still reads introspection and the admin API.
    let tasks = http_get(AGENT_PORT, "/v1/tasks");
    assert!(tasks.contains(&a_arn), "{tasks}");
    block(agent_client().health()).unwrap();
    run_b.interrupt();
    run_a.interrupt();
    assert_eq!(run_b.wait().code, Some(130));
    assert_eq!(run_a.wait().code, Some(130));
    // Shown when a check fails.
    eprintln!("task B's output:\n{stdout}");
    check_probe(&stdout, &a_id, &a_arn);
    assert_eq!(b.leftovers(), Vec::<String>::new());
    assert_eq!(a.leftovers(), Vec::<String>::new());
    stdout
}

#[test]
fn a_bridge_task_gets_only_its_own_role_and_containers_and_no_introspection() {
    let stdout = probe_from_another_task(
        "own-bridge",
        &json!({ "networkMode": "bridge", "taskRoleArn": ROLE_B }),
    );
    // Its own role, by name and from `/creds`.
    for mark in ["ROLE-B", "CREDS"] {
        assert_eq!(
            marked(&stdout, "probe", &format!("{mark}-STATUS")),
            "HTTP/1.0 200 OK",
            "{mark}"
        );
        let body: Value =
            serde_json::from_str(&marked(&stdout, "probe", &format!("{mark}-BODY"))).unwrap();
        assert_eq!(body["RoleArn"], ROLE_B, "{mark}");
    }
}

#[test]
fn an_awsvpc_task_without_a_role_gets_no_credentials_nor_another_tasks_containers() {
    let stdout = probe_from_another_task(
        "own-awsvpc",
        &json!({ "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                 "cpu": "256", "memory": "512" }),
    );
    for mark in ["ROLE-B", "CREDS"] {
        assert_eq!(
            marked(&stdout, "probe", &format!("{mark}-STATUS")),
            "HTTP/1.0 400 Bad Request",
            "{mark}"
        );
        assert_eq!(
            marked(&stdout, "probe", &format!("{mark}-BODY")),
            WRONG_ID,
            "{mark}"
        );
    }
}

#[test]
fn a_host_mode_task_reads_its_credentials_from_the_full_uri_with_its_token_only() {
    let moto = Moto::start();
    let s = Session::new("host-creds");
    let app = container(
        "app",
        &format!(
            "echo \"WITH-TOKEN $(wget -qO- --header \"Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN\" \
               $AWS_CONTAINER_CREDENTIALS_FULL_URI)\"; \
             path=${{AWS_CONTAINER_CREDENTIALS_FULL_URI#http://127.0.0.1:{AGENT_PORT}}}; \
             {} {} exit 0",
            raw_get(&format!("127.0.0.1 {AGENT_PORT}"), "$path", "NO-TOKEN"),
            raw_get(&format!("127.0.0.1 {AGENT_PORT}"), "/creds", "CREDS"),
        ),
    );
    let path = s.write(
        &json!([app]),
        &json!({ "networkMode": "host", "taskRoleArn": ROLE_A }),
    );
    let out = start_with_env([path], &moto.env()).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    let served = marked_json(&out.stdout, "app", "WITH-TOKEN");
    assert_eq!(served["RoleArn"], ROLE_A, "{out:?}");
    for mark in ["NO-TOKEN", "CREDS"] {
        assert_eq!(
            marked(&out.stdout, "app", &format!("{mark}-STATUS")),
            "HTTP/1.0 400 Bad Request",
            "{mark}"
        );
        assert_eq!(
            marked(&out.stdout, "app", &format!("{mark}-BODY")),
            WRONG_ID,
            "{mark}"
        );
    }
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

/// A registration with `containers` containers, none of which exists.
fn synthetic_task(n: usize, containers: usize) -> TaskRegistration {
    let id = format!("{n:032x}");
    let containers = (0..containers)
        .map(|c| protocol::ContainerRegistration {
            name: format!("c{c}"),
            docker_name: format!("ecs-load-1-c{c}-{id}"),
            endpoint_id: Some(format!("load-{n}-{c}")),
            image: "busybox".into(),
            kind: "NORMAL".into(),
            essential: c == 0,
            cpu: 128,
            memory: 64,
            labels: (0..8)
                .map(|l| (format!("label-{l}"), "x".repeat(64)))
                .collect(),
            log_driver: Some("awslogs".into()),
            log_options: (0..4)
                .map(|l| (format!("opt-{l}"), "y".repeat(64)))
                .collect(),
            container_arn: format!("arn:aws:ecs:us-east-1:000000000000:container/load/{id}/{c}"),
            has_health_check: false,
            restart_policy_enabled: false,
            ports: vec!["80/tcp".into()],
            may_rewrite_link: false,
        })
        .collect();
    TaskRegistration {
        task_arn: format!("arn:aws:ecs:us-east-1:000000000000:task/load/{id}"),
        cluster: "load".into(),
        family: "load".into(),
        revision: "1".into(),
        network_mode: "bridge".into(),
        launch_type: "EC2".into(),
        availability_zone: "us-east-1a".into(),
        service_name: "load".into(),
        cpu: None,
        memory: None,
        tags: std::collections::BTreeMap::default(),
        pull_started_at: None,
        pull_stopped_at: None,
        credentials_id: Some(format!("load-credentials-{n}")),
        role_arn: Some("arn:aws:iam::000000000000:role/load".into()),
        authorization_token: None,
        containers,
    }
}

/// `requests` GETs of `path` over `connections` keep-alive connections; the
/// number of answers that were not 200, and the time it took.
async fn hammer(path: &str, connections: usize, requests: usize) -> (usize, Duration) {
    use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
    let begun = Instant::now();
    let per_connection = requests / connections;
    let workers = (0..connections).map(|_| {
        let path = path.to_owned();
        tokio::spawn(async move {
            let mut failures = 0;
            let stream = tokio::net::TcpStream::connect(("127.0.0.1", AGENT_PORT))
                .await
                .expect("the agent accepts a connection");
            let mut stream = tokio::io::BufReader::new(stream);
            for _ in 0..per_connection {
                let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
                if stream
                    .get_mut()
                    .write_all(request.as_bytes())
                    .await
                    .is_err()
                {
                    failures += 1;
                    continue;
                }
                let mut status = String::new();
                let mut length = 0usize;
                let mut line = String::new();
                loop {
                    line.clear();
                    if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                        break;
                    }
                    if status.is_empty() {
                        status = line.clone();
                    } else if let Some(v) =
                        line.to_ascii_lowercase().strip_prefix("content-length:")
                    {
                        length = v.trim().parse().unwrap_or(0);
                    } else if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                let read = stream.read_exact(&mut body).await;
                if read.is_err() || !status.contains(" 200 ") {
                    failures += 1;
                }
            }
            failures
        })
    });
    let failures = futures_util::future::join_all(workers)
        .await
        .into_iter()
        .map(|r| r.unwrap_or(per_connection))
        .sum();
    (failures, begun.elapsed())
}

#[test]
fn the_agent_takes_10000_requests_on_200_connections_and_keeps_its_memory_over_100_registrations() {
    // A running task makes sure the agent of this build is up.
    let s = Session::new("load");
    let app = container("app", "echo UP; sleep 300");
    let path = s.write(&json!([app]), &json!({ "networkMode": "bridge" }));
    let mut run = start([path]);
    run.wait_for("app | UP", STARTUP);
    let agent = agent_client();

    let load = synthetic_task(0, 3);
    block(agent.register(&load)).unwrap();
    let (failures, elapsed) = block(hammer("/v4/load-0-1/task", 200, 10_000));
    eprintln!(
        "agent load: 10000 requests on 200 connections in {elapsed:?} ({:.0} requests/s), {failures} failed",
        10_000.0 / elapsed.as_secs_f64()
    );
    assert_eq!(failures, 0);

    let cycle = |n: usize| {
        let task = synthetic_task(n, 10);
        block(agent.register(&task)).unwrap();
        let body: Value = block(agent.get_json(&format!("/v4/load-{n}-3/task"))).unwrap();
        assert_eq!(body["Containers"].as_array().unwrap().len(), 10);
        block(agent.deregister(ecs_run_local::testing::task_id(&task.task_arn))).unwrap();
    };
    for n in 1..=20 {
        cycle(n);
    }
    let before = block(agent.health()).unwrap();
    for n in 21..=120 {
        cycle(n);
    }
    let after = block(agent.health()).unwrap();
    block(agent.deregister(ecs_run_local::testing::task_id(&load.task_arn))).unwrap();
    let growth = after.rss_bytes.saturating_sub(before.rss_bytes);
    eprintln!(
        "agent memory: {} KiB after 20 register/deregister cycles, {} KiB after 100 more ({} KiB growth)",
        before.rss_bytes / 1024,
        after.rss_bytes / 1024,
        growth / 1024
    );
    // What 100 leaked registrations of 10 containers would hold is several
    // MiB; a flat agent stays well under one.
    assert!(growth < 1024 * 1024, "{before:?} → {after:?}");
    // Deregistered tasks are gone from every index.
    let gone = block(agent.get_json::<Value>("/v4/load-120-3/task"));
    assert!(gone.is_err(), "{gone:?}");
    run.interrupt();
    assert_eq!(run.wait().code, Some(130));
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn the_metadata_file_becomes_ready_with_the_containers_ports_and_address() {
    let s = Session::new("metadata-file");
    let script = "until grep -q '\"MetadataFileStatus\": \"READY\"' \"$ECS_CONTAINER_METADATA_FILE\" 2>/dev/null; \
                  do sleep 0.1; done; \
                  echo \"FILE $(tr -d '\\n\\t' < \"$ECS_CONTAINER_METADATA_FILE\")\"; \
                  echo \"MYIP $(hostname -i | cut -d' ' -f1)\"; exit 0";
    for mode in ["bridge", "awsvpc"] {
        let port = free_port();
        let mut app = container("app", script);
        app["readonlyRootFilesystem"] = json!(true);
        app["portMappings"] = json!([{ "containerPort": port, "hostPort": port }]);
        let path = s.write(&json!([app]), &json!({ "networkMode": mode }));
        let out = start(["--metadata-file".as_ref(), path.as_os_str()]).wait();
        assert_eq!(out.code, Some(0), "{mode}: {out:?}");
        let file = marked_json(&out.stdout, "app", "FILE");
        assert_eq!(file["ContainerName"], "app", "{file}");
        assert_eq!(file["TaskDefinitionFamily"], s.family.as_str(), "{file}");
        assert_eq!(file["TaskDefinitionRevision"], "1", "{file}");
        assert!(
            file["TaskARN"]
                .as_str()
                .unwrap()
                .starts_with("arn:aws:ecs:"),
            "{file}"
        );
        assert_eq!(file["ContainerID"].as_str().unwrap().len(), 64, "{file}");
        assert_eq!(
            file["PortMappings"],
            json!([{ "ContainerPort": port, "HostPort": port, "BindIp": "0.0.0.0", "Protocol": "tcp" }]),
            "{file}"
        );
        assert_eq!(file["Networks"][0]["NetworkMode"], mode, "{file}");
        assert_eq!(
            file["Networks"][0]["IPv4Addresses"][0].as_str().unwrap(),
            marked(&out.stdout, "app", "MYIP"),
            "{file}"
        );
        assert_eq!(file["MetadataFileStatus"], "READY");
        assert_eq!(s.leftovers(), Vec::<String>::new());
    }
    // Without the flag there is no file.
    let path = s.write(
        &json!([container(
            "app",
            "echo \"NOFILE [$ECS_CONTAINER_METADATA_FILE]\""
        )]),
        &json!({}),
    );
    let out = start([&path]).wait();
    assert!(out.stdout.contains("app | NOFILE []"), "{out:?}");
}
