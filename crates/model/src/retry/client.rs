//! One shopper's client around an attempt: whether it may send it, and
//! what it does once it has heard how the attempt ended (retry after its
//! backoff, let the shopper try the page again after thinking, go on to the
//! next page, or leave). The simulation's shoppers and `stratus load`'s
//! take these decisions through this one piece, so a retry storm is the
//! same storm in virtual time and on real sockets.

use super::Retries;
use crate::breaker::Breaker;
use crate::metrics::Metrics;
use crate::scenario::Workload;
use crate::shop::Response;
use crate::time::SimTime;
use crate::workload::Shopper;

/// The cause a client gives an attempt it stopped waiting for
/// (`workload.retry.timeout`); such attempts are counted `timed_out`.
pub const CLIENT_TIMEOUT: &str = "client_timeout";
/// The cause a client gives an attempt its open breaker refused, unsent.
pub const CIRCUIT_OPEN: &str = "client_circuit_open";

/// How an attempt ended, as its client heard it.
#[derive(Clone, Copy, Debug)]
pub enum Heard<'a> {
    Ok(&'a Response),
    /// An error answer, no answer in time ([`CLIENT_TIMEOUT`]), or the
    /// breaker's refusal ([`CIRCUIT_OPEN`]).
    Failed(&'static str),
}

/// What the client does after an attempt, and when (ns from now).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// The same request again after the client's backoff.
    Retry(u64),
    /// The same request again after the shopper thought: its client's
    /// attempts are spent, and the shopper tries the page once more.
    Again(u64),
    /// The shopper's next page, after thinking.
    Page(u64),
    /// The shopper leaves: done, or given up after failures in a row.
    Done,
}

impl Next {
    /// The wait before the next attempt; None when the shopper leaves.
    pub fn wait(self) -> Option<u64> {
        match self {
            Next::Retry(w) | Next::Again(w) | Next::Page(w) => Some(w),
            Next::Done => None,
        }
    }

    /// The next attempt repeats the same request (it keeps its item).
    pub fn repeats(self) -> bool {
        matches!(self, Next::Retry(_) | Next::Again(_))
    }
}

/// One shopper's client: the run's shared retry state and, with
/// `workload.retry.breaker`, the client's own breaker.
pub struct Client<'a> {
    pub retries: &'a mut Retries,
    /// Ignored unless the policy has a breaker.
    pub breaker: Option<&'a mut Breaker>,
}

impl Client<'_> {
    /// The shopper's current attempt is about to leave at `at`: false when
    /// the client's open breaker refuses it (the driver then fails it at
    /// once with [`CIRCUIT_OPEN`], unsent). A first attempt is a request
    /// the shopper made either way; one that goes out pays into the budget.
    pub fn sending(&mut self, sh: &Shopper, at: SimTime, m: &mut Metrics) -> bool {
        let first = sh.extra().attempt == 1;
        let go = match (&self.retries.policy.breaker, self.breaker.as_deref_mut()) {
            (Some(cfg), Some(b)) => b.allow(cfg, at).0,
            _ => true,
        };
        if first {
            m.first_attempt();
            if go {
                self.retries.first_attempt();
            }
        }
        go
    }

    /// The client heard at `now`, `latency` ns after sending it, how the
    /// attempt ended: its breaker counts the outcome, the metrics record the
    /// answer, a success is judged against the shopper's ground truth, and
    /// the shopper's next move is decided. A failure is retried after the
    /// backoff while attempts and the budget allow (never one the breaker
    /// refused); then the shopper's own retry after thinking, until it gives
    /// up. The driver has already taken what it keeps from a success
    /// (cookies, stale-read checks).
    pub fn heard(
        &mut self,
        sh: &mut Shopper,
        w: &Workload,
        heard: Heard<'_>,
        (now, latency): (SimTime, u64),
        m: &mut Metrics,
    ) -> Next {
        let refused = matches!(heard, Heard::Failed(CIRCUIT_OPEN));
        if let (Some(cfg), Some(b), false) = (
            &self.retries.policy.breaker,
            self.breaker.as_deref_mut(),
            refused,
        ) {
            b.record(cfg, now, matches!(heard, Heard::Ok(_)));
        }
        let kind = sh.kind;
        match heard {
            Heard::Failed(cause) => {
                m.response(kind, latency, Some(cause));
                if cause == CLIENT_TIMEOUT {
                    m.timed_out += 1;
                }
                if !refused && let Some(backoff) = self.retries.after_failure(sh, m) {
                    return Next::Retry(backoff);
                }
                if !sh.failed(m) {
                    return Next::Done;
                }
                sh.new_attempts();
                Next::Again(sh.think(w))
            }
            Heard::Ok(r) => {
                m.response(kind, latency, None);
                sh.judge(r, m);
                if sh.next(w).is_none() {
                    return Next::Done;
                }
                sh.new_attempts();
                Next::Page(sh.think(w))
            }
        }
    }
}
