//! The release's agent image, `packaging/agent/Dockerfile`, built through the
//! Docker build API from the binary under test, then run as the CLI runs its
//! own agent image: `pause` (PID 1 until `docker stop`, exit 0) and `agent`
//! (its loopback port answering the admin API's health route).
//!
//! The release copies a static binary alone into the image; this build is
//! dynamically linked, so the context's root file system also holds the shared
//! libraries and loader `ldd` names, at their absolute paths.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use ecs_run_local::testing as protocol;
use ecs_run_local::testing::AgentClient;
use ecs_run_local::testing::labels;
use futures_util::StreamExt as _;

use crate::docker_harness::{Session, block, engine, free_port};

const DOCKERFILE: &str = include_str!("../../packaging/agent/Dockerfile");
const EXECUTABLE: &str = env!("CARGO_BIN_EXE_ecs-run-local");

/// Removes the image when the test ends, however it ends.
struct BuiltImage(String);

impl Drop for BuiltImage {
    fn drop(&mut self) {
        if let Err(e) = block(engine().remove_image(&self.0)) {
            eprintln!("cannot remove {}: {e}", self.0);
        }
    }
}

/// Docker's name for this machine's architecture, as `TARGETARCH` spells it.
fn target_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// The shared libraries and the loader `ldd` says `executable` needs.
fn shared_libraries(executable: &str) -> Vec<PathBuf> {
    let output = Command::new("ldd")
        .arg(executable)
        .output()
        .expect("ldd runs");
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .filter_map(|line| {
            // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` or
            // `/lib64/ld-linux-x86-64.so.2 (0x…)`; `linux-vdso.so.1` has no file.
            let path = match line.split_once("=>") {
                Some((_, right)) => right.split_whitespace().next()?,
                None => line.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

fn append_dir(tar: &mut tar::Builder<Vec<u8>>, path: &Path, mode: u32) {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(mode);
    header.set_size(0);
    tar.append_data(&mut header, path, std::io::empty())
        .unwrap();
}

fn append_file(tar: &mut tar::Builder<Vec<u8>>, path: &Path, contents: &[u8], mode: u32) {
    let mut header = tar::Header::new_gnu();
    header.set_mode(mode);
    header.set_size(contents.len() as u64);
    tar.append_data(&mut header, path, contents).unwrap();
}

/// The build context the Dockerfile expects, filled for this machine's
/// architecture: the executable, `/tmp`, and the libraries at their paths
/// (symbolic links followed, so the loader's path holds the loader itself).
fn build_context() -> Vec<u8> {
    let rootfs = PathBuf::from("rootfs").join(target_arch());
    let mut tar = tar::Builder::new(Vec::new());
    tar.mode(tar::HeaderMode::Deterministic);
    append_file(
        &mut tar,
        Path::new("packaging/agent/Dockerfile"),
        DOCKERFILE.as_bytes(),
        0o644,
    );
    append_dir(&mut tar, &rootfs, 0o755);
    append_dir(&mut tar, &rootfs.join("tmp"), 0o1777);
    let executable = std::fs::read(EXECUTABLE).expect("the built CLI");
    append_file(&mut tar, &rootfs.join("ecs-run-local"), &executable, 0o755);
    let libraries = shared_libraries(EXECUTABLE);
    assert!(
        libraries
            .iter()
            .any(|l| l.to_string_lossy().contains("ld-")),
        "the test build is dynamically linked; ldd found no loader: {libraries:?}"
    );
    let mut dirs = std::collections::BTreeSet::new();
    for library in &libraries {
        for dir in library.ancestors().skip(1) {
            if dir != Path::new("/") {
                dirs.insert(dir.to_path_buf());
            }
        }
    }
    for dir in &dirs {
        append_dir(
            &mut tar,
            &rootfs.join(dir.strip_prefix("/").unwrap()),
            0o755,
        );
    }
    for library in &libraries {
        let contents = std::fs::read(library).unwrap();
        let inside = rootfs.join(library.strip_prefix("/").unwrap());
        append_file(&mut tar, &inside, &contents, 0o755);
    }
    tar.into_inner().unwrap()
}

/// Builds the Dockerfile as `tag`, labelled with the session's family.
fn build(tag: &str, family: &str) {
    let build_args = HashMap::from([
        ("TARGETARCH", target_arch()),
        ("VERSION", env!("CARGO_PKG_VERSION")),
    ]);
    let image_labels = HashMap::from([(labels::FAMILY, family)]);
    let options = bollard::query_parameters::BuildImageOptionsBuilder::default()
        .dockerfile("packaging/agent/Dockerfile")
        .t(tag)
        .buildargs(&build_args)
        .labels(&image_labels)
        .rm(true)
        .forcerm(true)
        .build();
    let context = bytes::Bytes::from(build_context());
    let mut log = String::new();
    block(async {
        let mut stream =
            engine()
                .bollard()
                .build_image(options, None, Some(bollard::body_full(context)));
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(error) = info.error_detail.and_then(|d| d.message) {
                        panic!("the build failed: {error}\n{log}");
                    }
                    log.push_str(&info.stream.unwrap_or_default());
                }
                Err(e) => panic!("the build failed: {e}\n{log}"),
            }
        }
    });
}

/// A container of the built image with `cmd`, labelled with the session's
/// family so that the session removes it.
fn container(image: &str, family: &str, cmd: &[&str], host_config: HostConfig) -> String {
    let exposed: Vec<String> = host_config
        .port_bindings
        .iter()
        .flat_map(HashMap::keys)
        .cloned()
        .collect();
    let body = ContainerCreateBody {
        exposed_ports: Some(exposed),
        image: Some(image.to_owned()),
        cmd: Some(cmd.iter().map(|&c| c.to_owned()).collect()),
        labels: Some(HashMap::from([(
            labels::FAMILY.to_owned(),
            family.to_owned(),
        )])),
        host_config: Some(host_config),
        ..Default::default()
    };
    let name = format!("{family}-{}", cmd[0]);
    block(engine().create_container(&name, body, None)).expect("the container is created")
}

/// What a container wrote, for a failure's message.
fn output(id: &str) -> String {
    let chunks: Vec<_> = block(engine().logs(id, false, None).collect());
    chunks
        .into_iter()
        .filter_map(Result::ok)
        .map(|chunk| String::from_utf8_lossy(&chunk.bytes).into_owned())
        .collect()
}

#[test]
fn the_release_dockerfile_builds_an_agent_image_that_runs_pause_and_the_agent() {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let image = BuiltImage(format!(
        "ecs-run-local-test/agent-dockerfile:{}",
        &suffix[..12]
    ));
    // Declared after the image, so dropped before it: the containers go first.
    let s = Session::new("agent-dockerfile");
    build(&image.0, &s.family);

    // The configuration the CLI gives the image it imports from itself.
    let inspect = block(engine().bollard().inspect_image(&image.0)).expect("the image exists");
    let config = inspect.config.expect("an image config");
    assert_eq!(config.entrypoint, Some(vec!["/ecs-run-local".to_owned()]));
    assert_eq!(config.cmd, Some(vec!["agent".to_owned()]));
    let image_labels = config.labels.unwrap_or_default();
    assert_eq!(
        image_labels.get(labels::ROLE).map(String::as_str),
        Some("agent-image"),
        "{image_labels:?}"
    );
    assert_eq!(
        image_labels.get(labels::FAMILY),
        Some(&s.family),
        "{image_labels:?}"
    );

    // `pause`: runs until `docker stop`, then exits 0 at once (SIGTERM, not
    // the SIGKILL after the stop timeout).
    let pause = container(&image.0, &s.family, &["pause"], HostConfig::default());
    block(engine().start_container(&pause)).expect("pause starts");
    std::thread::sleep(Duration::from_secs(1));
    let state = block(engine().inspect_container(&pause)).unwrap();
    assert!(state.running, "pause is not running: {state:?}");
    let stopping = Instant::now();
    block(engine().stop_container(&pause, 20)).expect("pause stops");
    let stopped_in = stopping.elapsed();
    let state = block(engine().inspect_container(&pause)).unwrap();
    assert_eq!(state.exit_code, Some(0), "{state:?}");
    assert!(stopped_in < Duration::from_secs(10), "{stopped_in:?}");

    // `agent`, as the CLI creates it: the Docker socket mounted, the token
    // written in before the start, the loopback port published on 127.0.0.1.
    let port = free_port();
    let loopback = "51679/tcp".to_owned();
    let host_config = HostConfig {
        binds: Some(vec!["/var/run/docker.sock:/var/run/docker.sock".to_owned()]),
        port_bindings: Some(HashMap::from([(
            loopback,
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(port.to_string()),
            }]),
        )])),
        ..Default::default()
    };
    let agent = container(
        &image.0,
        &s.family,
        &[
            "agent",
            "--listen",
            "0.0.0.0:80",
            "--loopback",
            "0.0.0.0:51679",
        ],
        host_config,
    );
    let token = uuid::Uuid::new_v4().simple().to_string();
    block(engine().put_file(&agent, protocol::TOKEN_FILE, token.as_bytes(), 0o600))
        .expect("the token is written");
    block(engine().start_container(&agent)).expect("the agent starts");
    let client = AgentClient::new(port, token);
    let health = block(client.wait_healthy(Duration::from_secs(20))).unwrap_or_else(|e| {
        let state = block(engine().inspect_container(&agent));
        panic!(
            "the agent of the built image does not answer: {e:#}\n{state:?}\n{}",
            output(&agent)
        )
    });
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(health.tasks, 0);
}
