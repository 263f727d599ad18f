//! `FireLens` at run time, what the plan cannot know: who owns the router's
//! socket directory (its `user`, numeric or looked up in its image), the
//! router's address for bridge-mode `FLUENT_HOST`, and whether the router
//! opened its socket.

use std::collections::BTreeMap;
use std::time::Duration;

use bollard::models::ContainerCreateBody;

use super::error::RunError;
use crate::docker::Engine;
use crate::plan::firelens::{FirelensPlan, SOCKET_DIR_IN_ROUTER, SOCKET_NAME};
use crate::plan::{Plan, labels};

/// How long a running router may take to open its socket before the task
/// fails (essential router) or goes on without its logs.
pub(super) const SOCKET_BOUND: Duration = Duration::from_secs(30);

/// The socket's path in the router.
pub(super) fn socket_path() -> String {
    format!("{SOCKET_DIR_IN_ROUTER}/{SOCKET_NAME}")
}

/// The socket directory's owner: the router's `user` as `uid` and `gid`,
/// as the agent gives its socket directory to it (no group, or a group the
/// agent cannot read as a number: the agent's own, root's). A name is looked
/// up in the image's `/etc/passwd` (`/etc/group`), read through the engine's
/// archive API from a container that is created and removed, never started.
pub(super) async fn socket_owner(
    engine: &Engine,
    plan: &Plan,
    firelens: &FirelensPlan,
) -> anyhow::Result<Option<(u32, u32)>> {
    let Some(user) = &firelens.user else {
        return Ok(None);
    };
    if let Some(ids) = crate::plan::firelens::numeric_owner(user) {
        return Ok(Some(ids));
    }
    let (user_part, group_part) = user.split_once(':').unwrap_or((user.as_str(), ""));
    let numeric_user = user_part.parse::<u32>().ok();
    let numeric_group = group_part.parse::<u32>().ok();
    let fail = |reason: String| RunError::FirelensUser {
        router: firelens.router.clone(),
        user: user.clone(),
        image: firelens.image.clone(),
        reason,
    };
    if user_part.is_empty() || user.matches(':').count() > 1 {
        return Err(fail("not `user` or `user:group`".into()).into());
    }
    let needs_lookup =
        numeric_user.is_none() || (!group_part.is_empty() && numeric_group.is_none());
    let (passwd, group) = if needs_lookup {
        read_accounts(engine, plan, firelens).await?
    } else {
        (String::new(), String::new())
    };
    let uid = match numeric_user {
        Some(uid) => uid,
        None => lookup(&passwd, user_part)
            .ok_or_else(|| fail(format!("no user `{user_part}` in /etc/passwd")))?,
    };
    let gid = match (group_part, numeric_group) {
        ("", _) => 0,
        (_, Some(gid)) => gid,
        (name, None) => {
            lookup(&group, name).ok_or_else(|| fail(format!("no group `{name}` in /etc/group")))?
        }
    };
    Ok(Some((uid, gid)))
}

/// The id of `name` in a `/etc/passwd` or `/etc/group` text (third field).
fn lookup(text: &str, name: &str) -> Option<u32> {
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next() == Some(name))
            .then(|| fields.nth(1).and_then(|id| id.trim().parse().ok()))
            .flatten()
    })
}

/// The image's `/etc/passwd` and `/etc/group` (empty when it has none),
/// from a container of the router's image that is never started.
async fn read_accounts(
    engine: &Engine,
    plan: &Plan,
    firelens: &FirelensPlan,
) -> anyhow::Result<(String, String)> {
    let mut container_labels: BTreeMap<String, String> = plan
        .volumes
        .iter()
        .find(|v| v.docker_name == firelens.volume)
        .map(|v| v.labels.clone())
        .unwrap_or_default();
    container_labels.insert(labels::ROLE.into(), "firelens-user".into());
    let body = ContainerCreateBody {
        image: Some(firelens.image.clone()),
        entrypoint: Some(vec!["/never-started".into()]),
        labels: Some(container_labels.into_iter().collect()),
        ..Default::default()
    };
    let name = format!("{}-user", firelens.volume);
    let id = engine.create_container(&name, body, None).await?;
    let read = |path: &'static str| {
        let id = id.clone();
        async move {
            engine
                .get_file(&id, path)
                .await
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        }
    };
    let passwd = read("/etc/passwd").await;
    let group = read("/etc/group").await;
    engine.remove_container(&id).await?;
    Ok((passwd, group))
}

/// Where the router's socket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Socket {
    /// No router in the task.
    None,
    /// Not seen yet: the containers that log to the router wait.
    Waiting,
    Open,
    /// The router exited or never opened it: their logs are lost.
    Lost,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_looked_up_in_the_third_field() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\nfluent:x:1000:1000::/home/fluent:/bin/sh\n";
        assert_eq!(lookup(passwd, "fluent"), Some(1000));
        assert_eq!(lookup(passwd, "root"), Some(0));
        assert_eq!(lookup(passwd, "nobody"), None);
        assert_eq!(lookup("", "fluent"), None);
    }
}
