//! The report's sections for the elastic and HA features: `scaling` (target
//! tracking's datapoints and actions), `dns` (failures of shoppers holding a
//! stale answer) and `store` (the session store's or table's failovers,
//! replacements and stale reads). Each is present only when the run had it.

use crate::autoscale::Scaling;
use crate::session::store::StoreStats;
use crate::time::SEC;
use serde::Serialize;

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct ScalingReport {
    /// `cpu` (percent) or `requests_per_target` (per minute).
    pub metric: String,
    pub target: f64,
    pub period_s: f64,
    /// Every datapoint: [period end in seconds, value].
    pub datapoints: Vec<(u32, f64)>,
    pub actions: Vec<Scaling>,
    /// The most nodes in service or launching at any second.
    pub peak_nodes: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct DnsReport {
    pub ttl_s: f64,
    /// Requests that failed on a cached answer naming a dead balancer node.
    pub stale_answer_failures: u64,
    /// When the last such request was sent (absent: there was none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_stale_answer_sent_s: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct StoreReport {
    /// `redis` (store) or `dynamo` (durable).
    pub kind: String,
    pub shards: u32,
    pub reads: u64,
    pub writes: u64,
    pub failovers: u64,
    pub replicas_created: u64,
    /// Reads answered by a copy behind the newest write.
    pub stale_reads: u64,
    /// Cart views among them that missed items the shopper had added.
    pub stale_carts: u64,
}

impl ScalingReport {
    pub fn of(t: &crate::autoscale::Tracker, peak_nodes: u32) -> ScalingReport {
        ScalingReport {
            metric: match t.cfg.metric {
                crate::scenario::ScaleMetric::Cpu => "cpu",
                crate::scenario::ScaleMetric::RequestsPerTarget => "requests_per_target",
            }
            .into(),
            target: t.cfg.target,
            period_s: t.cfg.period.0 as f64 / SEC as f64,
            datapoints: t
                .datapoints
                .iter()
                .map(|&(s, v)| (s, (v * 1000.0).round() / 1000.0))
                .collect(),
            actions: t.actions.clone(),
            peak_nodes,
        }
    }
}

impl StoreReport {
    pub fn of(kind: &str, shards: usize, s: StoreStats, stale_carts: u64) -> StoreReport {
        StoreReport {
            kind: kind.into(),
            shards: shards as u32,
            reads: s.reads,
            writes: s.writes,
            failovers: s.failovers,
            replicas_created: s.replicas_created,
            stale_reads: s.stale_reads,
            stale_carts,
        }
    }
}
