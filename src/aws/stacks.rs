//! What a deployed CloudFormation stack knows and a template does not, read
//! for `--stack`: its parameters (SSM-typed ones as CloudFormation resolved
//! them), outputs, its resources' physical ids, and the account's exports;
//! and the SSM parameters and secrets that a template's dynamic references
//! (`{{resolve:ssm:…}}`, `{{resolve:secretsmanager:…}}`) name. Plain data
//! for [`crate::source::Context`], which the template is evaluated with.

use std::collections::BTreeMap;

use crate::aws::{Aws, Service};

/// A deployed stack, as the evaluation of its template needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployedStack {
    pub name: String,
    /// The stack's ARN (`AWS::StackId`).
    pub id: String,
    /// The region and account of the stack's ARN.
    pub region: Option<String>,
    pub account: Option<String>,
    /// Parameter values as deployed.
    pub parameters: BTreeMap<String, String>,
    /// SSM-typed parameters: the parameter's name in SSM and the value
    /// CloudFormation resolved it to.
    pub resolved: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    /// Logical id → physical id of every resource.
    pub physical_ids: BTreeMap<String, String>,
    /// The account's exports in the stack's region.
    pub exports: BTreeMap<String, String>,
}

/// Why a stack or a referenced value could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("stack `{stack}` does not exist in {region} (`--stack`)")]
    NotFound { stack: String, region: String },
    #[error("cannot read stack `{stack}` from CloudFormation with {profile}: {reason}")]
    Read {
        stack: String,
        profile: String,
        reason: String,
    },
    #[error("cannot read `{reference}` with {profile}: {reason}")]
    Reference {
        reference: String,
        profile: String,
        reason: String,
    },
}

impl StackError {
    /// Whether the user named a stack that is not there (bad input), rather
    /// than AWS failing to answer.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, StackError::NotFound { .. })
    }
}

/// Reads stack `name`: `DescribeStacks`, `ListStackResources` and `ListExports`.
#[expect(
    clippy::too_many_lines,
    reason = "three paginated reads of one stack, each with its own error mapping"
)]
pub async fn describe(aws: &Aws, name: &str) -> Result<DeployedStack, StackError> {
    let client = aws_sdk_cloudformation::Client::new(aws.config());
    let read = |reason: String| StackError::Read {
        stack: name.to_owned(),
        profile: aws.profile_description(),
        reason,
    };
    let described = match client.describe_stacks().stack_name(name).send().await {
        Ok(described) => described,
        Err(e) => {
            let missing = e.as_service_error().is_some_and(|s| {
                aws_sdk_cloudformation::error::ProvideErrorMetadata::message(s)
                    .is_some_and(|m| m.contains("does not exist"))
            });
            if missing {
                return Err(StackError::NotFound {
                    stack: name.to_owned(),
                    region: aws
                        .config()
                        .region()
                        .map_or_else(|| "the default region".to_owned(), |r| format!("`{r}`")),
                });
            }
            return Err(read(aws.explain(Service::CloudFormation, None, &e)));
        }
    };
    let Some(stack) = described.stacks.unwrap_or_default().into_iter().next() else {
        return Err(StackError::NotFound {
            stack: name.to_owned(),
            region: aws
                .config()
                .region()
                .map_or_else(|| "the default region".to_owned(), |r| format!("`{r}`")),
        });
    };
    let id = stack.stack_id.clone().unwrap_or_default();
    let parts: Vec<&str> = id.split(':').collect();
    let mut deployed = DeployedStack {
        name: stack.stack_name.clone().unwrap_or_else(|| name.to_owned()),
        region: parts
            .get(3)
            .filter(|s| !s.is_empty())
            .map(|s| (*s).to_owned()),
        account: parts
            .get(4)
            .filter(|s| !s.is_empty())
            .map(|s| (*s).to_owned()),
        id,
        ..DeployedStack::default()
    };
    for parameter in stack.parameters.unwrap_or_default() {
        if let (Some(key), Some(value)) = (parameter.parameter_key, parameter.parameter_value) {
            if let Some(resolved) = parameter.resolved_value {
                deployed.resolved.insert(value.clone(), resolved);
            }
            deployed.parameters.insert(key, value);
        }
    }
    for output in stack.outputs.unwrap_or_default() {
        if let (Some(key), Some(value)) = (output.output_key, output.output_value) {
            deployed.outputs.insert(key, value);
        }
    }
    let mut token = None;
    loop {
        let page = client
            .list_stack_resources()
            .stack_name(name)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| read(aws.explain(Service::CloudFormation, None, &e)))?;
        for resource in page.stack_resource_summaries.unwrap_or_default() {
            if let (Some(logical), Some(physical)) =
                (resource.logical_resource_id, resource.physical_resource_id)
            {
                deployed.physical_ids.insert(logical, physical);
            }
        }
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    let mut token = None;
    loop {
        let page = client
            .list_exports()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| read(aws.explain(Service::CloudFormation, None, &e)))?;
        for export in page.exports.unwrap_or_default() {
            if let (Some(name), Some(value)) = (export.name, export.value) {
                deployed.exports.insert(name, value);
            }
        }
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    Ok(deployed)
}

/// The values of SSM parameters by name (`SecureString`s decrypted).
pub async fn ssm_parameters(
    aws: &Aws,
    names: &[String],
) -> Result<BTreeMap<String, String>, StackError> {
    let client = aws_sdk_ssm::Client::new(aws.config());
    let mut values = BTreeMap::new();
    for name in names {
        let output = client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| StackError::Reference {
                reference: format!("ssm:{name}"),
                profile: aws.profile_description(),
                reason: aws.explain(Service::Ssm, None, &e),
            })?;
        if let Some(value) = output.parameter.and_then(|p| p.value) {
            values.insert(name.clone(), value);
        }
    }
    Ok(values)
}

/// The values of `resolve:secretsmanager:…` references (the text between
/// the braces), read as CloudFormation reads them: `secret-id`, then
/// optionally `SecretString`, a JSON key, a version stage, a version id.
pub async fn secrets(
    aws: &Aws,
    references: &[String],
) -> Result<BTreeMap<String, String>, StackError> {
    let mut values = BTreeMap::new();
    for reference in references {
        let Some(rest) = reference.strip_prefix("resolve:secretsmanager:") else {
            continue;
        };
        let parts: Vec<&str> = rest.split(':').collect();
        // An ARN holds six colons of its own.
        let id_len = if rest.starts_with("arn:") { 7 } else { 1 };
        let id = parts[..id_len.min(parts.len())].join(":");
        let field = |i: usize| {
            parts
                .get(id_len + i)
                .filter(|s| !s.is_empty())
                .map(|s| (*s).to_owned())
        };
        let reference_error = |reason: String| StackError::Reference {
            reference: reference.clone(),
            profile: aws.profile_description(),
            reason,
        };
        // `SecretString` is the only field CloudFormation reads.
        if field(0).is_some_and(|f| f != "SecretString") {
            return Err(reference_error(
                "only `SecretString` can be read from a secret".to_owned(),
            ));
        }
        let region = if id.starts_with("arn:") {
            parts.get(3).map(|s| (*s).to_owned())
        } else {
            None
        }
        .or_else(|| aws.config().region().map(|r| r.as_ref().to_owned()))
        .unwrap_or_else(|| "us-east-1".to_owned());
        let secret = crate::taskdef::secret::SecretRef::SecretsManager {
            secret_id: id.clone(),
            region,
            json_key: field(1),
            version_stage: field(2),
            version_id: field(3),
        };
        let value = super::secrets::read(aws, &secret)
            .await
            .map_err(reference_error)?;
        values.insert(reference.clone(), value);
    }
    Ok(values)
}
