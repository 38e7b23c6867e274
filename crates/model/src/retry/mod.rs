//! Client retries: how many attempts a request gets, how long each may take,
//! how long to wait between them, and a budget that caps retries to a share
//! of requests. The policy is the model's; both drivers ask it what to do
//! after a failed attempt, so a retry storm means the same thing live as in
//! virtual time.
//!
//! Backoff and jitter follow the AWS Architecture Blog's "Exponential Backoff
//! And Jitter" (Brooker, 2015): `exponential` waits `min(cap, base·2^n)`
//! before retry `n+1`; `full` jitter draws uniformly below that, `equal`
//! keeps half and draws the other half, and `decorrelated` draws between
//! `base` and three times the previous wait.

mod budget;
mod client;
pub mod policy;
#[cfg(test)]
mod tests;

pub use budget::Budget;
pub use client::{CIRCUIT_OPEN, CLIENT_TIMEOUT, Client, Heard, Next};
pub use policy::{Backoff, Jitter, RetryPolicy};

use crate::metrics::Metrics;
use crate::rng::Rng;
use crate::workload::Shopper;

/// The clients' side of retrying, as a run keeps it: the policy, the shared
/// budget and the stream jitter draws from. Both drivers ask it what a
/// client does after a failed attempt.
#[derive(Clone, Debug)]
pub struct Retries {
    pub policy: RetryPolicy,
    pub budget: Option<Budget>,
    jitter: Rng,
}

impl Retries {
    pub fn new(policy: RetryPolicy, jitter: Rng) -> Retries {
        Retries {
            policy,
            budget: policy.budget.map(Budget::new),
            jitter,
        }
    }

    /// A request's first attempt left the client: it pays into the budget.
    pub fn first_attempt(&mut self) {
        if let Some(b) = &mut self.budget {
            b.deposit();
        }
    }

    /// The shopper's attempt failed (an error, or its timeout ran out): the
    /// wait before the client's next attempt, or None when the request has
    /// used its attempts or the budget refuses. Counts the retry.
    pub fn after_failure(&mut self, sh: &mut Shopper, m: &mut Metrics) -> Option<u64> {
        if sh.extra().attempt >= self.policy.max_attempts {
            return None;
        }
        if let Some(b) = &mut self.budget
            && !b.withdraw()
        {
            m.retries_denied += 1;
            return None;
        }
        let x = sh.extra_mut();
        let wait = self.policy.delay(x.attempt, x.backoff, &mut self.jitter);
        x.attempt += 1;
        x.backoff = wait;
        m.retries += 1;
        Some(wait)
    }
}
