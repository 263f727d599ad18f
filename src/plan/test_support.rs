//! The one way the plan's unit tests make a plan: a definition as JSON,
//! planned with sequential ids so that names and ids are stable.

use super::ids::SequentialIds;
use super::{ContainerPlan, Plan, PlanOptions, plan};

/// The options of a test run: the default ones with a fixed agent image.
pub(crate) fn options() -> PlanOptions {
    PlanOptions {
        agent_image: "ecs-run-local-agent:test".into(),
        ..PlanOptions::default()
    }
}

/// The plan of `document` with [`options`].
pub(crate) fn planned(document: &str) -> Plan {
    planned_with(document, &options())
}

/// The plan of `document` with `options`.
pub(crate) fn planned_with(document: &str, options: &PlanOptions) -> Plan {
    let loaded = crate::taskdef::load_str(document, "t.json", "t").expect("test JSON loads");
    plan(&loaded.definition, options, &mut SequentialIds::default()).expect("the test task plans")
}

impl Plan {
    /// The planned container named `name` in the definition.
    pub(crate) fn container(&self, name: &str) -> &ContainerPlan {
        self.containers
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no container `{name}` in the plan"))
    }
}
