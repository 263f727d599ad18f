//! Task role credentials: the role assumed with STS from the user's profile,
//! as ECS assumes it for a task, and refreshed before they expire.

use std::time::Duration;

use crate::aws::Aws;
use crate::protocol::Credentials;
use crate::protocol::wire::{self, Time};

/// ECS serves task role sessions of an hour by default.
pub const DEFAULT_SESSION: Duration = Duration::from_secs(3600);

/// Why credentials could not be had.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("cannot assume the {purpose} `{role}` with {profile}: {message}")]
    AssumeRole {
        purpose: &'static str,
        role: String,
        profile: String,
        message: String,
    },
    #[error("STS returned no credentials for `{role}`")]
    Empty { role: String },
    #[error("cannot get temporary credentials from {profile} (--credentials profile): {message}")]
    Profile { profile: String, message: String },
}

/// Credentials with their expiry.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub credentials: Credentials,
    pub expires: Time,
}

impl Fetched {
    /// Credentials as the agent serves them: `Expiration` in seconds, UTC.
    fn new(
        role_arn: &str,
        access_key_id: String,
        secret_access_key: String,
        token: String,
        expires: Time,
    ) -> Fetched {
        Fetched {
            credentials: Credentials {
                role_arn: role_arn.to_owned(),
                access_key_id,
                secret_access_key,
                token,
                expiration: expires.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            },
            expires,
        }
    }

    /// What an STS call returned.
    fn from_sts(role_arn: &str, c: aws_sdk_sts::types::Credentials) -> Fetched {
        let expires =
            chrono::DateTime::from_timestamp(c.expiration.secs(), c.expiration.subsec_nanos())
                .unwrap_or_else(chrono::Utc::now);
        Fetched::new(
            role_arn,
            c.access_key_id,
            c.secret_access_key,
            c.session_token,
            expires,
        )
    }

    /// When to fetch again: a fifth of the lifetime before the end, and at
    /// most five minutes before it, as the SDKs' own refresh windows go.
    #[must_use]
    pub fn refresh_at(&self, fetched_at: Time) -> Time {
        let lifetime = (self.expires - fetched_at).max(chrono::TimeDelta::zero());
        let margin = (lifetime / 5).min(chrono::TimeDelta::minutes(5));
        self.expires - margin
    }
}

/// A task role (or execution role) session.
#[derive(Debug, Clone)]
pub struct RoleSession {
    pub role_arn: String,
    pub session_name: String,
    pub duration: Duration,
    /// `task role` or `execution role`, for messages.
    pub purpose: &'static str,
}

impl RoleSession {
    /// The task role's session of one task, named after the task's id as
    /// ECS names it (`assumed-role/<role>/<task id>` in `CloudTrail` and
    /// `GetCallerIdentity`): each task its own session.
    #[must_use]
    pub fn new(role_arn: &str, task_id: &str, duration: Duration) -> RoleSession {
        RoleSession {
            role_arn: role_arn.to_owned(),
            session_name: task_session_name(task_id),
            duration,
            purpose: "task role",
        }
    }

    /// The execution role's session, for what ECS reads with it: secrets,
    /// environment files and registry logins (`ecs-run-local-<family>-execution`).
    #[must_use]
    pub fn execution(role_arn: &str, family: &str) -> RoleSession {
        let mut name = session_name(family);
        // Session names are at most 64 characters.
        name.truncate(64 - "-execution".len());
        RoleSession {
            role_arn: role_arn.to_owned(),
            session_name: format!("{name}-execution"),
            duration: DEFAULT_SESSION,
            purpose: "execution role",
        }
    }

    /// One `AssumeRole` call.
    pub async fn fetch(&self, aws: &Aws) -> Result<Fetched, CredentialsError> {
        let output = aws
            .sts()
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(&self.session_name)
            .duration_seconds(i32::try_from(self.duration.as_secs()).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| CredentialsError::AssumeRole {
                purpose: self.purpose,
                role: self.role_arn.clone(),
                profile: aws.profile_description(),
                message: aws.explain(crate::aws::Service::Sts, None, &e),
            })?;
        let c = output.credentials.ok_or_else(|| CredentialsError::Empty {
            role: self.role_arn.clone(),
        })?;
        Ok(Fetched::from_sts(&self.role_arn, c))
    }
}

/// Where a task's credentials come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The task role, assumed.
    Role(RoleSession),
    /// `--credentials profile`: the profile's own temporary credentials.
    Profile { duration: Duration },
}

impl Source {
    /// One fetch of fresh credentials.
    pub async fn fetch(&self, aws: &Aws) -> Result<Fetched, CredentialsError> {
        match self {
            Source::Role(session) => session.fetch(aws).await,
            Source::Profile { duration } => profile_credentials(aws, *duration).await,
        }
    }

    /// For messages.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Source::Role(session) => format!("the task role `{}`", session.role_arn),
            Source::Profile { .. } => "the profile's credentials".into(),
        }
    }
}

/// The profile's session credentials as they are when they are temporary;
/// otherwise a session from STS `GetSessionToken`, so that long-term keys
/// never reach a container.
async fn profile_credentials(aws: &Aws, duration: Duration) -> Result<Fetched, CredentialsError> {
    use aws_credential_types::provider::ProvideCredentials as _;
    let fail = |message: String| CredentialsError::Profile {
        profile: aws.profile_description(),
        message,
    };
    let provider = aws
        .config()
        .credentials_provider()
        .ok_or_else(|| fail("no credentials are configured".into()))?;
    let own = provider
        .provide_credentials()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if let (Some(token), Some(expiry)) = (own.session_token(), own.expiry()) {
        return Ok(Fetched::new(
            "",
            own.access_key_id().to_owned(),
            own.secret_access_key().to_owned(),
            token.to_owned(),
            expiry.into(),
        ));
    }
    let output = aws
        .sts()
        .get_session_token()
        .duration_seconds(i32::try_from(duration.as_secs()).unwrap_or(i32::MAX))
        .send()
        .await
        .map_err(|e| fail(aws.explain(crate::aws::Service::Sts, None, &e)))?;
    let c = output
        .credentials
        .ok_or_else(|| fail("STS returned no credentials".into()))?;
    Ok(Fetched::from_sts("", c))
}

/// A task role session's name: the task's id (32 hex digits on ECS), within
/// STS's 64 characters of `[\w+=,.@-]`.
#[must_use]
pub fn task_session_name(task_id: &str) -> String {
    sts_safe(task_id)
}

/// `ecs-run-local-<family>`, within STS's 64 characters of `[\w+=,.@-]`.
#[must_use]
pub fn session_name(family: &str) -> String {
    sts_safe(&format!("ecs-run-local-{family}"))
}

fn sts_safe(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    cleaned.chars().take(64).collect()
}

/// For messages: when credentials run out.
#[must_use]
pub fn describe_expiry(fetched: &Fetched) -> String {
    wire::format_time(&fetched.expires)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_fit_sts_rules() {
        assert_eq!(session_name("web"), "ecs-run-local-web");
        assert_eq!(session_name("a b/c"), "ecs-run-local-a-b-c");
        assert_eq!(session_name(&"x".repeat(100)).len(), 64);
        assert_eq!(
            task_session_name("0123456789abcdef0123456789abcdef"),
            "0123456789abcdef0123456789abcdef"
        );
        assert_eq!(
            RoleSession::new("arn:aws:iam::1:role/r", "abc", DEFAULT_SESSION).session_name,
            "abc"
        );
    }

    #[test]
    fn refreshes_come_before_the_end() {
        let at = |s: &str| wire::parse_time(s).unwrap();
        let fetched = |expires: &str| Fetched {
            credentials: Credentials {
                role_arn: String::new(),
                access_key_id: String::new(),
                secret_access_key: String::new(),
                token: String::new(),
                expiration: String::new(),
            },
            expires: at(expires),
        };
        // An hour: five minutes before the end.
        assert_eq!(
            fetched("2030-01-01T01:00:00Z").refresh_at(at("2030-01-01T00:00:00Z")),
            at("2030-01-01T00:55:00Z")
        );
        // Twenty seconds: four seconds before the end.
        assert_eq!(
            fetched("2030-01-01T00:00:20Z").refresh_at(at("2030-01-01T00:00:00Z")),
            at("2030-01-01T00:00:16Z")
        );
    }
}
