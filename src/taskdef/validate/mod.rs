//! Validation: every problem at once, each with its JSON path and a plain reason.
//!
//! Errors are what ECS itself rejects and what a Linux Docker engine cannot run;
//! warnings are what runs, but differently than on ECS (EFS, `FireLens`, App Mesh,
//! inference accelerators, GPUs), and what ECS would reject while a local run
//! does not care (an EC2 container with no memory setting).
//!
//! The checks live next to the fields they read: task-level fields, volumes,
//! containers, their limits, networking and ports, and start dependencies.

mod containers;
mod depends_on;
mod limits;
mod network;
mod task;
mod volumes;

use super::diagnostic::Diagnostic;
use super::model::{Compatibility, NetworkMode, TaskDefinition};

pub use network::parse_port_range;

/// Checks a loaded definition and returns every finding, errors first in
/// document order, then warnings.
#[must_use]
pub fn validate(def: &TaskDefinition) -> Vec<Diagnostic> {
    let mut v = Validator {
        def,
        mode: def.network_mode.unwrap_or_default(),
        out: Vec::new(),
    };
    v.task();
    v.volumes();
    v.containers();
    v.dependencies();
    v.out.sort_by_key(|d| d.severity);
    v.out
}

/// The checker every area adds its findings to: the definition, its network
/// mode (defaulted) and the findings so far.
struct Validator<'a> {
    def: &'a TaskDefinition,
    mode: NetworkMode,
    out: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.out.push(Diagnostic::error(path, message));
    }

    fn warning(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.out.push(Diagnostic::warning(path, message));
    }

    fn is_fargate(&self) -> bool {
        self.def
            .requires_compatibilities
            .contains(&Compatibility::Fargate)
    }

    fn container_index(&self, name: &str) -> Option<usize> {
        self.def
            .container_definitions
            .iter()
            .position(|c| c.name() == name)
    }
}

/// ECS names (family, container): letters, digits, `-` and `_`, at most 255.
fn is_ecs_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_windows_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    path.starts_with("\\\\")
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
}

fn is_s3_object_arn(value: &str) -> bool {
    value
        .split_once(":s3:::")
        .is_some_and(|(partition, object)| partition.starts_with("arn:aws") && object.contains('/'))
}

/// `{{image}}`, `${IMAGE}`, `$$$IMAGE$$$`, `<IMAGE_URI>`: text a template
/// engine was meant to replace.
pub(crate) fn looks_like_placeholder(value: &str) -> bool {
    value.contains("{{")
        || value.contains("${")
        || value.contains("$$")
        || (value.contains('<') && value.contains('>'))
}

/// Shared helpers for the tests of every area.
#[cfg(test)]
mod test_support {
    use super::validate;
    use crate::taskdef::load::load_str;

    /// Validates a definition given as JSON, returning `path: message` lines.
    pub(super) fn check(json: &str) -> Vec<String> {
        let loaded = load_str(json, "t.json", "t").expect("test JSON loads");
        validate(&loaded.definition)
            .into_iter()
            .map(|d| format!("{:?} {d}", d.severity))
            .collect()
    }

    pub(super) fn errors(json: &str) -> Vec<String> {
        check(json)
            .into_iter()
            .filter(|l| l.starts_with("Error"))
            .collect()
    }

    /// A definition with the given containers (a JSON array body) and extra top-level fields.
    pub(super) fn task(extra: &str, containers: &str) -> String {
        format!(r#"{{"family":"app",{extra}"containerDefinitions":[{containers}]}}"#)
    }

    pub(super) const WEB: &str = r#"{"name":"web","image":"busybox","memory":64}"#;
}

#[cfg(test)]
mod tests {
    use super::test_support::{WEB, check, errors, task};

    #[test]
    fn a_minimal_task_is_clean() {
        assert_eq!(check(&task("", WEB)), Vec::<String>::new());
    }

    #[test]
    fn windows_features_are_errors() {
        let e = errors(&task(
            r#""runtimePlatform":{"operatingSystemFamily":"WINDOWS_SERVER_2019_CORE"},
               "volumes":[{"name":"p","host":{"sourcePath":"\\\\.\\pipe\\docker_engine"}},
                          {"name":"f","fsxWindowsFileServerVolumeConfiguration":{"fileSystemId":"fs-1"}}],"#,
            r#"{"name":"a","image":"i","memory":64,"dockerSecurityOptions":["credentialspec:file://x.json"],
                "credentialSpecs":["credentialspecdomainless:arn:aws:s3:::b/k"]}"#,
        ));
        assert_eq!(e.len(), 5, "{e:?}");
        assert!(
            e.iter()
                .all(|l| l.contains("Windows") || l.contains("gMSA")),
            "{e:?}"
        );
    }

    #[test]
    fn local_differences_are_warnings() {
        let w = check(&task(
            r#""networkMode":"awsvpc","inferenceAccelerators":[{"deviceName":"d","deviceType":"eia2.medium"}],
               "proxyConfiguration":{"type":"APPMESH","containerName":"envoy","properties":[]},
               "volumes":[{"name":"efs","efsVolumeConfiguration":{"fileSystemId":"fs-1"}}],"#,
            r#"{"name":"envoy","image":"i","memory":64,"firelensConfiguration":{"type":"fluentbit"},
                "resourceRequirements":[{"type":"GPU","value":"1"}]},
               {"name":"app","image":"i","memory":64,"logConfiguration":{"logDriver":"awsfirelens"}}"#,
        ));
        assert!(w.iter().all(|l| l.starts_with("Warning")), "{w:?}");
        let joined = w.join("\n");
        for expected in [
            "App Mesh",
            "Elastic Inference",
            "EFS file system `fs-1`",
            "NVIDIA",
        ] {
            assert!(
                joined.contains(expected),
                "{expected} missing from {joined}"
            );
        }
    }
}
