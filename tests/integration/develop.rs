//! The developer loop against the real engine: `--build` runs a working copy
//! in the task's definition, `--watch` replaces its container when the copy
//! changes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::docker_harness::{
    BUSYBOX, Session, block, built_images, container, engine, start, the_error_line,
};
use crate::harness::ecs_run_local;

/// A build context in the session's directory: `files` as (path, text).
fn context(session: &Session, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = session.path(name);
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// Containers the classic builder ran from our test image for a `RUN` that
/// names `marker` (the session's family) and left behind; they carry none of
/// our labels.
fn builder_leftovers(marker: &str) -> Vec<String> {
    let filters = std::collections::HashMap::from([("ancestor", vec![BUSYBOX.to_owned()])]);
    let options = bollard::query_parameters::ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    block(engine().bollard().list_containers(Some(options)))
        .unwrap()
        .into_iter()
        .filter(|c| c.command.as_deref().unwrap_or_default().contains(marker))
        .map(|c| format!("{:?} {:?}", c.names, c.command))
        .collect()
}

/// Ctrl-C during a build: exit 130, and once the engine has seen the build
/// cancelled (it removes the builder's container then), nothing of the
/// session's is left.
fn interrupt_and_find_nothing_left(run: crate::docker_harness::Running, session: &Session) {
    run.interrupt();
    let ended = run.wait();
    assert_eq!(ended.code, Some(130), "{}", ended.stderr);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !builder_leftovers(&session.family).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        builder_leftovers(&session.family).is_empty(),
        "{:?}",
        builder_leftovers(&session.family)
    );
    assert!(session.leftovers().is_empty(), "{:?}", session.leftovers());
}

/// The arguments of a run of `task` with `--build CONTAINER=DIR`, then `more`.
fn build_args(task: &Path, container: &str, dir: &Path, more: &[&str]) -> Vec<String> {
    let mut args = vec![
        task.display().to_string(),
        "--build".to_owned(),
        format!("{container}={}", dir.display()),
    ];
    args.extend(more.iter().map(|&a| a.to_owned()));
    args
}

/// A container that runs its image's own `CMD` (the image is built).
fn built_container(name: &str) -> serde_json::Value {
    let mut c = container(name, "unused");
    c.as_object_mut().unwrap().remove("entryPoint");
    c.as_object_mut().unwrap().remove("command");
    c
}

fn image_exists(image: &str) -> bool {
    block(engine().image_exists(image)).unwrap()
}

#[test]
fn a_built_container_runs_the_working_copy_with_its_build_args_and_without_what_dockerignore_leaves_out()
 {
    let session = Session::new("build");
    let dir = context(
        &session,
        "app",
        &[
            (
                "Dockerfile",
                &format!(
                    "FROM {BUSYBOX}\nARG GREETING=unset\nRUN : {family}; echo \"$GREETING\" > /greeting\nCOPY . /src\nCMD [\"sh\", \"/src/app.sh\"]\n",
                    family = session.family
                ),
            ),
            (
                "app.sh",
                "echo \"greeting $(cat /greeting)\"\nif [ -e /src/secret.env ]; then echo secret-sent; else echo secret-kept; fi\nls /src/logs 2>/dev/null | tr '\\n' ' ' | sed 's/^/logs: /'; echo\n",
            ),
            (".dockerignore", "secret.env\nlogs/*.log\n!logs/keep.log\n"),
            ("secret.env", "TOKEN=do-not-send\n"),
            ("logs/noise.log", "x\n"),
            ("logs/keep.log", "y\n"),
        ],
    );
    let mut app = built_container("app");
    app["image"] = json!("not-built-yet:latest");
    let task = session.write(&json!([app]), &json!({}));
    let out = ecs_run_local(build_args(
        &task,
        "app",
        &dir,
        &["--build-arg", "GREETING=hello-from-build"],
    ))
    .run();
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("app | greeting hello-from-build"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("app | secret-kept"), "{}", out.stdout);
    assert!(
        out.stdout.contains("app | logs: keep.log"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("app build | Step 1/6 : FROM"),
        "the builder's output under the container's prefix: {}",
        out.stderr
    );
    let tag = ecs_run_local::testing::build_tag(&session.family, "app");
    assert!(image_exists(&tag), "{tag} stays for the next run's cache");
    let labelled = block(built_images(engine()));
    assert!(
        labelled.iter().any(|i| i.repo_tags.contains(&tag)),
        "the image carries our label"
    );
    assert!(session.leftovers().is_empty(), "{:?}", session.leftovers());
    assert!(
        builder_leftovers(&session.family).is_empty(),
        "{:?}",
        builder_leftovers(&session.family)
    );
}

#[test]
fn a_failed_build_is_one_line_with_the_failing_step_and_nothing_starts() {
    let session = Session::new("build-fails");
    let dir = context(
        &session,
        "app",
        &[(
            "Dockerfile",
            &format!(
                "FROM {BUSYBOX}\nRUN : {}; echo compiling && exit 3\nCMD [\"true\"]\n",
                session.family
            ),
        )],
    );
    let task = session.write(&json!([container("app", "true")]), &json!({}));
    let out = ecs_run_local(build_args(&task, "app", &dir, &[])).run();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(
        the_error_line(&out.stderr),
        format!(
            "ecs-run-local: error: cannot build the image of `app` from `{0}`: step 2/4 : RUN : {1}; echo compiling && exit 3: The command '/bin/sh -c : {1}; echo compiling && exit 3' returned a non-zero code: 3",
            dir.display(),
            session.family
        )
    );
    assert!(
        out.stderr.contains("app build | compiling"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("running `"),
        "nothing started: {}",
        out.stderr
    );
    assert!(session.leftovers().is_empty(), "{:?}", session.leftovers());
    assert!(
        builder_leftovers(&session.family).is_empty(),
        "{:?}",
        builder_leftovers(&session.family)
    );
    assert!(!image_exists(&ecs_run_local::testing::build_tag(
        &session.family,
        "app"
    )));

    let no_such = session.path("nowhere");
    let out = ecs_run_local(build_args(&task, "web", &no_such, &[])).run();
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        the_error_line(&out.stderr).contains(&format!(
            "`--build web={}` names no container of the task `{}` (its containers: `app`)",
            no_such.display(),
            session.family
        )),
        "{}",
        out.stderr
    );
    let out = ecs_run_local(build_args(&task, "app", &no_such, &[])).run();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(
        the_error_line(&out.stderr),
        format!(
            "ecs-run-local: error: cannot build the image of `app` from `{0}`: the build context `{0}` is not a directory",
            no_such.display()
        )
    );
}

#[test]
fn ctrl_c_during_a_build_leaves_nothing_behind() {
    let session = Session::new("build-interrupted");
    let dir = context(
        &session,
        "app",
        &[(
            "Dockerfile",
            &format!(
                "FROM {BUSYBOX}\nRUN : {}; echo long-step-begins && sleep 60\n",
                session.family
            ),
        )],
    );
    let task = session.write(&json!([container("app", "true")]), &json!({}));
    let mut run = start(build_args(&task, "app", &dir, &[]));
    run.wait_for_stderr("long-step-begins", Duration::from_secs(60));
    interrupt_and_find_nothing_left(run, &session);
    assert!(!image_exists(&ecs_run_local::testing::build_tag(
        &session.family,
        "app"
    )));
}

/// A context whose image prints its version, then checks that the agent
/// knows it by its endpoint, then stays up.
fn versioned_app(session: &Session, version: &str) -> PathBuf {
    context(
        session,
        "app",
        &[
            (
                "Dockerfile",
                &format!(
                    "FROM {BUSYBOX}\nCOPY version.txt run.sh /app/\nCMD [\"sh\", \"/app/run.sh\"]\n"
                ),
            ),
            ("version.txt", version),
            (".dockerignore", "*.tmp\n"),
            (
                "run.sh",
                "echo \"version $(cat /app/version.txt)\"\n\
                 until wget -qO- $ECS_CONTAINER_METADATA_URI_V4 2>/dev/null | grep -q \"$(hostname)\"; do sleep 0.2; done\n\
                 echo \"metadata knows $(hostname)\"\n\
                 trap 'exit 0' TERM\n\
                 while true; do sleep 1; done\n",
            ),
        ],
    )
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

/// Waits until `what` of `run`'s stdout appears `n` times.
fn wait_for_count(run: &crate::docker_harness::Running, needle: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while count(&run.stdout(), needle) < n {
        assert!(
            Instant::now() < deadline,
            "`{needle}` not {n} times:\n{}",
            run.stdout()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn watch_replaces_the_rebuilt_container_restarts_its_dependents_and_survives_a_failed_rebuild() {
    let session = Session::new("watch");
    let dir = versioned_app(&session, "1");
    let app = built_container("app");
    let mut sidecar = container("sidecar", "echo sidecar up; exec sleep 300");
    sidecar["dependsOn"] = json!([{ "containerName": "app", "condition": "START" }]);
    let other = container("other", "echo other up; exec sleep 300");
    let task = session.write(&json!([app, sidecar, other]), &json!({}));
    let mut run = start(build_args(&task, "app", &dir, &["--watch"]));
    run.wait_for("app     | version 1", Duration::from_secs(60));
    run.wait_for("sidecar | sidecar up", Duration::from_secs(30));
    run.wait_for("app     | metadata knows", Duration::from_secs(30));
    let first = crate::docker_harness::container_id(&session.family, "app");
    let first_image = block(engine().inspect_raw(&first)).unwrap().image.unwrap();
    let other_id = crate::docker_harness::container_id(&session.family, "other");

    // What .dockerignore ignores is no change; the version file is.
    std::fs::write(dir.join("scratch.tmp"), "x").unwrap();
    std::thread::sleep(Duration::from_millis(800));
    std::fs::write(dir.join("version.txt"), "2").unwrap();
    run.wait_for("app     | version 2", Duration::from_secs(60));
    run.wait_for_stderr("`app` runs the rebuilt image", Duration::from_secs(30));
    wait_for_count(&run, "sidecar | sidecar up", 2);
    let second = crate::docker_harness::container_id(&session.family, "app");
    assert_ne!(first, second, "a new container");
    assert!(
        !image_exists(&first_image),
        "the superseded image is removed with the container that used it"
    );
    run.wait_for(
        &format!("app     | metadata knows {}", &second[..12]),
        Duration::from_secs(30),
    );
    assert_eq!(
        crate::docker_harness::container_id(&session.family, "other"),
        other_id,
        "a container that does not depend on it stays"
    );
    assert_eq!(count(&run.stdout(), "other   | other up"), 1);
    let stderr = run.stderr();
    assert_eq!(count(&stderr, "rebuilding `app`"), 1, "{stderr}");
    assert!(
        stderr.contains("replacing `app`, restarting `sidecar` that depend on it"),
        "{stderr}"
    );
    let took = stderr
        .lines()
        .find(|l| l.contains("runs the rebuilt image"))
        .unwrap_or_default()
        .to_owned();
    eprintln!("save to RUNNING: {took}");

    // A broken Dockerfile: the running container stays.
    std::fs::write(
        dir.join("Dockerfile"),
        format!("FROM {BUSYBOX}\nRUN : {}; exit 7\n", session.family),
    )
    .unwrap();
    run.wait_for_stderr("keeps running the image it had", Duration::from_secs(60));
    assert_eq!(
        crate::docker_harness::container_id(&session.family, "app"),
        second
    );
    assert_eq!(count(&run.stdout(), "app     | version"), 2);

    run.interrupt();
    let ended = run.wait();
    assert_eq!(ended.code, Some(130), "{}", ended.stderr);
    assert!(session.leftovers().is_empty(), "{:?}", session.leftovers());
    assert!(builder_leftovers(&session.family).is_empty());
}

#[test]
fn ctrl_c_during_a_watch_rebuild_leaves_nothing_behind() {
    let session = Session::new("watch-interrupted");
    let dir = versioned_app(&session, "1");
    let app = built_container("app");
    let task = session.write(&json!([app]), &json!({}));
    let mut run = start(build_args(&task, "app", &dir, &["--watch"]));
    run.wait_for("app | version 1", Duration::from_secs(60));
    std::fs::write(
        dir.join("Dockerfile"),
        format!(
            "FROM {BUSYBOX}\nRUN : {}; echo slow-rebuild && sleep 60\n",
            session.family
        ),
    )
    .unwrap();
    run.wait_for_stderr("slow-rebuild", Duration::from_secs(60));
    interrupt_and_find_nothing_left(run, &session);
}

#[test]
fn watch_follows_a_directory_that_was_removed_and_made_again() {
    let session = Session::new("watch-recreated");
    let dir = versioned_app(&session, "1");
    let app = built_container("app");
    let task = session.write(&json!([app]), &json!({}));
    let mut run = start(build_args(&task, "app", &dir, &["--watch"]));
    run.wait_for("app | version 1", Duration::from_secs(60));
    // As a checkout that replaces the directory does it.
    let moved = dir.with_extension("old");
    std::fs::rename(&dir, &moved).unwrap();
    run.wait_for_stderr("--watch waits for it to come back", Duration::from_secs(30));
    std::fs::create_dir(&dir).unwrap();
    for name in ["Dockerfile", ".dockerignore", "run.sh"] {
        std::fs::copy(moved.join(name), dir.join(name)).unwrap();
    }
    std::fs::write(dir.join("version.txt"), "2").unwrap();
    run.wait_for("app | version 2", Duration::from_secs(60));
    // And it goes on watching the new directory.
    std::fs::write(dir.join("version.txt"), "3").unwrap();
    run.wait_for("app | version 3", Duration::from_secs(60));
    run.interrupt();
    let ended = run.wait();
    assert_eq!(ended.code, Some(130), "{}", ended.stderr);
    assert!(session.leftovers().is_empty(), "{:?}", session.leftovers());
}
