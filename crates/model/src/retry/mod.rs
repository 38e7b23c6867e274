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
#[cfg(test)]
mod tests;

pub use budget::Budget;
pub use client::{CIRCUIT_OPEN, CLIENT_TIMEOUT, Client, Heard, Next};

use crate::metrics::Metrics;
use crate::rng::Rng;
use crate::time::{Dur, MS, SEC};
use crate::workload::Shopper;

/// How the wait before a retry grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backoff {
    /// Retry at once.
    None,
    /// Wait `base` every time.
    Constant,
    /// Wait `base·2^n`, capped at `cap`.
    Exponential,
}

/// How the wait is randomised so retries do not arrive in lockstep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    None,
    Full,
    Equal,
    Decorrelated,
}

/// `[workload.retry]`: what the shopper's client does when an attempt fails
/// or takes too long.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included (1: no retries).
    pub max_attempts: u32,
    /// How long the client waits for an attempt's answer; None: as long as
    /// the answer takes.
    pub timeout: Option<Dur>,
    pub backoff: Backoff,
    pub base: Dur,
    pub cap: Dur,
    pub jitter: Jitter,
    /// Retries may be at most this share of requests (a token bucket every
    /// request pays into); None: no budget.
    pub budget: Option<f64>,
    /// A circuit breaker in front of the calls (each client's own, or each
    /// node's per dependency); None: none.
    pub breaker: Option<crate::breaker::BreakerCfg>,
}

impl Default for RetryPolicy {
    /// The AWS SDKs' standard retry mode: 3 attempts, exponential backoff
    /// with full jitter from a 1 s base, capped at 20 s (AWS SDKs and Tools
    /// Reference Guide, "Retry behavior").
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            timeout: None,
            backoff: Backoff::Exponential,
            base: Dur(SEC),
            cap: Dur(20 * SEC),
            jitter: Jitter::Full,
            budget: None,
            breaker: None,
        }
    }
}

impl RetryPolicy {
    /// No retries and no timeout: what a scenario without `[workload.retry]` does.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            timeout: None,
            backoff: Backoff::None,
            base: Dur(100 * MS),
            cap: Dur(20 * SEC),
            jitter: Jitter::None,
            budget: None,
            breaker: None,
        }
    }

    /// The client retries at all.
    pub fn retries(&self) -> bool {
        self.max_attempts > 1
    }

    /// The wait before retry number `retry` (1 for the second attempt),
    /// given the previous wait (for decorrelated jitter), in ns. Draws from
    /// `rng` only when jitter asks for it.
    pub fn delay(&self, retry: u32, previous: u64, rng: &mut Rng) -> u64 {
        let (base, cap) = (self.base.0, self.cap.0.max(self.base.0));
        let d = match self.backoff {
            Backoff::None => return 0,
            Backoff::Constant => base,
            Backoff::Exponential => {
                let shift = retry.saturating_sub(1).min(62);
                base.saturating_mul(1u64 << shift).min(cap)
            }
        };
        let below = |rng: &mut Rng, x: u64| (rng.unit() * x as f64) as u64;
        match self.jitter {
            Jitter::None => d,
            Jitter::Full => below(rng, d),
            Jitter::Equal => d / 2 + below(rng, d - d / 2),
            Jitter::Decorrelated => {
                let hi = previous.max(base).saturating_mul(3).min(cap);
                base.min(hi) + below(rng, hi - base.min(hi))
            }
        }
    }
}

impl Backoff {
    pub fn name(self) -> &'static str {
        match self {
            Backoff::None => "none",
            Backoff::Constant => "constant",
            Backoff::Exponential => "exponential",
        }
    }
}

impl Jitter {
    pub fn name(self) -> &'static str {
        match self {
            Jitter::None => "none",
            Jitter::Full => "full",
            Jitter::Equal => "equal",
            Jitter::Decorrelated => "decorrelated",
        }
    }
}

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
