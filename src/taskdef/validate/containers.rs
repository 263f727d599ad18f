//! Container definitions: names, essential, `FireLens`, image, environment,
//! secrets, logging, repository credentials, health check, ulimits, system
//! controls, security options, resource requirements, restart policy and
//! timeouts.

use std::collections::BTreeMap;

use super::{Validator, is_ecs_name, is_s3_object_arn, looks_like_placeholder};
use crate::taskdef::model::{ContainerDefinition, NetworkMode, ResourceType};
use crate::taskdef::secret::SecretRef;

/// The log drivers ECS accepts in `logConfiguration.logDriver` on Linux.
pub const LOG_DRIVERS: &[&str] = &[
    "awslogs",
    "awsfirelens",
    "fluentd",
    "gelf",
    "json-file",
    "journald",
    "logentries",
    "splunk",
    "syslog",
];

/// The ulimit names ECS accepts.
const ULIMITS: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// Docker hands a container's whole specification (JSON) to containerd in one
/// gRPC message of at most 16 MiB; the command line must leave room for the rest.
const SPEC_LIMIT_MIB: usize = 16;
const COMMAND_LINE_LIMIT: usize = SPEC_LIMIT_MIB * 1024 * 1024 - 256 * 1024;

/// Why Docker cannot set this environment variable name (or value), if it cannot.
fn unfit_for_environment(text: &str, is_name: bool) -> Option<String> {
    let shown = text.escape_debug();
    if text.contains('\0') {
        Some(format!(
            "`{shown}` contains a NUL character, which an environment variable cannot hold"
        ))
    } else if is_name && text.contains('=') {
        Some(format!(
            "`{shown}` contains `=`, which an environment variable name cannot hold"
        ))
    } else {
        None
    }
}

/// The bytes `words` take in the JSON Docker sends to containerd (Go escapes
/// control characters and `<`, `>`, `&`).
fn spec_bytes(words: &[String]) -> usize {
    words
        .iter()
        .map(|w| {
            3 + w
                .chars()
                .map(|c| match c {
                    '"' | '\\' | '\n' | '\r' | '\t' => 2,
                    '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => 6,
                    c if u32::from(c) < 0x20 => 6,
                    c => c.len_utf8(),
                })
                .sum::<usize>()
        })
        .sum()
}

impl Validator<'_> {
    pub(super) fn containers(&mut self) {
        let def = self.def;
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, c) in def.container_definitions.iter().enumerate() {
            let at = format!("containerDefinitions[{i}]");
            match c.name.as_deref() {
                None | Some("") => self.error(format!("{at}.name"), "is required"),
                Some(name) => {
                    if !is_ecs_name(name) {
                        self.error(
                            format!("{at}.name"),
                            format!("`{name}` may hold only letters, digits, hyphens and underscores (at most 255)"),
                        );
                    }
                    if let Some(first) = names.insert(name, i) {
                        self.error(
                            format!("{at}.name"),
                            format!("duplicate container name `{name}` (also containerDefinitions[{first}])"),
                        );
                    }
                }
            }
            self.container(&at, c);
        }
        if !def.container_definitions.is_empty()
            && !def
                .container_definitions
                .iter()
                .any(ContainerDefinition::is_essential)
        {
            self.error(
                "containerDefinitions",
                "no container is essential; at least one must be",
            );
        }
        self.task_ports();
        let firelens: Vec<usize> = def
            .container_definitions
            .iter()
            .enumerate()
            .filter(|(_, c)| c.firelens_configuration.is_some())
            .map(|(i, _)| i)
            .collect();
        if firelens.len() > 1 {
            self.error(
                format!(
                    "containerDefinitions[{}].firelensConfiguration",
                    firelens[1]
                ),
                "only one container of a task may have a FireLens configuration",
            );
        }
        for (i, c) in def.container_definitions.iter().enumerate() {
            let uses_firelens = c
                .log_configuration
                .as_ref()
                .and_then(|l| l.log_driver.as_deref())
                == Some("awsfirelens");
            if uses_firelens && firelens.is_empty() {
                self.error(
                    format!("containerDefinitions[{i}].logConfiguration.logDriver"),
                    "`awsfirelens` needs a container with a `firelensConfiguration` in the task",
                );
            }
            // Each option becomes one line of the router's generated
            // configuration: a line break would start another, and Fluent
            // Bit reads ` #` as the start of a comment.
            let options = c.log_configuration.as_ref().map(|l| &l.options);
            for (key, value) in options.into_iter().flatten().filter(|_| uses_firelens) {
                let at = format!("containerDefinitions[{i}].logConfiguration.options.{key}");
                if key.contains(['\n', '\r']) || value.contains(['\n', '\r']) {
                    self.error(at, "a FireLens option cannot hold a line break: it would add lines to the router's configuration");
                } else if value.contains('#') {
                    self.warning(
                        at,
                        "Fluent Bit may read what follows `#` in a FireLens option as a comment",
                    );
                }
            }
        }
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one check per container field, in the order of the API reference"
    )]
    fn container(&mut self, at: &str, c: &ContainerDefinition) {
        match c.image.as_deref() {
            None => self.error(format!("{at}.image"), "is required"),
            Some(image) if image.trim().is_empty() => self.error(format!("{at}.image"), "is empty"),
            Some(image) if looks_like_placeholder(image) => {
                self.placeholder(format!("{at}.image"), image);
            }
            Some(_) => {}
        }
        self.resources(at, c);
        self.network_fields(at, c);
        for (j, p) in c.port_mappings.iter().enumerate() {
            self.port(&format!("{at}.portMappings[{j}]"), p);
        }
        for (j, kv) in c.environment.iter().enumerate() {
            let path = format!("{at}.environment[{j}]");
            match kv.name.as_deref() {
                None | Some("") => self.error(format!("{path}.name"), "is required"),
                Some(name) => {
                    if let Some(reason) = unfit_for_environment(name, true) {
                        self.error(format!("{path}.name"), reason);
                    }
                }
            }
            if let Some(reason) = kv
                .value
                .as_deref()
                .and_then(|v| unfit_for_environment(v, false))
            {
                self.error(format!("{path}.value"), reason);
            }
        }
        self.command_line(at, c);
        for (j, file) in c.environment_files.iter().enumerate() {
            let path = format!("{at}.environmentFiles[{j}].value");
            match file.value.as_deref() {
                None | Some("") => self.error(path, "is required"),
                Some(value) if !is_s3_object_arn(value) => self.error(
                    path,
                    format!("`{value}` is not an S3 object ARN (`arn:aws:s3:::BUCKET/KEY.env`)"),
                ),
                Some(_) => {}
            }
        }
        for (j, secret) in c.secrets.iter().enumerate() {
            // A secret's name is the environment variable that holds it.
            if let Some(reason) = secret
                .name
                .as_deref()
                .and_then(|n| unfit_for_environment(n, true))
            {
                self.error(format!("{at}.secrets[{j}].name"), reason);
            }
            self.secret(
                &format!("{at}.secrets[{j}]"),
                secret.name.as_deref(),
                secret.value_from.as_deref(),
            );
        }
        self.mounts(at, c);
        if let Some(log) = &c.log_configuration {
            match log.log_driver.as_deref() {
                None | Some("") => {
                    self.error(format!("{at}.logConfiguration.logDriver"), "is required");
                }
                Some(driver) if !LOG_DRIVERS.contains(&driver) => self.error(
                    format!("{at}.logConfiguration.logDriver"),
                    format!(
                        "`{driver}` is not a log driver ECS supports ({})",
                        LOG_DRIVERS.join(", ")
                    ),
                ),
                Some(_) => {}
            }
            for (j, secret) in log.secret_options.iter().enumerate() {
                self.secret(
                    &format!("{at}.logConfiguration.secretOptions[{j}]"),
                    secret.name.as_deref(),
                    secret.value_from.as_deref(),
                );
            }
        }
        if let Some(creds) = &c.repository_credentials {
            let path = format!("{at}.repositoryCredentials.credentialsParameter");
            match creds
                .credentials_parameter
                .as_deref()
                .map(|p| (p, SecretRef::parse(p)))
            {
                None => self.error(path, "is required"),
                Some((value, _)) if looks_like_placeholder(value) => self.placeholder(path, value),
                Some((_, Ok(SecretRef::SecretsManager { .. }))) => {}
                Some((_, Ok(SecretRef::Parameter { .. }))) => {
                    self.error(path, "must be the ARN of a Secrets Manager secret");
                }
                Some((_, Err(reason))) => self.error(path, reason),
            }
        }
        self.health_check(at, c);
        self.linux(at, c);
        for (j, u) in c.ulimits.iter().enumerate() {
            let path = format!("{at}.ulimits[{j}]");
            match u.name.as_deref() {
                Some(name) if ULIMITS.contains(&name) => {}
                Some(name) => self.error(
                    format!("{path}.name"),
                    format!(
                        "`{name}` is not a ulimit ECS supports ({})",
                        ULIMITS.join(", ")
                    ),
                ),
                None => self.error(format!("{path}.name"), "is required"),
            }
            match (u.soft_limit, u.hard_limit) {
                (Some(soft), Some(hard)) if soft > hard => self.error(
                    format!("{path}.softLimit"),
                    format!("{soft} is above the hard limit {hard}"),
                ),
                (Some(_), Some(_)) => {}
                (None, _) => self.error(format!("{path}.softLimit"), "is required"),
                (_, None) => self.error(format!("{path}.hardLimit"), "is required"),
            }
        }
        for (j, s) in c.system_controls.iter().enumerate() {
            let namespace = s.namespace.as_deref().unwrap_or_default();
            if namespace.is_empty() {
                self.error(format!("{at}.systemControls[{j}].namespace"), "is required");
            } else if namespace.starts_with("net.") && self.mode == NetworkMode::Host {
                self.error(
                    format!("{at}.systemControls[{j}].namespace"),
                    format!(
                        "`{namespace}` cannot be set in host network mode: it would change the host"
                    ),
                );
            }
        }
        for option in &c.docker_security_options {
            if option.starts_with("credentialspec") {
                self.error(
                    format!("{at}.dockerSecurityOptions"),
                    format!("`{option}` is a Windows gMSA credential spec; a Linux Docker engine cannot use it"),
                );
            }
        }
        if !c.credential_specs.is_empty() {
            self.error(
                format!("{at}.credentialSpecs"),
                "gMSA credential specs need Active Directory and the ECS credentials fetcher; they cannot run locally",
            );
        }
        for (j, r) in c.resource_requirements.iter().enumerate() {
            let path = format!("{at}.resourceRequirements[{j}]");
            match r.kind {
                Some(ResourceType::Gpu) => {
                    if r.value
                        .as_deref()
                        .and_then(|v| v.parse::<u32>().ok())
                        .is_none_or(|n| n == 0)
                    {
                        self.error(
                            format!("{path}.value"),
                            "a GPU count must be a positive whole number",
                        );
                    } else {
                        self.warning(path, "GPUs are requested from Docker's `nvidia` driver; the engine needs the NVIDIA container runtime");
                    }
                }
                Some(ResourceType::InferenceAccelerator) => {
                    self.warning(
                        path,
                        "Elastic Inference accelerators do not exist locally; ignored",
                    );
                }
                None => self.error(format!("{path}.type"), "is required"),
            }
        }
        if let Some(firelens) = &c.firelens_configuration {
            if firelens.kind.is_none() {
                self.error(format!("{at}.firelensConfiguration.type"), "is required");
            }
        }
        if let Some(restart) = &c.restart_policy {
            if let Some(period) = restart
                .restart_attempt_period
                .filter(|p| !(60..=1800).contains(p))
            {
                self.error(
                    format!("{at}.restartPolicy.restartAttemptPeriod"),
                    format!("{period} is outside 60..=1800 seconds"),
                );
            }
            if restart.ignored_exit_codes.len() > 50 {
                self.error(
                    format!("{at}.restartPolicy.ignoredExitCodes"),
                    "holds more than 50 exit codes",
                );
            }
        }
        for (field, value) in [
            ("startTimeout", c.start_timeout),
            ("stopTimeout", c.stop_timeout),
        ] {
            match value {
                Some(t) if t < 0 => self.error(format!("{at}.{field}"), format!("{t} is negative")),
                Some(t) if t > 120 && self.is_fargate() => {
                    self.warning(
                        format!("{at}.{field}"),
                        format!("FARGATE allows at most 120 seconds, not {t}"),
                    );
                }
                _ => {}
            }
        }
        if c.privileged == Some(true) && self.is_fargate() {
            self.warning(
                format!("{at}.privileged"),
                "FARGATE does not allow privileged containers; it applies locally",
            );
        }
        let link_caps = c
            .linux_parameters
            .as_ref()
            .and_then(|l| l.capabilities.as_ref())
            .map(|caps| &caps.add)
            .into_iter()
            .flatten()
            .position(|cap| crate::taskdef::model::rewrites_link(cap));
        if let Some(j) = link_caps {
            self.warning(
                format!("{at}.linuxParameters.capabilities.add[{j}]"),
                "this container may take another's network address: while it runs, the local agent answers no request by its source address (v2 metadata, `/creds`, `/role/…`); credentials by AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and v3/v4 metadata are unaffected",
            );
        }
    }

    /// `entryPoint` and `command` must fit in what Docker can send to its
    /// runtime; the larger of the two is named.
    fn command_line(&mut self, at: &str, c: &ContainerDefinition) {
        let entry_point = c.entry_point.as_deref().map_or(0, spec_bytes);
        let command = c.command.as_deref().map_or(0, spec_bytes);
        let total = entry_point + command;
        if total > COMMAND_LINE_LIMIT {
            let field = if entry_point > command {
                "entryPoint"
            } else {
                "command"
            };
            #[expect(clippy::cast_precision_loss, reason = "a size shown to one decimal")]
            let mib = total as f64 / (1024.0 * 1024.0);
            self.error(
                format!("{at}.{field}"),
                format!(
                    "entryPoint and command make a command line of {mib:.1} MiB; Docker cannot start a container whose specification passes {SPEC_LIMIT_MIB} MiB"
                ),
            );
        }
    }

    fn secret(&mut self, at: &str, name: Option<&str>, value_from: Option<&str>) {
        if name.is_none_or(str::is_empty) {
            self.error(format!("{at}.name"), "is required");
        }
        match value_from {
            None => self.error(format!("{at}.valueFrom"), "is required"),
            Some(value) if looks_like_placeholder(value) => {
                self.placeholder(format!("{at}.valueFrom"), value);
            }
            Some(value) => {
                if let Err(reason) = SecretRef::parse(value) {
                    self.error(format!("{at}.valueFrom"), reason);
                }
            }
        }
    }

    /// Template text in a free-form string: the definition is a template a
    /// deploy tool fills in. It loads, but the value cannot be used as it is.
    fn placeholder(&mut self, path: String, value: &str) {
        self.warning(
            path,
            format!("`{value}` looks like an unfilled template placeholder"),
        );
    }

    fn health_check(&mut self, at: &str, c: &ContainerDefinition) {
        let Some(h) = &c.health_check else { return };
        let at = format!("{at}.healthCheck");
        match h.command.first().map(String::as_str) {
            None => self.error(format!("{at}.command"), "is required"),
            Some("CMD" | "CMD-SHELL") if h.command.len() < 2 => {
                self.error(
                    format!("{at}.command"),
                    "names no command after `CMD`/`CMD-SHELL`",
                );
            }
            Some("CMD" | "CMD-SHELL" | "NONE") => {}
            Some(first) => self.error(
                format!("{at}.command[0]"),
                format!("`{first}` must be `CMD`, `CMD-SHELL` or `NONE`"),
            ),
        }
        let ranges = [
            ("interval", h.interval, 5, 300),
            ("timeout", h.timeout, 2, 60),
            ("retries", h.retries, 1, 10),
            ("startPeriod", h.start_period, 0, 300),
        ];
        for (field, value, min, max) in ranges {
            if let Some(value) = value.filter(|v| !(min..=max).contains(v)) {
                self.error(
                    format!("{at}.{field}"),
                    format!("{value} is outside {min}..={max}"),
                );
            }
        }
        if let (Some(timeout), Some(interval)) = (h.timeout, h.interval) {
            if timeout > interval {
                self.warning(
                    format!("{at}.timeout"),
                    format!("{timeout} s is longer than the interval ({interval} s)"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{WEB, check, errors, task};

    #[test]
    fn duplicate_container_names() {
        assert_eq!(
            errors(&task("", &format!("{WEB},{WEB}"))),
            [
                "Error containerDefinitions[1].name: duplicate container name `web` (also containerDefinitions[0])"
            ]
        );
    }

    #[test]
    fn no_essential_container() {
        assert_eq!(
            errors(&task(
                "",
                r#"{"name":"a","image":"i","memory":64,"essential":false}"#
            )),
            ["Error containerDefinitions: no container is essential; at least one must be"]
        );
    }

    #[test]
    fn a_container_that_may_take_another_address_is_a_warning() {
        let w = check(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,"linuxParameters":{"capabilities":{"add":["SYS_TIME","net_admin"]}}}"#,
        ));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("Warning containerDefinitions[0].linuxParameters.capabilities.add[1]: this container may take another's network address"),
            "{w:?}"
        );
    }

    #[test]
    fn malformed_secrets() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,"secrets":[
                {"name":"OK","valueFrom":"/app/db"},
                {"name":"BAD","valueFrom":"arn:aws:secretsmanager:us-east-1:1:secret:db:user"},
                {"valueFrom":"arn:aws:s3:::b/k"}]}"#,
        ));
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].starts_with(
            "Error containerDefinitions[0].secrets[1].valueFrom: `arn:aws:secretsmanager"
        ));
        assert_eq!(
            e[1],
            "Error containerDefinitions[0].secrets[2].name: is required"
        );
        assert!(e[2].contains("secrets[2].valueFrom: `arn:aws:s3:::b/k` is an ARN of `s3`"));
        // The name becomes an environment variable's name.
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,"secrets":[
                {"name":"A=B","valueFrom":"/app/db"},
                {"name":"A\u0000B","valueFrom":"/app/db"}]}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[0].secrets[0].name: `A=B` contains `=`, which an environment variable name cannot hold",
                "Error containerDefinitions[0].secrets[1].name: `A\\0B` contains a NUL character, which an environment variable cannot hold",
            ]
        );
    }

    #[test]
    fn firelens_options_cannot_add_lines_to_the_routers_configuration() {
        let router = r#"{"name":"log","image":"i","memory":64,"firelensConfiguration":{"type":"fluentbit"}}"#;
        let app = r#"{"name":"a","image":"i","memory":64,"logConfiguration":{"logDriver":"awsfirelens","options":{"Name":"cloudwatch","region":"us-east-1\n[OUTPUT]\n    Name stdout"}}}"#;
        let e = errors(&task("", &format!("{router},{app}")));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[1].logConfiguration.options.region: a FireLens option cannot hold a line break: it would add lines to the router's configuration"
            ]
        );
        let hash = r#"{"name":"a","image":"i","memory":64,"logConfiguration":{"logDriver":"awsfirelens","options":{"Name":"http","uri":"/a#b"}}}"#;
        let w = check(&task("", &format!("{router},{hash}")));
        assert!(
            w.iter().any(|l| l.starts_with(
                "Warning containerDefinitions[1].logConfiguration.options.uri: Fluent Bit may read"
            )),
            "{w:?}"
        );
    }

    #[test]
    fn awsfirelens_needs_a_firelens_container() {
        assert_eq!(
            errors(&task(
                "",
                r#"{"name":"a","image":"i","memory":64,"logConfiguration":{"logDriver":"awsfirelens"}}"#
            )),
            [
                "Error containerDefinitions[0].logConfiguration.logDriver: `awsfirelens` needs a container with a `firelensConfiguration` in the task"
            ]
        );
    }

    #[test]
    fn health_check_ranges() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,"healthCheck":{"command":["curl","x"],"interval":1,"retries":11}}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[0].healthCheck.command[0]: `curl` must be `CMD`, `CMD-SHELL` or `NONE`",
                "Error containerDefinitions[0].healthCheck.interval: 1 is outside 5..=300",
                "Error containerDefinitions[0].healthCheck.retries: 11 is outside 1..=10",
            ]
        );
    }

    #[test]
    fn ulimits_log_drivers_and_linux_parameters() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,
                "ulimits":[{"name":"nofile","softLimit":10,"hardLimit":5},{"name":"files","softLimit":1,"hardLimit":1}],
                "logConfiguration":{"logDriver":"cloudwatch"},
                "linuxParameters":{"tmpfs":[{"containerPath":"tmp","size":0}],"swappiness":101}}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[0].logConfiguration.logDriver: `cloudwatch` is not a log driver ECS supports (awslogs, awsfirelens, fluentd, gelf, json-file, journald, logentries, splunk, syslog)",
                "Error containerDefinitions[0].linuxParameters.tmpfs[0].containerPath: must be an absolute path",
                "Error containerDefinitions[0].linuxParameters.tmpfs[0].size: 0 MiB is not a size",
                "Error containerDefinitions[0].linuxParameters.swappiness: 101 is outside 0..=100",
                "Error containerDefinitions[0].ulimits[0].softLimit: 10 is above the hard limit 5",
                "Error containerDefinitions[0].ulimits[1].name: `files` is not a ulimit ECS supports (core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)",
            ]
        );
    }

    #[test]
    fn environment_files_must_be_s3_objects() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,"environmentFiles":[
                {"value":"arn:aws:s3:::bucket/app.env","type":"s3"},{"value":"./local.env","type":"s3"}]}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[0].environmentFiles[1].value: `./local.env` is not an S3 object ARN (`arn:aws:s3:::BUCKET/KEY.env`)"
            ]
        );
    }

    #[test]
    fn environment_names_and_values_docker_cannot_hold_are_errors() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":64,"environment":[
                {"name":"OK","value":"a=b"},{"name":"A=B","value":"x"},
                {"name":"NUL\u0000","value":"x"},{"name":"V","value":"x\u0000y"}]}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[0].environment[1].name: `A=B` contains `=`, which an environment variable name cannot hold",
                "Error containerDefinitions[0].environment[2].name: `NUL\\0` contains a NUL character, which an environment variable cannot hold",
                "Error containerDefinitions[0].environment[3].value: `x\\0y` contains a NUL character, which an environment variable cannot hold",
            ]
        );
    }

    #[test]
    fn command_lines_docker_cannot_send_are_errors() {
        let word = "x".repeat(1024 * 1024);
        let words = |n: usize| serde_json::to_string(&vec![word.as_str(); n]).unwrap();
        let e = errors(&task(
            "",
            &format!(
                r#"{{"name":"a","image":"i","memory":64,"command":{}}},
                   {{"name":"b","image":"i","memory":64,"entryPoint":{},"command":{}}},
                   {{"name":"c","image":"i","memory":64,"entryPoint":{},"command":{}}}"#,
                words(17),
                words(2),
                words(10),
                words(10),
                words(7),
            ),
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[0].command: entryPoint and command make a command line of 17.0 MiB; Docker cannot start a container whose specification passes 16 MiB",
                "Error containerDefinitions[2].entryPoint: entryPoint and command make a command line of 17.0 MiB; Docker cannot start a container whose specification passes 16 MiB",
            ]
        );
    }

    #[test]
    fn placeholders_in_images_are_flagged() {
        let w = check(&task("", r#"{"name":"a","image":"{{image}}","memory":64}"#));
        assert_eq!(
            w,
            [
                "Warning containerDefinitions[0].image: `{{image}}` looks like an unfilled template placeholder"
            ]
        );
    }
}
