//! A private registry on loopback (the engine trusts 127.0.0.0/8 over plain
//! HTTP), which demands a login: `repositoryCredentials` read from Secrets
//! Manager in moto must reach the engine's pull.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;
use sha2::Digest as _;

use crate::docker_harness::{Moto, Session, block, container, engine, start_with_env};

const USER: &str = "registry-user";
const PASSWORD: &str = "registry-p@ss";

/// One image: its manifest and blobs by digest.
pub struct Registry {
    pub manifest: Vec<u8>,
    pub blobs: Vec<(String, Vec<u8>)>,
    /// Requests that came with the right login.
    authorized: AtomicUsize,
}

pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

/// A one-layer image holding the static busybox, labelled as a test image.
pub fn image() -> Registry {
    let busybox = std::fs::read("/bin/busybox").expect("/bin/busybox (busybox-static)");
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(busybox.len() as u64);
    header.set_mode(0o755);
    header.set_cksum();
    tar.append_data(&mut header, "bin/busybox", busybox.as_slice())
        .unwrap();
    let layer = tar.into_inner().unwrap();
    let architecture = match std::env::consts::ARCH {
        "aarch64" => "arm64",
        _ => "amd64",
    };
    let config = serde_json::to_vec(&json!({
        "architecture": architecture,
        "os": "linux",
        "config": { "Labels": { "ecs-run-local.role": "test-image" } },
        "rootfs": { "type": "layers", "diff_ids": [digest(&layer)] },
    }))
    .unwrap();
    let (manifest, blobs) = distributed(&config, &[layer]);
    Registry {
        manifest,
        blobs,
        authorized: AtomicUsize::new(0),
    }
}

/// An image as a registry distributes it: the manifest of `config` and the
/// `layers` (uncompressed tars, gzipped here), and the blobs by digest.
pub fn distributed(config: &[u8], layers: &[Vec<u8>]) -> (Vec<u8>, Vec<(String, Vec<u8>)>) {
    let mut blobs = vec![(digest(config), config.to_vec())];
    let mut described = Vec::new();
    for layer in layers {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(layer).unwrap();
        let gz = gz.finish().unwrap();
        described.push(json!({
            "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "size": gz.len(),
            "digest": digest(&gz),
        }));
        blobs.push((digest(&gz), gz));
    }
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": config.len(),
            "digest": digest(config),
        },
        "layers": described,
    }))
    .unwrap();
    (manifest, blobs)
}

async fn serve(
    State(registry): State<Arc<Registry>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    let login = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(login.as_str())
    {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"ecs-run-local-test\""),
        );
        return response;
    }
    registry.authorized.fetch_add(1, Ordering::SeqCst);
    let (body, kind) = if path.is_empty() {
        (b"{}".to_vec(), "application/json")
    } else if let Some(found) = content(&registry.manifest, &registry.blobs, &path) {
        found
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    respond(body, kind)
}

/// What a registry holds at `path` (`…/manifests/…`, `…/blobs/<digest>`) for
/// one image, with its media type; `None` for anything else.
pub fn content(
    manifest: &[u8],
    blobs: &[(String, Vec<u8>)],
    path: &str,
) -> Option<(Vec<u8>, &'static str)> {
    if path.contains("/manifests/") {
        return Some((
            manifest.to_vec(),
            "application/vnd.docker.distribution.manifest.v2+json",
        ));
    }
    blobs
        .iter()
        .find(|(d, _)| path.ends_with(&format!("/blobs/{d}")))
        .map(|(_, blob)| (blob.clone(), "application/octet-stream"))
}

/// A registry's answer: `body` with its type and digest headers.
pub fn respond(body: Vec<u8>, kind: &'static str) -> Response {
    let digest = digest(&body);
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(
        "Docker-Content-Digest",
        HeaderValue::from_str(&digest).unwrap(),
    );
    headers.insert(
        "Docker-Distribution-Api-Version",
        HeaderValue::from_static("registry/2.0"),
    );
    response
}

/// Serves `app` on a free loopback port from a thread of its own, for the
/// rest of the test process; returns the port.
pub fn serve_on_loopback(app: axum::Router) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    port
}

/// Starts the registry on a free loopback port.
fn start_registry() -> (u16, Arc<Registry>) {
    let registry = Arc::new(image());
    let app = axum::Router::new()
        .route("/v2/", axum::routing::get(serve_root))
        .route("/v2/{*path}", axum::routing::get(serve))
        .with_state(Arc::clone(&registry));
    let port = serve_on_loopback(app);
    (port, registry)
}

async fn serve_root(state: State<Arc<Registry>>, headers: HeaderMap) -> Response {
    serve(state, Path(String::new()), headers).await
}

#[test]
fn repository_credentials_from_secrets_manager_log_in_to_a_private_registry() {
    let moto = Moto::start();
    let (port, registry) = start_registry();
    let s = Session::new("registry");
    let config = moto.sdk_config();
    let secret = block(
        aws_sdk_secretsmanager::Client::new(&config)
            .create_secret()
            .name("registry-login")
            .secret_string(json!({ "username": USER, "password": PASSWORD }).to_string())
            .send(),
    )
    .unwrap()
    .arn
    .unwrap();
    let image = format!("127.0.0.1:{port}/{}/app:1", s.family);
    let mut app = container("app", "echo pulled-and-running; exit 0");
    app["image"] = json!(image);
    app["entryPoint"] = json!(["/bin/busybox", "sh", "-c"]);
    app["linuxParameters"] = json!({});
    app["repositoryCredentials"] = json!({ "credentialsParameter": secret });
    let path = s.write(&json!([app]), &json!({ "networkMode": "bridge" }));
    let path = path.to_string_lossy().into_owned();
    let out = start_with_env([path.as_str()], &moto.env()).wait();
    let pulled = block(engine().image_exists(&image)).unwrap_or(false);
    let _ = block(engine().remove_image(&image));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(pulled, "the image was not pulled");
    assert!(out.stdout.contains("app | pulled-and-running\n"), "{out:?}");
    assert!(
        registry.authorized.load(Ordering::SeqCst) >= 3,
        "no logged-in pull"
    );
    assert!(!out.stderr.contains(PASSWORD) && !out.stdout.contains(PASSWORD));

    // Without the credentials the registry refuses the pull.
    let mut app = container("app", "exit 0");
    app["image"] = json!(image);
    let path = s.write(&json!([app]), &json!({ "networkMode": "bridge" }));
    let path = path.to_string_lossy().into_owned();
    let out = start_with_env([path.as_str()], &moto.env()).wait();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "image `{image}` is not on this machine and could not be pulled"
        )),
        "{out:?}"
    );
    assert_eq!(s.leftovers(), Vec::<String>::new());
}
