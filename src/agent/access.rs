//! Who may ask what (docs/ARCHITECTURE.md, "The agent and its protocol"):
//! the loopback port is the host's. Introspection and the admin API list or
//! change every task, so no task container may reach them, nor anything
//! else on that port, whichever address it dials.
//!
//! The host's requests come through the port Docker publishes on
//! 127.0.0.1, so they arrive from the network's gateway (169.254.170.1,
//! Docker's proxy) or, where the engine forwards differently, from another
//! address that is no container's. Host-mode tasks share the host's network
//! and arrive the same way; they use the loopback URIs with their task's
//! authorization token.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts as _, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use crate::agent::state::{Registry, TaskEntry};
use crate::agent::{Agent, json};
use crate::plan::{NETWORK_GATEWAY, NETWORK_IP_RANGE, NETWORK_SUBNET};

/// Whether `ip` lies in `cidr` (`a.b.c.d/n`).
fn in_range(ip: Ipv4Addr, cidr: &str) -> bool {
    let Some((network, bits)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(network), Ok(bits)) = (network.parse::<Ipv4Addr>(), bits.parse::<u32>()) else {
        return false;
    };
    let mask = u32::MAX.checked_shl(32 - bits.min(32)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(network) & mask
}

/// Whether a request from `ip` comes from a task container: an address of
/// the range the engine hands task containers, or one the agent knows as a
/// registered container's.
#[must_use]
pub fn from_task_container(registry: &Registry, ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    if let IpAddr::V4(v4) = ip {
        if in_range(v4, NETWORK_IP_RANGE) {
            return true;
        }
    }
    registry.is_container_address(&ip.to_string())
}

/// Where the agent learns which link-layer address sent a packet from an IP
/// address: the kernel's neighbour table in the agent's own network
/// namespace, which holds the address its answers go to.
pub type Neighbours = fn(&str) -> Option<String>;

/// The kernel's neighbour (ARP) table: the link-layer address of `ip`.
#[must_use]
pub fn kernel_neighbour(ip: &str) -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/arp").ok()?;
    neighbour_in(&table, ip)
}

/// The complete entry for `ip` in a `/proc/net/arp` table.
fn neighbour_in(table: &str, ip: &str) -> Option<String> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // IP address, HW type, Flags, HW address, Mask, Device; flags 0x0
        // is an entry still being resolved.
        match fields.as_slice() {
            [address, _, flags, mac, ..] if *address == ip && *flags != "0x0" => {
                Some(mac.to_ascii_lowercase())
            }
            _ => None,
        }
    })
}

/// Why a request identified by its source address gets no task's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unbound {
    /// No running container of a registered task holds the address.
    Unknown,
    /// The address is a task's, but the packets came from another link
    /// than the one the engine gave that task's container: another
    /// container took the address.
    Borrowed {
        recorded: String,
        seen: Option<String>,
    },
    /// A container that may rewrite its link runs: no address can be
    /// trusted while it does.
    LinkRewriter { family: String, container: String },
}

/// The task of a request identified by its source address (v2, and the
/// credentials aliases): the address must be a running task container's,
/// the packets must come from the link-layer address the engine gave that
/// container (the neighbour entry the agent answers through), and no
/// container that could take both address and link-layer address may run.
pub fn task_by_address(
    registry: &Registry,
    neighbours: Neighbours,
    caller: IpAddr,
) -> Result<&TaskEntry, Unbound> {
    let ip = caller.to_canonical().to_string();
    let task = registry.task_at(&ip).ok_or(Unbound::Unknown)?;
    if let Some((family, container)) = registry.link_rewriter() {
        return Err(Unbound::LinkRewriter {
            family: family.to_owned(),
            container: container.to_owned(),
        });
    }
    let recorded = task
        .recorded_mac(&ip)
        .unwrap_or_default()
        .to_ascii_lowercase();
    // An engine that records no link-layer address leaves only the address.
    if !recorded.is_empty() {
        let seen = neighbours(&ip);
        if seen.as_deref() != Some(recorded.as_str()) {
            return Err(Unbound::Borrowed { recorded, seen });
        }
    }
    Ok(task)
}

/// The body of a refusal.
#[derive(serde::Serialize)]
struct Refusal {
    error: &'static str,
}

/// Serves the loopback port's routes to the host only: a request from a
/// task container's address, or from no known address, gets 403.
///
/// The host's requests come through the engine's published port from the
/// network's gateway. A container that claims the gateway's address sends
/// from its own link-layer address, which the engine recorded; one that may
/// rewrite its link runs, then only the agent's bearer token (which the CLI
/// sends with every request) lets a request through.
pub async fn host_only(State(agent): State<Agent>, request: Request, next: Next) -> Response {
    // The extractor's own lookup, which also finds a test's mock address.
    let (mut parts, body) = request.into_parts();
    let caller = ConnectInfo::<SocketAddr>::from_request_parts(&mut parts, &())
        .await
        .ok()
        .map(|ConnectInfo(addr)| addr.ip());
    let request = Request::from_parts(parts, body);
    let refused = match caller {
        Some(ip) => {
            let with_token = super::admin::carries_token(&agent, request.headers());
            let registry = agent.state.read();
            !from_the_host(&registry, agent.neighbours, ip, with_token)
        }
        None => true,
    };
    if refused {
        tracing::debug!(?caller, path = %request.uri().path(), "refused on the loopback port");
        return json(
            StatusCode::FORBIDDEN,
            &Refusal {
                error: "the agent's loopback port serves the host only",
            },
        );
    }
    next.run(request).await
}

/// Whether a request on the loopback port from `ip` is the host's.
fn from_the_host(
    registry: &Registry,
    neighbours: Neighbours,
    ip: IpAddr,
    with_token: bool,
) -> bool {
    let ip = ip.to_canonical();
    let on_network = matches!(ip, IpAddr::V4(v4) if in_range(v4, NETWORK_SUBNET));
    if !on_network {
        // Another engine's way of forwarding the port: any address that is
        // no container's.
        return !from_task_container(registry, ip);
    }
    if ip.to_string() != NETWORK_GATEWAY {
        return false;
    }
    let seen = neighbours(NETWORK_GATEWAY);
    let a_containers = seen
        .as_deref()
        .is_some_and(|mac| registry.is_container_mac(mac));
    !a_containers && (with_token || registry.link_rewriter().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_range_is_169_254_170_128_to_255() {
        let at = |s: &str| in_range(s.parse().unwrap(), NETWORK_IP_RANGE);
        assert!(at("169.254.170.128") && at("169.254.170.200") && at("169.254.170.255"));
        assert!(!at("169.254.170.1") && !at("169.254.170.2") && !at("169.254.170.127"));
        assert!(!at("127.0.0.1") && !at("169.254.171.130"));
        assert!(in_range("10.1.2.3".parse().unwrap(), "0.0.0.0/0"));
        assert!(!in_range("10.1.2.3".parse().unwrap(), "not a range"));
    }

    #[test]
    fn the_neighbour_table_gives_complete_entries_only() {
        let table = "IP address       HW type     Flags       HW address            Mask     Device
169.254.170.130  0x1         0x2         02:42:A9:FE:AA:82     *        eth0
169.254.170.131  0x1         0x0         00:00:00:00:00:00     *        eth0
169.254.170.1    0x1         0x2         02:42:5e:1c:0a:01     *        eth0
";
        assert_eq!(
            neighbour_in(table, "169.254.170.130").as_deref(),
            Some("02:42:a9:fe:aa:82")
        );
        assert_eq!(neighbour_in(table, "169.254.170.131"), None);
        assert_eq!(neighbour_in(table, "169.254.170.13"), None);
        assert_eq!(
            neighbour_in(table, "169.254.170.1").as_deref(),
            Some("02:42:5e:1c:0a:01")
        );
    }

    #[test]
    fn an_ipv4_mapped_address_is_its_ipv4_address() {
        let registry = Registry::default();
        let mapped: IpAddr = "::ffff:169.254.170.130".parse().unwrap();
        assert!(from_task_container(&registry, mapped));
        let gateway: IpAddr = "::ffff:169.254.170.1".parse().unwrap();
        assert!(!from_task_container(&registry, gateway));
    }
}
