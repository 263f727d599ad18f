//! The task list as `ps` shows it. The list itself is the runner's
//! ([`crate::runner::task_list`]).

use crate::runner::task_list::TaskSummary;

/// The `ps` table.
#[must_use]
pub fn table(tasks: &[TaskSummary]) -> String {
    let mut rows = vec![
        [
            "TASK",
            "DEFINITION",
            "NETWORK",
            "SERVICE",
            "CONTAINERS",
            "PORTS",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for t in tasks {
        let containers: Vec<String> = t
            .containers
            .iter()
            .map(|c| {
                let status = if t.supervised || c.status != "running" {
                    c.status.clone()
                } else {
                    format!("{}, unsupervised", c.status)
                };
                match &c.health {
                    Some(h) => format!("{} ({status}, {h})", c.name),
                    None => format!("{} ({status})", c.name),
                }
            })
            .collect();
        let mut ports: Vec<String> = t.containers.iter().flat_map(|c| c.ports.clone()).collect();
        ports.sort();
        ports.dedup();
        rows.push(vec![
            t.id.clone(),
            format!("{}:{}", t.family, t.revision),
            t.network_mode.clone(),
            t.service_name.clone(),
            containers.join(", "),
            ports.join(", "),
        ]);
    }
    crate::output::columns(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::task_list::ContainerLine;

    fn line(name: &str, status: &str, health: Option<&str>, ports: &[&str]) -> ContainerLine {
        ContainerLine {
            name: name.into(),
            status: status.into(),
            health: health.map(str::to_owned),
            ports: ports.iter().map(|p| (*p).to_owned()).collect(),
            docker_id: String::new(),
        }
    }

    #[test]
    fn the_ps_table_lines_up_one_row_per_task() {
        let task = TaskSummary {
            id: "0123abcd".into(),
            task_arn: "arn:aws:ecs:us-east-1:000000000000:task/default/0123abcd".into(),
            family: "web".into(),
            revision: "3".into(),
            network_mode: "bridge".into(),
            service_name: "web".into(),
            supervisor_pid: Some(42),
            supervised: true,
            containers: vec![
                line("app", "running", Some("healthy"), &["0.0.0.0:80->80/tcp"]),
                line("init", "exited", None, &[]),
            ],
            run_id: "r".into(),
            supervisor_log: None,
        };
        assert_eq!(
            table(std::slice::from_ref(&task)),
            "TASK      DEFINITION  NETWORK  SERVICE  CONTAINERS                             PORTS\n\
             0123abcd  web:3       bridge   web      app (running, healthy), init (exited)  0.0.0.0:80->80/tcp\n"
        );
        // A task whose supervisor is gone runs on, unsupervised.
        let orphan = TaskSummary {
            supervisor_pid: None,
            supervised: false,
            ..task
        };
        assert!(table(&[orphan]).contains("app (running, unsupervised, healthy), init (exited)"),);
    }
}
