//! What people see: findings on stderr, plans and tables on stdout.

pub mod diagnostics;
pub mod plan;
