//! Everything AWS-facing, through one `SdkConfig` built by aws-config, so a
//! user's existing setup just works: profiles, SSO, `credential_process`, the
//! environment, `--profile`, `--region` and `AWS_ENDPOINT_URL`. A profile
//! whose role needs MFA, which aws-config does not do, is served by [`mfa`].

pub mod envfiles;
pub mod mfa;
pub mod registry;
pub mod remote;
pub mod secrets;
pub mod sessions;
pub mod stacks;

use std::time::Duration;

use aws_config::meta::region::ProvideRegion as _;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use tokio::sync::OnceCell;

/// The longest wait for a connection to an AWS endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The AWS services ecs-run-local calls: how messages name them and where
/// their endpoints are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Sts,
    Ssm,
    SecretsManager,
    S3,
    Ecs,
    Ecr,
    CloudFormation,
}

impl Service {
    /// The name users know it by.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Service::Sts => "STS",
            Service::Ssm => "SSM",
            Service::SecretsManager => "Secrets Manager",
            Service::S3 => "S3",
            Service::Ecs => "ECS",
            Service::Ecr => "ECR",
            Service::CloudFormation => "CloudFormation",
        }
    }

    /// Its `AWS_ENDPOINT_URL_<ID>` suffix and its default host's first label.
    fn ids(self) -> (&'static str, &'static str) {
        match self {
            Service::Sts => ("STS", "sts"),
            Service::Ssm => ("SSM", "ssm"),
            Service::SecretsManager => ("SECRETS_MANAGER", "secretsmanager"),
            Service::S3 => ("S3", "s3"),
            Service::Ecs => ("ECS", "ecs"),
            Service::Ecr => ("ECR", "api.ecr"),
            Service::CloudFormation => ("CLOUDFORMATION", "cloudformation"),
        }
    }
}

/// The user's AWS configuration, loaded the first time a run needs AWS, so
/// that a run that needs none works offline and never waits for it.
#[derive(Debug)]
pub struct LazyAws {
    profile: Option<String>,
    region: Option<String>,
    timeout: Duration,
    /// `--mfa-code`.
    mfa_code: Option<String>,
    loaded: OnceCell<Aws>,
}

impl LazyAws {
    #[must_use]
    pub fn new(
        profile: Option<&str>,
        region: Option<&str>,
        timeout: Duration,
        mfa_code: Option<&str>,
    ) -> LazyAws {
        LazyAws {
            profile: profile.map(str::to_owned),
            region: region.map(str::to_owned),
            timeout,
            mfa_code: mfa_code.map(str::to_owned),
            loaded: OnceCell::new(),
        }
    }

    /// The configuration, loaded now if it was not yet.
    pub async fn get(&self) -> Result<&Aws, mfa::MfaError> {
        self.loaded
            .get_or_try_init(|| {
                Aws::load(
                    self.profile.as_deref(),
                    self.region.as_deref(),
                    self.timeout,
                    self.mfa_code.as_deref(),
                )
            })
            .await
    }

    /// The configuration if something already needed it.
    #[must_use]
    pub fn loaded(&self) -> Option<&Aws> {
        self.loaded.get()
    }

    /// The region the profile configures (`region` in `~/.aws/config`), read
    /// from the files alone: no network.
    pub async fn profile_region(&self) -> Option<String> {
        let mut provider = aws_config::profile::ProfileFileRegionProvider::builder();
        if let Some(profile) = &self.profile {
            provider = provider.profile_name(profile);
        }
        provider
            .build()
            .region()
            .await
            .map(|r| r.as_ref().to_owned())
    }
}

/// The user's AWS configuration, loaded once per run.
#[derive(Debug, Clone)]
pub struct Aws {
    config: SdkConfig,
    /// `--profile`, for error messages.
    profile: Option<String>,
    /// `--aws-timeout`: one call's bound, retries included.
    timeout: Duration,
}

impl Aws {
    /// Loads the configuration as the AWS CLI would, with `--profile` and
    /// `--region` on top; every call bounded by `timeout` (a connection by
    /// at most 10 s of it). A profile that assumes its role with MFA takes
    /// the session the AWS CLI cached, or a new one with `mfa_code` (else a
    /// code asked on the terminal).
    pub async fn load(
        profile: Option<&str>,
        region: Option<&str>,
        timeout: Duration,
        mfa_code: Option<&str>,
    ) -> Result<Aws, mfa::MfaError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeout.min(CONNECT_TIMEOUT))
                .operation_timeout(timeout)
                .build(),
        );
        if let Some(profile) = profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = region {
            loader = loader.region(aws_config::Region::new(region.to_owned()));
        }
        let mut config = loader.load().await;
        if let Some(role) = mfa::role_of(profile).await? {
            let credentials = role
                .credentials(
                    &config,
                    mfa_code,
                    mfa::ask_terminal,
                    mfa::cli_cache_dir().as_deref(),
                    chrono::Utc::now(),
                )
                .await?;
            config = config
                .to_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
                )
                .build();
        }
        Ok(Aws {
            config,
            profile: profile.map(str::to_owned),
            timeout,
        })
    }

    /// The same configuration, signing with `fetched` (an assumed role's
    /// session) instead of the user's own credentials.
    #[must_use]
    pub fn assuming(&self, fetched: &sessions::Fetched) -> Aws {
        let c = &fetched.credentials;
        let provider = aws_credential_types::Credentials::new(
            c.access_key_id.clone(),
            c.secret_access_key.clone(),
            Some(c.token.clone()),
            Some(fetched.expires.into()),
            "ecs-run-local-execution-role",
        );
        Aws {
            config: self
                .config
                .to_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build(),
            profile: self.profile.clone(),
            timeout: self.timeout,
        }
    }

    #[must_use]
    pub fn config(&self) -> &SdkConfig {
        &self.config
    }

    /// The configuration for a resource in `region` (an ARN's, an ECR
    /// registry's), or as it is when the resource names none.
    #[must_use]
    pub fn config_in(&self, region: Option<&str>) -> SdkConfig {
        match region {
            Some(region) => self
                .config
                .to_builder()
                .region(aws_config::Region::new(region.to_owned()))
                .build(),
            None => self.config.clone(),
        }
    }

    /// How the profile is named in messages: `--profile x`, `AWS_PROFILE`, or the default chain.
    #[must_use]
    pub fn profile_description(&self) -> String {
        match (&self.profile, std::env::var("AWS_PROFILE")) {
            (Some(p), _) => format!("profile `{p}`"),
            (None, Ok(p)) if !p.is_empty() => format!("profile `{p}` (AWS_PROFILE)"),
            _ => "the default credentials".into(),
        }
    }

    #[must_use]
    /// The caller's account, from STS `GetCallerIdentity`; `None` when STS
    /// cannot say (offline, or no credentials), which is not an error here.
    pub async fn account(&self) -> Option<String> {
        match self.sts().get_caller_identity().send().await {
            Ok(identity) => identity.account,
            Err(e) => {
                tracing::debug!(error = %self.explain(Service::Sts, None, &e), "no caller identity");
                None
            }
        }
    }

    #[must_use]
    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.config)
    }
}

impl Aws {
    /// One line for an SDK error of `service` (in `region`, else the
    /// configuration's): the service's code and message; a call that timed
    /// out names the service, its endpoint and the timeout; other failures
    /// to reach it give their chain of causes.
    pub(crate) fn explain<E, R>(
        &self,
        service: Service,
        region: Option<&str>,
        error: &aws_sdk_sts::error::SdkError<E, R>,
    ) -> String
    where
        E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        use aws_sdk_sts::error::SdkError;
        let timed_out = match error {
            SdkError::TimeoutError(_) => true,
            SdkError::DispatchFailure(failure) => failure.is_timeout(),
            _ => false,
        };
        if timed_out {
            return format!(
                "{} did not answer at {} within {}s (--aws-timeout)",
                service.name(),
                self.endpoint(service, region),
                self.timeout.as_secs_f64()
            );
        }
        describe(error)
    }

    /// Where `service` is reached: `AWS_ENDPOINT_URL_<SERVICE>`, the
    /// configured endpoint (`AWS_ENDPOINT_URL`, the profile's), or AWS's own.
    fn endpoint(&self, service: Service, region: Option<&str>) -> String {
        let (suffix, host) = service.ids();
        if let Ok(url) = std::env::var(format!("AWS_ENDPOINT_URL_{suffix}"))
            && !url.is_empty()
        {
            return url;
        }
        if let Some(url) = self.config.endpoint_url() {
            return url.to_owned();
        }
        let region = region
            .map(str::to_owned)
            .or_else(|| self.config.region().map(|r| r.as_ref().to_owned()))
            .unwrap_or_else(|| "us-east-1".to_owned());
        format!("https://{host}.{region}.amazonaws.com")
    }
}

/// One line for an SDK error: the service's code and message, or the chain
/// of causes of a failure to reach it.
fn describe<E, R>(error: &aws_sdk_sts::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_sts::error::SdkError;
    if let SdkError::ServiceError(service) = error {
        let e = service.err();
        return match (e.code(), e.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => e.to_string(),
        };
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
