//! The command line without Docker: `validate`, `plan`, help and exit codes.

use crate::harness::{ecs_run_local, example, fixtures};

#[test]
fn every_broken_json_document_exits_2_and_says_where() {
    let dir = fixtures().join("task-definitions/invalid-json");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("corpus") {
        let path = entry.unwrap().path();
        let out = ecs_run_local(["validate", path.to_str().unwrap()]).run();
        assert_eq!(out.code, Some(2), "{path:?}: {out:?}");
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one error line: {out:?}");
        assert!(lines[0].starts_with("ecs-run-local: error: `"), "{out:?}");
        assert!(
            lines[0].contains("is not valid JSON") && lines[0].contains(" at line "),
            "{out:?}"
        );
        assert!(out.stdout.is_empty());
        seen += 1;
    }
    assert_eq!(seen, 8);
}

#[test]
fn a_valid_definition_passes_with_its_verdict_on_stdout() {
    let out = ecs_run_local(["validate", example("awsvpc-fargate.json").to_str().unwrap()]).run();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout
            .ends_with("valid task definition `fargate-app` (3 containers, awsvpc network mode)\n"),
        "{out:?}"
    );
    assert_eq!(out.stderr, "");
}

#[test]
fn an_invalid_definition_lists_every_problem_with_its_path() {
    let doc = r#"{"family":"shop","networkMode":"awsvpc","containerDefinitions":[
        {"name":"web","image":"nginx","memory":64,"portMappings":[{"containerPort":80,"hostPort":8080}],
         "dependsOn":[{"containerName":"db","condition":"HEALTHY"}]},
        {"name":"web","image":"nginx","memory":64,"links":["db"]}]}"#;
    let out = ecs_run_local(["validate", "-"]).stdin(doc).run();
    assert_eq!(out.code, Some(2), "{out:?}");
    let expected = "\
ecs-run-local: error: `-` is not a valid task definition (4 errors)
  containerDefinitions[0].portMappings[0].hostPort: 8080 differs from containerPort 80; in awsvpc mode the host port must equal the container port
  containerDefinitions[1].name: duplicate container name `web` (also containerDefinitions[0])
  containerDefinitions[1].links: links work only in bridge network mode, not `awsvpc`
  containerDefinitions[0].dependsOn[0].containerName: `db` is not a container of this task
";
    assert_eq!(out.stderr, expected);
}

#[test]
fn paths_point_into_the_describe_output_the_user_has() {
    let doc = r#"{"taskDefinition":{"family":"f","containerDefinitions":[{"name":"a","image":"i","cpu":"256"}]}}"#;
    let out = ecs_run_local(["validate", "-"]).stdin(doc).run();
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("  taskDefinition.containerDefinitions[0].cpu: invalid type: string \"256\", expected an integer"),
        "{out:?}"
    );
}

#[test]
fn unknown_fields_and_local_differences_are_warnings() {
    let doc = r#"{"family":"f","volumes":[{"name":"v","efsVolumeConfiguration":{"fileSystemId":"fs-1"}}],
        "containerDefinitions":[{"name":"a","image":"i","memory":64,"colour":"blue",
        "mountPoints":[{"sourceVolume":"v","containerPath":"/v"}]}]}"#;
    let out = ecs_run_local(["validate", "-"]).stdin(doc).run();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr.contains(
            "ecs-run-local: warning: -: volumes[0].efsVolumeConfiguration: EFS file system `fs-1`"
        ),
        "{out:?}"
    );
    assert!(
        out.stderr.contains(
            "ecs-run-local: warning: -: containerDefinitions[0].colour: unknown field, ignored"
        ),
        "{out:?}"
    );
    assert!(out.stdout.contains("2 warnings"), "{out:?}");
}

#[test]
fn validate_json_reports_for_tools() {
    let path = fixtures()
        .join("task-definitions/valid/aws-containers-task-definitions__kibana_kibana_ec2.json");
    let out = ecs_run_local(["validate", "--json", path.to_str().unwrap()]).run();
    assert_eq!(out.code, Some(2), "{out:?}");
    let body: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(body["valid"], false);
    assert_eq!(
        body["errors"][0]["path"],
        "containerDefinitions[0].portMappings[0].hostPort"
    );
}

#[test]
fn a_missing_file_is_one_clear_line() {
    let out = ecs_run_local(["validate", "/nonexistent/task.json"]).run();
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.stderr,
        "ecs-run-local: error: cannot read `/nonexistent/task.json`: No such file or directory (os error 2)\n"
    );
}

#[test]
fn plan_json_never_shows_secret_values_or_the_authorization_token() {
    let doc = r#"{"family":"daemon","networkMode":"host","taskRoleArn":"arn:aws:iam::111122223333:role/app",
        "containerDefinitions":[{"name":"a","image":"i","memory":64,
        "secrets":[{"name":"DB_PASSWORD","valueFrom":"arn:aws:ssm:eu-west-1:111122223333:parameter/db"}]}]}"#;
    let out = ecs_run_local(["plan", "--json", "--region", "eu-west-1", "-"])
        .stdin(doc)
        .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON plan");
    let env: Vec<&str> = plan["containers"][0]["create"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        env.contains(&"AWS_CONTAINER_AUTHORIZATION_TOKEN=********"),
        "{env:?}"
    );
    assert!(env.iter().any(|e| {
        e.starts_with("AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:51679/v2/credentials/")
    }));
    assert!(!env.iter().any(|e| e.starts_with("DB_PASSWORD")), "{env:?}");
    assert_eq!(
        plan["containers"][0]["secrets"][0]["valueFrom"],
        "arn:aws:ssm:eu-west-1:111122223333:parameter/db"
    );
    assert_eq!(plan["task"]["region"], "eu-west-1");
    assert_eq!(plan["task"]["account"], "111122223333");
    assert!(
        plan["task"]["taskArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:ecs:eu-west-1:111122223333:task/default/")
    );
}

#[test]
fn plan_summary_shows_the_start_order() {
    let out = ecs_run_local(["plan", example("awsvpc-fargate.json").to_str().unwrap()]).run();
    assert_eq!(out.code, Some(0), "{out:?}");
    let order: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| {
            l.starts_with("  ")
                && l.trim_start()
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit())
        })
        .collect();
    assert_eq!(order.len(), 3, "{}", out.stdout);
    assert!(
        order[0].contains("1. init") && order[1].contains("2. db") && order[2].contains("3. app"),
        "{order:?}"
    );
    assert!(
        out.stdout.contains("ports 8080->8080/tcp"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("task        fargate-app:1  FARGATE launch type, awsvpc network mode")
    );
}

#[test]
fn plan_refuses_an_invalid_definition_with_exit_2() {
    let out = ecs_run_local(["plan", "-"])
        .stdin(r#"{"family":"f","containerDefinitions":[]}"#)
        .run();
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.stderr,
        "ecs-run-local: error: `-` is not a valid task definition (1 error)\n  containerDefinitions: at least one container definition is required\n"
    );
}

#[test]
fn environments_and_command_lines_docker_refuses_are_invalid_with_their_paths() {
    let doc = r#"{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64,
        "environment":[{"name":"OK","value":"1"},{"name":"A=B","value":"x"},{"name":"C","value":"x\u0000"}]}]}"#;
    let out = ecs_run_local(["validate", "-"]).stdin(doc).run();
    assert_eq!(out.code, Some(2), "{out:?}");
    assert_eq!(
        out.stderr,
        "ecs-run-local: error: `-` is not a valid task definition (2 errors)
  containerDefinitions[0].environment[1].name: `A=B` contains `=`, which an environment variable name cannot hold
  containerDefinitions[0].environment[2].value: `x\\0` contains a NUL character, which an environment variable cannot hold
"
    );
    let huge = serde_json::json!({"family": "f", "containerDefinitions": [{
        "name": "a", "image": "i", "memory": 64,
        "command": vec!["x".repeat(1 << 20); 17],
    }]});
    let out = ecs_run_local(["validate", "-"])
        .stdin(huge.to_string())
        .run();
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("\n  containerDefinitions[0].command: entryPoint and command make a command line of 17.0 MiB;"),
        "{}",
        out.stderr
    );
}

#[test]
fn flag_errors_name_the_flag_and_the_task() {
    let path = example("bridge-web-sidecar.json");
    let path = path.to_str().unwrap();
    let out = ecs_run_local(["plan", path, "--publish", "nope:8080:80"]).run();
    assert_eq!(out.code, Some(2), "{out:?}");
    assert_eq!(
        out.stderr,
        "ecs-run-local: error: `--publish nope:8080:80` names no container of the task `web-sidecar` (its containers: `web`, `sidecar`)\n"
    );
    // A bad value from --overrides is reported against --overrides.
    let overrides = r#"{"containerOverrides":[{"name":"sidecar"},{"name":"web","memory":-5,
        "environment":[{"name":"OK","value":"1"},{"name":"A=B","value":"x"}]}]}"#;
    let out = ecs_run_local(["plan", path, "--overrides", overrides]).run();
    assert_eq!(out.code, Some(2), "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "ecs-run-local: error: `{path}` is not a valid task definition (2 errors)
  --overrides containerOverrides[1].memory: -5 MiB is below Docker's minimum of 6 MiB
  --overrides containerOverrides[1].environment[1].name: `A=B` contains `=`, which an environment variable name cannot hold
"
        )
    );
}

#[test]
fn nothing_written_to_a_pipe_has_colour_codes() {
    // Log lines (here the AWS configuration's, at debug level) and a failing
    // run's error, with stderr a pipe.
    let host = example("host-mode.json");
    for (args, filter) in [
        (vec!["plan", host.to_str().unwrap()], "debug"),
        (vec!["plan", "/nonexistent/task.json"], "warn"),
    ] {
        let out = crate::harness::command()
            .args(&args)
            .env("RUST_LOG", filter)
            .env_remove("NO_COLOR")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("ecs-run-local runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.is_empty(), "{args:?} writes to stderr");
        if filter == "debug" {
            assert!(stderr.contains("DEBUG "), "{stderr}");
        }
        assert!(!stderr.contains('\x1b'), "{args:?}: {stderr:?}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains('\x1b'));
    }
}

#[test]
fn help_lists_the_commands() {
    let out = ecs_run_local(["--help"]).run();
    assert_eq!(out.code, Some(0));
    insta::assert_snapshot!("help", out.stdout);
    let out = ecs_run_local(["plan", "--help"]).run();
    insta::assert_snapshot!("plan-help", out.stdout);
    let out = ecs_run_local(["smoke", "--help"]).run();
    insta::assert_snapshot!("smoke-help", out.stdout);
}

#[test]
fn completions_for_every_shell_offer_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = ecs_run_local(["completions", shell]).run();
        assert_eq!(out.code, Some(0), "{shell}: {out:?}");
        for word in ["smoke", "validate", "render", "detach", "timeout"] {
            assert!(out.stdout.contains(word), "{shell} completions lack {word}");
        }
        // The hidden subcommands the CLI runs in its own containers are not offered.
        assert!(!out.stdout.contains("cgroup"), "{shell}");
    }
    // bash reads the script and completes a subcommand's flags from it.
    let script = ecs_run_local(["completions", "bash"]).run().stdout;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ecs-run-local.bash");
    std::fs::write(&file, &script).unwrap();
    let completed = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(ecs-run-local smoke --ti); COMP_CWORD=2; _ecs-run-local ecs-run-local --ti smoke; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file.display()
        ))
        .output()
        .unwrap();
    let completed = String::from_utf8_lossy(&completed.stdout);
    assert!(completed.lines().any(|l| l == "--timeout"), "{completed}");
    assert_eq!(ecs_run_local(["completions", "tcsh"]).run().code, Some(2));
}

#[test]
fn the_man_page_is_roff_that_man_renders() {
    let out = ecs_run_local(["man"]).run();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.starts_with(".ie"), "{}", &out.stdout[..80]);
    assert!(
        out.stdout.contains(".TH ecs-run-local 1"),
        "{}",
        &out.stdout[..200]
    );
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(out.stdout.contains(section), "no {section}");
    }
    // Rendered as a reader sees it, where groff is installed.
    if std::path::Path::new("/usr/bin/groff").exists() {
        let dir = tempfile::tempdir().unwrap();
        let page = dir.path().join("ecs-run-local.1");
        std::fs::write(&page, &out.stdout).unwrap();
        let shown = std::process::Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(&page)
            .output()
            .unwrap();
        assert!(shown.status.success(), "{shown:?}");
        assert_eq!(String::from_utf8_lossy(&shown.stderr), "", "groff warned");
    }
}
