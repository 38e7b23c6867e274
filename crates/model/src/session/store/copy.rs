//! A shard's entry and its copies (primary or replica): where each copy is,
//! how far it has applied the primary's writes, and the writes on their way
//! to it.

use crate::cart::Cart;
use crate::core::AzIx;
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

    /// The entry a write of `cart` over `self` leaves: sized from `self`'s
    /// length and the lines that changed ([`Cart::json_len_after`]).
    pub(super) fn after(&self, cart: Cart, written: SimTime, version: u64) -> Entry {
        let len = cart.json_len_after(&self.cart, self.len as usize) as u32;
        Entry {
            cart,
            written,
            version,
            len,
        }
    }

    /// Whether the entry is still live at `now` under a TTL of `ttl`, which
    /// each write restarts; an expired one reads as absent.
    pub(super) fn fresh(&self, now: SimTime, ttl: u64) -> bool {
        now.saturating_sub(self.written) <= ttl
    }

    /// The value's bytes and lines, as the wire's sizes take them.
    pub(super) fn stored(&self) -> (usize, usize) {
        (self.len as usize, self.cart.items.len())
    }
}

/// A write on its way to a replica.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sent {
    pub(super) apply_at: SimTime,
    pub(super) seq: u64,
}

/// One copy of a shard's data. Its entries are the shard's newest state as
/// it stood after write `applied` ([`super::undo`]); what it holds of its
/// own is its place and the writes on their way to it.
#[derive(Debug)]
pub(super) struct Copy {
    pub(super) az: AzIx,
    /// Writes sent and not yet applied, in order, numbered without gaps.
    pub(super) stream: VecDeque<Sent>,
    /// The last write applied.
    pub(super) applied: u64,
}

impl Copy {
    /// A copy that holds the shard's data as of write `applied`.
    pub(super) fn new(az: AzIx, applied: u64) -> Copy {
        Copy {
            az,
            stream: VecDeque::new(),
            applied,
        }
    }

    /// Applies every write that has reached this copy by `now`.
    pub(super) fn catch_up(&mut self, now: SimTime) {
        while let Some(s) = self.stream.front().filter(|s| s.apply_at <= now) {
            self.applied = s.seq;
            self.stream.pop_front();
        }
    }
}
