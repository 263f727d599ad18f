//! JSON as the Go agent writes it: timestamps in RFC 3339 with the trailing
//! zeros of the fraction trimmed (`time.RFC3339Nano`), and floats that print
//! `2`, not `2.0` (`encoding/json`'s shortest form).

use chrono::{DateTime, Datelike as _, SecondsFormat, Utc};
use serde::Serializer;

/// A point in time, as the agent prints it.
pub type Time = DateTime<Utc>;

/// `2020-10-02T00:15:07.620912337Z`, `2020-10-02T00:15:07.6Z`, `2020-10-02T00:15:07Z`.
#[must_use]
pub fn format_time(time: &Time) -> String {
    let full = time.to_rfc3339_opts(SecondsFormat::Nanos, true);
    // `…:07.620912300Z` → `…:07.6209123Z`; `…:07.000000000Z` → `…:07Z`.
    let body = full.trim_end_matches('Z');
    match body.split_once('.') {
        Some((seconds, fraction)) => {
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                format!("{seconds}Z")
            } else {
                format!("{seconds}.{fraction}Z")
            }
        }
        None => full,
    }
}

/// Docker's timestamps; its zero time (`0001-01-01T00:00:00Z`) is `None`.
#[must_use]
pub fn parse_time(text: &str) -> Option<Time> {
    let time = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    (time.year() > 1).then_some(time)
}

/// For `#[serde(serialize_with)]` on an `Option<Time>` that is skipped when `None`.
#[expect(
    clippy::ref_option,
    reason = "serde's serialize_with hands over a reference"
)]
pub fn time<S: Serializer>(time: &Option<Time>, serializer: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serializer.serialize_str(&format_time(time)),
        None => serializer.serialize_none(),
    }
}

/// For `#[serde(serialize_with)]` on an `f64`: integral values print without `.0`.
#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's serialize_with hands over a reference"
)]
pub fn float<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        serializer.serialize_i64(*value as i64)
    } else {
        serializer.serialize_f64(*value)
    }
}

/// [`float`] for an optional value.
#[expect(
    clippy::ref_option,
    reason = "serde's serialize_with hands over a reference"
)]
pub fn option_float<S: Serializer>(value: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => float(value, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_trim_their_fraction_like_go() {
        let cases = [
            "2020-10-02T00:15:07.620912337Z",
            "2020-10-02T00:15:07.6209123Z",
            "2020-10-02T00:15:07.5Z",
            "2020-10-02T00:15:07Z",
        ];
        for case in cases {
            assert_eq!(format_time(&parse_time(case).unwrap()), case);
        }
        assert_eq!(parse_time("0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_time("not a time"), None);
    }

    #[test]
    fn floats_print_like_go() {
        #[derive(serde::Serialize)]
        struct F {
            #[serde(serialize_with = "float")]
            a: f64,
            #[serde(serialize_with = "float")]
            b: f64,
            #[serde(serialize_with = "option_float")]
            c: Option<f64>,
        }
        let json = serde_json::to_string(&F {
            a: 2.0,
            b: 0.25,
            c: Some(1024.0),
        })
        .unwrap();
        assert_eq!(json, r#"{"a":2,"b":0.25,"c":1024}"#);
    }
}
