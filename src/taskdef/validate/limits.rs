//! What a container may take from the host: cpu and memory limits, the API's
//! integer range, and `linuxParameters` (devices, tmpfs, shared memory, swap).

use super::Validator;
use crate::taskdef::model::ContainerDefinition;

/// Docker refuses a memory limit below 6 MiB.
const MIN_MEMORY_MIB: i64 = 6;
impl Validator<'_> {
    pub(super) fn resources(&mut self, at: &str, c: &ContainerDefinition) {
        let linux = c.linux_parameters.as_ref();
        let integers = [
            ("cpu", c.cpu),
            ("memory", c.memory),
            ("memoryReservation", c.memory_reservation),
            ("startTimeout", c.start_timeout),
            ("stopTimeout", c.stop_timeout),
            (
                "linuxParameters.sharedMemorySize",
                linux.and_then(|l| l.shared_memory_size),
            ),
            ("linuxParameters.maxSwap", linux.and_then(|l| l.max_swap)),
        ];
        for (field, value) in integers {
            if let Some(value) = value.filter(|v| *v > i64::from(i32::MAX)) {
                self.error(
                    format!("{at}.{field}"),
                    format!("{value} is larger than ECS accepts ({})", i32::MAX),
                );
            }
        }
        for (j, t) in linux
            .map(|l| l.tmpfs.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if let Some(size) = t.size.filter(|v| *v > i64::from(i32::MAX)) {
                self.error(
                    format!("{at}.linuxParameters.tmpfs[{j}].size"),
                    format!("{size} is larger than ECS accepts ({})", i32::MAX),
                );
            }
        }
        if let Some(cpu) = c.cpu.filter(|cpu| *cpu < 0) {
            self.error(format!("{at}.cpu"), format!("{cpu} is negative"));
        }
        for (field, value) in [
            ("memory", c.memory),
            ("memoryReservation", c.memory_reservation),
        ] {
            if let Some(m) = value.filter(|m| *m < MIN_MEMORY_MIB) {
                self.error(
                    format!("{at}.{field}"),
                    format!("{m} MiB is below Docker's minimum of {MIN_MEMORY_MIB} MiB"),
                );
            }
        }
        if let (Some(memory), Some(reservation)) = (c.memory, c.memory_reservation) {
            if reservation > memory {
                self.error(
                    format!("{at}.memoryReservation"),
                    format!("{reservation} MiB is above the hard limit `memory` ({memory} MiB)"),
                );
            }
        }
        let ec2 = !self.is_fargate();
        if ec2 && self.def.memory.is_none() && c.memory.is_none() && c.memory_reservation.is_none()
        {
            self.warning(
                at,
                "ECS requires `memory` or `memoryReservation` on each container when the task has no `memory`; locally it runs without a limit",
            );
        }
    }

    pub(super) fn linux(&mut self, at: &str, c: &ContainerDefinition) {
        let Some(l) = &c.linux_parameters else { return };
        let at = format!("{at}.linuxParameters");
        for (j, d) in l.devices.iter().enumerate() {
            if d.host_path.as_deref().is_none_or(str::is_empty) {
                self.error(format!("{at}.devices[{j}].hostPath"), "is required");
            }
        }
        for (j, t) in l.tmpfs.iter().enumerate() {
            if t.container_path
                .as_deref()
                .is_none_or(|p| !p.starts_with('/'))
            {
                self.error(
                    format!("{at}.tmpfs[{j}].containerPath"),
                    "must be an absolute path",
                );
            }
            match t.size {
                None => self.error(format!("{at}.tmpfs[{j}].size"), "is required"),
                Some(size) if size <= 0 => self.error(
                    format!("{at}.tmpfs[{j}].size"),
                    format!("{size} MiB is not a size"),
                ),
                Some(_) => {}
            }
        }
        if let Some(size) = l.shared_memory_size.filter(|s| *s <= 0) {
            self.error(
                format!("{at}.sharedMemorySize"),
                format!("{size} MiB is not a size"),
            );
        }
        if let Some(swap) = l.max_swap.filter(|s| *s < 0) {
            self.error(format!("{at}.maxSwap"), format!("{swap} is negative"));
        }
        if let Some(swappiness) = l.swappiness.filter(|s| !(0..=100).contains(s)) {
            self.error(
                format!("{at}.swappiness"),
                format!("{swappiness} is outside 0..=100"),
            );
        }
        if self.is_fargate() && (!l.devices.is_empty() || l.max_swap.is_some()) {
            self.warning(
                at,
                "FARGATE does not support devices or swap; they apply locally",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{WEB, check, errors, task};

    #[test]
    fn memory_rules() {
        let e = errors(&task(
            r#""memory":"128","#,
            r#"{"name":"a","image":"i","memory":64,"memoryReservation":100},
               {"name":"b","image":"i","memory":256},{"name":"c","image":"i","memory":4}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[1].memory: 256 MiB is more than the task's memory (128 MiB)",
                "Error containerDefinitions[0].memoryReservation: 100 MiB is above the hard limit `memory` (64 MiB)",
                "Error containerDefinitions[2].memory: 4 MiB is below Docker's minimum of 6 MiB",
            ]
        );
        let w = check(&task("", r#"{"name":"a","image":"i"}"#));
        assert!(
            w[0].starts_with(
                "Warning containerDefinitions[0]: ECS requires `memory` or `memoryReservation`"
            ),
            "{w:?}"
        );
        assert!(
            errors(&task(r#""cpu":"{{cpu}}","#, WEB))[0]
                .starts_with("Error cpu: `{{cpu}}` is not a size")
        );
    }

    #[test]
    fn integers_beyond_the_api_range_are_rejected() {
        let e = errors(&task(
            "",
            r#"{"name":"a","image":"i","memory":9223372036854775807}"#,
        ));
        assert_eq!(
            e,
            [
                "Error containerDefinitions[0].memory: 9223372036854775807 is larger than ECS accepts (2147483647)"
            ]
        );
    }
}
