//! A queueing station: a pool of workers in front of a bounded FIFO queue.
//!
//! App nodes and database instances are both stations; one implementation
//! serves both so their queueing behaves (and is validated against theory)
//! the same way.

use crate::rng::Rng;
use crate::time::SimTime;
use std::collections::VecDeque;

/// What a station does with an arriving request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    Start,
    Queued,
    /// The queue is full: the request is refused.
    Full,
}

/// A station holding requests named by `T` (a shopper, or a shopper's
/// numbered request where a shopper may move on while its request waits).
#[derive(Debug)]
pub struct Station<T> {
    pub busy: u32,
    pub queue: VecDeque<(T, SimTime)>,
    pub serving: Vec<T>,
}

impl<T> Default for Station<T> {
    fn default() -> Self {
        Station {
            busy: 0,
            queue: VecDeque::new(),
            serving: Vec::new(),
        }
    }
}

impl<T: Copy + PartialEq> Station<T> {
    pub fn admit(&mut self, s: T, now: SimTime, workers: u32, queue_limit: u32) -> Admit {
        if self.busy < workers {
            self.busy += 1;
            self.serving.push(s);
            Admit::Start
        } else if (self.queue.len() as u32) < queue_limit {
            self.queue.push_back((s, now));
            Admit::Queued
        } else {
            Admit::Full
        }
    }

    /// A request finished; returns the next queued one, now in service, with
    /// the time it arrived. A request the station does not hold changes nothing.
    pub fn finish(&mut self, s: T) -> Option<(T, SimTime)> {
        let i = self.serving.iter().position(|&x| x == s)?;
        self.serving.swap_remove(i);
        self.busy -= 1;
        let next = self.queue.pop_front()?;
        self.busy += 1;
        self.serving.push(next.0);
        Some(next)
    }

    /// Everything in flight, emptied (the station is going away).
    pub fn take_in_flight(&mut self) -> Vec<T> {
        let mut v = std::mem::take(&mut self.serving);
        v.extend(self.queue.drain(..).map(|(s, _)| s));
        self.busy = 0;
        v
    }
}

/// The shape of service times around their mean.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ServiceDistribution {
    Exponential,
    Constant,
    /// Lognormal with the given mean and shape σ of the underlying normal.
    Lognormal {
        sigma: f64,
    },
}

/// Lognormal's default σ: a coefficient of variation of about 0.53, the order
/// seen for web request service times; documented in the README.
pub const LOGNORMAL_SIGMA: f64 = 0.5;

/// A service time around `mean_ns` from the configured distribution.
pub fn draw_service(rng: &mut Rng, mean_ns: u64, dist: ServiceDistribution) -> u64 {
    let m = mean_ns as f64;
    let v = match dist {
        ServiceDistribution::Exponential => rng.exp(m),
        ServiceDistribution::Constant => m,
        ServiceDistribution::Lognormal { sigma } => {
            let mu = m.ln() - sigma * sigma / 2.0;
            (mu + sigma * rng.normal()).exp()
        }
    };
    v.round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_then_queue_then_full() {
        let mut n = Station::<u32>::default();
        assert_eq!(n.admit(1, 0, 2, 1), Admit::Start);
        assert_eq!(n.admit(2, 0, 2, 1), Admit::Start);
        assert_eq!(n.admit(3, 5, 2, 1), Admit::Queued);
        assert_eq!(n.admit(4, 5, 2, 1), Admit::Full);
        assert_eq!(n.finish(1), Some((3, 5)));
        assert_eq!(n.busy, 2);
        assert_eq!(n.finish(2), None);
        assert_eq!(n.busy, 1);
        assert_eq!(n.finish(9), None, "not held: nothing changes");
        assert_eq!(n.busy, 1);
        assert_eq!(n.take_in_flight(), vec![3]);
    }
}
