//! The report's `retries` section: what clients' retries did to the load
//! and how much of the servers' work reached someone still waiting.

use crate::metrics::{Metrics, SecondRow};
use serde::{Deserialize, Serialize};

/// Amplification and goodput over a run with `[workload.retry]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RetriesReport {
    /// Requests (first attempts) clients sent.
    pub requests: u64,
    /// Attempts sent, retries included.
    pub attempts: u64,
    /// `attempts / requests`: the load retries multiplied.
    pub attempts_per_request: f64,
    pub retries: u64,
    /// Retries the budget refused.
    pub retries_denied: u64,
    /// Attempts the client stopped waiting for.
    pub timed_out: u64,
    /// Requests a node served after their caller had given up: wasted work.
    pub served_abandoned: u64,
    /// Requests nodes dropped for waiting past `fleet.queue_timeout`.
    pub shed: u64,
    /// Attempts that succeeded while their caller still waited.
    pub goodput: u64,
    /// `goodput / requests`.
    pub goodput_share: f64,
    /// `goodput / requests` over the run's last five minutes (or all of a
    /// shorter run): whether the shop came back once a trigger had passed.
    pub goodput_share_last_5m: f64,
}

/// The tail the recovery figure reads, in seconds.
pub const TAIL_S: u32 = 300;

impl RetriesReport {
    /// From the run's counters and its per-second series.
    pub fn of(m: &Metrics, series: &[SecondRow]) -> RetriesReport {
        let end = series.last().map_or(0, |r| r.t_s);
        let tail = series.iter().filter(|r| r.t_s + TAIL_S > end);
        let (offered, goodput) = tail.fold((0u64, 0u64), |(o, g), r| {
            (o + u64::from(r.offered), g + u64::from(r.goodput))
        });
        let div = |a: u64, b: u64| {
            if b == 0 {
                0.0
            } else {
                (a as f64 / b as f64 * 10_000.0).round() / 10_000.0
            }
        };
        RetriesReport {
            requests: m.first_attempts,
            attempts: m.sent,
            attempts_per_request: div(m.sent, m.first_attempts),
            retries: m.retries,
            retries_denied: m.retries_denied,
            timed_out: m.timed_out,
            served_abandoned: m.served_abandoned,
            shed: m.shed,
            goodput: m.ok,
            goodput_share: div(m.ok, m.first_attempts),
            goodput_share_last_5m: div(goodput, offered),
        }
    }
}
