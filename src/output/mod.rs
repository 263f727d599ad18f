//! What people see: findings on stderr, plans and tables on stdout, container
//! logs with their prefixes on stdout, progress and status on stderr.

pub mod compose;
pub mod diagnostics;
pub mod logs;
pub mod plan;
pub mod progress;
pub mod smoke;

/// A status line on stderr, in the house format.
pub fn status(message: &str) {
    eprintln!("ecs-run-local: {message}");
}
