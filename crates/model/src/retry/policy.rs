//! The retry policy as a scenario states it (`[workload.retry]`, and each
//! of `[fleet.calls]`): attempts, timeout, backoff and jitter, budget and
//! breaker, and the wait before each retry. Configuration and arithmetic
//! only: the scenario and the node's calls read it without the clients'
//! state around it (`super::Retries`).

use crate::rng::Rng;
use crate::time::{Dur, MS, SEC};

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
