//! Task definitions where they really live: CloudFormation/SAM templates,
//! CDK cloud assemblies and `terraform show -json` output, read by every
//! command that takes a definition.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::docker_harness::{BUSYBOX, Moto, Session, block, start_with_env, the_error_line};
use crate::harness::{ecs_run_local, fixtures};

fn source(name: &str) -> String {
    fixtures().join("sources").join(name).display().to_string()
}

#[test]
fn validate_names_template_paths_and_placeholders() {
    let out = ecs_run_local(["validate", &source("web-yaml.template.yaml")]).run();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout
            .contains("valid task definition `web-dev` (2 containers"),
        "{out:?}"
    );
    for line in [
        "Resources.TaskDef.Properties.ContainerDefinitions[0].Somethingelse: unknown property, ignored",
        "Resources.TaskDef.Properties.TaskRoleArn: `<TaskRole.Arn>` is known only once deployed; pass `--stack` or `--task-role-arn`",
        "Resources.TaskDef.Properties.ContainerDefinitions[0].LogConfiguration.Options.awslogs-group: `<Logs>` is known only once deployed",
    ] {
        assert!(out.stderr.contains(line), "{line}\n{}", out.stderr);
    }
    let prod = ecs_run_local([
        "validate",
        &source("web-yaml.template.yaml"),
        "--parameter",
        "Environment=prod",
        "--json",
    ])
    .run();
    let report: Value = serde_json::from_str(&prod.stdout).unwrap();
    assert_eq!(report["family"], "web-prod");
    assert_eq!(report["shape"], "template");
}

#[test]
fn render_needs_every_value_and_prints_the_resolved_json() {
    let out = ecs_run_local(["render", &source("web-yaml.template.yaml")]).run();
    assert_eq!(out.code, Some(2), "{out:?}");
    assert_eq!(
        the_error_line(&out.stderr),
        "ecs-run-local: error: `{}` has 2 values known only once deployed; render needs every value"
            .replace("{}", &source("web-yaml.template.yaml"))
    );
    assert!(out.stdout.is_empty());

    let out = ecs_run_local([
        "render",
        &source("two-task-definitions.template.json"),
        "--resource",
        "Api",
    ])
    .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    let rendered: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rendered["family"], "api");
    assert_eq!(rendered["containerDefinitions"][0]["memory"], 128);
    assert_eq!(
        rendered["containerDefinitions"][0]["command"],
        json!(["sleep", "1"])
    );
}

#[test]
fn bad_sources_are_one_line_and_exit_2() {
    let two = source("two-task-definitions.template.json");
    let cases: Vec<(Vec<String>, Option<&str>, String)> = vec![
        (
            vec!["validate".into(), two.clone()],
            None,
            format!("`{two}` holds 3 task definitions; pick one with `--resource`: `Api`, `Worker`, `Broken`"),
        ),
        (
            vec!["plan".into(), two.clone(), "--resource".into(), "Nope".into()],
            None,
            format!("`{two}` has no task definition `Nope`; it has `Api`, `Worker`, `Broken`"),
        ),
        (
            vec!["validate".into(), "-".into()],
            Some(r#"{"format_version":"2.0","planned_values":{"root_module":{}}}"#),
            "`-` is Terraform JSON of format version `2.0`; this reads format version 1.x".into(),
        ),
        (
            vec!["validate".into(), "-".into()],
            Some("Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: !Sub '${T}-x'\n"),
            "`-`: Resources.T.Properties.Family.Fn::Sub: circular reference: `T` and `T` refer to each other".into(),
        ),
        (
            vec!["render".into(), "-".into()],
            Some("Parameters:\n  Tag: {Type: String}\nResources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: !Ref Tag\n"),
            "`-`: Resources.T.Properties.Family.Ref: parameter `Tag` has no value and no default; give one with `--parameter Tag=VALUE`".into(),
        ),
        (
            vec!["plan".into(), "-".into(), "--stack".into(), "s".into()],
            Some(r#"{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64}]}"#),
            "`--stack s` resolves what a CloudFormation template or a CDK app refers to, and `-` is neither".into(),
        ),
        (
            vec!["validate".into(), "-".into()],
            Some("Resources:\n  R:\n    Type: AWS::IAM::Role\n"),
            "`-` has no `AWS::ECS::TaskDefinition` resource".into(),
        ),
    ];
    for (args, stdin, message) in cases {
        let mut run = ecs_run_local(args.clone());
        if let Some(text) = stdin {
            run = run.stdin(text);
        }
        let out = run.run();
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert_eq!(
            out.stderr.trim_end(),
            format!("ecs-run-local: error: {message}"),
            "{args:?}"
        );
    }
}

#[test]
fn a_run_stops_before_anything_starts_on_values_it_cannot_do_without() {
    let two = source("two-task-definitions.template.json");
    let out = ecs_run_local([two.as_str(), "--resource", "Worker", "--pull", "never"]).run();
    assert_eq!(out.code, Some(2), "{out:?}");
    assert_eq!(
        the_error_line(&out.stderr),
        format!(
            "ecs-run-local: error: `{two}` cannot run without 2 values known only once deployed"
        )
    );
    for line in [
        "Resources.Worker.Properties.ContainerDefinitions[0].Secrets[0].ValueFrom: `<Token>` is known only once deployed and the run needs it; pass `--stack` for the deployed stack",
        "Resources.Worker.Properties.ExecutionRoleArn: `<ExecRole.Arn>` is known only once deployed and the run needs it",
    ] {
        assert!(out.stderr.contains(line), "{line}\n{}", out.stderr);
    }
}

/// A `terraform show -json` plan of the session's family, its task role
/// known only after apply.
fn terraform_plan(session: &Session) -> String {
    let containers = json!([{
        "name": "api", "image": BUSYBOX, "essential": true, "memory": 64,
        "entryPoint": ["sh", "-c"], "command": ["echo from-terraform; sleep 600"],
        "linuxParameters": {"initProcessEnabled": true}, "stopTimeout": 2
    }]);
    let values = json!({
        "family": session.family,
        "network_mode": "bridge",
        "container_definitions": containers.to_string(),
        "volume": [], "placement_constraints": [], "proxy_configuration": [],
        "tags": {"team": "api"}
    });
    json!({
        "format_version": "1.2",
        "terraform_version": "1.9.5",
        "planned_values": {"root_module": {"child_modules": [{
            "address": "module.api",
            "resources": [{
                "address": "module.api.aws_ecs_task_definition.this",
                "mode": "managed", "type": "aws_ecs_task_definition", "name": "this",
                "provider_name": "registry.terraform.io/hashicorp/aws",
                "schema_version": 1, "values": values, "sensitive_values": {}
            }]
        }]}},
        "resource_changes": [{
            "address": "module.api.aws_ecs_task_definition.this",
            "module_address": "module.api",
            "mode": "managed", "type": "aws_ecs_task_definition", "name": "this",
            "change": {"actions": ["create"], "before": null, "after": values,
                "after_unknown": {"arn": true, "id": true, "revision": true, "task_role_arn": true}}
        }]
    })
    .to_string()
}

#[test]
fn a_terraform_plan_on_standard_input_is_smoke_tested_without_its_unknown_role() {
    let session = Session::new("tf");
    let out = ecs_run_local([
        "smoke",
        "-",
        "--resource",
        "module.api.aws_ecs_task_definition.this",
        "--timeout",
        "1m",
    ])
    .stdin(terraform_plan(&session))
    .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stderr
            .matches("the task runs with no role (give the role with `--task-role-arn`)")
            .count(),
        1,
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("module.api.aws_ecs_task_definition.this.task_role_arn"),
        "{}",
        out.stderr
    );
    assert!(session.leftovers().is_empty(), "{:?}", session.leftovers());
}

/// A cloud assembly as `cdk synth` writes it, in the session's directory:
/// one stack whose task definition's image is a container asset.
fn cloud_assembly(session: &Session) -> PathBuf {
    let dir = session.path("cdk.out");
    let hash = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let asset = dir.join(format!("asset.{hash}"));
    std::fs::create_dir_all(&asset).unwrap();
    std::fs::write(
        asset.join("Dockerfile"),
        format!(
            "FROM {BUSYBOX} AS base\nARG GREETING=unset\nRUN : {family}; echo \"$GREETING\" > /greeting\nFROM base AS app\nCMD [\"sh\", \"-c\", \"echo greeting $(cat /greeting)\"]\nFROM base AS other\nCMD [\"echo\", \"wrong-target\"]\n",
            family = session.family
        ),
    )
    .unwrap();
    let write = |name: &str, value: Value| {
        std::fs::write(dir.join(name), serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    };
    write(
        "manifest.json",
        json!({"version": "36.0.0", "artifacts": {
            "Stack.assets": {"type": "cdk:asset-manifest", "properties": {"file": "Stack.assets.json"}},
            "Stack": {"type": "aws:cloudformation:stack", "environment": "aws://unknown-account/unknown-region",
                "properties": {"templateFile": "Stack.template.json"}, "dependencies": ["Stack.assets"]}
        }}),
    );
    write(
        "Stack.assets.json",
        json!({"version": "36.0.0", "files": {}, "dockerImages": {hash: {
            "source": {"directory": format!("asset.{hash}"), "dockerBuildArgs": {"GREETING": "hello-from-cdk"}, "dockerBuildTarget": "app"},
            "destinations": {"current_account-current_region": {
                "repositoryName": "cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}", "imageTag": hash}}
        }}}),
    );
    write(
        "Stack.template.json",
        json!({"Resources": {
            "TaskRole": {"Type": "AWS::IAM::Role", "Metadata": {"aws:cdk:path": "Stack/Api/TaskDef/TaskRole/Resource"}},
            "Logs": {"Type": "AWS::Logs::LogGroup"},
            "ExecutionRole": {"Type": "AWS::IAM::Role", "Metadata": {"aws:cdk:path": "Stack/Api/TaskDef/ExecutionRole/Resource"}},
            "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Metadata": {"aws:cdk:path": "Stack/Api/TaskDef/Resource"},
                "Properties": {
                    "Family": session.family,
                    "NetworkMode": "bridge",
                    "TaskRoleArn": {"Fn::GetAtt": ["TaskRole", "Arn"]},
                    // CDK gives an asset's task an execution role to pull it
                    // from ECR; built locally, the run needs none.
                    "ExecutionRoleArn": {"Fn::GetAtt": ["ExecutionRole", "Arn"]},
                    "ContainerDefinitions": [{
                        "Name": "web", "Essential": true, "Memory": 64,
                        "Image": {"Fn::Sub": format!("${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/cdk-hnb659fds-container-assets-${{AWS::AccountId}}-${{AWS::Region}}:{hash}")},
                        "LogConfiguration": {"LogDriver": "awslogs", "Options": {
                            "awslogs-group": {"Ref": "Logs"}, "awslogs-region": {"Ref": "AWS::Region"}, "awslogs-stream-prefix": "web"}}
                    }]
                }}
        }}),
    );
    dir
}

#[test]
fn a_synthesized_never_deployed_cdk_app_builds_its_asset_and_runs_with_no_flag() {
    let session = Session::new("cdk");
    let dir = cloud_assembly(&session);
    let out = ecs_run_local([dir.display().to_string()]).run();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("web | greeting hello-from-cdk"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("the task runs with no role (pass `--stack` or `--task-role-arn`)"),
        "{}",
        out.stderr
    );
    assert!(session.leftovers().is_empty(), "{:?}", session.leftovers());
    // By construct path, as `cdk` names it.
    let plan = ecs_run_local([
        "plan".to_owned(),
        dir.display().to_string(),
        "--resource".into(),
        "Api/TaskDef".into(),
    ])
    .run();
    assert_eq!(plan.code, Some(0), "{plan:?}");
}

/// Deploys `template` to moto's CloudFormation as stack `name`.
fn deploy(moto: &Moto, name: &str, template: &Value) -> String {
    let client = aws_sdk_cloudformation::Client::new(&moto.sdk_config());
    block(
        client
            .create_stack()
            .stack_name(name)
            .template_body(template.to_string())
            .send(),
    )
    .expect("moto creates the stack")
    .stack_id
    .unwrap_or_default()
}

#[test]
fn a_deployed_stack_gives_the_task_its_real_role() {
    let moto = Moto::start();
    let session = Session::new("stack");
    // Asked until it answers; the pause lets the log stream catch up.
    let print = "echo \"SHARED $SHARED\"; [ -z \"$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI\" ] && { echo 'ROLE none'; sleep 1; exit 0; }; \
        for i in $(seq 1 20); do \
        R=$(wget -qO- http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI | \
          sed -n 's/.*\"RoleArn\":\"\\([^\"]*\\)\".*/ROLE \\1/p'); \
        [ -n \"$R\" ] && break; sleep 0.5; done; echo \"${R:-ROLE none}\"; sleep 1";
    let template = json!({
        "Parameters": {"Greeting": {"Type": "String", "Default": "hello"}},
        "Resources": {
            "TaskRole": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole"}]}}},
            "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                "Family": session.family,
                "NetworkMode": "bridge",
                "TaskRoleArn": {"Fn::GetAtt": ["TaskRole", "Arn"]},
                "ContainerDefinitions": [{
                    "Name": "app", "Image": BUSYBOX, "Memory": 64, "Essential": true,
                    "EntryPoint": ["sh", "-c"], "Command": [print],
                    "Environment": [
                        {"Name": "GREETING", "Value": {"Ref": "Greeting"}},
                        {"Name": "SHARED", "Value": {"Fn::ImportValue": format!("{}-shared", session.family)}}
                    ]
                }]
            }}
        }
    });
    let stack = format!("{}-stack", session.family);
    // Another stack exports a value the task imports.
    deploy(
        &moto,
        &format!("{}-shared", session.family),
        &json!({
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"Shared": {"Value": "shared-value", "Export": {"Name": format!("{}-shared", session.family)}}}
        }),
    );
    deploy(&moto, &stack, &template);
    let path = session.path("template.json");
    std::fs::write(&path, template.to_string()).unwrap();
    let path = path.display().to_string();

    // Without the stack: no role, one warning naming the ways out.
    let plain = start_with_env([path.as_str()], &moto.env()).wait();
    assert_eq!(plain.code, Some(0), "{plain:?}");
    assert_eq!(
        plain
            .stderr
            .matches("`<TaskRole.Arn>` is known only once deployed; the task runs with no role (pass `--stack` or `--task-role-arn`)")
            .count(),
        1,
        "{}",
        plain.stderr
    );

    // With it: the role CloudFormation created, assumed and served.
    let out = start_with_env([path.as_str(), "--stack", stack.as_str()], &moto.env()).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    let role = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("app | ROLE "))
        .unwrap_or_else(|| panic!("no role served: {out:?}"))
        .trim()
        .to_owned();
    assert!(
        role.starts_with(&format!("arn:aws:iam::123456789012:role/{stack}-TaskRole")),
        "{role}"
    );
    assert!(
        !out.stderr.contains("known only once deployed"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("app | SHARED shared-value"), "{out:?}");
    assert!(
        plain
            .stdout
            .contains(&format!("app | SHARED <import:{}-shared>", session.family)),
        "{plain:?}"
    );
    assert!(session.leftovers().is_empty(), "{:?}", session.leftovers());

    // A stack that is not there: one line, nothing started.
    let missing = start_with_env([path.as_str(), "--stack", "no-such-stack"], &moto.env()).wait();
    assert_eq!(missing.code, Some(2), "{missing:?}");
    assert_eq!(
        the_error_line(&missing.stderr),
        "ecs-run-local: error: stack `no-such-stack` does not exist in `us-east-1` (`--stack`)"
    );
}

#[test]
fn ssm_typed_parameters_and_dynamic_references_are_read_from_ssm() {
    let moto = Moto::start();
    let session = Session::new("ssm");
    let ssm = aws_sdk_ssm::Client::new(&moto.sdk_config());
    for (name, value) in [
        (format!("/{}/image", session.family), BUSYBOX.to_owned()),
        (
            format!("/{}/greeting", session.family),
            "hello-from-ssm".to_owned(),
        ),
    ] {
        block(
            ssm.put_parameter()
                .name(name)
                .value(value)
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .send(),
        )
        .expect("moto stores the parameter");
    }
    let template = format!(
        "Parameters:\n  Image:\n    Type: AWS::SSM::Parameter::Value<String>\n    Default: /{family}/image\n\
         Resources:\n  TaskDef:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: {family}\n      NetworkMode: bridge\n\
         \x20     ContainerDefinitions:\n        - Name: app\n          Image: !Ref Image\n          Memory: 64\n\
         \x20         EntryPoint: [sh, -c]\n          Command: ['echo \"$GREETING\"']\n\
         \x20         Environment:\n            - Name: GREETING\n              Value: '{{{{resolve:ssm:/{family}/greeting}}}}'\n",
        family = session.family
    );
    let path = session.path("template.yaml");
    std::fs::write(&path, template).unwrap();
    let path = path.display().to_string();
    let out = start_with_env([path.as_str()], &moto.env()).wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("app | hello-from-ssm"), "{out:?}");
    assert!(session.leftovers().is_empty(), "{:?}", session.leftovers());

    // Without AWS, validate still reads it, the values as placeholders.
    let offline = ecs_run_local(["validate", path.as_str()]).run();
    assert_eq!(offline.code, Some(0), "{offline:?}");
    assert!(
        offline.stderr.contains(&format!(
            "Resources.TaskDef.Properties.ContainerDefinitions[0].Image: `<ssm:/{}/image>` is known only once deployed",
            session.family
        )),
        "{}",
        offline.stderr
    );
}
