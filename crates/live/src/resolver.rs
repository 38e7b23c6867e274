//! The balancer node a live request comes in through, with `[dns]`: the
//! answer is the control plane's Route 53 (its health-checked records, the
//! same verdicts the simulation gets), cached for the TTL, and a dead
//! address behaves as `dns.client` says: `next_address` waits out the
//! connect timeout and tries the answer's next address, `pinned` waits it
//! out and fails.
//!
//! Live, every request comes from loopback, so the requests take turns
//! over one client per AZ (as if shoppers were spread evenly over the
//! balancer's nodes), each with its own resolver cache: a client homed in
//! an AZ gets that AZ's node in a single answer, its own order in a
//! multivalue one, and keeps the answer for the TTL. A client tries its
//! answer from the first address each time (no connection is kept);
//! `Cluster::dns_entry` makes those tries.

use stratus_model::control::ControlPlane;
use stratus_model::dns::Answer;
use stratus_model::rng::{Rng, Streams};
use stratus_model::scenario::AzIx;
use stratus_model::time::NEVER;
use stratus_model::time::SimTime;

/// The clients' resolver caches.
pub struct Resolver {
    /// Per client: its answer and when it looked the name up.
    clients: Vec<(Answer, SimTime)>,
    /// Draws multivalue answers' order.
    rng: Rng,
    /// The client the next request comes from.
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
    pub fn new(seed: u64, azs: usize) -> Resolver {
        Resolver {
            clients: vec![(Answer::default(), NEVER); azs],
            rng: Streams::new(seed).stream("live_resolver"),
            turn: 0,
        }
    }

    /// The addresses this request tries, in order: all of its client's
    /// answer (`next_address`) or only the first (`pinned`). Empty: no
    /// balancer node answers.
    pub(crate) fn attempts(&mut self, cp: &ControlPlane, now: SimTime) -> Vec<AzIx> {
        let dns = cp.dns.as_ref().expect("[dns]");
        let answering = |a: AzIx| cp.net.answers(&cp.alive, a);
        let k = self.turn % self.clients.len();
        self.turn = self.turn.wrapping_add(1);
        let (answer, resolved_at) = &mut self.clients[k];
        if dns.stale(*resolved_at, now) {
            *resolved_at = now;
            *answer = dns.answer(k, &mut self.rng, answering).unwrap_or_default();
        }
        if answer.is_empty() {
            return Vec::new();
        }
        // Each request starts from the answer's first address and moves on
        // as the client would after each failed connection.
        let mut this = *answer;
        let mut tries = vec![this.current()];
        tries.extend(std::iter::from_fn(|| this.after_failure(dns.cfg.client)));
        tries
    }
}
