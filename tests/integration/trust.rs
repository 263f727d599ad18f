//! Trust II: what a fault sweep found, each reproduced here before its fix.
//! A detached start that fails says why; Ctrl-C on `-d` cancels the
//! supervisor; an early Ctrl-C on an awsvpc task does not wait for the pause
//! container's stop timeout; a killed run's cgroup is found by `down`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use ecs_run_local::plan::labels;

use crate::docker_harness::{Session, block, container, engine, start, the_error_line};

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
