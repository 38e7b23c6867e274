//! The discrete-event engine: integer virtual time and a queue of wake-ups.
//!
//! Events are ordered by (time, insertion sequence), so two events at the same
//! instant run first in, first out and a run never depends on heap internals.
//! The engine owns time; the model is only ever told what time it is.

use std::collections::{BTreeMap, VecDeque};
use stratus_model::time::SimTime;

/// Bits of the time per level of [`RadixHeap`]: 64 buckets a level.
const DIGIT: u32 = 6;
/// Levels enough for 64-bit times.
const LEVELS: usize = 64usize.div_ceil(DIGIT as usize);
/// Room a bucket keeps when it empties (events).
const SPARE: usize = 64;
/// Words of a level's occupancy bitmap.
const WORDS: usize = 1 << (DIGIT - 6);

/// A radix heap over event times in base 64, first in, first out within an
/// instant.
///
/// Event times never go backwards (nothing is scheduled before now), so every
/// time pushed is at least the last one popped: the monotone case a radix
/// heap serves in amortised O(1) per push. A time sits in the bucket named
/// by the highest base-64 digit where it differs from the last minimum
/// (its level) and its own digit there; the lowest non-empty bucket holds
/// the minimum, and emptying it moves each of its times down at least one
/// level. With six bits a level, a wake-up 5 s ahead (2^32 ns) moves at
/// most five times, where a base-2 heap moves it up to 32 times.
///
/// The key is the time alone, not (time, sequence): events at one instant
/// always share a bucket (the bucket depends only on the time), pushes
/// append, and a bucket's contents move together, in order, into empty lower
/// buckets, so within every bucket the events of one instant stay in the
/// order they were scheduled. `now` is the current instant's events, served
/// from the front with no sorting, and an event scheduled for now costs a
/// push and a pop.
struct RadixHeap<E> {
    last: SimTime,
    /// The events at `last`, in scheduling order.
    now: VecDeque<(SimTime, E)>,
    /// Bucket (level, digit) at index level · 64 + digit.
    buckets: Vec<Vec<(SimTime, E)>>,
    /// Per level, bit d set when digit d's bucket holds something.
    occupied: [[u64; WORDS]; LEVELS],
    /// Bit l set when level l holds something.
    levels: u32,
    len: usize,
}

impl<E> RadixHeap<E> {
    fn new() -> Self {
        RadixHeap {
            last: 0,
            now: VecDeque::new(),
            buckets: (0..LEVELS << DIGIT).map(|_| Vec::new()).collect(),
            occupied: [[0; WORDS]; LEVELS],
            levels: 0,
            len: 0,
        }
    }

    #[inline]
    fn push(&mut self, time: SimTime, ev: E) {
        if time < self.last {
            self.rewind(time);
        }
        self.put(time, ev);
        self.len += 1;
    }

    /// Lowers `last` to `time` and re-buckets everything. Needed only when a
    /// peek has moved `last` ahead of the time being handled: a wake-up from
    /// [`Queue::first_at`] runs before the heap's minimum, and what it
    /// schedules may fall between the two. Actions are few, so this is rare.
    #[cold]
    fn rewind(&mut self, time: SimTime) {
        let mut all: Vec<(SimTime, E)> = Vec::with_capacity(self.len);
        all.extend(self.now.drain(..));
        for b in &mut self.buckets {
            all.append(b);
        }
        self.occupied = [[0; WORDS]; LEVELS];
        self.levels = 0;
        self.last = time;
        for (t, e) in all {
            self.put(t, e);
        }
    }

    // Forced: `take_lowest` calls it for every event it moves down, about
    // one per event handled, and left to itself the compiler kept it a call
    // whose entry and exit cost as much as its body.
    #[inline(always)]
    fn put(&mut self, time: SimTime, ev: E) {
        let differ = time ^ self.last;
        if differ == 0 {
            self.now.push_back((time, ev));
            return;
        }
        let level = (63 - differ.leading_zeros()) / DIGIT;
        let digit = (time >> (level * DIGIT)) & ((1 << DIGIT) - 1);
        self.occupied[level as usize][digit as usize >> 6] |= 1 << (digit & 63);
        self.levels |= 1 << level;
        self.buckets[((level as usize) << DIGIT) + digit as usize].push((time, ev));
    }

    /// Makes `now` hold the earliest instant's events, if any; returns it.
    #[inline]
    fn settle(&mut self) -> Option<SimTime> {
        if self.now.is_empty() {
            let e = self.take_lowest()?;
            self.now.push_front(e);
        }
        Some(self.last)
    }

    /// Takes the earliest event out of the buckets (`now` being empty):
    /// empties the lowest non-empty bucket around its minimum. Every lower
    /// bucket is empty, and its times share every digit from its own level
    /// up with the minimum, so each lands on a lower level (or in `now`);
    /// the buckets above keep their places relative to the new minimum.
    fn take_lowest(&mut self) -> Option<(SimTime, E)> {
        let (level, digit) = self.lowest()?;
        let words = &mut self.occupied[level];
        words[digit >> 6] &= !(1 << (digit & 63));
        if words.iter().all(|&x| x == 0) {
            self.levels &= !(1 << level);
        }
        let i = (level << DIGIT) + digit;
        if self.buckets[i].len() == 1 {
            // The common case in the model: the bucket holds one event,
            // which is the minimum and goes straight out.
            let e = self.buckets[i].pop()?;
            self.last = e.0;
            return Some(e);
        }
        let mut moving = std::mem::take(&mut self.buckets[i]);
        self.last = moving.iter().map(|e| e.0).min()?;
        for (t, e) in moving.drain(..) {
            self.put(t, e);
        }
        // Keep a small allocation for the next use; a big one (a far
        // level's share of every thinking shopper) is given back, so the
        // buckets' spare room does not add up to a copy of the queue.
        moving.shrink_to(SPARE);
        self.buckets[i] = moving;
        self.now.pop_front()
    }

    #[inline]
    fn pop(&mut self) -> Option<(SimTime, E)> {
        let e = match self.now.pop_front() {
            Some(e) => e,
            None => self.take_lowest()?,
        };
        self.len -= 1;
        Some(e)
    }

    /// The event most likely to come out next, without taking it: the front
    /// of the current instant, or an event of the lowest bucket (the
    /// minimum itself when the bucket holds one, the common case). Only a
    /// guess for [`Model::prefetch`]; nothing moves.
    #[inline]
    fn peek(&self) -> Option<&E> {
        if let Some((_, e)) = self.now.front() {
            return Some(e);
        }
        let (level, digit) = self.lowest()?;
        self.buckets[(level << DIGIT) + digit]
            .first()
            .map(|(_, e)| e)
    }

    /// The (level, digit) of the lowest non-empty bucket, if any.
    #[inline]
    fn lowest(&self) -> Option<(usize, usize)> {
        if self.levels == 0 {
            return None;
        }
        let level = self.levels.trailing_zeros() as usize;
        let words = &self.occupied[level];
        let w = words.iter().position(|&x| x != 0)?;
        Some((level, (w << 6) + words[w].trailing_zeros() as usize))
    }

    /// Puts back the event [`RadixHeap::pop`] just returned, first again.
    fn unpop(&mut self, e: (SimTime, E)) {
        debug_assert_eq!(e.0, self.last, "only the minimum just popped");
        self.now.push_front(e);
        self.len += 1;
    }
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
    /// The sequence number of the wake-up just popped, if it came from
    /// `first` (so [`Queue::unpop`] can put it back in its place).
    popped_first: Option<u64>,
}

impl<E> Queue<E> {
    pub fn new() -> Self {
        Queue {
            heap: RadixHeap::new(),
            first: BTreeMap::new(),
            next_first: SimTime::MAX,
            seq: 0,
            now: 0,
            popped_first: None,
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
        self.heap.push(time, ev);
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

    /// Takes the next wake-up if it is due at or before `end`. The time is
    /// not yet current: the engine sets it once it decides to run the event,
    /// or hands the event back with [`Queue::unpop`].
    #[inline]
    fn pop_until(&mut self, end: SimTime) -> Option<(SimTime, E)> {
        if self.next_first != SimTime::MAX {
            let heap = self.heap.settle();
            if heap.is_none_or(|t| self.next_first <= t) {
                if self.next_first > end {
                    return None;
                }
                let ((t, seq), ev) = self.first.pop_first().expect("next_first is set");
                self.next_first = self.first.keys().next().map_or(SimTime::MAX, |k| k.0);
                self.popped_first = Some(seq);
                return Some((t, ev));
            }
        }
        let (t, ev) = self.heap.pop()?;
        self.popped_first = None;
        if t > end {
            self.heap.unpop((t, ev));
            return None;
        }
        Some((t, ev))
    }

    /// Hands back the wake-up [`Queue::pop_until`] just returned, to the
    /// place it came from.
    fn unpop(&mut self, t: SimTime, ev: E) {
        match self.popped_first.take() {
            Some(seq) => {
                self.first.insert((t, seq), ev);
                self.next_first = self.next_first.min(t);
            }
            None => self.heap.unpop((t, ev)),
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

    /// Told the event likely to be handled after the one about to be: a
    /// model may ask the CPU to start fetching the memory it will touch
    /// ([`crate::prefetch`]). A hint only: it must not change any state.
    #[inline]
    fn prefetch(&self, _next: &Self::Event) {}
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
        while let Some((t, ev)) = self.queue.pop_until(end) {
            if t != last {
                if !pacer.pace(t) {
                    self.queue.unpop(t, ev);
                    return Stop::Stopped;
                }
                last = t;
            }
            self.queue.now = t;
            self.events += 1;
            if let Some(next) = self.queue.heap.peek() {
                self.model.prefetch(next);
            }
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
    fn radix_heap_pops_in_time_then_scheduling_order() {
        // A monotone workload like the model's: pushes at or after the last
        // pop, a third of them at the current instant or a few ns on (ties
        // must come out first in, first out).
        let mut h = RadixHeap::new();
        let mut reference = std::collections::BTreeSet::new();
        let mut x: u64 = 12345;
        let mut seq = 0u64;
        let mut now = 0u64;
        let mut hits = 0;
        for round in 0..20_000 {
            for _ in 0..(1 + round % 3) {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                seq += 1;
                let delay = match x % 3 {
                    0 => (x >> 40) % 4,
                    _ => (x >> 40) % 10_000_000,
                };
                h.push(now + delay, seq);
                reference.insert((now + delay, seq));
            }
            // The guess names a pending event, and is the next one most of
            // the time (whenever the lowest bucket holds a single event).
            let guess = *h.peek().unwrap();
            assert!(reference.iter().any(|&(_, s)| s == guess));
            let want = reference.pop_first().unwrap();
            hits += usize::from(guess == want.1);
            assert_eq!(h.pop().unwrap(), want);
            now = want.0;
        }
        assert!(
            hits > 20_000 / 2,
            "peek guessed right {hits} times in 20,000"
        );
        while let Some(want) = reference.pop_first() {
            assert_eq!(h.pop().unwrap(), want);
        }
        assert!(h.pop().is_none());
    }

    /// The model hears of the next event before it handles the current one.
    #[test]
    fn the_model_is_told_the_next_event_first() {
        use std::cell::RefCell;
        struct Told(RefCell<Vec<String>>);
        impl Model for Told {
            type Event = u32;
            fn handle(&mut self, _now: SimTime, ev: u32, _q: &mut Queue<u32>) {
                self.0.get_mut().push(format!("handle {ev}"));
            }
            fn prefetch(&self, next: &u32) {
                self.0.borrow_mut().push(format!("next {next}"));
            }
        }
        let mut e = Engine::new(Told(RefCell::new(vec![])));
        for t in [10, 2_000, 300_000] {
            e.queue.at(t, t as u32);
        }
        e.run_until(SimTime::MAX, &mut Unpaced);
        let log = e.model.0.into_inner();
        let want = [
            "next 2000",
            "handle 10",
            "next 300000",
            "handle 2000",
            "handle 300000",
        ];
        assert_eq!(log, want);
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
        // The event the pacer refused is handed back, not lost: a later run
        // takes it up where the stopped one left off, first wake-ups too.
        e.queue.first_at(6, 60);
        assert_eq!(e.run_until(100, &mut StopAt(6)), Stop::Stopped);
        assert_eq!(e.queue.len(), 5);
        assert_eq!(e.run_until(100, &mut Unpaced), Stop::End);
        let order: Vec<u32> = e.model.0.iter().map(|x| x.1).collect();
        assert_eq!(order, vec![1, 2, 3, 4, 5, 60, 6, 7, 8, 9]);
    }
}
