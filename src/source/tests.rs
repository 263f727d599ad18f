//! Each source read from the fixtures in `tests/fixtures/sources`.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::*;
use crate::taskdef::model::TaskSize;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sources")
        .join(name)
}

fn options(resource: Option<&str>) -> Options {
    Options {
        resource: resource.map(str::to_owned),
        context: Context::default(),
    }
}

fn read(name: &str, options: &Options) -> Result<Sourced, SourceError> {
    load(&fixture(name), options)
}

fn placeholders(loaded: &Loaded) -> Vec<(String, String)> {
    loaded
        .placeholders
        .iter()
        .map(|p| (p.path.clone(), p.text.clone()))
        .collect()
}

#[test]
fn a_yaml_template_with_parameters_conditions_and_short_forms() {
    let started = std::time::Instant::now();
    let sourced = read("web-yaml.template.yaml", &options(None)).unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(sourced.kind, Kind::CloudFormation);
    let loaded = &sourced.loaded;
    let d = &loaded.definition;
    assert_eq!(d.family.as_deref(), Some("web-dev"));
    assert_eq!(d.cpu, Some(TaskSize::Text("256".into())));
    let web = &d.container_definitions[0];
    assert_eq!(
        web.image.as_deref(),
        Some("public.ecr.aws/nginx/nginx:1.27")
    );
    let env: Vec<(String, String)> = web
        .environment
        .iter()
        .map(|e| {
            (
                e.name.clone().unwrap_or_default(),
                e.value.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        env,
        [
            ("STAGE", "dev"),
            ("REGION", "us-east-1"),
            ("ZONE", "us-east-1b"),
            ("FIRST_SUBNET", "subnet-a"),
            ("DEBUG", "1"),
            ("JOINED", "dev:aGk=:${Literal}"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    // The sidecar comes from a `!If` branch; the ARM64 platform does not.
    assert_eq!(d.container_definitions[1].name(), "sidecar");
    assert!(
        d.runtime_platform
            .as_ref()
            .is_some_and(|p| p.cpu_architecture.is_none())
    );
    let document = Value::Object(loaded.document.clone());
    assert_eq!(
        document["containerDefinitions"][0]["logConfiguration"]["options"],
        json!({"awslogs-group": "<Logs>", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"})
    );
    assert_eq!(
        document["volumes"][0]["dockerVolumeConfiguration"]["driverOpts"],
        json!({"type": "tmpfs", "device": "tmpfs"})
    );
    assert_eq!(
        document["containerDefinitions"][0]["dockerLabels"],
        json!({"com.example.Team": "web"})
    );
    assert_eq!(document["tags"], json!([{"key": "team", "value": "web"}]));
    assert_eq!(document["ephemeralStorage"], json!({"sizeInGiB": 30}));
    assert_eq!(
        placeholders(loaded),
        [
            ("taskRoleArn".to_owned(), "<TaskRole.Arn>".to_owned()),
            (
                "containerDefinitions[0].logConfiguration.options.awslogs-group".to_owned(),
                "<Logs>".to_owned()
            ),
        ]
    );
    // Paths name the template.
    assert_eq!(
        loaded.locate("containerDefinitions[0].image"),
        "Resources.TaskDef.Properties.ContainerDefinitions[0].Image"
    );
    assert_eq!(
        loaded.locate("containerDefinitions[1].command"),
        "Resources.TaskDef.Properties.ContainerDefinitions[1].Fn::If[1].Command"
    );
    assert_eq!(
        loaded.locate("containerDefinitions[0].environment[4].value"),
        "Resources.TaskDef.Properties.ContainerDefinitions[0].Environment[4].Value.Fn::If[1]"
    );
    let unknown: Vec<&str> = loaded.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        unknown,
        ["Resources.TaskDef.Properties.ContainerDefinitions[0].Somethingelse"]
    );
}

#[test]
fn parameters_switch_conditions() {
    let mut o = options(None);
    o.context
        .parameters
        .insert("Environment".into(), "prod".into());
    o.context.region = Some("eu-west-1".into());
    let loaded = read("web-yaml.template.yaml", &o).unwrap().loaded;
    let d = &loaded.definition;
    assert_eq!(d.family.as_deref(), Some("web-prod"));
    assert_eq!(d.cpu, Some(TaskSize::Text("1024".into())));
    let env = &d.container_definitions[0].environment;
    assert_eq!(env[1].value.as_deref(), Some("eu-west-1"));
    // DEBUG has lost its value (`AWS::NoValue` removes the key), PROD is in.
    assert_eq!(env[4].name.as_deref(), Some("DEBUG"));
    assert_eq!(env[4].value, None);
    assert_eq!(env[5].name.as_deref(), Some("PROD"));
    assert_eq!(
        loaded.locate("containerDefinitions[0].environment[5].name"),
        "Resources.TaskDef.Properties.ContainerDefinitions[0].Environment[5].Fn::If[1].Name"
    );
}

#[test]
fn several_task_definitions_need_a_resource() {
    let err = read("two-task-definitions.template.json", &options(None)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` holds 3 task definitions; pick one with `--resource`: `Api`, `Worker`, `Broken`",
            fixture("two-task-definitions.template.json").display()
        )
    );
    let err = read("two-task-definitions.template.json", &options(Some("Nope"))).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("has no task definition `Nope`; it has `Api`, `Worker`, `Broken`"),
        "{err}"
    );
    let api = read("two-task-definitions.template.json", &options(Some("Api"))).unwrap();
    assert_eq!(api.loaded.definition.family.as_deref(), Some("api"));
}

#[test]
fn type_errors_name_the_template_path() {
    let err = read(
        "two-task-definitions.template.json",
        &options(Some("Broken")),
    )
    .unwrap_err();
    let paths: Vec<&str> = err.problems().iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        ["Resources.Broken.Properties.ContainerDefinitions[0].Cpu"]
    );
}

#[test]
fn a_cloud_assembly_with_an_image_asset() {
    let sourced = read("cdk.out", &options(Some("Api/TaskDef"))).unwrap();
    assert_eq!(sourced.kind, Kind::CloudAssembly);
    let asset = &sourced.assets[0];
    assert_eq!(asset.container, "web");
    assert!(asset.directory.ends_with(
        "cdk.out/asset.5b2c3a9f0e7d41c8b6a2f1e0d9c8b7a6f5e4d3c2b1a09f8e7d6c5b4a39281706"
    ));
    assert_eq!(
        asset.build_args,
        [("GREETING".to_owned(), "hello-from-cdk".to_owned())]
    );
    assert_eq!(asset.target.as_deref(), Some("app"));
    let loaded = &sourced.loaded;
    assert_eq!(
        placeholders(loaded),
        [
            (
                "containerDefinitions[0].logConfiguration.options.awslogs-group".to_owned(),
                "<ApiTaskDefwebLogGroup9A8B7C6D>".to_owned()
            ),
            (
                "executionRoleArn".to_owned(),
                "<ApiTaskDefExecutionRoleAABBCCDD.Arn>".to_owned()
            ),
            (
                "taskRoleArn".to_owned(),
                "<ApiTaskDefTaskRole1A2B3C4D.Arn>".to_owned()
            ),
        ]
    );
    // The only task definition is picked without --resource too.
    assert!(read("cdk.out", &options(None)).is_ok());
    assert!(read("cdk.out", &options(Some("App/Api/TaskDef/Resource"))).is_ok());
    assert!(read("cdk.out", &options(Some("ApiTaskDef5E6F7A8B"))).is_ok());
    let err = read("cdk.out", &options(Some("Api/Other"))).unwrap_err();
    assert!(
        err.to_string().contains(
            "no task definition `Api/Other`; it has `ApiTaskDef5E6F7A8B` (`App/Api/TaskDef`)"
        ),
        "{err}"
    );
}

#[test]
fn a_terraform_plan_with_a_module_and_an_unknown_value() {
    let sourced = read(
        "terraform-plan.json",
        &options(Some("module.api.aws_ecs_task_definition.this")),
    )
    .unwrap();
    assert_eq!(sourced.kind, Kind::Terraform);
    let loaded = &sourced.loaded;
    let d = &loaded.definition;
    assert_eq!(d.family.as_deref(), Some("api"));
    assert_eq!(d.container_definitions[0].name(), "api");
    let document = Value::Object(loaded.document.clone());
    assert_eq!(
        document["volumes"],
        json!([{"name": "data", "configuredAtLaunch": false, "dockerVolumeConfiguration": {
            "scope": "task", "autoprovision": false, "driver": "local",
            "driverOpts": {"type": "tmpfs", "device": "tmpfs"}}}])
    );
    assert_eq!(document["tags"], json!([{"key": "team", "value": "api"}]));
    assert_eq!(document["ephemeralStorage"], json!({"sizeInGiB": 25}));
    assert_eq!(
        document["runtimePlatform"],
        json!({"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"})
    );
    assert_eq!(
        placeholders(loaded),
        [(
            "taskRoleArn".to_owned(),
            "<module.api.aws_ecs_task_definition.this.task_role_arn: known after apply>".to_owned()
        )]
    );
    assert_eq!(
        loaded.locate("containerDefinitions[0].image"),
        "module.api.aws_ecs_task_definition.this.container_definitions[0].image"
    );
    assert_eq!(
        loaded.locate("runtimePlatform.cpuArchitecture"),
        "module.api.aws_ecs_task_definition.this.runtime_platform[0].cpu_architecture"
    );

    let worker = read(
        "terraform-plan.json",
        &options(Some("aws_ecs_task_definition.worker")),
    )
    .unwrap()
    .loaded;
    let document = Value::Object(worker.document.clone());
    assert_eq!(
        document["proxyConfiguration"],
        json!({"containerName": "worker", "type": "APPMESH", "properties": [
            {"name": "AppPorts", "value": "8080"}, {"name": "IgnoredUID", "value": "1337"}]})
    );
    let err = read("terraform-plan.json", &options(None)).unwrap_err();
    assert!(
        err.to_string().ends_with("holds 2 task definitions; pick one with `--resource`: `aws_ecs_task_definition.worker`, `module.api.aws_ecs_task_definition.this`"),
        "{err}"
    );
}

#[test]
fn a_terraform_state() {
    let loaded = read("terraform-state.json", &options(None)).unwrap().loaded;
    assert_eq!(
        loaded.definition.task_role_arn.as_deref(),
        Some("arn:aws:iam::111122223333:role/api-task")
    );
    assert!(loaded.placeholders.is_empty());
}

#[test]
fn terraform_of_another_major_format_is_refused() {
    let text = r#"{"format_version":"2.0","values":{"root_module":{}}}"#;
    let err = load_text(text, "plan.json", "plan", &options(None)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`plan.json` is Terraform JSON of format version `2.0`; this reads format version 1.x"
    );
}

#[test]
fn plain_json_still_loads_and_refuses_resource() {
    let text = r#"{"family":"f","containerDefinitions":[{"name":"a","image":"i"}]}"#;
    let sourced = load_text(text, "t.json", "t", &options(None)).unwrap();
    assert_eq!(sourced.kind, Kind::Json);
    let err = load_text(text, "t.json", "t", &options(Some("X"))).unwrap_err();
    assert!(err.to_string().starts_with("`--resource X` picks"), "{err}");
    let err = load_text("{\"family\": ", "t.json", "t", &options(None)).unwrap_err();
    assert!(err.to_string().contains("is not valid JSON"), "{err}");
}

#[test]
fn bad_templates_are_one_line_each() {
    let cases = [
        (
            "Resources:\n  R:\n    Type: AWS::IAM::Role\n",
            "`t.yaml` has no `AWS::ECS::TaskDefinition` resource",
        ),
        (
            "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: !Sub '${T}'\n",
            "`t.yaml`: Resources.T.Properties.Family.Fn::Sub: circular reference: `T` and `T` refer to each other",
        ),
        (
            "Parameters:\n  P: {Type: String}\nResources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: !Ref P\n",
            "`t.yaml`: Resources.T.Properties.Family.Ref: parameter `P` has no value and no default; give one with `--parameter P=VALUE`",
        ),
        (
            "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: !Join [a]\n",
            "`t.yaml`: Resources.T.Properties.Family.Fn::Join: `Fn::Join` takes 2 arguments, got 1",
        ),
        (
            "Conditions:\n  No: !Equals [a, b]\nResources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Condition: No\n",
            "`t.yaml`: Resources.T.Condition: `T` is not created: condition `No` is false with these parameters",
        ),
        (
            "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: !Bogus a\n",
            "`t.yaml` uses the tag `!Bogus`, which is not a CloudFormation intrinsic function",
        ),
    ];
    for (text, message) in cases {
        let err = load_text(text, "t.yaml", "t", &options(None)).unwrap_err();
        assert_eq!(err.to_string(), message);
    }
}

#[test]
fn run_needs_images_secrets_and_the_roles_they_need() {
    let worker = read(
        "two-task-definitions.template.json",
        &options(Some("Worker")),
    )
    .unwrap()
    .loaded;
    assert_eq!(
        placeholders(&worker),
        [
            (
                "containerDefinitions[0].secrets[0].valueFrom".to_owned(),
                "<Token>".to_owned()
            ),
            ("executionRoleArn".to_owned(), "<ExecRole.Arn>".to_owned()),
        ]
    );
    assert!(run_needs("executionRoleArn", &worker.definition));
    let mut d = crate::taskdef::TaskDefinition::default();
    assert!(run_needs("containerDefinitions[0].image", &d));
    assert!(run_needs(
        "containerDefinitions[0].secrets[0].valueFrom",
        &d
    ));
    assert!(run_needs(
        "containerDefinitions[1].environmentFiles[0].value",
        &d
    ));
    assert!(!run_needs(
        "containerDefinitions[0].logConfiguration.options.awslogs-group",
        &d
    ));
    assert!(!run_needs("executionRoleArn", &d));
    assert!(!run_needs("taskRoleArn", &d));
    let c: crate::taskdef::model::ContainerDefinition =
        serde_json::from_value(json!({"name": "a", "secrets": [{"name": "S", "valueFrom": "x"}]}))
            .unwrap();
    d.container_definitions.push(c);
    assert!(run_needs("executionRoleArn", &d));
    let private: crate::taskdef::model::ContainerDefinition = serde_json::from_value(
        json!({"name": "p", "image": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/app:1"}),
    )
    .unwrap();
    let d = crate::taskdef::TaskDefinition {
        container_definitions: vec![private],
        ..Default::default()
    };
    assert!(run_needs("executionRoleArn", &d));
}

/// How long the biggest template here takes, mapped a thousand times over
/// containers (a template of 200 containers).
#[test]
fn a_large_template_loads_quickly() {
    let container = json!({"Name": "c", "Image": {"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/repo:1"},
        "Environment": (0..20).map(|i| json!({"Name": format!("K{i}"), "Value": {"Fn::Join": ["-", ["a", {"Ref": "AWS::Region"}]]}})).collect::<Vec<_>>(),
        "LogConfiguration": {"LogDriver": "awslogs", "Options": {"awslogs-group": {"Ref": "Logs"}}}});
    let containers: Vec<Value> = (0..200)
        .map(|i| {
            let mut c = container.clone();
            c["Name"] = json!(format!("c{i}"));
            c
        })
        .collect();
    let template = json!({"Resources": {
        "Logs": {"Type": "AWS::Logs::LogGroup"},
        "T": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"Family": "big", "ContainerDefinitions": containers}}}});
    let text = serde_json::to_string(&template).unwrap();
    let started = std::time::Instant::now();
    let sourced = load_text(&text, "big.json", "big", &options(None)).unwrap();
    let elapsed = started.elapsed();
    eprintln!("{} bytes, 200 containers: {elapsed:?}", text.len());
    assert_eq!(sourced.loaded.definition.container_definitions.len(), 200);
    assert!(elapsed < std::time::Duration::from_secs(2), "{elapsed:?}");
}

#[test]
fn a_stage_s_nested_assembly_and_its_environment() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let nested = root.join("assembly-Prod");
    std::fs::create_dir_all(&nested).unwrap();
    let write = |path: PathBuf, value: Value| {
        std::fs::write(path, serde_json::to_vec(&value).unwrap()).unwrap();
    };
    write(
        root.join("manifest.json"),
        json!({"version": "36.0.0", "artifacts": {
            "assembly-Prod": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "assembly-Prod", "displayName": "Prod"}}
        }}),
    );
    write(
        nested.join("manifest.json"),
        json!({"version": "36.0.0", "artifacts": {
            "ProdApi": {"type": "aws:cloudformation:stack", "environment": "aws://111122223333/eu-west-1",
                "displayName": "Prod/Api", "additionalMetadataFile": "ProdApi.metadata.json",
                "properties": {"templateFile": "ProdApi.template.json"}}
        }}),
    );
    write(
        nested.join("ProdApi.template.json"),
        json!({"Resources": {"TaskDef54694570": {"Type": "AWS::ECS::TaskDefinition",
            "Properties": {"ContainerDefinitions": [{"Name": "a", "Image": "busybox", "Memory": 64,
                "Environment": [{"Name": "WHERE", "Value": {"Fn::Sub": "${AWS::AccountId}/${AWS::Region}"}}]}]}}}}),
    );
    // As `app.synth()` writes it: no `aws:cdk:path` in the template, the
    // construct paths in the stack's metadata file.
    write(
        nested.join("ProdApi.metadata.json"),
        json!({"/Prod/Api/TaskDef/Resource": [{"type": "aws:cdk:logicalId", "data": "TaskDef54694570"}]}),
    );
    for wanted in ["Prod/Api/TaskDef", "TaskDef", "TaskDef54694570"] {
        assert!(load(root, &options(Some(wanted))).is_ok(), "{wanted}");
    }
    let sourced = load(root, &options(Some("Api/TaskDef"))).unwrap();
    let c = &sourced.loaded.definition.container_definitions[0];
    assert_eq!(
        c.environment[0].value.as_deref(),
        Some("111122223333/eu-west-1")
    );
    assert!(
        sourced
            .loaded
            .source_name
            .ends_with("assembly-Prod/ProdApi.template.json")
    );
    // A directory that is no assembly.
    let err = load(&nested.join("nothing"), &options(None));
    assert!(err.is_err());
    let empty = tempfile::tempdir().unwrap();
    let err = load(empty.path(), &options(None)).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("a directory, but not a CDK cloud assembly (it has no `manifest.json`)"),
        "{err}"
    );
}
