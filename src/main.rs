use std::io::IsTerminal as _;
use std::process::ExitCode;

use ecs_run_local::{Cli, report_failure};

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    let default_level = match cli.verbose {
        0 => "warn",
        1 => "ecs_run_local=debug",
        _ => "ecs_run_local=trace",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        // Colour only on a terminal, and never with `NO_COLOR`.
        .with_ansi(
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .without_time()
        .init();
    match ecs_run_local::run(cli) {
        Ok(status) => status.into(),
        Err(failure) => {
            report_failure(&failure);
            failure.status.into()
        }
    }
}
