//! Pre-deploy smoke tests, overrides, detached tasks that reach each other by
//! service name, and the compose export, against the real engine.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::docker_harness::{
    Session, container, http_get, httpd_only_image, start, start_with_env,
};

/// The test cases of a JUnit file, read by Python's XML parser as a CI
/// viewer would read them: `(name, failed)`. The file must validate against
/// the common JUnit XSD (`tests/fixtures/junit/JUnit.xsd`, with xmlschema
/// from `scripts/test`'s virtualenv).
fn junit_cases(path: &std::path::Path) -> Vec<(String, bool)> {
    let script = "import sys, xmlschema, xml.etree.ElementTree as ET\n\
        xmlschema.XMLSchema(sys.argv[2]).validate(sys.argv[1])\n\
        root = ET.parse(sys.argv[1]).getroot()\n\
        assert root.tag == 'testsuites', root.tag\n\
        for case in root.iter('testcase'):\n\
        \x20   failed = case.find('failure') is not None or case.find('error') is not None\n\
        \x20   print(('FAIL ' if failed else 'PASS ') + case.get('name'))\n";
    let python = std::env::var("ECS_RUN_LOCAL_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .args(["-c", script])
        .arg(path)
        .arg(crate::harness::fixtures().join("junit/JUnit.xsd"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| (l[5..].to_owned(), l.starts_with("FAIL")))
        .collect()
}

fn health(command: &str, retries: u32, start_period: u32) -> Value {
    json!({ "command": ["CMD-SHELL", command], "interval": 5, "timeout": 2,
            "retries": retries, "startPeriod": start_period })
}

#[test]
fn a_healthy_task_passes_smoke_with_its_checks_and_a_junit_report() {
    let s = Session::new("smoke-ok");
    let mut app = container("app", "echo serving; sleep 300");
    app["healthCheck"] = health("true", 1, 0);
    let mut job = container("job", "echo migrated; exit 0");
    job["essential"] = json!(false);
    app["dependsOn"] = json!([{ "containerName": "job", "condition": "SUCCESS" }]);
    let path = s.write(&json!([app, job]), &json!({ "networkMode": "bridge" }));
    let path = path.to_string_lossy().into_owned();
    let junit = s.path("report.xml");
    let junit_arg = junit.to_string_lossy().into_owned();
    let out = start([
        "smoke",
        path.as_str(),
        "--exec",
        "app",
        "--",
        "sh",
        "-c",
        "echo check-output; test -d /proc",
        ";",
        "--exec",
        "app=wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task >/dev/null",
        ";",
        "--expect-exit",
        "job=0",
        "--junit",
        junit_arg.as_str(),
    ])
    .wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("passed in"), "{out:?}");
    let app_row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("app "))
        .unwrap_or_default();
    assert!(
        app_row.contains("healthy") && app_row.ends_with("ok"),
        "{out:?}"
    );
    // Container output goes to stderr, beside the report.
    assert!(out.stderr.contains("app | serving"), "{out:?}");
    let cases = junit_cases(&junit);
    assert_eq!(
        cases,
        [
            ("container app".to_owned(), false),
            ("container job".to_owned(), false),
            (
                "exec app: sh -c echo check-output; test -d /proc".to_owned(),
                false
            ),
            (
                "exec app: sh -c wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task >/dev/null"
                    .to_owned(),
                false
            ),
        ]
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());

    // A check that fails fails the test, and the report says which.
    let out = start([
        "smoke",
        path.as_str(),
        "--json",
        "--exec",
        "app",
        "--",
        "false",
    ])
    .wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    let report: Value = serde_json::from_str(&out.stdout).expect("--json prints JSON");
    assert_eq!(report["result"], "failed");
    assert_eq!(report["checks"][0]["exitCode"], 1);
    assert_eq!(report["checks"][0]["passed"], false);
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn smoke_exec_commands_keep_their_option_like_words_up_to_a_lone_semicolon() {
    let s = Session::new("smoke-words");
    let path = s.write(
        &json!([container("app", "sleep 300")]),
        &json!({ "networkMode": "bridge" }),
    );
    let path = path.to_string_lossy().into_owned();
    let junit = s.path("report.xml");
    let junit_arg = junit.to_string_lossy().into_owned();
    // The check passes only when it is given exactly these words; the smoke
    // options after the `;` are smoke's.
    let out = start([
        "smoke",
        path.as_str(),
        "--exec",
        "app",
        "--",
        "sh",
        "-c",
        r#"test "$*" = "--timeout=5 --json -q -- --junit x""#,
        "sh",
        "--timeout=5",
        "--json",
        "-q",
        "--",
        "--junit",
        "x",
        ";",
        "--json",
        "--junit",
        junit_arg.as_str(),
        "--exec",
        "app=true",
    ])
    .wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    let report: Value = serde_json::from_str(&out.stdout).expect("--json prints JSON");
    assert_eq!(report["checks"][0]["passed"], true, "{report}");
    assert_eq!(report["checks"][0]["command"][4], "--timeout=5", "{report}");
    assert_eq!(report["checks"][1]["command"], json!(["sh", "-c", "true"]));
    assert_eq!(junit_cases(&junit).len(), 3);
    assert_eq!(s.leftovers(), Vec::<String>::new());

    // Without a `;`, an option-like word at the end is the command's, not
    // smoke's: `--timeout=1` does not cut smoke short.
    let out = start([
        "smoke",
        path.as_str(),
        "--exec",
        "app",
        "--",
        "sh",
        "-c",
        r#"sleep 3; test "$1" = --timeout=1"#,
        "sh",
        "--timeout=1",
    ])
    .wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn an_unhealthy_task_fails_smoke_naming_the_container_and_a_slow_one_times_out() {
    let s = Session::new("smoke-bad");
    let mut app = container("app", "sleep 300");
    app["healthCheck"] = health("echo db is down; exit 1", 1, 0);
    let mut aux = container("aux", "sleep 300");
    aux["essential"] = json!(false);
    let path = s.write(&json!([app, aux]), &json!({ "networkMode": "bridge" }));
    let path = path.to_string_lossy().into_owned();
    let junit = s.path("report.xml");
    let junit_arg = junit.to_string_lossy().into_owned();
    let out = start(["smoke", path.as_str(), "--junit", junit_arg.as_str()]).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("FAILED: `app` is unhealthy"), "{out:?}");
    // Docker's last check runs, with their exit codes and output.
    assert!(
        out.stdout
            .contains("\napp: last health checks\n  exit 1: db is down\n"),
        "{out:?}"
    );
    // `aux` was ready (RUNNING) some time after the start; `app` never was.
    let column = out
        .stdout
        .lines()
        .next()
        .unwrap()
        .find("READY AFTER")
        .unwrap();
    let ready = |name: &str| {
        let row = out.stdout.lines().find(|l| l.starts_with(name)).unwrap();
        row[column..].split_whitespace().next().unwrap().to_owned()
    };
    assert!(ready("aux").ends_with('s'), "{out:?}");
    assert_eq!(ready("app"), "-", "{out:?}");
    assert!(
        junit_cases(&junit).contains(&("container app".to_owned(), true)),
        "{}",
        std::fs::read_to_string(&junit).unwrap()
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());

    // An essential container that exited shows its last lines.
    let mut app = container(
        "app",
        "echo booting; echo 'fatal: no config'; sleep 1; exit 3",
    );
    app["healthCheck"] = health("exit 1", 3, 60);
    let aux = container("aux", "sleep 300");
    let crashing = s.write(&json!([app, aux]), &json!({ "networkMode": "bridge" }));
    let out = start(["smoke".as_ref(), crashing.as_os_str()]).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stdout
            .contains("\napp: last output\n  | booting\n  | fatal: no config\n"),
        "{out:?}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());

    // Checks must name containers of the task.
    for args in [["--exec", "db=true"], ["--expect-exit", "db=0"]] {
        let mut all = vec!["smoke", path.as_str()];
        all.extend(args);
        let out = start(all).wait();
        assert_eq!(out.code, Some(2), "{out:?}");
        assert!(
            out.stderr.contains(&format!(
                "`{} db` names no container of the task (its containers: `app`, `aux`)",
                args[0]
            )),
            "{out:?}"
        );
    }

    // A task that cannot start at all still fails the JUnit report.
    let mut app = container("app", "sleep 300");
    app["image"] = json!("ecs-run-local-test/not-here:1");
    let path = s.write(&json!([app]), &json!({ "networkMode": "bridge" }));
    let path = path.to_string_lossy().into_owned();
    let out = start([
        "smoke",
        path.as_str(),
        "--pull",
        "never",
        "--junit",
        junit_arg.as_str(),
    ])
    .wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(junit_cases(&junit), [("task".to_owned(), true)]);
    assert_eq!(s.leftovers(), Vec::<String>::new());

    // Failures inside the start period do not count: it stays starting.
    let mut app = container("app", "sleep 300");
    app["healthCheck"] = health("exit 1", 1, 120);
    let path = s.write(&json!([app]), &json!({ "networkMode": "bridge" }));
    let path = path.to_string_lossy().into_owned();
    let out = start(["smoke", path.as_str(), "--timeout", "6s"]).wait();
    assert_eq!(out.code, Some(124), "{out:?}");
    assert!(
        out.stdout.contains("TIMED OUT") && out.stdout.contains("`app` to be HEALTHY"),
        "{out:?}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn overrides_reach_the_container_and_name_only_containers_of_the_task() {
    let s = Session::new("overrides");
    let mut app = container("app", "echo \"DEFAULT $GREETING\"; exit 0");
    app["environment"] = json!([{ "name": "GREETING", "value": "from-definition" }]);
    let path = s.write(&json!([app]), &json!({ "networkMode": "bridge" }));
    let path = path.to_string_lossy().into_owned();
    let overrides = json!({ "containerOverrides": [{
        "name": "app",
        "command": ["echo \"OVERRIDDEN $GREETING $EXTRA $EVERYWHERE\"; exit 0"],
        "environment": [{ "name": "GREETING", "value": "from-override" }],
    }] })
    .to_string();
    let file = s.path("overrides.json");
    std::fs::write(&file, &overrides).unwrap();
    let file_arg = format!("file://{}", file.display());
    let out = start([
        path.as_str(),
        "--overrides",
        file_arg.as_str(),
        "-e",
        "app:EXTRA=shortcut",
        "-e",
        "EVERYWHERE=all",
    ])
    .wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout
            .contains("app | OVERRIDDEN from-override shortcut all\n"),
        "{out:?}"
    );

    for args in [
        vec![
            "--overrides",
            r#"{"containerOverrides":[{"name":"web","command":["x"]}]}"#,
        ],
        vec!["-e", "web:A=1"],
        vec!["--publish", "web:8080:80"],
    ] {
        let mut all = vec![path.as_str()];
        all.extend(args.iter().copied());
        let out = start(all).wait();
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert!(
            out.stderr.contains(&format!(
                "names no container of the task `{}` (its containers: `app`)",
                s.family
            )),
            "{out:?}"
        );
    }
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

/// Runs the CLI to its end and returns its stdout, asserting success.
fn cli(args: &[&str]) -> String {
    let out = start(args.iter().copied()).wait();
    assert_eq!(out.code, Some(0), "{args:?}: {out:?}");
    out.stdout
}

#[test]
fn detached_tasks_reach_each_other_by_service_name_and_down_all_removes_them() {
    let backend = Session::exclusive("backend");
    let frontend = backend.sibling("frontend");
    let mut api = container(
        "api",
        "mkdir -p /www && echo backend-ok > /www/index.html && httpd -f -p 80 -h /www",
    );
    api["portMappings"] = json!([{ "containerPort": 80, "name": "orders-api" }]);
    let back_path = backend.write(&json!([api]), &json!({ "networkMode": "bridge" }));
    let back_path = back_path.to_string_lossy().into_owned();
    let web = container(
        "web",
        &format!(
            "while true; do \
               echo \"BY-SERVICE $(wget -qO- http://{}/)\"; \
               echo \"BY-PORT-NAME $(wget -qO- http://orders-api/)\"; sleep 1; done",
            backend.family
        ),
    );
    let front_path = frontend.write(&json!([web]), &json!({ "networkMode": "awsvpc" }));
    let front_path = front_path.to_string_lossy().into_owned();
    let port = crate::docker_harness::free_port().to_string();
    let publish = format!("web:{port}:8080");

    let back_id = cli(&[back_path.as_str(), "--detach"]).trim().to_owned();
    let front_id = cli(&[front_path.as_str(), "-d", "--publish", publish.as_str()])
        .trim()
        .to_owned();
    assert_eq!(back_id.len(), 32, "{back_id}");
    assert_ne!(back_id, front_id);

    // The frontend reaches the backend by its service name (the family) and
    // by its port mapping's name.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let logs = loop {
        let logs = cli(&["logs", &front_id[..8]]);
        if logs.contains("BY-SERVICE backend-ok") && logs.contains("BY-PORT-NAME backend-ok") {
            break logs;
        }
        assert!(std::time::Instant::now() < deadline, "{logs}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(logs.starts_with("web | "), "{logs}");

    let table = cli(&["ps"]);
    let row = |id: &str| {
        table
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        row(&back_id).contains(&format!("{}:1", backend.family)),
        "{table}"
    );
    assert!(
        row(&back_id).contains("bridge") && row(&back_id).contains("api (running)"),
        "{table}"
    );
    assert!(row(&front_id).contains("awsvpc"), "{table}");
    assert!(
        row(&front_id).contains(&format!(":{port}->8080/tcp")),
        "{table}"
    );
    let listed: Value = serde_json::from_str(&cli(&["ps", "--json"])).unwrap();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert!(
        ids.contains(&back_id.as_str()) && ids.contains(&front_id.as_str()),
        "{listed}"
    );
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["supervisorPid"].is_u64()),
        "{listed}"
    );

    let out = cli(&["down", "--all"]);
    assert!(out.contains("removed 2 tasks"), "{out}");
    assert_eq!(backend.leftovers(), Vec::<String>::new());
    assert_eq!(frontend.leftovers(), Vec::<String>::new());
    let out = start(["stop", &back_id]).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("no task `{back_id}` on this engine")),
        "{out:?}"
    );
}

#[test]
fn stop_ends_a_detached_task_as_ecs_would() {
    let s = Session::new("stop");
    let app = container(
        "app",
        "trap 'echo got-term; exit 0' TERM; while true; do sleep 0.2; done",
    );
    let path = s.write(&json!([app]), &json!({ "networkMode": "bridge" }));
    let path = path.to_string_lossy().into_owned();
    let id = cli(&[path.as_str(), "--detach"]).trim().to_owned();
    assert!(cli(&["ps"]).contains(&id));
    // `logs -f` follows the task until it stops; the stop is ECS's SIGTERM.
    let follow = start(["logs", "-f", &id[..8], "app"]);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(cli(&["stop", &id[..12]]).trim(), id);
    let followed = follow.wait();
    assert_eq!(followed.code, Some(0), "{followed:?}");
    assert!(followed.stdout.contains("app | got-term\n"), "{followed:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
    assert!(!cli(&["ps"]).contains(&id));
}

#[test]
fn a_task_whose_supervisor_was_killed_is_unsupervised_and_down_removes_its_status_log() {
    let s = Session::new("killed");
    let path = s.write(
        &json!([container("app", "sleep 300")]),
        &json!({ "networkMode": "bridge" }),
    );
    let path = path.to_string_lossy().into_owned();
    let id = cli(&[path.as_str(), "--detach"]).trim().to_owned();
    let listed: Value = serde_json::from_str(&cli(&["ps", "--json"])).unwrap();
    let task = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{listed}"))
        .clone();
    assert_eq!(task["supervised"], true, "{task}");
    let pid = task["supervisorPid"].as_u64().expect("a supervisor") as i32;
    // The supervisor's status lines go to its log file (its stderr).
    let log = std::fs::read_link(format!("/proc/{pid}/fd/2")).expect("the supervisor's stderr");
    assert!(log.exists(), "{log:?}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(std::time::Instant::now() < deadline, "pid {pid} lives on");
        std::thread::sleep(Duration::from_millis(100));
    }

    let table = cli(&["ps"]);
    let row = table
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_default();
    assert!(row.contains("app (running, unsupervised)"), "{table}");
    let listed: Value = serde_json::from_str(&cli(&["ps", "--json"])).unwrap();
    let task = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{listed}"))
        .clone();
    assert_eq!(task["supervised"], false, "{task}");
    assert!(task["supervisorPid"].is_null(), "{task}");

    cli(&["down"]);
    assert_eq!(s.leftovers(), Vec::<String>::new());
    assert!(!log.exists(), "{log:?} is left behind");
}

#[test]
fn the_compose_export_runs_under_docker_compose_and_serves_task_metadata() {
    let s = Session::exclusive("compose");
    let mut app = container(
        "app",
        "while true; do { wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task; echo; } \
           | sed -n 's/.*\"Family\":\"\\([^\"]*\\)\".*/FAMILY \\1/p'; sleep 1; done",
    );
    app["healthCheck"] = health("true", 1, 0);
    app["portMappings"] = json!([{ "containerPort": 80, "hostPort": 0 }]);
    let mut init = container("init", "echo ready > /data/ready; exit 0");
    init["essential"] = json!(false);
    init["mountPoints"] = json!([{ "sourceVolume": "data", "containerPath": "/data" }]);
    app["mountPoints"] = json!([{ "sourceVolume": "data", "containerPath": "/data" }]);
    app["dependsOn"] = json!([{ "containerName": "init", "condition": "SUCCESS" }]);
    let path = s.write(
        &json!([app, init]),
        &json!({ "networkMode": "awsvpc", "volumes": [{ "name": "data" }] }),
    );
    let path = path.to_string_lossy().into_owned();
    // The compose network takes the same addresses as ours.
    cli(&["down", "--all"]);
    let yaml = cli(&["compose", path.as_str()]);
    let file = s.path("docker-compose.yml");
    std::fs::write(&file, &yaml).unwrap();
    let project = s.family.replace('-', "");
    let compose = |args: &[&str]| {
        Command::new("docker-compose")
            .arg("-f")
            .arg(&file)
            .args(["-p", project.as_str()])
            .args(args)
            .output()
            .expect("docker-compose runs")
    };
    let config = compose(&["config", "-q"]);
    assert!(
        config.status.success(),
        "{}\n{yaml}",
        String::from_utf8_lossy(&config.stderr)
    );
    let up = compose(&["up", "-d"]);
    let result = std::panic::catch_unwind(|| {
        assert!(
            up.status.success(),
            "{}\n{yaml}",
            String::from_utf8_lossy(&up.stderr)
        );
        // The container reads its own task from the agent at 169.254.170.2…
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let logs = compose(&["logs", "--no-color", "app"]);
            let text = String::from_utf8_lossy(&logs.stdout).into_owned();
            if text.contains(&format!("FAMILY {}", s.family)) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{text}");
            std::thread::sleep(Duration::from_millis(500));
        }
        // …and the host reads it on the loopback port.
        let uri =
            crate::docker_harness::container_env(&s.family, "app", "ECS_CONTAINER_METADATA_URI_V4");
        let path = uri.trim_start_matches("http://169.254.170.2");
        let task: Value = serde_json::from_str(&http_get(
            ecs_run_local::testing::DEFAULT_AGENT_LOOPBACK_PORT,
            &format!("{path}/task"),
        ))
        .unwrap();
        assert_eq!(task["Family"], s.family.as_str());
        let names: Vec<&str> = task["Containers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["Name"].as_str())
            .collect();
        assert_eq!(names, ["~internal~ecs~pause", "app", "init"], "{task}");
        // Compose manages these containers: `ps` does not list them and
        // `down` leaves them.
        assert!(!cli(&["ps"]).contains(&s.family));
        cli(&["down"]);
        http_get(
            ecs_run_local::testing::DEFAULT_AGENT_LOOPBACK_PORT,
            &format!("{path}/task"),
        );
        assert!(!s.leftovers().is_empty());
    });
    let down = compose(&["down", "-v", "--remove-orphans"]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn http_and_tcp_probes_reach_a_shell_less_image_in_bridge_and_awsvpc_tasks() {
    let s = Session::new("probes");
    let web = json!({
        "name": "web",
        "image": httpd_only_image(),
        "essential": true,
        "memory": 64,
        "entryPoint": ["/httpd", "-f", "-p", "8080", "-h", "/www"],
        "stopTimeout": 2,
    });
    // Bridge, nothing published: the probes pass from inside the namespace.
    let bridge = s.write(&json!([web.clone()]), &json!({ "networkMode": "bridge" }));
    let junit = s.path("bridge.xml");
    let out = start([
        "smoke".as_ref(),
        bridge.as_os_str(),
        "--http".as_ref(),
        "web:8080/health".as_ref(),
        "--http".as_ref(),
        "web:8080/=200".as_ref(),
        "--tcp".as_ref(),
        "web:8080".as_ref(),
        "--junit".as_ref(),
        junit.as_os_str(),
        "--timeout".as_ref(),
        "60s".as_ref(),
    ])
    .wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    for row in ["http web:8080/health", "http web:8080/=200", "tcp web:8080"] {
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("{row}: {out:?}"));
        assert!(line.trim_end().ends_with("ok"), "{line}");
    }
    let cases = junit_cases(&junit);
    for name in ["http web:8080/health", "http web:8080/=200", "tcp web:8080"] {
        assert!(
            cases.iter().any(|(n, failed)| n.contains(name) && !failed),
            "{name}: {cases:?}"
        );
    }
    assert_eq!(s.leftovers(), Vec::<String>::new());

    // Ctrl-C while a probe keeps failing ends the smoke at once: 130, and
    // the probe container goes with the task.
    let mut waiting = start([
        "smoke".as_ref(),
        bridge.as_os_str(),
        "--http".as_ref(),
        "web:8080/never".as_ref(),
        "--timeout".as_ref(),
        "5m".as_ref(),
    ]);
    waiting.wait_for_stderr("running", Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(3));
    waiting.interrupt();
    let out = waiting.wait();
    assert_eq!(out.code, Some(130), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());

    // awsvpc, through the pause container: a missing page fails the smoke
    // with exit 1, naming the probe and its last response; in a GitHub
    // Actions job, also as an `::error` line and in the job summary.
    let awsvpc = s.write(&json!([web]), &json!({ "networkMode": "awsvpc" }));
    let summary = s.path("summary.md");
    let junit = s.path("awsvpc.xml");
    let out = start_with_env(
        [
            "smoke".as_ref(),
            awsvpc.as_os_str(),
            "--tcp".as_ref(),
            "web:8080".as_ref(),
            "--http".as_ref(),
            "web:8080/missing".as_ref(),
            "--timeout".as_ref(),
            "6s".as_ref(),
            "--junit".as_ref(),
            junit.as_os_str(),
        ],
        &[
            ("GITHUB_ACTIONS", "true".to_owned()),
            (
                "GITHUB_STEP_SUMMARY",
                summary.to_string_lossy().into_owned(),
            ),
        ],
    )
    .wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    let family = &s.family;
    assert!(
        out.stdout.lines().any(|l| l.starts_with(&format!(
            "::error title=smoke {family}%3A1%3A probe http web%3A8080/missing in web::not passed within --timeout; last response: HTTP/1.1 404 Not Found: <HTML>"
        ))),
        "{out:?}"
    );
    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(
        markdown.starts_with(&format!(
            "### smoke test of `{family}:1` FAILED: probe `http web:8080/missing`"
        )),
        "{markdown}"
    );
    assert!(
        markdown.contains(
            "| CHECK | CONTAINER | EXIT | TIME | RESULT |\n| --- | --- | --- | --- | --- |\n"
        ),
        "{markdown}"
    );
    assert!(
        markdown
            .lines()
            .any(|l| l.starts_with("| tcp web:8080 | web | - |") && l.ends_with("| ok |")),
        "{markdown}"
    );
    let cases = junit_cases(&junit);
    assert!(
        cases.contains(&("probe http web:8080/missing".to_owned(), true)),
        "{cases:?}"
    );
    assert!(
        cases.contains(&("probe tcp web:8080".to_owned(), false)),
        "{cases:?}"
    );
    assert!(
        out.stdout.contains("probe `http web:8080/missing` not passed within --timeout; last response: HTTP/1.1 404 Not Found"),
        "{out:?}"
    );
    let tcp = out
        .stdout
        .lines()
        .find(|l| l.starts_with("tcp web:8080"))
        .unwrap_or_else(|| panic!("{out:?}"));
    assert!(tcp.trim_end().ends_with("ok"), "{tcp}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn exec_runs_a_command_in_a_tasks_container_with_its_status_and_a_terminal_when_there_is_one() {
    let s = Session::new("exec");
    let app = container("app", "echo hi > /tmp/x; sleep 300");
    let path = s.write(&json!([app]), &json!({ "networkMode": "bridge" }));
    let path = path.to_string_lossy().into_owned();
    let id = cli(&[path.as_str(), "--detach"]).trim().to_owned();
    let prefix = &id[..8];

    // The command's output, error and exit status.
    let out = crate::harness::ecs_run_local([
        "exec",
        prefix,
        "app",
        "--",
        "sh",
        "-c",
        "cat /tmp/x; echo oops >&2; exit 7",
    ])
    .run();
    assert_eq!(out.code, Some(7), "{out:?}");
    assert_eq!(out.stdout, "hi\n");
    assert_eq!(out.stderr, "oops\n");
    // Standard input reaches the default shell.
    let out = crate::harness::ecs_run_local(["exec", prefix, "app"])
        .stdin("echo from-stdin; exit 3\n")
        .run();
    assert_eq!(out.code, Some(3), "{out:?}");
    assert_eq!(out.stdout, "from-stdin\n");
    // With a terminal (script(1) gives one), the command gets a terminal too.
    let command = format!(
        "{} exec {prefix} app -- sh -c 'tty; exit 4'",
        env!("CARGO_BIN_EXE_ecs-run-local")
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("/dev/pts/"),
        "{out:?}"
    );
    // A container the task does not have: one line naming its containers.
    let out = crate::harness::ecs_run_local(["exec", prefix, "db"]).run();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "ecs-run-local: error: task `{id}` has no container `db` (its containers: `app`)\n"
        )
    );
    cli(&["stop", prefix]);
    assert_eq!(s.leftovers(), Vec::<String>::new());
}
