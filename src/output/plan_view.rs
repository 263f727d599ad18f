//! `ecs-run-local plan`: a readable summary, or the whole plan as JSON.
//! Secret values never appear: secrets are listed by their `valueFrom` only,
//! and the host-mode authorization token is masked.

use std::fmt::Write as _;

use crate::plan::{AGENT_IP, ContainerPlan, NETWORK_SUBNET, Plan};

/// Variables whose values are shown as `********`.
const MASKED_ENV: &[&str] = &["AWS_CONTAINER_AUTHORIZATION_TOKEN"];
const MASK: &str = "********";
/// Variables the ECS agent injects, summarised rather than listed.
const INJECTED_ENV: &[&str] = &[
    "ECS_CONTAINER_METADATA_URI",
    "ECS_CONTAINER_METADATA_URI_V4",
    "ECS_AGENT_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_EXECUTION_ENV",
];

/// The full plan as pretty JSON, masked.
#[must_use]
pub fn json(plan: &Plan) -> String {
    let mut plan = plan.clone();
    for c in plan.pause.iter_mut().chain(plan.containers.iter_mut()) {
        mask_env(c);
    }
    format!(
        "{}\n",
        serde_json::to_string_pretty(&plan).unwrap_or_default()
    )
}

fn mask_env(c: &mut ContainerPlan) {
    for entry in c.create.env.iter_mut().flatten() {
        if let Some((key, _)) = entry.split_once('=') {
            if MASKED_ENV.contains(&key) {
                *entry = format!("{key}={MASK}");
            }
        }
    }
}

/// A summary for people: the task, the network, volumes, then each container
/// in start order with what a reader checks first.
#[must_use]
pub fn summary(plan: &Plan) -> String {
    let t = &plan.task;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "task        {}:{}  {} launch type, {} network mode",
        t.family, t.revision, t.launch_type, t.network_mode
    );
    let _ = writeln!(out, "            {}", t.task_arn);
    if let Some(role) = &t.task_role_arn {
        let _ = writeln!(out, "task role   {role}");
    }
    let _ = writeln!(
        out,
        "network     {} {NETWORK_SUBNET}, agent at {AGENT_IP}",
        plan.network.name
    );
    for (i, v) in plan.volumes.iter().enumerate() {
        let label = if i == 0 { "volumes" } else { "" };
        let stand_in = v
            .stands_in_for
            .as_ref()
            .map(|s| format!(" (stands in for {s})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{label:<12}{} -> {} [{:?}, {}]{stand_in}",
            v.name, v.docker_name, v.scope, v.driver
        );
    }
    if let Some(pause) = &plan.pause {
        let _ = writeln!(out, "pause       {} ({})", pause.docker_name, pause.image);
        let ports = published_ports(pause);
        if !ports.is_empty() {
            let _ = writeln!(out, "            ports {ports}");
        }
    }
    let _ = writeln!(out, "containers  in start order");
    for (n, name) in plan.start_order.iter().enumerate() {
        let Some(c) = plan.containers.iter().find(|c| &c.name == name) else {
            continue;
        };
        container(&mut out, n + 1, c);
    }
    out
}

/// `8080->80/tcp, ephemeral->53/udp`: host port, then container port.
fn published_ports(c: &ContainerPlan) -> String {
    let Some(bindings) = c
        .create
        .host_config
        .as_ref()
        .and_then(|h| h.port_bindings.as_ref())
    else {
        return String::new();
    };
    let mut ports: Vec<String> = bindings
        .iter()
        .flat_map(|(port, b)| {
            b.iter().flatten().map(move |b| {
                let host_port = b
                    .host_port
                    .as_deref()
                    .filter(|p| !p.is_empty())
                    .unwrap_or("ephemeral");
                format!("{host_port}->{port}")
            })
        })
        .collect();
    ports.sort();
    ports.join(", ")
}

fn container(out: &mut String, n: usize, c: &ContainerPlan) {
    let essential = if c.essential {
        "essential"
    } else {
        "not essential"
    };
    let _ = writeln!(out, "  {n}. {}  {}  {essential}", c.name, c.image);
    let _ = writeln!(out, "       docker name  {}", c.docker_name);
    let create = &c.create;
    let host = create.host_config.as_ref();
    let row = |out: &mut String, label: &str, value: String| {
        if !value.is_empty() {
            let _ = writeln!(out, "       {label:<12} {value}");
        }
    };
    let words = |v: Option<&Vec<String>>| v.map(|v| v.join(" ")).unwrap_or_default();
    row(out, "entrypoint", words(create.entrypoint.as_ref()));
    row(out, "command", words(create.cmd.as_ref()));
    let env = create.env.clone().unwrap_or_default();
    let own: Vec<&String> = env
        .iter()
        .filter(|e| {
            let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
            !INJECTED_ENV.contains(&key)
                && !key.starts_with("AWS_REGION")
                && key != "AWS_DEFAULT_REGION"
        })
        .collect();
    row(
        out,
        "environment",
        own.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "),
    );
    row(
        out,
        "secrets",
        c.secrets
            .iter()
            .map(|s| format!("{} from {}", s.name, s.value_from))
            .collect::<Vec<_>>()
            .join(", "),
    );
    row(out, "env files", c.environment_files.join(", "));
    row(out, "ports", published_ports(c));
    row(out, "mounts", words(host.and_then(|h| h.binds.as_ref())));
    row(
        out,
        "volumes from",
        words(host.and_then(|h| h.volumes_from.as_ref())),
    );
    row(
        out,
        "depends on",
        c.depends_on
            .iter()
            .map(|d| format!("{} {}", d.container, d.condition))
            .collect::<Vec<_>>()
            .join(", "),
    );
    if let Some(h) = &create.healthcheck {
        let secs = |ns: Option<i64>| ns.unwrap_or_default() / 1_000_000_000;
        row(
            out,
            "health",
            format!(
                "{} (every {}s, timeout {}s, {} retries, start period {}s)",
                words(h.test.as_ref()),
                secs(h.interval),
                secs(h.timeout),
                h.retries.unwrap_or_default(),
                secs(h.start_period)
            ),
        );
    }
    let mib = |b: Option<i64>| b.map(|b| format!("{} MiB", b / (1024 * 1024)));
    let limits: Vec<String> = [
        host.and_then(|h| h.cpu_shares)
            .map(|s| format!("cpu shares {s}")),
        mib(host.and_then(|h| h.memory)).map(|m| format!("memory {m}")),
        mib(host.and_then(|h| h.memory_reservation)).map(|m| format!("reservation {m}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    row(out, "limits", limits.join(", "));
    if let Some(log) = &c.log_configuration {
        row(
            out,
            "log driver",
            format!("{} (streamed to the terminal locally)", log.log_driver),
        );
    }
    row(out, "stop timeout", format!("{}s", c.stop_timeout_secs));
}
