//! Running tasks on the real engine, as ECS would: network modes, dependsOn,
//! essential exits, Ctrl-C and failures half-way, each leaving nothing behind.

use std::time::Duration;

use serde_json::json;

use crate::docker_harness::{
    Session, block, container, container_id, engine, firelens_router_image, free_port, http_get,
    start, the_error_line,
};
use crate::harness::ecs_run_local;

const STARTUP: Duration = Duration::from_secs(90);

#[test]
fn bridge_containers_reach_each_other_by_name_and_link_alias_and_ports_are_published() {
    let s = Session::new("bridge");
    let port = free_port();
    let mut server = container(
        "server",
        "mkdir -p /www && echo hello-from-server > /www/index.html && exec httpd -f -p 8080 -h /www",
    );
    server["portMappings"] = json!([{ "containerPort": 8080, "hostPort": port }]);
    let mut client = container(
        "client",
        "until wget -qO- http://server:8080/; do sleep 0.2; done; \
         wget -qO- http://backend:8080/ | sed 's/^/via-alias:/'; echo CHECKS-DONE; sleep 300",
    );
    client["links"] = json!(["server:backend"]);
    let path = s.write(
        &json!([server, client]),
        &json!({ "networkMode": "bridge" }),
    );
    let mut run = start([path]);
    run.wait_for("client | CHECKS-DONE", STARTUP);
    assert_eq!(http_get(port, "/"), "hello-from-server\n");
    run.interrupt();
    let out = run.wait();
    assert!(
        out.stdout.contains("client | hello-from-server\n"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("client | via-alias:hello-from-server\n"),
        "{out:?}"
    );
    assert_eq!(out.code, Some(130), "{out:?}");
    assert!(out.stderr.contains("stopping the task"), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn awsvpc_containers_share_localhost_and_publish_through_the_pause_container() {
    let s = Session::new("awsvpc");
    let port = free_port();
    let mut server = container(
        "server",
        &format!(
            "mkdir -p /www && echo hello-over-localhost > /www/index.html && exec httpd -f -p {port} -h /www"
        ),
    );
    server["portMappings"] = json!([{ "containerPort": port }]);
    let client = container(
        "client",
        &format!(
            "until wget -qO- http://localhost:{port}/; do sleep 0.2; done; echo CHECKS-DONE; sleep 300"
        ),
    );
    let extra = json!({ "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512" });
    let path = s.write(&json!([server, client]), &extra);
    let mut run = start([path]);
    run.wait_for("client | CHECKS-DONE", STARTUP);
    assert_eq!(http_get(port, "/"), "hello-over-localhost\n");
    run.interrupt();
    let out = run.wait();
    assert!(
        out.stdout.contains("client | hello-over-localhost\n"),
        "{out:?}"
    );
    assert_eq!(out.code, Some(130), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn host_and_none_network_modes_run() {
    let s = Session::new("host");
    let port = free_port();
    let server = container(
        "daemon",
        &format!(
            "mkdir -p /www && echo on-the-host > /www/index.html && echo \"metadata at $ECS_CONTAINER_METADATA_URI_V4\" \
             && exec httpd -f -p {port} -h /www"
        ),
    );
    let path = s.write(&json!([server]), &json!({ "networkMode": "host" }));
    let mut run = start([path]);
    run.wait_for("daemon | metadata at http://127.0.0.1:51679/v4/", STARTUP);
    assert_eq!(http_get(port, "/"), "on-the-host\n");
    run.interrupt();
    assert_eq!(run.wait().code, Some(130));
    assert_eq!(s.leftovers(), Vec::<String>::new());

    let none = Session::new("none");
    let path = none.write(
        &json!([container(
            "isolated",
            "echo interfaces: $(ls /sys/class/net); echo uri=${ECS_CONTAINER_METADATA_URI_V4:-none}"
        )]),
        &json!({ "networkMode": "none" }),
    );
    let out = start([path]).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("isolated | interfaces: lo\n"),
        "{out:?}"
    );
    assert!(out.stdout.contains("isolated | uri=none\n"), "{out:?}");
    assert_eq!(none.leftovers(), Vec::<String>::new());
}

#[test]
fn depends_on_success_and_healthy_gate_the_start() {
    let s = Session::new("depends");
    let mut init = container("init", "echo written-by-init > /shared/message");
    init["essential"] = json!(false);
    init["mountPoints"] = json!([{ "sourceVolume": "shared", "containerPath": "/shared" }]);
    let mut db = container(
        "db",
        "mkdir -p /www && sleep 2 && echo ready > /www/ready && exec httpd -f -p 8080 -h /www",
    );
    db["essential"] = json!(false);
    db["healthCheck"] = json!({ "command": ["CMD-SHELL", "test -f /www/ready"], "interval": 5, "timeout": 2, "retries": 3 });
    // The app fails (exit 1) if it starts before init wrote the file or before db is ready.
    let mut app = container(
        "app",
        "cat /shared/message || exit 1; wget -qO- http://db:8080/ready || exit 1; echo app-done",
    );
    app["mountPoints"] =
        json!([{ "sourceVolume": "shared", "containerPath": "/shared", "readOnly": true }]);
    app["dependsOn"] = json!([
        { "containerName": "init", "condition": "SUCCESS" },
        { "containerName": "db", "condition": "HEALTHY" }
    ]);
    let path = s.write(
        &json!([app, db, init]),
        &json!({ "volumes": [{ "name": "shared" }] }),
    );
    let out = start([path]).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("app  | written-by-init\n"), "{out:?}");
    assert!(out.stdout.contains("app  | ready\n"), "{out:?}");
    assert!(out.stdout.contains("app  | app-done\n"), "{out:?}");
    assert!(
        out.stderr
            .contains("`init` exited with 0; it is not essential, the task goes on"),
        "{out:?}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn a_failed_success_dependency_stops_the_task_with_a_clear_error() {
    let s = Session::new("failed-dep");
    let mut init = container("init", "echo migrating; exit 3");
    init["essential"] = json!(false);
    let mut app = container("app", "echo must-not-run");
    app["dependsOn"] = json!([{ "containerName": "init", "condition": "SUCCESS" }]);
    let sidecar = container("sidecar", "sleep 300");
    let path = s.write(&json!([init, app, sidecar]), &json!({}));
    let out = start([path]).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains(
            "ecs-run-local: error: container `app` cannot start: its dependency `init` exited with 3, and it needs SUCCESS (exit 0)"
        ),
        "{out:?}"
    );
    assert!(!out.stdout.contains("must-not-run"), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn an_essential_exit_stops_the_task_with_its_code_and_a_non_essential_one_does_not() {
    let s = Session::new("essential");
    let mut helper = container("helper", "echo helper-done; exit 0");
    helper["essential"] = json!(false);
    let main = container("main", "sleep 2; echo still-running; exit 3");
    let mut sidecar = container("sidecar", "sleep 300");
    sidecar["essential"] = json!(false);
    let path = s.write(&json!([helper, main, sidecar]), &json!({}));
    let out = start([path]).wait();
    assert_eq!(out.code, Some(3), "{out:?}");
    assert!(
        out.stderr
            .contains("`helper` exited with 0; it is not essential, the task goes on"),
        "{out:?}"
    );
    assert!(out.stdout.contains("main    | still-running\n"), "{out:?}");
    assert!(
        out.stderr
            .contains("essential container `main` exited with 3; stopping the task"),
        "{out:?}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn a_missing_image_is_one_clear_error_and_leaves_nothing() {
    let s = Session::new("missing-image");
    let first = container("first", "sleep 300");
    let mut second = container("second", "true");
    second["image"] = json!("ecs-run-local-test/not-there:1");
    let path = s.write(&json!([first, second]), &json!({}));
    let out = start(["--pull".as_ref(), "never".as_ref(), path.as_os_str()]).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.starts_with("ecs-run-local: error:"))
            .collect::<Vec<_>>(),
        [
            "ecs-run-local: error: cannot start container `second`: image `ecs-run-local-test/not-there:1` is not on this machine (and `--pull never` forbids pulling it)"
        ]
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn a_start_that_fails_half_way_leaves_nothing() {
    let s = Session::new("half-way");
    // Hold a host port so that the second container cannot publish it.
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let first = container("first", "echo first-up; sleep 300");
    let mut second = container("second", "sleep 300");
    second["portMappings"] = json!([{ "containerPort": 80, "hostPort": port }]);
    second["dependsOn"] = json!([{ "containerName": "first", "condition": "START" }]);
    let path = s.write(
        &json!([first, second]),
        &json!({ "volumes": [{ "name": "scratch" }] }),
    );
    let out = start([path]).wait();
    drop(taken);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains("ecs-run-local: error: cannot start container `second`"),
        "{out:?}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn down_removes_what_a_killed_cli_left_behind() {
    let s = Session::new("killed");
    let path = s.write(
        &json!([container("app", "echo up; sleep 300")]),
        &json!({ "volumes": [{ "name": "data" }] }),
    );
    let mut run = start([path]);
    run.wait_for("app | up", STARTUP);
    drop(run); // SIGKILL: no teardown runs
    std::thread::sleep(Duration::from_millis(500));
    assert!(!s.leftovers().is_empty(), "a killed CLI leaves its task");
    let out = start(["down"]).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.starts_with("removed "), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn a_dependency_not_reached_within_start_timeout_fails_the_start() {
    let s = Session::new("start-timeout");
    let mut db = container("db", "sleep 300");
    db["essential"] = json!(false);
    db["healthCheck"] = json!({ "command": ["CMD-SHELL", "exit 1"], "interval": 5, "retries": 10 });
    let mut app = container("app", "echo must-not-run");
    app["dependsOn"] = json!([{ "containerName": "db", "condition": "HEALTHY" }]);
    app["startTimeout"] = json!(2);
    let path = s.write(&json!([db, app]), &json!({}));
    let out = start([path]).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains(
            "ecs-run-local: error: container `app` cannot start: `db` HEALTHY was not reached within its startTimeout of 2s"
        ),
        "{out:?}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn a_second_interrupt_kills_a_task_that_ignores_sigterm() {
    let s = Session::new("kill");
    // PID 1 without an init process ignores SIGTERM; the stop timeout is long.
    let mut stubborn = container(
        "stubborn",
        "trap '' TERM; echo ignoring-sigterm; while true; do sleep 1; done",
    );
    stubborn["linuxParameters"] = json!({});
    stubborn["stopTimeout"] = json!(120);
    let path = s.write(&json!([stubborn]), &json!({}));
    let mut run = start([path]);
    run.wait_for("stubborn | ignoring-sigterm", STARTUP);
    let begun = std::time::Instant::now();
    run.interrupt();
    std::thread::sleep(Duration::from_secs(1));
    run.interrupt();
    let out = run.wait();
    assert_eq!(out.code, Some(130), "{out:?}");
    assert!(out.stderr.contains("killing the task"), "{out:?}");
    assert!(
        begun.elapsed() < Duration::from_secs(60),
        "the second Ctrl-C did not cut the 120 s stop timeout short"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

/// The README's first command, minus `cargo install`: import busybox with the
/// example script, run the bridge example, reach it from the host, Ctrl-C.
#[test]
fn the_readme_example_runs_end_to_end_without_a_registry() {
    let s = Session::for_family("web-sidecar".into());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let import = std::process::Command::new(root.join("examples/import-busybox.sh"))
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let mut run = start([root.join("examples/task-definitions/bridge-web-sidecar.json")]);
    run.wait_for("sidecar | hello from", STARTUP);
    assert!(http_get(8080, "/").starts_with("hello from "));
    run.interrupt();
    let out = run.wait();
    assert_eq!(out.code, Some(130), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

/// Slow (about 65 s): ECS's minimum `restartAttemptPeriod` is 60 s.
#[test]
fn a_container_that_ran_past_its_restart_attempt_period_is_restarted_and_counted() {
    let s = Session::new("restart");
    let mut app = container(
        "app",
        "if [ -f /tmp/ran-once ]; then \
           until wget -qO- $ECS_CONTAINER_METADATA_URI_V4 | grep -q '\"RestartCount\":1'; do sleep 0.2; done; \
           echo \"SECOND \\\"RestartCount\\\":1\"; \
           sleep 300; \
         else touch /tmp/ran-once; echo FIRST; sleep 61; exit 3; fi",
    );
    app["restartPolicy"] = json!({ "enabled": true, "restartAttemptPeriod": 60 });
    let path = s.write(&json!([app]), &json!({ "networkMode": "bridge" }));
    let mut run = start([&path]);
    run.wait_for("app | FIRST", STARTUP);
    // Exit 3 after 61 s: past the period, so restarted rather than ending the
    // task; the agent counts the restart once it sees it (a moment after).
    run.wait_for("app | SECOND \"RestartCount\":1", Duration::from_secs(120));
    run.wait_for_stderr(
        "`app` exited with 3; restarting it (restartPolicy)",
        Duration::from_secs(5),
    );
    run.interrupt();
    let out = run.wait();
    assert_eq!(out.code, Some(130), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

/// The host's file of a task cgroup's memory limit (cgroup v1 or v2).
fn task_memory_limit_file(task_id: &str) -> std::path::PathBuf {
    let root = std::path::Path::new("/sys/fs/cgroup");
    if root.join("cgroup.controllers").exists() {
        root.join(format!("ecs-run-local/{task_id}/memory.max"))
    } else {
        root.join(format!(
            "memory/ecs-run-local/{task_id}/memory.limit_in_bytes"
        ))
    }
}

#[test]
fn task_memory_limits_the_task_as_a_whole_and_an_oom_kill_is_reported_as_ecs_does() {
    let s = Session::new("task-cgroup");
    let hog = container(
        "hog",
        "echo HOG-READY; while [ ! -f /tmp/go ]; do sleep 0.2; done; exec tail /dev/zero",
    );
    let peer = container("peer", "sleep 300");
    // Neither has a memory of its own: only the task's.
    let [mut hog, mut peer] = [hog, peer];
    for c in [&mut hog, &mut peer] {
        c.as_object_mut().unwrap().remove("memory");
    }
    let path = s.write(
        &json!([hog, peer]),
        &json!({ "networkMode": "bridge", "cpu": "512", "memory": "128" }),
    );
    let mut run = start([&path]);
    run.wait_for("hog  | HOG-READY", STARTUP);
    // Both containers sit under one parent that holds the task's limit, with
    // no limit of their own.
    let parents: Vec<(String, i64)> = ["hog", "peer"]
        .iter()
        .map(|name| {
            let inspect = block(engine().inspect_raw(&container_id(&s.family, name))).unwrap();
            let host = inspect.host_config.unwrap();
            (
                host.cgroup_parent.unwrap_or_default(),
                host.memory.unwrap_or(0),
            )
        })
        .collect();
    let hog = block(engine().inspect_raw(&container_id(&s.family, "hog"))).unwrap();
    let labels = hog.config.unwrap().labels.unwrap();
    let task_id = labels["com.amazonaws.ecs.task-arn"]
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let parent = format!("/ecs-run-local/{task_id}");
    assert_eq!(parents, [(parent.clone(), 0), (parent.clone(), 0)]);
    let limit = task_memory_limit_file(&task_id);
    assert_eq!(std::fs::read_to_string(&limit).unwrap().trim(), "134217728");

    // Past the task's memory, the kernel kills the allocation: exit 137,
    // with ECS's reason in the status line.
    let go = std::process::Command::new("docker")
        .args(["exec", &container_id(&s.family, "hog"), "touch", "/tmp/go"])
        .status()
        .unwrap();
    assert!(go.success());
    let out = run.wait();
    assert_eq!(out.code, Some(137), "{out:?}");
    assert!(
        out.stderr.contains(
            "essential container `hog` exited with 137 (OutOfMemoryError: Container killed due to memory usage); stopping the task"
        ),
        "{out:?}"
    );
    // The cgroup goes with the task.
    assert!(!limit.exists(), "{} is left", limit.display());
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn awsfirelens_containers_log_through_the_task_log_router_and_to_the_terminal() {
    let s = Session::new("firelens");
    let router = json!({
        "name": "log_router",
        "image": firelens_router_image(),
        "essential": true,
        "memory": 64,
        "stopTimeout": 2,
        "entryPoint": ["sh", "-c"],
        "command": ["cat /fluent-bit/etc/fluent-bit.conf; exec /receiver /var/run/fluent.sock"],
        "firelensConfiguration": { "type": "fluentbit" },
    });
    let mut app = container("app", "sleep 1; echo hello-firelens; sleep 300");
    app["logConfiguration"] = json!({ "logDriver": "awsfirelens", "options": {
        "Name": "cloudwatch", "region": "eu-west-1", "log_group_name": "/firelens-test" } });
    let path = s.write(&json!([app, router]), &json!({ "networkMode": "bridge" }));
    let mut run = start([&path]);
    // The router got what the app wrote, tagged as ECS tags it…
    run.wait_for("RECEIVED hello-firelens", STARTUP);
    run.wait_for("app-firelens-", Duration::from_secs(5));
    let stdout = run.stdout();
    // …and the app's line still reaches the terminal, prefixed.
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("app ") && l.ends_with("| hello-firelens")),
        "{stdout}"
    );
    // The generated configuration, where Fluent Bit reads it.
    for line in [
        "|     unix_path /var/run/fluent.sock",
        "|     Match app-firelens*",
        "|     Name cloudwatch",
        "|     log_group_name /firelens-test",
        "|     Record ecs_task_arn arn:aws:ecs:",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    run.interrupt();
    let out = run.wait();
    assert_eq!(out.code, Some(130), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn a_container_that_cannot_start_among_concurrent_ones_fails_the_run_and_leaves_nothing() {
    let s = Session::new("concurrent-fail");
    let data = container("data", "sleep 300");
    let mut reader = container("reader", "sleep 300");
    reader["volumesFrom"] = json!([{ "sourceContainer": "data" }]);
    let other = container("other", "sleep 300");
    let mut broken = container("broken", "unused");
    broken["entryPoint"] = json!(["/no/such/program"]);
    // Without an init process the engine itself fails to start it.
    broken.as_object_mut().unwrap().remove("linuxParameters");
    let path = s.write(&json!([data, reader, other, broken]), &json!({}));
    let out = ecs_run_local([path.to_str().unwrap()]).run();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let line = the_error_line(&out.stderr);
    assert!(
        line.starts_with("ecs-run-local: error: cannot start container `broken`"),
        "{line}"
    );
    assert!(line.contains("/no/such/program"), "{line}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn an_agent_port_someone_else_holds_is_one_error_line_at_once_and_leaves_nothing() {
    // The agent must be created anew: no other test may run meanwhile.
    let s = Session::exclusive("agent-port");
    let down = ecs_run_local(["down", "--all"]).run();
    assert_eq!(down.code, Some(0), "{}", down.stderr);
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let path = s.write(&json!([container("app", "sleep 300")]), &json!({}));
    let out = ecs_run_local([path.to_str().unwrap(), "--agent-port", &port]).run();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        the_error_line(&out.stderr).starts_with(&format!(
            "ecs-run-local: error: cannot start the agent; is 127.0.0.1:{port} already taken?"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("address already in use"),
        "the engine's reason: {}",
        out.stderr
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
    let agents = block(
        engine().containers_labelled(&[format!("{}=agent", ecs_run_local::testing::labels::ROLE)]),
    )
    .unwrap();
    assert!(agents.is_empty(), "{agents:?}");
}

/// Podman leases a network's range up to its last address: the task
/// network's must stop at .254, short of the subnet's broadcast address
/// (169.254.170.255), which nothing could reach. Podman only: Docker never
/// hands out a subnet's broadcast address.
#[test]
fn on_podman_the_task_network_never_leases_the_broadcast_address() {
    if !engine().is_podman() {
        eprintln!("skipped: Podman's lease ranges (run it with scripts/test-podman)");
        return;
    }
    let s = Session::new("lease-range");
    let path = s.write(
        &json!([container("app", "true")]),
        &json!({ "networkMode": "bridge" }),
    );
    let out = start([&path]).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    // libpod's own inspect: the Docker API's has no lease range.
    let host = std::env::var("DOCKER_HOST").unwrap();
    let socket = host.strip_prefix("unix://").expect("a unix socket");
    let mut stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
    let request = format!(
        "GET /v4.0.0/libpod/networks/{}/json HTTP/1.0\r\nHost: podman\r\n\r\n",
        ecs_run_local::testing::NETWORK_NAME
    );
    std::io::Write::write_all(&mut stream, request.as_bytes()).unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    let network: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        network["subnets"],
        json!([{
            "subnet": "169.254.170.0/24",
            "gateway": "169.254.170.1",
            "lease_range": { "start_ip": "169.254.170.128", "end_ip": "169.254.170.254" }
        }]),
        "{network:#}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

/// Podman (4.3) sends a followed log's headers with the container's first
/// line, so a container that says nothing for longer than the engine's
/// answer bound is quiet, not an engine that stopped answering: its later
/// lines are still followed (here with the engine's bounds at 5 s).
#[test]
fn a_container_quiet_for_longer_than_the_engines_answer_bound_still_has_its_logs_followed() {
    let s = Session::new("quiet-logs");
    let path = s.write(
        &json!([container("app", "sleep 8; echo LATE-LINE; sleep 300")]),
        &json!({ "networkMode": "bridge" }),
    );
    let mut run = crate::docker_harness::start_with_env(
        [&path],
        &[("ECS_RUN_LOCAL_ENGINE_TIMEOUT", "5s".to_owned())],
    );
    run.wait_for("app | LATE-LINE", STARTUP);
    run.interrupt();
    let out = run.wait();
    assert_eq!(out.code, Some(130), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

/// Podman runs Debian's `catatonit` for `initProcessEnabled`; without it
/// the engine answers a bare 500, which the run turns into one line saying
/// what to install. Runs only where Podman has no catatonit:
/// `scripts/test-podman` hides it in a mount namespace of its own.
#[test]
fn on_podman_without_catatonit_an_init_process_is_one_line_saying_what_to_install() {
    if !engine().is_podman() || std::path::Path::new("/usr/libexec/podman/catatonit").exists() {
        eprintln!("skipped: needs Podman without catatonit (scripts/test-podman arranges it)");
        return;
    }
    let s = Session::new("no-catatonit");
    let mut app = container("app", "true");
    app["linuxParameters"] = json!({ "initProcessEnabled": true });
    let path = s.write(&json!([app]), &json!({ "networkMode": "bridge" }));
    let out = start([&path]).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(
        the_error_line(&out.stderr),
        "ecs-run-local: error: cannot create container `app`: Podman has no init binary for `initProcessEnabled` (stat /usr/libexec/podman/catatonit: no such file or directory); install it: apt-get install catatonit"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}
