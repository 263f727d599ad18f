//! Creating a task's objects on the engine: its volumes (a shared one
//! must exist already), and its containers in waves, each after what it
//! `links` to or takes `volumesFrom` (and its `FireLens` router), which the
//! engine must know when it creates it; a bridge logger of a router waits
//! to be created until it starts, when the router's address is known.

use anyhow::Context as _;
use bollard::models::{ContainerCreateBody, VolumeCreateRequest};

use super::error::RunError;
use crate::docker::Engine;
use crate::plan::{ContainerPlan, Plan, Scope};

/// Creates the containers (in start order, with their bodies) in waves: at
/// once, but each after those it `links` to or takes `volumesFrom` (and a
/// `FireLens` router), which the engine must know when it creates it.
pub(super) async fn create_in_waves(
    engine: &Engine,
    plan: &Plan,
    containers: &[&ContainerPlan],
    bodies: &[ContainerCreateBody],
    deferred: &[bool],
) -> anyhow::Result<Vec<String>> {
    let mut ids: Vec<Option<String>> = deferred.iter().map(|&d| d.then(String::new)).collect();
    for wave in creation_waves(containers) {
        let wave: Vec<usize> = wave.into_iter().filter(|&i| !deferred[i]).collect();
        let made = futures_util::future::try_join_all(
            wave.iter()
                .map(|&i| create_container(engine, plan, containers[i], bodies[i].clone())),
        )
        .await?;
        for (i, id) in wave.into_iter().zip(made) {
            ids[i] = Some(id);
        }
    }
    Ok(ids.into_iter().flatten().collect())
}

/// Which containers are created only when they start: in bridge mode,
/// those whose `FLUENT_HOST` is their router's address (the engine gives it
/// when the router starts, and the router starts before them), and those
/// that `links` to or take `volumesFrom` such a container (they start after
/// it, and the engine needs it to exist when it creates them).
pub(super) fn deferred(containers: &[&ContainerPlan], bodies: &[ContainerCreateBody]) -> Vec<bool> {
    let placeholder = crate::plan::firelens::FLUENT_HOST_PLACEHOLDER;
    let mut deferred: Vec<bool> = bodies
        .iter()
        .map(|b| b.env.iter().flatten().any(|kv| kv.contains(placeholder)))
        .collect();
    loop {
        let more: Vec<usize> = (0..containers.len())
            .filter(|&i| {
                !deferred[i]
                    && containers[i].implicit_dependencies.iter().any(|d| {
                        containers
                            .iter()
                            .zip(&deferred)
                            .any(|(c, &late)| late && &c.name == d)
                    })
            })
            .collect();
        if more.is_empty() {
            return deferred;
        }
        for i in more {
            deferred[i] = true;
        }
    }
}

/// The waves of [`create_in_waves`]: indexes of `containers`, each wave
/// after the containers its members name in `links`, `volumesFrom` (or as
/// their `FireLens` router).
fn creation_waves(containers: &[&ContainerPlan]) -> Vec<Vec<usize>> {
    let mut done = vec![false; containers.len()];
    let mut waves = Vec::new();
    while done.contains(&false) {
        let made = |name: &String| {
            containers
                .iter()
                .zip(&done)
                .any(|(c, &d)| &c.name == name && d)
        };
        let mut wave: Vec<usize> = (0..containers.len())
            .filter(|&i| !done[i] && containers[i].implicit_dependencies.iter().all(made))
            .collect();
        if wave.is_empty() {
            // What the plan's checks let through (a circle): one at a time.
            wave = (0..containers.len())
                .filter(|&i| !done[i])
                .take(1)
                .collect();
        }
        for &i in &wave {
            done[i] = true;
        }
        waves.push(wave);
    }
    waves
}

/// Creates one of the task's containers from `body`, with its metadata file
/// and, for a `FireLens` router, its configuration.
pub(super) async fn create_container(
    engine: &Engine,
    plan: &Plan,
    c: &ContainerPlan,
    body: ContainerCreateBody,
) -> anyhow::Result<String> {
    let id = engine
        .create_container(&c.docker_name, body, c.platform.as_deref())
        .await
        .map_err(|source| RunError::CreateContainer {
            container: c.name.clone(),
            source,
        })?;
    super::metadata_file::write_initial(engine, plan, c, &id)
        .await
        .with_context(|| format!("cannot write the metadata file of `{}`", c.name))?;
    if let Some(firelens) = plan.firelens.as_ref().filter(|f| f.router == c.name) {
        engine
            .put_file(
                &id,
                &firelens.config_path,
                firelens.config.as_bytes(),
                0o644,
            )
            .await
            .with_context(|| {
                format!("cannot write the FireLens configuration into `{}`", c.name)
            })?;
        if let Some(s3) = &firelens.s3_config
            && let Some(contents) = &s3.contents
        {
            engine
                .put_file(&id, &s3.path, contents.as_bytes(), 0o644)
                .await
                .with_context(|| {
                    format!("cannot write `{}` into `{}` at {}", s3.arn, c.name, s3.path)
                })?;
        }
    }
    Ok(id)
}

pub(super) async fn create_volume(
    engine: &Engine,
    volume: &crate::plan::VolumePlan,
) -> anyhow::Result<()> {
    if volume.scope == Scope::Shared {
        if engine.volume_exists(&volume.docker_name).await? {
            return Ok(());
        }
        if !volume.autoprovision {
            return Err(RunError::SharedVolumeMissing {
                volume: volume.docker_name.clone(),
            }
            .into());
        }
    }
    engine
        .create_volume(VolumeCreateRequest {
            name: Some(volume.docker_name.clone()),
            driver: Some(volume.driver.clone()),
            driver_opts: Some(volume.driver_opts.clone().into_iter().collect()),
            labels: Some(volume.labels.clone().into_iter().collect()),
            ..Default::default()
        })
        .await
        .map_err(|source| {
            RunError::CreateVolume {
                volume: volume.name.clone(),
                source,
            }
            .into()
        })
}

/// A container plan with nothing set, for the runner's unit tests.
#[cfg(test)]
pub(super) fn test_container() -> ContainerPlan {
    ContainerPlan {
        name: "app".into(),
        docker_name: "ecs-f-1-app-0".into(),
        kind: crate::plan::ContainerKind::Normal,
        image: "i".into(),
        platform: None,
        essential: true,
        endpoint_id: None,
        depends_on: Vec::new(),
        implicit_dependencies: Vec::new(),
        start_timeout_secs: None,
        stop_timeout_secs: 30,
        restart_policy: None,
        secrets: Vec::new(),
        environment_files: Vec::new(),
        repository_credentials: None,
        log_configuration: None,
        cpu: 0,
        memory: None,
        ports: Vec::new(),
        metadata_file: None,
        create: bollard::models::ContainerCreateBody::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_are_created_after_what_they_link_to_or_take_volumes_from() {
        let with = |name: &str, implicit: &[&str]| ContainerPlan {
            name: name.into(),
            implicit_dependencies: implicit.iter().map(|&s| s.to_owned()).collect(),
            ..test_container()
        };
        let (web, db, data, worker, sidecar) = (
            with("web", &["db"]),
            with("db", &["data"]),
            with("data", &[]),
            with("worker", &[]),
            with("sidecar", &["web", "data"]),
        );
        let containers = [&web, &db, &data, &worker, &sidecar];
        assert_eq!(
            creation_waves(&containers),
            [vec![2, 3], vec![1], vec![0], vec![4]]
        );
        let independent = [&data, &worker];
        assert_eq!(creation_waves(&independent), [vec![0, 1]]);
    }

    #[test]
    fn bridge_loggers_of_a_router_and_what_links_to_them_are_created_when_they_start() {
        let with = |name: &str, implicit: &[&str]| ContainerPlan {
            name: name.into(),
            implicit_dependencies: implicit.iter().map(|&s| s.to_owned()).collect(),
            ..test_container()
        };
        let (router, app, sidecar, other) = (
            with("router", &[]),
            with("app", &["router"]),
            with("sidecar", &["app"]),
            with("other", &[]),
        );
        let body = |env: &[&str]| ContainerCreateBody {
            env: Some(env.iter().map(|&s| s.to_owned()).collect()),
            ..Default::default()
        };
        let host = format!(
            "FLUENT_HOST={}",
            crate::plan::firelens::FLUENT_HOST_PLACEHOLDER
        );
        let bodies = [
            body(&[]),
            body(&[host.as_str(), "FLUENT_PORT=24224"]),
            body(&[]),
            body(&["A=1"]),
        ];
        assert_eq!(
            deferred(&[&router, &app, &sidecar, &other], &bodies),
            [false, true, true, false]
        );
        // awsvpc: the address is 127.0.0.1, known at once.
        let bodies = [
            body(&[]),
            body(&["FLUENT_HOST=127.0.0.1"]),
            body(&[]),
            body(&[]),
        ];
        assert_eq!(
            deferred(&[&router, &app, &sidecar, &other], &bodies),
            [false; 4]
        );
    }
}
