//! `FireLens`, wired as the ECS agent wires it: the task's log router (the
//! container with `firelensConfiguration`) listens on a Unix socket in a
//! task-scoped directory mounted at `/var/run`; each container whose
//! `logDriver` is `awsfirelens` logs through Docker's `fluentd` driver to
//! that socket with the tag `<container>-firelens-<task id>`; the router gets
//! a generated Fluent Bit (or Fluentd) configuration where the agent mounts
//! it, with an output per container from its log options, the ECS metadata
//! filter unless `enable-ecs-log-metadata` is `false`, and the user's own
//! `config-file-type: file` included. The router starts before the
//! containers that log to it.
//!
//! The socket directory is a Docker volume: the engine's daemon, which runs
//! the fluentd driver, reaches it at the volume's mount point on its own
//! host (inside the VM on Docker Desktop), which the runner fills in for
//! [`SOCKET_DIR_PLACEHOLDER`] once the volume exists.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use bollard::models::HostConfigLogConfig;
use serde::Serialize;

use super::{Ids, Plan, Scope, VolumePlan, labels};
use crate::taskdef::model::{ContainerDefinition, FirelensType, TaskDefinition};

/// Where the router finds the socket directory, and the socket's name.
pub const SOCKET_DIR_IN_ROUTER: &str = "/var/run";
pub const SOCKET_NAME: &str = "fluent.sock";
/// Stands for the socket directory on the engine's host in the planned log
/// options, until the runner knows the volume's mount point.
pub const SOCKET_DIR_PLACEHOLDER: &str = "{firelens-socket-dir}";

/// The task's log routing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FirelensPlan {
    /// The router container's name in the definition.
    pub router: String,
    /// The socket directory's Docker volume (one of the plan's volumes).
    pub volume: String,
    /// Where the generated configuration goes in the router.
    pub config_path: String,
    pub config: String,
}

/// Wires the task's log routing into the plan, when it has a router.
pub(super) fn apply(plan: &mut Plan, def: &TaskDefinition, ids: &mut dyn Ids) {
    let Some(router_def) = def
        .container_definitions
        .iter()
        .find(|c| c.firelens_configuration.is_some())
    else {
        return;
    };
    let router = router_def.name().to_owned();
    let fluentd = router_def
        .firelens_configuration
        .as_ref()
        .and_then(|f| f.kind)
        == Some(FirelensType::Fluentd);
    let task = &plan.task;
    let volume = format!(
        "ecs-{}-{}-firelens-{}",
        task.family,
        task.revision,
        ids.hex(20)
    );
    let routed: Vec<&ContainerDefinition> = def
        .container_definitions
        .iter()
        .filter(|c| uses_firelens(c))
        .collect();
    let config = if fluentd {
        fluentd_config(plan, router_def, &routed)
    } else {
        fluent_bit_config(plan, router_def, &routed)
    };
    let config_path = if fluentd {
        "/fluentd/etc/fluent.conf"
    } else {
        "/fluent-bit/etc/fluent-bit.conf"
    };
    let task_id = plan.task.task_id.clone();
    let mut volume_labels = BTreeMap::new();
    for c in &mut plan.containers {
        if c.name == router {
            let host = c.create.host_config.get_or_insert_with(Default::default);
            host.binds
                .get_or_insert_with(Vec::new)
                .push(format!("{volume}:{SOCKET_DIR_IN_ROUTER}"));
            volume_labels = c
                .create
                .labels
                .iter()
                .flatten()
                .filter(|(k, _)| k.as_str() != labels::CONTAINER_NAME)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            volume_labels.insert(labels::ROLE.into(), "volume".into());
            continue;
        }
        let Some(definition) = routed.iter().find(|d| d.name() == c.name) else {
            continue;
        };
        let options = definition.log_configuration.as_ref().map(|l| &l.options);
        let mut config = std::collections::HashMap::from([
            (
                "fluentd-address".to_owned(),
                format!("unix://{SOCKET_DIR_PLACEHOLDER}/{SOCKET_NAME}"),
            ),
            ("tag".to_owned(), format!("{}-firelens-{task_id}", c.name)),
            // The router may not listen yet when the container starts.
            ("fluentd-async".to_owned(), "true".to_owned()),
            ("fluentd-sub-second-precision".to_owned(), "true".to_owned()),
        ]);
        if let Some(limit) = options.and_then(|o| o.get("log-driver-buffer-limit")) {
            config.insert("fluentd-buffer-limit".into(), limit.clone());
        }
        let host = c.create.host_config.get_or_insert_with(Default::default);
        host.log_config = Some(HostConfigLogConfig {
            typ: Some("fluentd".into()),
            config: Some(config),
        });
        if !c.implicit_dependencies.contains(&router) {
            c.implicit_dependencies.push(router.clone());
        }
    }
    plan.volumes.push(VolumePlan {
        name: "firelens-socket".into(),
        docker_name: volume.clone(),
        scope: Scope::Task,
        driver: "local".into(),
        driver_opts: BTreeMap::new(),
        labels: volume_labels,
        autoprovision: false,
        stands_in_for: None,
    });
    plan.firelens = Some(FirelensPlan {
        router,
        volume,
        config_path: config_path.into(),
        config,
    });
}

fn uses_firelens(c: &ContainerDefinition) -> bool {
    c.log_configuration
        .as_ref()
        .and_then(|l| l.log_driver.as_deref())
        == Some("awsfirelens")
}

/// The router's own options: whether to add the ECS metadata (default yes),
/// and the user's configuration file to include.
fn router_options(router: &ContainerDefinition) -> (bool, Option<String>) {
    let options = router
        .firelens_configuration
        .as_ref()
        .map(|f| f.options.clone())
        .unwrap_or_default();
    let metadata = options.get("enable-ecs-log-metadata").map(String::as_str) != Some("false");
    let include = (options.get("config-file-type").map(String::as_str) == Some("file"))
        .then(|| options.get("config-file-value").cloned())
        .flatten();
    (metadata, include)
}

/// Output options that are the driver's, not the output's.
const NOT_OUTPUT_OPTIONS: [&str; 3] = [
    "log-driver-buffer-limit",
    "include-pattern",
    "exclude-pattern",
];

/// A container's output: the plugin its `kind_key` option names (`null`
/// without one) and its other options, less the driver's own.
fn output(c: &ContainerDefinition, kind_key: &str) -> (String, Vec<(String, String)>) {
    let options = c
        .log_configuration
        .as_ref()
        .map(|l| l.options.clone())
        .unwrap_or_default();
    let kind = options
        .get(kind_key)
        .cloned()
        .unwrap_or_else(|| "null".into());
    let rest = options
        .into_iter()
        .filter(|(k, _)| k != kind_key && !NOT_OUTPUT_OPTIONS.contains(&k.as_str()))
        .collect();
    (kind, rest)
}

fn fluent_bit_config(
    plan: &Plan,
    router: &ContainerDefinition,
    routed: &[&ContainerDefinition],
) -> String {
    let (metadata, include) = router_options(router);
    let task = &plan.task;
    let mut out = format!(
        "[INPUT]\n    Name forward\n    unix_path {SOCKET_DIR_IN_ROUTER}/{SOCKET_NAME}\n\n"
    );
    for c in routed {
        let options = c
            .log_configuration
            .as_ref()
            .map(|l| l.options.clone())
            .unwrap_or_default();
        for (option, kind) in [("include-pattern", "Regex"), ("exclude-pattern", "Exclude")] {
            if let Some(pattern) = options.get(option) {
                let _ = write!(
                    out,
                    "[FILTER]\n    Name grep\n    Match {}-firelens*\n    {kind} log {pattern}\n\n",
                    c.name()
                );
            }
        }
    }
    if metadata {
        let _ = write!(
            out,
            "[FILTER]\n    Name record_modifier\n    Match *\n    Record ecs_cluster {}\n    Record ecs_task_arn {}\n    Record ecs_task_definition {}:{}\n\n",
            task.cluster, task.task_arn, task.family, task.revision
        );
    }
    if let Some(file) = include {
        let _ = write!(out, "@INCLUDE {file}\n\n");
    }
    for c in routed {
        let (name, options) = output(c, "Name");
        let _ = write!(
            out,
            "[OUTPUT]\n    Name {name}\n    Match {}-firelens*\n",
            c.name()
        );
        for (key, value) in options {
            let _ = writeln!(out, "    {key} {value}");
        }
        out.push('\n');
    }
    out
}

fn fluentd_config(
    plan: &Plan,
    router: &ContainerDefinition,
    routed: &[&ContainerDefinition],
) -> String {
    let (metadata, include) = router_options(router);
    let task = &plan.task;
    let mut out = format!(
        "<source>\n  @type unix\n  path {SOCKET_DIR_IN_ROUTER}/{SOCKET_NAME}\n</source>\n\n"
    );
    if metadata {
        let _ = write!(
            out,
            "<filter **>\n  @type record_transformer\n  <record>\n    ecs_cluster {}\n    ecs_task_arn {}\n    ecs_task_definition {}:{}\n  </record>\n</filter>\n\n",
            task.cluster, task.task_arn, task.family, task.revision
        );
    }
    if let Some(file) = include {
        let _ = write!(out, "@include {file}\n\n");
    }
    for c in routed {
        let (kind, options) = output(c, "@type");
        let _ = write!(out, "<match {}-firelens**>\n  @type {kind}\n", c.name());
        for (key, value) in options {
            let _ = writeln!(out, "  {key} {value}");
        }
        out.push_str("</match>\n\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PlanOptions, SequentialIds, plan};

    #[test]
    fn containers_log_through_the_routers_socket_and_the_router_gets_its_configuration() {
        let def = crate::taskdef::load_str(
            r#"{"family":"web","networkMode":"awsvpc","containerDefinitions":[
              {"name":"log_router","image":"fluent-bit","essential":true,
               "firelensConfiguration":{"type":"fluentbit","options":{
                 "config-file-type":"file","config-file-value":"/extra.conf"}}},
              {"name":"app","image":"app","essential":true,
               "logConfiguration":{"logDriver":"awsfirelens","options":{
                 "Name":"cloudwatch","region":"eu-west-1","log_group_name":"/web",
                 "log-driver-buffer-limit":"2097152","exclude-pattern":"^DEBUG"}}}]}"#,
            "t.json",
            "t",
        )
        .unwrap()
        .definition;
        let p = plan(&def, &PlanOptions::default(), &mut SequentialIds::default()).unwrap();
        let firelens = p.firelens.clone().unwrap();
        assert_eq!(firelens.router, "log_router");
        assert_eq!(firelens.config_path, "/fluent-bit/etc/fluent-bit.conf");
        let app = p.containers.iter().find(|c| c.name == "app").unwrap();
        let log = app
            .create
            .host_config
            .as_ref()
            .unwrap()
            .log_config
            .clone()
            .unwrap();
        assert_eq!(log.typ.as_deref(), Some("fluentd"));
        let options = log.config.unwrap();
        assert_eq!(options["tag"], format!("app-firelens-{}", p.task.task_id));
        assert_eq!(
            options["fluentd-address"],
            "unix://{firelens-socket-dir}/fluent.sock"
        );
        assert_eq!(options["fluentd-buffer-limit"], "2097152");
        assert!(app.implicit_dependencies.contains(&"log_router".to_owned()));
        let router = p
            .containers
            .iter()
            .find(|c| c.name == "log_router")
            .unwrap();
        let binds = router
            .create
            .host_config
            .as_ref()
            .unwrap()
            .binds
            .clone()
            .unwrap();
        assert!(
            binds.contains(&format!("{}:/var/run", firelens.volume)),
            "{binds:?}"
        );
        let volume = p
            .volumes
            .iter()
            .find(|v| v.docker_name == firelens.volume)
            .unwrap();
        assert_eq!(volume.scope, Scope::Task);
        assert_eq!(volume.labels[labels::RUN_ID], p.run_id);
        insta::assert_snapshot!("firelens-fluent-bit-config", firelens.config);
    }
}
