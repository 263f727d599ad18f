//! What a `valueFrom` names: an SSM parameter (by name or ARN) or a Secrets
//! Manager secret, with the optional `:json-key:version-stage:version-id`
//! suffix that ECS reads from it.

/// A parsed `secrets[].valueFrom` (or `repositoryCredentials`/`secretOptions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An SSM parameter: a name (`/prod/db/password`) in the task's region, or
    /// a full ARN in any region.
    Parameter {
        name: String,
        /// Region and account when given as an ARN.
        region: Option<String>,
    },
    /// A Secrets Manager secret and which part of which version of it to read.
    SecretsManager {
        /// The ARN without the ECS suffix: what `GetSecretValue` takes as `SecretId`.
        secret_id: String,
        region: String,
        json_key: Option<String>,
        version_stage: Option<String>,
        version_id: Option<String>,
    },
}

impl SecretRef {
    /// Parses `valueFrom` as ECS does, or says why it cannot be one.
    pub fn parse(value_from: &str) -> Result<SecretRef, String> {
        if value_from.trim().is_empty() {
            return Err(
                "is empty; expected an SSM parameter name or ARN, or a Secrets Manager ARN".into(),
            );
        }
        if value_from.chars().any(char::is_whitespace) {
            return Err(format!("`{value_from}` contains white space"));
        }
        if !value_from.starts_with("arn:") {
            return Ok(SecretRef::Parameter {
                name: value_from.to_owned(),
                region: None,
            });
        }
        let parts: Vec<&str> = value_from.split(':').collect();
        let service = parts.get(2).copied().unwrap_or_default();
        match service {
            "ssm" => {
                let resource = parts.get(5..).map(|p| p.join(":")).unwrap_or_default();
                let name = resource
                    .strip_prefix("parameter")
                    .filter(|n| n.starts_with('/') && n.len() > 1)
                    .ok_or_else(|| {
                        format!("`{value_from}` is not an SSM parameter ARN (`arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`)")
                    })?;
                // `parameter/name` names `name`; `parameter/a/b` names `/a/b`.
                let name = if name[1..].contains('/') {
                    name
                } else {
                    &name[1..]
                };
                Ok(SecretRef::Parameter {
                    name: name.to_owned(),
                    region: Some(parts[3].to_owned()).filter(|r| !r.is_empty()),
                })
            }
            "secretsmanager" => {
                let shape_hint = "expected `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME` with an optional `:json-key:version-stage:version-id` (all three colons, empty parts allowed)";
                if !(parts.len() == 7 || parts.len() == 10)
                    || parts[5] != "secret"
                    || parts[6].is_empty()
                {
                    return Err(format!(
                        "`{value_from}` is not a Secrets Manager ARN: {shape_hint}"
                    ));
                }
                let part = |i: usize| {
                    parts
                        .get(i)
                        .filter(|p| !p.is_empty())
                        .map(|p| (*p).to_owned())
                };
                let version_stage = part(8);
                let version_id = part(9);
                if version_stage.is_some() && version_id.is_some() {
                    return Err(format!(
                        "`{value_from}` names both a version stage and a version id; give one of them"
                    ));
                }
                Ok(SecretRef::SecretsManager {
                    secret_id: parts[..7].join(":"),
                    region: parts[3].to_owned(),
                    json_key: part(7),
                    version_stage,
                    version_id,
                })
            }
            other => Err(format!(
                "`{value_from}` is an ARN of `{other}`; expected an SSM parameter or a Secrets Manager secret"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_names_and_arns() {
        assert_eq!(
            SecretRef::parse("/prod/db/password"),
            Ok(SecretRef::Parameter {
                name: "/prod/db/password".into(),
                region: None
            })
        );
        assert_eq!(
            SecretRef::parse("arn:aws:ssm:eu-west-1:111122223333:parameter/app/token"),
            Ok(SecretRef::Parameter {
                name: "/app/token".into(),
                region: Some("eu-west-1".into())
            })
        );
        assert_eq!(
            SecretRef::parse("arn:aws:ssm:us-east-1:111122223333:parameter/plain"),
            Ok(SecretRef::Parameter {
                name: "plain".into(),
                region: Some("us-east-1".into())
            })
        );
        assert!(SecretRef::parse("arn:aws:ssm:us-east-1:1:document/x").is_err());
    }

    #[test]
    fn secrets_manager_with_and_without_suffix() {
        let arn = "arn:aws:secretsmanager:us-west-2:111122223333:secret:db-AbCdEf";
        assert_eq!(
            SecretRef::parse(arn),
            Ok(SecretRef::SecretsManager {
                secret_id: arn.into(),
                region: "us-west-2".into(),
                json_key: None,
                version_stage: None,
                version_id: None
            })
        );
        let SecretRef::SecretsManager {
            json_key,
            version_stage,
            ..
        } = SecretRef::parse(&format!("{arn}:username:AWSPREVIOUS:")).unwrap()
        else {
            panic!("not a secret")
        };
        assert_eq!(json_key.as_deref(), Some("username"));
        assert_eq!(version_stage.as_deref(), Some("AWSPREVIOUS"));
    }

    #[test]
    fn malformed_value_from_is_explained() {
        let arn = "arn:aws:secretsmanager:us-west-2:111122223333:secret:db";
        assert!(
            SecretRef::parse(&format!("{arn}:username"))
                .unwrap_err()
                .contains("all three colons")
        );
        assert!(
            SecretRef::parse(&format!("{arn}::AWSCURRENT:v1"))
                .unwrap_err()
                .contains("both")
        );
        assert!(
            SecretRef::parse("arn:aws:s3:::bucket/key")
                .unwrap_err()
                .contains("`s3`")
        );
        assert!(SecretRef::parse("").is_err());
        assert!(SecretRef::parse("my secret").is_err());
    }
}
