//! `compose`: a docker-compose file equivalent to a run of the task, with the
//! agent image this engine would use.

use crate::docker::Engine;
use crate::exit::{ExitStatus, Failure};
use crate::output::compose_file;
use crate::plan::PlanOptions;
use crate::runner::{PullPolicy, agent_container};

use super::{
    AgentSettings, AwsSettings, DefinitionSource, OverrideSettings, TaskSettings, definition,
};

/// Prints the compose file on stdout.
pub fn compose(
    source: &DefinitionSource,
    task: &TaskSettings,
    overrides: &OverrideSettings,
    agent: &AgentSettings,
    aws: &AwsSettings,
) -> Result<ExitStatus, Failure> {
    super::block_on(async {
        let engine = Engine::connect().await.map_err(anyhow::Error::new)?;
        let platform = engine.platform().await.map_err(anyhow::Error::new)?;
        let image = agent_container::ensure_image(
            &engine,
            &platform,
            agent.image.as_deref(),
            PullPolicy::Missing,
        )
        .await?;
        let base = PlanOptions {
            agent_image: image.clone(),
            agent_loopback_port: agent.port,
            ..PlanOptions::default()
        };
        let plan = definition::load_and_plan(source, task, overrides, aws, base).await?;
        super::write_stdout(&compose_file::file(&plan, &image, agent.port))?;
        Ok(ExitStatus::Success)
    })
}
