//! Where the plan's random parts come from: endpoint and credentials ids, the
//! task id and the hex suffix of Docker names.
//!
//! Endpoint and credentials ids are the only authorization the metadata and
//! credentials routes have (as in ECS), so the real source draws them from the
//! thread-local CSPRNG that the operating system seeds. Tests pass [`SequentialIds`] for stable snapshots.

use std::fmt::Write as _;

use rand::RngCore as _;

/// A source of the identifiers a plan needs.
pub trait Ids {
    /// A random (version 4) UUID, lowercase and hyphenated.
    fn uuid(&mut self) -> String;
    /// `len` lowercase hex digits.
    fn hex(&mut self, len: usize) -> String;
}

/// Unguessable ids from `rand`'s thread-local CSPRNG (`ChaCha`, seeded by the OS).
#[derive(Debug, Default)]
pub struct RandomIds;

impl Ids for RandomIds {
    fn uuid(&mut self) -> String {
        uuid::Uuid::new_v4().to_string()
    }

    fn hex(&mut self, len: usize) -> String {
        let mut bytes = vec![0u8; len.div_ceil(2)];
        rand::rng().fill_bytes(&mut bytes);
        let mut out = bytes
            .iter()
            .fold(String::with_capacity(len + 1), |mut out, b| {
                let _ = write!(out, "{b:02x}");
                out
            });
        out.truncate(len);
        out
    }
}

/// Lowercase hex of `bytes`.
#[must_use]
pub fn to_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Predictable ids for tests: `…0001`, `…0002`, … in the shape of the real ones.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct SequentialIds {
    next: u64,
}

#[cfg(test)]
impl Ids for SequentialIds {
    fn uuid(&mut self) -> String {
        self.next += 1;
        format!("00000000-0000-4000-8000-{:012x}", self.next)
    }

    fn hex(&mut self, len: usize) -> String {
        self.next += 1;
        format!("{:0>len$x}", self.next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_have_the_right_shape_and_differ() {
        let mut ids = RandomIds;
        let (a, b) = (ids.hex(20), ids.hex(20));
        assert_eq!(a.len(), 20);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
        assert_eq!(ids.hex(7).len(), 7);
        assert_eq!(
            uuid::Uuid::parse_str(&ids.uuid())
                .unwrap()
                .get_version_num(),
            4
        );
    }

    #[test]
    fn sequential_ids_count_up() {
        let mut ids = SequentialIds::default();
        assert_eq!(ids.hex(4), "0001");
        assert_eq!(ids.uuid(), "00000000-0000-4000-8000-000000000002");
    }
}
