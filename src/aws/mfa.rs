//! Profiles that assume their role with MFA (`role_arn` and `mfa_serial`),
//! which aws-config cannot serve: the code comes from `--mfa-code` or the
//! terminal, and the session is shared with the AWS CLI through its cache,
//! `~/.aws/cli/cache`, under botocore's file name and in its format, so one
//! code serves both tools until the session nears its end.

use std::collections::BTreeMap;
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};

use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use serde_json::{Value, json};
use sha1::Digest as _;

/// Botocore's expiry window: a cached session with less time left than
/// this is not used (`CachedCredentialFetcher.DEFAULT_EXPIRY_WINDOW_SECONDS`).
pub const EXPIRY_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// How an MFA session could not be had; each names the profile.
#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error(
        "profile `{profile}` needs an MFA code for `{serial}` and there is no terminal to ask for it; pass --mfa-code CODE, or run ecs-run-local in a terminal"
    )]
    NoCode { profile: String, serial: String },
    #[error("no MFA code was entered for `{serial}` (profile `{profile}`)")]
    EmptyCode { profile: String, serial: String },
    #[error("cannot read the MFA code for `{serial}` from the terminal")]
    Terminal {
        serial: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot assume the role `{role}` of profile `{profile}` with MFA: {message}")]
    AssumeRole {
        profile: String,
        role: String,
        message: String,
    },
    #[error("cannot get the credentials of profile `{profile}`'s {source_name}: {message}")]
    Source {
        profile: String,
        source_name: String,
        message: String,
    },
    #[error("profile `{profile}` {problem}")]
    Config { profile: String, problem: String },
}

/// What the role is assumed with, as the profile says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `source_profile`: any profile aws-config understands.
    Profile(String),
    /// `credential_source`: `Environment`, `Ec2InstanceMetadata` or `EcsContainer`.
    Named(String),
}

/// A profile whose role needs an MFA code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaRole {
    pub profile: String,
    pub role_arn: String,
    pub serial: String,
    pub origin: Origin,
    pub session_name: Option<String>,
    pub external_id: Option<String>,
    /// `duration_seconds`, when it is a number (botocore ignores it otherwise).
    pub duration_seconds: Option<i64>,
}

/// Reads where credentials come from without a network call: the MFA role
/// of `--profile` (`explicit`), else, when the environment holds no keys,
/// of `AWS_PROFILE` or `default`, as botocore picks. `None` when that
/// profile needs no MFA, or the files cannot be read (aws-config then
/// reports it).
pub async fn role_of(explicit: Option<&str>) -> Result<Option<MfaRole>, MfaError> {
    use aws_types::os_shim_internal::{Env, Fs};
    if explicit.is_none() {
        let env = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
        if env.provide_credentials().await.is_ok() {
            return Ok(None);
        }
    }
    let profiles = match aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        &aws_runtime::env_config::file::EnvConfigFiles::default(),
        explicit.map(|p| p.to_owned().into()),
    )
    .await
    {
        Ok(profiles) => profiles,
        Err(e) => {
            tracing::debug!(error = %e, "no profile files for MFA");
            return Ok(None);
        }
    };
    let name = profiles.selected_profile();
    let Some(profile) = profiles.get_profile(name) else {
        return Ok(None);
    };
    role_in(name, |key| profile.get(key))
}

/// The MFA role of profile `name`, whose settings `get` reads.
fn role_in<'a>(
    name: &str,
    get: impl Fn(&str) -> Option<&'a str>,
) -> Result<Option<MfaRole>, MfaError> {
    let (Some(role_arn), Some(serial)) = (get("role_arn"), get("mfa_serial")) else {
        return Ok(None);
    };
    if get("web_identity_token_file").is_some() {
        return Ok(None);
    }
    let problem = |problem: &str| MfaError::Config {
        profile: name.to_owned(),
        problem: problem.to_owned(),
    };
    let origin = match (get("source_profile"), get("credential_source")) {
        (Some(profile), None) => Origin::Profile(profile.to_owned()),
        (None, Some(source @ ("Environment" | "Ec2InstanceMetadata" | "EcsContainer"))) => {
            Origin::Named(source.to_owned())
        }
        (None, Some(other)) => {
            return Err(problem(&format!(
                "has credential_source `{other}`; it can be `Environment`, `Ec2InstanceMetadata` or `EcsContainer`"
            )));
        }
        (Some(_), Some(_)) => return Err(problem("has both source_profile and credential_source")),
        (None, None) => {
            return Err(problem(
                "has role_arn but neither source_profile nor credential_source",
            ));
        }
    };
    Ok(Some(MfaRole {
        profile: name.to_owned(),
        role_arn: role_arn.to_owned(),
        serial: serial.to_owned(),
        origin,
        session_name: get("role_session_name").map(str::to_owned),
        external_id: get("external_id").map(str::to_owned),
        duration_seconds: get("duration_seconds").and_then(|d| d.trim().parse().ok()),
    }))
}

/// Asks the terminal for a code, as botocore's prompter does: `None` when
/// there is no terminal, or this process is not in its foreground (a
/// `--detach`ed supervisor), so nothing can be typed.
pub fn ask_terminal(prompt: &str) -> std::io::Result<Option<String>> {
    let Ok(mut tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    else {
        return Ok(None);
    };
    if nix::unistd::tcgetpgrp(&tty).ok() != Some(nix::unistd::getpgrp()) {
        return Ok(None);
    }
    tty.write_all(prompt.as_bytes())?;
    tty.flush()?;
    let mut line = String::new();
    std::io::BufReader::new(tty).read_line(&mut line)?;
    Ok(Some(line.trim().to_owned()))
}

/// Where the AWS CLI keeps assumed-role sessions: `~/.aws/cli/cache`.
#[must_use]
pub fn cli_cache_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(|home| Path::new(&home).join(".aws/cli/cache"))
}

impl MfaRole {
    /// The session's credentials: from the cache while they last, else
    /// from `AssumeRole` with a code (`code`, else `ask`ed), then cached.
    /// `config` gives the region, the endpoint and the timeouts.
    pub async fn credentials(
        &self,
        config: &SdkConfig,
        code: Option<&str>,
        ask: fn(&str) -> std::io::Result<Option<String>>,
        cache_dir: Option<&Path>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<aws_credential_types::Credentials, MfaError> {
        let file = cache_dir.map(|dir| dir.join(format!("{}.json", self.cache_key())));
        if let Some(cached) = file.as_deref().and_then(|f| read_cache(f, now)) {
            tracing::debug!(profile = %self.profile, "MFA session from the AWS CLI cache");
            return Ok(cached);
        }
        let code = self.code(code, ask).await?;
        let response = self.assume_role(config, &code, now).await?;
        if let Some(file) = &file
            && let Err(e) = write_cache(file, &response)
        {
            tracing::warn!(file = %file.display(), error = %e, "cannot cache the MFA session");
        }
        credentials_in(&response).ok_or_else(|| MfaError::AssumeRole {
            profile: self.profile.clone(),
            role: self.role_arn.clone(),
            message: "STS returned no credentials".into(),
        })
    }

    /// Botocore's cache key (`BaseAssumeRoleCredentialFetcher._create_cache_key`):
    /// the SHA-1 of the `AssumeRole` arguments as `json.dumps(args,
    /// sort_keys=True)` writes them, `RoleSessionName` only when the profile
    /// names the session.
    #[must_use]
    pub fn cache_key(&self) -> String {
        let mut args = BTreeMap::new();
        args.insert("RoleArn", json!(self.role_arn));
        args.insert("SerialNumber", json!(self.serial));
        if let Some(name) = &self.session_name {
            args.insert("RoleSessionName", json!(name));
        }
        if let Some(id) = &self.external_id {
            args.insert("ExternalId", json!(id));
        }
        if let Some(seconds) = self.duration_seconds {
            args.insert("DurationSeconds", json!(seconds));
        }
        crate::plan::ids::to_hex(&sha1::Sha1::digest(python_json(&args).as_bytes()))
    }

    /// The code from `--mfa-code`, else the terminal.
    async fn code(
        &self,
        code: Option<&str>,
        ask: fn(&str) -> std::io::Result<Option<String>>,
    ) -> Result<String, MfaError> {
        let code = if let Some(code) = code {
            code.trim().to_owned()
        } else {
            let prompt = format!("Enter MFA code for {}: ", self.serial);
            let asked = tokio::task::spawn_blocking(move || ask(&prompt))
                .await
                .map_err(std::io::Error::other)
                .and_then(|asked| asked)
                .map_err(|source| MfaError::Terminal {
                    serial: self.serial.clone(),
                    source,
                })?;
            asked.ok_or_else(|| MfaError::NoCode {
                profile: self.profile.clone(),
                serial: self.serial.clone(),
            })?
        };
        if code.is_empty() {
            return Err(MfaError::EmptyCode {
                profile: self.profile.clone(),
                serial: self.serial.clone(),
            });
        }
        Ok(code)
    }

    /// One `AssumeRole` with the code, signed by the origin's credentials;
    /// the response as botocore caches it.
    async fn assume_role(
        &self,
        config: &SdkConfig,
        code: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Value, MfaError> {
        let source = self.origin_credentials().await?;
        let sts = aws_sdk_sts::Client::new(
            &config
                .to_builder()
                .credentials_provider(SharedCredentialsProvider::new(source))
                .build(),
        );
        let output = sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(
                self.session_name
                    .clone()
                    .unwrap_or_else(|| format!("ecs-run-local-{}", now.timestamp())),
            )
            .serial_number(&self.serial)
            .token_code(code)
            .set_external_id(self.external_id.clone())
            .set_duration_seconds(
                self.duration_seconds
                    .map(|s| i32::try_from(s).unwrap_or(i32::MAX)),
            )
            .send()
            .await
            .map_err(|e| MfaError::AssumeRole {
                profile: self.profile.clone(),
                role: self.role_arn.clone(),
                message: super::describe(&e),
            })?;
        Ok(cache_body(&output))
    }

    /// The credentials the role is assumed with.
    async fn origin_credentials(&self) -> Result<aws_credential_types::Credentials, MfaError> {
        let (provider, source_name): (SharedCredentialsProvider, String) = match &self.origin {
            Origin::Profile(name) => (
                SharedCredentialsProvider::new(
                    aws_config::profile::ProfileFileCredentialsProvider::builder()
                        .profile_name(name)
                        .build(),
                ),
                format!("source_profile `{name}`"),
            ),
            Origin::Named(source) => {
                let provider = match source.as_str() {
                    "Environment" => SharedCredentialsProvider::new(
                        aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
                    ),
                    "EcsContainer" => SharedCredentialsProvider::new(
                        aws_config::ecs::EcsCredentialsProvider::builder().build(),
                    ),
                    _ => SharedCredentialsProvider::new(
                        aws_config::imds::credentials::ImdsCredentialsProvider::builder().build(),
                    ),
                };
                (provider, format!("credential_source `{source}`"))
            }
        };
        provider
            .provide_credentials()
            .await
            .map_err(|e| MfaError::Source {
                profile: self.profile.clone(),
                source_name,
                message: chain(&e),
            })
    }
}

/// An `AssumeRole` response as botocore's `JSONFileCache` writes it: the
/// parsed response with `Credentials.AccountId` added (from the assumed
/// role's ARN) and `Expiration` as `%Y-%m-%dT%H:%M:%S%Z`, i.e. `…UTC`.
fn cache_body(output: &aws_sdk_sts::operation::assume_role::AssumeRoleOutput) -> Value {
    use aws_sdk_sts::operation::RequestId as _;
    let mut body = serde_json::Map::new();
    let user = output.assumed_role_user();
    if let Some(c) = output.credentials() {
        let expiration =
            chrono::DateTime::from_timestamp(c.expiration().secs(), 0).unwrap_or_default();
        let mut credentials = json!({
            "AccessKeyId": c.access_key_id(),
            "SecretAccessKey": c.secret_access_key(),
            "SessionToken": c.session_token(),
            "Expiration": expiration.format("%Y-%m-%dT%H:%M:%SUTC").to_string(),
        });
        if let Some(account) = user.and_then(|u| u.arn().split(':').nth(4)) {
            credentials["AccountId"] = json!(account);
        }
        body.insert("Credentials".into(), credentials);
    }
    if let Some(user) = user {
        body.insert(
            "AssumedRoleUser".into(),
            json!({ "AssumedRoleId": user.assumed_role_id(), "Arn": user.arn() }),
        );
    }
    if let Some(size) = output.packed_policy_size() {
        body.insert("PackedPolicySize".into(), json!(size));
    }
    if let Some(identity) = output.source_identity() {
        body.insert("SourceIdentity".into(), json!(identity));
    }
    let mut metadata = serde_json::Map::new();
    if let Some(id) = output.request_id() {
        metadata.insert("RequestId".into(), json!(id));
    }
    metadata.insert("HTTPStatusCode".into(), json!(200));
    body.insert("ResponseMetadata".into(), Value::Object(metadata));
    Value::Object(body)
}

/// The credentials of a cached response, whatever wrote it.
fn credentials_in(body: &Value) -> Option<aws_credential_types::Credentials> {
    let c = &body["Credentials"];
    let expires = parse_expiration(c["Expiration"].as_str()?)?;
    Some(aws_credential_types::Credentials::new(
        c["AccessKeyId"].as_str()?,
        c["SecretAccessKey"].as_str()?,
        Some(c["SessionToken"].as_str()?.to_owned()),
        Some(expires.into()),
        "ecs-run-local-mfa",
    ))
}

/// A cached session still good at `now` by botocore's rule (at least
/// [`EXPIRY_WINDOW`] left); an unreadable file counts as none.
fn read_cache(
    file: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<aws_credential_types::Credentials> {
    // A FIFO or a device there would block the read (and Ctrl-C) for good.
    if !std::fs::metadata(file).ok()?.is_file() {
        tracing::debug!(file = %file.display(), "the MFA cache entry is not a regular file");
        return None;
    }
    let body: Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    let credentials = credentials_in(&body)?;
    let expires: chrono::DateTime<chrono::Utc> = credentials.expiry()?.into();
    if is_fresh(expires, now) {
        Some(credentials)
    } else {
        tracing::debug!(file = %file.display(), "the cached MFA session has expired");
        None
    }
}

/// Botocore's `_is_expired`, negated: at least the expiry window left.
#[must_use]
pub fn is_fresh(
    expires: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    expires - now >= EXPIRY_WINDOW
}

/// `Expiration` as botocore writes it (`…UTC`) or as RFC 3339.
fn parse_expiration(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Some(naive) = text.strip_suffix("UTC") {
        return chrono::NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|t| t.and_utc());
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.to_utc())
}

/// Writes the file whole (a temporary file renamed over it, as
/// `JSONFileCache` does), readable by its owner only.
fn write_cache(file: &Path, body: &Value) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temporary = dir.join(format!(".ecs-run-local-{}.tmp", std::process::id()));
    // A leftover of an earlier process with this id would keep its mode.
    let _ = std::fs::remove_file(&temporary);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut out| {
            out.write_all(python_json(body).as_bytes())?;
            out.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, file));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// JSON as Python's `json.dumps` writes it: `", "` and `": "` between
/// items, everything outside printable ASCII escaped as `\uXXXX`.
fn python_json(value: &impl serde::Serialize) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    // Maps of strings and numbers always serialise.
    let _ = value.serialize(&mut serializer);
    String::from_utf8(out).unwrap_or_default()
}

/// `json.dumps`'s separators and `ensure_ascii`.
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        for c in fragment.chars() {
            if (' '..='~').contains(&c) {
                writer.write_all(&[c as u8])?;
            } else {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

/// An error and its causes on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(extra: &[(&str, &str)]) -> MfaRole {
        let mut settings: BTreeMap<&str, &str> = [
            ("role_arn", "arn:aws:iam::123456789012:role/admin"),
            ("mfa_serial", "arn:aws:iam::123456789012:mfa/alice"),
            ("source_profile", "base"),
        ]
        .into_iter()
        .collect();
        settings.extend(extra.iter().copied());
        role_in("mfa", |k| settings.get(k).copied())
            .unwrap()
            .unwrap()
    }

    /// The expected keys were computed once with botocore 1.44.8 (awscli
    /// 1.46.3's), as the AWS CLI computes them:
    /// `AssumeRoleCredentialFetcher(client_creator, credentials,
    /// "arn:aws:iam::123456789012:role/admin", extra_args={…})._cache_key`.
    #[test]
    fn cache_keys_are_botocores() {
        assert_eq!(
            role(&[]).cache_key(),
            "c08bbcd61d2960e17757c33319b79219a44dea4e"
        );
        // extra_args={'SerialNumber': …, 'ExternalId': 'ext-1',
        //             'DurationSeconds': 900, 'RoleSessionName': 'alice-session'}
        assert_eq!(
            role(&[
                ("external_id", "ext-1"),
                ("duration_seconds", "900"),
                ("role_session_name", "alice-session"),
            ])
            .cache_key(),
            "68c80ba4f170069f5fee106bad94e07c63d8878d"
        );
        // extra_args={'SerialNumber': '…:mfa/josé', 'ExternalId': 'a"b\\c\x7f\n'}:
        // json.dumps escapes quotes, backslashes, control and non-ASCII characters.
        assert_eq!(
            role(&[
                ("mfa_serial", "arn:aws:iam::123456789012:mfa/jos\u{e9}"),
                ("external_id", "a\"b\\c\u{7f}\n"),
            ])
            .cache_key(),
            "7cf466f1428c4997ed31050f44c7d53e8fca0445"
        );
        // botocore drops a duration_seconds that is not a number.
        assert_eq!(
            role(&[("duration_seconds", "an hour")]).cache_key(),
            role(&[]).cache_key()
        );
    }

    #[test]
    fn cached_sessions_count_while_fifteen_minutes_are_left() {
        let now = chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let at = |text: &str| parse_expiration(text).unwrap();
        assert!(is_fresh(at("2030-01-01T01:00:00UTC"), now));
        assert!(is_fresh(at("2030-01-01T00:15:00UTC"), now));
        assert!(!is_fresh(at("2030-01-01T00:14:59UTC"), now));
        assert!(!is_fresh(at("2029-12-31T23:00:00UTC"), now));
        // Other writers' ISO 8601.
        assert_eq!(at("2030-01-01T01:00:00Z"), at("2030-01-01T01:00:00UTC"));
        assert_eq!(
            at("2030-01-01T02:00:00+01:00"),
            at("2030-01-01T01:00:00UTC")
        );
    }

    #[test]
    fn cache_files_are_written_as_json_dumps_writes_them() {
        let body = json!({ "Credentials": { "AccessKeyId": "A", "Expiration": "2030-01-01T00:00:00UTC" },
                           "PackedPolicySize": 6, "List": [1, 2] });
        assert_eq!(
            python_json(&body),
            r#"{"Credentials": {"AccessKeyId": "A", "Expiration": "2030-01-01T00:00:00UTC"}, "PackedPolicySize": 6, "List": [1, 2]}"#
        );
    }

    #[test]
    fn profiles_name_one_origin() {
        assert_eq!(role(&[]).origin, Origin::Profile("base".into()));
        let settings = |extra: &[(&'static str, &'static str)]| {
            let mut s: BTreeMap<&str, &str> = [
                ("role_arn", "arn:aws:iam::123456789012:role/admin"),
                ("mfa_serial", "arn:aws:iam::123456789012:mfa/alice"),
            ]
            .into_iter()
            .collect();
            s.extend(extra.iter().copied());
            role_in("mfa", |k| s.get(k).copied()).map(|r| r.map(|r| r.origin))
        };
        assert_eq!(
            settings(&[("credential_source", "Environment")]).unwrap(),
            Some(Origin::Named("Environment".into()))
        );
        for (extra, message) in [
            (
                &[("credential_source", "Ec2")][..],
                "profile `mfa` has credential_source `Ec2`; it can be `Environment`, `Ec2InstanceMetadata` or `EcsContainer`",
            ),
            (
                &[
                    ("credential_source", "Environment"),
                    ("source_profile", "base"),
                ][..],
                "profile `mfa` has both source_profile and credential_source",
            ),
            (
                &[][..],
                "profile `mfa` has role_arn but neither source_profile nor credential_source",
            ),
        ] {
            assert_eq!(settings(extra).unwrap_err().to_string(), message);
        }
        // Without mfa_serial, or with web identity, aws-config serves it.
        assert_eq!(
            role_in("plain", |k| (k == "role_arn")
                .then_some("arn:aws:iam::1:role/r"))
            .unwrap(),
            None
        );
    }
}
