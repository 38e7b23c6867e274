//! The balancer node a live request comes in through, with `[dns]`: the
//! answer is the control plane's Route 53 (its health-checked records, the
//! same verdicts the simulation gets), cached for the TTL, and a dead
//! address behaves as `dns.client` says: `next_address` waits out the
//! connect timeout and tries the answer's next address, `pinned` waits it
//! out and fails.
//!
//! Live, every request comes from loopback, so one resolver stands for all
//! clients: one cached answer, shared, and each request starts at the next
//! of its addresses in turn (as different clients pick different first
//! addresses). Per-client caches are what the simulation models.

use super::cluster::{Cluster, Control};
use stratus_model::control::ControlPlane;
use stratus_model::dns::Answer;
use stratus_model::rng::{Rng, Streams};
use stratus_model::scenario::{AzIx, DnsClient, DnsRouting};
use stratus_model::time::SimTime;
use stratus_model::workload::NEVER;

/// The shared resolver's cache.
pub struct Resolver {
    answer: Answer,
    resolved_at: SimTime,
    /// Draws multivalue answers' order.
    rng: Rng,
    /// Where the next request starts in the answer.
    turn: usize,
}

/// Why no balancer node took the request.
pub enum NoEntry {
    /// Without health checks, DNS answered nothing: no node answers.
    NoneAnswers,
    /// The addresses tried all timed out.
    TimedOut,
}

impl Resolver {
    pub fn new(seed: u64) -> Resolver {
        Resolver {
            answer: Answer::default(),
            resolved_at: NEVER,
            rng: Streams::new(seed).stream("live_resolver"),
            turn: 0,
        }
    }

    /// The addresses this request tries, in order: the cached answer's
    /// from this request's turn on (`next_address`), or only the first of
    /// them (`pinned`). Empty: no balancer node answers.
    fn attempts(&mut self, cp: &ControlPlane, now: SimTime) -> Vec<AzIx> {
        let dns = cp.dns.as_ref().expect("[dns]");
        let cfg = dns.cfg;
        let answering = |a: AzIx| cp.net.answers(&cp.alive, a);
        if self.resolved_at == NEVER || now >= self.resolved_at + cfg.ttl.0 {
            self.resolved_at = now;
            let from = self.turn % cp.alive.len();
            self.answer = match cfg.routing {
                DnsRouting::Single => dns
                    .single(from, answering)
                    .map_or_else(Answer::default, Answer::one),
                DnsRouting::Multivalue => dns.multivalue(&mut self.rng, answering),
            };
        }
        let addrs: Vec<AzIx> = self.answer.addrs().collect();
        if addrs.is_empty() {
            return addrs;
        }
        self.turn = self.turn.wrapping_add(1);
        let start = self.turn % addrs.len();
        let tries = match cfg.client {
            DnsClient::NextAddress => addrs.len(),
            DnsClient::Pinned => 1,
        };
        (0..tries).map(|k| addrs[(start + k) % addrs.len()]).collect()
    }
}

impl Cluster {
    /// The balancer node this request connects to, after any connect
    /// timeouts on dead addresses.
    pub async fn dns_entry(&self) -> Result<AzIx, NoEntry> {
        let now = self.shop.clock.now();
        let attempts = {
            let mut c = self.lock();
            let Control { resolver, cp, .. } = &mut *c;
            resolver.attempts(cp, now)
        };
        if attempts.is_empty() {
            return Err(NoEntry::NoneAnswers);
        }
        let timeout = std::time::Duration::from_nanos(self.sc.load_balancer.connect_timeout.0);
        for az in attempts {
            let answers = {
                let c = self.lock();
                c.cp.net.answers(&c.cp.alive, az)
            };
            if answers {
                return Ok(az);
            }
            tokio::time::sleep(timeout).await;
        }
        Err(NoEntry::TimedOut)
    }
}
