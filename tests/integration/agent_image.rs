//! Where the agent image comes from when this executable cannot run in the
//! engine: the published image of this version, pulled. Here the "published"
//! image is the one built from our binary, served by a registry on loopback,
//! and the choice is forced with `ECS_RUN_LOCAL_AGENT_SOURCE=published`.

use std::io::Read as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use serde_json::{Value, json};

use crate::docker_harness::{
    Session, block, container, engine, start, start_with_env, the_error_line,
};
use crate::registry::{content, distributed, respond, serve_on_loopback};

/// An image as a registry serves it.
struct Served {
    manifest: Vec<u8>,
    blobs: Vec<(String, Vec<u8>)>,
    pulls: AtomicUsize,
}

/// The agent image the CLI builds from its executable, read back out of the
/// engine (`docker save`) and repackaged as a registry serves it.
fn agent_image_from_the_engine(session: &Session) -> Served {
    // `compose` names the agent image it built.
    let s = session.sibling("agentimg");
    let path = s.write(&json!([container("app", "true")]), &json!({}));
    let out = start(["compose", path.to_str().unwrap()]).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    let built = out
        .stdout
        .split('"')
        .find(|w| w.starts_with("ecs-run-local-agent:"))
        .expect("the compose file names the agent image")
        .to_owned();
    let saved: Vec<u8> = block(async {
        let mut stream = engine().bollard().export_image(&built);
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            bytes.extend_from_slice(&chunk.unwrap());
        }
        bytes
    });
    let mut files = std::collections::HashMap::new();
    let mut archive = tar::Archive::new(saved.as_slice());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        files.insert(name, data);
    }
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let config = files[manifest[0]["Config"].as_str().unwrap()].clone();
    let layers: Vec<Vec<u8>> = manifest[0]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| files[layer.as_str().unwrap()].clone())
        .collect();
    let (manifest, blobs) = distributed(&config, &layers);
    Served {
        manifest,
        blobs,
        pulls: AtomicUsize::new(0),
    }
}

async fn serve(State(image): State<Arc<Served>>, Path(path): Path<String>) -> Response {
    if path.contains("/manifests/") {
        image.pulls.fetch_add(1, Ordering::SeqCst);
    }
    match content(&image.manifest, &image.blobs, &path) {
        Some((body, kind)) => respond(body, kind),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn start_registry(image: Served) -> (u16, Arc<Served>) {
    let image = Arc::new(image);
    let app = axum::Router::new()
        .route("/v2/", axum::routing::get(|| async { "{}" }))
        .route("/v2/{*path}", axum::routing::get(serve))
        .with_state(Arc::clone(&image));
    (serve_on_loopback(app), image)
}

/// Removes the pulled image when the test ends, however it ends.
struct RemoveImage(String);

impl Drop for RemoveImage {
    fn drop(&mut self) {
        let label = [format!("{}=agent", ecs_run_local::testing::labels::ROLE)];
        // The agent runs the pulled image: the next run builds its own again.
        for agent in block(engine().containers_labelled(&label)).unwrap_or_default() {
            let _ = block(engine().remove_container(&agent.id));
        }
        let _ = block(engine().remove_image(&self.0));
    }
}

#[test]
fn the_published_agent_image_is_pulled_when_this_executable_cannot_run_in_the_engine() {
    // The agent is replaced by the pulled one: no other test may run meanwhile.
    let s = Session::exclusive("published");
    let (port, served) = start_registry(agent_image_from_the_engine(&s));
    let published = format!(
        "127.0.0.1:{port}/ecs-run-local/ecs-run-local-agent:{}",
        s.family
    );
    let _cleanup = RemoveImage(published.clone());
    let forced = [
        ("ECS_RUN_LOCAL_AGENT_SOURCE", "published".to_owned()),
        ("ECS_RUN_LOCAL_PUBLISHED_AGENT_IMAGE", published.clone()),
    ];
    let path = s.write(
        &json!([container(
            "app",
            "wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task | grep -o '\"Family\":\"[^\"]*\"'"
        )]),
        &json!({ "networkMode": "awsvpc" }),
    );
    let path = path.to_string_lossy().into_owned();

    // A registry that refuses the pull: one line, exit 1, nothing left.
    let refused = "127.0.0.1:1/ecs-run-local/ecs-run-local-agent:nowhere";
    let out = start_with_env(
        [path.as_str()],
        &[
            ("ECS_RUN_LOCAL_AGENT_SOURCE", "published".to_owned()),
            ("ECS_RUN_LOCAL_PUBLISHED_AGENT_IMAGE", refused.to_owned()),
        ],
    )
    .wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        the_error_line(&out.stderr).contains(&format!("cannot pull the agent image `{refused}`")),
        "{out:?}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());

    // --pull never with the image absent: one line naming both ways out.
    let out = start_with_env([path.as_str(), "--pull", "never"], &forced).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "the agent image `{published}` (the published agent image"
        )) && out.stderr.contains("--pull never")
            && out.stderr.contains("--agent-image"),
        "{out:?}"
    );
    assert_eq!(served.pulls.load(Ordering::SeqCst), 0);

    // Pulled, it serves the task (and its pause container runs it too).
    let out = start_with_env([path.as_str()], &forced).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(served.pulls.load(Ordering::SeqCst) >= 1, "no pull");
    assert!(
        out.stdout
            .contains(&format!("app | \"Family\":\"{}\"", s.family)),
        "{out:?}"
    );
    assert!(block(engine().image_exists(&published)).unwrap());
    assert_eq!(s.leftovers(), Vec::<String>::new());
}

#[test]
fn a_task_for_another_cpu_architecture_is_refused_before_anything_starts() {
    let s = Session::new("arm64");
    let path = s.write(
        &json!([container("app", "true")]),
        &json!({ "runtimePlatform": { "cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX" } }),
    );
    let out = start([path.to_str().unwrap()]).wait();
    if std::env::consts::ARCH == "aarch64"
        || std::path::Path::new("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists()
    {
        // This engine can run it; nothing to refuse here.
        return;
    }
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains(
            "the task needs ARM64 (runtimePlatform.cpuArchitecture) and the Docker engine runs"
        ),
        "{out:?}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}
