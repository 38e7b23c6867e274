//! The live driver's clock: wall time since the server started, as the
//! model's integer nanoseconds, so the same model code (balancer stickiness,
//! the store's TTL and replication lag) runs against it unchanged.

#![allow(clippy::disallowed_methods)] // the live driver's wall clock: Instant::now is read here only

use std::time::Instant;
use stratus_model::time::SimTime;

#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

impl Clock {
    pub fn new() -> Self {
        Clock {
            start: Instant::now(),
        }
    }

    /// Nanoseconds since the clock started.
    pub fn now(&self) -> SimTime {
        self.start.elapsed().as_nanos() as SimTime
    }

    /// The instant `t` nanoseconds after the start, for timers.
    pub fn instant(&self, t: SimTime) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.start + std::time::Duration::from_nanos(t))
    }
}

/// The wall clock's instant now: for the keep-alive pools' idle timers,
/// whose `_at` methods take it so their tests pass the time in.
pub fn wall() -> Instant {
    Instant::now()
}

/// A fresh 128-bit value from the operating system's CSPRNG: session ids and
/// the admin token must not be guessable, unlike the model's seeded streams.
/// A uniform draw in [0, 1) from the OS: the live shop's chances (injected
/// errors) need no seed, only fairness.
pub fn unit() -> f64 {
    (random_u128() >> 75) as f64 / (1u64 << 53) as f64
}

pub fn random_u128() -> u128 {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS random source is available");
    u128::from_le_bytes(b)
}
