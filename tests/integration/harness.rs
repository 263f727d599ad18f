//! A small builder around the built binary, in the spirit of ripgrep's and just's.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The fixture corpus (`tests/fixtures`, or `ECS_RUN_LOCAL_FIXTURES`), as the unit tests find it.
pub fn fixtures() -> PathBuf {
    std::env::var_os("ECS_RUN_LOCAL_FIXTURES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
        PathBuf::from,
    )
}

pub fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/task-definitions")
        .join(name)
}

/// The built `ecs-run-local`: the one way the tests start it. What the
/// environment of the test process would change (its log level, its AWS
/// region) is left out; a test sets what it needs.
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecs-run-local"));
    command
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("RUST_LOG");
    command
}

/// One invocation of `ecs-run-local`.
pub struct Run {
    args: Vec<String>,
    stdin: Option<String>,
}

/// What an invocation did.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

pub fn ecs_run_local<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Run {
        args: args.into_iter().map(Into::into).collect(),
        stdin: None,
    }
}

impl Run {
    pub fn stdin(mut self, text: impl Into<String>) -> Self {
        self.stdin = Some(text.into());
        self
    }

    pub fn run(self) -> Outcome {
        let mut child = command()
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ecs-run-local starts");
        let mut stdin = child.stdin.take().expect("stdin is piped");
        if let Some(text) = self.stdin {
            stdin
                .write_all(text.as_bytes())
                .expect("stdin takes the input");
        }
        drop(stdin);
        let out = child.wait_with_output().expect("ecs-run-local ends");
        Outcome {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}
