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
    Value::Object(document)
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
