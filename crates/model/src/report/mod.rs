//! The report: what a run measured, in the shape CONTRACT.md fixes
//! (`stratus.report/1`), and its renderings.
//!
//! Everything except the top-level `wall` key is a function of the scenario
//! and seed alone, so two runs give the same bytes.

pub mod checks;
pub mod colour;
pub mod cost;
pub mod cross_az;
pub mod data;
pub mod diff;
pub mod elastic;
pub mod figures;
pub mod html;
pub mod injected;
pub mod merge;
pub mod part;
pub mod plot;
pub mod retries;
pub mod security;
pub mod table;
pub mod text;

use crate::metrics::{Metrics, SecondRow};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;

pub const SCHEMA: &str = "stratus.report/1";

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct LogEvent {
    pub t_s: f64,
    pub kind: String,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Fault {
    pub t_s: f64,
    pub action: String,
    pub carts_at_risk: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Shoppers {
    pub started: u64,
    pub finished: u64,
    pub with_items: u64,
    pub carts_lost: u64,
    pub items_lost: u64,
    pub abandoned_with_items: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Requests {
    pub total: u64,
    pub ok: u64,
    pub failed: u64,
    pub errors: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Checkouts {
    pub ok: u64,
    pub failed: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Latency {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let ms = |us: u64| round3(us as f64 / 1_000.0);
        Latency {
            mean: round3(h.mean() / 1_000.0),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

/// Rounds to three decimals, so reports carry no false precision.
fn round3(x: f64) -> f64 {
    (x * 1_000.0).round() / 1_000.0
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct LatencyMs {
    pub all: Latency,
    pub by_kind: BTreeMap<String, Latency>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Bytes {
    pub request_mean: f64,
    pub cookie_mean: f64,
    pub cookie_max: u64,
    /// Mean response head (status line and headers, Set-Cookie included) of
    /// successful responses; bodies are not modelled.
    pub response_header_mean: f64,
}

/// Session-layer counts beyond the contract's: how each strategy behaved.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct SessionStats {
    /// Sticky requests the balancer moved to a new target.
    pub resticks: u64,
    /// Cart cookies that failed verification and were treated as no session.
    pub cookies_rejected: u64,
    /// Set-Cookie headers the browser ignored for exceeding max_bytes.
    pub cookies_ignored_oversize: u64,
    /// Store writes dropped from the replication stream by a primary's loss.
    pub store_writes_lost: u64,
}

/// Queueing figures over all nodes, for checks against theory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct QueueStats {
    pub node_arrivals: u64,
    pub arrival_rate_per_s: f64,
    pub wait_mean_ms: f64,
    pub sojourn_mean_ms: f64,
    /// Time-average number of requests at nodes (queued or in service).
    pub in_system_mean: f64,
}

impl QueueStats {
    /// The figures of the nodes' queues `q`, over `ns` nanoseconds (the
    /// run, or a live server's uptime), closed there.
    pub fn of(q: &crate::metrics::Queueing, ns: u64) -> QueueStats {
        let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        QueueStats {
            node_arrivals: q.arrivals,
            arrival_rate_per_s: round3(div(q.arrivals as f64, ns as f64 / 1e9)),
            wait_mean_ms: div(q.wait_sum as f64, q.started as f64) / 1e6,
            sojourn_mean_ms: div(q.sojourn_sum as f64, q.served as f64) / 1e6,
            in_system_mean: div(q.area as f64, ns as f64),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Engine {
    pub events: u64,
}

/// Wall-clock figures: the only part of a report that varies between runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Wall {
    pub seconds: f64,
    pub sim_requests_per_second: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Report {
    pub schema: String,
    pub scenario: String,
    pub strategy: String,
    /// The cookie design of a `compare` entry such as `cookie:unsigned`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub seed: u64,
    pub simulated_seconds: f64,
    /// The region's AZs, in the order per-AZ figures use.
    pub azs: Vec<String>,
    pub shoppers: Shoppers,
    pub requests: Requests,
    pub checkouts: Checkouts,
    pub latency_ms: LatencyMs,
    pub bytes: Bytes,
    pub events: Vec<LogEvent>,
    pub faults: Vec<Fault>,
    /// Actions injected while the run ran (a dashboard's keys, a replay), in
    /// order; they also appear in `events` and `faults` like scripted ones.
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub injected: Vec<injected::Injected>,
    pub sessions: SessionStats,
    pub queueing: QueueStats,
    pub engine: Engine,
    /// What the design costs per hour, from the scenario's prices and what
    /// the run used.
    pub cost: crate::cost::Cost,
    /// Bytes that crossed AZs per hop, and their price per hour.
    #[serde(default)]
    pub cross_az: cross_az::CrossAz,
    /// The scenario's thresholds and how this run did on each.
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub slo: Vec<crate::slo::Check>,
    /// The SQL tier, when the scenario has one (`[database]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<data::DatabaseReport>,
    /// The cache-aside cluster, when the scenario has one (`[cache]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<data::CacheReport>,
    /// Target tracking, when the fleet has a policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling: Option<elastic::ScalingReport>,
    /// Cached DNS answers, when the scenario has `[dns]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<elastic::DnsReport>,
    /// Clients' retries and the goodput left, with `[workload.retry]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<retries::RetriesReport>,
    /// The nodes' calls to their dependencies, with `[fleet.calls]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls: Option<crate::calls::CallStats>,
    /// The session store or table (store and durable strategies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<elastic::StoreReport>,
    /// Dropped connections and attacks, when the scenario has attackers or
    /// its own security groups, or something was dropped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<security::SecurityReport>,
    /// The per-second series; in JSON only when asked for (`--series`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<Vec<SecondRow>>,
    pub wall: Wall,
}

impl Report {
    /// The strategy, with the cookie design of a compare entry (`cookie:unsigned`).
    pub fn label(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}:{v}", self.strategy),
            None => self.strategy.clone(),
        }
    }

    /// Sum of carts at risk over every fault.
    pub fn carts_at_risk(&self) -> u64 {
        self.faults.iter().map(|f| f.carts_at_risk).sum()
    }

    pub fn failure_rate(&self) -> f64 {
        if self.requests.total == 0 {
            0.0
        } else {
            self.requests.failed as f64 / self.requests.total as f64
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serialises")
    }
}

/// What the model hands the report builder at the end of a run.
pub struct RunFacts<'a> {
    pub scenario: &'a str,
    pub azs: &'a [String],
    pub strategy: &'a str,
    pub seed: u64,
    pub simulated_ns: u64,
    pub metrics: &'a Metrics,
    pub series: Vec<SecondRow>,
    pub log: Vec<LogEvent>,
    pub faults: Vec<Fault>,
    pub injected: Vec<injected::Injected>,
    pub resticks: u64,
    pub events: u64,
}

impl Report {
    pub fn build(f: RunFacts<'_>) -> Report {
        let m = f.metrics;
        let secs = f.simulated_ns as f64 / 1e9;
        let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        let q = &m.queue;
        Report {
            schema: SCHEMA.to_string(),
            scenario: f.scenario.to_string(),
            strategy: f.strategy.to_string(),
            variant: None,
            seed: f.seed,
            simulated_seconds: secs,
            azs: f.azs.to_vec(),
            shoppers: Shoppers {
                started: m.started,
                finished: m.finished,
                with_items: m.with_items,
                carts_lost: m.carts_lost,
                items_lost: m.items_lost,
                abandoned_with_items: m.abandoned_with_items,
            },
            requests: Requests {
                total: m.requests,
                ok: m.ok,
                failed: m.failed,
                errors: m.errors.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            },
            checkouts: Checkouts {
                ok: m.checkouts_ok,
                failed: m.checkouts_failed,
            },
            latency_ms: LatencyMs {
                all: Latency::of(&m.lat_all()),
                // Kinds the run never requested are left out.
                by_kind: crate::core::Kind::ALL
                    .iter()
                    .filter(|k| !m.lat_kind[k.index()].is_empty())
                    .map(|k| (k.name().to_string(), Latency::of(&m.lat_kind[k.index()])))
                    .collect(),
            },
            bytes: Bytes {
                request_mean: round3(div(m.request_bytes as f64, m.sent as f64)),
                cookie_mean: round3(div(m.cookie_bytes as f64, m.sent as f64)),
                cookie_max: m.cookie_max,
                response_header_mean: round3(div(m.response_bytes as f64, m.responses_ok as f64)),
            },
            events: f.log,
            faults: f.faults,
            injected: f.injected,
            sessions: SessionStats {
                resticks: f.resticks,
                cookies_rejected: m.cookies_rejected,
                cookies_ignored_oversize: m.cookies_ignored,
                store_writes_lost: m.store_writes_lost,
            },
            queueing: QueueStats::of(q, f.simulated_ns),
            engine: Engine { events: f.events },
            series: Some(f.series),
            database: None,
            cache: None,
            scaling: None,
            dns: None,
            retries: None,
            calls: None,
            store: None,
            security: None,
            cost: Default::default(),
            cross_az: Default::default(),
            slo: Vec::new(),
            wall: Wall::default(),
        }
    }
}
