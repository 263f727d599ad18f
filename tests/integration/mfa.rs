//! Profiles that assume their role with MFA, against moto (which takes any
//! serial and code): the code from `--mfa-code` or the terminal, and the
//! session shared both ways with the real AWS CLI (v1, from the moto
//! virtualenv) through `~/.aws/cli/cache`. Each test has its own HOME.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::docker_harness::{Moto, http_get, the_error_line};

const ROLE: &str = "arn:aws:iam::123456789012:role/admin";
const SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";
const PROMPT: &str = "Enter MFA code for arn:aws:iam::123456789012:mfa/alice: ";
const FAMILY: &str = "mfa-web";
/// The cache file name botocore 1.44.8 gives profile `mfa` below (see
/// `cache_keys_are_botocores` in src/aws/mfa.rs for how it was computed).
const KEY: &str = "c08bbcd61d2960e17757c33319b79219a44dea4e";

/// A user's HOME with `~/.aws`: static keys in profile `base`, and profile
/// `mfa` assuming `ROLE` from it with `SERIAL`, plus `extra` settings.
struct User {
    home: tempfile::TempDir,
    endpoint: String,
}

/// What a command did, and what its terminal showed.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    terminal: String,
}

impl User {
    fn new(moto: &Moto, extra: &str) -> User {
        let home = tempfile::tempdir().expect("a temporary directory");
        let aws = home.path().join(".aws");
        std::fs::create_dir(&aws).unwrap();
        std::fs::write(
            aws.join("credentials"),
            "[base]\naws_access_key_id = AKIDBASEUSER\naws_secret_access_key = base-secret\n",
        )
        .unwrap();
        std::fs::write(
            aws.join("config"),
            format!(
                "[profile mfa]\nrole_arn = {ROLE}\nsource_profile = base\nmfa_serial = {SERIAL}\n\
                 region = us-east-1\n{extra}\n\
                 [profile envmfa]\nrole_arn = {ROLE}\ncredential_source = Environment\n\
                 mfa_serial = {SERIAL}\nregion = us-east-1\n"
            ),
        )
        .unwrap();
        User {
            home,
            endpoint: moto.endpoint(),
        }
    }

    fn cache(&self, key: &str) -> PathBuf {
        self.home
            .path()
            .join(".aws/cli/cache")
            .join(format!("{key}.json"))
    }

    /// `ecs-run-local ARGS`, with a terminal that answers `answer` or none.
    fn ecs_run_local(&self, args: &[&str], answer: Option<&str>) -> Outcome {
        self.run(env!("CARGO_BIN_EXE_ecs-run-local"), args, answer, &[])
    }

    /// The AWS CLI: `aws ARGS`.
    fn aws(&self, args: &[&str], answer: Option<&str>) -> Outcome {
        let mut all = vec!["-m", "awscli"];
        all.extend_from_slice(args);
        self.run(&python(), &all, answer, &[])
    }

    /// Runs `program` through terminal.py, with only this user's
    /// environment (and `env`), standard input empty.
    fn run(
        &self,
        program: &str,
        args: &[&str],
        answer: Option<&str>,
        env: &[(&str, &str)],
    ) -> Outcome {
        let transcript = self.home.path().join("terminal.txt");
        let helper = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/terminal.py");
        let mut command = Command::new(python());
        command.arg(helper);
        if let Some(answer) = answer {
            command
                .args(["--answer", answer, "--transcript"])
                .arg(&transcript);
        }
        let out = command
            .arg("--")
            .arg(program)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("python runs terminal.py");
        Outcome {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            terminal: std::fs::read_to_string(&transcript).unwrap_or_default(),
        }
    }
}

/// The interpreter of the tests' moto, which also has the AWS CLI.
fn python() -> String {
    std::env::var("ECS_RUN_LOCAL_PYTHON").unwrap_or("python3".into())
}

/// Registers `FAMILY` in moto's ECS, for `render --family` to read.
fn register(moto: &Moto) {
    moto.call_json(
        "ecs",
        "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
        &json!({
            "family": FAMILY,
            "containerDefinitions": [{ "name": "app", "image": "busybox", "memory": 64 }],
        }),
    );
}

/// Every `AssumeRole` moto's STS answered.
fn assume_role_calls(moto: &Moto) -> Vec<Value> {
    let state: Value = serde_json::from_str(&http_get(moto.port, "/moto-api/data.json"))
        .expect("moto's state is JSON");
    state["sts"]["AssumedRole"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `render --family FAMILY` worked: the definition from ECS is on stdout.
fn assert_rendered(out: &Outcome) {
    assert_eq!(out.code, Some(0), "{out:?}");
    let input: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(input["family"], FAMILY, "{out:?}");
}

const RENDER: [&str; 5] = ["render", "--family", FAMILY, "--profile", "mfa"];

#[test]
fn a_session_from_mfa_code_is_cached_as_the_aws_cli_caches_it_and_it_reuses_it() {
    let moto = Moto::start();
    register(&moto);
    let user = User::new(
        &moto,
        "external_id = ext-1\nduration_seconds = 3600\nrole_session_name = alice-session",
    );
    let mut args = RENDER.to_vec();
    args.extend(["--mfa-code", "123456"]);
    let out = user.ecs_run_local(&args, None);
    assert_rendered(&out);

    // One AssumeRole, with the profile's session name and external id.
    let calls = assume_role_calls(&moto);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["session_name"], "alice-session");
    assert_eq!(calls[0]["external_id"], "ext-1");
    assert_eq!(calls[0]["role_arn"], ROLE);

    // Botocore's name for these arguments (computed with botocore 1.44.8:
    // RoleArn, SerialNumber, ExternalId, DurationSeconds, RoleSessionName).
    let file = user.cache("b91297ad0217f9f353558e5242bb5d6731659c50");
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}; {out:?}", file.display()));
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        text.starts_with("{\"Credentials\": {\"AccessKeyId\": \""),
        "{text}"
    );
    let cached: Value = serde_json::from_str(&text).unwrap();
    let credentials = &cached["Credentials"];
    assert_eq!(credentials["AccessKeyId"], calls[0]["access_key_id"]);
    assert_eq!(credentials["AccountId"], "123456789012");
    for field in ["SecretAccessKey", "SessionToken"] {
        assert!(
            credentials[field].as_str().is_some_and(|s| !s.is_empty()),
            "{text}"
        );
    }
    // `…UTC`, as JSONFileCache writes a datetime; an hour from now.
    let expiration = credentials["Expiration"].as_str().unwrap();
    let expires = chrono::NaiveDateTime::parse_from_str(expiration, "%Y-%m-%dT%H:%M:%SUTC")
        .unwrap_or_else(|e| panic!("{expiration}: {e}"))
        .and_utc();
    let left = expires - chrono::Utc::now();
    assert!(
        left > chrono::TimeDelta::minutes(58) && left <= chrono::TimeDelta::minutes(60),
        "{expiration}"
    );
    assert_eq!(
        cached["AssumedRoleUser"]["Arn"],
        "arn:aws:sts::123456789012:assumed-role/admin/alice-session"
    );
    let secret = credentials["SecretAccessKey"].as_str().unwrap();
    assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));

    // The AWS CLI, with no terminal to ask on, signs with the cached session.
    let identity = user.aws(&["sts", "get-caller-identity", "--profile", "mfa"], None);
    assert_eq!(identity.code, Some(0), "{identity:?}");
    let identity: Value = serde_json::from_str(&identity.stdout).unwrap();
    assert_eq!(
        identity["Arn"],
        "arn:aws:sts::123456789012:assumed-role/admin/alice-session"
    );
    // So does ecs-run-local, without a code.
    assert_rendered(&user.ecs_run_local(&RENDER, None));
    assert_eq!(assume_role_calls(&moto).len(), 1);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}

#[test]
fn a_session_the_aws_cli_started_is_reused_without_a_code() {
    let moto = Moto::start();
    register(&moto);
    let user = User::new(&moto, "");
    let identity = user.aws(
        &["sts", "get-caller-identity", "--profile", "mfa"],
        Some("123456"),
    );
    assert_eq!(identity.code, Some(0), "{identity:?}");
    assert!(identity.terminal.contains(PROMPT), "{identity:?}");
    let calls = assume_role_calls(&moto);
    assert_eq!(calls.len(), 1, "{calls:?}");
    let cached: Value = serde_json::from_str(&std::fs::read_to_string(user.cache(KEY)).unwrap())
        .unwrap_or_else(|e| panic!("the AWS CLI cached no session under {KEY}: {e}"));
    assert_eq!(
        cached["Credentials"]["AccessKeyId"],
        calls[0]["access_key_id"]
    );

    // No terminal and no code: the AWS CLI's session serves.
    assert_rendered(&user.ecs_run_local(&RENDER, None));
    assert_eq!(assume_role_calls(&moto).len(), 1);
}

#[test]
fn the_code_is_asked_on_the_terminal_as_the_aws_cli_asks() {
    let moto = Moto::start();
    register(&moto);
    let user = User::new(&moto, "");
    let out = user.ecs_run_local(&RENDER, Some("654321"));
    assert_rendered(&out);
    assert!(out.terminal.starts_with(PROMPT), "{out:?}");
    // The prompt is on the terminal, not in the output.
    assert!(
        !out.stderr.contains("MFA") && !out.stdout.contains("MFA"),
        "{out:?}"
    );
    assert_eq!(assume_role_calls(&moto).len(), 1);
    assert!(user.cache(KEY).is_file());
}

#[test]
fn without_a_terminal_a_code_or_a_fresh_session_one_error_line() {
    let moto = Moto::start();
    register(&moto);
    let user = User::new(&moto, "");
    let no_code = format!(
        "ecs-run-local: error: profile `mfa` needs an MFA code for `{SERIAL}` and there is no \
         terminal to ask for it; pass --mfa-code CODE, or run ecs-run-local in a terminal"
    );
    let out = user.ecs_run_local(&RENDER, None);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(the_error_line(&out.stderr), no_code);

    // A session with less than fifteen minutes left is not used (botocore's
    // expiry window), nor left out of the error.
    let expiring = (chrono::Utc::now() + chrono::TimeDelta::minutes(10))
        .format("%Y-%m-%dT%H:%M:%SUTC")
        .to_string();
    std::fs::create_dir_all(user.cache(KEY).parent().unwrap()).unwrap();
    std::fs::write(
        user.cache(KEY),
        json!({ "Credentials": { "AccessKeyId": "ASIAEXPIRING", "SecretAccessKey": "s",
                                 "SessionToken": "t", "Expiration": expiring } })
        .to_string(),
    )
    .unwrap();
    let out = user.ecs_run_local(&RENDER, None);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(the_error_line(&out.stderr), no_code);
    assert_eq!(assume_role_calls(&moto).len(), 0);

    // credential_source = Environment with no keys in the environment.
    let out = user.ecs_run_local(
        &[
            "render",
            "--family",
            FAMILY,
            "--profile",
            "envmfa",
            "--mfa-code",
            "1",
        ],
        None,
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        the_error_line(&out.stderr).starts_with(
            "ecs-run-local: error: cannot get the credentials of profile `envmfa`'s \
             credential_source `Environment`: "
        ),
        "{out:?}"
    );
    // With them, they sign the AssumeRole.
    let out = user.run(
        env!("CARGO_BIN_EXE_ecs-run-local"),
        &[
            "render",
            "--family",
            FAMILY,
            "--profile",
            "envmfa",
            "--mfa-code",
            "1",
        ],
        None,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
        ],
    );
    assert_rendered(&out);
    assert_eq!(assume_role_calls(&moto).len(), 1);
}

#[test]
fn a_refused_assume_role_names_the_profile_and_the_role() {
    // This server refuses the made-up source keys.
    let moto = Moto::start_enforcing_auth();
    let user = User::new(&moto, "");
    let mut args = RENDER.to_vec();
    args.extend(["--mfa-code", "123456"]);
    let out = user.ecs_run_local(&args, None);
    assert_eq!(out.code, Some(1), "{out:?}");
    let line = the_error_line(&out.stderr);
    assert!(
        line.starts_with(&format!(
            "ecs-run-local: error: cannot assume the role `{ROLE}` of profile `mfa` with MFA: "
        )),
        "{line}"
    );
    assert!(!user.cache(KEY).exists());
}
