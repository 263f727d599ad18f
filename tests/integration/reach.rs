//! Docker Desktop's host has no route to container addresses; the CLI must
//! not need one. Simulated here: the CLI runs as an unprivileged user in the
//! `docker` group whose packets to 169.254.170.0/24 an iptables owner rule
//! rejects, and a task still runs end to end with its metadata served.
//! Also here: an engine address that answers as something else, an engine
//! that accepts connections and never answers, and an image name the
//! engine refuses.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::docker_harness::{Session, container, free_port, start, start_with_env, the_error_line};
use crate::registry::serve_on_loopback;

const USER: &str = "ecs-run-local-test";

/// Runs a command, panicking with its output when it fails.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The iptables rule, removed when the test ends however it ends.
struct Rejected(Vec<String>);

impl Rejected {
    fn for_uid(uid: u32) -> Rejected {
        let rule: Vec<String> = [
            "OUTPUT",
            "-m",
            "owner",
            "--uid-owner",
            &uid.to_string(),
            "-d",
            "169.254.170.0/24",
            "-j",
            "REJECT",
        ]
        .map(str::to_owned)
        .to_vec();
        let mut insert = vec!["-I".to_owned()];
        insert.extend(rule.iter().cloned());
        run(
            "iptables",
            &insert.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        Rejected(rule)
    }
}

impl Drop for Rejected {
    fn drop(&mut self) {
        let mut delete = vec!["-D".to_owned()];
        delete.extend(self.0.iter().cloned());
        let _ = Command::new("iptables").args(&delete).output();
    }
}

#[test]
fn a_user_with_no_route_to_containers_runs_a_task_end_to_end() {
    if run("id", &["-u"]).trim() != "0" {
        eprintln!("skipped: creating a user and an iptables rule needs root");
        return;
    }
    if Command::new("id")
        .arg(USER)
        .output()
        .unwrap()
        .status
        .success()
    {
        run("usermod", &["-aG", "docker", USER]);
    } else {
        run("useradd", &["--no-create-home", "--groups", "docker", USER]);
    }
    let uid: u32 = run("id", &["-u", USER]).trim().parse().unwrap();

    // A new binary path must not replace the agent under other tests.
    let s = Session::exclusive("noroute");
    let path = s.write(
        &json!([container(
            "app",
            "wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task | grep -o '\"Family\":\"[^\"]*\"'"
        )]),
        &json!({ "networkMode": "bridge" }),
    );
    // The user can read the definition and run a copy of the binary (ours
    // sits under root's home); the copy's bytes, and so its agent image, are ours.
    let home = s.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let binary = home.join("ecs-run-local");
    std::fs::copy(env!("CARGO_BIN_EXE_ecs-run-local"), &binary).unwrap();
    for p in [s.path(""), home.clone()] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

    let _rule = Rejected::for_uid(uid);
    // runuser gives the user its groups (docker) as a login would.
    let as_user = |program: &std::path::Path, args: &[&str]| {
        Command::new("runuser")
            .args(["-u", USER, "--"])
            .arg(program)
            .args(args)
            .env("HOME", &home)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    // The rule holds: this user cannot reach the agent's address.
    let probe = as_user(
        std::path::Path::new("python3"),
        &[
            "-c",
            "import socket; socket.create_connection(('169.254.170.2', 80), timeout=3)",
        ],
    );
    assert!(!probe.status.success(), "the user reaches 169.254.170.2");

    let out = as_user(&binary, &[path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("app | \"Family\":\"{}\"", s.family)),
        "{stdout}\n{stderr}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

/// What the CLI says when `DOCKER_HOST` names something that is not an
/// engine: one line naming the address and what answered, exit 1, and no
/// object on the real engine.
fn refused_by(docker_host: &str, s: &Session) -> String {
    let path = s.write(&json!([container("app", "true")]), &json!({}));
    let out = start_with_env([&path], &[("DOCKER_HOST", docker_host.to_owned())]).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(s.leftovers(), Vec::<String>::new());
    the_error_line(&out.stderr).to_owned()
}

#[test]
fn an_engine_that_is_neither_docker_nor_podman_is_one_line() {
    let s = Session::new("not-an-engine");
    // A web server on the engine's address…
    let web = serve_on_loopback(axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::NOT_FOUND,
            [("content-type", "text/html")],
            "<html><body>Not Found</body></html>\n",
        )
    }));
    assert_eq!(
        refused_by(&format!("tcp://127.0.0.1:{web}"), &s),
        format!(
            "ecs-run-local: error: tcp://127.0.0.1:{web} (DOCKER_HOST) answered, but not as a Docker or Podman engine: HTTP 404 <html><body>Not Found</body></html>"
        )
    );
    // …a service that says OK to everything…
    let ok = serve_on_loopback(axum::Router::new().fallback(|| async { "OK" }));
    assert_eq!(
        refused_by(&format!("tcp://127.0.0.1:{ok}"), &s),
        format!(
            "ecs-run-local: error: tcp://127.0.0.1:{ok} (DOCKER_HOST) answered, but not as a Docker or Podman engine: its answer is not the Docker API's"
        )
    );
    // …and nothing at all.
    let closed = free_port();
    assert_eq!(
        refused_by(&format!("tcp://127.0.0.1:{closed}"), &s),
        format!(
            "ecs-run-local: error: cannot reach the Docker engine at tcp://127.0.0.1:{closed} (DOCKER_HOST): Connection refused (os error 111); is it running?"
        )
    );
}

#[test]
fn an_image_name_the_engine_rejects_is_one_line() {
    let s = Session::new("bad-image-name");
    let mut app = container("app", "true");
    app["image"] = json!("Upper/Case:1");
    let path = s.write(&json!([app]), &json!({}));
    let out = start([&path]).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(
        the_error_line(&out.stderr),
        "ecs-run-local: error: cannot start container `app`: the engine refuses the image name `Upper/Case:1`: invalid reference format: repository name must be lowercase"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

/// An engine address on loopback that accepts every connection and never
/// answers, holding the connections until it is dropped.
struct Silent {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Silent {
    fn start() -> Silent {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((connection, _)) => held.push(connection),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Silent { port, stop }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// An engine that answers `/_ping` and `/version` as Docker does, then
/// nothing: every other request waits forever.
fn half_engine() -> u16 {
    engine_that_then(axum::Router::new().fallback(std::future::pending::<()>))
}

/// An engine that answers `/_ping` and `/version` as Docker does, then
/// starts every other answer (status and headers) and never ends it.
fn stalling_engine() -> u16 {
    engine_that_then(axum::Router::new().fallback(|| async {
        let never = futures_util::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
        (
            [("content-type", "application/json")],
            axum::body::Body::from_stream(never),
        )
    }))
}

/// `rest` behind an engine's `/_ping` and `/version`.
fn engine_that_then(rest: axum::Router) -> u16 {
    let version = || async {
        axum::Json(
            json!({"Version": "20.10.24", "ApiVersion": "1.41", "Os": "linux", "Arch": "amd64"}),
        )
    };
    serve_on_loopback(
        axum::Router::new()
            .route("/_ping", axum::routing::get(|| async { "OK" }))
            .route("/{api}/_ping", axum::routing::get(|| async { "OK" }))
            .route("/version", axum::routing::get(version))
            .route("/{api}/version", axum::routing::get(version))
            .merge(rest),
    )
}

/// Runs every engine-facing command against `docker_host` at once, the
/// engine's bounds at 2 s (`smoke --timeout 5s` with the engine's own
/// bounds, longer than its timeout); what each printed and how it ended,
/// once all have ended. A command still running after 60 s fails the test:
/// it hangs.
fn every_command(
    docker_host: &str,
    definition: &std::path::Path,
) -> Vec<(&'static str, crate::docker_harness::Ended)> {
    let def = definition.to_str().unwrap();
    let commands: [(&str, Vec<&str>); 7] = [
        ("run", vec![def]),
        ("ps", vec!["ps"]),
        ("down --all", vec!["down", "--all"]),
        ("logs", vec!["logs", "0123456789abcdef"]),
        (
            "exec",
            vec!["exec", "0123456789abcdef", "app", "--", "true"],
        ),
        ("run -d", vec!["-d", def]),
        ("smoke --timeout 5s", vec!["smoke", def, "--timeout", "5s"]),
    ];
    let running: Vec<_> = commands
        .into_iter()
        .map(|(name, args)| {
            let mut env = vec![("DOCKER_HOST", docker_host.to_owned())];
            if !name.starts_with("smoke") {
                env.push(("ECS_RUN_LOCAL_ENGINE_TIMEOUT", "2s".to_owned()));
            }
            (name, start_with_env(args, &env))
        })
        .collect();
    running
        .into_iter()
        .map(|(name, run)| (name, run.wait_within(Duration::from_secs(60))))
        .collect()
}

/// Checks what each command of [`every_command`] said: exit 1 and the
/// engine's bound naming `request` (`smoke`: exit 124, its own timeout,
/// and the engine request it was waiting for).
fn assert_bounded(
    docker_host: &str,
    ended: &[(&str, crate::docker_harness::Ended)],
    request: impl Fn(&str) -> String,
) {
    for (name, out) in ended {
        let request = request(name);
        if name.starts_with("smoke") {
            assert_eq!(out.code, Some(124), "{name}: {out:?}");
            assert_eq!(
                the_error_line(&out.stderr),
                format!(
                    "ecs-run-local: error: `--timeout` (5 s) ran out before the task started: the Docker engine at {docker_host} (DOCKER_HOST) had not answered {request}"
                ),
                "{name}"
            );
        } else {
            assert_eq!(out.code, Some(1), "{name}: {out:?}");
            assert_eq!(
                the_error_line(&out.stderr),
                format!(
                    "ecs-run-local: error: the Docker engine at {docker_host} (DOCKER_HOST) did not answer within 2 s ({request})"
                ),
                "{name}"
            );
        }
    }
}

#[test]
fn an_engine_that_accepts_and_never_answers_fails_every_command_within_its_bound() {
    let s = Session::new("silent-engine");
    let path = s.write(&json!([container("app", "true")]), &json!({}));
    let silent = Silent::start();
    let host = format!("tcp://127.0.0.1:{}", silent.port);
    let ended = every_command(&host, &path);
    assert_bounded(&host, &ended, |_| "GET /_ping".to_owned());
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn an_engine_that_stops_answering_after_its_version_fails_every_command_within_its_bound() {
    let s = Session::new("mute-engine");
    let path = s.write(&json!([container("app", "true")]), &json!({}));
    let host = format!("tcp://127.0.0.1:{}", half_engine());
    let ended = every_command(&host, &path);
    assert_bounded(&host, &ended, |name| {
        match name {
            // A run reads the engine's platform first; the others list containers.
            "run" | "run -d" | "smoke --timeout 5s" => "GET /info",
            _ => "GET /containers/json",
        }
        .to_owned()
    });
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

/// A loopback address whose accept queue is full: a connection to it gets
/// no answer to its SYN, as from an address that drops packets. Python's
/// `listen(0)` sets the backlog, which the standard library cannot.
struct Swamped {
    port: u16,
    python: std::process::Child,
}

impl Swamped {
    fn start() -> Swamped {
        const SCRIPT: &str = "
import socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)
port = s.getsockname()[1]
held = []
for _ in range(8):
    c = socket.socket(); c.settimeout(0.5)
    try:
        c.connect(('127.0.0.1', port)); held.append(c)
    except OSError:
        break
print(port, flush=True)
time.sleep(600)
";
        let mut python = Command::new("python3")
            .args(["-c", SCRIPT])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(python.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let port = line.trim().parse().unwrap();
        Swamped { port, python }
    }
}

impl Drop for Swamped {
    fn drop(&mut self) {
        let _ = self.python.kill();
        let _ = self.python.wait();
    }
}

#[test]
fn an_engine_address_that_takes_no_connection_fails_within_the_connect_bound() {
    let swamped = Swamped::start();
    let host = format!("tcp://127.0.0.1:{}", swamped.port);
    let out = start_with_env(
        ["ps"],
        &[
            ("DOCKER_HOST", host.clone()),
            ("ECS_RUN_LOCAL_ENGINE_TIMEOUT", "2s".to_owned()),
        ],
    )
    .wait_within(Duration::from_secs(60));
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(
        the_error_line(&out.stderr),
        format!(
            "ecs-run-local: error: the Docker engine at {host} (DOCKER_HOST) did not accept a connection within 2 s"
        )
    );
}

#[test]
fn an_answer_that_starts_and_never_ends_fails_within_the_whole_bound() {
    let host = format!("tcp://127.0.0.1:{}", stalling_engine());
    let out = start_with_env(
        ["ps"],
        &[
            ("DOCKER_HOST", host.clone()),
            ("ECS_RUN_LOCAL_ENGINE_TIMEOUT", "2s".to_owned()),
        ],
    )
    .wait_within(Duration::from_secs(60));
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(
        the_error_line(&out.stderr),
        format!(
            "ecs-run-local: error: the Docker engine at {host} (DOCKER_HOST) did not answer within 2 s (GET /containers/json)"
        )
    );
}
