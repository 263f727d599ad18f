//! Container stats in the agent's format: Docker's numbers re-shaped into
//! the Go `types.StatsJSON` the agent marshals (its field order, its
//! `omitempty` rules), plus v4's `network_rate_stats`.
//!
//! A container's stats stream starts on the first request for it and runs
//! until the container stops, keeping the last two samples, as the agent's
//! stats engine does; requests read those samples and never wait on Docker
//! once the stream runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::models::ContainerStatsResponse;
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::docker::Engine;
use crate::protocol::wire::{self, Time};

/// How long a first request waits for the samples of a new stream.
const FIRST_SAMPLES: Duration = Duration::from_millis(2500);

fn go_zero_time() -> String {
    "0001-01-01T00:00:00Z".into()
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PidsStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioStatEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

/// Go marshals a nil slice as `null`, as Docker sends on cgroup v2.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioStats {
    pub io_service_bytes_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_serviced_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_queue_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_service_time_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_wait_time_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_merged_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_time_recursive: Option<Vec<BlkioStatEntry>>,
    pub sectors_recursive: Option<Vec<BlkioStatEntry>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub read_count_normalized: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub read_size_bytes: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub write_count_normalized: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub write_size_bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuUsage {
    pub total_usage: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_usage: Vec<u64>,
    pub usage_in_kernelmode: u64,
    pub usage_in_usermode: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThrottlingData {
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_time: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuStats {
    pub cpu_usage: CpuUsage,
    #[serde(skip_serializing_if = "is_zero")]
    pub system_cpu_usage: u64,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub online_cpus: u32,
    pub throttling_data: ThrottlingData,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_usage: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub stats: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "is_zero")]
    pub failcnt: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub commitbytes: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub commitpeakbytes: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub privateworkingset: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkStats {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub endpoint_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub instance_id: String,
}

/// Docker's `types.StatsJSON`, in its Go field order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    pub read: String,
    pub preread: String,
    pub pids_stats: PidsStats,
    pub blkio_stats: BlkioStats,
    pub num_procs: u32,
    pub storage_stats: StorageStats,
    pub cpu_stats: CpuStats,
    pub precpu_stats: CpuStats,
    pub memory_stats: MemoryStats,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, NetworkStats>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            read: go_zero_time(),
            preread: go_zero_time(),
            pids_stats: PidsStats::default(),
            blkio_stats: BlkioStats::default(),
            num_procs: 0,
            storage_stats: StorageStats::default(),
            cpu_stats: CpuStats::default(),
            precpu_stats: CpuStats::default(),
            memory_stats: MemoryStats::default(),
            name: String::new(),
            id: String::new(),
            networks: BTreeMap::new(),
        }
    }
}

impl Stats {
    /// Re-shapes a Docker sample; Docker's timestamps are re-printed in Go's form.
    pub fn from_docker(sample: &ContainerStatsResponse) -> Stats {
        // Absent and `null` alike take Go's zero value.
        let mut stats: Stats = serde_json::to_value(sample)
            .map(strip_nulls)
            .and_then(serde_json::from_value)
            .unwrap_or_default();
        for time in [&mut stats.read, &mut stats.preread] {
            *time = wire::parse_time(time).map_or_else(go_zero_time, |t| wire::format_time(&t));
        }
        stats
    }

    fn read_at(&self) -> Option<Time> {
        wire::parse_time(&self.read)
    }
}

fn strip_nulls(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => map
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k, strip_nulls(v)))
            .collect(),
        serde_json::Value::Array(items) => items.into_iter().map(strip_nulls).collect(),
        other => other,
    }
}

/// v4's `network_rate_stats` (the agent's `NetworkStatsPerSec`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NetworkRate {
    #[serde(serialize_with = "wire::float")]
    pub rx_bytes_per_sec: f64,
    #[serde(serialize_with = "wire::float")]
    pub tx_bytes_per_sec: f64,
}

impl NetworkRate {
    /// Bytes per second between two samples, over every interface.
    #[must_use]
    pub fn between(previous: &Stats, latest: &Stats) -> Option<NetworkRate> {
        let seconds = (latest.read_at()? - previous.read_at()?).as_seconds_f64();
        if seconds <= 0.0 {
            return None;
        }
        let total = |s: &Stats, pick: fn(&NetworkStats) -> u64| -> u64 {
            s.networks.values().map(pick).sum()
        };
        let rate = |pick: fn(&NetworkStats) -> u64| {
            total(latest, pick).saturating_sub(total(previous, pick)) as f64 / seconds
        };
        Some(NetworkRate {
            rx_bytes_per_sec: rate(|n| n.rx_bytes),
            tx_bytes_per_sec: rate(|n| n.tx_bytes),
        })
    }
}

/// v4's stats body: Docker's stats and the network rate.
#[derive(Debug, Clone, Serialize)]
pub struct StatsV4 {
    #[serde(flatten)]
    pub stats: Stats,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_rate_stats: Option<NetworkRate>,
}

#[derive(Debug, Clone, Default)]
struct Samples {
    previous: Option<Arc<Stats>>,
    latest: Option<Arc<Stats>>,
    ended: bool,
}

/// The running stats streams, by Docker id.
#[derive(Debug, Clone)]
pub struct Collectors {
    engine: Engine,
    streams: Arc<Mutex<HashMap<String, watch::Receiver<Samples>>>>,
}

impl Collectors {
    #[must_use]
    pub fn new(engine: Engine) -> Collectors {
        Collectors {
            engine,
            streams: Arc::default(),
        }
    }

    /// The latest sample of a container and the network rate since the one
    /// before; `None` when the container does not run.
    pub async fn sample(&self, docker_id: &str) -> Option<(Stats, Option<NetworkRate>)> {
        let mut receiver = self.receiver(docker_id);
        let ready = |s: &Samples| s.ended || (s.latest.is_some() && s.previous.is_some());
        let _ = tokio::time::timeout(FIRST_SAMPLES, receiver.wait_for(ready)).await;
        let samples = receiver.borrow().clone();
        let latest = samples.latest?;
        let rate = samples
            .previous
            .as_deref()
            .and_then(|previous| NetworkRate::between(previous, &latest));
        Some(((*latest).clone(), rate))
    }

    fn receiver(&self, docker_id: &str) -> watch::Receiver<Samples> {
        let mut streams = self
            .streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(receiver) = streams.get(docker_id) {
            return receiver.clone();
        }
        let (sender, receiver) = watch::channel(Samples::default());
        streams.insert(docker_id.to_owned(), receiver.clone());
        let mut stream = self.engine.stats(docker_id);
        let id = docker_id.to_owned();
        let streams = Arc::clone(&self.streams);
        tokio::spawn(async move {
            while let Some(Ok(sample)) = stream.next().await {
                let stats = Arc::new(Stats::from_docker(&sample));
                sender.send_modify(|s| {
                    s.previous = s.latest.take();
                    s.latest = Some(stats);
                });
            }
            sender.send_modify(|s| s.ended = true);
            streams
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&id);
        });
        receiver
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        crate::agent::tests::endpoint_fixture(name)
    }

    fn keys(value: &serde_json::Value) -> Vec<String> {
        fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
            if let serde_json::Value::Object(map) = value {
                for (k, v) in map {
                    let path = format!("{prefix}/{k}");
                    out.push(path.clone());
                    // Map-valued fields (interfaces, memory counters) have
                    // data-dependent keys; their order is Go's sorted order.
                    if !matches!(k.as_str(), "networks" | "stats") {
                        walk(&path, v, out);
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk("", value, &mut out);
        out
    }

    #[test]
    fn docker_stats_reshape_into_the_agents_v4_body_in_its_key_order() {
        let expected: serde_json::Value =
            serde_json::from_str(&fixture("doc-v4-ec2-bridge-container-stats.json")).unwrap();
        // Feed our own re-shaping the doc's numbers, as Docker would send them.
        let sample: ContainerStatsResponse =
            serde_json::from_str(&fixture("doc-v4-ec2-bridge-container-stats.json")).unwrap();
        let body = StatsV4 {
            stats: Stats::from_docker(&sample),
            network_rate_stats: Some(NetworkRate {
                rx_bytes_per_sec: 0.0,
                tx_bytes_per_sec: 0.0,
            }),
        };
        let ours: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&body).unwrap()).unwrap();
        assert_eq!(keys(&ours), keys(&expected));
        assert_eq!(ours, expected);
    }

    #[test]
    fn a_sparse_docker_sample_gets_the_go_zero_values() {
        let sample: ContainerStatsResponse =
            serde_json::from_str(&fixture("agent-testdata-docker-stats-unix.json")).unwrap();
        let json = serde_json::to_string(&Stats::from_docker(&sample)).unwrap();
        assert!(
            json.starts_with(
                r#"{"read":"1969-12-31T23:59:59.99999999Z","preread":"0001-01-01T00:00:00Z","pids_stats":{},"blkio_stats":{"io_service_bytes_recursive":[{"major":202,"minor":192,"op":"Read","value":1}"#
            ),
            "{json}"
        );
        assert!(json.contains(r#""io_serviced_recursive":null"#), "{json}");
        assert!(
            json.contains(r#""num_procs":0,"storage_stats":{}"#),
            "{json}"
        );
        assert!(
            json.contains(r#""memory_stats":{"usage":30,"max_usage":100,"stats":{"cache":20,"rss":10},"privateworkingset":10}"#),
            "{json}"
        );
        assert!(json.ends_with(r#""tx_dropped":5}}}"#), "{json}");
    }

    #[test]
    fn network_rates_are_bytes_per_second_over_all_interfaces() {
        let at = |read: &str, rx: u64, tx: u64| Stats {
            read: read.into(),
            networks: BTreeMap::from([
                (
                    "eth0".into(),
                    NetworkStats {
                        rx_bytes: rx,
                        tx_bytes: tx,
                        ..NetworkStats::default()
                    },
                ),
                (
                    "eth1".into(),
                    NetworkStats {
                        rx_bytes: 100,
                        ..NetworkStats::default()
                    },
                ),
            ]),
            ..Stats::default()
        };
        let rate = NetworkRate::between(
            &at("2020-10-02T00:51:12Z", 1000, 0),
            &at("2020-10-02T00:51:14Z", 3000, 500),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&rate).unwrap(),
            r#"{"rx_bytes_per_sec":1000,"tx_bytes_per_sec":250}"#
        );
        assert_eq!(
            NetworkRate::between(&at("x", 0, 0), &at("2020-10-02T00:51:14Z", 0, 0)),
            None
        );
    }
}
