//! Credentials for private images, as the ECS agent finds them: a container's
//! `repositoryCredentials` (a Secrets Manager secret holding `username` and
//! `password`), else an ECR token from `GetAuthorizationToken` for images in
//! `<account>.dkr.ecr.<region>.amazonaws.com`.

use base64::Engine as _;

use super::Aws;
use crate::docker::DockerCredentials;
use crate::taskdef::secret::SecretRef;

/// The registry of an ECR image: where its token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrRegistry {
    pub account: String,
    pub region: String,
    /// `123456789012.dkr.ecr.eu-west-1.amazonaws.com`.
    pub host: String,
}

/// The ECR registry an image lives in, if it is an ECR image:
/// `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/…`.
#[must_use]
pub fn ecr_registry(image: &str) -> Option<EcrRegistry> {
    let (host, rest) = image.split_once('/')?;
    if rest.is_empty() {
        return None;
    }
    let labels: Vec<&str> = host.split('.').collect();
    let suffix_ok = matches!(
        labels.get(4..),
        Some(["amazonaws", "com"] | ["amazonaws", "com", "cn"])
    );
    let [account, "dkr", ecr, region, ..] = labels.as_slice() else {
        return None;
    };
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (suffix_ok && account_ok && region_ok && matches!(*ecr, "ecr" | "ecr-fips")).then(|| {
        EcrRegistry {
            account: (*account).to_owned(),
            region: (*region).to_owned(),
            host: host.to_owned(),
        }
    })
}

/// Whether pulling the definition's images may need AWS: an ECR image or
/// `repositoryCredentials`.
#[must_use]
pub fn needs_login(def: &crate::taskdef::TaskDefinition) -> bool {
    def.container_definitions.iter().any(|c| {
        c.repository_credentials.is_some()
            || c.image
                .as_deref()
                .is_some_and(|i| ecr_registry(i).is_some())
    })
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "cannot read the repository credentials of container `{container}` from `{arn}`: {reason}"
    )]
    RepositoryCredentials {
        container: String,
        arn: String,
        reason: String,
    },
    #[error(
        "cannot get an ECR token for `{image}` (registry {account} in {region}) with {profile}: {reason}"
    )]
    Ecr {
        image: String,
        account: String,
        region: String,
        profile: String,
        reason: String,
    },
}

/// The credentials to pull `image` with, or `None` for a public image.
pub async fn pull_credentials(
    aws: &Aws,
    container: &str,
    image: &str,
    repository_credentials: Option<&str>,
) -> Result<Option<DockerCredentials>, RegistryError> {
    if let Some(arn) = repository_credentials {
        let failed = |reason: String| RegistryError::RepositoryCredentials {
            container: container.to_owned(),
            arn: arn.to_owned(),
            reason,
        };
        let reference = SecretRef::parse(arn).map_err(failed)?;
        let text = super::secrets::read(aws, &reference)
            .await
            .map_err(failed)?;
        return login_from_secret(&text, image).map(Some).map_err(failed);
    }
    let Some(registry) = ecr_registry(image) else {
        return Ok(None);
    };
    let failed = |reason: String| RegistryError::Ecr {
        image: image.to_owned(),
        account: registry.account.clone(),
        region: registry.region.clone(),
        profile: aws.profile_description(),
        reason,
    };
    let output = aws_sdk_ecr::Client::new(&aws.config_in(Some(&registry.region)))
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| failed(aws.explain(super::Service::Ecr, Some(&registry.region), &e)))?;
    let data = output
        .authorization_data()
        .first()
        .ok_or_else(|| failed("ECR returned no authorization data".into()))?;
    let token = data
        .authorization_token()
        .ok_or_else(|| failed("ECR returned no token".into()))?;
    login_from_token(token, &registry.host)
        .map(Some)
        .map_err(failed)
}

/// An ECR token is base64 of `AWS:<password>`.
fn login_from_token(token: &str, host: &str) -> Result<DockerCredentials, String> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| "the ECR token is not base64".to_owned())?;
    let decoded = String::from_utf8(decoded).map_err(|_| "the ECR token is not text".to_owned())?;
    let (username, password) = decoded
        .split_once(':')
        .ok_or_else(|| "the ECR token is not `user:password`".to_owned())?;
    Ok(DockerCredentials {
        username: Some(username.to_owned()),
        password: Some(password.to_owned()),
        serveraddress: Some(format!("https://{host}")),
        ..DockerCredentials::default()
    })
}

/// A `repositoryCredentials` secret: `{"username": "…", "password": "…"}`.
fn login_from_secret(text: &str, image: &str) -> Result<DockerCredentials, String> {
    let document: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| "the secret is not JSON with `username` and `password`".to_owned())?;
    let field = |name: &str| {
        document
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("the secret has no string `{name}`"))
    };
    Ok(DockerCredentials {
        username: Some(field("username")?),
        password: Some(field("password")?),
        serveraddress: registry_host(image).map(str::to_owned),
        ..DockerCredentials::default()
    })
}

/// The registry part of an image reference, as Docker reads it: the first
/// component when it has a dot or a port, or is `localhost`.
fn registry_host(image: &str) -> Option<&str> {
    let (first, _) = image.split_once('/')?;
    (first.contains('.') || first.contains(':') || first == "localhost").then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_images_are_recognised_by_their_registry() {
        let r = ecr_registry("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app/web:1.2").unwrap();
        assert_eq!(
            (r.account.as_str(), r.region.as_str(), r.host.as_str()),
            (
                "123456789012",
                "eu-west-1",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
            )
        );
        assert!(
            ecr_registry("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/x@sha256:ab").is_some()
        );
        assert!(ecr_registry("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/x").is_some());
        for other in [
            "nginx:latest",
            "public.ecr.aws/nginx/nginx:1",
            "ghcr.io/org/app",
            "12345.dkr.ecr.us-east-1.amazonaws.com/x",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/",
            "123456789012.dkr.ecr.us-east-1.example.com/x",
        ] {
            assert_eq!(ecr_registry(other), None, "{other}");
        }
    }

    #[test]
    fn ecr_tokens_become_docker_logins() {
        let token = base64::engine::general_purpose::STANDARD.encode("AWS:p@ss:word");
        let login = login_from_token(&token, "1.dkr.ecr.r.amazonaws.com").unwrap();
        assert_eq!(login.username.as_deref(), Some("AWS"));
        assert_eq!(login.password.as_deref(), Some("p@ss:word"));
        assert_eq!(
            login.serveraddress.as_deref(),
            Some("https://1.dkr.ecr.r.amazonaws.com")
        );
        assert!(login_from_token("not base64!", "h").is_err());
    }

    #[test]
    fn repository_secrets_name_their_registry() {
        let login = login_from_secret(
            r#"{"username":"u","password":"p"}"#,
            "registry.example.com:5000/team/app:1",
        )
        .unwrap();
        assert_eq!(
            login.serveraddress.as_deref(),
            Some("registry.example.com:5000")
        );
        let hub = login_from_secret(r#"{"username":"u","password":"p"}"#, "org/app").unwrap();
        assert_eq!(hub.serveraddress, None);
        let missing = login_from_secret(r#"{"username":"u"}"#, "org/app").unwrap_err();
        assert_eq!(missing, "the secret has no string `password`");
    }
}
