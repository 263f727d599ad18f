//! The dispatcher: turns what the user typed ([`cli`](crate::cli)) into a
//! command's settings and runs that command.

use crate::cli::{Cli, Command};
use crate::commands::{self, smoke::ReportSettings};
use crate::exit::{ExitStatus, Failure};

/// Runs one command to its end.
#[expect(
    clippy::too_many_lines,
    reason = "the dispatcher: one arm per subcommand, read top to bottom"
)]
pub fn run(cli: Cli) -> Result<ExitStatus, Failure> {
    let Some(command) = cli.command else {
        let settings = commands::RunSettings {
            watch: cli.watch,
            ..cli.run.into()
        };
        return commands::run::run(&settings, cli.detach);
    };
    match command {
        Command::Smoke {
            run,
            timeout,
            exec,
            http,
            tcp,
            expect_exit,
            junit,
            json,
        } => {
            let spec = crate::cli::smoke_spec(timeout, exec, http, tcp, expect_exit)
                .map_err(|e| Failure::usage(anyhow::anyhow!(e), Vec::new()))?;
            let report = ReportSettings { junit, json };
            commands::smoke::smoke(&(*run).into(), &spec, &report)
        }
        Command::Ps { json } => commands::tasks::ps(json),
        Command::Logs {
            task,
            container,
            follow,
        } => commands::tasks::logs(&task, container.as_deref(), follow),
        Command::Stop { task } => commands::tasks::stop(&task),
        Command::Exec {
            task,
            container,
            command,
        } => commands::tasks::exec(&task, &container, &command),
        Command::Compose {
            definition,
            task,
            overrides,
            agent,
            profile,
        } => commands::compose::compose(
            &definition.into(),
            &task.into(),
            &overrides.into(),
            &agent.into(),
            &profile.into(),
        ),
        Command::Validate {
            file,
            template,
            json,
        } => commands::inspect::validate(&file, &template.into(), json),
        Command::Plan {
            definition,
            json,
            task,
            overrides,
            profile,
        } => commands::inspect::plan(
            &definition.into(),
            &task.into(),
            &overrides.into(),
            &profile.into(),
            json,
        ),
        Command::Render {
            definition,
            task,
            changes,
            profile,
        } => commands::inspect::render(
            &definition.into(),
            &task.into(),
            &changes.into(),
            &profile.into(),
        ),
        Command::Down { all } => commands::down::down(all),
        Command::Completions { shell } => commands::print_document(&crate::cli::completions(shell)),
        Command::Man => commands::print_document(
            &crate::cli::man_page()
                .map_err(|e| anyhow::Error::new(e).context("cannot write the manual page"))?,
        ),
        Command::Agent {
            listen,
            loopback,
            token_file,
        } => commands::internal::agent(listen, loopback, &token_file),
        Command::Pause => commands::internal::pause(),
        Command::Cgroup {
            action,
            path,
            memory,
            cpu_quota,
        } => commands::internal::cgroup(&action, &path, memory, cpu_quota),
        Command::Probe {
            port,
            http_path,
            status,
        } => commands::internal::probe(port, http_path, status),
    }
}
