//! Task-level `cpu` and `memory` in the forms the ECS API accepts:
//! CPU units (`"1024"`) or vCPU (`"1 vCPU"`, `".25 vcpu"`), memory in MiB
//! (`"2048"`) or GB (`"2 GB"`, `"1 gb"`).

use super::model::TaskSize;

/// CPU units (1024 per vCPU), or why the value is not one.
pub fn cpu_units(size: &TaskSize) -> Result<i64, String> {
    parse(
        size,
        &[("vcpu", 1024.0)],
        "CPU units such as \"1024\" or vCPU such as \"1 vCPU\"",
    )
}

/// MiB, or why the value is not a memory size.
pub fn memory_mib(size: &TaskSize) -> Result<i64, String> {
    parse(
        size,
        &[("gib", 1024.0), ("gb", 1024.0), ("mib", 1.0), ("mb", 1.0)],
        "MiB such as \"2048\" or GB such as \"2 GB\"",
    )
}

fn parse(size: &TaskSize, suffixes: &[(&str, f64)], expected: &str) -> Result<i64, String> {
    let text = match size {
        TaskSize::Number(n) if *n > 0 => return Ok(*n),
        TaskSize::Number(n) => {
            return Err(format!("`{n}` is not a positive size; expected {expected}"));
        }
        TaskSize::Text(text) => text,
    };
    let bad = || format!("`{text}` is not a size; expected {expected}");
    let lower = text.trim().to_ascii_lowercase();
    let suffixed = suffixes
        .iter()
        .find_map(|(suffix, factor)| lower.strip_suffix(suffix).map(|n| (n.trim(), *factor)));
    let Some((number, factor)) = suffixed else {
        // A plain number is whole units: "1024", never "0.5".
        if lower.is_empty() || !lower.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        return lower.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(bad);
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    let scaled = value * factor;
    if !scaled.is_finite() || !(1.0..=1e12).contains(&scaled) || scaled.fract() != 0.0 {
        return Err(bad());
    }
    Ok(scaled as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> TaskSize {
        TaskSize::Text(s.into())
    }

    #[test]
    fn cpu_in_units_or_vcpu() {
        assert_eq!(cpu_units(&text("1024")), Ok(1024));
        assert_eq!(cpu_units(&text("1 vCPU")), Ok(1024));
        assert_eq!(cpu_units(&text(".25 vcpu")), Ok(256));
        assert_eq!(cpu_units(&text("0.5vCPU")), Ok(512));
        assert_eq!(cpu_units(&TaskSize::Number(256)), Ok(256));
        assert!(
            cpu_units(&text("{{cpu}}"))
                .unwrap_err()
                .contains("`{{cpu}}` is not a size")
        );
        assert!(cpu_units(&text("0")).is_err());
        assert!(cpu_units(&TaskSize::Number(-1)).is_err());
    }

    #[test]
    fn memory_in_mib_or_gb() {
        assert_eq!(memory_mib(&text("2048")), Ok(2048));
        assert_eq!(memory_mib(&text("1 gb")), Ok(1024));
        assert_eq!(memory_mib(&text("0.5 GB")), Ok(512));
        assert_eq!(memory_mib(&text("512 MiB")), Ok(512));
        assert!(memory_mib(&text("lots")).is_err());
        assert!(memory_mib(&text("1e400 GB")).is_err());
        assert!(memory_mib(&text("")).is_err());
    }
}
