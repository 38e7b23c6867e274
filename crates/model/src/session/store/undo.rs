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
use smallvec::SmallVec;
use std::collections::VecDeque;

/// What one write did to the newest state, and what was there before.
#[derive(Clone, Debug)]
pub(super) enum Change {
    /// The session was absent; the write appended it.
    Inserted,
    /// The entry at the write's position held this before.
    Overwrote(Entry),
    /// The write removed this entry, with `swap_remove` at its position.
    Removed(SidKey, Entry),
}

#[derive(Clone, Debug)]
struct Undo {
    seq: u64,
    sid: Sid,
    /// Where the write landed in the map.
    at: u32,
    change: Change,
}

/// A shard's undo records, oldest first, numbered without gaps.
#[derive(Clone, Debug, Default)]
pub(super) struct UndoLog {
    undos: VecDeque<Undo>,
    /// The logged writes on each session, oldest first: what a replica's
    /// read needs without walking the log.
    by_session: OrderedMap<SidKey, SmallVec<[u64; 2]>>,
}

/// The position a write landed at, as a log records it.
fn position(at: usize) -> u32 {
    u32::try_from(at).expect("a shard holds fewer than 2^32 sessions")
}

impl UndoLog {
    /// Records write `seq` on `sid`, which landed at `at`.
    pub(super) fn record(&mut self, seq: u64, sid: Sid, at: usize, change: Change) {
        debug_assert!(self.undos.back().is_none_or(|u| u.seq + 1 == seq));
        self.by_session
            .entry(SidKey::from(sid))
            .or_default()
            .push(seq);
        self.undos.push_back(Undo {
            seq,
            sid,
            at: position(at),
            change,
        });
    }

    /// Forgets every write numbered `upto` or less: every copy has it.
    pub(super) fn trim(&mut self, upto: u64) {
        while self.undos.front().is_some_and(|u| u.seq <= upto) {
            let u = self.undos.pop_front().expect("front");
            self.forget(u.sid, u.seq);
        }
    }

    fn forget(&mut self, sid: Sid, seq: u64) {
        let key = SidKey::from(sid);
        let Some(seqs) = self.by_session.get_mut(&key) else {
            return;
        };
        seqs.retain(|s| *s != seq);
        if seqs.is_empty() {
            self.by_session.swap_remove(&key);
        }
    }

    /// Whether every copy has applied every write.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.undos.is_empty() && self.by_session.is_empty()
    }

    /// Forgets everything.
    pub(super) fn clear(&mut self) {
        self.undos.clear();
        self.by_session.clear();
    }

    /// The session written by write `seq`, if the log still holds it.
    pub(super) fn sid_of(&self, seq: u64) -> Option<Sid> {
        let first = self.undos.front()?.seq;
        let i = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.undos.get(i).map(|u| u.sid)
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
        let later = self
            .by_session
            .get(&key)
            .and_then(|seqs| seqs.iter().find(|&&s| s > applied));
        let Some(&seq) = later else {
            return newest.get(&key);
        };
        let first = self.undos.front().expect("a logged write").seq;
        let u = &self.undos[(seq - first) as usize];
        match &u.change {
            Change::Inserted => None,
            Change::Overwrote(e) | Change::Removed(_, e) => Some(e),
        }
    }

    /// Takes `map` back, in place, to what it held after write `to`, order
    /// included, undoing the later writes newest first; forgets them.
    pub(super) fn rewind(&mut self, map: &mut OrderedMap<SidKey, Entry>, to: u64) {
        while self.undos.back().is_some_and(|u| u.seq > to) {
            let u = self.undos.pop_back().expect("back");
            self.forget(u.sid, u.seq);
            let at = u.at as usize;
            match u.change {
                Change::Inserted => {
                    let (key, _) = map.pop().expect("the write appended it");
                    debug_assert_eq!(key, SidKey::from(u.sid));
                }
                Change::Overwrote(e) => *map.get_index_mut(at).expect("it overwrote here").1 = e,
                Change::Removed(key, e) => {
                    // swap_remove moved the last entry into the hole: put the
                    // removed one back at the end and swap them back.
                    let (end, fresh) = map.insert_full(key, e);
                    debug_assert!(fresh.is_none());
                    if at < end {
                        map.swap_indices(at, end);
                    }
                }
            }
        }
    }
}
