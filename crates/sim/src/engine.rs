//! The discrete-event engine: integer virtual time and a queue of wake-ups.
//!
//! Events are ordered by (time, insertion sequence), so two events at the same
//! instant run first in, first out and a run never depends on heap internals.
//! The engine owns time; the model is only ever told what time it is.

use std::collections::BTreeMap;
use stratus_model::time::SimTime;

/// A radix heap over (time, sequence) keys packed into one u128.
///
/// Event times never go backwards (nothing is scheduled before now) and
/// sequence numbers only grow, so every key pushed is larger than the last one
/// popped: the monotone case a radix heap serves in amortised O(1) per push
/// and a few bucket moves per pop, far cheaper than a binary heap's sifting
/// through ten thousand pending shoppers.
struct RadixHeap<E> {
    last: u128,
    /// Bucket b holds keys whose highest bit differing from `last` is b - 1;
    /// bucket 0 holds the key equal to `last` (keys are unique).
    buckets: Vec<Vec<(u128, E)>>,
    /// Bit b - 1 set when bucket b (1..=128) holds something: finding the
    /// first non-empty bucket is one instruction, not a scan.
    occupied: u128,
    len: usize,
}

impl<E> RadixHeap<E> {
    fn new() -> Self {
        RadixHeap {
            last: 0,
            buckets: (0..129).map(|_| Vec::new()).collect(),
            occupied: 0,
            len: 0,
        }
    }

    #[inline]
    fn bucket(last: u128, key: u128) -> usize {
        128 - (key ^ last).leading_zeros() as usize
    }

    #[inline]
    fn push(&mut self, key: u128, ev: E) {
        if key < self.last {
            self.rewind(key);
        }
        self.put(Self::bucket(self.last, key), key, ev);
        self.len += 1;
    }

    /// Lowers `last` to `key` and re-buckets everything. Needed only when a
    /// peek has moved `last` ahead of the time being handled: a wake-up from
    /// [`Queue::first_at`] runs before the heap's minimum, and what it
    /// schedules may fall between the two. Actions are few, so this is rare.
    #[cold]
    fn rewind(&mut self, key: u128) {
        let mut all = Vec::with_capacity(self.len);
        for b in &mut self.buckets {
            all.append(b);
        }
        self.occupied = 0;
        self.last = key;
        for (k, e) in all {
            self.put(Self::bucket(key, k), k, e);
        }
    }

    #[inline]
    fn put(&mut self, b: usize, key: u128, ev: E) {
        if b > 0 {
            self.occupied |= 1 << (b - 1);
        }
        self.buckets[b].push((key, ev));
    }

    /// Makes bucket 0 hold the smallest key, if any; returns it.
    fn settle(&mut self) -> Option<u128> {
        if self.len == 0 {
            return None;
        }
        if self.buckets[0].is_empty() {
            if self.occupied == 0 {
                return None;
            }
            let i = self.occupied.trailing_zeros() as usize + 1;
            self.occupied &= !(1 << (i - 1));
            let mut moving = std::mem::take(&mut self.buckets[i]);
            let min = moving.iter().map(|e| e.0).min()?;
            self.last = min;
            for (k, e) in moving.drain(..) {
                // Every key in bucket i shares the bits above i - 1 with the new
                // minimum, so it lands in a lower bucket.
                self.put(Self::bucket(min, k), k, e);
            }
            self.buckets[i] = moving; // keep the allocation
        }
        self.buckets[0].last().map(|e| e.0)
    }

    fn pop(&mut self) -> Option<(u128, E)> {
        self.settle()?;
        self.len -= 1;
        self.buckets[0].pop()
    }
}

fn key(time: SimTime, seq: u64) -> u128 {
    (u128::from(time) << 64) | u128::from(seq)
}

/// The pending wake-ups. The model schedules into it; only the engine pops.
pub struct Queue<E> {
    heap: RadixHeap<E>,
    /// Wake-ups that go ahead of every ordinary one at their instant (the
    /// scenario's actions), by (time, sequence). Kept apart from the heap so
    /// where they sort does not depend on when they were scheduled: an action
    /// injected mid-run lands exactly where the same action written in the
    /// timeline would, and a replay reproduces the run.
    first: BTreeMap<(SimTime, u64), E>,
    /// The time of `first`'s earliest entry, or `SimTime::MAX`: one comparison
    /// on the hot path when there is none.
    next_first: SimTime,
    seq: u64,
    now: SimTime,
}

impl<E> Queue<E> {
    pub fn new() -> Self {
        Queue {
            heap: RadixHeap::new(),
            first: BTreeMap::new(),
            next_first: SimTime::MAX,
            seq: 0,
            now: 0,
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Wake the model with `ev` at `time` (never earlier than now).
    #[inline]
    pub fn at(&mut self, time: SimTime, ev: E) {
        debug_assert!(time >= self.now, "scheduled in the past");
        let time = time.max(self.now);
        self.seq += 1;
        self.heap.push(key(time, self.seq), ev);
    }

    /// Wake the model with `ev` at `time`, ahead of every ordinary wake-up at
    /// that instant (those scheduled with [`Queue::at`] or [`Queue::after`],
    /// whenever they were scheduled); among themselves, first in, first out.
    /// The caller must not have let the engine process anything at `time` yet.
    pub fn first_at(&mut self, time: SimTime, ev: E) {
        debug_assert!(time >= self.now, "scheduled in the past");
        let time = time.max(self.now);
        self.seq += 1;
        self.first.insert((time, self.seq), ev);
        self.next_first = self.next_first.min(time);
    }

    /// Wake the model with `ev` after `delay` nanoseconds.
    #[inline]
    pub fn after(&mut self, delay: u64, ev: E) {
        self.at(self.now.saturating_add(delay), ev);
    }

    pub fn len(&self) -> usize {
        self.heap.len + self.first.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.next_first != SimTime::MAX {
            let heap = self.heap.settle().map(|k| (k >> 64) as SimTime);
            if heap.is_none_or(|t| self.next_first <= t) {
                let ((t, _), ev) = self.first.pop_first().expect("next_first is set");
                self.next_first = self.first.keys().next().map_or(SimTime::MAX, |k| k.0);
                self.now = t;
                return Some((t, ev));
            }
        }
        let (k, ev) = self.heap.pop()?;
        self.now = (k >> 64) as SimTime;
        Some((self.now, ev))
    }

    fn peek_time(&mut self) -> Option<SimTime> {
        let heap = self.heap.settle().map(|k| (k >> 64) as SimTime);
        match (heap, self.next_first) {
            (h, SimTime::MAX) => h,
            (Some(h), f) => Some(h.min(f)),
            (None, f) => Some(f),
        }
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
    pub fn run_until<P: Pacer + ?Sized>(&mut self, end: SimTime, pacer: &mut P) -> Stop {
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
            let (t, ev) = self.queue.pop().expect("peeked");
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

    #[test]
    fn first_at_goes_ahead_of_its_instant_whenever_scheduled() {
        let mut e = Engine::new(Recorder(vec![]));
        e.queue.at(5, 1);
        e.queue.at(5, 2);
        e.run_until(4, &mut Unpaced);
        // Scheduled after the ordinary wake-ups at 5, it still runs first.
        e.queue.first_at(5, 10);
        e.queue.first_at(5, 11);
        e.queue.first_at(7, 12);
        e.queue.at(6, 3);
        assert_eq!(e.queue.len(), 6);
        e.run_until(100, &mut Unpaced);
        assert_eq!(
            e.model.0,
            vec![(5, 10), (5, 11), (5, 1), (5, 2), (6, 3), (7, 12)]
        );
        assert!(e.queue.is_empty());
    }

    /// An action that runs ahead of a later heap minimum and schedules
    /// wake-ups before that minimum: they must still come out in order.
    #[test]
    fn what_a_first_wake_up_schedules_keeps_its_order() {
        struct Spawner(Vec<(SimTime, u32)>);
        impl Model for Spawner {
            type Event = u32;
            fn handle(&mut self, now: SimTime, ev: u32, q: &mut Queue<u32>) {
                self.0.push((now, ev));
                if ev == 7 {
                    q.at(now, 8);
                    q.after(10, 9);
                }
            }
        }
        let mut e = Engine::new(Spawner(vec![]));
        e.queue.at(1_000, 1);
        e.queue.at(5, 0);
        e.run_until(50, &mut Unpaced); // peeks at 1_000 and stops
        e.queue.first_at(100, 7);
        e.run_until(2_000, &mut Unpaced);
        assert_eq!(
            e.model.0,
            vec![(5, 0), (100, 7), (100, 8), (110, 9), (1_000, 1)]
        );
    }

    #[test]
    fn radix_heap_pops_in_key_order() {
        // A monotone workload like the model's: pushes at or after the last pop.
        let mut h = RadixHeap::new();
        let mut reference = std::collections::BTreeSet::new();
        let mut x: u64 = 12345;
        let mut seq = 0u64;
        let mut now = 0u64;
        for round in 0..20_000 {
            for _ in 0..(1 + round % 3) {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                seq += 1;
                let k = key(now + (x >> 40) % 10_000_000, seq);
                h.push(k, ());
                reference.insert(k);
            }
            let want = reference.pop_first().unwrap();
            let (got, ()) = h.pop().unwrap();
            assert_eq!(got, want);
            now = (got >> 64) as u64;
        }
        while let Some(want) = reference.pop_first() {
            assert_eq!(h.pop().unwrap().0, want);
        }
        assert!(h.pop().is_none());
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
