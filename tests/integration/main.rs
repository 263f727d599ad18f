//! The integration test binary: drives the built `ecs-run-local` as a user
//! would, against the real Docker engine where a test needs one.

// A test tells one scenario from start to end; the 100-line bound is for
// production functions (clippy.toml).
#![allow(clippy::too_many_lines)]

mod agent;
mod agent_dockerfile;
mod agent_image;
mod agent_loss;
mod aws;
mod cli;
mod develop;
mod docker_harness;
mod firelens;
mod harness;
mod layers;
mod mfa;
mod reach;
mod registry;
mod run;
mod signals;
mod sources;
mod tasks;
mod trust;
