//! Starting a planned task in `dependsOn` order and supervising it as ECS does.
//!
//! Every container is created first (pause first), then started as soon as
//! what it depends on is reached: START, COMPLETE, SUCCESS or HEALTHY for
//! `dependsOn`, and START for the containers it `links` to or takes
//! `volumesFrom`, as the ECS agent orders them. The state comes from the
//! engine's event stream, subscribed to before anything is created.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bollard::models::ContainerCreateBody;
use futures_util::StreamExt as _;
use futures_util::future::join_all;

use super::create::{create_container, create_in_waves, create_volume, deferred};
use super::error::RunError;
use super::firelens::Socket;
use super::signals::{Shutdown, Stop};
use super::teardown::SUPERVISOR_PID;
use crate::aws::envfiles::EnvFiles;
use crate::aws::secrets::Resolved;
use crate::docker::{ContainerEvent, Engine, EventStream};
use crate::output::logs::{LineSplitter, LogPrefixes, LogSink, print_line_to};
use crate::output::status;
use crate::plan::{ContainerPlan, Dependency, Plan, RestartPlan, labels};
use crate::taskdef::model::DependencyCondition;

/// How long a container with no `startTimeout` waits for its dependencies:
/// the ECS agent's default for `ECS_CONTAINER_START_TIMEOUT` on Linux.
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(180);
/// How often deadlines are checked when no event arrives.
pub(super) const TICK: Duration = Duration::from_millis(200);

/// How the task ended.
#[derive(Debug, Clone)]
pub enum Ending {
    /// An essential container exited; the task stopped with its exit code.
    /// `oom`: the kernel killed it for want of memory (ECS's reason
    /// `OutOfMemoryError: Container killed due to memory usage`).
    EssentialExited {
        container: String,
        exit_code: i64,
        oom: bool,
    },
    /// The user stopped it (Ctrl-C or SIGTERM).
    Interrupted,
    /// `smoke` checked the task and stops it.
    Smoke(Box<super::smoke_report::SmokeReport>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Created,
    Running,
    Exited(i64),
}

pub(super) struct Slot {
    pub(super) plan: ContainerPlan,
    pub(super) id: String,
    pub(super) state: State,
    pub(super) health: Option<String>,
    /// Where the log prefix colour comes from.
    index: usize,
    created: Instant,
    pub(super) started: Option<Instant>,
    /// When Docker first said `healthy`.
    pub(super) healthy_at: Option<Instant>,
    /// When it last exited for good (no restart followed).
    pub(super) exited_at: Option<Instant>,
    /// The kernel killed a process of it for want of memory.
    pub(super) oom_killed: bool,
    /// Explicit `dependsOn` plus the implicit START of links and volumesFrom.
    pub(super) needs: Vec<Dependency>,
    /// What the container was created with (secrets and environment files
    /// in), to create it again when `--watch` replaces it.
    pub(super) body: ContainerCreateBody,
    /// Stops of ours whose `die` has yet to come: not the container's own exit.
    pub(super) expected_dies: u32,
    /// Where its logs are followed from at its next start (a restart).
    pub(super) logs_since: Option<u64>,
    /// `--watch`: when the change it was rebuilt for was seen.
    pub(super) changed_at: Option<Instant>,
}

/// A run in progress: its containers and the engine.
pub struct Task<'a> {
    pub(super) engine: &'a Engine,
    pub(super) plan: &'a Plan,
    pub(super) slots: Vec<Slot>,
    /// The `FireLens` router's socket: its loggers start once it is open.
    socket: Socket,
    /// The awsvpc pause container, whose exit is worth a warning.
    pause_id: Option<String>,
    prefixes: LogPrefixes,
    loggers: Vec<tokio::task::JoinHandle<()>>,
    sink: LogSink,
    /// Told once every essential container has started (`--detach`).
    on_started: Option<tokio::sync::mpsc::UnboundedSender<()>>,
    /// `--watch`: containers whose image was rebuilt, to replace.
    pub(super) rebuilds: Option<tokio::sync::mpsc::UnboundedReceiver<super::build::watch::Rebuilt>>,
}

impl<'a> Task<'a> {
    /// Creates the task's volumes, pause container and containers, and
    /// starts the pause container. Nothing else runs yet.
    #[expect(
        clippy::too_many_lines,
        reason = "volumes, the pause container and every container, in the one order the engine needs them"
    )]
    pub async fn create(
        engine: &'a Engine,
        plan: &'a Plan,
        secrets: &Resolved,
        env_files: &EnvFiles,
    ) -> anyhow::Result<Task<'a>> {
        // FireLens: the socket directory belongs to the router's `user`
        // (a user its image lacks is bad input, found before anything exists).
        let owner = match &plan.firelens {
            Some(firelens) => super::firelens::socket_owner(engine, plan, firelens).await?,
            None => None,
        };
        for volume in &plan.volumes {
            let mut volume = volume.clone();
            if let (Some((uid, gid)), Some(firelens)) = (owner, &plan.firelens)
                && volume.docker_name == firelens.volume
            {
                volume.driver_opts = crate::plan::firelens::owned_volume_options(uid, gid);
            }
            create_volume(engine, &volume).await?;
        }
        // FireLens: the engine's fluentd driver reaches the router's socket
        // at its volume's mount point on the engine's host.
        let socket_dir = match &plan.firelens {
            Some(firelens) => Some(engine.volume_mountpoint(&firelens.volume).await?),
            None => None,
        };
        let supervisor = std::process::id().to_string();
        let with_supervisor = |c: &ContainerPlan| {
            let mut body = c.create.clone();
            if let (Some(dir), Some(config)) = (
                &socket_dir,
                body.host_config
                    .as_mut()
                    .and_then(|h| h.log_config.as_mut())
                    .and_then(|l| l.config.as_mut()),
            ) {
                for value in config.values_mut() {
                    *value = value.replace(crate::plan::firelens::SOCKET_DIR_PLACEHOLDER, dir);
                }
            }
            body.labels
                .get_or_insert_with(HashMap::new)
                .insert(SUPERVISOR_PID.to_owned(), supervisor.clone());
            // Environment files go under what the definition sets.
            env_files.apply(&c.name, body.env.get_or_insert_with(Vec::new));
            // Secret values join the environment here, at creation only.
            let secret_env = secrets.environment(&c.name);
            if !secret_env.is_empty() {
                let env = body.env.get_or_insert_with(Vec::new);
                env.retain(|kv| {
                    let key = kv.split('=').next().unwrap_or_default();
                    !secret_env.iter().any(|s| s.split('=').next() == Some(key))
                });
                env.extend(secret_env.iter().cloned());
            }
            body
        };
        if let Some(cgroup) = &plan.task_cgroup {
            super::task_cgroup::create(engine, plan, cgroup).await?;
        }
        // The pause container starts while the others are created: they
        // need it to exist, and to run only when they start.
        let mut pause_id = None;
        if let Some(pause) = &plan.pause {
            pause_id = Some(
                engine
                    .create_container(&pause.docker_name, with_supervisor(pause), None)
                    .await?,
            );
        }
        let start_pause = async {
            match &pause_id {
                Some(id) => engine
                    .start_container(id)
                    .await
                    .context("cannot start the task's pause container"),
                None => Ok(()),
            }
        };
        let ordered: Vec<&ContainerPlan> = plan
            .start_order
            .iter()
            .filter_map(|name| plan.containers.iter().find(|c| &c.name == name))
            .collect();
        let bodies: Vec<ContainerCreateBody> = ordered.iter().map(|c| with_supervisor(c)).collect();
        let deferred = deferred(&ordered, &bodies);
        let create_all = create_in_waves(engine, plan, &ordered, &bodies, &deferred);
        let ((), ids) = tokio::try_join!(start_pause, create_all)?;
        let slots = ordered
            .into_iter()
            .zip(bodies)
            .zip(ids)
            .enumerate()
            .map(|(index, ((c, body), id))| Slot {
                needs: needs(c),
                plan: c.clone(),
                body,
                id,
                state: State::Created,
                health: None,
                index,
                created: Instant::now(),
                started: None,
                healthy_at: None,
                exited_at: None,
                oom_killed: false,
                expected_dies: 0,
                logs_since: None,
                changed_at: None,
            })
            .collect();
        let prefixes = LogPrefixes::new(plan.containers.iter().map(|c| c.name.as_str()));
        Ok(Task {
            engine,
            plan,
            slots,
            socket: if plan.firelens.is_some() {
                Socket::Waiting
            } else {
                Socket::None
            },
            pause_id,
            prefixes,
            loggers: Vec::new(),
            sink: LogSink::Stdout,
            on_started: None,
            rebuilds: None,
        })
    }

    /// Sends the containers' output to `sink` instead of stdout.
    pub fn log_to(&mut self, sink: LogSink) {
        self.sink = sink;
    }

    /// Tells `started` once every essential container has started.
    pub fn notify_started(&mut self, started: tokio::sync::mpsc::UnboundedSender<()>) {
        self.on_started = Some(started);
    }

    /// Starts containers as their dependencies allow and supervises them
    /// until an essential container exits or the user stops the task.
    pub async fn supervise(
        &mut self,
        events: &mut EventStream,
        mut shutdown: Shutdown,
    ) -> anyhow::Result<Ending> {
        loop {
            self.start_ready().await?;
            if let Some(ending) = self.ending() {
                return Ok(ending);
            }
            if self.on_started.is_some()
                && self
                    .slots
                    .iter()
                    .all(|s| !s.plan.essential || s.started.is_some())
                && let Some(started) = self.on_started.take()
            {
                let _ = started.send(());
            }
            if !self.wait(events, &mut shutdown, TICK).await? {
                return Ok(Ending::Interrupted);
            }
        }
    }

    /// Waits for the engine's next event of the task (and applies it), a
    /// stop request, or `tick`; `false` when a stop was asked for.
    pub(super) async fn wait(
        &mut self,
        events: &mut EventStream,
        shutdown: &mut Shutdown,
        tick: Duration,
    ) -> anyhow::Result<bool> {
        let mut rebuilds = self.rebuilds.take();
        let rebuilt = async {
            match rebuilds.as_mut() {
                Some(rebuilds) => rebuilds.recv().await,
                None => std::future::pending().await,
            }
        };
        let woke = tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => Woke::Event(event),
                Some(Err(e)) => return Err(e.into()),
                None => return Err(RunError::EventStreamEnded.into()),
            },
            Some(rebuilt) = rebuilt => Woke::Rebuilt(rebuilt),
            () = shutdown.reached(Stop::Graceful) => return Ok(false),
            () = tokio::time::sleep(tick) => Woke::Tick,
        };
        self.rebuilds = rebuilds;
        match woke {
            Woke::Event(event) => self.apply(event).await?,
            Woke::Rebuilt(rebuilt) => self.replace(&rebuilt).await?,
            Woke::Tick => {}
        }
        Ok(true)
    }

    /// Starts every created container whose dependencies are reached; fails
    /// the task when one can never be, or its `startTimeout` runs out.
    pub(super) async fn start_ready(&mut self) -> anyhow::Result<()> {
        self.watch_socket().await?;
        let mut ready = Vec::new();
        for i in 0..self.slots.len() {
            if self.slots[i].state != State::Created || self.slots[i].started.is_some() {
                continue;
            }
            match self.readiness(i) {
                // Its router runs, but its socket is not there yet (the
                // router's own bound applies, see `watch_socket`).
                Readiness::Ready if self.socket == Socket::Waiting && self.logs_to_router(i) => {}
                Readiness::Ready => ready.push(i),
                Readiness::Never(reason) => {
                    return Err(RunError::DependencyNeverReached {
                        container: self.slots[i].plan.name.clone(),
                        reason,
                    }
                    .into());
                }
                Readiness::Waiting(on) => {
                    let slot = &self.slots[i];
                    let timeout = slot
                        .plan
                        .start_timeout_secs
                        .map_or(DEFAULT_START_TIMEOUT, |s| {
                            Duration::from_secs(s.unsigned_abs())
                        });
                    if slot.created.elapsed() > timeout {
                        return Err(RunError::StartTimeout {
                            container: slot.plan.name.clone(),
                            waiting_for: on,
                            seconds: timeout.as_secs(),
                        }
                        .into());
                    }
                }
            }
        }
        self.start_all(&ready).await
    }

    /// Whether a container logs through the task's `FireLens` router.
    fn logs_to_router(&self, i: usize) -> bool {
        self.plan
            .firelens
            .as_ref()
            .is_some_and(|f| f.routed.contains(&self.slots[i].plan.name))
    }

    /// Follows the router's socket until it is open: a router that runs
    /// without opening it within [`super::firelens::SOCKET_BOUND`], or exits
    /// first, fails the task when it is essential (an exit through the
    /// essential rule), else the task goes on and its loggers' logs are lost.
    async fn watch_socket(&mut self) -> anyhow::Result<()> {
        let Some(firelens) = self.plan.firelens.as_ref() else {
            return Ok(());
        };
        if self.socket != Socket::Waiting {
            return Ok(());
        }
        let Some(router) = self.slots.iter().find(|s| s.plan.name == firelens.router) else {
            return Ok(());
        };
        let socket = super::firelens::socket_path();
        let lost = |why: &str| {
            status(&format!(
                "warning: the log router `{}` {why}; it is not essential, the task goes on, and the logs of {} are lost",
                firelens.router,
                firelens
                    .routed
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        match router.state {
            State::Created => return Ok(()),
            State::Exited(code) => {
                if !router.plan.essential {
                    lost(&format!("exited with {code} before it opened {socket}"));
                    self.socket = Socket::Lost;
                }
                return Ok(());
            }
            State::Running => {}
        }
        if self.engine.path_exists(&router.id, &socket).await? {
            tracing::debug!(router = %firelens.router, "the router's socket is open");
            self.socket = Socket::Open;
            return Ok(());
        }
        let bound = super::firelens::SOCKET_BOUND;
        if router.started.is_some_and(|s| s.elapsed() > bound) {
            if router.plan.essential {
                return Err(RunError::FirelensSocket {
                    router: firelens.router.clone(),
                    socket,
                    seconds: bound.as_secs(),
                }
                .into());
            }
            lost(&format!(
                "did not open {socket} within {}s of its start",
                bound.as_secs()
            ));
            self.socket = Socket::Lost;
        }
        Ok(())
    }

    fn readiness(&self, i: usize) -> Readiness {
        let slot = &self.slots[i];
        for need in &slot.needs {
            let Some(dep) = self.slots.iter().find(|s| s.plan.name == need.container) else {
                continue;
            };
            let what = format!("`{}` {}", dep.plan.name, need.condition);
            match (need.condition, dep.state) {
                (DependencyCondition::Start, State::Running | State::Exited(_))
                | (DependencyCondition::Complete, State::Exited(_))
                | (DependencyCondition::Success, State::Exited(0)) => {}
                (DependencyCondition::Success, State::Exited(code)) => {
                    return Readiness::Never(format!(
                        "its dependency `{}` exited with {code}, and it needs SUCCESS (exit 0)",
                        dep.plan.name
                    ));
                }
                (DependencyCondition::Healthy, _) if dep.health.as_deref() == Some("healthy") => {}
                (DependencyCondition::Healthy, _) if dep.health.as_deref() == Some("unhealthy") => {
                    return Readiness::Never(format!(
                        "its dependency `{}` is unhealthy, and it needs HEALTHY",
                        dep.plan.name
                    ));
                }
                (DependencyCondition::Healthy, State::Exited(code)) => {
                    return Readiness::Never(format!(
                        "its dependency `{}` exited with {code} before it was healthy, and it needs HEALTHY",
                        dep.plan.name
                    ));
                }
                _ => return Readiness::Waiting(what),
            }
        }
        Readiness::Ready
    }

    /// Starts the containers `ready` at once: what one waits for was
    /// reached before any of them is started, so no order ECS keeps is lost.
    async fn start_all(&mut self, ready: &[usize]) -> anyhow::Result<()> {
        for &i in ready {
            Box::pin(self.link_by_hosts(i)).await?;
        }
        let engine = self.engine;
        for &i in ready {
            if self.slots[i].id.is_empty() {
                self.create_deferred(i).await?;
            }
        }
        let results = join_all(
            ready
                .iter()
                .map(|&i| engine.start_container(&self.slots[i].id)),
        )
        .await;
        let mut failed = None;
        let mut started = Vec::new();
        for (&i, result) in ready.iter().zip(results) {
            match result {
                Ok(()) => started.push(i),
                Err(source) => {
                    failed.get_or_insert(RunError::StartContainer {
                        container: self.slots[i].plan.name.clone(),
                        source,
                    });
                }
            }
        }
        for &i in &started {
            let slot = &mut self.slots[i];
            slot.started = Some(Instant::now());
            slot.state = State::Running;
            tracing::debug!(container = %slot.plan.name, "started");
            if let Some(changed) = slot.changed_at.take() {
                status(&format!(
                    "`{}` runs the rebuilt image, {:.1} s after the change",
                    slot.plan.name,
                    changed.elapsed().as_secs_f64()
                ));
            }
            let since = slot.logs_since.take();
            self.follow(i, since);
        }
        join_all(started.iter().map(|&i| self.metadata_ready(i))).await;
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// Creates a container whose creation waited for its `FireLens`
    /// router to run (see [`deferred`]), with the router's address as its
    /// `FLUENT_HOST`, as the agent sets it when it creates the container.
    async fn create_deferred(&mut self, i: usize) -> anyhow::Result<()> {
        let placeholder = crate::plan::firelens::FLUENT_HOST_PLACEHOLDER;
        let mut body = self.slots[i].body.clone();
        if let Some(firelens) = &self.plan.firelens
            && body.env.iter().flatten().any(|kv| kv.contains(placeholder))
        {
            let router = self.slots.iter().find(|s| s.plan.name == firelens.router);
            let address = match router.filter(|r| r.state == State::Running) {
                Some(r) => {
                    self.engine
                        .container_address(&r.id, crate::plan::NETWORK_NAME)
                        .await?
                }
                None => None,
            };
            let address = address.ok_or_else(|| RunError::FirelensAddress {
                container: self.slots[i].plan.name.clone(),
                router: firelens.router.clone(),
            })?;
            for kv in body.env.iter_mut().flatten() {
                *kv = kv.replace(placeholder, &address);
            }
        }
        let id =
            create_container(self.engine, self.plan, &self.slots[i].plan, body.clone()).await?;
        let slot = &mut self.slots[i];
        slot.id = id;
        slot.body = body;
        Ok(())
    }

    /// `--metadata-file`: the file says READY once the container runs.
    async fn metadata_ready(&self, i: usize) {
        let slot = &self.slots[i];
        if let Err(e) =
            super::metadata_file::write_ready(self.engine, self.plan, &slot.plan, &slot.id).await
        {
            tracing::warn!(container = %slot.plan.name, error = %e, "cannot write the metadata file");
        }
    }

    /// Streams a container's output with its prefix, from `since` (Unix
    /// seconds) or from its start.
    fn follow(&mut self, i: usize, since: Option<u64>) {
        let slot = &self.slots[i];
        if self.sink == LogSink::Discard {
            return;
        }
        let sink = self.sink;
        let prefix = self.prefixes.prefix(&slot.plan.name, slot.index);
        let mut logs = self.engine.follow_logs(&slot.id, since);
        self.loggers.push(tokio::spawn(async move {
            let mut lines = LineSplitter::default();
            while let Some(Ok(chunk)) = logs.next().await {
                for line in lines.push(&chunk.bytes) {
                    print_line_to(sink, &prefix, &line);
                }
            }
            if let Some(rest) = lines.finish() {
                print_line_to(sink, &prefix, &rest);
            }
        }));
    }

    async fn apply(&mut self, event: ContainerEvent) -> anyhow::Result<()> {
        match event {
            ContainerEvent::Start { .. } => {}
            ContainerEvent::Oom { id } => {
                if let Some(slot) = self.slots.iter_mut().find(|s| s.id == id) {
                    slot.oom_killed = true;
                }
            }
            ContainerEvent::Health { id, status } => {
                if let Some(slot) = self.slots.iter_mut().find(|s| s.id == id) {
                    if status == "healthy" && slot.healthy_at.is_none() {
                        slot.healthy_at = Some(Instant::now());
                    }
                    slot.health = Some(status);
                }
            }
            ContainerEvent::Die { id, exit_code } => {
                let Some(i) = self.slots.iter().position(|s| s.id == id) else {
                    if self.pause_id.as_deref() == Some(id.as_str()) {
                        tracing::warn!("the task's pause container exited");
                    }
                    return Ok(());
                };
                if self.slots[i].expected_dies > 0 {
                    self.slots[i].expected_dies -= 1;
                    return Ok(());
                }
                if self.restart(i, exit_code).await? {
                    return Ok(());
                }
                // Podman sends no `oom` event; its inspect says so.
                if exit_code == 137 && !self.slots[i].oom_killed {
                    let killed = self
                        .engine
                        .inspect_raw(&id)
                        .await
                        .ok()
                        .and_then(|c| c.state?.oom_killed);
                    self.slots[i].oom_killed = killed == Some(true);
                }
                let slot = &mut self.slots[i];
                slot.state = State::Exited(exit_code);
                slot.exited_at = Some(Instant::now());
                if !slot.plan.essential {
                    status(&format!(
                        "`{}` exited with {exit_code}{}; it is not essential, the task goes on",
                        slot.plan.name,
                        oom_reason(slot.oom_killed)
                    ));
                    if let Some(firelens) = self
                        .plan
                        .firelens
                        .as_ref()
                        .filter(|f| f.router == slot.plan.name && self.socket == Socket::Open)
                    {
                        status(&format!(
                            "warning: the logs of {} are lost from now on: their log router `{}` is gone",
                            firelens
                                .routed
                                .iter()
                                .map(|c| format!("`{c}`"))
                                .collect::<Vec<_>>()
                                .join(", "),
                            firelens.router
                        ));
                        self.socket = Socket::Lost;
                    }
                }
            }
        }
        Ok(())
    }

    /// Restarts a container under its `restartPolicy` when [`should_restart`]
    /// says so, and follows its logs again from the restart on.
    async fn restart(&mut self, i: usize, exit_code: i64) -> anyhow::Result<bool> {
        let slot = &self.slots[i];
        let Some(policy) = &slot.plan.restart_policy else {
            return Ok(false);
        };
        let ran = slot.started.map_or(Duration::ZERO, |s| s.elapsed());
        if !should_restart(policy, exit_code, ran) {
            return Ok(false);
        }
        status(&format!(
            "`{}` exited with {exit_code}; restarting it (restartPolicy)",
            slot.plan.name
        ));
        self.slots[i].logs_since = Some(unix_now());
        self.start_all(&[i]).await?;
        Ok(true)
    }

    fn ending(&self) -> Option<Ending> {
        self.slots.iter().find_map(|s| match s.state {
            State::Exited(exit_code) if s.plan.essential => Some(Ending::EssentialExited {
                container: s.plan.name.clone(),
                exit_code,
                oom: s.oom_killed,
            }),
            _ => None,
        })
    }

    /// Stops the task as ECS does: dependents before what they depend on,
    /// each with SIGTERM and its `stopTimeout` before SIGKILL. A second
    /// Ctrl-C kills whatever still runs.
    pub async fn stop(&mut self, mut shutdown: Shutdown) {
        let graceful = async {
            loop {
                let running: Vec<usize> = (0..self.slots.len())
                    .filter(|&i| matches!(self.slots[i].state, State::Running))
                    .collect();
                if running.is_empty() {
                    break;
                }
                // A wave: running containers no other running container needs.
                let wave: Vec<usize> = running
                    .iter()
                    .copied()
                    .filter(|&i| {
                        !running.iter().any(|&j| {
                            self.slots[j]
                                .needs
                                .iter()
                                .any(|n| n.container == self.slots[i].plan.name)
                        })
                    })
                    .collect();
                let wave = if wave.is_empty() { running } else { wave };
                join_all(wave.iter().map(|&i| {
                    let slot = &self.slots[i];
                    self.engine
                        .stop_container(&slot.id, slot.plan.stop_timeout_secs)
                }))
                .await;
                for i in wave {
                    if let Ok(state) = self.engine.inspect_container(&self.slots[i].id).await {
                        self.slots[i].state = State::Exited(state.exit_code.unwrap_or(-1));
                    } else {
                        self.slots[i].state = State::Exited(-1);
                    }
                }
            }
        };
        tokio::select! {
            () = graceful => {}
            () = shutdown.reached(Stop::Immediate) => {
                status("killing the task");
                join_all(self.slots.iter().map(|s| self.engine.kill_container(&s.id))).await;
            }
        }
        // The pause container holds the namespaces and nothing else: once
        // the task's containers are stopped it is killed, not asked. A
        // SIGTERM that reaches it before its handler exists (a Ctrl-C in the
        // first second) would be ignored, as PID 1 ignores what it does not
        // handle, until the stop timeout ran out.
        if self.plan.pause.is_some() {
            let label = [
                format!("{}={}", labels::RUN_ID, self.plan.run_id),
                format!("{}=pause", labels::ROLE),
            ];
            if let Ok(found) = self.engine.containers_labelled(&label).await {
                join_all(found.iter().map(|c| self.engine.kill_container(&c.id))).await;
            }
        }
        // Let the log followers print what the containers wrote last.
        let loggers = std::mem::take(&mut self.loggers);
        let _ = tokio::time::timeout(Duration::from_secs(2), join_all(loggers)).await;
    }
}

/// ECS's restart rule: restart unless the exit code is ignored, and only
/// after the container has run for `restartAttemptPeriod`.
/// ECS's stop reason for a container the kernel killed for memory, as the
/// agent words it, after its exit code.
pub(super) fn oom_reason(oom: bool) -> &'static str {
    if oom {
        " (OutOfMemoryError: Container killed due to memory usage)"
    } else {
        ""
    }
}

fn should_restart(policy: &RestartPlan, exit_code: i64, ran: Duration) -> bool {
    let period = Duration::from_secs(policy.restart_attempt_period_secs.unsigned_abs());
    !policy.ignored_exit_codes.contains(&exit_code) && ran >= period
}

impl Slot {
    /// Back to created, to start again once its dependencies allow: a
    /// replaced container, or one that depends on it.
    pub(super) fn reset_to_start_again(&mut self) {
        self.state = State::Created;
        self.started = None;
        self.health = None;
        self.healthy_at = None;
        self.created = Instant::now();
    }
}

/// Now, in Unix seconds: where a restarted container's logs are followed from.
pub(super) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What ended a wait.
enum Woke {
    Event(ContainerEvent),
    Rebuilt(super::build::watch::Rebuilt),
    Tick,
}

enum Readiness {
    Ready,
    /// Still waiting for this condition.
    Waiting(String),
    /// The condition can no longer be reached.
    Never(String),
}

/// What a container waits for before it starts.
fn needs(c: &ContainerPlan) -> Vec<Dependency> {
    let mut needs = c.depends_on.clone();
    for implicit in &c.implicit_dependencies {
        if !needs.iter().any(|n| &n.container == implicit) {
            needs.push(Dependency {
                container: implicit.clone(),
                condition: DependencyCondition::Start,
            });
        }
    }
    needs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_follow_the_ecs_rule() {
        let policy = RestartPlan {
            ignored_exit_codes: vec![0, 42],
            restart_attempt_period_secs: 60,
        };
        let long = Duration::from_secs(61);
        assert!(should_restart(&policy, 1, long));
        assert!(!should_restart(&policy, 42, long), "an ignored exit code");
        assert!(!should_restart(&policy, 0, long), "an ignored exit code");
        assert!(
            !should_restart(&policy, 1, Duration::from_secs(59)),
            "ran less than the period"
        );
        assert!(should_restart(&policy, 1, Duration::from_secs(60)));
    }

    #[test]
    fn links_and_volumes_from_are_start_needs() {
        use super::super::create::test_container;
        let c = ContainerPlan {
            depends_on: vec![Dependency {
                container: "db".into(),
                condition: DependencyCondition::Healthy,
            }],
            implicit_dependencies: vec!["db".into(), "data".into()],
            ..test_container()
        };
        assert_eq!(
            needs(&c),
            [
                Dependency {
                    container: "db".into(),
                    condition: DependencyCondition::Healthy
                },
                Dependency {
                    container: "data".into(),
                    condition: DependencyCondition::Start
                },
            ]
        );
    }
}
