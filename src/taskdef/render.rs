//! `render`: the definition a run uses, written as `aws ecs
//! register-task-definition --cli-input-json` input, so that what was
//! smoke-tested is what gets registered.
//!
//! It starts from the document as the user has it (every field kept, secrets
//! left as references, describe output's `tags` in the register shape), drops
//! the fields only ECS writes, and writes in exactly what the overrides,
//! `--image` and `-e` changed, from the overridden definition.

use serde_json::{Map, Value, json};

use super::load::Loaded;
use super::model::{ContainerDefinition, EnvironmentFileType, KeyValuePair, TaskSize};

/// The fields `DescribeTaskDefinition` returns that `RegisterTaskDefinition`
/// refuses.
pub const READ_ONLY_FIELDS: [&str; 8] = [
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
];

/// The register input for the loaded, overridden definition.
#[must_use]
pub fn register_input(loaded: &Loaded) -> Value {
    let mut document = loaded.document.clone();
    for field in READ_ONLY_FIELDS {
        document.shift_remove(field);
    }
    if document
        .get("tags")
        .is_some_and(|t| t.as_array().is_some_and(Vec::is_empty))
    {
        document.shift_remove("tags");
    }
    let definition = &loaded.definition;
    for overridden in &loaded.overridden {
        let path = overridden.path.as_str();
        if let Some(rest) = path.strip_prefix("containerDefinitions[") {
            let Some((index, field)) = rest.split_once("].") else {
                continue;
            };
            let Ok(index) = index.parse::<usize>() else {
                continue;
            };
            let (Some(container), Some(Value::Object(target))) = (
                definition.container_definitions.get(index),
                document
                    .get_mut("containerDefinitions")
                    .and_then(|c| c.get_mut(index)),
            ) else {
                continue;
            };
            // `environment[3]` writes the whole list.
            let field = field.split('[').next().unwrap_or(field);
            if let Some(value) = container_field(container, field) {
                target.insert(field.to_owned(), value);
            }
        } else if let Some(value) = task_field(loaded, path) {
            document.insert(path.to_owned(), value);
        }
    }
    let mut rendered = Value::Object(document);
    drop_nulls(&mut rendered);
    rendered
}

/// `register-task-definition` refuses `null` where a value is expected: a
/// field the document holds as `null` is one it does not set.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// Why `image` is not a reference Docker can pull, if it is not: a name of
/// lowercase path components (after an optional registry host), an optional
/// `:TAG` and an optional `@ALGORITHM:HEX` digest.
#[must_use]
pub fn image_reference_problem(image: &str) -> Option<&'static str> {
    let (rest, digest) = match image.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (image, None),
    };
    if let Some(digest) = digest {
        let ok = digest.split_once(':').is_some_and(|(algorithm, hex)| {
            !algorithm.is_empty()
                && algorithm
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
                && hex.len() >= 32
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
        });
        if !ok {
            return Some("its digest is not ALGORITHM:HEX");
        }
    }
    // A tag follows the last `:` that comes after the last `/`.
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(tag) = tag {
        let ok = !tag.is_empty()
            && tag.len() <= 128
            && !tag.starts_with(['.', '-'])
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !ok {
            return Some("its tag may hold only letters, digits, `_`, `.` and `-` (at most 128)");
        }
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    // The first part is a registry host when it has a `.` or a `:`, or is `localhost`.
    if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
        let host = parts.remove(0);
        if !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        {
            return Some("its registry host is not a host name");
        }
    }
    let component = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            && p.starts_with(|c: char| c.is_ascii_alphanumeric())
            && p.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    if parts.is_empty() || !parts.iter().all(|p| component(p)) {
        return Some("its repository name must be lowercase letters, digits and separators");
    }
    None
}

fn container_field(container: &ContainerDefinition, field: &str) -> Option<Value> {
    Some(match field {
        "image" => json!(container.image),
        "command" => json!(container.command),
        "environment" => Value::Array(container.environment.iter().map(pair).collect()),
        "environmentFiles" => Value::Array(
            container
                .environment_files
                .iter()
                .map(|f| {
                    let mut file = Map::new();
                    file.insert("value".into(), json!(f.value));
                    if let Some(EnvironmentFileType::S3) = f.kind {
                        file.insert("type".into(), json!("s3"));
                    }
                    Value::Object(file)
                })
                .collect(),
        ),
        "cpu" => json!(container.cpu),
        "memory" => json!(container.memory),
        "memoryReservation" => json!(container.memory_reservation),
        _ => return None,
    })
}

fn task_field(loaded: &Loaded, field: &str) -> Option<Value> {
    let definition = &loaded.definition;
    let size = |size: &Option<TaskSize>| match size {
        // The API takes task sizes as strings.
        Some(TaskSize::Number(n)) => json!(n.to_string()),
        Some(TaskSize::Text(text)) => json!(text),
        None => Value::Null,
    };
    Some(match field {
        "taskRoleArn" => json!(definition.task_role_arn),
        "executionRoleArn" => json!(definition.execution_role_arn),
        "cpu" => size(&definition.cpu),
        "memory" => size(&definition.memory),
        _ => return None,
    })
}

fn pair(kv: &KeyValuePair) -> Value {
    json!({ "name": kv.name, "value": kv.value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taskdef::overrides::{TaskOverride, apply};

    #[test]
    fn image_references_are_read_as_docker_reads_them() {
        for fine in [
            "busybox",
            "busybox:1.36",
            "library/busybox:latest",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1.2.3",
            "localhost:5000/team/app",
            "public.ecr.aws/docker/library/nginx:1.27-alpine",
            "app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(image_reference_problem(fine), None, "{fine}");
        }
        for bad in [
            "Upper/Case:1",
            "app:",
            "app:bad tag",
            "a b",
            "app@sha256:xyz",
            "",
            "app/:1",
            "-app",
        ] {
            assert!(image_reference_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn nulls_are_not_rendered() {
        let out = rendered(
            r#"{"family":"f","taskRoleArn":null,"containerDefinitions":[{"name":"a","image":"i","memory":64,"command":null,"environment":[{"name":"K","value":"v"}]}]}"#,
            None,
            &[],
            &[],
        );
        assert_eq!(
            out,
            json!({"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64,"environment":[{"name":"K","value":"v"}]}]})
        );
    }

    fn rendered(document: &str, overrides: Option<&str>, env: &[&str], images: &[&str]) -> Value {
        let mut loaded = crate::taskdef::load_str(document, "t.json", "t").unwrap();
        let overrides = overrides.map(|o| TaskOverride::read(o).unwrap());
        let env: Vec<_> = env.iter().map(|e| e.parse().unwrap()).collect();
        let images: Vec<_> = images.iter().map(|i| i.parse().unwrap()).collect();
        loaded.overridden =
            apply(&mut loaded.definition, overrides.as_ref(), &env, &images).unwrap();
        register_input(&loaded)
    }

    #[test]
    fn describe_output_becomes_register_input_with_its_tags_and_the_new_image() {
        let described = r#"{"taskDefinition":{
            "taskDefinitionArn":"arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
            "family":"web","revision":7,"status":"ACTIVE","cpu":256,"memory":"512",
            "requiresAttributes":[{"name":"com.amazonaws.ecs.capability.docker-remote-api.1.18"}],
            "compatibilities":["EC2","FARGATE"],"registeredAt":"2026-11-30T10:00:00Z",
            "registeredBy":"arn:aws:iam::123456789012:user/ci",
            "containerDefinitions":[{"name":"app","image":"app:old","essential":true,
              "secrets":[{"name":"DB","valueFrom":"arn:aws:ssm:eu-west-1:123456789012:parameter/db"}],
              "environment":[{"name":"A","value":"1"}],"futureField":{"kept":true}},
              {"name":"sidecar","image":"envoy:1"}]},
          "tags":[{"key":"team","value":"payments"}]}"#;
        let out = rendered(
            described,
            Some(r#"{"cpu":"512","containerOverrides":[{"name":"app","command":["serve"]}]}"#),
            &["app:B=2"],
            &["app=app:abc123"],
        );
        for field in READ_ONLY_FIELDS {
            assert!(out.get(field).is_none(), "{field} in {out}");
        }
        assert_eq!(out["family"], "web");
        assert_eq!(out["cpu"], "512");
        assert_eq!(out["memory"], "512");
        assert_eq!(out["tags"], json!([{"key":"team","value":"payments"}]));
        let app = &out["containerDefinitions"][0];
        assert_eq!(app["image"], "app:abc123");
        assert_eq!(app["command"], json!(["serve"]));
        assert_eq!(
            app["environment"],
            json!([{"name":"A","value":"1"},{"name":"B","value":"2"}])
        );
        assert_eq!(
            app["secrets"][0]["valueFrom"],
            "arn:aws:ssm:eu-west-1:123456789012:parameter/db"
        );
        assert_eq!(app["futureField"], json!({"kept": true}));
        assert_eq!(
            out["containerDefinitions"][1],
            json!({"name":"sidecar","image":"envoy:1"})
        );
    }

    #[test]
    fn a_bare_register_input_without_changes_comes_back_as_it_was() {
        let input = json!({"family":"job","networkMode":"awsvpc",
            "containerDefinitions":[{"name":"run","image":"job:1","command":["go"]}]});
        assert_eq!(rendered(&input.to_string(), None, &[], &[]), input);
    }
}
