//! A circuit breaker: closed (calls pass, failures are counted), open (calls
//! fail at once, sparing the dependency and the caller's time) and half-open
//! (a few probe calls decide whether to close or open again).
//!
//! One state machine for every caller that keeps one: a node in front of the
//! database or the session store (`[fleet.calls]`), in virtual time and live.
//! The caller asks [`Breaker::allow`] before a call and tells
//! [`Breaker::record`] how it ended; both return the state change, if any, so
//! the driver can log it.

use crate::time::{Dur, SEC, SimTime};
use std::collections::VecDeque;

/// When a breaker opens and how it comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerCfg {
    /// Failed calls within `window` that open the breaker.
    pub failures: u32,
    pub window: Dur,
    /// How long it stays open before letting probes through.
    pub open_for: Dur,
    /// Probe calls let through half-open; all must succeed to close it.
    pub probes: u32,
}

impl Default for BreakerCfg {
    /// Envoy's outlier detection defaults where it has one (5 consecutive
    /// errors, a 10 s interval, 30 s ejection), and Hystrix's single trial
    /// call when half-open.
    fn default() -> Self {
        BreakerCfg {
            failures: 5,
            window: Dur(10 * SEC),
            open_for: Dur(30 * SEC),
            probes: 1,
        }
    }
}

/// Where a breaker stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum State {
    #[default]
    Closed,
    Open,
    HalfOpen,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
        }
    }

    /// The log's event kind for a breaker moving to this state.
    pub fn event(self) -> &'static str {
        match self {
            State::Closed => "breaker_closed",
            State::Open => "breaker_opened",
            State::HalfOpen => "breaker_half_opened",
        }
    }
}

/// One breaker's state and the recent failures it counts.
#[derive(Clone, Debug, Default)]
pub struct Breaker {
    state: State,
    /// Times of failures still inside the window (closed only).
    recent: VecDeque<SimTime>,
    opened_at: SimTime,
    /// Probes let through and probes answered well, this half-open spell.
    probes_out: u32,
    probes_ok: u32,
}

impl Breaker {
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether a call may go out now; half-opens an open breaker whose time
    /// is up (the change is returned).
    pub fn allow(&mut self, cfg: &BreakerCfg, now: SimTime) -> (bool, Option<State>) {
        let mut change = None;
        if self.state == State::Open && now >= self.opened_at + cfg.open_for.0 {
            self.state = State::HalfOpen;
            self.probes_out = 0;
            self.probes_ok = 0;
            change = Some(State::HalfOpen);
        }
        let ok = match self.state {
            State::Closed => true,
            State::Open => false,
            State::HalfOpen if self.probes_out < cfg.probes => {
                self.probes_out += 1;
                true
            }
            State::HalfOpen => false,
        };
        (ok, change)
    }

    /// How a call that was allowed ended; returns the state it moved to.
    pub fn record(&mut self, cfg: &BreakerCfg, now: SimTime, ok: bool) -> Option<State> {
        match (self.state, ok) {
            (State::Closed, false) => {
                self.recent.push_back(now);
                while self
                    .recent
                    .front()
                    .is_some_and(|&t| t + cfg.window.0 <= now)
                {
                    self.recent.pop_front();
                }
                (self.recent.len() as u32 >= cfg.failures).then(|| self.open(now))
            }
            (State::HalfOpen, false) => Some(self.open(now)),
            (State::HalfOpen, true) => {
                self.probes_ok += 1;
                (self.probes_ok >= cfg.probes).then(|| {
                    self.state = State::Closed;
                    State::Closed
                })
            }
            // A success while closed changes nothing; a call let through
            // before the breaker opened may end while it is open.
            (State::Closed, true) | (State::Open, _) => None,
        }
    }

    fn open(&mut self, now: SimTime) -> State {
        self.state = State::Open;
        self.opened_at = now;
        self.recent.clear();
        State::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: BreakerCfg = BreakerCfg {
        failures: 3,
        window: Dur(10 * SEC),
        open_for: Dur(5 * SEC),
        probes: 2,
    };

    #[test]
    fn opens_after_its_threshold_within_the_window() {
        let mut b = Breaker::default();
        assert_eq!(b.record(&CFG, 0, false), None);
        assert_eq!(b.record(&CFG, 5 * SEC, false), None);
        // The first failure has left the window: two in it, still closed.
        assert_eq!(b.record(&CFG, 11 * SEC, false), None);
        assert_eq!(b.record(&CFG, 12 * SEC, false), Some(State::Open));
        assert_eq!(b.allow(&CFG, 13 * SEC), (false, None));
    }

    #[test]
    fn half_opens_after_its_duration_and_closes_after_good_probes() {
        let mut b = Breaker::default();
        for t in 0..3 {
            b.record(&CFG, t, false);
        }
        assert_eq!(b.state(), State::Open);
        // Opened at 2 ns: still open until 5 s after that.
        assert_eq!(b.allow(&CFG, 5 * SEC + 1), (false, None));
        assert_eq!(b.allow(&CFG, 5 * SEC + 2), (true, Some(State::HalfOpen)));
        assert_eq!(b.allow(&CFG, 5 * SEC + 3), (true, None));
        // Only `probes` calls go out while half-open.
        assert_eq!(b.allow(&CFG, 5 * SEC + 4), (false, None));
        assert_eq!(b.record(&CFG, 6 * SEC, true), None);
        assert_eq!(b.record(&CFG, 6 * SEC, true), Some(State::Closed));
        assert_eq!(b.allow(&CFG, 6 * SEC), (true, None));
    }

    #[test]
    fn a_failed_probe_opens_it_again() {
        let mut b = Breaker::default();
        for t in 0..3 {
            b.record(&CFG, t, false);
        }
        assert!(b.allow(&CFG, 6 * SEC).0);
        assert_eq!(b.record(&CFG, 6 * SEC, false), Some(State::Open));
        // Open again for a full `open_for` from the failed probe.
        assert_eq!(b.allow(&CFG, 10 * SEC), (false, None));
        assert_eq!(b.allow(&CFG, 11 * SEC).1, Some(State::HalfOpen));
    }
}
