//! How long `ecs-run-local` takes to bring a three-container task to RUNNING,
//! against the same three containers created and started directly through the
//! Docker API, measured in one process on the same engine.
//!
//! `cargo bench --bench startup` (needs Docker and /bin/busybox). The agent
//! image and agent are warmed once before measuring; each side runs
//! `ROUNDS` times and the medians are compared.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig};
use ecs_run_local::docker::{ContainerEvent, Engine};
use ecs_run_local::plan::{NETWORK_NAME, labels};
use futures_util::StreamExt as _;

const ROUNDS: usize = 10;
const IMAGE: &str = "ecs-run-local-bench/busybox:latest";
const NAMES: [&str; 3] = ["web", "worker", "cache"];

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(bench())
}

async fn bench() -> anyhow::Result<()> {
    let engine = Engine::connect().await?;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let import = Command::new(root.join("examples/import-busybox.sh"))
        .arg(IMAGE)
        .output()?;
    anyhow::ensure!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let exe = root.join("target/release/ecs-run-local");
    let exe = if exe.exists() {
        exe
    } else {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(|d| std::path::PathBuf::from(d).join("release/ecs-run-local"))
            .filter(|p| p.exists())
            .ok_or_else(|| {
                anyhow::anyhow!("build the release binary first: cargo build --release")
            })?
    };
    let dir = tempfile::tempdir()?;
    let task = dir.path().join("three.json");
    let containers: Vec<_> = NAMES
        .iter()
        .map(|name| {
            serde_json::json!({
                "name": name, "image": IMAGE, "memory": 64, "essential": true,
                "command": ["sleep", "300"], "linuxParameters": {"initProcessEnabled": true}, "stopTimeout": 2
            })
        })
        .collect();
    std::fs::write(
        &task,
        serde_json::to_vec(
            &serde_json::json!({"family": "bench-three", "containerDefinitions": containers}),
        )?,
    )?;

    // Warm up: builds the agent image and starts the agent.
    ours(&engine, &exe, &task).await?;

    let mut direct_times = Vec::new();
    let mut ours_times = Vec::new();
    for _ in 0..ROUNDS {
        direct_times.push(direct(&engine).await?);
        ours_times.push(ours(&engine, &exe, &task).await?);
    }
    let direct_median = median(&mut direct_times);
    let ours_median = median(&mut ours_times);
    println!("three containers to RUNNING, median of {ROUNDS} rounds:");
    println!(
        "  Docker API directly (create + start, sequential): {:>7.1} ms",
        ms(direct_median)
    );
    println!(
        "  ecs-run-local (process start to third start event): {:>5.1} ms",
        ms(ours_median)
    );
    println!(
        "  ratio ecs-run-local / direct: {:.2}",
        ours_median.as_secs_f64() / direct_median.as_secs_f64()
    );
    let _ = engine.remove_image(IMAGE).await;
    Ok(())
}

/// Creates and starts the three containers on the shared network, as a
/// script would, and removes them again.
async fn direct(engine: &Engine) -> anyhow::Result<Duration> {
    let begun = Instant::now();
    let mut ids = Vec::new();
    for name in NAMES {
        let body = ContainerCreateBody {
            image: Some(IMAGE.into()),
            cmd: Some(vec!["sleep".into(), "300".into()]),
            labels: Some(HashMap::from([(
                labels::ROLE.to_owned(),
                "bench".to_owned(),
            )])),
            host_config: Some(HostConfig {
                network_mode: Some(NETWORK_NAME.into()),
                memory: Some(64 * 1024 * 1024),
                init: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        let id = engine
            .create_container(&format!("bench-direct-{name}"), body, None)
            .await?;
        engine.start_container(&id).await?;
        ids.push(id);
    }
    let took = begun.elapsed();
    for id in ids {
        engine.remove_container(&id).await?;
    }
    Ok(took)
}

/// Runs the task with ecs-run-local until its three containers have started,
/// then stops it with Ctrl-C and waits for its teardown.
async fn ours(
    engine: &Engine,
    exe: &std::path::Path,
    task: &std::path::Path,
) -> anyhow::Result<Duration> {
    let mut events = engine.container_events(&format!("{}=bench-three", labels::FAMILY));
    let begun = Instant::now();
    let mut child = Command::new(exe)
        .arg(task)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let mut started = 0;
    while started < NAMES.len() {
        match tokio::time::timeout(Duration::from_secs(60), events.next()).await? {
            Some(Ok(ContainerEvent::Start { .. })) => started += 1,
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("the event stream ended"),
        }
    }
    let took = begun.elapsed();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id())?),
        nix::sys::signal::Signal::SIGINT,
    )?;
    child.wait()?;
    std::io::stdout().flush()?;
    Ok(took)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
