//! Networking: per-container settings that depend on the network mode (links,
//! hostname, DNS, extra hosts), port mappings and port collisions across the task.

use std::collections::{BTreeMap, BTreeSet};

use super::Validator;
use crate::taskdef::model::{ContainerDefinition, NetworkMode, PortMapping};

impl Validator<'_> {
    pub(super) fn network_fields(&mut self, at: &str, c: &ContainerDefinition) {
        let mode = self.mode;
        if !c.links.is_empty() && mode != NetworkMode::Bridge {
            self.error(
                format!("{at}.links"),
                format!("links work only in bridge network mode, not `{mode}`"),
            );
        }
        if mode == NetworkMode::Bridge {
            for (j, link) in c.links.iter().enumerate() {
                let target = link.split(':').next().unwrap_or_default();
                if self.container_index(target).is_none() {
                    self.error(
                        format!("{at}.links[{j}]"),
                        format!("`{target}` is not a container of this task"),
                    );
                } else if target == c.name() {
                    self.error(
                        format!("{at}.links[{j}]"),
                        "a container cannot link to itself",
                    );
                }
            }
        }
        if mode == NetworkMode::Awsvpc {
            let unsupported = [
                ("hostname", c.hostname.is_some()),
                ("dnsServers", !c.dns_servers.is_empty()),
                ("dnsSearchDomains", !c.dns_search_domains.is_empty()),
                ("extraHosts", !c.extra_hosts.is_empty()),
            ];
            for (field, set) in unsupported {
                if set {
                    self.error(
                        format!("{at}.{field}"),
                        "is not supported in awsvpc network mode: the container shares the task's network namespace",
                    );
                }
            }
        }
        if mode == NetworkMode::Host && c.hostname.is_some() {
            self.error(
                format!("{at}.hostname"),
                "is not supported in host network mode",
            );
        }
        for (j, host) in c.extra_hosts.iter().enumerate() {
            if host.hostname.as_deref().is_none_or(str::is_empty) {
                self.error(format!("{at}.extraHosts[{j}].hostname"), "is required");
            }
            match host.ip_address.as_deref() {
                None => self.error(format!("{at}.extraHosts[{j}].ipAddress"), "is required"),
                Some(ip) if ip.parse::<std::net::IpAddr>().is_err() => self.error(
                    format!("{at}.extraHosts[{j}].ipAddress"),
                    format!("`{ip}` is not an IP address"),
                ),
                Some(_) => {}
            }
        }
    }

    pub(super) fn port(&mut self, at: &str, p: &PortMapping) {
        match (p.container_port, p.container_port_range.as_deref()) {
            (None, None) => self.error(
                format!("{at}.containerPort"),
                "is required (or `containerPortRange`)",
            ),
            (Some(_), Some(_)) => {
                self.error(at, "give `containerPort` or `containerPortRange`, not both");
            }
            (Some(port), None) => {
                if !(1..=65535).contains(&port) {
                    self.error(
                        format!("{at}.containerPort"),
                        format!("{port} is not a port number (1-65535)"),
                    );
                }
            }
            (None, Some(range)) => {
                if let Err(reason) = parse_port_range(range) {
                    self.error(format!("{at}.containerPortRange"), reason);
                }
                if p.host_port.is_some() {
                    self.error(
                        format!("{at}.hostPort"),
                        "cannot be set with `containerPortRange`",
                    );
                }
            }
        }
        if let Some(host) = p.host_port {
            if !(0..=65535).contains(&host) {
                self.error(
                    format!("{at}.hostPort"),
                    format!("{host} is not a port number (0-65535)"),
                );
            } else if matches!(self.mode, NetworkMode::Awsvpc | NetworkMode::Host)
                && host != 0
                && p.container_port.is_some_and(|c| c != host)
            {
                self.error(
                    format!("{at}.hostPort"),
                    format!(
                        "{host} differs from containerPort {}; in {} mode the host port must equal the container port",
                        p.container_port.unwrap_or_default(),
                        self.mode
                    ),
                );
            }
        }
        if p.app_protocol.is_some() && p.name.is_none() {
            self.warning(
                format!("{at}.appProtocol"),
                "ECS uses `appProtocol` only on a named port mapping",
            );
        }
        if self.mode == NetworkMode::None {
            self.warning(at, "no port is published in `none` network mode");
        }
    }

    /// Ports that collide across the task: the same host port twice, or (in
    /// awsvpc and host mode, where containers share one network namespace) the
    /// same container port twice; port names must be unique.
    pub(super) fn task_ports(&mut self) {
        let shared_namespace = matches!(self.mode, NetworkMode::Awsvpc | NetworkMode::Host);
        let mut host_ports = BTreeMap::new();
        let mut names = BTreeSet::new();
        for (i, c) in self.def.container_definitions.iter().enumerate() {
            for (j, p) in c.port_mappings.iter().enumerate() {
                let at = format!("containerDefinitions[{i}].portMappings[{j}]");
                let host = if shared_namespace {
                    p.container_port
                } else {
                    p.host_port.filter(|h| *h != 0)
                };
                if let Some(host) = host {
                    let protocol = p.protocol.unwrap_or_default();
                    if let Some(first) = host_ports.insert((host, protocol), at.clone()) {
                        self.error(
                            at.clone(),
                            format!(
                                "port {host}/{} is already taken by {first}",
                                protocol.as_str()
                            ),
                        );
                    }
                }
                if let Some(name) = &p.name {
                    if !names.insert(name.clone()) {
                        self.error(
                            format!("{at}.name"),
                            format!("port name `{name}` is used twice in the task"),
                        );
                    }
                }
            }
        }
    }
}

/// `"8000-8010"` as an inclusive range of valid ports.
pub fn parse_port_range(range: &str) -> Result<(u16, u16), String> {
    let bad = || format!("`{range}` is not a port range such as `8000-8010`");
    let (low, high) = range.split_once('-').ok_or_else(bad)?;
    let low: u16 = low.trim().parse().map_err(|_| bad())?;
    let high: u16 = high.trim().parse().map_err(|_| bad())?;
    if low == 0 || low >= high {
        return Err(bad());
    }
    Ok((low, high))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{errors, task};
    use crate::taskdef::load::load_str;

    #[test]
    fn links_only_in_bridge_mode_and_to_known_containers() {
        let containers = r#"{"name":"a","image":"i","memory":64,"links":["b:db","nope"]},{"name":"b","image":"i","memory":64}"#;
        assert_eq!(
            errors(&task("", containers)),
            ["Error containerDefinitions[0].links[1]: `nope` is not a container of this task"]
        );
        assert_eq!(
            errors(&task(r#""networkMode":"awsvpc","#, containers)),
            [
                "Error containerDefinitions[0].links: links work only in bridge network mode, not `awsvpc`"
            ]
        );
    }

    #[test]
    fn host_port_must_equal_container_port_in_awsvpc_and_host() {
        let c = r#"{"name":"a","image":"i","memory":64,"portMappings":[{"containerPort":80,"hostPort":8080}]}"#;
        assert!(errors(&task("", c)).is_empty());
        for mode in ["awsvpc", "host"] {
            assert_eq!(
                errors(&task(&format!(r#""networkMode":"{mode}","#), c)),
                [format!(
                    "Error containerDefinitions[0].portMappings[0].hostPort: 8080 differs from containerPort 80; in {mode} mode the host port must equal the container port"
                )]
            );
        }
    }

    #[test]
    fn bad_ports_ranges_and_collisions() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,"portMappings":[
                {"containerPort":0},{"containerPort":70000,"hostPort":-1},{},
                {"containerPortRange":"9000-8000"},{"containerPort":1,"containerPortRange":"1-2"},
                {"containerPort":80,"hostPort":8080},{"containerPort":81,"hostPort":8080}]}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[0].portMappings[0].containerPort: 0 is not a port number (1-65535)",
                "Error containerDefinitions[0].portMappings[1].containerPort: 70000 is not a port number (1-65535)",
                "Error containerDefinitions[0].portMappings[1].hostPort: -1 is not a port number (0-65535)",
                "Error containerDefinitions[0].portMappings[2].containerPort: is required (or `containerPortRange`)",
                "Error containerDefinitions[0].portMappings[3].containerPortRange: `9000-8000` is not a port range such as `8000-8010`",
                "Error containerDefinitions[0].portMappings[4]: give `containerPort` or `containerPortRange`, not both",
                "Error containerDefinitions[0].portMappings[6]: port 8080/tcp is already taken by containerDefinitions[0].portMappings[5]",
            ]
        );
        let protocol = load_str(
            &task("", r#"{"name":"a","image":"i","portMappings":[{"containerPort":1,"protocol":"sctp"}]}"#),
            "t.json",
            "t",
        )
        .unwrap_err();
        assert!(
            protocol.problems()[0]
                .message
                .contains("unknown variant `sctp`, expected `tcp` or `udp`")
        );
    }

    #[test]
    fn awsvpc_containers_share_one_port_space() {
        let e = errors(&task(
            r#""networkMode":"awsvpc","#,
            r#"{"name":"a","image":"i","memory":64,"portMappings":[{"containerPort":80}]},
               {"name":"b","image":"i","memory":64,"portMappings":[{"containerPort":80}]}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[1].portMappings[0]: port 80/tcp is already taken by containerDefinitions[0].portMappings[0]"
            ]
        );
    }

    #[test]
    fn awsvpc_rejects_per_container_network_settings() {
        let e = errors(&task(
            r#""networkMode":"awsvpc","#,
            r#"{"name":"a","image":"i","memory":64,"hostname":"h","dnsServers":["1.1.1.1"],
                "extraHosts":[{"hostname":"x","ipAddress":"10.0.0.1"}]}"#,
        ));
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(
            e[0].starts_with("Error containerDefinitions[0].hostname: is not supported in awsvpc")
        );
    }
}
