//! `links` on an engine that ignores them (Podman's Docker API drops
//! `Links`): a container that links to others gets an `/etc/hosts` entry
//! per link (`ExtraHosts`, `alias:ADDRESS`), which only it sees, as only it
//! resolves a Docker link's alias. The addresses are known once the linked
//! containers have started, and links are START dependencies, so just
//! before the linking container's first start it is created again with
//! the entries. Docker keeps its own links: they resolve through its DNS
//! and follow a linked container that restarts with another address, which
//! a hosts entry does not.

use crate::plan::NETWORK_NAME;

use super::create::create_container;
use super::supervise::Task;

impl Task<'_> {
    /// On an engine that ignores links, makes sure container `i` resolves
    /// each alias it links to, creating it again (same name, body and
    /// endpoint id) when its hosts entries are missing or out of date.
    pub(super) async fn link_by_hosts(&mut self, i: usize) -> anyhow::Result<()> {
        if self.engine.honours_links() {
            return Ok(());
        }
        let links = links_of(&self.slots[i].body);
        if links.is_empty() {
            return Ok(());
        }
        let mut hosts = Vec::new();
        for (target, alias) in links {
            let Some(linked) = self.slots.iter().find(|s| s.plan.docker_name == target) else {
                continue;
            };
            if let Some(address) = self.engine.inspect_container(&linked.id).await?.ip_address {
                hosts.push(format!("{alias}:{address}"));
            } else {
                tracing::warn!(
                    container = %self.slots[i].plan.name,
                    linked = %linked.plan.name,
                    "a linked container has no address; its alias will not resolve"
                );
            }
        }
        let slot = &self.slots[i];
        let current = self.engine.inspect_raw(&slot.id).await?;
        let present = current
            .host_config
            .and_then(|h| h.extra_hosts)
            .unwrap_or_default();
        if hosts.iter().all(|h| present.contains(h)) {
            return Ok(());
        }
        let mut body = slot.body.clone();
        body.host_config
            .get_or_insert_with(Default::default)
            .extra_hosts
            .get_or_insert_with(Vec::new)
            .extend(hosts);
        // As `--watch` replaces a container: the new one takes the name
        // before the old one goes, so the agent keeps the task's container.
        let old = slot.id.clone();
        let short: String = old.chars().take(12).collect();
        self.engine
            .rename_container(&old, &format!("{}-unlinked-{short}", slot.plan.docker_name))
            .await?;
        let id = create_container(self.engine, self.plan, &slot.plan, body).await?;
        self.engine.remove_container(&old).await?;
        self.slots[i].id = id;
        Ok(())
    }
}

/// A create body's links on the task network, as `(docker name, alias)`.
fn links_of(body: &bollard::models::ContainerCreateBody) -> Vec<(String, String)> {
    body.networking_config
        .as_ref()
        .and_then(|n| n.endpoints_config.as_ref())
        .and_then(|endpoints| endpoints.get(NETWORK_NAME))
        .and_then(|e| e.links.as_ref())
        .into_iter()
        .flatten()
        .map(|link| {
            let (target, alias) = link.split_once(':').unwrap_or((link, link));
            (target.to_owned(), alias.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerCreateBody, EndpointSettings, NetworkingConfig};

    #[test]
    fn links_are_read_from_the_task_network_endpoint() {
        let body = ContainerCreateBody {
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(
                    [(
                        NETWORK_NAME.to_owned(),
                        EndpointSettings {
                            links: Some(vec![
                                "ecs-web-1-web-abc:frontend".into(),
                                "ecs-web-1-db-def".into(),
                            ]),
                            ..Default::default()
                        },
                    )]
                    .into(),
                ),
            }),
            ..Default::default()
        };
        assert_eq!(
            links_of(&body),
            vec![
                ("ecs-web-1-web-abc".to_owned(), "frontend".to_owned()),
                ("ecs-web-1-db-def".to_owned(), "ecs-web-1-db-def".to_owned()),
            ]
        );
        assert!(links_of(&ContainerCreateBody::default()).is_empty());
    }
}
