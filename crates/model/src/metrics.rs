//! What a run measures while it runs: latency histograms, counters by cause,
//! queueing integrals and a per-second series. Observers only: nothing here
//! changes what the model does.

use crate::core::Kind;
use crate::time::SimTime;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;

/// Latencies are recorded in microseconds, from 1 µs to one day, 3 significant digits.
fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 86_400_000_000, 3).expect("valid bounds")
}

/// The per-second series' percentiles are this histogram's (two significant
/// digits: a chart shows no more).
fn coarse_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 86_400_000_000, 2).expect("valid bounds")
}

/// Node counts in one AZ at one moment, by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AzNodes {
    pub launching: u16,
    pub healthy: u16,
    pub unhealthy: u16,
    pub draining: u16,
    pub dead: u16,
}

/// One simulated second.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct SecondRow {
    pub t_s: u32,
    pub requests: u32,
    pub failures: u32,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub nodes: Vec<AzNodes>,
    pub carts_lost: u64,
    /// Requests whose first attempt left a client this second (the load
    /// shoppers offer, retries aside).
    #[serde(default)]
    pub offered: u32,
    /// Attempts sent this second, retries included.
    #[serde(default)]
    pub attempts: u32,
    /// Answers that succeeded while their caller still waited.
    #[serde(default)]
    pub goodput: u32,
}

/// Time-integrals for the queueing checks (Little's law, Erlang C).
#[derive(Clone, Debug, Default)]
pub struct Queueing {
    /// Requests admitted to a node (queued or started).
    pub arrivals: u64,
    /// Requests that finished service.
    pub served: u64,
    /// Sum of time spent queued before service, of requests that started.
    pub wait_sum: u128,
    pub started: u64,
    /// Sum of node arrival to service end, of requests served.
    pub sojourn_sum: u128,
    /// ∫ number-in-system dt (ns · requests).
    pub area: u128,
    pub in_system: u64,
    last: SimTime,
}

impl Queueing {
    fn advance(&mut self, now: SimTime) {
        self.area += u128::from(self.in_system) * u128::from(now - self.last);
        self.last = now;
    }
    pub fn enter(&mut self, now: SimTime) {
        self.advance(now);
        self.in_system += 1;
        self.arrivals += 1;
    }
    pub fn leave(&mut self, now: SimTime, sojourn: u64) {
        self.advance(now);
        self.in_system -= 1;
        self.served += 1;
        self.sojourn_sum += u128::from(sojourn);
    }
    /// A request removed without service (its node died).
    pub fn drop_one(&mut self, now: SimTime) {
        self.advance(now);
        self.in_system -= 1;
    }
    pub fn start(&mut self, wait: u64) {
        self.started += 1;
        self.wait_sum += u128::from(wait);
    }
    pub fn close(&mut self, now: SimTime) {
        self.advance(now);
    }
}

#[derive(Clone, Debug)]
pub struct Metrics {
    pub lat_kind: [Histogram<u64>; 8],
    /// This second's latencies (µs), unsorted: see [`SecondLatencies`].
    second: SecondLatencies,
    pub requests: u64,
    pub ok: u64,
    pub failed: u64,
    pub errors: BTreeMap<&'static str, u64>,
    pub checkouts_ok: u64,
    pub checkouts_failed: u64,
    pub started: u64,
    pub finished: u64,
    pub with_items: u64,
    pub carts_lost: u64,
    pub items_lost: u64,
    pub abandoned_with_items: u64,
    pub request_bytes: u64,
    /// Response status line and headers, Set-Cookie included (bodies are not modelled).
    pub response_bytes: u64,
    pub responses_ok: u64,
    pub cookie_bytes: u64,
    pub cookie_max: u64,
    pub sent: u64,
    pub cookies_rejected: u64,
    pub cookies_ignored: u64,
    pub store_writes_lost: u64,
    /// Requests that failed because the shopper's cached DNS answer named a
    /// balancer node that no longer answers.
    pub stale_dns_failures: u64,
    /// When the last of those was sent.
    pub last_stale_dns_send: Option<SimTime>,
    /// Connection attempts to a dead balancer node after which the client
    /// tried its answer's next address (`dns.client = "next_address"`).
    pub dns_retries: u64,
    /// Requests that reached a live balancer node after such a retry.
    pub dns_recovered: u64,
    /// Cart views answered by a table copy behind the newest write, missing items.
    pub stale_carts: u64,
    /// Requests whose first attempt was sent (`sent` counts every attempt).
    pub first_attempts: u64,
    /// Attempts a client sent again after a failure or a timeout.
    pub retries: u64,
    /// Retries the budget refused.
    pub retries_denied: u64,
    /// Attempts the client gave up waiting for (`workload.retry.timeout`).
    pub timed_out: u64,
    /// Requests a node served after their caller had given up: wasted work.
    pub served_abandoned: u64,
    /// Requests a node dropped for waiting past `fleet.queue_timeout`.
    pub shed: u64,
    pub queue: Queueing,
    pub series: Vec<SecondRow>,
    sec_requests: u32,
    sec_failures: u32,
    sec_offered: u32,
    sec_attempts: u32,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            lat_kind: std::array::from_fn(|_| hist()),
            second: SecondLatencies::default(),
            requests: 0,
            ok: 0,
            failed: 0,
            errors: BTreeMap::new(),
            checkouts_ok: 0,
            checkouts_failed: 0,
            started: 0,
            finished: 0,
            with_items: 0,
            carts_lost: 0,
            items_lost: 0,
            abandoned_with_items: 0,
            request_bytes: 0,
            response_bytes: 0,
            responses_ok: 0,
            cookie_bytes: 0,
            cookie_max: 0,
            sent: 0,
            cookies_rejected: 0,
            cookies_ignored: 0,
            store_writes_lost: 0,
            stale_dns_failures: 0,
            last_stale_dns_send: None,
            dns_retries: 0,
            dns_recovered: 0,
            stale_carts: 0,
            first_attempts: 0,
            retries: 0,
            retries_denied: 0,
            timed_out: 0,
            served_abandoned: 0,
            shed: 0,
            queue: Queueing::default(),
            series: Vec::new(),
            sec_requests: 0,
            sec_failures: 0,
            sec_offered: 0,
            sec_attempts: 0,
        }
    }
}

impl Metrics {
    /// A response reached the shopper `latency` ns after it sent the request.
    pub fn response(&mut self, kind: Kind, latency: u64, failure: Option<&'static str>) {
        let us = (latency / 1_000).max(1);
        self.lat_kind[kind.index()].saturating_record(us);
        self.second.saturating_record(us);
        self.requests += 1;
        self.sec_requests += 1;
        match failure {
            None => self.ok += 1,
            Some(cause) => {
                self.failed += 1;
                self.sec_failures += 1;
                *self.errors.entry(cause).or_insert(0) += 1;
            }
        }
    }

    /// A request left the browser carrying `cookie` bytes of Cookie header.
    pub fn sent(&mut self, request: u64, cookie: u64) {
        self.sent += 1;
        self.sec_attempts += 1;
        self.request_bytes += request;
        self.cookie_bytes += cookie;
        self.cookie_max = self.cookie_max.max(cookie);
    }

    /// The attempt just sent is a request's first.
    pub fn first_attempt(&mut self) {
        self.first_attempts += 1;
        self.sec_offered += 1;
    }

    /// Every response's latency: the per-kind histograms merged (recording
    /// once per response, not twice).
    pub fn lat_all(&self) -> Histogram<u64> {
        let mut all = hist();
        for h in &self.lat_kind {
            all.add(h).expect("same bounds");
        }
        all
    }

    /// Closes one simulated second of the series.
    pub fn second(&mut self, t_s: u32, nodes: Vec<AzNodes>) {
        let (p50, p99) = (self.second.at(0.50), self.second.at(0.99));
        self.series.push(SecondRow {
            t_s,
            requests: self.sec_requests,
            failures: self.sec_failures,
            p50_ms: p50,
            p99_ms: p99,
            nodes,
            carts_lost: self.carts_lost,
            offered: self.sec_offered,
            attempts: self.sec_attempts,
            goodput: self.sec_requests - self.sec_failures,
        });
        self.second.clear();
        self.sec_requests = 0;
        self.sec_failures = 0;
        self.sec_offered = 0;
        self.sec_attempts = 0;
    }
}

/// One simulated second's latencies, kept as samples and read as the
/// coarse histogram would read them.
///
/// Recording into a histogram costs a bucket lookup per response, and
/// reading its percentiles and resetting it cost a pass over all its
/// buckets every second; a second's samples are a few thousand numbers, so
/// pushing them and selecting the two ranks at the second's end is cheaper.
/// The answer is the histogram's exactly: its `value_at_quantile(q)` is the
/// top of the bucket holding the sample of rank max(1, ⌈q·n⌉) (its
/// bottom for q = 0), which is
/// what [`SecondLatencies::at`] computes (a unit test holds the two
/// together). A sample beyond the histogram's range, which would be
/// clamped, sends that second through the histogram itself.
#[derive(Clone, Debug)]
struct SecondLatencies {
    samples: Vec<u64>,
    /// Never recorded into except for a second with an out-of-range sample;
    /// otherwise only its bucket boundaries are used.
    buckets: Histogram<u64>,
    out_of_range: bool,
}

impl Default for SecondLatencies {
    fn default() -> Self {
        SecondLatencies {
            samples: Vec::new(),
            buckets: coarse_hist(),
            out_of_range: false,
        }
    }
}

impl SecondLatencies {
    #[inline]
    fn saturating_record(&mut self, us: u64) {
        self.out_of_range |= us > self.buckets.high();
        self.samples.push(us);
    }

    /// The `q` quantile in milliseconds, 0 for a second with no samples.
    fn at(&mut self, q: f64) -> f64 {
        if self.samples.is_empty() {
            return 0.0;
        }
        let us = if self.out_of_range {
            self.buckets.reset();
            for &v in &self.samples {
                self.buckets.saturating_record(v);
            }
            self.buckets.value_at_quantile(q)
        } else {
            // hdrhistogram's rank: ⌈q·n⌉, at least 1.
            let rank = ((q * self.samples.len() as f64).ceil() as usize).max(1);
            let (_, v, _) = self.samples.select_nth_unstable(rank - 1);
            // The bottom of the bucket for the 0 quantile, as hdrhistogram.
            match q {
                0.0 => self.buckets.lowest_equivalent(*v),
                _ => self.buckets.highest_equivalent(*v),
            }
        };
        us as f64 / 1_000.0
    }

    fn clear(&mut self) {
        self.samples.clear();
        if self.out_of_range {
            self.buckets.reset();
            self.out_of_range = false;
        }
    }
}

#[cfg(test)]
mod second_tests {
    use super::*;

    #[test]
    fn a_seconds_percentiles_are_the_coarse_histograms() {
        let mut x: u64 = 99;
        for n in [1usize, 2, 3, 7, 100, 101, 999, 4_000] {
            for spread in [10u64, 5_000, 3_000_000] {
                let (mut s, mut h) = (SecondLatencies::default(), coarse_hist());
                for _ in 0..n {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let v = 1 + (x >> 33) % spread;
                    s.saturating_record(v);
                    h.saturating_record(v);
                }
                for q in [0.5, 0.99, 0.0, 1.0, 0.25] {
                    let want = h.value_at_quantile(q) as f64 / 1_000.0;
                    assert_eq!(s.at(q), want, "n {n} spread {spread} q {q}");
                }
            }
        }
    }

    #[test]
    fn an_out_of_range_second_reads_as_the_clamped_histogram() {
        let (mut s, mut h) = (SecondLatencies::default(), coarse_hist());
        for v in [5, 90_000_000_000, 7, 200_000_000_000, 3] {
            s.saturating_record(v);
            h.saturating_record(v);
        }
        for q in [0.5, 0.99] {
            assert_eq!(s.at(q), h.value_at_quantile(q) as f64 / 1_000.0);
        }
        s.clear();
        s.saturating_record(40);
        assert_eq!(
            s.at(0.5),
            coarse_hist().highest_equivalent(40) as f64 / 1_000.0
        );
    }
}
