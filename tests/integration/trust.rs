//! Trust II: what a fault sweep found, each reproduced here before its fix.
//! A detached start that fails says why; Ctrl-C on `-d` cancels the
//! supervisor; an early Ctrl-C on an awsvpc task does not wait for the pause
//! container's stop timeout; a killed run's cgroup is found by `down`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use ecs_run_local::testing::labels;

use crate::docker_harness::{
    Moto, Session, block, container, container_id, engine, start, start_with_env, the_error_line,
};

/// Room for a loaded CI machine: the figures are printed for the record,
/// not asserted as speed.
const ENDS_WITHIN: Duration = Duration::from_secs(15);

#[test]
fn a_detached_start_that_fails_prints_its_reason() {
    let s = Session::new("dfail");
    // A missing image the run may not pull.
    let mut app = container("app", "sleep 60");
    app["image"] = json!("ecs-run-local-test/never-built:1");
    let path = s.write(&json!([app]), &json!({}));
    let out = start([path.to_str().unwrap(), "-d", "--pull", "never"]).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        the_error_line(&out.stderr).contains("ecs-run-local-test/never-built:1"),
        "{out:?}"
    );
    assert_eq!(out.stdout, "", "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());

    // A host port someone else holds.
    let held = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let mut web = container("web", "sleep 60");
    web["portMappings"] = json!([{ "containerPort": 8080, "hostPort": port }]);
    let path = s.write(&json!([web]), &json!({}));
    let out = start([path.to_str().unwrap(), "--detach"]).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        the_error_line(&out.stderr).contains(&port.to_string()),
        "{out:?}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
    drop(held);
}

/// A task whose start takes seconds: `app` waits for `init` to complete.
fn slow_to_start(s: &Session) -> PathBuf {
    let mut init = container("init", "sleep 4");
    init["essential"] = json!(false);
    let mut app = container("app", "sleep 60");
    app["dependsOn"] = json!([{ "containerName": "init", "condition": "COMPLETE" }]);
    s.write(&json!([init, app]), &json!({}))
}

#[test]
fn ctrl_c_on_a_detached_start_cancels_its_supervisor() {
    let s = Session::new("dsigint");
    let path = slow_to_start(&s);
    for after in [0.1, 0.5, 1.0, 2.5] {
        let run = start([path.to_str().unwrap(), "-d"]);
        std::thread::sleep(Duration::from_secs_f64(after));
        let sent = Instant::now();
        run.interrupt();
        let out = run.wait();
        let took = sent.elapsed();
        eprintln!(
            "SIGINT {after} s into a detached start: exit {:?} after {took:?}",
            out.code
        );
        assert_eq!(out.code, Some(130), "after {after} s: {out:?}");
        assert!(took < ENDS_WITHIN, "after {after} s: took {took:?}");
        // The supervisor neither goes on nor leaves anything: nothing appears
        // later either.
        std::thread::sleep(Duration::from_secs(5));
        assert_eq!(s.leftovers(), Vec::<String>::new(), "after {after} s");
    }
}

/// Waits (polling every 5 ms, at most 60 s) until `found` says yes.
fn as_soon_as(what: &str, found: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !found() {
        assert!(Instant::now() < deadline, "no {what} within 60 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether the session's task has a container of this role (or any, with `None`).
fn has_container(s: &Session, role: Option<&str>) -> bool {
    let mut label = vec![format!("{}={}", labels::FAMILY, s.family)];
    if let Some(role) = role {
        label.push(format!("{}={role}", labels::ROLE));
    }
    !block(engine().containers_labelled(&label))
        .unwrap_or_default()
        .is_empty()
}

#[test]
fn an_early_ctrl_c_on_an_awsvpc_task_does_not_wait_for_the_pause_container() {
    let s = Session::new("earlyvpc");
    let path = s.write(
        &json!([container("app", "sleep 60")]),
        &json!({ "networkMode": "awsvpc" }),
    );
    let mut slowest = Duration::ZERO;
    // Right as the pause container is created, while it starts, and once
    // it runs: the window in which its SIGTERM handler is not there yet.
    for delay_ms in [0, 5, 10, 20, 40, 80, 160, 600] {
        let run = start([path.to_str().unwrap()]);
        as_soon_as("pause container", || has_container(&s, Some("pause")));
        std::thread::sleep(Duration::from_millis(delay_ms));
        let sent = Instant::now();
        run.interrupt();
        let out = run.wait();
        let took = sent.elapsed();
        slowest = slowest.max(took);
        eprintln!(
            "SIGINT {delay_ms} ms after the pause container's creation: exit {:?} after {took:?}",
            out.code
        );
        assert_eq!(out.code, Some(130), "{delay_ms} ms: {out:?}");
        assert!(took < ENDS_WITHIN, "{delay_ms} ms: took {took:?}");
        assert_eq!(s.leftovers(), Vec::<String>::new(), "{delay_ms} ms");
    }
    eprintln!("slowest exit after an early SIGINT: {slowest:?}");
}

/// The task cgroups on this host (cgroup v1's `memory` hierarchy, or v2's root).
fn task_cgroups() -> Vec<String> {
    let root = Path::new("/sys/fs/cgroup");
    let base = if root.join("cgroup.controllers").exists() {
        root.join("ecs-run-local")
    } else {
        root.join("memory/ecs-run-local")
    };
    let mut found: Vec<String> = std::fs::read_dir(base)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

#[test]
fn a_task_cpu_ecs_refuses_is_a_finding_not_a_cgroup_error() {
    let s = Session::new("cpuone");
    let path = s.write(
        &json!([container("app", "sleep 60")]),
        &json!({ "cpu": "1", "memory": "128" }),
    );
    let out = start(["validate", path.to_str().unwrap()]).wait();
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("cpu: 1 CPU units is outside"),
        "{out:?}"
    );
    let out = start([path.to_str().unwrap()]).wait();
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(!out.stderr.contains("cgroup"), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn down_removes_the_cgroup_of_a_run_killed_at_any_moment() {
    let s = Session::exclusive("cgkill");
    let path = s.write(
        &json!([container("app", "sleep 60")]),
        &json!({ "cpu": "256", "memory": "128" }),
    );
    let before = task_cgroups();
    let new_cgroups = || -> Vec<String> {
        task_cgroups()
            .into_iter()
            .filter(|c| !before.contains(c))
            .collect()
    };
    // Killed as soon as the cgroup exists (before any container of the
    // task), a little later, and once the task's containers exist.
    let moments: [(&str, u64); 4] = [
        ("cgroup", 0),
        ("cgroup", 30),
        ("container", 0),
        ("container", 500),
    ];
    for (after, delay_ms) in moments {
        let run = start([path.to_str().unwrap()]);
        match after {
            "cgroup" => as_soon_as("task cgroup", || !new_cgroups().is_empty()),
            _ => as_soon_as("task container", || has_container(&s, None)),
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        run.kill();
        let out = start(["down"]).wait();
        assert_eq!(out.code, Some(0), "{out:?}");
        let left = new_cgroups();
        eprintln!(
            "SIGKILL {delay_ms} ms after the {after} appeared: cgroups left after `down`: {left:?}"
        );
        assert_eq!(
            left,
            Vec::<String>::new(),
            "killed {delay_ms} ms after the {after}"
        );
        assert_eq!(
            s.leftovers(),
            Vec::<String>::new(),
            "killed {delay_ms} ms after the {after}"
        );
    }
}

/// The address a task container holds on the network.
fn address_of(family: &str, container: &str) -> String {
    let inspect = block(engine().inspect_raw(&container_id(family, container))).unwrap();
    inspect
        .network_settings
        .and_then(|n| n.networks)
        .and_then(|n| n.get(ecs_run_local::testing::NETWORK_NAME).cloned())
        .and_then(|e| e.ip_address)
        .expect("an address on the network")
}

#[test]
fn a_net_admin_task_that_takes_another_tasks_address_gets_nothing_of_it() {
    let moto = Moto::start();
    let victim = Session::new("victim");
    // The victim reads its own role through the alias every half second.
    let poll = "while true; do \
        echo \"OWN $(timeout 5 wget -qO- http://169.254.170.2/creds 2>&1 | tr -d '\\n')\"; \
        sleep 0.5; done";
    let path = victim.write(
        &json!([container("app", poll)]),
        &json!({ "networkMode": "bridge", "taskRoleArn": "arn:aws:iam::123456789012:role/victim" }),
    );
    let mut victim_run = start_with_env([path.to_str().unwrap()], &moto.env());
    victim_run.wait_for("\"AccessKeyId\"", Duration::from_secs(90));
    let address = address_of(&victim.family, "app");

    // The attacker takes the victim's address, announces it, sends from it,
    // and asks for the victim's role and metadata; then tries the loopback
    // port from an address of the network that is no task's.
    let attacker = victim.sibling("attacker");
    let steal = format!(
        "ip addr add {address}/24 dev eth0; \
         ip route replace 169.254.170.0/24 dev eth0 src {address}; \
         arping -U -c 2 -I eth0 -s {address} {address}; \
         for i in 1 2 3 4 5; do \
           echo \"CREDS $(timeout 5 wget -qO- http://169.254.170.2/creds 2>&1 | tr -d '\\n')\"; \
           echo \"META $(timeout 5 wget -qO- http://169.254.170.2/v2/metadata 2>&1 | tr -d '\\n')\"; \
           sleep 0.5; done; \
         ip addr add 169.254.170.50/24 dev eth0; \
         ip route replace 169.254.170.0/24 dev eth0 src 169.254.170.50; \
         echo \"LOOPBACK $(timeout 5 wget -qO- http://169.254.170.2:51679/v1/tasks 2>&1 | tr -d '\\n')\"; \
         echo STOLEN-DONE; sleep 60"
    );
    let mut thief = container("app", &steal);
    thief["linuxParameters"]["capabilities"] = json!({ "add": ["NET_ADMIN"] });
    let path = victim.path("attacker.json");
    std::fs::write(
        &path,
        serde_json::to_vec(&json!({
            "family": attacker.family,
            "networkMode": "bridge",
            "containerDefinitions": [thief],
        }))
        .unwrap(),
    )
    .unwrap();
    let mut attacker_run = start_with_env([path.to_str().unwrap()], &moto.env());
    attacker_run.wait_for("STOLEN-DONE", Duration::from_secs(120));
    let said = attacker_run.stdout();
    eprintln!("{said}");
    assert!(said.contains("app | CREDS"), "{said}");
    assert!(
        !said.contains("AccessKeyId"),
        "the attacker got credentials:\n{said}"
    );
    assert!(
        !said.contains(&victim.family),
        "the attacker got the victim's metadata:\n{said}"
    );
    assert!(
        !said.contains("TaskARN"),
        "the attacker got a task's metadata:\n{said}"
    );
    attacker_run.interrupt();
    assert_eq!(attacker_run.wait().code, Some(130));

    // Once the attacker is gone, the victim's own address is its again: as
    // soon as the agent's neighbour entry, which the attacker's announcement
    // rewrote, is resolved anew (the kernel's own timers: seconds).
    let seen_before = victim_run.stdout().matches("\"AccessKeyId\"").count();
    let deadline = Instant::now() + Duration::from_secs(90);
    while victim_run.stdout().matches("\"AccessKeyId\"").count() <= seen_before {
        assert!(Instant::now() < deadline, "{}", victim_run.stdout());
        std::thread::sleep(Duration::from_millis(200));
    }
    victim_run.interrupt();
    assert_eq!(victim_run.wait().code, Some(130));
    assert_eq!(victim.leftovers(), Vec::<String>::new());
    assert_eq!(attacker.leftovers(), Vec::<String>::new());
}

#[test]
fn down_all_removes_the_status_file_of_a_supervisor_killed_before_its_task_started() {
    let _alone = Session::exclusive("downlogs");
    // What a supervisor killed before any container named its log leaves.
    let left = std::env::temp_dir().join(format!(
        "ecs-run-local-{}.log",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&left, "ecs-run-local: pulling\n").unwrap();
    let out = start(["down", "--all"]).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!left.exists(), "{} is still there", left.display());
}
