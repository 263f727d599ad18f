//! AWS against a real local server (moto): the task role assumed from the
//! user's credentials, served to the containers and refreshed.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::docker_harness::{
    Moto, Session, block, container, container_env, http_get, start_with_env, task_id_of,
    the_error_line,
};

const STARTUP: Duration = Duration::from_secs(90);
const ROLE: &str = "arn:aws:iam::123456789012:role/app-role";

/// Every `KEY <access key id>` a container printed.
fn keys_of(stdout: &str, container: &str) -> BTreeSet<String> {
    let prefix = format!("{container} | KEY ");
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix).map(|k| k.trim().to_owned()))
        .filter(|k| !k.is_empty())
        .collect()
}

#[test]
fn two_tasks_of_one_family_each_get_a_session_of_their_own_named_after_the_task() {
    let moto = Moto::start();
    let s = Session::new("sessions");
    let mut runs = Vec::new();
    // Two tasks of the family, each with its own container name to find it by.
    for name in ["one", "two"] {
        let path = s.write(
            &json!([container(name, "echo UP; sleep 300")]),
            &json!({ "networkMode": "bridge", "taskRoleArn": ROLE }),
        );
        let copy = s.path(&format!("{name}.json"));
        std::fs::rename(&path, &copy).unwrap();
        let mut run = start_with_env([copy.to_string_lossy().into_owned()], &moto.env());
        run.wait_for(&format!("{name} | UP"), STARTUP);
        runs.push(run);
    }
    let mut identities = BTreeSet::new();
    for name in ["one", "two"] {
        let uri = container_env(&s.family, name, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        let served: Value = serde_json::from_str(&http_get(
            ecs_run_local::testing::DEFAULT_AGENT_LOOPBACK_PORT,
            &uri,
        ))
        .unwrap();
        let task_id = task_id_of(&s.family, name);
        let identity = caller_identity(&moto, &served);
        assert_eq!(
            identity,
            format!("arn:aws:sts::123456789012:assumed-role/app-role/{task_id}")
        );
        // One AssumeRole for the task's session.
        assert_eq!(moto.assumed_role_keys(&task_id).len(), 1);
        identities.insert(identity);
    }
    assert_eq!(identities.len(), 2, "{identities:?}");
    for run in runs {
        run.interrupt();
        let out = run.wait();
        assert_eq!(out.code, Some(130), "{out:?}");
    }
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

/// Who moto's STS says these credentials are.
fn caller_identity(moto: &Moto, credentials: &Value) -> String {
    let provider = aws_sdk_sts::config::Credentials::new(
        credentials["AccessKeyId"].as_str().unwrap(),
        credentials["SecretAccessKey"].as_str().unwrap(),
        credentials["Token"].as_str().map(str::to_owned),
        None,
        "task-role",
    );
    let config = aws_sdk_sts::config::Builder::new()
        .behavior_version_latest()
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .endpoint_url(moto.endpoint())
        .credentials_provider(provider)
        .build();
    let client = aws_sdk_sts::Client::from_conf(config);
    block(client.get_caller_identity().send())
        .expect("moto answers GetCallerIdentity")
        .arn
        .unwrap_or_default()
}

#[test]
fn the_task_role_is_assumed_served_and_refreshed_once_per_window() {
    let moto = Moto::start();
    let s = Session::new("role");
    // Both containers ask for the credentials every half second.
    let poll = "while true; do \
        { wget -qO- http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; echo; } \
          | sed -n 's/.*\"AccessKeyId\":\"\\([^\"]*\\)\".*/KEY \\1/p'; \
        sleep 0.5; done";
    let app = container("app", poll);
    let aux = container("aux", poll);
    let path = s.write(
        &json!([app, aux]),
        &json!({ "networkMode": "bridge", "taskRoleArn": ROLE }),
    );
    let path = path.to_string_lossy().into_owned();
    let mut run = start_with_env([path.as_str(), "--role-duration", "20s"], &moto.env());
    run.wait_for("app | KEY ", STARTUP);

    // The credentials the agent serves are the assumed role's.
    let uri = container_env(&s.family, "app", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    let served: Value = serde_json::from_str(&http_get(
        ecs_run_local::testing::DEFAULT_AGENT_LOOPBACK_PORT,
        &uri,
    ))
    .unwrap();
    assert_eq!(served["RoleArn"], ROLE);
    let identity = caller_identity(&moto, &served);
    // The session is the task's, named after its id as ECS names it.
    let task_id = task_id_of(&s.family, "app");
    assert_eq!(
        identity,
        format!("arn:aws:sts::123456789012:assumed-role/app-role/{task_id}")
    );

    // Twenty-second sessions are refreshed four seconds before they end:
    // wait for the third session.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while keys_of(&run.stdout(), "app").len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "no third session:\n{}",
            run.stdout()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    run.interrupt();
    let out = run.wait();
    assert_eq!(out.code, Some(130), "{out:?}");
    let seen: BTreeSet<String> = keys_of(&out.stdout, "app")
        .union(&keys_of(&out.stdout, "aux"))
        .cloned()
        .collect();
    // One AssumeRole per session, however many containers ask: each call
    // gives a new access key, and the containers saw every one of them (the
    // last may have come as the task stopped).
    let calls = moto.assumed_role_keys(&task_id);
    assert!(calls.len() >= 3, "{calls:?}");
    let unseen: Vec<&String> = calls.iter().filter(|k| !seen.contains(*k)).collect();
    assert!(
        unseen.len() <= 1,
        "{} AssumeRole calls, seen {seen:?}",
        calls.len()
    );
    assert!(seen.iter().all(|k| calls.contains(k)), "{seen:?} {calls:?}");
    assert!(
        !out.stdout
            .contains(served["SecretAccessKey"].as_str().unwrap())
            && !out
                .stderr
                .contains(served["SecretAccessKey"].as_str().unwrap()),
        "the secret key leaked into the output"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn a_role_that_cannot_be_assumed_fails_before_anything_starts() {
    let moto = Moto::start_enforcing_auth();
    let s = Session::new("badrole");
    let app = container("app", "sleep 300");
    let path = s.write(&json!([app]), &json!({ "taskRoleArn": ROLE }));
    let path = path.to_string_lossy().into_owned();
    let out = start_with_env([path.as_str()], &moto.env()).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("error"))
        .unwrap_or_default();
    assert!(
        line.contains(&format!("cannot assume the task role `{ROLE}`"))
            && line.contains("the default credentials"),
        "{out:?}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());

    // The same for an execution role asked to be assumed.
    let mut app = container("app", "sleep 300");
    app["secrets"] = json!([{ "name": "TOKEN", "valueFrom": "/app/token" }]);
    let path = s.write(&json!([app]), &json!({ "executionRoleArn": ROLE }));
    let path = path.to_string_lossy().into_owned();
    let out = start_with_env([path.as_str(), "--execution-role", "assume"], &moto.env()).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "error: cannot assume the execution role `{ROLE}` with the default credentials: "
        )),
        "{out:?}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn ssm_and_secrets_manager_secrets_reach_the_environment_and_never_the_plan() {
    let moto = Moto::start();
    let config = moto.sdk_config();
    let ssm = aws_sdk_ssm::Client::new(&config);
    block(
        ssm.put_parameter()
            .name("/app/greeting")
            .value("hello-from-ssm")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send(),
    )
    .unwrap();
    block(
        ssm.put_parameter()
            .name("db-password")
            .value("s3cret-ssm")
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send(),
    )
    .unwrap();
    let sm = aws_sdk_secretsmanager::Client::new(&config);
    let plain = block(
        sm.create_secret()
            .name("api-key")
            .secret_string("k-123")
            .send(),
    )
    .unwrap()
    .arn
    .unwrap();
    let document = block(
        sm.create_secret()
            .name("db")
            .secret_string(r#"{"user":"app-user","password":"s3cret-sm"}"#)
            .send(),
    )
    .unwrap()
    .arn
    .unwrap();

    let s = Session::new("secrets");
    let mut app = container(
        "app",
        "echo \"GOT $GREETING|$DB_PASSWORD|$API_KEY|$DB_USER|$DB_PASS\"; \
         { wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task; echo; } | sed -n 's/.*\"TaskARN\":\"\\([^\"]*\\)\".*/TASKARN \\1/p'; \
         exit 0",
    );
    app["secrets"] = json!([
        { "name": "GREETING", "valueFrom": "/app/greeting" },
        { "name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/db-password" },
        { "name": "API_KEY", "valueFrom": plain },
        { "name": "DB_USER", "valueFrom": format!("{document}:user::") },
        { "name": "DB_PASS", "valueFrom": format!("{document}:password:AWSCURRENT:") },
    ]);
    let path = s.write(&json!([app]), &json!({ "networkMode": "bridge" }));
    let path = path.to_string_lossy().into_owned();
    let out = start_with_env([path.as_str()], &moto.env()).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout
            .contains("app | GOT hello-from-ssm|s3cret-ssm|k-123|app-user|s3cret-sm\n"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("s3cret"), "{out:?}");
    // The task ARN carries the caller's account, from STS.
    assert!(
        out.stdout
            .contains("app | TASKARN arn:aws:ecs:us-east-1:123456789012:task/default/"),
        "{out:?}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());

    // `plan` names each secret by its source, never by its value.
    let plan = start_with_env(["plan", path.as_str(), "--json"], &moto.env()).wait();
    assert_eq!(plan.code, Some(0), "{plan:?}");
    assert!(plan.stdout.contains("DB_PASSWORD"), "{plan:?}");
    assert!(
        !plan.stdout.contains("s3cret") && !plan.stdout.contains("k-123"),
        "{plan:?}"
    );
}

#[test]
fn a_missing_secret_fails_clearly_and_leaves_nothing_behind() {
    let moto = Moto::start();
    let s = Session::new("nosecret");
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf";
    let mut app = container("app", "sleep 300");
    app["secrets"] = json!([{ "name": "API_KEY", "valueFrom": missing }]);
    let path = s.write(&json!([app]), &json!({}));
    let path = path.to_string_lossy().into_owned();
    let out = start_with_env([path.as_str()], &moto.env()).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("ecs-run-local: error:"))
        .unwrap_or_default();
    assert!(
        line.contains(&format!(
            "cannot read secret `API_KEY` of container `app` from `{missing}`"
        )),
        "{out:?}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn s3_environment_files_apply_with_the_ecs_precedence_and_local_files_replace_them() {
    let moto = Moto::start();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto.sdk_config())
            .force_path_style(true)
            .build(),
    );
    block(s3.create_bucket().bucket("task-config").send()).unwrap();
    for (key, text) in [
        ("app.env", "# first file\nA=from-first\nB=from-first\n"),
        ("more.env", "B=from-second\nC=from-second\n"),
    ] {
        block(
            s3.put_object()
                .bucket("task-config")
                .key(key)
                .body(text.as_bytes().to_vec().into())
                .send(),
        )
        .unwrap();
    }
    let s = Session::new("envfiles");
    let mut app = container("app", "echo \"GOT $A|$B|$C|${D:-unset}\"; exit 0");
    app["environment"] = json!([{ "name": "A", "value": "from-environment" }]);
    app["environmentFiles"] = json!([
        { "value": "arn:aws:s3:::task-config/app.env", "type": "s3" },
        { "value": "arn:aws:s3:::task-config/more.env", "type": "s3" },
    ]);
    let path = s.write(&json!([app]), &json!({ "networkMode": "bridge" }));
    let path = path.to_string_lossy().into_owned();
    let out = start_with_env([path.as_str()], &moto.env()).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout
            .contains("app | GOT from-environment|from-first|from-second|unset\n"),
        "{out:?}"
    );

    // Offline: a local file stands in for the S3 ones, and no AWS is needed.
    let local = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(local.path(), "B=local\nD=local\n").unwrap();
    let flag = format!("app={}", local.path().display());
    let out = start_with_env(
        [path.as_str(), "--env-file", flag.as_str()],
        &[("AWS_ENDPOINT_URL", "http://127.0.0.1:1".to_owned())],
    )
    .wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout
            .contains("app | GOT from-environment|local||local\n"),
        "{out:?}"
    );
    let out = start_with_env(
        [path.as_str(), "--env-file", "nope=/tmp/x.env"],
        &moto.env(),
    )
    .wait();
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr
            .contains("`--env-file nope=/tmp/x.env` names no container of the task"),
        "{out:?}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn credentials_profile_serves_a_session_to_a_task_without_a_role_and_none_without_the_flag() {
    let moto = Moto::start();
    let s = Session::new("profile");
    let app = container(
        "app",
        "echo \"URI ${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI:-none}\"; \
         [ -n \"$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI\" ] && { wget -qO- \
           http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; echo; } \
           | sed -n 's/.*\"AccessKeyId\":\"\\([^\"]*\\)\".*/KEY \\1/p'; exit 0",
    );
    let path = s.write(&json!([app]), &json!({ "networkMode": "bridge" }));
    let path = path.to_string_lossy().into_owned();
    // As on ECS, a task without a role gets no credentials URI.
    let out = start_with_env([path.as_str()], &moto.env()).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("app | URI none\n"), "{out:?}");
    // With --credentials profile: a session of the profile (moto's
    // GetSessionToken for the long-term test keys).
    let out = start_with_env([path.as_str(), "--credentials", "profile"], &moto.env()).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("app | URI /v2/credentials/"), "{out:?}");
    let key = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("app | KEY "))
        .unwrap_or_else(|| panic!("no key served: {out:?}"));
    // The long-term test key itself never reaches the container.
    assert!(!key.is_empty() && key != "testing", "{key}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

const ECS: &str = "AmazonEC2ContainerServiceV20141113";

/// Registers a revision of `family` in moto's ECS whose container prints `GOT <label>`
/// and the task's tags as the agent serves them.
fn register(moto: &Moto, family: &str, label: &str) -> String {
    let mut app = container(
        "app",
        "echo \"GOT $LABEL\"; { wget -qO- $ECS_CONTAINER_METADATA_URI_V4/taskWithTags; echo; } \
           | sed -n 's/.*\"TaskTags\":\\({[^}]*}\\).*/TAGS \\1/p'; exit 0",
    );
    app["environment"] = json!([{ "name": "LABEL", "value": label }]);
    let out = moto.call_json(
        "ecs",
        &format!("{ECS}.RegisterTaskDefinition"),
        &json!({
            "family": family,
            "networkMode": "bridge",
            "containerDefinitions": [app],
            "tags": [{ "key": "team", "value": "payments" }],
        }),
    );
    out["taskDefinition"]["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn definitions_registered_in_ecs_run_by_family_revision_arn_and_service() {
    let moto = Moto::start();
    let s = Session::new("remote");
    let first = register(&moto, &s.family, "first");
    register(&moto, &s.family, "second");
    moto.call_json(
        "ecs",
        &format!("{ECS}.CreateCluster"),
        &json!({ "clusterName": "shop" }),
    );
    moto.call_json(
        "ecs",
        &format!("{ECS}.CreateService"),
        &json!({ "cluster": "shop", "serviceName": "checkout",
                 "taskDefinition": format!("{}:1", s.family), "desiredCount": 1 }),
    );
    let family = s.family.as_str();
    let cases: [(&[&str], &str); 4] = [
        (&["--family", family], "second"),
        (&["--family", family, "--revision", "1"], "first"),
        (&["--task-def-arn", first.as_str()], "first"),
        (&["--cluster", "shop", "--service", "checkout"], "first"),
    ];
    for (args, label) in cases {
        let out = start_with_env(args.iter().copied(), &moto.env()).wait();
        assert_eq!(out.code, Some(0), "{args:?}: {out:?}");
        assert!(
            out.stdout.contains(&format!("app | GOT {label}\n")),
            "{args:?}: {out:?}"
        );
        // DescribeTaskDefinition's tags reach taskWithTags.
        assert!(
            out.stdout.contains("app | TAGS {\"team\":\"payments\"}\n"),
            "{args:?}: {out:?}"
        );
        assert_eq!(s.leftovers(), Vec::<String>::new());
    }
    // The service names the task on the shared network.
    let plan = start_with_env(
        [
            "plan",
            "--cluster",
            "shop",
            "--service",
            "checkout",
            "--json",
        ],
        &moto.env(),
    )
    .wait();
    assert_eq!(plan.code, Some(0), "{plan:?}");
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(plan["task"]["serviceName"], "checkout", "{plan}");
    assert_eq!(plan["task"]["revision"], 1, "{plan}");

    for (args, message) in [
        (
            vec!["--family", "t-nothing-here"],
            "cannot read the latest ACTIVE revision of `t-nothing-here` from ECS with the default credentials: ",
        ),
        (
            vec!["--cluster", "shop", "--service", "nope"],
            "service `nope` was not found in cluster `shop` (MISSING)",
        ),
    ] {
        let out = start_with_env(args.iter().copied(), &moto.env()).wait();
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(out.stderr.contains(message), "{out:?}");
    }
}

#[test]
fn private_images_log_in_with_ecr_tokens_and_repository_credentials() {
    let moto = Moto::start();
    let s = Session::new("private");
    // An ECR image: the token comes from moto's ECR; the pull itself then
    // fails, as no registry is reachable here, and names the image.
    let ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com/t-private/app:1";
    let mut app = container("app", "exit 0");
    app["image"] = json!(ecr);
    let path = s.write(&json!([app]), &json!({ "networkMode": "bridge" }));
    let path = path.to_string_lossy().into_owned();
    let out = start_with_env([path.as_str()], &moto.env()).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "cannot start container `app`: image `{ecr}` is not on this machine and could not be pulled: "
        )),
        "{out:?}"
    );
    assert!(!out.stderr.contains("ECR token"), "{out:?}");

    // repositoryCredentials whose secret does not exist: one line naming
    // the container and the secret, before any pull.
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:registry-login-AbCdEf";
    let mut app = container("app", "exit 0");
    app["image"] = json!("registry.example.com/team/app:1");
    app["repositoryCredentials"] = json!({ "credentialsParameter": missing });
    let path = s.write(&json!([app]), &json!({ "networkMode": "bridge" }));
    let path = path.to_string_lossy().into_owned();
    let out = start_with_env([path.as_str()], &moto.env()).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "cannot read the repository credentials of container `app` from `{missing}`: ResourceNotFoundException"
        )),
        "{out:?}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn the_execution_role_reads_secrets_when_asked_to_be_assumed() {
    let moto = Moto::start();
    let config = moto.sdk_config();
    let ssm = aws_sdk_ssm::Client::new(&config);
    block(
        ssm.put_parameter()
            .name("/app/token")
            .value("from-ssm")
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send(),
    )
    .unwrap();
    let s = Session::new("execrole");
    let mut app = container("app", "echo \"GOT $TOKEN\"; exit 0");
    app["secrets"] = json!([{ "name": "TOKEN", "valueFrom": "/app/token" }]);
    let path = s.write(
        &json!([app]),
        &json!({ "networkMode": "bridge",
                 "executionRoleArn": "arn:aws:iam::123456789012:role/exec-role" }),
    );
    let path = path.to_string_lossy().into_owned();
    // By default the user's own credentials read the secret: no AssumeRole.
    let session = format!("ecs-run-local-{}-execution", s.family);
    let out = start_with_env([path.as_str()], &moto.env()).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("app | GOT from-ssm\n"), "{out:?}");
    assert_eq!(moto.assumed_role_keys(&session).len(), 0);
    // As ECS does: the execution role, assumed once for the run.
    let out = start_with_env([path.as_str(), "--execution-role", "assume"], &moto.env()).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("app | GOT from-ssm\n"), "{out:?}");
    assert_eq!(moto.assumed_role_keys(&session).len(), 1);
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn a_rendered_definition_registers_in_ecs_with_the_image_it_was_given() {
    let moto = Moto::start();
    let s = Session::new("render");
    register(&moto, &s.family, "first");
    let described = moto.call_json(
        "ecs",
        &format!("{ECS}.DescribeTaskDefinition"),
        &json!({ "taskDefinition": s.family, "include": ["TAGS"] }),
    );
    let path = s.path("described.json");
    std::fs::write(&path, described.to_string()).unwrap();
    let image = "ecs-run-local-test/app:abc123";
    let from_file = [
        "render",
        path.to_str().unwrap(),
        "--image",
        &format!("app={image}"),
        "-e",
        "app:STAGE=ci",
    ];
    let from_ecs = [
        "render",
        "--family",
        s.family.as_str(),
        "--image",
        image,
        "-e",
        "app:STAGE=ci",
    ];
    let mut rendered = Vec::new();
    for args in [&from_file[..], &from_ecs[..]] {
        let out = start_with_env(args, &moto.env()).wait();
        assert_eq!(out.code, Some(0), "{args:?}: {out:?}");
        let input: Value = serde_json::from_str(&out.stdout).unwrap();
        for field in [
            "taskDefinitionArn",
            "revision",
            "status",
            "requiresAttributes",
            "compatibilities",
            "registeredAt",
            "registeredBy",
            "deregisteredAt",
        ] {
            assert!(input.get(field).is_none(), "{field}: {input}");
        }
        assert_eq!(
            input["tags"],
            json!([{ "key": "team", "value": "payments" }]),
            "{input}"
        );
        rendered.push(input);
    }
    assert_eq!(rendered[0], rendered[1], "a file and ECS render alike");
    // What was rendered registers as it is, with the new image.
    let registered = moto.call_json(
        "ecs",
        &format!("{ECS}.RegisterTaskDefinition"),
        &rendered[0],
    );
    let definition = &registered["taskDefinition"];
    assert_eq!(definition["revision"], 2, "{registered}");
    let app = &definition["containerDefinitions"][0];
    assert_eq!(app["image"], image, "{registered}");
    assert_eq!(
        app["environment"],
        json!([{ "name": "LABEL", "value": "first" }, { "name": "STAGE", "value": "ci" }]),
        "{registered}"
    );
    let tags = moto.call_json(
        "ecs",
        &format!("{ECS}.DescribeTaskDefinition"),
        &json!({ "taskDefinition": format!("{}:2", s.family), "include": ["TAGS"] }),
    );
    assert_eq!(
        tags["tags"],
        json!([{ "key": "team", "value": "payments" }]),
        "{tags}"
    );

    // A lone image for a task of several containers, and an unknown one: exit 2.
    let mut two = rendered[0].clone();
    let mut sidecar = two["containerDefinitions"][0].clone();
    sidecar["name"] = json!("sidecar");
    two["containerDefinitions"]
        .as_array_mut()
        .unwrap()
        .push(sidecar);
    let two_path = s.path("two.json");
    std::fs::write(&two_path, two.to_string()).unwrap();
    for (image, message) in [
        (
            "app:new",
            format!(
                "ecs-run-local: error: `--image app:new` names no container, but the task `{}` has several (`app`, `sidecar`); write `--image CONTAINER=IMAGE`",
                s.family
            ),
        ),
        (
            "web=app:new",
            format!(
                "ecs-run-local: error: `--image web=app:new` names no container of the task `{}` (its containers: `app`, `sidecar`)",
                s.family
            ),
        ),
    ] {
        let out = start_with_env(
            ["render", two_path.to_str().unwrap(), "--image", image],
            &moto.env(),
        )
        .wait();
        assert_eq!(out.code, Some(2), "{out:?}");
        assert_eq!(the_error_line(&out.stderr), message);
    }
}
