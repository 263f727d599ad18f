//! What the tests against the real engine share: a busybox image built from
//! Debian's `busybox-static` (no registry is reachable), a session per test
//! that removes every object of its task by label, even when the test fails,
//! and a running CLI whose output can be waited for.
//!
//! The shared objects (agent container, network, the images) are removed when
//! the last session of the test binary ends, so a second run starts clean.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, LazyLock, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use ecs_run_local::testing::Engine;
use ecs_run_local::testing::{NETWORK_NAME, labels};
use serde_json::{Value, json};

/// The image every test container runs.
pub const BUSYBOX: &str = "ecs-run-local-test/busybox:latest";
const TEST_IMAGE_ROLE: &str = "test-image";

/// Live sessions; the last one out removes the shared objects.
static SESSIONS: Mutex<usize> = Mutex::new(0);

/// Sessions share the engine's agent and network; an exclusive session (one
/// that removes them, or needs their addresses) waits for the others to end.
static SHARING: RwLock<()> = RwLock::new(());

/// How a session holds the engine.
#[allow(dead_code)]
enum Hold {
    Shared(RwLockReadGuard<'static, ()>),
    Exclusive(RwLockWriteGuard<'static, ()>),
    /// Within another session's hold (a second task of the same test).
    Within,
}

/// One runtime for the harness's Docker calls (the tests are synchronous).
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime")
});
static ENGINE: LazyLock<Engine> =
    LazyLock::new(|| block(Engine::connect()).expect("the tests need a running Docker engine"));

pub fn block<F: std::future::Future>(future: F) -> F::Output {
    RUNTIME.block_on(future)
}

pub fn engine() -> &'static Engine {
    &ENGINE
}

/// One test's task family and its clean-up.
pub struct Session {
    pub family: String,
    dir: tempfile::TempDir,
    _hold: Hold,
}

impl Session {
    pub fn new(name: &str) -> Session {
        let suffix: String = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        Session::for_family(format!("t-{name}-{suffix}"))
    }

    /// A session for a task whose family is fixed (the README's examples).
    pub fn for_family(family: String) -> Session {
        let hold = Hold::Shared(
            SHARING
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        Session::holding(family, hold)
    }

    /// A session alone on the engine: no other test runs a task meanwhile,
    /// so it may remove the shared agent and network (`down --all`).
    pub fn exclusive(name: &str) -> Session {
        let hold = Hold::Exclusive(
            SHARING
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let suffix: String = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        Session::holding(format!("t-{name}-{suffix}"), hold)
    }

    /// A second task in this session's test, under the same hold.
    #[expect(
        clippy::unused_self,
        reason = "only a session's holder may make a sibling that takes no hold of its own"
    )]
    pub fn sibling(&self, name: &str) -> Session {
        let suffix: String = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        Session::holding(format!("t-{name}-{suffix}"), Hold::Within)
    }

    /// A file in this session's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn holding(family: String, hold: Hold) -> Session {
        let mut count = SESSIONS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *count += 1;
        if !block(engine().image_exists(BUSYBOX)).unwrap() {
            block(import_busybox()).expect("busybox imports");
        }
        drop(count);
        Session {
            family,
            dir: tempfile::tempdir().expect("a temporary directory"),
            _hold: hold,
        }
    }

    /// Writes a task definition with this session's family.
    pub fn write(&self, containers: &Value, extra: &Value) -> PathBuf {
        let mut def = json!({ "family": self.family, "containerDefinitions": containers });
        if let (Some(def), Value::Object(extra)) = (def.as_object_mut(), extra) {
            def.extend(extra.clone());
        }
        let path = self.dir.path().join("task.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&def).unwrap()).unwrap();
        path
    }

    /// This session's containers and volumes still on the engine.
    pub fn leftovers(&self) -> Vec<String> {
        let label = [format!("{}={}", labels::FAMILY, self.family)];
        let engine = engine();
        let mut left: Vec<String> = block(engine.containers_labelled(&label))
            .unwrap()
            .into_iter()
            .map(|c| format!("container {}", c.name))
            .collect();
        left.extend(
            block(engine.volumes_labelled(&label))
                .unwrap()
                .into_iter()
                .map(|v| format!("volume {}", v.name)),
        );
        left
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let label = [format!("{}={}", labels::FAMILY, self.family)];
        let engine = engine();
        block(async {
            let containers = engine.containers_labelled(&label).await.unwrap_or_default();
            for c in &containers {
                let _ = engine.remove_container(&c.id).await;
            }
            // The cgroups of tasks whose CLI a failed test killed.
            let _ = ecs_run_local::testing::remove_task_cgroups(engine, &containers).await;
            for v in engine.volumes_labelled(&label).await.unwrap_or_default() {
                let _ = engine.remove_volume(&v.name).await;
            }
            // The images `--build` made for this family's containers.
            let prefix = ecs_run_local::testing::build_tag(&self.family, "");
            let prefix = prefix.trim_end_matches(":dev");
            for image in built_images(engine).await {
                if image.repo_tags.iter().any(|t| t.starts_with(prefix)) {
                    let _ = engine.remove_image(&image.id).await;
                }
            }
        });
        let mut count = SESSIONS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *count -= 1;
        if *count == 0 {
            block(remove_shared(engine));
        }
    }
}

/// The images `--build` made (labelled `role=build`).
pub async fn built_images(engine: &Engine) -> Vec<bollard::models::ImageSummary> {
    let filters =
        std::collections::HashMap::from([("label", vec![format!("{}=build", labels::ROLE)])]);
    let options = bollard::query_parameters::ListImagesOptionsBuilder::default()
        .filters(&filters)
        .build();
    engine
        .bollard()
        .list_images(Some(options))
        .await
        .unwrap_or_default()
}

/// The agent, the network and the images the tests made.
async fn remove_shared(engine: &Engine) {
    for agent in engine
        .containers_labelled(&[format!("{}=agent", labels::ROLE)])
        .await
        .unwrap_or_default()
    {
        let _ = engine.remove_container(&agent.id).await;
    }
    let _ = engine.remove_network(NETWORK_NAME).await;
    for role in [TEST_IMAGE_ROLE, "agent-image", "example-image"] {
        let filters =
            std::collections::HashMap::from([("label", vec![format!("{}={role}", labels::ROLE)])]);
        let options = bollard::query_parameters::ListImagesOptionsBuilder::default()
            .filters(&filters)
            .build();
        for image in engine
            .bollard()
            .list_images(Some(options))
            .await
            .unwrap_or_default()
        {
            let _ = engine.remove_image(&image.id).await;
        }
    }
}

/// Imports a test image unless the engine has it. The test images go when
/// the last session of the process ends, so a later test may need it again:
/// a process-wide "imported once" would then name an image that is gone.
fn ensure_image(name: &str, import: impl FnOnce()) {
    static IMPORTING: Mutex<()> = Mutex::new(());
    let _one = IMPORTING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !block(engine().image_exists(name)).unwrap_or(false) {
        import();
    }
}

/// An image holding one static HTTP server and nothing else: busybox as
/// `/httpd` (so no `sh`, `wget` or any other applet to run) serving `/www`,
/// where `/www/health` says `ok`. Imported when missing; removed with the
/// other test images.
pub fn httpd_only_image() -> &'static str {
    let import = || {
        block(async {
            let busybox = std::fs::read("/bin/busybox")?;
            let mut tar = tar::Builder::new(Vec::new());
            let mut add = |path: &str, mode: u32, data: &[u8]| -> std::io::Result<()> {
                let mut h = tar::Header::new_gnu();
                h.set_mode(mode);
                h.set_size(data.len() as u64);
                tar.append_data(&mut h, path, data)
            };
            add("httpd", 0o755, &busybox)?;
            add("www/health", 0o644, b"ok\n")?;
            add("www/index.html", 0o644, b"<html>hello</html>\n")?;
            let changes = [
                r#"ENTRYPOINT ["/httpd", "-f", "-p", "8080", "-h", "/www"]"#.to_owned(),
                format!("LABEL {}={TEST_IMAGE_ROLE}", labels::ROLE),
            ];
            let (repo, tag) = HTTPD_ONLY.rsplit_once(':').unwrap();
            ENGINE
                .import_rootfs(tar.into_inner()?.into(), repo, tag, &changes)
                .await?;
            anyhow::Ok(())
        })
        .expect("the httpd-only image imports");
    };
    ensure_image(HTTPD_ONLY, import);
    HTTPD_ONLY
}

const HTTPD_ONLY: &str = "ecs-run-local-test/httpd-only:1";

/// A `FireLens` log router for the tests (no Fluent Bit image is reachable):
/// busybox for `sh`, `cat` and `id`; `/receiver`, built here from
/// `tests/fixtures/firelens/receiver.c` with `cc -static`, which listens on
/// the socket (and on TCP, given a port) and prints what it receives;
/// `/fluent-send`, from `fluent_send.c`, a Fluent logger that sends one
/// event in the forward protocol to `FLUENT_HOST:FLUENT_PORT`; and an
/// `/etc/passwd` with a user `fluent` (1000).
pub fn firelens_router_image() -> &'static str {
    let import = || {
        let dir = tempfile::tempdir().unwrap();
        let build = |name: &str| {
            let out = dir.path().join(name);
            let source = crate::harness::fixtures().join(format!("firelens/{name}.c"));
            let built = Command::new("cc")
                .args(["-static", "-O2", "-o"])
                .arg(&out)
                .arg(&source)
                .output()
                .expect("cc builds the test router (gcc)");
            assert!(
                built.status.success(),
                "{}",
                String::from_utf8_lossy(&built.stderr)
            );
            out
        };
        let receiver = build("receiver");
        let sender = build("fluent_send");
        block(async {
            let busybox = std::fs::read("/bin/busybox")?;
            let receiver = std::fs::read(&receiver)?;
            let sender = std::fs::read(&sender)?;
            let passwd = b"root:x:0:0:root:/root:/bin/sh\nfluent:x:1000:1000::/:/bin/sh\n".to_vec();
            let mut tar = tar::Builder::new(Vec::new());
            for path in ["var/run", "fluent-bit/etc", "tmp"] {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o777);
                h.set_size(0);
                tar.append_data(&mut h, path, std::io::empty())?;
            }
            for (path, data, mode) in [
                ("bin/busybox", &busybox, 0o755),
                ("receiver", &receiver, 0o755),
                ("fluent-send", &sender, 0o755),
                ("etc/passwd", &passwd, 0o644),
            ] {
                let mut h = tar::Header::new_gnu();
                h.set_mode(mode);
                h.set_size(data.len() as u64);
                tar.append_data(&mut h, path, data.as_slice())?;
            }
            for applet in ["sh", "cat", "id", "sleep", "ls"] {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                tar.append_link(&mut h, format!("bin/{applet}"), "busybox")?;
            }
            let changes = [
                "ENV PATH=/bin".to_owned(),
                format!("LABEL {}={TEST_IMAGE_ROLE}", labels::ROLE),
            ];
            let (repo, tag) = FIRELENS_ROUTER.rsplit_once(':').unwrap();
            ENGINE
                .import_rootfs(tar.into_inner()?.into(), repo, tag, &changes)
                .await?;
            anyhow::Ok(())
        })
        .expect("the router image imports");
    };
    ensure_image(FIRELENS_ROUTER, import);
    FIRELENS_ROUTER
}

const FIRELENS_ROUTER: &str = "ecs-run-local-test/firelens-router:forward-1";

/// Imports `/bin/busybox` with a link per applet as [`BUSYBOX`].
async fn import_busybox() -> anyhow::Result<()> {
    let busybox = std::fs::read("/bin/busybox")
        .map_err(|e| anyhow::anyhow!("/bin/busybox ({e}); apt-get install busybox-static"))?;
    let list = Command::new("/bin/busybox").arg("--list").output()?;
    let mut tar = tar::Builder::new(Vec::new());
    let dir = |tar: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32| -> std::io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(mode);
        h.set_size(0);
        tar.append_data(&mut h, path, std::io::empty())
    };
    dir(&mut tar, "bin", 0o755)?;
    dir(&mut tar, "tmp", 0o1777)?;
    dir(&mut tar, "etc", 0o755)?;
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o755);
    h.set_size(busybox.len() as u64);
    tar.append_data(&mut h, "bin/busybox", busybox.as_slice())?;
    for applet in String::from_utf8_lossy(&list.stdout)
        .split_whitespace()
        .filter(|a| *a != "busybox")
    {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        tar.append_link(&mut h, format!("bin/{applet}"), "busybox")?;
    }
    let passwd = b"root:x:0:0:root:/root:/bin/sh\n";
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(passwd.len() as u64);
    tar.append_data(&mut h, "etc/passwd", &passwd[..])?;
    let (repo, tag) = BUSYBOX.rsplit_once(':').unwrap();
    let changes = [
        r#"CMD ["sh"]"#.to_owned(),
        "ENV PATH=/bin".to_owned(),
        format!("LABEL {}={TEST_IMAGE_ROLE}", labels::ROLE),
    ];
    ENGINE
        .import_rootfs(tar.into_inner()?.into(), repo, tag, &changes)
        .await?;
    Ok(())
}

/// A busybox container definition running `script` with `sh -c`; the init
/// process forwards SIGTERM, and stops are quick.
pub fn container(name: &str, script: &str) -> Value {
    json!({
        "name": name,
        "image": BUSYBOX,
        "memory": 64,
        "entryPoint": ["sh", "-c"],
        "command": [script],
        "linuxParameters": { "initProcessEnabled": true },
        "stopTimeout": 2
    })
}

/// Runs `ecs-run-local` with `args` in the background.
pub fn start<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(args: I) -> Running {
    Running::spawn(crate::harness::command().args(args))
}

/// A TCP port free on this machine right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` on 127.0.0.1:`port`, retried until it answers 200 or 20 s pass.
pub fn http_get(port: u16, path: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut stream = TcpStream::connect(("127.0.0.1", port))?;
            stream.set_read_timeout(Some(Duration::from_secs(2)))?;
            write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
            let mut response = String::new();
            stream.read_to_string(&mut response)?;
            Ok(response)
        })();
        match attempt {
            Ok(response) if response.starts_with("HTTP/1.") && response.contains(" 200 ") => {
                return response
                    .split_once("\r\n\r\n")
                    .map(|(_, body)| body.to_owned())
                    .unwrap_or_default();
            }
            _ if Instant::now() > deadline => {
                panic!("nothing answered 200 on 127.0.0.1:{port}{path}: {attempt:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// A running `ecs-run-local`, its output collected as it comes.
pub struct Running {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// How a run ended.
#[derive(Debug)]
pub struct Ended {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Running {
    fn spawn(command: &mut Command) -> Running {
        let mut child = command
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ecs-run-local starts");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let collect = |pipe: Box<dyn std::io::Read + Send>, into: Arc<Mutex<String>>| {
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut text = into.lock().unwrap();
                    text.push_str(&line);
                    text.push('\n');
                }
            })
        };
        let readers = vec![
            collect(Box::new(child.stdout.take().unwrap()), stdout.clone()),
            collect(Box::new(child.stderr.take().unwrap()), stderr.clone()),
        ];
        Running {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    /// Waits until stdout has a line containing `text`.
    pub fn wait_for(&mut self, text: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.stdout.lock().unwrap().contains(text) {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(200));
                panic!(
                    "ecs-run-local ended ({status}) before printing `{text}`\nstdout:\n{}\nstderr:\n{}",
                    self.stdout.lock().unwrap(),
                    self.stderr.lock().unwrap()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no `{text}` within {within:?}\nstdout:\n{}\nstderr:\n{}",
                self.stdout.lock().unwrap(),
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until stderr (status lines) has a line containing `text`.
    pub fn wait_for_stderr(&mut self, text: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.stderr.lock().unwrap().contains(text) {
            assert!(
                Instant::now() < deadline && !matches!(self.child.try_wait(), Ok(Some(_))),
                "no `{text}` on stderr within {within:?}\nstdout:\n{}\nstderr:\n{}",
                self.stdout.lock().unwrap(),
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What it printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// What it printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGINT, as Ctrl-C would.
    pub fn interrupt(&self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT is delivered");
    }

    /// Sends SIGKILL, as an OOM killer or `kill -9` would, and waits for it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the end (at most two minutes) and returns what it printed.
    pub fn wait(self) -> Ended {
        self.wait_within(Duration::from_secs(120))
    }

    /// Waits for the end, killing it and failing the test when it has not
    /// ended within `limit`; returns what it printed.
    pub fn wait_within(mut self, limit: Duration) -> Ended {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "ecs-run-local did not end within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                    self.stdout.lock().unwrap(),
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        Ended {
            code: status.code(),
            stdout: self.stdout.lock().unwrap().clone(),
            stderr: self.stderr.lock().unwrap().clone(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A failed test must not leave a CLI behind, nor a zombie that looks alive.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A local AWS: `moto` on a free loopback port, stopped when dropped.
pub struct Moto {
    child: Child,
    pub port: u16,
    /// Empty AWS config and credentials files, so the user's own stay out.
    config: tempfile::TempDir,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::spawn(false)
    }

    /// A server that checks credentials as AWS does: the tests' made-up
    /// access key is refused.
    pub fn start_enforcing_auth() -> Moto {
        Moto::spawn(true)
    }

    fn spawn(enforce_auth: bool) -> Moto {
        let port = free_port();
        let mut command =
            Command::new(std::env::var("ECS_RUN_LOCAL_PYTHON").unwrap_or("python3".into()));
        if enforce_auth {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", "0");
        }
        let child = command
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto starts (pip install 'moto[server]')");
        let config = tempfile::tempdir().expect("a temporary directory");
        for file in ["config", "credentials"] {
            std::fs::write(config.path().join(file), "").unwrap();
        }
        let moto = Moto {
            child,
            port,
            config,
        };
        http_get(port, "/moto-api/");
        moto
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The SDK configuration of a client of this server, as the tests' own
    /// set-up tool.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        block(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(self.endpoint())
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_sts::config::Credentials::new(
                    "testing", "testing", None, None, "tests",
                ))
                .load(),
        )
    }

    /// The environment of a CLI that talks to this server only.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_CONFIG_FILE", self.file("config")),
            ("AWS_SHARED_CREDENTIALS_FILE", self.file("credentials")),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    fn file(&self, name: &str) -> String {
        self.config.path().join(name).to_string_lossy().into_owned()
    }

    /// Calls a JSON-protocol AWS API of moto (`ecs`, `AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition`),
    /// so that set-up can send a task definition as the JSON it is.
    pub fn call_json(&self, service: &str, target: &str, body: &Value) -> Value {
        let body = body.to_string();
        // moto routes a request by the service its signature's scope names.
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, \
             SignedHeaders=host, Signature=0"
        );
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("moto is up");
        write!(
            stream,
            "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nX-Amz-Target: {target}\r\nAuthorization: {authorization}\r\n\
             Content-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or_default();
        assert!(head.contains(" 200 "), "{target}: {response}");
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{target}: {e}: {body}"))
    }

    /// The access keys of the role sessions moto's STS handed out under
    /// `session_name`, one per `AssumeRole` call (from moto's state dump).
    pub fn assumed_role_keys(&self, session_name: &str) -> Vec<String> {
        let state: Value = serde_json::from_str(&http_get(self.port, "/moto-api/data.json"))
            .expect("moto's state is JSON");
        state["sts"]["AssumedRole"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["session_name"] == session_name)
            .filter_map(|r| r["access_key_id"].as_str().map(str::to_owned))
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `ecs-run-local` with `args` and extra environment in the background.
pub fn start_with_env<I, S>(args: I, env: &[(&str, String)]) -> Running
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = crate::harness::command();
    command.args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    Running::spawn(&mut command)
}

/// An environment variable of a task's running container.
pub fn container_env(family: &str, container: &str, key: &str) -> String {
    let inspect = block(engine().inspect_raw(&container_id(family, container))).unwrap();
    inspect
        .config
        .and_then(|c| c.env)
        .unwrap_or_default()
        .into_iter()
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_owned))
        .unwrap_or_else(|| panic!("no {key} in {container}"))
}

/// The id of the task a container belongs to (the end of its task ARN label).
pub fn task_id_of(family: &str, container: &str) -> String {
    let inspect = block(engine().inspect_raw(&container_id(family, container))).unwrap();
    let labels = inspect.config.and_then(|c| c.labels).unwrap_or_default();
    labels[ecs_run_local::testing::labels::TASK_ARN]
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

/// The Docker id of a task's container.
pub fn container_id(family: &str, container: &str) -> String {
    let label = [
        format!("{}={family}", ecs_run_local::testing::labels::FAMILY),
        format!(
            "{}={container}",
            ecs_run_local::testing::labels::CONTAINER_NAME
        ),
    ];
    let found = block(engine().containers_labelled(&label)).unwrap();
    found
        .first()
        .unwrap_or_else(|| panic!("no container {container} of {family}"))
        .id
        .clone()
}

/// The one `ecs-run-local: error:` line of a run's stderr (there must be
/// exactly one).
pub fn the_error_line(stderr: &str) -> &str {
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("ecs-run-local: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    errors[0]
}
