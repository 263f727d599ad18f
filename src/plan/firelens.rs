//! `FireLens`, wired as the ECS agent wires it: the task's log router (the
//! container with `firelensConfiguration`) listens on a Unix socket in a
//! task-scoped directory mounted at `/var/run`; each container whose
//! `logDriver` is `awsfirelens` logs through Docker's `fluentd` driver to
//! that socket with the tag `<container>-firelens-<task id>`; the router gets
//! a generated Fluent Bit (or Fluentd) configuration where the agent mounts
//! it, with an output per container from its log options, the ECS metadata
//! filter unless `enable-ecs-log-metadata` is `false`, and the user's own
//! `config-file-type: file` included (or `s3`, which the runner fetches
//! with the execution role into the router). The router starts before the
//! containers that log to it.
//!
//! As the agent does, the configuration also has a TCP `forward` input on
//! port 24224 (all addresses in bridge mode, 127.0.0.1 in awsvpc) for the
//! Fluent logger libraries, which find it through `FLUENT_HOST` and
//! `FLUENT_PORT` in each container that logs through the router: 127.0.0.1 in
//! awsvpc, the router's own address in bridge mode, known only once it runs
//! (the runner creates those containers then, see
//! [`FLUENT_HOST_PLACEHOLDER`]). A Fluentd router gets `FLUENT_UID=0`; the
//! socket directory belongs to the router's `user`. `secretOptions` become
//! variables of the router (`<option>_<container index>`, resolved as
//! container secrets are) that the configuration names.
//!
//! The socket directory is a Docker volume: the engine's daemon, which runs
//! the fluentd driver, reaches it at the volume's mount point on its own
//! host (inside the VM on Docker Desktop), which the runner fills in for
//! [`SOCKET_DIR_PLACEHOLDER`] once the volume exists.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use bollard::models::HostConfigLogConfig;
use serde::Serialize;

use super::{Ids, Plan, Scope, SecretEnv, VolumePlan, labels};
use crate::taskdef::model::{ContainerDefinition, FirelensType, NetworkMode, TaskDefinition};

/// Where the router finds the socket directory, and the socket's name.
pub const SOCKET_DIR_IN_ROUTER: &str = "/var/run";
pub const SOCKET_NAME: &str = "fluent.sock";
/// Stands for the socket directory on the engine's host in the planned log
/// options, until the runner knows the volume's mount point.
pub const SOCKET_DIR_PLACEHOLDER: &str = "{firelens-socket-dir}";
/// Stands for the router's address in the `FLUENT_HOST` of bridge-mode
/// containers, until the router runs and has one.
pub const FLUENT_HOST_PLACEHOLDER: &str = "{firelens-router-address}";
/// The TCP `forward` input's port, as the agent sets it.
pub const FORWARD_PORT: u16 = 24224;
/// Where a configuration read from S3 goes in the router, as the agent puts it.
const S3_CONFIG_FLUENT_BIT: &str = "/fluent-bit/etc/external.conf";
const S3_CONFIG_FLUENTD: &str = "/fluentd/etc/external.conf";

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
    /// The router's image, where a `user` name is looked up.
    pub image: String,
    /// The router's `user`, who owns the socket directory.
    pub user: Option<String>,
    /// The containers that log through the router, in definition order.
    pub routed: Vec<String>,
    /// `config-file-type: s3`: the object's ARN, and where the runner puts
    /// it in the router (the generated configuration includes it there).
    pub s3_config: Option<S3Config>,
}

/// A router configuration file in S3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Config {
    pub arn: String,
    pub path: String,
    /// The file, once the run has read it with the execution role (never
    /// shown by `plan`).
    #[serde(skip)]
    pub contents: Option<String>,
}

/// Wires the task's log routing into the plan, when it has a router.
#[expect(
    clippy::too_many_lines,
    reason = "the router, then each container that logs to it, as the agent wires them"
)]
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
    let secret_options = secret_options(def, &routed, fluentd);
    let inputs = Inputs {
        forward_bind: match plan.task.network_mode {
            NetworkMode::Bridge => Some("0.0.0.0"),
            NetworkMode::Awsvpc => Some("127.0.0.1"),
            NetworkMode::Host | NetworkMode::None => None,
        },
        mem_buf_limit: mem_buf_limit(router_def),
    };
    let config = if fluentd {
        fluentd_config(plan, router_def, &routed, &inputs, &secret_options)
    } else {
        fluent_bit_config(plan, router_def, &routed, &inputs, &secret_options)
    };
    let config_path = if fluentd {
        "/fluentd/etc/fluent.conf"
    } else {
        "/fluent-bit/etc/fluent-bit.conf"
    };
    let task_id = plan.task.task_id.clone();
    let fluent_host = match plan.task.network_mode {
        NetworkMode::Awsvpc => Some("127.0.0.1"),
        NetworkMode::Bridge => Some(FLUENT_HOST_PLACEHOLDER),
        NetworkMode::Host | NetworkMode::None => None,
    };
    let mut volume_labels = BTreeMap::new();
    for c in &mut plan.containers {
        if c.name == router {
            let host = c.create.host_config.get_or_insert_with(Default::default);
            // `nocopy`: the directory starts empty, as the agent's bind
            // mount of its own directory does, whatever the image has there.
            host.binds
                .get_or_insert_with(Vec::new)
                .push(format!("{volume}:{SOCKET_DIR_IN_ROUTER}:nocopy"));
            if fluentd {
                // As the agent: Fluentd runs as root to read the socket
                // Docker creates.
                set_env(&mut c.create, "FLUENT_UID", "0");
            }
            c.secrets.extend(secret_options.iter().map(|o| SecretEnv {
                name: o.variable.clone(),
                value_from: o.value_from.clone(),
            }));
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
        if let Some(address) = fluent_host {
            set_env(&mut c.create, "FLUENT_HOST", address);
            set_env(&mut c.create, "FLUENT_PORT", &FORWARD_PORT.to_string());
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
    let options = router_def
        .firelens_configuration
        .as_ref()
        .map(|f| &f.options);
    let s3_config = options
        .filter(|o| o.get("config-file-type").map(String::as_str) == Some("s3"))
        .and_then(|o| o.get("config-file-value"))
        .map(|arn| S3Config {
            arn: arn.clone(),
            contents: None,
            path: if fluentd {
                S3_CONFIG_FLUENTD
            } else {
                S3_CONFIG_FLUENT_BIT
            }
            .into(),
        });
    plan.firelens = Some(FirelensPlan {
        router,
        volume,
        config_path: config_path.into(),
        config,
        image: router_def.image.clone().unwrap_or_default(),
        user: router_def.user.clone().filter(|u| !u.is_empty()),
        routed: routed.iter().map(|c| c.name().to_owned()).collect(),
        s3_config,
    });
}

/// The socket volume's options for an owner: a `tmpfs` whose root belongs
/// to it, with the agent's directory mode (0755), so that a router running
/// as that user can create its socket there.
#[must_use]
pub fn owned_volume_options(uid: u32, gid: u32) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("type".to_owned(), "tmpfs".to_owned()),
        ("device".to_owned(), "tmpfs".to_owned()),
        ("o".to_owned(), format!("uid={uid},gid={gid},mode=0755")),
    ])
}

/// A router `user` that is all numbers (`uid` or `uid:gid`) as ids, the
/// group root's when it has none, as the agent sets the directory's group.
#[must_use]
pub fn numeric_owner(user: &str) -> Option<(u32, u32)> {
    match user.split_once(':') {
        None => Some((user.parse().ok()?, 0)),
        Some((uid, gid)) => Some((uid.parse().ok()?, gid.parse().ok()?)),
    }
}

/// Sets `key` in a create body's environment, over what the definition says
/// (the agent merges its own variables over the container's).
fn set_env(create: &mut bollard::models::ContainerCreateBody, key: &str, value: &str) {
    let env = create.env.get_or_insert_with(Vec::new);
    env.retain(|kv| kv.split_once('=').map_or(kv.as_str(), |(k, _)| k) != key);
    env.push(format!("{key}={value}"));
}

/// What the configuration's inputs depend on.
struct Inputs {
    /// Where the TCP `forward` input listens (bridge and awsvpc only).
    forward_bind: Option<&'static str>,
    /// Fluent Bit's `Mem_Buf_Limit` on the socket input.
    mem_buf_limit: String,
}

/// The agent's rule: half the router's `memoryReservation` (else `memory`)
/// in MiB, else 25 MB.
fn mem_buf_limit(router: &ContainerDefinition) -> String {
    let memory = router
        .memory_reservation
        .filter(|m| *m > 0)
        .or(router.memory)
        .unwrap_or(0);
    let half = memory / 2;
    format!("{}MB", if half > 0 { half } else { 25 })
}

/// A `secretOptions` entry of a routed container: its output option, the
/// router's variable that holds the value, and where the value comes from.
struct SecretOption {
    container: String,
    option: String,
    variable: String,
    value_from: String,
    /// How the configuration names the variable.
    reference: String,
}

/// The agent's naming: `<option>_<index of the container in the task>`,
/// referenced as `${VAR}` (Fluent Bit) or `"#{ENV['VAR']}"` (Fluentd).
fn secret_options(
    def: &TaskDefinition,
    routed: &[&ContainerDefinition],
    fluentd: bool,
) -> Vec<SecretOption> {
    let mut out = Vec::new();
    for (index, c) in def.container_definitions.iter().enumerate() {
        if !routed.iter().any(|r| r.name() == c.name()) {
            continue;
        }
        let secrets = c.log_configuration.iter().flat_map(|l| &l.secret_options);
        for secret in secrets {
            let (Some(name), Some(value_from)) = (&secret.name, &secret.value_from) else {
                continue;
            };
            let variable = format!("{name}_{index}");
            let reference = if fluentd {
                format!("\"#{{ENV['{variable}']}}\"")
            } else {
                format!("${{{variable}}}")
            };
            out.push(SecretOption {
                container: c.name().to_owned(),
                option: name.clone(),
                variable,
                value_from: value_from.clone(),
                reference,
            });
        }
    }
    out
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
    // Go's `strconv.ParseBool`, as the agent reads it; anything else is ignored.
    let metadata = !matches!(
        options.get("enable-ecs-log-metadata").map(String::as_str),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False")
    );
    let fluentd =
        router.firelens_configuration.as_ref().and_then(|f| f.kind) == Some(FirelensType::Fluentd);
    let include = match options.get("config-file-type").map(String::as_str) {
        Some("file") => options.get("config-file-value").cloned(),
        Some("s3") if fluentd => Some(S3_CONFIG_FLUENTD.into()),
        Some("s3") => Some(S3_CONFIG_FLUENT_BIT.into()),
        _ => None,
    };
    (metadata, include)
}

/// The tag of the agent's Fluent Bit health check input, whose records go nowhere.
const HEALTHCHECK_TAG: &str = "firelens-healthcheck";

/// Output options that are the driver's, not the output's.
const NOT_OUTPUT_OPTIONS: [&str; 3] = [
    "log-driver-buffer-limit",
    "include-pattern",
    "exclude-pattern",
];

/// A container's output: the plugin its `kind_key` option names (`null`
/// when it has other options but no plugin) and its other options, less
/// the driver's own, with its `secretOptions` as references to the router's
/// variables. None without either: as the agent, no output section, the
/// user's own configuration may route the container's logs.
fn output(
    c: &ContainerDefinition,
    kind_key: &str,
    secrets: &[SecretOption],
) -> Option<(String, Vec<(String, String)>)> {
    let mut options = c
        .log_configuration
        .as_ref()
        .map(|l| l.options.clone())
        .unwrap_or_default();
    for s in secrets.iter().filter(|s| s.container == c.name()) {
        options.insert(s.option.clone(), s.reference.clone());
    }
    let kind = options.get(kind_key).cloned();
    let rest: Vec<(String, String)> = options
        .into_iter()
        .filter(|(k, _)| k != kind_key && !NOT_OUTPUT_OPTIONS.contains(&k.as_str()))
        .collect();
    if kind.is_none() && rest.is_empty() {
        return None;
    }
    Some((kind.unwrap_or_else(|| "null".into()), rest))
}

fn fluent_bit_config(
    plan: &Plan,
    router: &ContainerDefinition,
    routed: &[&ContainerDefinition],
    inputs: &Inputs,
    secrets: &[SecretOption],
) -> String {
    let (metadata, include) = router_options(router);
    let task = &plan.task;
    let mut out = format!(
        "[INPUT]\n    Name forward\n    unix_path {SOCKET_DIR_IN_ROUTER}/{SOCKET_NAME}\n    Mem_Buf_Limit {}\n\n",
        inputs.mem_buf_limit
    );
    if let Some(bind) = inputs.forward_bind {
        let _ = write!(
            out,
            "[INPUT]\n    Name forward\n    Listen {bind}\n    Port {FORWARD_PORT}\n\n\
             [INPUT]\n    Name tcp\n    Tag {HEALTHCHECK_TAG}\n    Listen 127.0.0.1\n    Port 8877\n\n"
        );
    }
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
    if inputs.forward_bind.is_some() {
        let _ = write!(
            out,
            "[OUTPUT]\n    Name null\n    Match {HEALTHCHECK_TAG}\n\n"
        );
    }
    for c in routed {
        let Some((name, options)) = output(c, "Name", secrets) else {
            continue;
        };
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
    inputs: &Inputs,
    secrets: &[SecretOption],
) -> String {
    let (metadata, include) = router_options(router);
    let task = &plan.task;
    let mut out = format!(
        "<source>\n  @type unix\n  path {SOCKET_DIR_IN_ROUTER}/{SOCKET_NAME}\n</source>\n\n"
    );
    if let Some(bind) = inputs.forward_bind {
        let _ = write!(
            out,
            "<source>\n  @type forward\n  bind {bind}\n  port {FORWARD_PORT}\n</source>\n\n"
        );
    }
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
        let Some((kind, options)) = output(c, "@type", secrets) else {
            continue;
        };
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
            binds.contains(&format!("{}:/var/run:nocopy", firelens.volume)),
            "{binds:?}"
        );
        let volume = p
            .volumes
            .iter()
            .find(|v| v.docker_name == firelens.volume)
            .unwrap();
        assert_eq!(volume.scope, Scope::Task);
        assert_eq!(volume.labels[labels::RUN_ID], p.run_id);
        // awsvpc: the forward input and the app's address are the task's loopback.
        let env = app.create.env.clone().unwrap();
        assert!(env.contains(&"FLUENT_HOST=127.0.0.1".to_owned()), "{env:?}");
        assert!(env.contains(&"FLUENT_PORT=24224".to_owned()), "{env:?}");
        assert!(
            firelens
                .config
                .contains("Name forward\n    Listen 127.0.0.1\n    Port 24224\n")
        );
        assert_eq!(firelens.routed, ["app"]);
        insta::assert_snapshot!("firelens-fluent-bit-config", firelens.config);
    }

    #[test]
    fn a_numeric_router_user_owns_a_tmpfs_socket_directory() {
        assert_eq!(numeric_owner("1000"), Some((1000, 0)));
        assert_eq!(numeric_owner("1000:1001"), Some((1000, 1001)));
        assert_eq!(numeric_owner("fluent"), None);
        assert_eq!(numeric_owner("1000:fluent"), None);
        assert_eq!(
            owned_volume_options(1000, 0)["o"],
            "uid=1000,gid=0,mode=0755"
        );
    }

    #[test]
    fn containers_without_log_options_get_no_output_and_metadata_follows_go_booleans() {
        let def = crate::taskdef::load_str(
            r#"{"family":"web","networkMode":"host","containerDefinitions":[
              {"name":"log_router","image":"fluent-bit","essential":true,
               "firelensConfiguration":{"type":"fluentbit","options":{"enable-ecs-log-metadata":"FALSE"}}},
              {"name":"app","image":"app","essential":true,
               "logConfiguration":{"logDriver":"awsfirelens"}}]}"#,
            "t.json",
            "t",
        )
        .unwrap()
        .definition;
        let p = plan(&def, &PlanOptions::default(), &mut SequentialIds::default()).unwrap();
        let config = p.firelens.unwrap().config;
        assert!(!config.contains("[OUTPUT]"), "{config}");
        assert!(!config.contains("record_modifier"), "{config}");
        // Host mode: no TCP input, and no FLUENT_HOST (as the agent).
        assert!(!config.contains("Port 24224"), "{config}");
        let app = p.containers.iter().find(|c| c.name == "app").unwrap();
        let env = app.create.env.clone().unwrap_or_default();
        assert!(
            !env.iter().any(|kv| kv.starts_with("FLUENT_HOST=")),
            "{env:?}"
        );
    }

    #[test]
    fn fluentd_routers_in_bridge_mode_listen_everywhere_run_as_root_and_get_secret_options() {
        let def = crate::taskdef::load_str(
            r#"{"family":"web","networkMode":"bridge","containerDefinitions":[
              {"name":"app","image":"app","essential":true,
               "logConfiguration":{"logDriver":"awsfirelens","options":{"@type":"http"},
                 "secretOptions":[{"name":"token","valueFrom":"arn:aws:ssm:eu-west-1:123456789012:parameter/t"}]}},
              {"name":"log_router","image":"fluentd","essential":true,"user":"1000:1000",
               "memoryReservation":100,
               "environment":[{"name":"FLUENT_UID","value":"1000"}],
               "firelensConfiguration":{"type":"fluentd","options":{
                 "config-file-type":"s3","config-file-value":"arn:aws:s3:::b/extra.conf"}}}]}"#,
            "t.json",
            "t",
        )
        .unwrap()
        .definition;
        let p = plan(&def, &PlanOptions::default(), &mut SequentialIds::default()).unwrap();
        let firelens = p.firelens.clone().unwrap();
        assert_eq!(firelens.user.as_deref(), Some("1000:1000"));
        assert_eq!(
            firelens.s3_config,
            Some(S3Config {
                arn: "arn:aws:s3:::b/extra.conf".into(),
                path: "/fluentd/etc/external.conf".into(),
                contents: None,
            })
        );
        let config = &firelens.config;
        assert!(
            config.contains("<source>\n  @type forward\n  bind 0.0.0.0\n  port 24224\n</source>"),
            "{config}"
        );
        assert!(
            config.contains("@include /fluentd/etc/external.conf"),
            "{config}"
        );
        // The secret option (the app is container 0) is a variable of the router.
        assert!(
            config.contains("  token \"#{ENV['token_0']}\"\n"),
            "{config}"
        );
        let router = p
            .containers
            .iter()
            .find(|c| c.name == "log_router")
            .unwrap();
        let env = router.create.env.clone().unwrap();
        assert!(env.contains(&"FLUENT_UID=0".to_owned()), "{env:?}");
        assert!(!env.contains(&"FLUENT_UID=1000".to_owned()), "{env:?}");
        assert_eq!(
            router.secrets,
            [SecretEnv {
                name: "token_0".into(),
                value_from: "arn:aws:ssm:eu-west-1:123456789012:parameter/t".into()
            }]
        );
        let app = p.containers.iter().find(|c| c.name == "app").unwrap();
        let env = app.create.env.clone().unwrap();
        assert!(
            env.contains(&format!("FLUENT_HOST={FLUENT_HOST_PLACEHOLDER}")),
            "{env:?}"
        );
        assert_eq!(mem_buf_limit(&def.container_definitions[1]), "50MB");
        assert_eq!(mem_buf_limit(&def.container_definitions[0]), "25MB");
    }
}
