//! Task definitions registered in ECS: `--family F [--revision N]`,
//! `--task-def-arn ARN` and `--cluster C --service S`, read with
//! `DescribeTaskDefinition` (tags included).
//!
//! The response body is the `aws ecs describe-task-definition` document, which
//! the loader already reads and checks with located messages; so the body is
//! kept as it came, rather than rebuilt field by field from the SDK's types
//! (which have no serde and would drop fields a newer ECS adds).

use std::sync::{Arc, Mutex};

use aws_sdk_ecs::config::interceptors::AfterDeserializationInterceptorContextRef;
use aws_sdk_ecs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ecs::types::TaskDefinitionField;

use super::Aws;

/// Which registered task definition to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// A family's latest ACTIVE revision, or the given one.
    Family {
        family: String,
        revision: Option<u32>,
    },
    /// A full task definition ARN, or `family:revision`.
    Arn(String),
    /// The task definition a service currently runs.
    Service { cluster: String, service: String },
}

impl std::fmt::Display for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Remote::Family {
                family,
                revision: None,
            } => write!(f, "the latest ACTIVE revision of `{family}`"),
            Remote::Family {
                family,
                revision: Some(n),
            } => write!(f, "`{family}:{n}`"),
            Remote::Arn(arn) => write!(f, "`{arn}`"),
            Remote::Service { cluster, service } => {
                write!(
                    f,
                    "the task definition of service `{service}` in cluster `{cluster}`"
                )
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("cannot read {what} from ECS with {profile}: {message}")]
    Describe {
        what: String,
        profile: String,
        message: String,
    },
    #[error("service `{service}` was not found in cluster `{cluster}`{reason}")]
    NoService {
        cluster: String,
        service: String,
        reason: String,
    },
    #[error("ECS answered DescribeTaskDefinition for {what} without a body")]
    NoBody { what: String },
}

/// A definition as ECS sent it: the describe document and its ARN.
#[derive(Debug, Clone)]
pub struct Described {
    /// `{"taskDefinition": …, "tags": […]}`.
    pub body: String,
    /// The definition's ARN, which names it in messages.
    pub arn: String,
    /// The family, for the loader's fallback.
    pub family: String,
}

/// Reads the definition `remote` names.
pub async fn describe_definition(aws: &Aws, remote: &Remote) -> Result<Described, RemoteError> {
    let ecs = aws_sdk_ecs::Client::new(aws.config());
    let what = remote.to_string();
    let reference = match remote {
        Remote::Family {
            family,
            revision: None,
        } => family.clone(),
        Remote::Family {
            family,
            revision: Some(n),
        } => format!("{family}:{n}"),
        Remote::Arn(arn) => arn.clone(),
        Remote::Service { cluster, service } => {
            service_definition(aws, &ecs, cluster, service).await?
        }
    };
    let body = RawBody::default();
    let output = ecs
        .describe_task_definition()
        .task_definition(&reference)
        .include(TaskDefinitionField::Tags)
        .customize()
        .interceptor(body.clone())
        .send()
        .await
        .map_err(|e| RemoteError::Describe {
            what: what.clone(),
            profile: aws.profile_description(),
            message: aws.explain(crate::aws::Service::Ecs, None, &e),
        })?;
    let definition = output.task_definition();
    let arn = definition
        .and_then(|d| d.task_definition_arn())
        .unwrap_or(&reference)
        .to_owned();
    let family = definition
        .and_then(|d| d.family())
        .unwrap_or_default()
        .to_owned();
    let body = body.take().ok_or(RemoteError::NoBody { what })?;
    Ok(Described { body, arn, family })
}

/// The ARN of the task definition a service runs now.
async fn service_definition(
    aws: &Aws,
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> Result<String, RemoteError> {
    let output = ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .map_err(|e| RemoteError::Describe {
            what: format!("service `{service}` in cluster `{cluster}`"),
            profile: aws.profile_description(),
            message: aws.explain(crate::aws::Service::Ecs, None, &e),
        })?;
    let found = output
        .services()
        .iter()
        .find(|s| s.service_name() == Some(service) || s.service_arn() == Some(service));
    if let Some(arn) = found.and_then(|s| s.task_definition()) {
        return Ok(arn.to_owned());
    }
    let reason = output
        .failures()
        .first()
        .and_then(|f| f.reason())
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    Err(RemoteError::NoService {
        cluster: cluster.to_owned(),
        service: service.to_owned(),
        reason,
    })
}

/// Keeps the raw response body of the operation it is attached to.
#[derive(Debug, Clone, Default)]
struct RawBody(Arc<Mutex<Option<String>>>);

impl RawBody {
    fn take(&self) -> Option<String> {
        // A poisoned lock still holds the body: a panic elsewhere cannot lose it.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

impl Intercept for RawBody {
    fn name(&self) -> &'static str {
        "RawBody"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        // Non-streaming bodies are read into memory before deserialization.
        if let Some(bytes) = context.response().body().bytes() {
            *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some(String::from_utf8_lossy(bytes).into_owned());
        }
        Ok(())
    }
}
