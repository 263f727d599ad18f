//! Docker object names in the ECS agent's pattern.

/// The pause container's name in metadata, as the ECS agent reports it.
pub const PAUSE_NAME: &str = "~internal~ecs~pause";

/// `ecs-<family>-<revision>-<name>-<suffix>`, with every character Docker does
/// not allow in a name removed (so `~internal~ecs~pause` becomes
/// `internalecspause`, as with the ECS agent).
#[must_use]
pub fn docker_name(family: &str, revision: i64, name: &str, suffix: &str) -> String {
    let raw = format!("ecs-{family}-{revision}-{name}-{suffix}");
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_agent_pattern() {
        assert_eq!(docker_name("web", 3, "app", "abc"), "ecs-web-3-app-abc");
        assert_eq!(
            docker_name("web", 3, PAUSE_NAME, "abc"),
            "ecs-web-3-internalecspause-abc"
        );
        assert_eq!(docker_name("<web>", 1, "a b", "0"), "ecs-web-1-ab-0");
    }
}
