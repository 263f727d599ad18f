//! `terraform show -json` output, for a saved plan (`planned_values`) or
//! for the state (`values`): an `aws_ecs_task_definition` resource, its
//! `snake_case` attributes and blocks mapped one by one, `container_definitions`
//! (a JSON string) read as the containers. Attributes the plan knows only
//! after apply (`resource_changes[].change.after_unknown`) stand as
//! placeholders naming the address and attribute.

use serde_json::{Map, Value};

use super::{Mapped, SourceError};
use crate::taskdef::{Diagnostic, Origins};

/// The resource type this reads.
pub const TASK_DEFINITION: &str = "aws_ecs_task_definition";

/// Whether `document` is Terraform's JSON output.
#[must_use]
pub fn is_terraform(document: &Value) -> bool {
    document.get("format_version").is_some()
        && (document.get("planned_values").is_some() || document.get("values").is_some())
}

/// A block attribute and how it maps.
enum Attr {
    /// A scalar attribute, to a definition field.
    Field(&'static str),
    /// A list of strings (a set in Terraform).
    List(&'static str),
    /// A map of strings to `[{key, value}]`.
    Tags(&'static str),
    /// Nested blocks: a list; `single` when the definition holds one object.
    Block {
        json: &'static str,
        single: bool,
        attrs: &'static [(&'static str, Attr)],
    },
    /// A map kept as written.
    Map(&'static str),
    /// A map to `[{name, value}]` (proxy configuration properties).
    NameValues(&'static str),
    /// Terraform's own bookkeeping or the provider's: not part of a definition.
    Ignored,
}

use Attr::{Block, Field as F, Ignored as I};

const AUTH_EFS: &[(&str, Attr)] = &[("access_point_id", F("accessPointId")), ("iam", F("iam"))];
const AUTH_FSX: &[(&str, Attr)] = &[
    ("credentials_parameter", F("credentialsParameter")),
    ("domain", F("domain")),
];

const VOLUME: &[(&str, Attr)] = &[
    ("name", F("name")),
    ("host_path", F("host.sourcePath")),
    ("configure_at_launch", F("configuredAtLaunch")),
    (
        "docker_volume_configuration",
        Block {
            json: "dockerVolumeConfiguration",
            single: true,
            attrs: &[
                ("autoprovision", F("autoprovision")),
                ("driver", F("driver")),
                ("driver_opts", Attr::Map("driverOpts")),
                ("labels", Attr::Map("labels")),
                ("scope", F("scope")),
            ],
        },
    ),
    (
        "efs_volume_configuration",
        Block {
            json: "efsVolumeConfiguration",
            single: true,
            attrs: &[
                ("file_system_id", F("fileSystemId")),
                ("root_directory", F("rootDirectory")),
                ("transit_encryption", F("transitEncryption")),
                ("transit_encryption_port", F("transitEncryptionPort")),
                (
                    "authorization_config",
                    Block {
                        json: "authorizationConfig",
                        single: true,
                        attrs: AUTH_EFS,
                    },
                ),
            ],
        },
    ),
    (
        "fsx_windows_file_server_volume_configuration",
        Block {
            json: "fsxWindowsFileServerVolumeConfiguration",
            single: true,
            attrs: &[
                ("file_system_id", F("fileSystemId")),
                ("root_directory", F("rootDirectory")),
                (
                    "authorization_config",
                    Block {
                        json: "authorizationConfig",
                        single: true,
                        attrs: AUTH_FSX,
                    },
                ),
            ],
        },
    ),
];

/// `aws_ecs_task_definition`'s arguments and attributes.
const RESOURCE: &[(&str, Attr)] = &[
    ("family", F("family")),
    ("task_role_arn", F("taskRoleArn")),
    ("execution_role_arn", F("executionRoleArn")),
    ("network_mode", F("networkMode")),
    ("ipc_mode", F("ipcMode")),
    ("pid_mode", F("pidMode")),
    ("cpu", F("cpu")),
    ("memory", F("memory")),
    ("enable_fault_injection", F("enableFaultInjection")),
    (
        "requires_compatibilities",
        Attr::List("requiresCompatibilities"),
    ),
    ("tags", Attr::Tags("tags")),
    (
        "volume",
        Block {
            json: "volumes",
            single: false,
            attrs: VOLUME,
        },
    ),
    (
        "placement_constraints",
        Block {
            json: "placementConstraints",
            single: false,
            attrs: &[("type", F("type")), ("expression", F("expression"))],
        },
    ),
    (
        "inference_accelerator",
        Block {
            json: "inferenceAccelerators",
            single: false,
            attrs: &[
                ("device_name", F("deviceName")),
                ("device_type", F("deviceType")),
            ],
        },
    ),
    (
        "proxy_configuration",
        Block {
            json: "proxyConfiguration",
            single: true,
            attrs: &[
                ("container_name", F("containerName")),
                ("type", F("type")),
                ("properties", Attr::NameValues("properties")),
            ],
        },
    ),
    (
        "runtime_platform",
        Block {
            json: "runtimePlatform",
            single: true,
            attrs: &[
                ("operating_system_family", F("operatingSystemFamily")),
                ("cpu_architecture", F("cpuArchitecture")),
            ],
        },
    ),
    (
        "ephemeral_storage",
        Block {
            json: "ephemeralStorage",
            single: true,
            attrs: &[("size_in_gib", F("sizeInGiB"))],
        },
    ),
    // Read on their own below, or not part of the definition.
    ("container_definitions", I),
    ("arn", I),
    ("arn_without_revision", I),
    ("id", I),
    ("revision", I),
    ("region", I),
    ("skip_destroy", I),
    ("track_latest", I),
    ("tags_all", I),
];

struct Walk<'a> {
    address: &'a str,
    origins: Origins,
    warnings: Vec<Diagnostic>,
    placeholders: Vec<String>,
}

impl Walk<'_> {
    #[expect(
        clippy::too_many_lines,
        reason = "the provider's blocks of `aws_ecs_task_definition`, one mapping after another"
    )]
    fn block(
        &mut self,
        values: &Map<String, Value>,
        unknown: &Value,
        attrs: &[(&str, Attr)],
        at: &str,
        path: &str,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        let mut names: Vec<&str> = values.keys().map(String::as_str).collect();
        // Unknown attributes are absent from `values`: add them.
        if let Value::Object(u) = unknown {
            for (k, v) in u {
                if !names.contains(&k.as_str()) && v == &Value::Bool(true) {
                    names.push(k);
                }
            }
        }
        for name in names {
            let value = values.get(name).unwrap_or(&Value::Null);
            let item_at = format!("{at}.{name}");
            let Some((_, attr)) = attrs.iter().find(|(n, _)| *n == name) else {
                if !value.is_null() {
                    self.warnings
                        .push(Diagnostic::warning(item_at, "unknown attribute, ignored"));
                }
                continue;
            };
            let unknown_here = unknown.get(name).unwrap_or(&Value::Null);
            if unknown_here == &Value::Bool(true) && !matches!(attr, I) {
                if let F(json) = attr {
                    let text = format!("<{item_at}: known after apply>");
                    self.placeholders.push(text.clone());
                    insert_dotted(&mut out, json, Value::String(text));
                    self.origins.insert(join(path, json), item_at);
                } else {
                    self.warnings.push(Diagnostic::warning(
                        item_at,
                        "known only after apply; left out",
                    ));
                }
                continue;
            }
            if value.is_null() {
                continue;
            }
            match attr {
                I => {}
                F(json) => {
                    if matches!(value, Value::String(s) if s.is_empty()) {
                        continue;
                    }
                    self.origins.insert(join(path, json), item_at);
                    insert_dotted(&mut out, json, value.clone());
                }
                Attr::List(json) | Attr::Map(json) => {
                    self.origins.insert(join(path, json), item_at);
                    out.insert((*json).to_owned(), value.clone());
                }
                Attr::Tags(json) | Attr::NameValues(json) => {
                    let (k, v) = if matches!(attr, Attr::Tags(_)) {
                        ("key", "value")
                    } else {
                        ("name", "value")
                    };
                    let pairs: Vec<Value> = value
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(key, value)| {
                                    Value::Object(Map::from_iter([
                                        (k.to_owned(), Value::String(key.clone())),
                                        (v.to_owned(), value.clone()),
                                    ]))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    self.origins.insert(join(path, json), item_at);
                    if !pairs.is_empty() {
                        out.insert((*json).to_owned(), Value::Array(pairs));
                    }
                }
                Block {
                    json,
                    single,
                    attrs,
                } => {
                    let Value::Array(items) = value else {
                        continue;
                    };
                    let mut mapped = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        let Value::Object(item) = item else { continue };
                        let item_at = format!("{item_at}[{i}]");
                        let item_path = if *single {
                            join(path, json)
                        } else {
                            format!("{}[{i}]", join(path, json))
                        };
                        self.origins.insert(item_path.clone(), item_at.clone());
                        let item_unknown = unknown_here.get(i).unwrap_or(&Value::Null);
                        mapped.push(Value::Object(self.block(
                            item,
                            item_unknown,
                            attrs,
                            &item_at,
                            &item_path,
                        )));
                    }
                    if *single {
                        if let Some(first) = mapped.into_iter().next() {
                            out.insert((*json).to_owned(), first);
                        }
                    } else if !mapped.is_empty() {
                        self.origins.insert(join(path, json), item_at);
                        out.insert((*json).to_owned(), Value::Array(mapped));
                    }
                }
            }
        }
        out
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Inserts at a dotted key (`host.sourcePath`), making the objects on the way.
fn insert_dotted(out: &mut Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        Some((head, rest)) => {
            let entry = out
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = entry {
                insert_dotted(inner, rest, value);
            }
        }
        None => {
            out.insert(key.to_owned(), value);
        }
    }
}

/// Every `aws_ecs_task_definition` of a module and its children.
fn collect<'a>(module: &'a Value, out: &mut Vec<&'a Value>) {
    if let Some(Value::Array(resources)) = module.get("resources") {
        out.extend(resources.iter().filter(|r| {
            r.get("type").and_then(Value::as_str) == Some(TASK_DEFINITION)
                && r.get("mode").and_then(Value::as_str) != Some("data")
        }));
    }
    if let Some(Value::Array(children)) = module.get("child_modules") {
        for child in children {
            collect(child, out);
        }
    }
}

/// The resource `--resource` names (or the only one), mapped.
#[expect(
    clippy::too_many_lines,
    reason = "the resource's attributes in the provider's order, each mapped where the table says"
)]
pub fn map(
    document: &Value,
    resource: Option<&str>,
    source_name: &str,
) -> Result<Mapped, SourceError> {
    let fail = |message: String| SourceError::Terraform {
        source_name: source_name.to_owned(),
        message,
    };
    let version = match document.get("format_version") {
        Some(Value::String(v)) => v.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    if version.split('.').next() != Some("1") {
        return Err(SourceError::FormatVersion {
            source_name: source_name.to_owned(),
            version,
        });
    }
    let root = document
        .pointer("/planned_values/root_module")
        .or_else(|| document.pointer("/values/root_module"))
        .ok_or_else(|| {
            fail("it has neither `planned_values.root_module` nor `values.root_module`".into())
        })?;
    let mut all = Vec::new();
    collect(root, &mut all);
    let address_of = |r: &Value| {
        r.get("address")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let listing = || {
        all.iter()
            .map(|r| format!("`{}`", address_of(r)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let chosen = match resource {
        Some(wanted) => all
            .iter()
            .find(|r| address_of(r) == wanted)
            .or_else(|| {
                // `module.api.aws_ecs_task_definition.this` for its only instance.
                let mut matching = all.iter().filter(|r| {
                    let a = address_of(r);
                    a.strip_prefix(wanted)
                        .is_some_and(|rest| rest.starts_with('['))
                });
                let first = matching.next();
                first.filter(|_| matching.next().is_none())
            })
            .copied()
            .ok_or_else(|| SourceError::UnknownResource {
                source_name: source_name.to_owned(),
                resource: wanted.to_owned(),
                candidates: if all.is_empty() {
                    "none".to_owned()
                } else {
                    listing()
                },
            })?,
        None => match all.len() {
            0 => {
                return Err(fail(format!("it has no `{TASK_DEFINITION}` resource")));
            }
            1 => all[0],
            _ => {
                return Err(SourceError::Ambiguous {
                    source_name: source_name.to_owned(),
                    candidates: listing(),
                });
            }
        },
    };
    let address = address_of(chosen);
    let empty = Map::new();
    let values = chosen
        .get("values")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let unknown = document
        .get("resource_changes")
        .and_then(Value::as_array)
        .and_then(|changes| {
            changes
                .iter()
                .find(|c| c.get("address").and_then(Value::as_str) == Some(address.as_str()))
        })
        .and_then(|c| c.pointer("/change/after_unknown"))
        .cloned()
        .unwrap_or(Value::Null);
    let mut walk = Walk {
        address: &address,
        origins: Origins::default(),
        warnings: Vec::new(),
        placeholders: Vec::new(),
    };
    walk.origins.insert("", address.clone());
    let mut definition = walk.block(values, &unknown, RESOURCE, &address, "");

    let at = format!("{}.container_definitions", walk.address);
    if unknown.get("container_definitions") == Some(&Value::Bool(true)) {
        return Err(fail(format!(
            "{at}: the containers are known only after apply; render the definition once it is applied (`terraform show -json` of the state)"
        )));
    }
    match values.get("container_definitions") {
        Some(Value::String(text)) => {
            let containers: Value = serde_json::from_str(text)
                .map_err(|e| fail(format!("{at}: not a JSON array of containers: {e}")))?;
            walk.origins.insert("containerDefinitions", at.clone());
            if let Value::Array(items) = &containers {
                for i in 0..items.len() {
                    walk.origins
                        .insert(format!("containerDefinitions[{i}]"), format!("{at}[{i}]"));
                }
            }
            definition.insert("containerDefinitions".into(), containers);
        }
        Some(Value::Array(items)) => {
            walk.origins.insert("containerDefinitions", at.clone());
            definition.insert("containerDefinitions".into(), Value::Array(items.clone()));
        }
        _ => return Err(fail(format!("{at} is missing"))),
    }
    let family = values
        .get("family")
        .and_then(Value::as_str)
        .unwrap_or("task")
        .to_owned();
    Ok(Mapped {
        definition: Value::Object(definition),
        origins: walk.origins,
        warnings: walk.warnings,
        placeholders: walk.placeholders,
        family,
    })
}
