//! What people see of what the runner did: the smoke report in every form
//! it takes and the `ps` table. Above the runner, below the commands, so
//! the runner hands over data and never formats it.

pub mod smoke;
pub mod tasks;
