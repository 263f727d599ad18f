//! `FireLens` as ECS wires it, with real clients: Docker's fluentd driver on
//! the router's socket, a Fluent logger speaking the forward protocol over
//! TCP to `FLUENT_HOST:FLUENT_PORT`, a router that runs as a non-root user,
//! and the bad input and failures ECS refuses or reports.

use std::time::Duration;

use serde_json::{Value, json};

use crate::docker_harness::{
    Moto, Session, block, container, container_env, container_id, engine, firelens_router_image,
    start, start_with_env, the_error_line,
};

const STARTUP: Duration = Duration::from_secs(90);

/// The tests' router: prints its user, then listens on the socket and, for
/// the forward input the configuration declares, on TCP 24224.
fn router(user: Option<&str>) -> Value {
    let mut router = json!({
        "name": "log_router",
        "image": firelens_router_image(),
        "essential": true,
        "memory": 64,
        "stopTimeout": 2,
        "entryPoint": ["sh", "-c"],
        "command": ["echo ROUTER-UID $(id -u); cat /fluent-bit/etc/fluent-bit.conf; \
                     exec /receiver /var/run/fluent.sock 24224"],
        "firelensConfiguration": { "type": "fluentbit" },
    });
    if let Some(user) = user {
        router["user"] = json!(user);
    }
    router
}

/// An app that logs a line to stdout (the fluentd driver) and one event
/// with a Fluent logger to `FLUENT_HOST:FLUENT_PORT`.
fn app() -> Value {
    json!({
        "name": "app",
        "image": firelens_router_image(),
        "essential": true,
        "memory": 64,
        "stopTimeout": 2,
        "entryPoint": ["sh", "-c"],
        "command": ["sleep 1; echo hello-driver; /fluent-send app-firelens-tcp hello-forward; sleep 300"],
        "logConfiguration": { "logDriver": "awsfirelens", "options": { "Name": "stdout" } },
    })
}

#[test]
fn a_non_root_router_owns_its_socket_and_a_fluent_logger_reaches_it_over_tcp_in_bridge_mode() {
    let s = Session::new("firelens-tcp");
    let path = s.write(
        &json!([app(), router(Some("1000"))]),
        &json!({ "networkMode": "bridge" }),
    );
    let mut run = start([&path]);
    // The router runs as 1000 and still opens its socket: the driver's
    // line arrives, tagged as ECS tags it…
    run.wait_for("log_router | ROUTER-UID 1000", STARTUP);
    run.wait_for("RECEIVED hello-driver", STARTUP);
    // …and the Fluent logger's event arrives over TCP at the router's address.
    run.wait_for("RECEIVED hello-forward", STARTUP);
    let stdout = run.stdout();
    assert!(stdout.contains("RECEIVED app-firelens-tcp"), "{stdout}");
    let host = container_env(&s.family, "app", "FLUENT_HOST");
    assert_eq!(container_env(&s.family, "app", "FLUENT_PORT"), "24224");
    let router_address = block(engine().inspect_raw(&container_id(&s.family, "log_router")))
        .unwrap()
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default()
        .values()
        .find_map(|n| n.ip_address.clone().filter(|a| !a.is_empty()))
        .unwrap();
    assert_eq!(host, router_address);
    assert!(
        stdout.contains(&format!("| SENT hello-forward to {host}:24224")),
        "{stdout}"
    );
    // The configuration's TCP input listens everywhere in bridge mode.
    for line in ["|     Listen 0.0.0.0", "|     Port 24224"] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    run.interrupt();
    let out = run.wait();
    assert_eq!(out.code, Some(130), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn a_router_user_named_in_its_image_owns_the_socket_and_loggers_reach_127_0_0_1_in_awsvpc() {
    let s = Session::new("firelens-awsvpc");
    let path = s.write(
        &json!([app(), router(Some("fluent"))]),
        &json!({ "networkMode": "awsvpc" }),
    );
    let mut run = start([&path]);
    run.wait_for("log_router | ROUTER-UID 1000", STARTUP);
    run.wait_for("RECEIVED hello-driver", STARTUP);
    run.wait_for("RECEIVED hello-forward", STARTUP);
    assert_eq!(container_env(&s.family, "app", "FLUENT_HOST"), "127.0.0.1");
    let stdout = run.stdout();
    assert!(
        stdout.contains("| SENT hello-forward to 127.0.0.1:24224"),
        "{stdout}"
    );
    assert!(stdout.contains("|     Listen 127.0.0.1"), "{stdout}");
    run.interrupt();
    let out = run.wait();
    assert_eq!(out.code, Some(130), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn a_router_user_its_image_lacks_is_one_error_line_exit_2_and_nothing_started() {
    let s = Session::new("firelens-nouser");
    let path = s.write(
        &json!([app(), router(Some("fluentbit"))]),
        &json!({ "networkMode": "bridge" }),
    );
    let out = start([&path]).wait();
    assert_eq!(out.code, Some(2), "{out:?}");
    let line = the_error_line(&out.stderr);
    assert!(
        line.contains("the log router `log_router` runs as `fluentbit`")
            && line.contains(firelens_router_image())
            && line.contains("no user `fluentbit` in /etc/passwd"),
        "{line}"
    );
    assert!(!out.stdout.contains("app |"), "{out:?}");
    assert!(!out.stdout.contains("log_router |"), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn an_essential_router_that_exits_before_its_socket_stops_the_task_before_its_loggers_start() {
    let s = Session::new("firelens-exit");
    let mut router = router(None);
    router["command"] = json!(["echo ROUTER-FAILS; exit 3"]);
    let path = s.write(&json!([app(), router]), &json!({ "networkMode": "bridge" }));
    let out = start([&path]).wait();
    assert_eq!(out.code, Some(3), "{out:?}");
    assert!(
        out.stderr
            .contains("essential container `log_router` exited with 3"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("app |"), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn a_non_essential_router_that_exits_is_a_warning_naming_the_containers_whose_logs_are_lost() {
    let s = Session::new("firelens-lost");
    let mut router = router(None);
    router["essential"] = json!(false);
    router["command"] = json!(["exit 3"]);
    let mut app = container("app", "echo STILL-RUNS; sleep 300");
    app["logConfiguration"] =
        json!({ "logDriver": "awsfirelens", "options": { "Name": "stdout" } });
    let path = s.write(&json!([app, router]), &json!({ "networkMode": "awsvpc" }));
    let mut run = start([&path]);
    run.wait_for("| STILL-RUNS", STARTUP);
    run.interrupt();
    let out = run.wait();
    assert_eq!(out.code, Some(130), "{out:?}");
    assert!(
        out.stderr.contains(
            "the log router `log_router` exited with 3 before it opened /var/run/fluent.sock; it is not essential, the task goes on, and the logs of `app` are lost"
        ),
        "{out:?}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn an_s3_configuration_and_secret_options_reach_the_router_as_ecs_hands_them_over() {
    let moto = Moto::start();
    let config = moto.sdk_config();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    block(s3.create_bucket().bucket("log-config").send()).unwrap();
    block(
        s3.put_object()
            .bucket("log-config")
            .key("extra.conf")
            .body(b"# external-from-s3\n".to_vec().into())
            .send(),
    )
    .unwrap();
    let ssm = aws_sdk_ssm::Client::new(&config);
    block(
        ssm.put_parameter()
            .name("/logs/token")
            .value("tok-123")
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send(),
    )
    .unwrap();
    let s = Session::new("firelens-s3");
    let mut router = router(None);
    router["command"] = json!([
        "cat /fluent-bit/etc/fluent-bit.conf /fluent-bit/etc/external.conf; \
         echo \"ROUTER-TOKEN $token_0\"; exec /receiver /var/run/fluent.sock"
    ]);
    router["firelensConfiguration"]["options"] = json!({
        "config-file-type": "s3", "config-file-value": "arn:aws:s3:::log-config/extra.conf" });
    let mut app = container("app", "echo hello-s3; sleep 300");
    app["logConfiguration"] = json!({ "logDriver": "awsfirelens",
        "options": { "Name": "http", "Host": "logs.example.com" },
        "secretOptions": [{ "name": "token", "valueFrom": "/logs/token" }] });
    let path = s.write(&json!([app, router]), &json!({ "networkMode": "awsvpc" }));
    let path = path.to_string_lossy().into_owned();
    let mut run = start_with_env([path.as_str()], &moto.env());
    run.wait_for("RECEIVED hello-s3", STARTUP);
    let stdout = run.stdout();
    for line in [
        "|     token ${token_0}",
        "| @INCLUDE /fluent-bit/etc/external.conf",
        "| # external-from-s3",
        "| ROUTER-TOKEN tok-123",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    run.interrupt();
    let out = run.wait();
    assert_eq!(out.code, Some(130), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn an_essential_router_that_runs_without_opening_its_socket_fails_the_task() {
    let s = Session::new("firelens-silent");
    let mut router = router(None);
    router["command"] = json!(["echo SILENT; exec sleep 300"]);
    let path = s.write(&json!([app(), router]), &json!({ "networkMode": "awsvpc" }));
    let out = start([&path]).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(
        the_error_line(&out.stderr),
        "ecs-run-local: error: the log router `log_router` did not open /var/run/fluent.sock within 30s of its start; stopping the task"
    );
    assert!(!out.stdout.contains("| hello-driver"), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}
