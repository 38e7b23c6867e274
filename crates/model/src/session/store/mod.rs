//! The session store: shards, each a primary and its replicas over AZs, with
//! replication as a real stream of writes and failover by promotion.
//!
//! One piece of code serves two strategies:
//! - `store` (Redis-like, ElastiCache): asynchronous replicas; a write is
//!   acknowledged by the primary alone; every read goes to the primary.
//! - `durable` (DynamoDB-like): three copies in three AZs; a write is
//!   acknowledged once one replica has it too (two of three); an eventually
//!   consistent read may be served by any copy, and may be stale.
//!
//! Each write to a primary is numbered and queued per replica with the time it
//! reaches that replica; a replica applies its queue, in order, when asked
//! about a later moment. When a primary dies, what its replicas had not
//! received is dropped, and the least-lagged replica (the one that applied the
//! most) is promoted after the failover time. A replacement replica is
//! created later by a full copy of the primary.
//!
//! A replica applies the primary's writes in the primary's order, so what it
//! holds is the primary's state after the last write it applied: a shard
//! keeps its newest state once, and the writes not every copy has applied
//! with what each replaced (`undo`).
//!
//! Here: the store, its shards and what nodes can ask of their state.
//! `copy` holds an entry and one copy's incoming stream, `access` the reads,
//! writes, replication and expiry, `fault` the losses, failover and
//! rebuilds, and `config` how a store is placed and timed.

use super::{OrderedMap, Sid, SidKey, Unavailable};
use crate::cart::Cart;
use crate::core::AzIx;
use crate::rng::Rng;
use crate::time::SimTime;
use crate::wire::Tap;

mod access;
mod config;
mod copy;
mod fault;
#[cfg(test)]
mod naive;
#[cfg(test)]
mod tests;
mod undo;

pub use config::{Placement, StoreConfig};
use copy::{Copy, Entry};
pub use fault::{Blow, StoreLoss, Wake};
use undo::UndoLog;

/// Redis Cluster's hash slots.
pub const SLOTS: u32 = 16_384;

/// Why a page failed: the store had no primary to take it (failing over,
/// or down).
pub const SESSION_STORE_UNAVAILABLE: &str = "session_store_unavailable";
/// Why a page failed: the store lay across a partition, and the node's
/// connection attempt timed out.
pub const SESSION_STORE_UNREACHABLE: &str = "session_store_unreachable";
/// Why a page failed under `[fleet.calls]`: its last attempt outlasted the
/// call's timeout.
pub const SESSION_STORE_TIMEOUT: &str = "session_store_timeout";
/// Why a page failed under `[fleet.calls]`: the node's breaker for the
/// store was open, so it did not call.
pub const SESSION_STORE_CIRCUIT_OPEN: &str = "session_store_circuit_open";

/// A shard's state as the nodes see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreState {
    Up,
    /// The primary is gone; a replica is promoted at `until`.
    FailingOver {
        until: SimTime,
    },
    /// No primary and nothing to promote.
    Down,
}

#[derive(Debug)]
struct Shard {
    /// The newest state: the primary's entries, or after the primary's
    /// loss, what it held when it died, until a replica is promoted.
    newest: OrderedMap<SidKey, Entry>,
    /// The writes some copy has not applied, to tell what each copy holds.
    log: UndoLog,
    copies: Vec<Copy>,
    primary: Option<usize>,
    state: StoreState,
    /// Bumped on each failover so a stale promotion wake-up is ignored.
    epoch: u32,
    /// Writes made.
    seq: u64,
    /// Copies the shard should have (primary included).
    size: usize,
}

impl Shard {
    /// Copy `i`'s entry for `key`: the newest state as of the last write it
    /// applied.
    fn entry_of(&self, i: usize, key: SidKey) -> Option<&Entry> {
        self.log.entry_at(&self.newest, key, self.copies[i].applied)
    }

    /// Numbers the write the primary just made to `key`'s session (landed
    /// at `at`) and logs what it replaced, for the copies that lack it.
    fn made(&mut self, key: SidKey, at: usize, change: undo::Change) {
        self.seq += 1;
        self.log.record(self.seq, key, at, change);
    }

    /// Forgets the undo records every copy has applied; with no copy left,
    /// forgets the data too, which nothing holds any more.
    fn trim(&mut self) {
        match self.copies.iter().map(|c| c.applied).min() {
            Some(oldest) => self.log.trim(oldest),
            None => {
                self.log.clear();
                self.newest = OrderedMap::default();
            }
        }
    }
}

/// Counters the report shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub reads: u64,
    pub writes: u64,
    pub failovers: u64,
    pub replicas_created: u64,
    /// Reads a replica answered with an older value than the newest copy held.
    pub stale_reads: u64,
}

#[derive(Debug)]
pub struct Store {
    shards: Vec<Shard>,
    cfg: StoreConfig,
    rng: Rng,
    pub stats: StoreStats,
}

/// How a read found the session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadInfo {
    /// A replica answered with an older value than the newest copy held.
    pub stale: bool,
}

/// CRC16-CCITT (XModem), the hash Redis Cluster maps keys to slots with.
/// A byte at a time from [`CRC16_TABLE`]: a sharded store hashes the
/// session id on every request, and more than once.
fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ CRC16_TABLE[usize::from((crc >> 8) as u8 ^ b)]
    })
}

/// CRC16-CCITT of each byte value alone, shifted through the polynomial
/// 0x1021 bit by bit, once, at compile time.
const CRC16_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

impl Store {
    pub fn new(cfg: StoreConfig, rng: Rng) -> Self {
        let shards = cfg
            .shards
            .iter()
            .map(|p| {
                let mut copies = vec![Copy::new(p.primary, 0)];
                copies.extend(p.replicas.iter().map(|&az| Copy::new(az, 0)));
                Shard {
                    newest: OrderedMap::default(),
                    log: UndoLog::default(),
                    size: copies.len(),
                    copies,
                    primary: Some(0),
                    state: StoreState::Up,
                    epoch: 0,
                    seq: 0,
                }
            })
            .collect();
        Store {
            shards,
            cfg,
            rng,
            stats: StoreStats::default(),
        }
    }

    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// The entry at position `at` of `sid`'s primary, whosever it is: what
    /// a node's request with that hint reads first (the simulator
    /// fetches it ahead).
    pub fn primary_entry_at(&self, sid: Sid, at: u32) -> Option<(&SidKey, &impl Sized)> {
        let shard = &self.shards[self.shard_of(sid)];
        shard.primary?;
        shard.newest.get_index(at as usize)
    }

    /// The shard holding a session: its hash slot, slots split evenly.
    #[inline]
    pub fn shard_of(&self, sid: Sid) -> usize {
        let n = self.shards.len();
        if n == 1 {
            return 0;
        }
        let slot = u32::from(crc16(&sid.to_le_bytes())) % SLOTS;
        (slot as usize * n) / SLOTS as usize
    }

    pub fn state(&self, shard: usize) -> StoreState {
        self.shards[shard].state
    }

    /// The first shard's state (the whole store's, without cluster mode).
    pub fn overall(&self) -> StoreState {
        let mut worst = StoreState::Up;
        for s in &self.shards {
            match s.state {
                StoreState::Down => return StoreState::Down,
                f @ StoreState::FailingOver { .. } => worst = f,
                StoreState::Up => {}
            }
        }
        worst
    }

    pub fn primary_az(&self, shard: usize) -> Option<AzIx> {
        let s = &self.shards[shard];
        s.primary.map(|p| s.copies[p].az)
    }

    /// Every live copy: (shard, AZ, is primary).
    pub fn copies(&self) -> impl Iterator<Item = (usize, AzIx, bool)> + '_ {
        self.shards.iter().enumerate().flat_map(|(k, s)| {
            s.copies
                .iter()
                .enumerate()
                .map(move |(i, c)| (k, c.az, s.primary == Some(i)))
        })
    }

    /// The AZ of the copy an eventually consistent read from `near` goes to:
    /// the copy in the reader's own AZ if there is one, else the primary.
    pub fn read_az(&self, shard: usize, near: AzIx) -> Option<AzIx> {
        let s = &self.shards[shard];
        if s.copies.iter().any(|c| c.az == near) {
            Some(near)
        } else {
            self.primary_az(shard)
        }
    }

    /// The AZ of the nearest replica a write waits for, if any.
    pub fn sync_az(&self, shard: usize) -> Option<AzIx> {
        if self.cfg.sync_replicas == 0 {
            return None;
        }
        let s = &self.shards[shard];
        let p = s.primary?;
        s.copies
            .iter()
            .enumerate()
            .find(|&(i, _)| i != p)
            .map(|(_, c)| c.az)
    }

    /// The store's state and its first shard's placement, as the live admin
    /// API and RESP's INFO show them: (state, primary AZ, replica AZs).
    pub fn summary(&self) -> (StoreState, Option<AzIx>, Vec<AzIx>) {
        let replicas = self
            .copies()
            .filter(|&(k, _, primary)| k == 0 && !primary)
            .map(|(_, az, _)| az)
            .collect();
        (self.overall(), self.primary_az(0), replicas)
    }
}

/// A store bound to a moment, as a node sees it during one request.
pub struct StoreAt<'a> {
    pub store: &'a mut Store,
    pub now: SimTime,
    /// An eventually consistent read, served by the copy in this AZ (a
    /// write still goes to the primary).
    pub read_at: Option<AzIx>,
    /// Filled in: whether the read was stale.
    pub info: ReadInfo,
    /// The node's end of the wire, when its trips are counted.
    pub tap: Option<Tap<'a>>,
    /// Where the session sat in the primary last time, kept by the caller.
    pub hint: Option<&'a mut u32>,
}

impl StoreAt<'_> {
    fn serve(&mut self, sid: Sid, op: access::Op<'_>) -> Result<(), Unavailable> {
        let hint = self.hint.as_deref_mut();
        self.info = self
            .store
            .serve(self.now, sid, self.read_at, op, self.tap, hint)?;
        Ok(())
    }
}

impl super::SessionBackend for StoreAt<'_> {
    fn update(
        &mut self,
        sid: Sid,
        f: &mut dyn FnMut(&mut Cart) -> bool,
    ) -> Result<(), Unavailable> {
        self.serve(sid, access::Op::Update(f))
    }

    fn read(&mut self, sid: Sid, f: &mut dyn FnMut(&Cart)) -> Result<(), Unavailable> {
        self.serve(sid, access::Op::Read(f))
    }
}
