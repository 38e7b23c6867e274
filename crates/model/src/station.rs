//! A queueing station: a pool of workers in front of a bounded queue,
//! served first in, first out unless told otherwise ([`QueueOrder`]).
//!
//! App nodes and database instances are both stations; one implementation
//! serves both so their queueing behaves (and is validated against theory)
//! the same way.

use crate::rng::Rng;
use crate::time::{Dur, SimTime, nearest_ns};
use std::collections::VecDeque;

/// What a station does with an arriving request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    Start,
    Queued,
    /// The queue is full: the request is refused.
    Full,
}

/// Which queued request a free worker takes (`fleet.queue_order`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueOrder {
    /// The oldest: fair, and under overload every request waits the whole
    /// queue, past its caller's patience.
    Fifo,
    /// The newest: under overload the requests served are the ones whose
    /// callers still wait; the old ones wait on (or are shed).
    Lifo,
    /// Facebook's adaptive LIFO ("Fail at Scale", ACM Queue 2015): FIFO
    /// while the oldest waiting request has waited at most this long, LIFO
    /// once a queue has formed past it.
    Adaptive(Dur),
}

/// What a worker that finished a request does next ([`Station::turn`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn<T> {
    /// Serve this request, which waited this many ns in the queue.
    Serve(T, u64),
    /// Drop this request: it waited past the queue timeout. Its caller, if
    /// still waiting, hears 503 at once.
    Shed(T),
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

    /// A request finished; returns the next queued one (first in, first
    /// out), now in service, with the time it arrived. A request the
    /// station does not hold changes nothing.
    pub fn finish(&mut self, s: T) -> Option<(T, SimTime)> {
        self.finish_ordered(s, QueueOrder::Fifo, 0)
    }

    /// As [`Station::finish`], the next request taken in `order` at `now`.
    pub fn finish_ordered(
        &mut self,
        s: T,
        order: QueueOrder,
        now: SimTime,
    ) -> Option<(T, SimTime)> {
        let i = self.serving.iter().position(|&x| x == s)?;
        self.serving.swap_remove(i);
        self.busy -= 1;
        let next = self.next(order, now)?;
        self.busy += 1;
        self.serving.push(next.0);
        Some(next)
    }

    /// Request `done` finished: what its worker does next. The next queued
    /// request, taken in `order` at `now`, is served, or shed when it waited
    /// past `timeout` (`fleet.queue_timeout`); after a shed, ask again with
    /// the shed request as `done`. Both drivers' nodes decide this way.
    pub fn turn(
        &mut self,
        done: T,
        order: QueueOrder,
        now: SimTime,
        timeout: Option<Dur>,
    ) -> Option<Turn<T>> {
        let (next, queued_at) = self.finish_ordered(done, order, now)?;
        let wait = now.saturating_sub(queued_at);
        Some(match timeout {
            Some(limit) if wait > limit.0 => Turn::Shed(next),
            _ => Turn::Serve(next, wait),
        })
    }

    /// Takes the queued request `order` picks at `now`.
    fn next(&mut self, order: QueueOrder, now: SimTime) -> Option<(T, SimTime)> {
        let lifo = match order {
            QueueOrder::Fifo => false,
            QueueOrder::Lifo => true,
            QueueOrder::Adaptive(limit) => self
                .queue
                .front()
                .is_some_and(|&(_, at)| now.saturating_sub(at) > limit.0),
        };
        if lifo {
            self.queue.pop_back()
        } else {
            self.queue.pop_front()
        }
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
    nearest_ns(v)
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

    /// One worker busy with 0, then 1, 2, 3 queued at t = 10, 20, 30.
    fn queued() -> Station<u32> {
        let mut n = Station::<u32>::default();
        n.admit(0, 0, 1, 8);
        for (s, t) in [(1, 10), (2, 20), (3, 30)] {
            assert_eq!(n.admit(s, t, 1, 8), Admit::Queued);
        }
        n
    }

    #[test]
    fn lifo_takes_the_newest_and_fifo_the_oldest() {
        let mut n = queued();
        assert_eq!(n.finish_ordered(0, QueueOrder::Lifo, 40), Some((3, 30)));
        assert_eq!(n.finish_ordered(3, QueueOrder::Lifo, 50), Some((2, 20)));
        assert_eq!(n.finish_ordered(2, QueueOrder::Fifo, 60), Some((1, 10)));
        assert_eq!(n.finish_ordered(1, QueueOrder::Lifo, 70), None);
        assert_eq!(n.busy, 0);
        let mut f = queued();
        let order: Vec<u32> = [0, 1, 2]
            .iter()
            .map(|&s| f.finish(s).expect("queued").0)
            .collect();
        assert_eq!(order, vec![1, 2, 3]);
    }

    #[test]
    fn a_turn_sheds_what_waited_past_the_timeout_and_serves_the_next() {
        let mut n = queued();
        let limit = Some(Dur(25));
        // At 40, 1 (queued at 10) waited 30: shed; 2 (at 20) waited 20: served.
        assert_eq!(n.turn(0, QueueOrder::Fifo, 40, limit), Some(Turn::Shed(1)));
        assert_eq!(
            n.turn(1, QueueOrder::Fifo, 40, limit),
            Some(Turn::Serve(2, 20))
        );
        assert_eq!(n.busy, 1);
        assert_eq!(
            n.turn(2, QueueOrder::Fifo, 90, None),
            Some(Turn::Serve(3, 60))
        );
        assert_eq!(n.turn(3, QueueOrder::Fifo, 90, limit), None);
        assert_eq!(n.busy, 0);
    }

    #[test]
    fn adaptive_lifo_turns_lifo_once_the_oldest_has_waited_past_its_limit() {
        let order = QueueOrder::Adaptive(Dur(15));
        let mut n = queued();
        // At 20 the oldest (10) has waited 10, within the limit: FIFO.
        assert_eq!(n.finish_ordered(0, order, 20), Some((1, 10)));
        // At 40 the oldest left (20) has waited 20: the newest goes first.
        assert_eq!(n.finish_ordered(1, order, 40), Some((3, 30)));
        assert_eq!(n.finish_ordered(3, order, 40), Some((2, 20)));
    }
}
