//! `GET /admin/store`: with `--store redis`, the Redis servers and
//! Sentinels as they stand now: where each runs and whether it does, the
//! primary the Sentinels name, the promotions Sentinel carried out (which
//! server, when), each killed primary's replication window, the replicas'
//! measured distance behind the primary, and what the shop's client saw.

use super::cluster::Cluster;
use super::engines::redis::{conf, watch};
use std::sync::atomic::Ordering::Relaxed;

/// One process.
#[derive(serde::Serialize)]
pub struct Process {
    pub name: String,
    pub az: String,
    pub port: u16,
    pub running: bool,
}

/// The replicas' distance behind the primary, in bytes of the replication
/// stream, one sample per replica every 20 ms.
#[derive(serde::Serialize)]
pub struct LagBytes {
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
    pub samples: u64,
}

/// The shop's client: writes the primary acknowledged, commands that
/// failed, connections opened (one more after each failover).
#[derive(serde::Serialize)]
pub struct Client {
    pub writes_acked: u64,
    pub failed: u64,
    pub connects: u64,
}

#[derive(serde::Serialize)]
pub struct LiveStore {
    pub engine: &'static str,
    pub sentinel: conf::Timings,
    pub quorum: u32,
    pub primary: Option<String>,
    pub servers: Vec<Process>,
    pub sentinels: Vec<Process>,
    pub promotions: Vec<watch::Promotion>,
    pub kills: Vec<watch::Kill>,
    pub replication_lag_bytes: LagBytes,
    pub client: Client,
}

impl Cluster {
    /// The section, or None when the store is not `--store redis`.
    pub fn store_report(&self) -> Option<LiveStore> {
        let r = self.shop.redis.as_ref()?;
        let list = |v: &std::sync::Mutex<Vec<crate::engines::redis::Instance>>| {
            v.lock()
                .expect("instances")
                .iter()
                .map(|s| Process {
                    name: s.name.clone(),
                    az: r.az_name(s.az).to_string(),
                    port: s.port,
                    running: s.child.is_some(),
                })
                .collect::<Vec<_>>()
        };
        let (servers, sentinels) = (list(&r.servers), list(&r.sentinels));
        let seen = r.seen.lock().expect("seen");
        let primary = servers
            .iter()
            .find(|s| Some(s.port) == seen.master)
            .map(|s| s.name.clone());
        let h = &seen.lag_bytes;
        let c = &r.counters;
        Some(LiveStore {
            engine: "redis",
            sentinel: r.timings,
            quorum: conf::QUORUM,
            primary,
            servers,
            sentinels,
            promotions: seen.promotions.clone(),
            kills: seen.kills.clone(),
            replication_lag_bytes: LagBytes {
                p50: h.value_at_quantile(0.5),
                p99: h.value_at_quantile(0.99),
                max: h.max(),
                samples: h.len(),
            },
            client: Client {
                writes_acked: c.writes_acked.load(Relaxed),
                failed: c.failed.load(Relaxed),
                connects: c.connects.load(Relaxed),
            },
        })
    }
}
