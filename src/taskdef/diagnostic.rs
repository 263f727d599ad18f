//! A problem found in a task definition, located by its JSON path.

use std::fmt;

/// Whether a problem stops the task from running locally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The definition cannot run (ECS would reject it, or a Linux engine cannot run it).
    Error,
    /// It runs, but not quite as it would on ECS, or a field was not understood.
    Warning,
}

/// One finding, with the JSON path that locates it inside the task definition
/// (`containerDefinitions[1].dependsOn[0].containerName`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub path: String,
    pub message: String,
}

impl Diagnostic {
    pub fn error(path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn warning(path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            path: path.into(),
            message: message.into(),
        }
    }

    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Rewords serde's messages in JSON's vocabulary: users write objects and
/// arrays, not maps and sequences, and `i64` means nothing to most of them.
#[must_use]
pub fn json_wording(serde_message: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("invalid type: map", "invalid type: object"),
        ("invalid type: sequence", "invalid type: array"),
        ("invalid type: unit value", "invalid type: null"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected an object"),
        ("expected a boolean", "expected true or false"),
        ("expected i64", "expected an integer"),
        ("expected f64", "expected a number"),
        ("expected a string", "expected a string"),
    ];
    let mut out = serde_message.to_owned();
    for (from, to) in WORDS {
        out = out.replace(from, to);
    }
    if let Some(at) = out.find("expected struct ") {
        out.replace_range(at.., "expected an object");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_words_become_json_words() {
        assert_eq!(
            json_wording("invalid type: map, expected a sequence"),
            "invalid type: object, expected an array"
        );
        assert_eq!(
            json_wording("invalid type: sequence, expected struct LogConfiguration"),
            "invalid type: array, expected an object"
        );
        assert_eq!(
            json_wording("invalid type: string \"256\", expected i64"),
            "invalid type: string \"256\", expected an integer"
        );
    }

    #[test]
    fn display_puts_the_path_first() {
        let d = Diagnostic::error("containerDefinitions[0].image", "is missing");
        assert_eq!(d.to_string(), "containerDefinitions[0].image: is missing");
        assert_eq!(Diagnostic::warning("", "x").to_string(), "x");
    }
}
