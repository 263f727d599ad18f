//! The real task definitions of `tests/fixtures/task-definitions/`: every one
//! loads and plans unless this file says why ECS would reject it too; plans of
//! real definitions are pinned by snapshots; and no mangled version of any of
//! them makes the loader, the validator or the planner panic.

use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use super::test_support::options;
use super::{SequentialIds, plan};
use crate::taskdef::{Diagnostic, load_path, load_str, validate};

/// The fixture corpus: `ECS_RUN_LOCAL_FIXTURES`, else the repository's `tests/fixtures`.
fn fixtures() -> PathBuf {
    let root = std::env::var_os("ECS_RUN_LOCAL_FIXTURES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
        PathBuf::from,
    );
    let dir = root.join("task-definitions");
    assert!(
        dir.is_dir(),
        "the fixture corpus is missing at {}",
        dir.display()
    );
    dir
}

fn files(sub: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join(sub))
        .expect("fixture folder reads")
        .map(|e| e.expect("fixture entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// The documents of `valid/` (valid JSON) that are not valid task definitions,
/// the first error each must report, and why the document really is invalid.
const REJECTED: &[(&str, &str, &str)] = &[
    // Wrong JSON types: ECS's API (and the AWS CLI's parameter validation) rejects them too.
    (
        "amazon-ecs-firelens-examples__fluent-bit_logstash_task-definition.json",
        "containerDefinitions[1].portMappings: invalid type: object, expected an array",
        "portMappings is written as one object with Docker's capitalised keys, not an array",
    ),
    (
        "amazon-ecs-firelens-examples__fluent-bit_signalfx_task-definition.json",
        "containerDefinitions[1].logConfiguration.secretOptions: invalid type: object, expected an array",
        "secretOptions is an object; the API takes a list of {name, valueFrom}",
    ),
    (
        "ecs-devguide__secrets-logconfig-splunk.json",
        "containerDefinitions[0].logConfiguration: invalid type: array, expected an object",
        "logConfiguration is wrapped in an array",
    ),
    // Placeholders where only an enumeration value is accepted.
    (
        "cw-container-insights__cwagent-prometheus.json",
        "networkMode: unknown variant `{{networkmode}}`",
        "networkMode is an unfilled template placeholder",
    ),
    (
        "ecs-agent__iam-roles.json",
        "networkMode: unknown variant `$$$NETWORK_MODE$$$`",
        "networkMode is an unfilled test placeholder",
    ),
    (
        "datadog-docs__agent-ecs-managed-instances-daemon.json",
        "family: `<TASK_NAME>` may hold only letters",
        "the family is a placeholder with characters ECS does not allow in a family",
    ),
    // awsvpc requires hostPort == containerPort.
    (
        "aws-containers-task-definitions__kibana_kibana_ec2.json",
        "containerDefinitions[0].portMappings[0].hostPort: 80 differs from containerPort 5601",
        "awsvpc task mapping host port 80 to container port 5601",
    ),
    (
        "aws-containers-task-definitions__tomcat_tomcat_ec2.json",
        "containerDefinitions[0].portMappings[0].hostPort: 80 differs from containerPort 8080",
        "awsvpc task mapping host port 80 to container port 8080",
    ),
    // Windows-only features: a Linux Docker engine cannot run them.
    (
        "datadog-docs__agent-ecs-windows.json",
        "volumes[0].host.sourcePath: `\\\\.\\pipe\\docker_engine` is a Windows path",
        "mounts a Windows named pipe",
    ),
    (
        "ecs-agent__gmsa-ssm.json",
        "containerDefinitions[0].dockerSecurityOptions: `credentialspec:",
        "a Windows gMSA credential spec",
    ),
    (
        "ecs-devguide__fsx-windows.json",
        "volumes[0].fsxWindowsFileServerVolumeConfiguration: FSx for Windows",
        "an FSx for Windows volume, mounted at C:\\ paths (under a name that is not even the volume's)",
    ),
    (
        "ecs-devguide__webserver-fargate-windows.json",
        "runtimePlatform.operatingSystemFamily: `WINDOWS_SERVER_2019_CORE`",
        "a Windows Server task",
    ),
    // Fragments and skeletons, not whole definitions.
    (
        "ecs-devguide__secrets-manager-json-key.json",
        "family: is required",
        "a documentation fragment: one container with only `secrets`, no family, name or image",
    ),
    (
        "ecs-devguide__secrets-manager-version-id.json",
        "family: is required",
        "a documentation fragment: one container with only `secrets`, no family, name or image",
    ),
    (
        "ecs-devguide__task-definition-template.json",
        "family: is required",
        "the generate-cli-skeleton output: every value empty, a Windows platform",
    ),
    // A proxy configuration naming a container the task does not have.
    (
        "ecspresso__td-plain-in-tags.json",
        "proxyConfiguration.containerName: `envoy` is not a container",
        "the App Mesh proxy container `envoy` is not in containerDefinitions",
    ),
    (
        "ecspresso__td-wrapped-tags-inside.json",
        "taskDefinition.proxyConfiguration.containerName: `envoy` is not a container",
        "the App Mesh proxy container `envoy` is not in containerDefinitions",
    ),
];

/// Every error of a file, as `path: message` lines located in its document.
fn errors_of(path: &Path) -> Vec<String> {
    match load_path(path) {
        Err(e) if e.problems().is_empty() => vec![e.to_string()],
        Err(e) => e.problems().iter().map(Diagnostic::to_string).collect(),
        Ok(loaded) => validate(&loaded.definition)
            .into_iter()
            .filter(Diagnostic::is_error)
            .map(|d| format!("{}: {}", loaded.shape.locate(&d.path), d.message))
            .collect(),
    }
}

#[test]
fn every_valid_document_loads_and_plans_unless_really_invalid() {
    let mut planned = 0;
    for path in files("valid") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let errors = errors_of(&path);
        if let Some((_, expected, why)) = REJECTED.iter().find(|(file, ..)| *file == name) {
            assert!(
                errors.first().is_some_and(|e| e.starts_with(expected)),
                "{name} should be rejected ({why}) with `{expected}`, got {errors:#?}"
            );
        } else {
            assert!(
                errors.is_empty(),
                "{name} should load and plan, got {errors:#?}"
            );
            let loaded = load_path(&path).unwrap();
            let plan = plan(
                &loaded.definition,
                &options(),
                &mut SequentialIds::default(),
            )
            .unwrap_or_else(|e| panic!("{name} does not plan: {e}"));
            assert_eq!(
                plan.containers.len(),
                loaded.definition.container_definitions.len(),
                "{name}"
            );
            assert_eq!(plan.start_order.len(), plan.containers.len(), "{name}");
            planned += 1;
        }
    }
    assert!(planned >= 100, "only {planned} documents planned");
    for (file, ..) in REJECTED {
        assert!(
            fixtures().join("valid").join(file).is_file(),
            "{file} is listed but missing"
        );
    }
}

/// The corpus's `FireLens` tasks plan their log routing, with no warning about
/// `FireLens`: an output per `awsfirelens` container in the router's
/// configuration.
#[test]
fn firelens_examples_plan_their_log_routing_without_warnings() {
    let mut routed = 0;
    for path in files("valid") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Ok(loaded) = load_path(&path) else {
            continue;
        };
        let defs = &loaded.definition.container_definitions;
        if !defs.iter().any(|c| c.firelens_configuration.is_some()) || !errors_of(&path).is_empty()
        {
            continue;
        }
        let warnings: Vec<String> = validate(&loaded.definition)
            .iter()
            .chain(&loaded.warnings)
            .map(Diagnostic::to_string)
            .filter(|w| w.to_lowercase().contains("firelens"))
            .collect();
        assert!(warnings.is_empty(), "{name}: {warnings:#?}");
        let plan = plan(
            &loaded.definition,
            &options(),
            &mut SequentialIds::default(),
        )
        .unwrap();
        let firelens = plan
            .firelens
            .unwrap_or_else(|| panic!("{name}: no FireLens plan"));
        // As the agent: an output for each container with log options; none
        // for one without (the user's own configuration routes its logs).
        for c in defs.iter().filter(|c| {
            c.log_configuration.as_ref().is_some_and(|l| {
                l.log_driver.as_deref() == Some("awsfirelens")
                    && (!l.options.is_empty() || !l.secret_options.is_empty())
            })
        }) {
            assert!(
                firelens.config.contains(&format!("{}-firelens*", c.name())),
                "{name}: no output for `{}` in\n{}",
                c.name(),
                firelens.config
            );
        }
        routed += 1;
    }
    assert!(routed >= 40, "only {routed} FireLens tasks planned");
}

#[test]
fn invalid_json_fails_with_a_location() {
    let files = files("invalid-json");
    assert_eq!(files.len(), 8);
    for path in files {
        let err = load_path(&path).expect_err("not JSON");
        let text = err.to_string();
        assert!(
            text.contains("is not valid JSON") && text.contains(" at line "),
            "{text}"
        );
    }
}

/// Snapshots of the full plan of real definitions, one per feature area.
#[test]
fn plans_of_real_definitions() {
    const PINNED: &[&str] = &[
        "aws-cli__describe-task-definition-output.json",
        "aws-cli__register-web-timer-host-volume.json",
        "aws-cli__sleep360-container-definitions-array.json",
        "aws-containers-task-definitions__nginx_nginx_fargate.json",
        "ecs-agent__container-ordering.json",
        "ecs-agent__datavolume2.json",
        "ecs-agent__tmpfs.json",
        "ecs-agent__add-drop-capabilities.json",
        "ecs-agent__pid-namespace-task-share.json",
        "ecs-devguide__efs-tutorial.json",
        "ecs-devguide__arm64.json",
        "ecspresso__ci-daemon-host-secrets.json",
        "amazon-ecs-firelens-examples__fluent-bit_health-check_task-definition-tcp-healthcheck.json",
        "ecs-devguide__entrypoint-ping-readonly.json",
    ];
    for file in PINNED {
        let loaded = load_path(&fixtures().join("valid").join(file)).unwrap();
        let plan = plan(
            &loaded.definition,
            &options(),
            &mut SequentialIds::default(),
        )
        .unwrap();
        let name = file.trim_end_matches(".json");
        insta::with_settings!({sort_maps => true, snapshot_suffix => name, prepend_module_to_snapshot => false}, {
            insta::assert_json_snapshot!("plan", plan);
        });
    }
}

/// Loading, validating and planning mangled documents never panics: every
/// prefix at many cut points, lines in shuffled order, and values moved to
/// keys of other types.
#[test]
fn mangled_documents_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut tried = 0usize;
    for path in files("valid").into_iter().chain(files("invalid-json")) {
        let text = std::fs::read_to_string(&path).unwrap();
        let mut attempt = |doc: &str| {
            tried += 1;
            if let Ok(loaded) = load_str(doc, "mangled.json", "mangled") {
                let _ = validate(&loaded.definition);
                let _ = plan(
                    &loaded.definition,
                    &options(),
                    &mut SequentialIds::default(),
                );
            }
        };
        let step = (text.len() / 40).max(1);
        for cut in (0..text.len()).step_by(step) {
            if text.is_char_boundary(cut) {
                attempt(&text[..cut]);
            }
        }
        let mut lines: Vec<&str> = text.lines().collect();
        for _ in 0..10 {
            lines.shuffle(&mut rng);
            attempt(&lines.join("\n"));
        }
        if let Ok(value) = serde_json::from_str::<Value>(&text) {
            let mut leaves = Vec::new();
            collect(&value, &mut leaves);
            for _ in 0..40 {
                let mut mangled = value.clone();
                mangle(&mut mangled, &leaves, &mut rng);
                attempt(&mangled.to_string());
            }
        }
    }
    assert!(tried > 10_000, "only {tried} mangled documents tried");
}

/// Every value of the document, to be planted elsewhere.
fn collect(value: &Value, out: &mut Vec<Value>) {
    out.push(value.clone());
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect(v, out)),
        _ => {}
    }
}

/// Replaces values at random with other values of the same document, with
/// JSON edge values, or removes them.
fn mangle(value: &mut Value, pool: &[Value], rng: &mut StdRng) {
    let edge = [
        Value::Null,
        Value::from(-1),
        Value::from(0),
        Value::from(i64::MAX),
        Value::from(u64::MAX),
        Value::from(1e300),
        Value::from(""),
        Value::from("arn:aws:secretsmanager:::"),
        Value::from("::"),
        Value::Array(vec![]),
    ];
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                match rng.random_range(0..12) {
                    0 => {
                        *map.get_mut(&key).unwrap() = pool[rng.random_range(0..pool.len())].clone();
                    }
                    1 => {
                        *map.get_mut(&key).unwrap() = edge[rng.random_range(0..edge.len())].clone();
                    }
                    2 => {
                        map.remove(&key);
                    }
                    _ => mangle(map.get_mut(&key).unwrap(), pool, rng),
                }
            }
        }
        Value::Array(items) => {
            items.shuffle(rng);
            for item in items {
                mangle(item, pool, rng);
            }
        }
        _ => {}
    }
}
