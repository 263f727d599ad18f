//! How long `ecs-run-local` takes to bring a task of 3 and of 10 independent
//! containers to RUNNING, against the same containers created and started
//! directly through the Docker API, in one process on the same engine:
//!
//! - cold: the first run after a build (no agent image, no agent, no network);
//! - warm: the agent image, agent and network already there;
//! - the sequential API floor: create + start, one container after another,
//!   as a script would;
//! - the concurrent API floor: every container's create + start at once.
//!
//! `cargo build --release && cargo bench --bench startup` (needs Docker and
//! /bin/busybox). Each figure is the median of its rounds; the rounds of the
//! warm run and the floors are interleaved so that they see the same engine.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig};
use ecs_run_local::testing::{ContainerEvent, Engine};
use ecs_run_local::testing::{NETWORK_NAME, labels};
use futures_util::StreamExt as _;
use futures_util::future::try_join_all;

const ROUNDS: usize = 10;
const COLD_ROUNDS: usize = 3;
const IMAGE: &str = "ecs-run-local-bench/busybox:latest";

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
    let exe = release_binary(root)?;
    println!(
        "release binary: {:.1} MB ({})",
        mb(std::fs::metadata(&exe)?.len()),
        exe.display()
    );
    let dir = tempfile::tempdir()?;
    for count in [3, 10] {
        let names: Vec<String> = (0..count).map(|i| format!("c{i}")).collect();
        let family = format!("bench-{count}");
        let task = dir.path().join(format!("{family}.json"));
        let containers: Vec<_> = names
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
                &serde_json::json!({"family": family, "containerDefinitions": containers}),
            )?,
        )?;

        let mut cold = Vec::new();
        for _ in 0..COLD_ROUNDS {
            forget_agent(&engine, &exe).await?;
            cold.push(ours(&engine, &exe, &task, &family, count).await?);
        }
        println!(
            "agent image: {:.1} MB",
            mb(agent_image_size(&engine).await?)
        );
        // Warm-up: the floors' network exists now, and the agent runs.
        ours(&engine, &exe, &task, &family, count).await?;
        let (mut warm, mut sequential, mut concurrent) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            sequential.push(direct(&engine, &names, false).await?);
            concurrent.push(direct(&engine, &names, true).await?);
            warm.push(ours(&engine, &exe, &task, &family, count).await?);
        }
        let cold = median(&mut cold);
        let warm = median(&mut warm);
        let sequential = median(&mut sequential);
        let concurrent = median(&mut concurrent);
        println!(
            "\n{count} independent containers to RUNNING (medians: {ROUNDS} rounds, cold {COLD_ROUNDS}):"
        );
        println!(
            "  sequential API floor (create + start, one by one): {:>7.1} ms",
            ms(sequential)
        );
        println!(
            "  concurrent API floor (all at once):                {:>7.1} ms",
            ms(concurrent)
        );
        println!(
            "  ecs-run-local, warm (process start to last start): {:>7.1} ms  = {:.2}x sequential, {:.2}x concurrent",
            ms(warm),
            ratio(warm, sequential),
            ratio(warm, concurrent)
        );
        println!(
            "  ecs-run-local, cold (no agent image, agent, network): {:>5.1} ms  = {:.2}x sequential, {:.2}x warm",
            ms(cold),
            ratio(cold, sequential),
            ratio(cold, warm)
        );
    }
    let _ = Command::new(&exe)
        .args(["down", "--all"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = engine.remove_image(IMAGE).await;
    Ok(())
}

/// The release build of the CLI, where cargo put it.
fn release_binary(root: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), std::path::PathBuf::from);
    let exe = target.join("release/ecs-run-local");
    anyhow::ensure!(
        exe.exists(),
        "build the release binary first: cargo build --release ({} is missing)",
        exe.display()
    );
    Ok(exe)
}

/// Removes the agent, the network and the agent images: the next run is a
/// first run after a build.
async fn forget_agent(engine: &Engine, exe: &std::path::Path) -> anyhow::Result<()> {
    let down = Command::new(exe)
        .args(["down", "--all"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    anyhow::ensure!(down.success(), "`down --all` failed");
    for image in agent_images(engine).await? {
        engine.remove_image(&image.id).await?;
    }
    Ok(())
}

async fn agent_images(engine: &Engine) -> anyhow::Result<Vec<bollard::models::ImageSummary>> {
    let filters = HashMap::from([("label", vec![format!("{}=agent-image", labels::ROLE)])]);
    let options = bollard::query_parameters::ListImagesOptionsBuilder::default()
        .filters(&filters)
        .build();
    Ok(engine.bollard().list_images(Some(options)).await?)
}

async fn agent_image_size(engine: &Engine) -> anyhow::Result<u64> {
    Ok(agent_images(engine)
        .await?
        .iter()
        .map(|i| i.size.max(0) as u64)
        .max()
        .unwrap_or(0))
}

/// Creates and starts the containers on the shared network, as a script
/// would (one after another, or all at once), and removes them again.
async fn direct(engine: &Engine, names: &[String], at_once: bool) -> anyhow::Result<Duration> {
    let run = |name: &String| {
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
        let name = format!("bench-direct-{name}");
        async move {
            let id = engine.create_container(&name, body, None).await?;
            engine.start_container(&id).await?;
            anyhow::Ok(id)
        }
    };
    let begun = Instant::now();
    let ids = if at_once {
        try_join_all(names.iter().map(run)).await?
    } else {
        let mut ids = Vec::new();
        for name in names {
            ids.push(run(name).await?);
        }
        ids
    };
    let took = begun.elapsed();
    try_join_all(ids.iter().map(|id| engine.remove_container(id))).await?;
    Ok(took)
}

/// Runs the task with ecs-run-local until its containers have started, then
/// stops it with Ctrl-C and waits for its teardown.
async fn ours(
    engine: &Engine,
    exe: &std::path::Path,
    task: &std::path::Path,
    family: &str,
    count: usize,
) -> anyhow::Result<Duration> {
    let mut events = engine.container_events(&format!("{}={family}", labels::FAMILY));
    let begun = Instant::now();
    let mut child = Command::new(exe)
        .arg(task)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let mut started = 0;
    while started < count {
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
    Ok(took)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}
