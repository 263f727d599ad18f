//! `--watch`: a container whose image was rebuilt is replaced in the
//! running task. Those that depend on it with START or HEALTHY (and theirs
//! in turn) stop first and start again once it is back, as the task's order
//! asks; the new container has the old one's name, environment and endpoint
//! id, so its metadata and credentials keep working.

use futures_util::future::join_all;

use super::build::watch::Rebuilt;
use super::create::create_container;
use super::supervise::{State, Task, unix_now};
use crate::output::status;
use crate::taskdef::model::DependencyCondition;

impl Task<'_> {
    /// Stops the rebuilt container (its dependents first, each per its
    /// `stopTimeout`), creates it anew from its image, and leaves it and
    /// them to start as their dependencies allow.
    pub(super) async fn replace(&mut self, rebuilt: &Rebuilt) -> anyhow::Result<()> {
        let Some(i) = self
            .slots
            .iter()
            .position(|s| s.plan.name == rebuilt.container)
        else {
            return Ok(());
        };
        let dependents = self.dependents_of(i);
        let running: Vec<usize> = dependents
            .iter()
            .copied()
            .filter(|&j| self.slots[j].state == State::Running)
            .collect();
        if running.is_empty() {
            status(&format!("replacing `{}`", rebuilt.container));
        } else {
            let names: Vec<String> = running
                .iter()
                .map(|&j| format!("`{}`", self.slots[j].plan.name))
                .collect();
            status(&format!(
                "replacing `{}`, restarting {} that depend on it",
                rebuilt.container,
                names.join(", ")
            ));
        }
        for &j in &running {
            self.slots[j].expected_dies += 1;
        }
        join_all(running.iter().map(|&j| {
            let slot = &self.slots[j];
            self.engine
                .stop_container(&slot.id, slot.plan.stop_timeout_secs)
        }))
        .await;
        let since = unix_now();
        for &j in &running {
            self.slots[j].reset_to_start_again();
            self.slots[j].logs_since = Some(since);
        }

        // The old container's events carry its id, which no slot has from
        // here on. Its name goes to the new one; the agent sees the new one
        // created before the old one is removed, so the task stays known.
        let old = self.slots[i].id.clone();
        let old_image = self.engine.inspect_raw(&old).await?.image;
        let slot = &self.slots[i];
        self.engine
            .stop_container(&old, slot.plan.stop_timeout_secs)
            .await?;
        let short: String = old.chars().take(12).collect();
        self.engine
            .rename_container(&old, &format!("{}-replaced-{short}", slot.plan.docker_name))
            .await?;
        let id = create_container(self.engine, self.plan, &slot.plan, slot.body.clone()).await?;
        if let Err(e) = self.engine.remove_container(&old).await {
            tracing::warn!(error = %e, "cannot remove the replaced container");
        }
        // The image the rebuild superseded, now untagged and unused.
        if let Some(image) = old_image {
            self.engine.remove_unused_image(&image).await;
        }
        let slot = &mut self.slots[i];
        slot.reset_to_start_again();
        slot.id = id;
        slot.exited_at = None;
        slot.oom_killed = false;
        slot.logs_since = None;
        slot.changed_at = Some(rebuilt.changed_at);
        Ok(())
    }

    /// The containers that need `i` started or healthy, and those that need
    /// them, in turn.
    fn dependents_of(&self, i: usize) -> Vec<usize> {
        let mut found: Vec<usize> = Vec::new();
        let mut queue = vec![i];
        while let Some(k) = queue.pop() {
            let name = &self.slots[k].plan.name;
            for (j, slot) in self.slots.iter().enumerate() {
                let needs_it = slot.needs.iter().any(|n| {
                    &n.container == name
                        && matches!(
                            n.condition,
                            DependencyCondition::Start | DependencyCondition::Healthy
                        )
                });
                if needs_it && j != i && !found.contains(&j) {
                    found.push(j);
                    queue.push(j);
                }
            }
        }
        found
    }
}
