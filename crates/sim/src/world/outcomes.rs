//! How each shopper's request in flight ended, stored only while it is
//! decided. A request is in flight for milliseconds and a shopper thinks
//! for seconds, so a slot per shopper would hold a whole response (176
//! bytes) for every thinking shopper; here a shopper costs a 4-byte index
//! and the responses live in a small pool that stays in cache.
//!
//! It behaves exactly as a vector of outcomes by shopper slot in which
//! `Pending` is the empty value: reading an empty slot gives `Pending`,
//! setting `Pending` or taking empties it.

use stratus_model::node::ShopperId;
use stratus_model::workload::Outcome;

const EMPTY: u32 = u32::MAX;
static PENDING: Outcome = Outcome::Pending;

#[derive(Default)]
pub(super) struct Outcomes {
    /// Per shopper slot, its outcome's place in `pool`, or `EMPTY`.
    at: Vec<u32>,
    pool: Vec<Outcome>,
    /// Places in `pool` free for reuse.
    free: Vec<u32>,
}

impl Outcomes {
    /// A new shopper slot, pending.
    pub(super) fn add_slot(&mut self) {
        self.at.push(EMPTY);
    }

    pub(super) fn get(&self, s: ShopperId) -> &Outcome {
        match self.at[s as usize] {
            EMPTY => &PENDING,
            i => &self.pool[i as usize],
        }
    }

    /// Starts fetching the slot's index ([`crate::prefetch`]): with a
    /// million shoppers the index array is megabytes.
    pub(super) fn prefetch(&self, s: ShopperId) {
        if let Some(i) = self.at.get(s as usize) {
            crate::prefetch::prefetch(i);
        }
    }

    /// The slot's outcome, to be decided in place. Several times a
    /// request: the lookup is inlined where it is made, giving the slot a
    /// place in the pool is kept out of line.
    #[inline(always)]
    pub(super) fn slot(&mut self, s: ShopperId) -> &mut Outcome {
        let mut i = self.at[s as usize];
        if i == EMPTY {
            i = self.place(s);
        }
        &mut self.pool[i as usize]
    }

    /// Gives the empty slot `s` a place in the pool: a free one, or a new one.
    fn place(&mut self, s: ShopperId) -> u32 {
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.pool.push(Outcome::Pending);
                (self.pool.len() - 1) as u32
            }
        };
        self.at[s as usize] = i;
        i
    }

    pub(super) fn set(&mut self, s: ShopperId, o: Outcome) {
        match o {
            Outcome::Pending => drop(self.take(s)),
            o => *self.slot(s) = o,
        }
    }

    /// Drops the slot's outcome where it lies, leaving it pending.
    pub(super) fn clear(&mut self, s: ShopperId) {
        let i = std::mem::replace(&mut self.at[s as usize], EMPTY);
        if i != EMPTY {
            self.free.push(i);
            self.pool[i as usize] = Outcome::Pending;
        }
    }

    /// The slot's outcome, leaving it pending.
    pub(super) fn take(&mut self, s: ShopperId) -> Outcome {
        match std::mem::replace(&mut self.at[s as usize], EMPTY) {
            EMPTY => Outcome::Pending,
            i => {
                self.free.push(i);
                std::mem::take(&mut self.pool[i as usize])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_vector_with_pending_empty() {
        let mut o = Outcomes::default();
        o.add_slot();
        o.add_slot();
        assert!(matches!(o.get(1), Outcome::Pending));
        o.set(1, Outcome::Failed("x"));
        assert!(matches!(o.get(1), Outcome::Failed("x")));
        assert!(matches!(o.get(0), Outcome::Pending));
        assert!(matches!(o.take(1), Outcome::Failed("x")));
        assert!(matches!(o.take(1), Outcome::Pending));
        // The freed place is reused, and holds nothing of the last outcome.
        assert!(matches!(o.slot(0), Outcome::Pending));
        assert_eq!(o.pool.len(), 1);
        o.set(0, Outcome::Failed("y"));
        o.set(0, Outcome::Pending);
        assert!(matches!(o.get(0), Outcome::Pending));
        assert_eq!(o.free.len(), 1);
        o.set(1, Outcome::Failed("z"));
        o.clear(1);
        assert!(matches!(o.get(1), Outcome::Pending));
        assert_eq!(o.free.len(), 1, "the cleared place is free again");
    }
}
