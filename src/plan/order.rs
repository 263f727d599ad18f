//! The start order derived from `dependsOn`, `links` and `volumesFrom`.

use crate::taskdef::TaskDefinition;

/// Container indices in an order that starts every dependency (explicit or
/// implicit) before its dependents, keeping the definition's order wherever
/// that allows. `None` when the dependencies form a cycle.
#[must_use]
pub fn start_order(def: &TaskDefinition) -> Option<Vec<usize>> {
    let containers = &def.container_definitions;
    let deps: Vec<Vec<usize>> = containers
        .iter()
        .map(|c| {
            let explicit = c.depends_on.iter().filter_map(|d| d.container_name.clone());
            explicit
                .chain(c.implicit_dependencies())
                .filter_map(|name| {
                    containers
                        .iter()
                        .position(|t| t.name.as_deref() == Some(name.as_str()))
                })
                .collect()
        })
        .collect();
    let mut placed = vec![false; containers.len()];
    let mut order = Vec::with_capacity(containers.len());
    while order.len() < containers.len() {
        let next =
            (0..containers.len()).find(|&i| !placed[i] && deps[i].iter().all(|&d| placed[d]))?;
        placed[next] = true;
        order.push(next);
    }
    Some(order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taskdef::load_str;

    fn order(containers: &str) -> Option<Vec<usize>> {
        let json = format!(r#"{{"family":"f","containerDefinitions":[{containers}]}}"#);
        start_order(&load_str(&json, "t", "t").unwrap().definition)
    }

    #[test]
    fn independent_containers_keep_definition_order() {
        assert_eq!(
            order(r#"{"name":"a"},{"name":"b"},{"name":"c"}"#),
            Some(vec![0, 1, 2])
        );
    }

    #[test]
    fn dependencies_start_first() {
        let containers = r#"
            {"name":"app","dependsOn":[{"containerName":"init","condition":"SUCCESS"},{"containerName":"db","condition":"HEALTHY"}]},
            {"name":"db","dependsOn":[{"containerName":"init","condition":"COMPLETE"}]},
            {"name":"init"},
            {"name":"sidecar"}"#;
        assert_eq!(order(containers), Some(vec![2, 1, 0, 3]));
    }

    #[test]
    fn links_and_volumes_from_start_their_targets_first() {
        let containers = r#"{"name":"web","links":["db:database"],"volumesFrom":[{"sourceContainer":"data"}]},
                            {"name":"db"},{"name":"data"}"#;
        assert_eq!(order(containers), Some(vec![1, 2, 0]));
    }

    #[test]
    fn a_cycle_has_no_order() {
        let containers = r#"{"name":"a","dependsOn":[{"containerName":"b","condition":"START"}]},
                            {"name":"b","dependsOn":[{"containerName":"a","condition":"START"}]}"#;
        assert_eq!(order(containers), None);
    }
}
