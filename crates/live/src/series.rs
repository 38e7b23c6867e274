//! The per-second series as the live balancer sees it: requests, failures
//! and latencies, one row per second, as the simulation's `Tick` closes its own.

use stratus_model::metrics::{AzNodes, SecondRow};
use stratus_model::time::{MS, SEC, SimTime, US};

/// Requests through the balancer, by second: each row closes when a later
/// second begins, as the simulation's `Tick` closes its own.
#[derive(Debug, Default)]
pub struct Series {
    pub rows: Vec<SecondRow>,
    /// The open second's requests, failures and latencies (µs).
    requests: u32,
    failures: u32,
    latencies: Vec<u32>,
    pub requests_total: u64,
    pub failed_total: u64,
}

impl Series {
    /// Closes every second that ended by `now`; `nodes` is the fleet as it
    /// stands (the rows of seconds without a request repeat it).
    pub fn roll(&mut self, now: SimTime, nodes: &[AzNodes]) {
        let done = (now / SEC) as u32;
        while (self.rows.len() as u32) < done {
            let mut lat = std::mem::take(&mut self.latencies);
            lat.sort_unstable();
            let q = |p: f64| {
                lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
                    .map_or(0.0, |&us| f64::from(us) * US as f64 / MS as f64)
            };
            let (requests, failures) = (
                std::mem::take(&mut self.requests),
                std::mem::take(&mut self.failures),
            );
            // The balancer sees attempts; which were retries only the
            // clients know, so a live row offers what it was sent.
            self.rows.push(SecondRow {
                t_s: self.rows.len() as u32 + 1,
                requests,
                failures,
                p50_ms: q(0.50),
                p99_ms: q(0.99),
                nodes: nodes.to_vec(),
                carts_lost: 0,
                offered: requests,
                attempts: requests,
                goodput: requests - failures,
            });
        }
    }

    /// One request answered at `now` after `took`; `ok` unless the balancer
    /// or the node failed it (a 5xx or no answer).
    pub fn record(
        &mut self,
        now: SimTime,
        took: SimTime,
        ok: bool,
        nodes: impl FnOnce() -> Vec<AzNodes>,
    ) {
        if (self.rows.len() as u64) < now / SEC {
            self.roll(now, &nodes());
        }
        self.requests += 1;
        self.requests_total += 1;
        if !ok {
            self.failures += 1;
            self.failed_total += 1;
        }
        self.latencies
            .push((took / US).min(u64::from(u32::MAX)) as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_close_in_order_with_their_quantiles() {
        let mut s = Series::default();
        let nodes = || vec![AzNodes::default(); 2];
        for i in 0..100u64 {
            s.record(SEC / 2, (i + 1) * MS, i != 0, nodes);
        }
        s.record(2 * SEC + 1, MS, true, nodes);
        assert_eq!(s.rows.len(), 2, "second 2 had no request and still closes");
        assert_eq!(
            (s.rows[0].t_s, s.rows[0].requests, s.rows[0].failures),
            (1, 100, 1)
        );
        assert_eq!((s.rows[0].p50_ms, s.rows[0].p99_ms), (51.0, 100.0));
        assert_eq!((s.rows[1].t_s, s.rows[1].requests), (2, 0));
        assert_eq!((s.requests_total, s.failed_total), (101, 1));
    }
}
