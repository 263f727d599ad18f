//! `compose`: the plan as a docker-compose file (format 2.4, which both
//! docker-compose 1.29 and Compose v2 read). The agent service carries the
//! task's registration in its environment, so `docker-compose up` serves the
//! same metadata routes a run does, with no ecs-run-local process around.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::plan::{ContainerPlan, Plan, RandomIds};
use crate::protocol::TASK_ENV;
use crate::protocol::{Pulls, TaskRegistration};

/// The service names: the definition's container names, and `ecs-agent` and
/// `pause` for ours.
const AGENT_SERVICE: &str = "ecs-agent";
const PAUSE_SERVICE: &str = "pause";
const NETWORK: &str = "ecs-run-local";

/// The compose file for `plan`, as YAML.
#[must_use]
pub fn file(plan: &Plan, agent_image: &str, agent_port: u16) -> String {
    let registration = TaskRegistration::from_plan(plan, Pulls::default(), &mut RandomIds);
    let registration = serde_json::to_string(&registration).expect("a registration prints");
    // Docker names of the plan's containers -> their compose services.
    let mut services_by_docker: BTreeMap<String, String> = plan
        .containers
        .iter()
        .map(|c| (c.docker_name.clone(), c.name.clone()))
        .collect();
    if let Some(pause) = &plan.pause {
        services_by_docker.insert(pause.docker_name.clone(), PAUSE_SERVICE.into());
    }
    let mut services = Map::new();
    let mut agent = json!({
            "image": agent_image,
            "command": ["agent", "--listen", "0.0.0.0:80", "--loopback", "0.0.0.0:51679"],
            "environment": { TASK_ENV: registration },
            "volumes": ["/var/run/docker.sock:/var/run/docker.sock"],
            "ports": [format!("127.0.0.1:{agent_port}:51679")],
            "networks": { NETWORK: { "ipv4_address": crate::plan::AGENT_IP } },
    });
    escape_dollars(&mut agent);
    services.insert(AGENT_SERVICE.into(), agent);
    if let Some(pause) = &plan.pause {
        let mut service = service(pause, &services_by_docker);
        service.insert("depends_on".into(), json!([AGENT_SERVICE]));
        services.insert(PAUSE_SERVICE.into(), Value::Object(service));
    }
    for c in &plan.containers {
        let mut service = service(c, &services_by_docker);
        // Bridge-mode `FLUENT_HOST`: the router's service name, which
        // compose's DNS resolves to the address a run would give.
        if let (Some(firelens), Some(Value::Object(env))) =
            (&plan.firelens, service.get_mut("environment"))
        {
            for value in env.values_mut() {
                if value == crate::plan::firelens::FLUENT_HOST_PLACEHOLDER {
                    *value = json!(firelens.router);
                }
            }
        }
        service.insert(
            "depends_on".into(),
            Value::Object(depends_on(c, plan.pause.is_some())),
        );
        services.insert(c.name.clone(), Value::Object(service));
    }
    let volumes = volumes(plan);
    let mut document = json!({
        "version": "2.4",
        "services": services,
        "networks": {
            NETWORK: {
                "driver": "bridge",
                "ipam": { "config": [{
                    "subnet": crate::plan::NETWORK_SUBNET,
                    "ip_range": crate::plan::NETWORK_IP_RANGE,
                    "gateway": crate::plan::NETWORK_GATEWAY,
                }] },
            },
        },
    });
    if !volumes.is_empty() {
        document["volumes"] = Value::Object(volumes);
    }
    let mut out = format!(
        "# `{}:{}` for docker-compose, written by ecs-run-local {}.\n\
         # The agent at 169.254.170.2 serves this task's metadata; task role\n\
         # credentials, secrets and S3 environment files are not exported.\n\
         # It uses 169.254.170.0/24: run `ecs-run-local down --all` first.\n",
        plan.task.family,
        plan.task.revision,
        env!("CARGO_PKG_VERSION")
    );
    yaml(&document, 0, &mut out);
    out
}

/// What a container's service waits for: the agent (and the pause
/// container), its `dependsOn` as compose conditions, and what it links to
/// or takes volumes from.
fn depends_on(c: &ContainerPlan, has_pause: bool) -> Map<String, Value> {
    let mut depends = Map::new();
    depends.insert(
        AGENT_SERVICE.into(),
        json!({ "condition": "service_started" }),
    );
    if has_pause {
        depends.insert(
            PAUSE_SERVICE.into(),
            json!({ "condition": "service_started" }),
        );
    }
    for d in &c.depends_on {
        let condition = match d.condition {
            crate::taskdef::model::DependencyCondition::Healthy => "service_healthy",
            crate::taskdef::model::DependencyCondition::Success => "service_completed_successfully",
            // COMPLETE (any exit) has no compose condition: start after it.
            _ => "service_started",
        };
        depends.insert(d.container.clone(), json!({ "condition": condition }));
    }
    for need in &c.implicit_dependencies {
        depends
            .entry(need.clone())
            .or_insert_with(|| json!({ "condition": "service_started" }));
    }
    depends
}

/// The plan's volumes, under their Docker names, without our own labels.
fn volumes(plan: &Plan) -> Map<String, Value> {
    // The socket directory of a router with a numeric `user` is theirs, as
    // in a run (a name needs the image, which `compose` does not read).
    let socket_owner = plan.firelens.as_ref().and_then(|f| {
        let (uid, gid) = crate::plan::firelens::numeric_owner(f.user.as_deref()?)?;
        Some((f.volume.as_str(), uid, gid))
    });
    plan.volumes
        .iter()
        .map(|v| {
            let driver_opts = match socket_owner {
                Some((volume, uid, gid)) if volume == v.docker_name => {
                    crate::plan::firelens::owned_volume_options(uid, gid)
                }
                _ => v.driver_opts.clone(),
            };
            (
                v.docker_name.clone(),
                json!({
                    "name": v.docker_name,
                    "driver": v.driver,
                    "driver_opts": driver_opts,
                    "labels": v
                        .labels
                        .iter()
                        .filter(|(k, _)| !k.starts_with("ecs-run-local."))
                        .collect::<BTreeMap<_, _>>(),
                }),
            )
        })
        .collect()
}

/// A health check in compose's units.
fn health_check(h: &bollard::models::HealthConfig) -> Value {
    let duration = |ns: Option<i64>| {
        ns.filter(|n| *n > 0)
            .map(|n| format!("{}s", n / 1_000_000_000))
    };
    let check: Map<String, Value> = [
        ("test", json!(h.test)),
        ("interval", json!(duration(h.interval))),
        ("timeout", json!(duration(h.timeout))),
        ("retries", json!(h.retries)),
        ("start_period", json!(duration(h.start_period))),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_null())
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Value::Object(check)
}

/// Port bindings as compose's `[IP:][HOST:]CONTAINER/PROTOCOL`, sorted.
fn published(host: &bollard::models::HostConfig) -> Vec<String> {
    let mut ports = Vec::new();
    for (port, bindings) in host.port_bindings.iter().flatten() {
        for b in bindings.iter().flatten() {
            let host_port = b.host_port.clone().unwrap_or_default();
            let ip = b.host_ip.clone().filter(|ip| !ip.is_empty());
            ports.push(match (ip, host_port.is_empty()) {
                (Some(ip), false) => format!("{ip}:{host_port}:{port}"),
                (None, false) => format!("{host_port}:{port}"),
                (Some(ip), true) => format!("{ip}::{port}"),
                (None, true) => port.clone(),
            });
        }
    }
    ports.sort();
    ports
}

/// tmpfs mounts as `PATH[:OPTIONS]`.
fn tmpfs(mounts: std::collections::HashMap<String, String>) -> Vec<String> {
    mounts
        .into_iter()
        .map(|(path, options)| {
            if options.is_empty() {
                path
            } else {
                format!("{path}:{options}")
            }
        })
        .collect()
}

/// Devices as `HOST:CONTAINER:PERMISSIONS`.
fn devices(devices: Vec<bollard::models::DeviceMapping>) -> Vec<String> {
    devices
        .into_iter()
        .map(|d| {
            format!(
                "{}:{}:{}",
                d.path_on_host.unwrap_or_default(),
                d.path_in_container.unwrap_or_default(),
                d.cgroup_permissions.unwrap_or_else(|| "rwm".into())
            )
        })
        .collect()
}

/// Ulimits by name, soft and hard.
fn ulimits(host: &bollard::models::HostConfig) -> Value {
    Value::Object(
        host.ulimits
            .iter()
            .flatten()
            .filter_map(|u| Some((u.name.clone()?, json!({ "soft": u.soft, "hard": u.hard }))))
            .collect(),
    )
}

/// `container:<docker name>` and `{docker name}:ro` point at services.
fn in_services(services: &BTreeMap<String, String>, value: &str) -> String {
    services
        .iter()
        .find_map(|(docker, service)| {
            value
                .strip_prefix(docker.as_str())
                .map(|rest| format!("{service}{rest}"))
        })
        .unwrap_or_else(|| value.to_owned())
}

/// The service's network, links and shared namespaces.
fn networking(
    body: &bollard::models::ContainerCreateBody,
    host: &bollard::models::HostConfig,
    services: &BTreeMap<String, String>,
) -> Vec<(&'static str, Value)> {
    let mut keys = Vec::new();
    match host.network_mode.as_deref() {
        Some(mode) if mode.starts_with("container:") => {
            let service = in_services(services, &mode["container:".len()..]);
            keys.push(("network_mode", json!(format!("service:{service}"))));
        }
        Some(NETWORK) | None => {
            let endpoint = body
                .networking_config
                .as_ref()
                .and_then(|n| n.endpoints_config.as_ref())
                .and_then(|e| e.get(NETWORK));
            let aliases = endpoint.and_then(|e| e.aliases.clone()).unwrap_or_default();
            keys.push(("networks", json!({ NETWORK: { "aliases": aliases } })));
            let links: Vec<String> = endpoint
                .and_then(|e| e.links.clone())
                .unwrap_or_default()
                .iter()
                .map(|l| in_services(services, l))
                .collect();
            keys.push(("links", json!(links)));
        }
        Some(other) => keys.push(("network_mode", json!(other))),
    }
    for (key, mode) in [("pid", &host.pid_mode), ("ipc", &host.ipc_mode)] {
        if let Some(mode) = mode {
            let value = match mode.strip_prefix("container:") {
                Some(docker) => format!("service:{}", in_services(services, docker)),
                None => mode.clone(),
            };
            keys.push((key, json!(value)));
        }
    }
    keys
}

/// One container's service, from its Docker create body.
fn service(c: &ContainerPlan, services: &BTreeMap<String, String>) -> Map<String, Value> {
    let body = &c.create;
    let host = body.host_config.clone().unwrap_or_default();
    let mut s = Map::new();
    let mut put = |key: &str, value: Value| {
        if !(value.is_null()
            || value.as_array().is_some_and(Vec::is_empty)
            || value.as_object().is_some_and(Map::is_empty))
        {
            s.insert(key.into(), value);
        }
    };
    put("image", json!(c.image));
    put("container_name", json!(c.docker_name));
    if let Some(platform) = &c.platform {
        put("platform", json!(platform));
    }
    put("entrypoint", json!(body.entrypoint));
    put("command", json!(body.cmd));
    put("working_dir", json!(body.working_dir));
    put("user", json!(body.user));
    put("hostname", json!(body.hostname));
    put("tty", json!(body.tty));
    put("stdin_open", json!(body.open_stdin));
    let environment: BTreeMap<&str, &str> = body
        .env
        .iter()
        .flatten()
        .filter_map(|kv| kv.split_once('='))
        .collect();
    put("environment", json!(environment));
    // The ECS labels only: compose, not ecs-run-local's `ps`, `down` and
    // teardown, manages these containers.
    let labels: BTreeMap<&String, &String> = body
        .labels
        .iter()
        .flatten()
        .filter(|(k, _)| !k.starts_with("ecs-run-local."))
        .collect();
    put("labels", json!(labels));
    if let Some(h) = &body.healthcheck {
        put("healthcheck", health_check(h));
    }
    for (key, value) in networking(body, &host, services) {
        put(key, value);
    }
    let by_service = |value: &str| in_services(services, value);
    let ports = published(&host);
    put("ports", json!(ports));
    put("volumes", json!(host.binds));
    let volumes_from: Vec<String> = host
        .volumes_from
        .iter()
        .flatten()
        .map(|v| by_service(v))
        .collect();
    put("volumes_from", json!(volumes_from));
    put("tmpfs", json!(host.tmpfs.clone().map(tmpfs)));
    put("cap_add", json!(host.cap_add));
    put("cap_drop", json!(host.cap_drop));
    put("privileged", json!(host.privileged.filter(|p| *p)));
    put("read_only", json!(host.readonly_rootfs.filter(|r| *r)));
    put("init", json!(host.init.filter(|i| *i)));
    put("mem_limit", json!(host.memory.filter(|m| *m > 0)));
    put(
        "mem_reservation",
        json!(host.memory_reservation.filter(|m| *m > 0)),
    );
    put("cpu_shares", json!(host.cpu_shares.filter(|c| *c > 0)));
    put("shm_size", json!(host.shm_size));
    put("dns", json!(host.dns));
    put("dns_search", json!(host.dns_search));
    put("extra_hosts", json!(host.extra_hosts));
    put("security_opt", json!(host.security_opt));
    put("sysctls", json!(host.sysctls));
    put("devices", json!(host.devices.clone().map(devices)));
    put("ulimits", ulimits(&host));
    if let Some(log) = &host.log_config {
        let mut logging = Map::new();
        logging.insert("driver".into(), json!(log.typ));
        if let Some(options) = log.config.as_ref().filter(|o| !o.is_empty()) {
            logging.insert("options".into(), json!(options));
        }
        put("logging", Value::Object(logging));
    }
    put("stop_signal", json!(body.stop_signal));
    put(
        "stop_grace_period",
        json!(format!("{}s", c.stop_timeout_secs)),
    );
    // `$` is compose's interpolation: double it so values stay as they are.
    for value in s.values_mut() {
        escape_dollars(value);
    }
    s
}

fn escape_dollars(value: &mut Value) {
    match value {
        Value::String(text) if text.contains('$') => *text = text.replace('$', "$$"),
        Value::Array(items) => items.iter_mut().for_each(escape_dollars),
        Value::Object(map) => map.values_mut().for_each(escape_dollars),
        _ => {}
    }
}

/// Writes `value` as block YAML; strings are JSON-quoted, which YAML reads
/// as the same double-quoted scalars.
fn yaml(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                out.push_str(&pad);
                out.push_str(&scalar(&Value::String(key.clone())));
                out.push(':');
                write_child(v, indent, out);
            }
        }
        Value::Array(items) => {
            for v in items {
                out.push_str(&pad);
                out.push('-');
                write_child(v, indent, out);
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn write_child(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            yaml(v, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            yaml(v, indent + 2, out);
        }
        Value::Object(_) => out.push_str(" {}\n"),
        Value::Array(_) => out.push_str(" []\n"),
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) if is_plain(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Keys and words that read the same unquoted in YAML.
fn is_plain(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'))
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_quotes_what_would_read_differently() {
        let mut out = String::new();
        yaml(
            &json!({ "a": ["x", "yes", "1", "a: b", []], "b": { "c": 1, "d": null }, "e": {} }),
            0,
            &mut out,
        );
        assert_eq!(
            out,
            "a:\n  - x\n  - \"yes\"\n  - \"1\"\n  - \"a: b\"\n  - []\nb:\n  c: 1\n  d: null\ne: {}\n"
        );
    }
}
