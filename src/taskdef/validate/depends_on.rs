//! Start dependencies: each `dependsOn` entry's target and condition, and
//! cycles across `dependsOn`, `links` and `volumesFrom`.

use super::Validator;
use crate::taskdef::model::{DependencyCondition, TaskDefinition};

impl Validator<'_> {
    pub(super) fn dependencies(&mut self) {
        let def = self.def;
        for (i, c) in def.container_definitions.iter().enumerate() {
            for (j, dep) in c.depends_on.iter().enumerate() {
                let at = format!("containerDefinitions[{i}].dependsOn[{j}]");
                let Some(condition) = dep.condition else {
                    self.error(
                        format!("{at}.condition"),
                        "is required (START, COMPLETE, SUCCESS or HEALTHY)",
                    );
                    continue;
                };
                let target = match dep.container_name.as_deref() {
                    None | Some("") => {
                        self.error(format!("{at}.containerName"), "is required");
                        continue;
                    }
                    Some(name) if name == c.name() => {
                        self.error(
                            format!("{at}.containerName"),
                            "a container cannot depend on itself",
                        );
                        continue;
                    }
                    Some(name) => {
                        if let Some(t) = self.container_index(name) {
                            &def.container_definitions[t]
                        } else {
                            self.error(
                                format!("{at}.containerName"),
                                format!("`{name}` is not a container of this task"),
                            );
                            continue;
                        }
                    }
                };
                match condition {
                    DependencyCondition::Healthy if target.health_check.is_none() => self.error(
                        format!("{at}.condition"),
                        format!(
                            "HEALTHY needs a healthCheck on `{}`, which has none",
                            target.name()
                        ),
                    ),
                    DependencyCondition::Complete | DependencyCondition::Success
                        if target.is_essential() =>
                    {
                        self.error(
                            format!("{at}.condition"),
                            format!(
                                "{condition} cannot be set on an essential container: `{}` must say `\"essential\": false`",
                                target.name()
                            ),
                        );
                    }
                    _ => {}
                }
            }
        }
        if let Some(cycle) = dependency_cycle(def) {
            let names: Vec<&str> = cycle
                .iter()
                .map(|i| def.container_definitions[*i].name())
                .collect();
            self.error(
                format!("containerDefinitions[{}].dependsOn", cycle[0]),
                format!(
                    "dependsOn forms a cycle: {} -> {}",
                    names.join(" -> "),
                    names[0]
                ),
            );
        }
    }
}

/// The first cycle of start dependencies (`dependsOn`, `links`,
/// `volumesFrom`), as container indices in dependency order.
pub(crate) fn dependency_cycle(def: &TaskDefinition) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        def: &TaskDefinition,
        node: usize,
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        marks[node] = Mark::Open;
        stack.push(node);
        let container = &def.container_definitions[node];
        let explicit = container
            .depends_on
            .iter()
            .filter_map(|d| d.container_name.clone());
        for name in explicit.chain(container.implicit_dependencies()) {
            let Some(next) = def
                .container_definitions
                .iter()
                .position(|c| c.name.as_deref() == Some(name.as_str()))
            else {
                continue;
            };
            if next == node {
                continue; // reported as self-dependency
            }
            match marks[next] {
                Mark::Open => {
                    let start = stack.iter().position(|n| *n == next).unwrap_or(0);
                    return Some(stack[start..].to_vec());
                }
                Mark::New => {
                    if let Some(cycle) = visit(def, next, marks, stack) {
                        return Some(cycle);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks[node] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; def.container_definitions.len()];
    for node in 0..marks.len() {
        if marks[node] == Mark::New {
            if let Some(cycle) = visit(def, node, &mut marks, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{errors, task};
    use super::dependency_cycle;
    use crate::taskdef::load::load_str;

    #[test]
    fn depends_on_unknown_self_and_missing_condition() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,"dependsOn":[
                {"containerName":"ghost","condition":"START"},
                {"containerName":"a","condition":"START"},
                {"containerName":"a"}]}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[0].dependsOn[0].containerName: `ghost` is not a container of this task",
                "Error containerDefinitions[0].dependsOn[1].containerName: a container cannot depend on itself",
                "Error containerDefinitions[0].dependsOn[2].condition: is required (START, COMPLETE, SUCCESS or HEALTHY)",
            ]
        );
    }

    #[test]
    fn depends_on_cycle() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,"dependsOn":[{"containerName":"b","condition":"START"}]},
               {"name":"b","image":"i","memory":64,"dependsOn":[{"containerName":"c","condition":"START"}]},
               {"name":"c","image":"i","memory":64,"dependsOn":[{"containerName":"a","condition":"START"}]}"#,
        ));
        assert_eq!(
            e,
            ["Error containerDefinitions[0].dependsOn: dependsOn forms a cycle: a -> b -> c -> a"]
        );
    }

    #[test]
    fn healthy_needs_a_health_check_and_complete_needs_a_non_essential_target() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,"dependsOn":[
                 {"containerName":"b","condition":"HEALTHY"},{"containerName":"b","condition":"SUCCESS"}]},
               {"name":"b","image":"i","memory":64}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[0].dependsOn[0].condition: HEALTHY needs a healthCheck on `b`, which has none",
                "Error containerDefinitions[0].dependsOn[1].condition: SUCCESS cannot be set on an essential container: `b` must say `\"essential\": false`",
            ]
        );
    }

    #[test]
    fn dependency_cycle_finds_the_loop_only() {
        let loaded = load_str(
            &task(
                "",
                r#"{"name":"a","image":"i","dependsOn":[{"containerName":"b","condition":"START"}]},
                   {"name":"b","image":"i"}"#,
            ),
            "t",
            "t",
        )
        .unwrap();
        assert_eq!(dependency_cycle(&loaded.definition), None);
    }
}
