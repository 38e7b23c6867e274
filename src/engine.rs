//! The discrete-event engine: integer virtual time and a queue of wake-ups.
//!
//! Events are ordered by (time, insertion sequence), so two events at the same
//! instant run first in, first out and a run never depends on heap internals.
//! The engine owns time; the model is only ever told what time it is.

use crate::time::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Entry<E> {
    time: SimTime,
    seq: u64,
    ev: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        self.time == o.time && self.seq == o.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed, so the max-heap pops the earliest (time, seq) first.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.time, o.seq).cmp(&(self.time, self.seq))
    }
}

/// The pending wake-ups. The model schedules into it; only the engine pops.
pub struct Queue<E> {
    heap: BinaryHeap<Entry<E>>,
    seq: u64,
    now: SimTime,
}

impl<E> Queue<E> {
    pub fn new() -> Self {
        Queue {
            heap: BinaryHeap::with_capacity(1024),
            seq: 0,
            now: 0,
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Wake the model with `ev` at `time` (never earlier than now).
    pub fn at(&mut self, time: SimTime, ev: E) {
        debug_assert!(time >= self.now, "scheduled in the past");
        let time = time.max(self.now);
        self.seq += 1;
        self.heap.push(Entry {
            time,
            seq: self.seq,
            ev,
        });
    }

    /// Wake the model with `ev` after `delay` nanoseconds.
    pub fn after(&mut self, delay: u64, ev: E) {
        self.at(self.now.saturating_add(delay), ev);
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    fn pop_until(&mut self, end: SimTime) -> Option<(SimTime, E)> {
        if self.heap.peek()?.time > end {
            return None;
        }
        let e = self.heap.pop()?;
        self.now = e.time;
        Some((e.time, e.ev))
    }

    fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| e.time)
    }
}

impl<E> Default for Queue<E> {
    fn default() -> Self {
        Self::new()
    }
}

/// A sans-IO state machine driven by events: given the time and an input, it
/// updates itself and schedules the wake-ups it wants.
pub trait Model {
    type Event;
    fn handle(&mut self, now: SimTime, ev: Self::Event, queue: &mut Queue<Self::Event>);
}

/// How the engine relates virtual time to the wall clock. Pacing only decides
/// *when* events are processed, never *which* or in what order, so it cannot
/// change a result.
pub trait Pacer {
    /// Called before the engine moves to virtual time `t`. Return false to stop
    /// the run early (a user quitting a dashboard).
    fn pace(&mut self, t: SimTime) -> bool;
}

/// Runs as fast as the machine allows.
pub struct Unpaced;

impl Pacer for Unpaced {
    #[inline]
    fn pace(&mut self, _t: SimTime) -> bool {
        true
    }
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Reached the end time.
    End,
    /// The pacer asked to stop.
    Stopped,
}

/// Counts the events it has processed; drives a model over a queue.
pub struct Engine<M: Model> {
    pub model: M,
    pub queue: Queue<M::Event>,
    pub events: u64,
}

impl<M: Model> Engine<M> {
    pub fn new(model: M) -> Self {
        Engine {
            model,
            queue: Queue::new(),
            events: 0,
        }
    }

    /// Processes every event up to and including `end`, then sets the clock to
    /// `end`. The pacer is consulted only when virtual time advances.
    pub fn run_until(&mut self, end: SimTime, pacer: &mut dyn Pacer) -> Stop {
        let mut last = self.queue.now;
        loop {
            match self.queue.peek_time() {
                Some(t) if t <= end => {
                    if t != last {
                        if !pacer.pace(t) {
                            return Stop::Stopped;
                        }
                        last = t;
                    }
                }
                _ => break,
            }
            let (t, ev) = self.queue.pop_until(end).expect("peeked");
            self.events += 1;
            self.model.handle(t, ev, &mut self.queue);
        }
        if !pacer.pace(end) {
            return Stop::Stopped;
        }
        self.queue.now = self.queue.now.max(end);
        Stop::End
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Recorder(Vec<(SimTime, u32)>);
    impl Model for Recorder {
        type Event = u32;
        fn handle(&mut self, now: SimTime, ev: u32, q: &mut Queue<u32>) {
            self.0.push((now, ev));
            if ev == 100 {
                q.after(0, 101); // same instant: runs after everything already queued at now
            }
        }
    }

    #[test]
    fn same_time_events_are_fifo() {
        let mut e = Engine::new(Recorder(vec![]));
        e.queue.at(5, 1);
        e.queue.at(3, 2);
        e.queue.at(5, 100);
        e.queue.at(5, 3);
        e.queue.at(9, 4);
        assert_eq!(e.run_until(5, &mut Unpaced), Stop::End);
        assert_eq!(e.model.0, vec![(3, 2), (5, 1), (5, 100), (5, 3), (5, 101)]);
        assert_eq!(e.queue.now(), 5);
        e.run_until(100, &mut Unpaced);
        assert_eq!(e.model.0.last(), Some(&(9, 4)));
        assert_eq!(e.events, 6);
    }

    struct StopAt(SimTime);
    impl Pacer for StopAt {
        fn pace(&mut self, t: SimTime) -> bool {
            t < self.0
        }
    }

    #[test]
    fn pacer_can_stop_a_run() {
        let mut e = Engine::new(Recorder(vec![]));
        for t in 1..10 {
            e.queue.at(t, t as u32);
        }
        assert_eq!(e.run_until(100, &mut StopAt(4)), Stop::Stopped);
        assert_eq!(e.model.0.len(), 3);
    }
}
