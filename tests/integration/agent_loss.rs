//! The agent's loss, repaired: killed or removed under a detached and a
//! foreground task, it comes back and both tasks get their metadata and the
//! same credentials again, with no action by the user.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::docker_harness::{
    Moto, Session, block, container, container_id, engine, start_with_env,
};
use ecs_run_local::testing::labels;

const ROLE: &str = "arn:aws:iam::123456789012:role/app";

/// A container that reads its task's metadata and credentials from the
/// agent every 200 ms and keeps the last answers in files (empty when the
/// agent did not answer).
fn polling(name: &str) -> serde_json::Value {
    container(
        name,
        "while true; do \
           timeout 3 wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task > /task.new || : > /task.new; \
           mv /task.new /task; \
           timeout 3 wget -qO- http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI > /creds.new \
             || : > /creds.new; \
           mv /creds.new /creds; sleep 0.2; done",
    )
}

/// What a file in a container holds.
fn file(id: &str, path: &str) -> Option<String> {
    let command = ["cat".to_owned(), path.to_owned()];
    match block(engine().exec(id, &command)) {
        Ok((0, output)) => Some(output),
        _ => None,
    }
}

/// What a task's container reads from the agent now: its task's family
/// (metadata v4) and its credentials' access key.
fn reads(id: &str) -> Option<(String, String)> {
    let task: serde_json::Value = serde_json::from_str(&file(id, "/task")?).ok()?;
    let credentials: serde_json::Value = serde_json::from_str(&file(id, "/creds")?).ok()?;
    Some((
        task["Family"].as_str()?.to_owned(),
        credentials["AccessKeyId"].as_str()?.to_owned(),
    ))
}

/// Waits until every container reads what it read before; how long it took.
fn until_served_again(expected: &[(&str, &(String, String))]) -> Duration {
    let lost = Instant::now();
    // What the containers read before the loss does not count.
    for (id, _) in expected {
        let command = ["rm", "-f", "/task", "/creds"].map(str::to_owned);
        block(engine().exec(id, &command)).unwrap();
    }
    loop {
        if expected
            .iter()
            .all(|(id, before)| reads(id).as_ref() == Some(before))
        {
            return lost.elapsed();
        }
        assert!(
            lost.elapsed() < Duration::from_secs(30),
            "the tasks were not served again: {:?}",
            expected.iter().map(|(id, _)| reads(id)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn agent_id() -> String {
    let label = [format!("{}=agent", labels::ROLE)];
    block(engine().containers_labelled(&label)).unwrap()[0]
        .id
        .clone()
}

#[test]
fn a_killed_or_removed_agent_comes_back_for_detached_and_foreground_tasks() {
    let moto = Moto::start();
    // The agent is everyone's: no other test may run a task meanwhile.
    let detached = Session::exclusive("lossd");
    let foreground = detached.sibling("lossf");
    let extra = json!({ "networkMode": "bridge", "taskRoleArn": ROLE });
    let d_path = detached.write(&json!([polling("app")]), &extra);
    let f_path = foreground.write(&json!([polling("app")]), &extra);
    let d_path = d_path.to_string_lossy().into_owned();
    let f_path = f_path.to_string_lossy().into_owned();

    let out = start_with_env([d_path.as_str(), "--detach"], &moto.env()).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    let task_id = out.stdout.trim().to_owned();
    let run = start_with_env([f_path.as_str()], &moto.env());
    let deadline = Instant::now() + Duration::from_secs(90);
    let (d_app, f_app) = loop {
        let found = [&detached, &foreground].map(|s| {
            let label = [format!("{}={}", labels::FAMILY, s.family)];
            !block(engine().containers_labelled(&label))
                .unwrap()
                .is_empty()
        });
        if found == [true, true] {
            break (
                container_id(&detached.family, "app"),
                container_id(&foreground.family, "app"),
            );
        }
        assert!(Instant::now() < deadline, "the tasks did not start");
        std::thread::sleep(Duration::from_millis(200));
    };
    let before_d = until_read(&d_app);
    let before_f = until_read(&f_app);
    assert_eq!(before_d.0, detached.family);
    assert_eq!(before_f.0, foreground.family);

    // docker kill
    block(engine().kill_container(&agent_id())).unwrap();
    let took = until_served_again(&[(&d_app, &before_d), (&f_app, &before_f)]);
    eprintln!("served again {took:?} after docker kill of the agent");
    assert!(took < Duration::from_secs(10), "took {took:?}");

    // docker rm -f
    block(engine().remove_container(&agent_id())).unwrap();
    let took = until_served_again(&[(&d_app, &before_d), (&f_app, &before_f)]);
    eprintln!("served again {took:?} after docker rm -f of the agent");
    assert!(took < Duration::from_secs(10), "took {took:?}");

    // Both stop promptly, and nothing is left.
    let stopped = Instant::now();
    let out = start_with_env(["stop", task_id.as_str()], &moto.env()).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    run.interrupt();
    let ended = run.wait();
    eprintln!("both tasks stopped in {:?}", stopped.elapsed());
    assert_eq!(ended.code, Some(130), "{ended:?}");
    assert_eq!(
        ended.stderr.matches("the agent was restarted").count(),
        2,
        "{ended:?}"
    );
    assert_eq!(detached.leftovers(), Vec::<String>::new());
    assert_eq!(foreground.leftovers(), Vec::<String>::new());
}

/// What a container reads once the agent serves it (its first start).
fn until_read(id: &str) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(read) = reads(id) {
            return read;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never read its metadata: {:?} {:?}",
            file(id, "/task"),
            file(id, "/creds")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
