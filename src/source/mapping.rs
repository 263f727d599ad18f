//! `AWS::ECS::TaskDefinition`'s properties, as CloudFormation's resource
//! schema names them, mapped one by one to the `register-task-definition`
//! JSON the loader reads. The table is explicit: the two vocabularies differ
//! in more than case (`EFSVolumeConfiguration` → `efsVolumeConfiguration`,
//! `FilesystemId` → `fileSystemId`, `ProxyConfigurationProperties` →
//! `properties`), and map-valued properties keep their keys as written.

use serde_json::{Map, Value};

use super::intrinsics::{EvalError, Evaluator, Node};
use crate::taskdef::{Diagnostic, Origins};

/// How a property's value is read.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A string, number or boolean, as written.
    Scalar,
    /// A string, also when written as a number (`Cpu: 256`).
    Text,
    /// A list of scalars.
    Scalars,
    /// An integer, also when written as a string (`Memory: "512"`, `!Ref Port`),
    /// as CloudFormation converts it.
    Int,
    /// A list of integers.
    Ints,
    /// A boolean, also when written as `"true"`/`"false"`.
    Bool,
    /// A map whose keys are the user's (log options, labels), kept as written.
    Map,
    Object(&'static [Field]),
    /// A list of objects.
    Objects(&'static [Field]),
}

/// One property: its name in the template, its name in the definition, its kind.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub cfn: &'static str,
    pub json: &'static str,
    pub kind: Kind,
}

const fn f(cfn: &'static str, json: &'static str, kind: Kind) -> Field {
    Field { cfn, json, kind }
}

use Kind::{
    Bool as B, Int as I, Ints as IS, Map as M, Object as O, Objects as L, Scalar as S,
    Scalars as SS, Text as T,
};

const KEY_VALUE: &[Field] = &[f("Name", "name", S), f("Value", "value", S)];
const SECRET: &[Field] = &[f("Name", "name", S), f("ValueFrom", "valueFrom", S)];

const CONTAINER: &[Field] = &[
    f("Command", "command", SS),
    f("Cpu", "cpu", I),
    f("CredentialSpecs", "credentialSpecs", SS),
    f(
        "DependsOn",
        "dependsOn",
        L(&[
            f("Condition", "condition", S),
            f("ContainerName", "containerName", S),
        ]),
    ),
    f("DisableNetworking", "disableNetworking", B),
    f("DnsSearchDomains", "dnsSearchDomains", SS),
    f("DnsServers", "dnsServers", SS),
    f("DockerLabels", "dockerLabels", M),
    f("DockerSecurityOptions", "dockerSecurityOptions", SS),
    f("EntryPoint", "entryPoint", SS),
    f("Environment", "environment", L(KEY_VALUE)),
    f(
        "EnvironmentFiles",
        "environmentFiles",
        L(&[f("Type", "type", S), f("Value", "value", S)]),
    ),
    f("Essential", "essential", B),
    f(
        "ExtraHosts",
        "extraHosts",
        L(&[f("Hostname", "hostname", S), f("IpAddress", "ipAddress", S)]),
    ),
    f(
        "FirelensConfiguration",
        "firelensConfiguration",
        O(&[f("Options", "options", M), f("Type", "type", S)]),
    ),
    f(
        "HealthCheck",
        "healthCheck",
        O(&[
            f("Command", "command", SS),
            f("Interval", "interval", I),
            f("Retries", "retries", I),
            f("StartPeriod", "startPeriod", I),
            f("Timeout", "timeout", I),
        ]),
    ),
    f("Hostname", "hostname", S),
    f("Image", "image", S),
    f("Interactive", "interactive", B),
    f("Links", "links", SS),
    f(
        "LinuxParameters",
        "linuxParameters",
        O(&[
            f(
                "Capabilities",
                "capabilities",
                O(&[f("Add", "add", SS), f("Drop", "drop", SS)]),
            ),
            f(
                "Devices",
                "devices",
                L(&[
                    f("ContainerPath", "containerPath", S),
                    f("HostPath", "hostPath", S),
                    f("Permissions", "permissions", SS),
                ]),
            ),
            f("InitProcessEnabled", "initProcessEnabled", B),
            f("MaxSwap", "maxSwap", I),
            f("SharedMemorySize", "sharedMemorySize", I),
            f("Swappiness", "swappiness", I),
            f(
                "Tmpfs",
                "tmpfs",
                L(&[
                    f("ContainerPath", "containerPath", S),
                    f("MountOptions", "mountOptions", SS),
                    f("Size", "size", I),
                ]),
            ),
        ]),
    ),
    f(
        "LogConfiguration",
        "logConfiguration",
        O(&[
            f("LogDriver", "logDriver", S),
            f("Options", "options", M),
            f("SecretOptions", "secretOptions", L(SECRET)),
        ]),
    ),
    f("Memory", "memory", I),
    f("MemoryReservation", "memoryReservation", I),
    f(
        "MountPoints",
        "mountPoints",
        L(&[
            f("ContainerPath", "containerPath", S),
            f("ReadOnly", "readOnly", B),
            f("SourceVolume", "sourceVolume", S),
        ]),
    ),
    f("Name", "name", S),
    f(
        "PortMappings",
        "portMappings",
        L(&[
            f("AppProtocol", "appProtocol", S),
            f("ContainerPort", "containerPort", I),
            f("ContainerPortRange", "containerPortRange", S),
            f("HostIp", "hostIp", S),
            f("HostPort", "hostPort", I),
            f("Name", "name", S),
            f("Protocol", "protocol", S),
        ]),
    ),
    f("Privileged", "privileged", B),
    f("PseudoTerminal", "pseudoTerminal", B),
    f("ReadonlyRootFilesystem", "readonlyRootFilesystem", B),
    f(
        "RepositoryCredentials",
        "repositoryCredentials",
        O(&[f("CredentialsParameter", "credentialsParameter", S)]),
    ),
    f(
        "ResourceRequirements",
        "resourceRequirements",
        L(&[f("Type", "type", S), f("Value", "value", T)]),
    ),
    f(
        "RestartPolicy",
        "restartPolicy",
        O(&[
            f("Enabled", "enabled", B),
            f("IgnoredExitCodes", "ignoredExitCodes", IS),
            f("RestartAttemptPeriod", "restartAttemptPeriod", I),
        ]),
    ),
    f("Secrets", "secrets", L(SECRET)),
    f("StartTimeout", "startTimeout", I),
    f("StopTimeout", "stopTimeout", I),
    f(
        "SystemControls",
        "systemControls",
        L(&[f("Namespace", "namespace", S), f("Value", "value", S)]),
    ),
    f(
        "Ulimits",
        "ulimits",
        L(&[
            f("HardLimit", "hardLimit", I),
            f("Name", "name", S),
            f("SoftLimit", "softLimit", I),
        ]),
    ),
    f("User", "user", S),
    f("VersionConsistency", "versionConsistency", S),
    f(
        "VolumesFrom",
        "volumesFrom",
        L(&[
            f("ReadOnly", "readOnly", B),
            f("SourceContainer", "sourceContainer", S),
        ]),
    ),
    f("WorkingDirectory", "workingDirectory", S),
];

const VOLUME: &[Field] = &[
    f("ConfiguredAtLaunch", "configuredAtLaunch", B),
    f(
        "DockerVolumeConfiguration",
        "dockerVolumeConfiguration",
        O(&[
            f("Autoprovision", "autoprovision", B),
            f("Driver", "driver", S),
            f("DriverOpts", "driverOpts", M),
            f("Labels", "labels", M),
            f("Scope", "scope", S),
        ]),
    ),
    f(
        "EFSVolumeConfiguration",
        "efsVolumeConfiguration",
        O(&[
            f(
                "AuthorizationConfig",
                "authorizationConfig",
                O(&[f("AccessPointId", "accessPointId", S), f("IAM", "iam", S)]),
            ),
            f("FilesystemId", "fileSystemId", S),
            f("RootDirectory", "rootDirectory", S),
            f("TransitEncryption", "transitEncryption", S),
            f("TransitEncryptionPort", "transitEncryptionPort", I),
        ]),
    ),
    f(
        "FSxWindowsFileServerVolumeConfiguration",
        "fsxWindowsFileServerVolumeConfiguration",
        O(&[
            f(
                "AuthorizationConfig",
                "authorizationConfig",
                O(&[
                    f("CredentialsParameter", "credentialsParameter", S),
                    f("Domain", "domain", S),
                ]),
            ),
            f("FileSystemId", "fileSystemId", S),
            f("RootDirectory", "rootDirectory", S),
        ]),
    ),
    f("Host", "host", O(&[f("SourcePath", "sourcePath", S)])),
    f("Name", "name", S),
];

/// The resource's properties.
pub const TASK_DEFINITION: &[Field] = &[
    f("ContainerDefinitions", "containerDefinitions", L(CONTAINER)),
    f("Cpu", "cpu", T),
    f("EnableFaultInjection", "enableFaultInjection", B),
    f(
        "EphemeralStorage",
        "ephemeralStorage",
        O(&[f("SizeInGiB", "sizeInGiB", I)]),
    ),
    f("ExecutionRoleArn", "executionRoleArn", S),
    f("Family", "family", S),
    f(
        "InferenceAccelerators",
        "inferenceAccelerators",
        L(&[
            f("DeviceName", "deviceName", S),
            f("DeviceType", "deviceType", S),
        ]),
    ),
    f("IpcMode", "ipcMode", S),
    f("Memory", "memory", T),
    f("NetworkMode", "networkMode", S),
    f("PidMode", "pidMode", S),
    f(
        "PlacementConstraints",
        "placementConstraints",
        L(&[f("Expression", "expression", S), f("Type", "type", S)]),
    ),
    f(
        "ProxyConfiguration",
        "proxyConfiguration",
        O(&[
            f("ContainerName", "containerName", S),
            f("ProxyConfigurationProperties", "properties", L(KEY_VALUE)),
            f("Type", "type", S),
        ]),
    ),
    f("RequiresCompatibilities", "requiresCompatibilities", SS),
    f(
        "RuntimePlatform",
        "runtimePlatform",
        O(&[
            f("CpuArchitecture", "cpuArchitecture", S),
            f("OperatingSystemFamily", "operatingSystemFamily", S),
        ]),
    ),
    f(
        "Tags",
        "tags",
        L(&[f("Key", "key", S), f("Value", "value", S)]),
    ),
    f("TaskRoleArn", "taskRoleArn", S),
    f("Volumes", "volumes", L(VOLUME)),
];

/// Schema properties deliberately not mapped, with the reason a user sees
/// when a template sets one.
pub const REFUSED: &[(&str, &str)] = &[
    (
        "TaskDefinitionArn",
        "read-only: CloudFormation reports it after creating the resource",
    ),
    (
        "ContainerDefinitions.ResourceRequirements.SharingStrategy",
        "GPU sharing (NVIDIA MPS) has no counterpart on a local engine",
    ),
    (
        "Volumes.S3FilesVolumeConfiguration",
        "S3 Files volumes are mounted by ECS's managed storage, which a local engine does not have",
    ),
];

/// The template paths (`ContainerDefinitions.Image`) the table maps, map-valued
/// properties included, for the coverage test.
#[must_use]
#[cfg(test)]
pub fn mapped_paths() -> Vec<String> {
    mapped_kinds().into_iter().map(|(path, _)| path).collect()
}

/// [`mapped_paths`] with each one's kind.
#[must_use]
#[cfg(test)]
pub fn mapped_kinds() -> Vec<(String, Kind)> {
    fn walk(fields: &[Field], prefix: &str, out: &mut Vec<(String, Kind)>) {
        for field in fields {
            let path = format!("{prefix}{}", field.cfn);
            out.push((path.clone(), field.kind));
            if let Kind::Object(inner) | Kind::Objects(inner) = field.kind {
                walk(inner, &format!("{path}."), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(TASK_DEFINITION, "", &mut out);
    out
}

/// Maps a resource's `Properties`, intrinsics evaluated on the way.
pub struct Mapper<'e, 't> {
    pub evaluator: &'e mut Evaluator<'t>,
    pub origins: Origins,
    pub warnings: Vec<Diagnostic>,
}

/// Teaches `origins` the template's name of every field of the table.
fn names(fields: &[Field], origins: &mut Origins) {
    for field in fields {
        origins.name(field.json, field.cfn);
        if let Kind::Object(inner) | Kind::Objects(inner) = field.kind {
            names(inner, origins);
        }
    }
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl Mapper<'_, '_> {
    /// `properties` at template path `at`, as a definition object.
    pub fn properties(&mut self, properties: &Value, at: &str) -> Result<Value, EvalError> {
        self.origins.insert("", at);
        names(TASK_DEFINITION, &mut self.origins);
        Ok(self
            .object(properties, at, "", TASK_DEFINITION, "")?
            .unwrap_or_else(|| Value::Object(Map::new())))
    }

    fn object(
        &mut self,
        value: &Value,
        at: &str,
        path: &str,
        fields: &'static [Field],
        schema_path: &str,
    ) -> Result<Option<Value>, EvalError> {
        let (value, at) = match self.evaluator.node(value, at)? {
            Node::Absent => return Ok(None),
            Node::At(v, at) => (std::borrow::Cow::Borrowed(v), at),
            Node::Computed(v, at) => (std::borrow::Cow::Owned(v), at),
        };
        let Value::Object(map) = value.as_ref() else {
            // Not an object: the loader reports the type at its path.
            return self.evaluator.eval(&value, &at);
        };
        let mut out = Map::new();
        for (key, item) in map {
            let item_at = child(&at, key);
            let Some(field) = fields.iter().find(|f| f.cfn == key) else {
                let full = child(schema_path, key);
                let message = match REFUSED.iter().find(|(p, _)| *p == full) {
                    Some((_, reason)) => format!("not read: {reason}"),
                    None => "unknown property, ignored".to_owned(),
                };
                self.warnings.push(Diagnostic::warning(item_at, message));
                continue;
            };
            let item_path = child(path, field.json);
            let schema_child = child(schema_path, field.cfn);
            if let Some(mapped) =
                self.field(item, &item_at, &item_path, field.kind, &schema_child)?
            {
                out.insert(field.json.to_owned(), mapped);
            }
        }
        Ok(Some(Value::Object(out)))
    }

    fn field(
        &mut self,
        value: &Value,
        at: &str,
        path: &str,
        kind: Kind,
        schema_path: &str,
    ) -> Result<Option<Value>, EvalError> {
        let mapped = match kind {
            Kind::Object(fields) => {
                let node_at = self.node_path(value, at)?;
                self.origins.insert(path, node_at);
                return self.object(value, at, path, fields, schema_path);
            }
            Kind::Objects(fields) => {
                let (value, list_at) = match self.evaluator.node(value, at)? {
                    Node::Absent => return Ok(None),
                    Node::At(v, a) => (std::borrow::Cow::Borrowed(v), a),
                    Node::Computed(v, a) => (std::borrow::Cow::Owned(v), a),
                };
                self.origins.insert(path, list_at.clone());
                let Value::Array(items) = value.as_ref() else {
                    return self.evaluator.eval(&value, &list_at);
                };
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let item_at = format!("{list_at}[{i}]");
                    let item_path = format!("{path}[{}]", out.len());
                    let node_at = self.node_path(item, &item_at)?;
                    self.origins.insert(&item_path, node_at);
                    if let Some(mapped) =
                        self.object(item, &item_at, &item_path, fields, schema_path)?
                    {
                        out.push(mapped);
                    }
                }
                Some(Value::Array(out))
            }
            Kind::Scalars | Kind::Ints => {
                let (value, list_at) = match self.evaluator.node(value, at)? {
                    Node::Absent => return Ok(None),
                    Node::At(v, a) => (std::borrow::Cow::Borrowed(v), a),
                    Node::Computed(v, a) => (std::borrow::Cow::Owned(v), a),
                };
                self.origins.insert(path, list_at.clone());
                let Value::Array(items) = value.as_ref() else {
                    return self.evaluator.eval(&value, &list_at);
                };
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let item_at = format!("{list_at}[{i}]");
                    let node_at = self.node_path(item, &item_at)?;
                    let evaluated = self.evaluator.eval(item, &item_at)?;
                    let evaluated = if matches!(kind, Kind::Ints) {
                        evaluated.map(coerce_int)
                    } else {
                        evaluated
                    };
                    if let Some(v) = evaluated {
                        self.origins
                            .insert(format!("{path}[{}]", out.len()), node_at);
                        out.push(v);
                    }
                }
                Some(Value::Array(out))
            }
            Kind::Scalar | Kind::Map => {
                let node_at = self.node_path(value, at)?;
                self.origins.insert(path, node_at);
                self.evaluator.eval(value, at)?
            }
            Kind::Int | Kind::Bool => {
                let node_at = self.node_path(value, at)?;
                self.origins.insert(path, node_at);
                self.evaluator.eval(value, at)?.map(|v| {
                    if matches!(kind, Kind::Int) {
                        coerce_int(v)
                    } else {
                        coerce_bool(v)
                    }
                })
            }
            Kind::Text => {
                let node_at = self.node_path(value, at)?;
                self.origins.insert(path, node_at);
                self.evaluator.eval(value, at)?.map(|v| match v {
                    Value::Number(n) => Value::String(n.to_string()),
                    other => other,
                })
            }
        };
        Ok(mapped)
    }

    /// The template path of what `value` stands for: a `Fn::If` branch's
    /// path, else its own.
    fn node_path(&mut self, value: &Value, at: &str) -> Result<String, EvalError> {
        if super::intrinsics::intrinsic(value).is_some_and(|(name, _)| name == "Fn::If") {
            if let Node::At(_, path) = self.evaluator.node(value, at)? {
                return Ok(path);
            }
        }
        Ok(at.to_owned())
    }
}

/// `"512"` → `512`, as CloudFormation reads an integer property; anything
/// else is left for the loader to report.
fn coerce_int(value: Value) -> Value {
    match &value {
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_or(value, |n| Value::Number(n.into())),
        _ => value,
    }
}

/// `"true"`/`"false"` → booleans, as CloudFormation reads a boolean property.
fn coerce_bool(value: Value) -> Value {
    match &value {
        Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every property path of the resource schema cfn-lint ships, walked
    /// through its `$ref`s; map-valued objects (no `properties`) are leaves.
    fn schema_paths(schema: &Value) -> BTreeSet<String> {
        fn walk(
            properties: &Map<String, Value>,
            defs: &Value,
            prefix: &str,
            out: &mut BTreeSet<String>,
            depth: usize,
        ) {
            for (name, property) in properties {
                let path = format!("{prefix}{name}");
                out.insert(path.clone());
                let target = property.get("items").unwrap_or(property);
                let resolved = target
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.rsplit('/').next())
                    .and_then(|name| defs.get(name))
                    .unwrap_or(target);
                if let Some(Value::Object(inner)) = resolved.get("properties")
                    && depth < 8
                {
                    walk(inner, defs, &format!("{path}."), out, depth + 1);
                }
            }
        }
        let mut out = BTreeSet::new();
        let defs = schema.get("definitions").cloned().unwrap_or(Value::Null);
        if let Some(Value::Object(properties)) = schema.get("properties") {
            walk(properties, &defs, "", &mut out, 0);
        }
        out
    }

    /// Each leaf property's JSON type (an array's item type), by path.
    fn schema_types(schema: &Value) -> Vec<(String, String)> {
        fn walk(
            properties: &Map<String, Value>,
            defs: &Value,
            prefix: &str,
            out: &mut Vec<(String, String)>,
            depth: usize,
        ) {
            for (name, property) in properties {
                let path = format!("{prefix}{name}");
                let target = property.get("items").unwrap_or(property);
                let resolved = target
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.rsplit('/').next())
                    .and_then(|name| defs.get(name))
                    .unwrap_or(target);
                if let Some(Value::Object(inner)) = resolved.get("properties") {
                    if depth < 8 {
                        walk(inner, defs, &format!("{path}."), out, depth + 1);
                    }
                } else if let Some(ty) = resolved.get("type").and_then(Value::as_str) {
                    out.push((path, ty.to_owned()));
                }
            }
        }
        let mut out = Vec::new();
        let defs = schema.get("definitions").cloned().unwrap_or(Value::Null);
        if let Some(Value::Object(properties)) = schema.get("properties") {
            walk(properties, &defs, "", &mut out, 0);
        }
        out
    }

    #[test]
    fn every_schema_property_is_mapped_or_refused() {
        let Some(path) = std::env::var_os("ECS_RUN_LOCAL_CFN_SCHEMA").filter(|p| !p.is_empty())
        else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "ECS_RUN_LOCAL_CFN_SCHEMA is not set; scripts/test exports it from cfn-lint"
            );
            eprintln!("skipped: ECS_RUN_LOCAL_CFN_SCHEMA is not set (scripts/test sets it)");
            return;
        };
        let text = std::fs::read_to_string(&path).expect("the schema file is readable");
        let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
        assert_eq!(schema["typeName"], "AWS::ECS::TaskDefinition");
        let in_schema = schema_paths(&schema);
        let mapped: BTreeSet<String> = mapped_paths().into_iter().collect();
        let refused = |p: &str| {
            REFUSED
                .iter()
                .any(|(r, _)| p == *r || p.starts_with(&format!("{r}.")))
        };
        let missing: Vec<&String> = in_schema
            .iter()
            .filter(|p| !mapped.contains(*p) && !refused(p))
            .collect();
        let refused_count = in_schema.iter().filter(|p| refused(p)).count();
        let mapped_count = in_schema.iter().filter(|p| mapped.contains(*p)).count();
        eprintln!(
            "AWS::ECS::TaskDefinition schema: {mapped_count} mapped, {refused_count} refused, {} total",
            in_schema.len()
        );
        assert!(
            missing.is_empty(),
            "schema properties neither mapped nor refused: {missing:?}"
        );
        let kinds: std::collections::BTreeMap<String, Kind> = mapped_kinds().into_iter().collect();
        let mut wrong = Vec::new();
        for (path, ty) in schema_types(&schema) {
            let Some(kind) = kinds.get(&path) else {
                continue;
            };
            let agrees = match ty.as_str() {
                "integer" => matches!(kind, Kind::Int | Kind::Ints),
                "boolean" => matches!(kind, Kind::Bool),
                _ => !matches!(kind, Kind::Int | Kind::Ints | Kind::Bool),
            };
            if !agrees {
                wrong.push(format!("{path}: {ty} read as {kind:?}"));
            }
        }
        assert!(
            wrong.is_empty(),
            "types that disagree with the schema: {wrong:?}"
        );
    }

    #[test]
    fn irregular_names_are_in_the_table() {
        let paths = mapped_paths();
        for p in [
            "Volumes.EFSVolumeConfiguration.FilesystemId",
            "Volumes.FSxWindowsFileServerVolumeConfiguration.AuthorizationConfig.Domain",
            "ProxyConfiguration.ProxyConfigurationProperties.Name",
            "EphemeralStorage.SizeInGiB",
            "ContainerDefinitions.LogConfiguration.Options",
        ] {
            assert!(paths.iter().any(|m| m == p), "{p}");
        }
    }
}
