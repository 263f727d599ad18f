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

use crate::agent::state::Registry;
use crate::agent::{Agent, json};
use crate::plan::NETWORK_IP_RANGE;

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

/// The body of a refusal.
#[derive(serde::Serialize)]
struct Refusal {
    error: &'static str,
}

/// Serves the loopback port's routes to the host only: a request from a
/// task container's address, or from no known address, gets 403.
pub async fn host_only(State(agent): State<Agent>, request: Request, next: Next) -> Response {
    // The extractor's own lookup, which also finds a test's mock address.
    let (mut parts, body) = request.into_parts();
    let caller = ConnectInfo::<SocketAddr>::from_request_parts(&mut parts, &())
        .await
        .ok()
        .map(|ConnectInfo(addr)| addr.ip());
    let request = Request::from_parts(parts, body);
    let refused = match caller {
        Some(ip) => from_task_container(&agent.state.read(), ip),
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
    fn an_ipv4_mapped_address_is_its_ipv4_address() {
        let registry = Registry::default();
        let mapped: IpAddr = "::ffff:169.254.170.130".parse().unwrap();
        assert!(from_task_container(&registry, mapped));
        let gateway: IpAddr = "::ffff:169.254.170.1".parse().unwrap();
        assert!(!from_task_container(&registry, gateway));
    }
}
