//! The agent image, built from this very executable, and the shared network
//! and agent container every task uses.
//!
//! The image holds our executable and the shared libraries it has loaded (read
//! from `/proc/self/maps`), imported through Docker's image import API: no
//! registry, no Dockerfile. Its tag is a hash of those bytes, so an unchanged
//! binary reuses its image and a rebuilt one gets a new one.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, NetworkingConfig,
    PortBinding,
};
use bytes::Bytes;
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};
use sha2::{Digest, Sha256};

use crate::docker::{Engine, EnginePlatform, docker_architecture};
use crate::output::progress::PullBars;
use crate::plan::{AGENT_IP, NETWORK_NAME, NETWORK_SUBNET, labels, network_request};
use crate::protocol;
use crate::runner::PullPolicy;
use crate::runner::agent_client::AgentClient;

/// The repository of images built from our executable.
pub const AGENT_REPOSITORY: &str = "ecs-run-local-agent";
/// The one agent container per engine.
pub const AGENT_CONTAINER: &str = "ecs-run-local-agent";
/// Where the executable sits in the image.
const EXECUTABLE_IN_IMAGE: &str = crate::plan::AGENT_EXECUTABLE;
/// Label on the agent container naming the image it runs.
const IMAGE_LABEL: &str = "ecs-run-local.agent-image";
const DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// The files of the agent image: our executable, the libraries it loaded,
/// and its ELF interpreter under the path the executable names it by.
struct ImageFiles {
    executable: PathBuf,
    libraries: Vec<PathBuf>,
    /// `(path in the image, file on this machine)` of the dynamic loader.
    interpreter: Option<(PathBuf, PathBuf)>,
}

impl ImageFiles {
    fn of_this_process() -> anyhow::Result<ImageFiles> {
        let executable = std::env::current_exe().context("cannot find our own executable")?;
        let maps =
            std::fs::read_to_string("/proc/self/maps").context("cannot read /proc/self/maps")?;
        // The headers are at the start; the whole file only when they are not.
        let head = read_head(&executable, ELF_HEAD)?;
        let interpreter = elf_interpreter(&head)
            .or_else(|| {
                let whole = std::fs::read(&executable).ok()?;
                elf_interpreter(&whole)
            })
            .map(|path| {
                let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
                (path, real)
            });
        Ok(ImageFiles {
            libraries: loaded_libraries(&maps),
            executable,
            interpreter,
        })
    }

    /// The key that tags the image. The executable counts by its GNU build
    /// id, which the linker derives from its whole content, read from its
    /// first bytes; without one, by its content. The libraries count by
    /// path, size and modification time (a package upgrade changes them).
    /// The executable's own path does not count: the image holds it at one
    /// fixed place, so a copy of the binary reuses the same image.
    fn digest(&self) -> anyhow::Result<String> {
        let mut hash = Sha256::new();
        let head = read_head(&self.executable, ELF_HEAD)?;
        match elf_build_id(&head) {
            Some(id) => {
                hash.update(b"build-id:");
                hash.update(&id);
            }
            None => hash.update(
                std::fs::read(&self.executable)
                    .with_context(|| format!("cannot read {}", self.executable.display()))?,
            ),
        }
        for path in &self.libraries {
            let meta = std::fs::metadata(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            hash.update(path.to_string_lossy().as_bytes());
            hash.update(meta.len().to_le_bytes());
            if let Ok(modified) = meta.modified()
                && let Ok(since) = modified.duration_since(std::time::UNIX_EPOCH)
            {
                hash.update(since.as_nanos().to_le_bytes());
            }
        }
        Ok(crate::plan::ids::to_hex(&hash.finalize()[..8]))
    }

    /// The image's root file system as a tarball.
    fn tarball(&self) -> anyhow::Result<Bytes> {
        let mut tar = tar::Builder::new(Vec::new());
        tar.mode(tar::HeaderMode::Deterministic);
        // Docker's importer rejects GNU sparse entries.
        tar.sparse(false);
        tar.append_path_with_name(
            &self.executable,
            EXECUTABLE_IN_IMAGE.trim_start_matches('/'),
        )?;
        let mut dirs = BTreeSet::new();
        let interpreter = self.interpreter.iter().map(|(path, _)| path);
        for library in self.libraries.iter().chain(interpreter) {
            for dir in library.ancestors().skip(1) {
                if dir != Path::new("/") {
                    dirs.insert(dir.to_path_buf());
                }
            }
        }
        for dir in &dirs {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            tar.append_data(
                &mut header,
                dir.strip_prefix("/").unwrap_or(dir),
                std::io::empty(),
            )?;
        }
        for library in &self.libraries {
            tar.append_path_with_name(library, library.strip_prefix("/").unwrap_or(library))?;
        }
        if let Some((path, real)) = &self.interpreter {
            if !self.libraries.contains(path) {
                tar.append_path_with_name(real, path.strip_prefix("/").unwrap_or(path))?;
            }
        }
        let mut tmp = tar::Header::new_gnu();
        tmp.set_entry_type(tar::EntryType::Directory);
        tmp.set_mode(0o1777);
        tmp.set_size(0);
        tar.append_data(&mut tmp, "tmp", std::io::empty())?;
        Ok(Bytes::from(tar.into_inner()?))
    }
}

/// The `PT_INTERP` path of a 64-bit little-endian ELF executable: where the
/// kernel looks for the dynamic loader. `None` for a static executable.
/// How much of the executable holds its program headers, interpreter and
/// build id note (they come first in what linkers write).
const ELF_HEAD: usize = 64 * 1024;

fn read_head(path: &Path, bytes: usize) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut head = Vec::with_capacity(bytes);
    std::fs::File::open(path)
        .and_then(|f| f.take(bytes as u64).read_to_end(&mut head))
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(head)
}

/// The segments of a 64-bit little-endian ELF file that lie within `elf`,
/// as `(type, bytes)`.
fn elf_segments(elf: &[u8]) -> Vec<(u32, &[u8])> {
    let u16_at = |at: usize| Some(u16::from_le_bytes(elf.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(elf.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(elf.get(at..at + 8)?.try_into().ok()?));
    let segments = || -> Option<Vec<(u32, &[u8])>> {
        if elf.get(..5)? != b"\x7fELF\x02" || elf.get(5)? != &1 {
            return None;
        }
        let table = usize::try_from(u64_at(0x20)?).ok()?;
        let entry_size = usize::from(u16_at(0x36)?);
        let mut found = Vec::new();
        for i in 0..usize::from(u16_at(0x38)?) {
            let header = table + i * entry_size;
            let offset = usize::try_from(u64_at(header + 8)?).ok()?;
            let size = usize::try_from(u64_at(header + 32)?).ok()?;
            if let Some(bytes) = elf.get(offset..offset + size) {
                found.push((u32_at(header)?, bytes));
            }
        }
        Some(found)
    };
    segments().unwrap_or_default()
}

/// The GNU build id of an ELF file (its `PT_NOTE`'s `NT_GNU_BUILD_ID`),
/// from its first bytes.
fn elf_build_id(elf: &[u8]) -> Option<Vec<u8>> {
    const PT_NOTE: u32 = 4;
    const NT_GNU_BUILD_ID: u32 = 3;
    let aligned = |n: usize| n.div_ceil(4) * 4;
    for (_, notes) in elf_segments(elf)
        .into_iter()
        .filter(|(kind, _)| *kind == PT_NOTE)
    {
        let u32_at = |at: usize| Some(u32::from_le_bytes(notes.get(at..at + 4)?.try_into().ok()?));
        let mut at = 0;
        while at + 12 <= notes.len() {
            let name_size = usize::try_from(u32_at(at)?).ok()?;
            let desc_size = usize::try_from(u32_at(at + 4)?).ok()?;
            let desc_at = at + 12 + aligned(name_size);
            if u32_at(at + 8)? == NT_GNU_BUILD_ID
                && notes.get(at + 12..at + 12 + name_size)? == b"GNU\0"
            {
                return notes.get(desc_at..desc_at + desc_size).map(<[u8]>::to_vec);
            }
            at = desc_at + aligned(desc_size);
        }
    }
    None
}

/// The dynamic loader an ELF file names (its `PT_INTERP`).
fn elf_interpreter(elf: &[u8]) -> Option<PathBuf> {
    const PT_INTERP: u32 = 3;
    let (_, raw) = elf_segments(elf)
        .into_iter()
        .find(|(kind, _)| *kind == PT_INTERP)?;
    let path = raw.split(|b| *b == 0).next()?;
    Some(PathBuf::from(String::from_utf8_lossy(path).into_owned()))
}

/// The shared libraries and the dynamic loader mapped into this process.
fn loaded_libraries(maps: &str) -> Vec<PathBuf> {
    let set: BTreeSet<PathBuf> = maps
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .filter(|path| {
            let shared_object = Path::new(path)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("so"));
            path.starts_with('/') && (shared_object || path.contains(".so."))
        })
        .map(PathBuf::from)
        .collect();
    set.into_iter().collect()
}

/// The published multi-arch (linux/amd64, linux/arm64) agent image of this
/// exact version, built from the release's static Linux binaries.
pub const PUBLISHED_AGENT_IMAGE: &str = concat!(
    "ghcr.io/ecs-run-local/ecs-run-local-agent:",
    env!("CARGO_PKG_VERSION")
);

/// Forces where the agent image comes from (`build` or `published`), for
/// tests of each path on one machine.
pub const AGENT_SOURCE_ENV: &str = "ECS_RUN_LOCAL_AGENT_SOURCE";

/// Stands in for [`PUBLISHED_AGENT_IMAGE`] (a test's loopback registry).
pub const PUBLISHED_IMAGE_ENV: &str = "ECS_RUN_LOCAL_PUBLISHED_AGENT_IMAGE";

/// The agent image for this run (docs/ARCHITECTURE.md, "The agent and its
/// protocol"): `--agent-image` when given; else the image built from this
/// executable when the engine can run it (a Linux binary of the engine's
/// architecture); else the published image of this version. A missing image
/// is pulled, with a progress bar, unless `--pull never`.
pub async fn ensure_image(
    engine: &Engine,
    platform: &EnginePlatform,
    override_image: Option<&str>,
    pull: PullPolicy,
) -> anyhow::Result<String> {
    if let Some(image) = override_image {
        ensure_pulled(engine, image, "--agent-image", pull).await?;
        return Ok(image.to_owned());
    }
    let ours = std::env::consts::ARCH;
    let runnable = cfg!(target_os = "linux")
        && (platform.os.is_empty() || platform.os == "linux")
        && (platform.architecture.is_empty()
            || docker_architecture(&platform.architecture) == docker_architecture(ours));
    let forced = std::env::var(AGENT_SOURCE_ENV).unwrap_or_default();
    if runnable && forced != "published" {
        return build_from_executable(engine).await;
    }
    if forced == "build" {
        bail!(
            "this executable ({} {ours}) cannot run in the Docker engine ({} {})",
            std::env::consts::OS,
            platform.os,
            platform.architecture
        );
    }
    let published =
        std::env::var(PUBLISHED_IMAGE_ENV).unwrap_or_else(|_| PUBLISHED_AGENT_IMAGE.to_owned());
    let why = format!(
        "the published agent image (this executable, {} {ours}, cannot run in the engine's {} {})",
        std::env::consts::OS,
        platform.os,
        platform.architecture
    );
    ensure_pulled(engine, &published, &why, pull).await?;
    Ok(published)
}

/// Pulls `image` when it is missing (`--pull never` forbids it: then the
/// error names both ways out).
async fn ensure_pulled(
    engine: &Engine,
    image: &str,
    what: &str,
    pull: PullPolicy,
) -> anyhow::Result<()> {
    if engine.image_exists(image).await? {
        return Ok(());
    }
    if pull == PullPolicy::Never {
        bail!(
            "the agent image `{image}` ({what}) is not on this machine and --pull never forbids pulling it; pull it once (run without --pull never) or pass --agent-image with an image the engine has"
        );
    }
    let bars = PullBars::new();
    let bar = bars.add(image);
    let pulled = engine.pull(image, None, None, |p| bar.update(&p)).await;
    bar.finish(pulled.is_ok());
    pulled.with_context(|| format!("cannot pull the agent image `{image}` ({what})"))
}

/// The image built from this executable and the libraries it loaded,
/// imported once per build of the executable.
async fn build_from_executable(engine: &Engine) -> anyhow::Result<String> {
    // Hashing and packing the executable is blocking work: off the async workers.
    let keyed = std::time::Instant::now();
    let (files, tag) = tokio::task::spawn_blocking(|| {
        let files = ImageFiles::of_this_process()?;
        let tag = files.digest()?;
        anyhow::Ok((files, tag))
    })
    .await
    .context("cannot hash this executable")??;
    tracing::debug!(%tag, elapsed = ?keyed.elapsed(), "the agent image's key");
    let image = format!("{AGENT_REPOSITORY}:{tag}");
    if engine.image_exists(&image).await? {
        return Ok(image);
    }
    tracing::info!(%image, "building the agent image from this executable");
    let tarball = tokio::task::spawn_blocking(move || files.tarball())
        .await
        .context("cannot pack the agent image")??;
    let changes = [
        format!(r#"ENTRYPOINT ["{EXECUTABLE_IN_IMAGE}"]"#),
        r#"CMD ["agent"]"#.to_owned(),
        format!("LABEL {}=agent-image", labels::ROLE),
    ];
    engine
        .import_rootfs(tarball, AGENT_REPOSITORY, &tag, &changes)
        .await?;
    Ok(image)
}

/// Creates the shared network when absent; refuses one that is not ours.
pub async fn ensure_network(engine: &Engine) -> anyhow::Result<()> {
    match engine.network_subnets(NETWORK_NAME).await? {
        Some(subnets) if subnets.iter().any(|s| s == NETWORK_SUBNET) => Ok(()),
        Some(subnets) => bail!(
            "a Docker network `{NETWORK_NAME}` exists with subnet {} instead of {NETWORK_SUBNET}; remove it (`docker network rm {NETWORK_NAME}`)",
            subnets.join(", ")
        ),
        None => match engine.create_network(&network_request()).await {
            Ok(()) => Ok(()),
            Err(e) => {
                // Another ecs-run-local may be creating it right now (Docker
                // answers 409, or 403 "pool overlaps" while the subnet is taken
                // but the network not yet listed): give it a moment to appear.
                for _ in 0..30 {
                    let now = engine.network_subnets(NETWORK_NAME).await?;
                    if now.is_some_and(|subnets| subnets.iter().any(|s| s == NETWORK_SUBNET)) {
                        return Ok(());
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(anyhow::Error::new(e).context(format!(
                    "cannot create the `{NETWORK_NAME}` network ({NETWORK_SUBNET}); another network may use that subnet"
                )))
            }
        },
    }
}

/// The engine's socket on its host, mounted into the agent at
/// `/var/run/docker.sock`: Podman's is wherever `DOCKER_HOST` points; Docker
/// Engine and Docker Desktop (inside its VM) serve `/var/run/docker.sock`.
fn engine_socket(engine: &Engine) -> String {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if engine.is_podman() && host.starts_with("unix://") => {
            host.trim_start_matches("unix://").to_owned()
        }
        _ => DOCKER_SOCKET.to_owned(),
    }
}

/// The port the agent serves its loopback routes on inside its container.
const LOOPBACK_PORT_IN_CONTAINER: u16 = 51679;

/// The agent being brought up by [`ensure_agent`] in the background, so
/// that a run does other work meanwhile; every clone waits for the same one.
#[derive(Clone)]
pub struct AgentStartup(Shared<BoxFuture<'static, Result<AgentClient, Arc<anyhow::Error>>>>);

impl AgentStartup {
    /// Starts bringing up the agent now.
    #[must_use]
    pub fn spawn(engine: &Engine, image: &str, port: u16) -> AgentStartup {
        let (engine, image) = (engine.clone(), image.to_owned());
        let handle =
            tokio::spawn(
                async move { ensure_agent(&engine, &image, port).await.map_err(Arc::new) },
            );
        let joined = async move {
            handle
                .await
                .unwrap_or_else(|e| Err(Arc::new(anyhow::Error::new(e))))
        };
        AgentStartup(joined.boxed().shared())
    }

    /// The agent, once it answers.
    pub async fn ready(&self) -> anyhow::Result<AgentClient> {
        self.0.clone().await.map_err(|e| anyhow::anyhow!("{e:#}"))
    }
}

impl std::fmt::Debug for AgentStartup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AgentStartup")
    }
}

/// Makes sure the agent container runs `image` at 169.254.170.2 with its
/// loopback port on 127.0.0.1:`port`, replacing one that runs another image,
/// and returns a client holding its token.
pub async fn ensure_agent(engine: &Engine, image: &str, port: u16) -> anyhow::Result<AgentClient> {
    // Other ecs-run-local processes may be doing the same right now: remove
    // an agent of another build (tolerating a removal already under way),
    // then reuse ours or create it, until one of them stands.
    let mut attempts = 0;
    let (id, written) = loop {
        attempts += 1;
        if attempts > 100 {
            bail!("cannot replace the agent container of another ecs-run-local build");
        }
        let found = engine
            .containers_labelled(&[format!("{}=agent", labels::ROLE)])
            .await?;
        let (ours, stale): (Vec<_>, Vec<_>) = found
            .into_iter()
            .partition(|c| c.labels.get(IMAGE_LABEL).map(String::as_str) == Some(image));
        if !stale.is_empty() {
            for old in &stale {
                if let Err(e) = engine.remove_container(&old.id).await {
                    tracing::debug!(error = %e, "the old agent is being removed already");
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        if let Some(agent) = ours.first() {
            if agent.state != "running" && abandoned(engine, &agent.id).await {
                tracing::debug!("replacing an agent container left without its token");
                let _ = engine.remove_container(&agent.id).await;
                continue;
            }
            break (agent.id.clone(), None);
        }
        match engine
            .create_container(
                AGENT_CONTAINER,
                agent_container(image, port, &engine_socket(engine)),
                None,
            )
            .await
        {
            Ok(id) => {
                // The token goes into the container before it starts; it
                // never touches the host's file system.
                let token = crate::plan::ids::to_hex(&rand::random::<[u8; 32]>());
                let written = engine
                    .put_file(&id, protocol::TOKEN_FILE, token.as_bytes(), 0o600)
                    .await;
                if let Err(e) = written {
                    let _ = engine.remove_container(&id).await;
                    return Err(anyhow::Error::new(e).context("cannot set up the agent"));
                }
                break (id, Some(token));
            }
            Err(e) if e.is_conflict() => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => return Err(e.into()),
        }
    };
    let created = written.is_some();
    let token = match written {
        Some(token) => token,
        None => read_token(engine, &id).await?,
    };
    let client = AgentClient::new(port, token);
    let started = engine.start_container(&id).await;
    // Another ecs-run-local may be starting the same agent: what counts is
    // whether it answers; unless the port is someone else's.
    let port_taken = started.as_ref().err().is_some_and(|e| {
        let text = format!("{e:?}");
        text.contains("address already in use") || text.contains("port is already allocated")
    });
    let healthy = if port_taken {
        Err(anyhow::anyhow!("the port is taken"))
    } else {
        client.wait_healthy(Duration::from_secs(20)).await
    };
    match (started, healthy) {
        (_, Ok(_)) => Ok(client),
        (Err(e), Err(_)) => {
            if created {
                let _ = engine.remove_container(&id).await;
            }
            Err(anyhow::Error::new(e).context(format!(
                "cannot start the agent; is 127.0.0.1:{port} already taken? (choose another port with --agent-port)"
            )))
        }
        (Ok(()), Err(e)) => Err(e.context(format!("the agent did not answer on 127.0.0.1:{port}"))),
    }
}

/// An agent container whose creator went away before giving it its token
/// (killed between the two steps): created a while ago, and no token in it.
async fn abandoned(engine: &Engine, id: &str) -> bool {
    let old = engine
        .inspect_raw(id)
        .await
        .ok()
        .and_then(|c| c.created)
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(&at).ok())
        .is_some_and(|at| chrono::Utc::now() - at.to_utc() > chrono::TimeDelta::seconds(5));
    old && engine
        .get_file(id, protocol::TOKEN_FILE)
        .await
        .map_or(true, |token| token.is_empty())
}

/// The agent's bearer token, read back out of its container.
async fn read_token(engine: &Engine, id: &str) -> anyhow::Result<String> {
    // A concurrent ecs-run-local may still be writing it.
    let mut attempts = 0;
    loop {
        match engine.get_file(id, protocol::TOKEN_FILE).await {
            Ok(bytes) if !bytes.is_empty() => {
                return Ok(String::from_utf8_lossy(&bytes).trim().to_owned());
            }
            result if attempts >= 30 => {
                let reason = result.err().map(|e| e.to_string()).unwrap_or_default();
                bail!("cannot read the agent's token from its container: {reason}");
            }
            _ => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn agent_container(image: &str, port: u16, socket: &str) -> ContainerCreateBody {
    let labels = HashMap::from([
        (labels::ROLE.to_owned(), "agent".to_owned()),
        (IMAGE_LABEL.to_owned(), image.to_owned()),
    ]);
    let loopback = format!("{LOOPBACK_PORT_IN_CONTAINER}/tcp");
    ContainerCreateBody {
        image: Some(image.to_owned()),
        // Named, not inherited: Podman's image import drops ENTRYPOINT.
        entrypoint: Some(vec![EXECUTABLE_IN_IMAGE.into()]),
        cmd: Some(vec![
            "agent".into(),
            "--listen".into(),
            "0.0.0.0:80".into(),
            "--loopback".into(),
            format!("0.0.0.0:{LOOPBACK_PORT_IN_CONTAINER}"),
        ]),
        labels: Some(labels),
        exposed_ports: Some(vec!["80/tcp".into(), loopback.clone()]),
        host_config: Some(HostConfig {
            network_mode: Some(NETWORK_NAME.into()),
            binds: Some(vec![format!("{socket}:{DOCKER_SOCKET}")]),
            port_bindings: Some(HashMap::from([(
                loopback,
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".into()),
                    host_port: Some(port.to_string()),
                }]),
            )])),
            init: Some(false),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                NETWORK_NAME.to_owned(),
                EndpointSettings {
                    ipam_config: Some(EndpointIpamConfig {
                        ipv4_address: Some(AGENT_IP.into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )])),
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libraries_come_from_the_memory_map() {
        let maps = "\
5581c0a00000-5581c0a2c000 r--p 00000000 08:01 123 /usr/bin/ecs-run-local
7f0e1c000000-7f0e1c028000 r--p 00000000 08:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
7f0e1c028000-7f0e1c1bd000 r-xp 00028000 08:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
7f0e1c300000-7f0e1c310000 r--p 00000000 08:01 789 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7f0e1c400000-7f0e1c401000 rw-p 00000000 00:00 0 [heap]
7ffd1c000000-7ffd1c021000 rw-p 00000000 00:00 0 [stack]";
        assert_eq!(
            loaded_libraries(maps),
            [
                PathBuf::from("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
                PathBuf::from("/usr/lib/x86_64-linux-gnu/libc.so.6"),
            ]
        );
    }

    #[test]
    fn this_process_has_an_image_with_its_loader() {
        let files = ImageFiles::of_this_process().unwrap();
        assert!(
            files
                .libraries
                .iter()
                .any(|l| l.to_string_lossy().contains("ld-")),
            "{:?}",
            files.libraries
        );
        assert_eq!(files.digest().unwrap().len(), 16);
    }

    #[test]
    fn the_build_id_is_read_from_the_first_bytes_and_differs_between_builds() {
        let this = read_head(&std::env::current_exe().unwrap(), ELF_HEAD).unwrap();
        let id = elf_build_id(&this).expect("the test binary has a GNU build id");
        assert!(id.len() >= 16, "{id:?}");
        // `file`'s reading of the same binary agrees.
        let file = std::process::Command::new("file")
            .arg(std::env::current_exe().unwrap())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        if file.contains("BuildID") {
            assert!(file.contains(&crate::plan::ids::to_hex(&id)), "{file}");
        }
        assert_eq!(elf_build_id(b"not an elf file at all"), None);
    }

    #[test]
    fn the_interpreter_is_read_from_the_elf_header() {
        let elf = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let interpreter = elf_interpreter(&elf).expect("a dynamically linked test binary");
        assert!(
            interpreter.is_absolute() && interpreter.to_string_lossy().contains("ld-"),
            "{interpreter:?}"
        );
        assert_eq!(elf_interpreter(b"not an elf"), None);
        assert_eq!(elf_interpreter(&elf[..0x30]), None);
    }

    #[test]
    fn architectures_compare_across_naming_schemes() {
        assert_eq!(docker_architecture("amd64"), docker_architecture("x86_64"));
        assert_ne!(docker_architecture("arm64"), docker_architecture("x86_64"));
    }
}
