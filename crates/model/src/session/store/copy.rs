//! A shard's copy of the data (primary or replica), its entries, and the
//! stream of writes on their way to it.

use crate::cart::Cart;
use crate::core::AzIx;
use crate::session::{OrderedMap, Sid, SidKey};
use crate::time::SimTime;
use std::collections::VecDeque;

#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) cart: Cart,
    /// Last write; with `SET … EX ttl` the TTL restarts on each write.
    pub(super) written: SimTime,
    /// The shard's write number that produced this value.
    pub(super) version: u64,
    /// The cart's size as stored (its JSON), measured once per write.
    pub(super) len: u32,
}

impl Entry {
    pub(super) fn new(cart: Cart, written: SimTime, version: u64) -> Entry {
        let len = cart.json_len() as u32;
        Entry {
            cart,
            written,
            version,
            len,
        }
    }

    /// The value's bytes and lines, as the wire's sizes take them.
    pub(super) fn stored(&self) -> (usize, usize) {
        (self.len as usize, self.cart.items.len())
    }
}

#[derive(Debug)]
pub(super) struct Pending {
    pub(super) apply_at: SimTime,
    pub(super) seq: u64,
    pub(super) sid: Sid,
    pub(super) entry: Option<Entry>,
    /// Where the write left (or removed) the session in the primary; a copy
    /// that applied the same writes in the same order holds it there too.
    /// Still a guess the copy checks
    /// ([`crate::session::find_hinted`]) before its own hash probe.
    pub(super) at: Option<u32>,
}

/// One copy of a shard's data.
#[derive(Debug)]
pub(super) struct Copy {
    pub(super) az: AzIx,
    pub(super) map: OrderedMap<SidKey, Entry>,
    /// Writes sent and not yet applied, in order.
    pub(super) stream: VecDeque<Pending>,
    /// The last write applied.
    pub(super) applied: u64,
}

impl Copy {
    pub(super) fn new(az: AzIx) -> Copy {
        Copy {
            az,
            map: OrderedMap::default(),
            stream: VecDeque::new(),
            applied: 0,
        }
    }

    /// Applies every write that has reached this copy by `now`.
    pub(super) fn catch_up(&mut self, now: SimTime) {
        while self.stream.front().is_some_and(|p| p.apply_at <= now) {
            let p = self.stream.pop_front().expect("front");
            self.apply(p);
        }
    }

    /// Applies one write as the primary made it: a copy that applied the
    /// same writes in the same order holds each session where the primary
    /// does, so the write's position usually finds it without a probe.
    pub(super) fn apply(&mut self, p: Pending) {
        let key = SidKey::from(p.sid);
        let hit = crate::session::at_hint(&self.map, key, p.at);
        // A wrong guess (or a new session) leaves it to the map's own probe.
        match (p.entry, hit) {
            (Some(e), Some(i)) => *self.map.get_index_mut(i).expect("just found").1 = e,
            (Some(e), None) => {
                self.map.insert(key, e);
            }
            (None, Some(i)) => {
                self.map.swap_remove_index(i);
            }
            (None, None) => {
                self.map.swap_remove(&key);
            }
        }
        self.applied = p.seq;
    }
}
