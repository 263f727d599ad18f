//! `secrets[].valueFrom`, resolved on the host before any container exists:
//! SSM parameters by name or ARN (`SecureString` decrypted) and Secrets Manager
//! secrets by ARN with the `:json-key:version-stage:version-id` suffix. The
//! values go into the containers' environment at creation and nowhere else:
//! not into the plan, a label, a file or a log line.

use std::collections::{BTreeMap, HashMap};

use crate::aws::Aws;
use crate::plan::Plan;
use crate::taskdef::secret::SecretRef;

/// Why a secret could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read secret `{variable}` of container `{container}` from `{value_from}`: {reason}")]
pub struct SecretError {
    pub container: String,
    pub variable: String,
    pub value_from: String,
    pub reason: String,
}

/// Secret values by container name, as `NAME=value` entries.
#[derive(Default, Clone)]
pub struct Resolved {
    by_container: HashMap<String, Vec<String>>,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counts: BTreeMap<&str, usize> = self
            .by_container
            .iter()
            .map(|(k, v)| (k.as_str(), v.len()))
            .collect();
        f.debug_struct("Resolved")
            .field("secrets", &counts)
            .finish()
    }
}

impl Resolved {
    /// The `NAME=value` entries of a container.
    #[must_use]
    pub fn environment(&self, container: &str) -> &[String] {
        self.by_container.get(container).map_or(&[], Vec::as_slice)
    }
}

/// Reads every secret of the plan, each source once.
pub async fn resolve(aws: &Aws, plan: &Plan) -> Result<Resolved, SecretError> {
    let mut cache: HashMap<String, String> = HashMap::new();
    let mut resolved = Resolved::default();
    for c in &plan.containers {
        for secret in &c.secrets {
            let fail = |reason: String| SecretError {
                container: c.name.clone(),
                variable: secret.name.clone(),
                value_from: secret.value_from.clone(),
                reason,
            };
            let value = if let Some(value) = cache.get(&secret.value_from) {
                value.clone()
            } else {
                let reference = SecretRef::parse(&secret.value_from).map_err(&fail)?;
                let value = read(aws, &reference).await.map_err(&fail)?;
                cache.insert(secret.value_from.clone(), value.clone());
                value
            };
            resolved
                .by_container
                .entry(c.name.clone())
                .or_default()
                .push(format!("{}={value}", secret.name));
        }
    }
    Ok(resolved)
}

pub(crate) async fn read(aws: &Aws, reference: &SecretRef) -> Result<String, String> {
    match reference {
        SecretRef::Parameter { name, region } => {
            let client = aws_sdk_ssm::Client::new(&aws.config_in(region.as_deref()));
            let output = client
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| aws.explain(crate::aws::Service::Ssm, region.as_deref(), &e))?;
            output
                .parameter
                .and_then(|p| p.value)
                .ok_or_else(|| "the parameter has no value".to_owned())
        }
        SecretRef::SecretsManager {
            secret_id,
            region,
            json_key,
            version_stage,
            version_id,
        } => {
            let client = aws_sdk_secretsmanager::Client::new(&aws.config_in(Some(region)));
            let output = client
                .get_secret_value()
                .secret_id(secret_id)
                .set_version_stage(version_stage.clone())
                .set_version_id(version_id.clone())
                .send()
                .await
                .map_err(|e| aws.explain(crate::aws::Service::SecretsManager, Some(region), &e))?;
            let text = output
                .secret_string
                .ok_or_else(|| "the secret has no string value (a binary secret)".to_owned())?;
            match json_key {
                None => Ok(text),
                Some(key) => json_value(&text, key),
            }
        }
    }
}

/// The value at `key` of a JSON secret, as ECS gives it: a string as it is,
/// anything else as its JSON text.
fn json_value(text: &str, key: &str) -> Result<String, String> {
    let document: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| format!("the secret is not JSON, so it has no key `{key}`"))?;
    match document.get(key) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(other) => Ok(other.to_string()),
        None => Err(format!("the secret's JSON has no key `{key}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keys_pick_a_value_as_ecs_does() {
        let secret = r#"{"username":"app","password":"s3cret","port":5432}"#;
        assert_eq!(json_value(secret, "password").unwrap(), "s3cret");
        assert_eq!(json_value(secret, "port").unwrap(), "5432");
        assert!(
            json_value(secret, "nope")
                .unwrap_err()
                .contains("no key `nope`")
        );
        assert!(json_value("plain", "x").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn resolved_secrets_never_print_their_values() {
        let mut resolved = Resolved::default();
        resolved
            .by_container
            .insert("app".into(), vec!["DB_PASSWORD=s3cret".into()]);
        assert!(!format!("{resolved:?}").contains("s3cret"));
        assert_eq!(resolved.environment("app"), ["DB_PASSWORD=s3cret"]);
        assert!(resolved.environment("other").is_empty());
    }
}
