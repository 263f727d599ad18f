//! The task definition: its serde model, the document shapes it is loaded
//! from, and validation that reports every problem with its JSON path.

pub mod diagnostic;
pub mod load;
pub mod model;
pub mod overrides;
pub mod render;
pub mod secret;
mod strict;
pub mod units;
pub mod validate;

pub use diagnostic::Diagnostic;
#[cfg(test)]
pub use load::load_path;
pub use load::{LoadError, Loaded, Origins, Placeholder, Shape, load_str, load_value};
pub use model::TaskDefinition;
pub use validate::validate;
