//! The report's sections for the elastic and HA features: `scaling` (target
//! tracking's datapoints and actions), `dns` (failures of shoppers holding a
//! stale answer, Route 53's verdicts and the clients' retries) and `store` (the session store's or table's failovers,
//! replacements and stale reads). Each is present only when the run had it.

use crate::autoscale::Scaling;
use crate::dns::{CHECKERS, Route53};
use crate::metrics::Metrics;
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
    /// Requests that failed on an answer naming a dead balancer node (cached
    /// from before its death, or handed out before its checks noticed).
    pub stale_answer_failures: u64,
    /// When the last such request was sent (absent: there was none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_stale_answer_sent_s: Option<f64>,
    /// Route 53's part, when the scenario asks for its health checks or
    /// multivalue answers (absent: `[dns] ttl` alone, reported as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route53: Option<Route53Report>,
}

/// Route 53's health checks, answers and the clients' retries.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Route53Report {
    /// `single` or `multivalue`.
    pub routing: String,
    /// `next_address` or `pinned`.
    pub client: String,
    /// Absent: records follow the balancer's own view at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<DnsCheckReport>,
    /// Every change of a record's verdict, in order.
    pub verdicts: Vec<DnsVerdict>,
    /// Connection attempts to a dead address after which the client tried
    /// the answer's next one (each cost a connect timeout).
    pub next_address_retries: u64,
    /// Requests that got through on another address after such a retry.
    pub next_address_recoveries: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct DnsCheckReport {
    pub interval_s: f64,
    pub failure_threshold: u32,
    /// Modelled checkers (one per Route 53 checker region).
    pub checkers: u32,
}

/// A record left (`healthy` false) or rejoined the answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct DnsVerdict {
    pub t_s: f64,
    pub az: String,
    pub healthy: bool,
    /// Seconds since its balancer node stopped (or started) answering.
    pub after_s: f64,
}

impl DnsReport {
    /// The section for a run with `[dns]`: the control plane's verdicts and
    /// the shoppers' counts.
    pub fn of(r53: &Route53, azs: &[String], m: &Metrics) -> DnsReport {
        let cfg = &r53.cfg;
        let secs = |t: u64| t as f64 / SEC as f64;
        let route53 = cfg.route53().then(|| Route53Report {
            routing: cfg.routing.name().into(),
            client: cfg.client.name().into(),
            health_check: cfg.health_check.map(|h| DnsCheckReport {
                interval_s: secs(h.interval.0),
                failure_threshold: h.failure_threshold,
                checkers: CHECKERS as u32,
            }),
            verdicts: r53
                .verdicts
                .iter()
                .map(|v| DnsVerdict {
                    t_s: secs(v.t),
                    az: azs[v.az].clone(),
                    healthy: v.healthy,
                    after_s: secs(v.t - v.since),
                })
                .collect(),
            next_address_retries: m.dns_retries,
            next_address_recoveries: m.dns_recovered,
        });
        DnsReport {
            ttl_s: cfg.ttl.0 as f64 / 1e9,
            stale_answer_failures: m.stale_dns_failures,
            last_stale_answer_sent_s: m.last_stale_dns_send.map(|t| t as f64 / 1e9),
            route53,
        }
    }
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
