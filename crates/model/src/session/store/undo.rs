//! The writes a shard's replicas have not applied yet, each kept with what it
//! replaced: a replica is the primary's data as it stood at the last write
//! the replica applied, so it is held as that, not as a second full map.
//!
//! A replica that applied the same writes in the same order as the primary
//! holds exactly what the primary held after that write, in the same order
//! (the primary's expiry deletes one session at a time, as replicas do). So
//! the shard keeps one map, the newest state, and for every write since the
//! oldest replica's position an undo record: where the write landed and the
//! entry it replaced or removed. A replica's read looks at the first write
//! it lacks on that session; a promotion rewinds the map to the promoted
//! replica's position. What a replica never received is dropped there, as
//! it would be from a copy of its own.

use super::copy::Entry;
use crate::session::{OrderedMap, Sid, SidKey};
use std::collections::VecDeque;

/// What one write did to the newest state, and what was there before.
#[derive(Clone, Debug)]
pub(super) enum Change {
    /// The session was absent; the write appended it.
    Inserted,
    /// The entry at the write's position held this before.
    Overwrote(Entry),
    /// The write removed this entry, with `swap_remove` at its position.
    Removed(Entry),
}

#[derive(Clone, Debug)]
struct Undo {
    seq: u64,
    key: SidKey,
    /// Where the write landed in the map.
    at: u32,
    change: Change,
}

/// A shard's undo records, oldest first, numbered without gaps. Only a
/// replica's read looks a session up in it, and only among the writes that
/// replica lacks (a replication lag's worth), so it keeps no index: one
/// would cost every write a hash insert and removal.
#[derive(Clone, Debug, Default)]
pub(super) struct UndoLog {
    undos: VecDeque<Undo>,
}

/// The position a write landed at, as a log records it.
fn position(at: usize) -> u32 {
    u32::try_from(at).expect("a shard holds fewer than 2^32 sessions")
}

impl UndoLog {
    /// Records write `seq` on `key`'s session, which landed at `at`.
    pub(super) fn record(&mut self, seq: u64, key: SidKey, at: usize, change: Change) {
        debug_assert!(self.undos.back().is_none_or(|u| u.seq + 1 == seq));
        self.undos.push_back(Undo {
            seq,
            key,
            at: position(at),
            change,
        });
    }

    /// Forgets every write numbered `upto` or less: every copy has it.
    pub(super) fn trim(&mut self, upto: u64) {
        while self.undos.front().is_some_and(|u| u.seq <= upto) {
            self.undos.pop_front();
        }
    }

    /// Whether every copy has applied every write.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.undos.is_empty()
    }

    /// Forgets everything.
    pub(super) fn clear(&mut self) {
        self.undos.clear();
    }

    /// The session written by write `seq`, if the log still holds it.
    pub(super) fn sid_of(&self, seq: u64) -> Option<Sid> {
        let first = self.undos.front()?.seq;
        let i = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.undos.get(i).map(|u| u.key.sid())
    }

    /// `key`'s entry in a copy that applied every write up to `applied`,
    /// given the newest state `newest`: what the first later write on it
    /// found, or the newest entry if no later write touched it.
    pub(super) fn entry_at<'a>(
        &'a self,
        newest: &'a OrderedMap<SidKey, Entry>,
        key: SidKey,
        applied: u64,
    ) -> Option<&'a Entry> {
        let first = self.undos.front().map_or(applied + 1, |u| u.seq);
        let lacks = (applied + 1)
            .checked_sub(first)
            .expect("a copy lacks only writes the log still holds") as usize;
        let later = self.undos.range(lacks.min(self.undos.len())..);
        let Some(u) = later.into_iter().find(|u| u.key == key) else {
            return newest.get(&key);
        };
        match &u.change {
            Change::Inserted => None,
            Change::Overwrote(e) | Change::Removed(e) => Some(e),
        }
    }

    /// Takes `map` back, in place, to what it held after write `to`, order
    /// included, undoing the later writes newest first; forgets them.
    pub(super) fn rewind(&mut self, map: &mut OrderedMap<SidKey, Entry>, to: u64) {
        while self.undos.back().is_some_and(|u| u.seq > to) {
            let u = self.undos.pop_back().expect("back");
            let at = u.at as usize;
            match u.change {
                Change::Inserted => {
                    let (key, _) = map.pop().expect("the write appended it");
                    debug_assert_eq!(key, u.key);
                }
                Change::Overwrote(e) => *map.get_index_mut(at).expect("it overwrote here").1 = e,
                Change::Removed(e) => {
                    // swap_remove moved the last entry into the hole: put the
                    // removed one back at the end and swap them back.
                    let (end, fresh) = map.insert_full(u.key, e);
                    debug_assert!(fresh.is_none());
                    if at < end {
                        map.swap_indices(at, end);
                    }
                }
            }
        }
    }
}
