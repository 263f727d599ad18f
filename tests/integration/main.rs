//! The integration test binary: drives the built `ecs-run-local` as a user would.

mod cli;
mod harness;
