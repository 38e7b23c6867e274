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

use super::{OrderedMap, Sid, SidKey, Unavailable};
use crate::cart::Cart;
use crate::core::AzIx;
use crate::rng::Rng;
use crate::station::ServiceDistribution;
use crate::time::{SEC, SimTime};
use crate::wire::size::StoreApi;
use crate::wire::{Hop, Tap, Wire};
use std::collections::VecDeque;

/// Redis Cluster's hash slots.
pub const SLOTS: u32 = 16_384;

#[derive(Clone, Debug)]
struct Entry {
    cart: Cart,
    /// Last write; with `SET … EX ttl` the TTL restarts on each write.
    written: SimTime,
    /// The shard's write number that produced this value.
    version: u64,
    /// The cart's size as stored (its JSON), measured once per write.
    len: u32,
}

impl Entry {
    fn new(cart: Cart, written: SimTime, version: u64) -> Entry {
        let len = cart.json_len() as u32;
        Entry {
            cart,
            written,
            version,
            len,
        }
    }

    /// The value's bytes and lines, as the wire's sizes take them.
    fn stored(&self) -> (usize, usize) {
        (self.len as usize, self.cart.items.len())
    }
}

#[derive(Debug)]
struct Pending {
    apply_at: SimTime,
    seq: u64,
    sid: Sid,
    entry: Option<Entry>,
    /// Where the write left (or removed) the session in the primary, while
    /// the copies' positions match the primary's: a guess the copy checks
    /// ([`super::find_hinted`]) before its own hash probe.
    at: Option<u32>,
}

/// One copy of a shard's data.
#[derive(Debug)]
struct Copy {
    az: AzIx,
    map: OrderedMap<SidKey, Entry>,
    /// Writes sent and not yet applied, in order.
    stream: VecDeque<Pending>,
    /// The last write applied.
    applied: u64,
}

impl Copy {
    fn new(az: AzIx) -> Copy {
        Copy {
            az,
            map: OrderedMap::default(),
            stream: VecDeque::new(),
            applied: 0,
        }
    }

    /// Applies every write that has reached this copy by `now`.
    fn catch_up(&mut self, now: SimTime) {
        while self.stream.front().is_some_and(|p| p.apply_at <= now) {
            let p = self.stream.pop_front().expect("front");
            self.apply(p);
        }
    }

    /// Applies one write as the primary made it: a copy that applied the
    /// same writes in the same order holds each session where the primary
    /// does, so the write's position usually finds it without a probe.
    fn apply(&mut self, p: Pending) {
        let key = SidKey::from(p.sid);
        let hit = super::at_hint(&self.map, key, p.at);
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

/// Where a shard's copies live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub primary: AzIx,
    pub replicas: Vec<AzIx>,
}

/// How the store is built and behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreConfig {
    /// How nodes talk to it, which sizes its messages.
    pub api: StoreApi,
    pub shards: Vec<Placement>,
    /// Mean replication delay to an asynchronous replica.
    pub lag: u64,
    pub lag_distribution: ServiceDistribution,
    /// Replicas that apply a write before it is acknowledged.
    pub sync_replicas: usize,
    pub failover_after: u64,
    pub rebuild_after: Option<u64>,
    pub ttl: u64,
}

impl StoreConfig {
    /// `store`: the scenario's placement, with shard `k`'s copies shifted
    /// `k` AZs round the region so primaries spread.
    pub fn redis(st: &crate::scenario::StoreSessions, azs: usize) -> StoreConfig {
        let shards = (0..st.shards as usize)
            .map(|k| Placement {
                primary: (st.primary_az + k) % azs,
                replicas: st.replicas.iter().map(|&r| (r + k) % azs).collect(),
            })
            .collect();
        StoreConfig {
            api: StoreApi::Resp,
            shards,
            lag: st.replication_lag.0,
            lag_distribution: st.lag_distribution,
            sync_replicas: 0,
            failover_after: st.failover_after.0,
            rebuild_after: st.replica_rebuild.map(|d| d.0),
            ttl: st.ttl.0,
        }
    }

    /// `durable`: one partition led from each copy's AZ (keys spread over
    /// the leaders by hash), the other copies its replicas; one replica
    /// acknowledges synchronously.
    pub fn dynamo(d: &crate::scenario::DurableSessions, azs: usize) -> StoreConfig {
        let copies = d.copies(azs);
        let shards = (0..copies.len())
            .map(|k| Placement {
                primary: copies[k],
                replicas: (1..copies.len())
                    .map(|j| copies[(k + j) % copies.len()])
                    .collect(),
            })
            .collect();
        StoreConfig {
            api: StoreApi::Table,
            shards,
            lag: d.replication_lag.0,
            lag_distribution: ServiceDistribution::Exponential,
            sync_replicas: 1,
            failover_after: d.failover_after.0,
            rebuild_after: Some(10 * crate::time::MIN),
            ttl: d.ttl.0,
        }
    }
}

/// What a fault took from the store.
#[derive(Debug, Default)]
pub struct StoreLoss {
    /// Sessions whose latest write never reached a surviving copy.
    pub sids: Vec<Sid>,
    /// Writes dropped from the replication streams.
    pub writes_lost: u64,
}

/// Something the store wants to happen later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    Promote { shard: u16, at: SimTime, epoch: u32 },
    Rebuild { shard: u16, at: SimTime },
}

/// What a fault did, for the caller's log and accounting.
#[derive(Debug, Default)]
pub struct Blow {
    pub loss: StoreLoss,
    pub wakes: Vec<Wake>,
    /// Shards whose primary was lost.
    pub primaries: Vec<u16>,
    /// Replicas lost.
    pub replicas: u32,
    /// Shards left with no copy to promote.
    pub down: Vec<u16>,
}

impl Blow {
    /// The events a fault is logged as, by both drivers: `what` names the
    /// store ("store", "table"), `shard` labels a shard (" shard 2", or "").
    pub fn events(&self, what: &str, shard: &dyn Fn(u16) -> String) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if self.replicas > 0 {
            v.push((
                "store_replica_lost",
                format!("{} {what} replica(s)", self.replicas),
            ));
        }
        for &k in &self.primaries {
            let label = shard(k);
            v.push(if self.down.contains(&k) {
                (
                    "store_down",
                    format!("{what}{label}: primary lost with no replica"),
                )
            } else {
                (
                    "store_primary_lost",
                    format!(
                        "{what}{label}: {} unreplicated writes dropped; failover in progress",
                        self.loss.writes_lost
                    ),
                )
            });
        }
        v
    }
}

#[derive(Debug)]
struct Shard {
    copies: Vec<Copy>,
    primary: Option<usize>,
    state: StoreState,
    /// Bumped on each failover so a stale promotion wake-up is ignored.
    epoch: u32,
    /// Writes made.
    seq: u64,
    /// Copies the shard should have (primary included).
    size: usize,
    /// Whether every copy holds each session at the primary's position:
    /// true while all applied the primary's writes in its order (and after
    /// a promotion resynchronises them); false once the primary's expiry,
    /// which keeps its order where the replicas' deletions do not, moved
    /// them apart.
    aligned: bool,
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

/// A node's read of the entry at `at` in `copy` (absent, or not `fresh`:
/// no value in the reply), counted on the wire.
fn read_trip(
    t: Tap<'_>,
    api: StoreApi,
    copy: &Copy,
    at: Option<usize>,
    fresh: impl Fn(&Entry) -> bool,
) {
    let held = at
        .and_then(|i| copy.map.get_index(i))
        .filter(|(_, e)| fresh(e));
    let (ask, answer) = api.read(held.map(|(_, e)| e.stored()));
    t.round_trip(Hop::NodeStorePrimary, copy.az, ask, answer);
}

/// The AZ of shard `k`'s primary, which has just taken a write.
fn copy_az(s: &Store, k: usize) -> AzIx {
    s.primary_az(k).expect("a write has a primary")
}

/// CRC16-CCITT (XModem), the hash Redis Cluster maps keys to slots with.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

impl Store {
    pub fn new(cfg: StoreConfig, rng: Rng) -> Self {
        let shards = cfg
            .shards
            .iter()
            .map(|p| {
                let mut copies = vec![Copy::new(p.primary)];
                copies.extend(p.replicas.iter().map(|&az| Copy::new(az)));
                Shard {
                    aligned: true,
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
    /// [`Store::update_on`] with that hint reads first (the simulator
    /// fetches it ahead).
    pub fn primary_entry_at(&self, sid: Sid, at: u32) -> Option<(&SidKey, &impl Sized)> {
        let shard = &self.shards[self.shard_of(sid)];
        let copy = &shard.copies[shard.primary?];
        copy.map.get_index(at as usize)
    }

    /// The shard holding a session: its hash slot, slots split evenly.
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

    /// Active expiry, as Redis runs it beside the lazy kind: each shard's
    /// primary deletes the sessions whose TTL ran out and sends the deletions
    /// down its replication stream, so every copy frees them. How many.
    /// Without it, a long run kept every abandoned session for good.
    pub fn expire(&mut self, now: SimTime, wire: Option<&Wire>) -> usize {
        let ttl = self.cfg.ttl;
        let mut gone = Vec::new();
        let mut total = 0;
        for k in 0..self.shards.len() {
            let shard = &mut self.shards[k];
            let Some(p) = shard.primary.filter(|_| shard.state == StoreState::Up) else {
                continue;
            };
            shard.copies[p].map.retain(|&key, e| {
                let live = now.saturating_sub(e.written) <= ttl;
                if !live {
                    gone.push(key.sid());
                }
                live
            });
            total += gone.len();
            if !gone.is_empty() {
                self.shards[k].aligned = false;
            }
            for sid in gone.drain(..) {
                self.replicate(now, k, sid, None, wire, None);
            }
        }
        total
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

    fn draw_lag(&mut self) -> u64 {
        match self.cfg.lag_distribution {
            ServiceDistribution::Constant => self.cfg.lag,
            _ => self.rng.exp(self.cfg.lag as f64).round() as u64,
        }
    }

    /// Runs `f` on the session's cart in place (an empty cart if the session
    /// is absent or expired); if `f` reports a change, the write is made (an
    /// empty cart deletes the session) and sent to the replicas. TTL restarts
    /// on each write, as with `SET … EX ttl`.
    ///
    /// `read_at`: an eventually consistent read served by the copy in that
    /// AZ; `f` must then not change the cart (the caller sends only reads).
    pub fn update(
        &mut self,
        now: SimTime,
        sid: Sid,
        read_at: Option<AzIx>,
        f: &mut dyn FnMut(&mut Cart) -> bool,
    ) -> Result<ReadInfo, Unavailable> {
        self.update_on(now, sid, read_at, f, None, None)
    }

    /// [`Store::update`], with the node's round trips and the replication
    /// stream it causes counted on `tap`'s wire, finding the session in the
    /// primary where `hint` remembers it first ([`super::find_hinted`]).
    pub fn update_on(
        &mut self,
        now: SimTime,
        sid: Sid,
        read_at: Option<AzIx>,
        f: &mut dyn FnMut(&mut Cart) -> bool,
        tap: Option<Tap<'_>>,
        mut hint: Option<&mut u32>,
    ) -> Result<ReadInfo, Unavailable> {
        let k = self.shard_of(sid);
        if let Some(az) = read_at
            && let Some(info) = self.read_copy(now, k, sid, az, f, tap)
        {
            self.stats.reads += 1;
            return Ok(info);
        }
        let ttl = self.cfg.ttl;
        let shard = &mut self.shards[k];
        if shard.state != StoreState::Up {
            return Err(Unavailable);
        }
        let p = shard.primary.ok_or(Unavailable)?;
        let version = shard.seq + 1;
        let copy = &mut shard.copies[p];
        let (api, ttl_s) = (self.cfg.api, ttl / SEC);
        let at = super::find_hinted(&copy.map, SidKey::from(sid), hint.as_deref().copied());
        if let Some(i) = at {
            super::remember(&mut hint, i);
        }
        if let Some(t) = tap {
            read_trip(t, api, copy, at, |e| now.saturating_sub(e.written) <= ttl);
        }
        // Some(value, position) when the primary's state changed: what
        // replicas apply, and where the primary holds (or held) it.
        let write: Option<(Option<Entry>, usize)> = match at {
            Some(i) => {
                let e = copy.map.get_index_mut(i).expect("index just found").1;
                let expired = now.saturating_sub(e.written) > ttl;
                if expired {
                    // Expired keys read as absent, as Redis's lazy expiry has it.
                    e.cart.items.clear();
                }
                let changed = f(&mut e.cart) || expired;
                if !changed {
                    None
                } else if e.cart.is_empty() {
                    copy.map.swap_remove_index(i);
                    Some((None, i))
                } else {
                    *e = Entry::new(std::mem::take(&mut e.cart), now, version);
                    Some((Some(e.clone()), i))
                }
            }
            None => {
                let mut cart = Cart::default();
                if f(&mut cart) && !cart.is_empty() {
                    let e = Entry::new(cart, now, version);
                    let (i, _) = copy.map.insert_full(sid.into(), e.clone());
                    super::remember(&mut hint, i);
                    Some((Some(e), i))
                } else {
                    None
                }
            }
        };
        match write {
            Some((entry, i)) => {
                self.stats.writes += 1;
                if let Some(t) = tap {
                    let (ask, ack) = api.write(entry.as_ref().map(Entry::stored), ttl_s);
                    t.round_trip(Hop::NodeStorePrimary, copy_az(self, k), ask, ack);
                }
                self.replicate(now, k, sid, entry, tap.map(|t| t.wire), Some(i));
            }
            None => self.stats.reads += 1,
        }
        Ok(ReadInfo::default())
    }

    /// Serves a read from the copy in `az`, if the shard has one other than
    /// its primary; None sends the read to the primary.
    fn read_copy(
        &mut self,
        now: SimTime,
        k: usize,
        sid: Sid,
        az: AzIx,
        f: &mut dyn FnMut(&mut Cart) -> bool,
        tap: Option<Tap<'_>>,
    ) -> Option<ReadInfo> {
        let ttl = self.cfg.ttl;
        let shard = &mut self.shards[k];
        let i = shard.copies.iter().position(|c| c.az == az)?;
        if shard.primary == Some(i) {
            return None;
        }
        for c in &mut shard.copies {
            c.catch_up(now);
        }
        let newest = shard
            .copies
            .iter()
            .map(|c| c.map.get(&SidKey::from(sid)).map_or(0, |e| e.version))
            .max()
            .unwrap_or(0);
        let held = shard.copies[i]
            .map
            .get(&SidKey::from(sid))
            .filter(|e| now.saturating_sub(e.written) <= ttl);
        let mut cart = held.map_or_else(Cart::default, |e| e.cart.clone());
        if let Some(t) = tap {
            let (ask, answer) = self.cfg.api.read(held.map(Entry::stored));
            t.round_trip(Hop::NodeStoreReplica, az, ask, answer);
        }
        let mine = shard.copies[i]
            .map
            .get(&SidKey::from(sid))
            .map_or(0, |e| e.version);
        f(&mut cart);
        let stale = mine < newest;
        if stale {
            self.stats.stale_reads += 1;
        }
        Some(ReadInfo { stale })
    }

    /// Sends a write to the shard's replicas: the synchronous ones apply it
    /// now, the others after a lag, never overtaking an earlier write. `at`:
    /// where the primary holds (or held) the session.
    fn replicate(
        &mut self,
        now: SimTime,
        k: usize,
        sid: Sid,
        entry: Option<Entry>,
        wire: Option<&Wire>,
        at: Option<usize>,
    ) {
        let at = at
            .filter(|_| self.shards[k].aligned)
            .and_then(|i| u32::try_from(i).ok());
        let sync = self.cfg.sync_replicas;
        let n = self.shards[k].copies.len();
        let p = self.shards[k].primary.expect("a write has a primary");
        if let Some(w) = wire {
            let ttl_s = self.cfg.ttl / SEC;
            let bytes = self
                .cfg
                .api
                .stream(entry.as_ref().map(Entry::stored), ttl_s);
            let from = self.shards[k].copies[p].az;
            for (i, c) in self.shards[k].copies.iter().enumerate() {
                if i != p {
                    w.send(Hop::StoreReplication, from, c.az, bytes);
                }
            }
        }
        self.shards[k].seq += 1;
        let seq = self.shards[k].seq;
        self.shards[k].copies[p].applied = seq;
        let mut rank = 0;
        for i in 0..n {
            if i == p {
                continue;
            }
            let pending = Pending {
                apply_at: now,
                seq,
                sid,
                entry: entry.clone(),
                at,
            };
            if rank < sync {
                rank += 1;
                // A synchronous replica holds every earlier write before it
                // acknowledges this one.
                let c = &mut self.shards[k].copies[i];
                while let Some(p) = c.stream.pop_front() {
                    c.apply(p);
                }
                c.apply(pending);
                continue;
            }
            rank += 1;
            let lag = self.draw_lag();
            let c = &mut self.shards[k].copies[i];
            // Applying what has arrived keeps the queue as short as the lag.
            c.catch_up(now);
            let last = c.stream.back().map_or(0, |b| b.apply_at);
            let apply_at = (now + lag).max(last);
            if apply_at <= now && c.stream.is_empty() {
                c.apply(pending);
            } else {
                c.stream.push_back(Pending {
                    apply_at,
                    ..pending
                });
            }
        }
    }

    /// GET: a copy of the session's cart, None if absent or expired.
    pub fn get(&mut self, now: SimTime, sid: Sid) -> Result<Option<Cart>, Unavailable> {
        let mut out = None;
        self.update(now, sid, None, &mut |c| {
            if !c.is_empty() {
                out = Some(c.clone());
            }
            false
        })?;
        Ok(out)
    }

    /// Nanoseconds before the session expires (TTL restarts on each write);
    /// None if absent or expired. Reads only the primary.
    pub fn ttl_left(&mut self, now: SimTime, sid: Sid) -> Result<Option<u64>, Unavailable> {
        let ttl = self.cfg.ttl;
        let shard = &self.shards[self.shard_of(sid)];
        if shard.state != StoreState::Up {
            return Err(Unavailable);
        }
        let p = shard.primary.ok_or(Unavailable)?;
        Ok(shard.copies[p]
            .map
            .get(&SidKey::from(sid))
            .and_then(|e| ttl.checked_sub(now.saturating_sub(e.written))))
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

    /// SET (or DEL, for an empty cart).
    pub fn set(&mut self, now: SimTime, sid: Sid, cart: &Cart) -> Result<(), Unavailable> {
        self.update(now, sid, None, &mut |c| {
            c.clone_from(cart);
            true
        })
        .map(|_| ())
    }

    /// Every copy in `az` loses power at `now`.
    pub fn kill_az(&mut self, now: SimTime, az: AzIx) -> Blow {
        let mut blow = Blow::default();
        for k in 0..self.shards.len() {
            let hit: Vec<usize> = (0..self.shards[k].copies.len())
                .filter(|&i| self.shards[k].copies[i].az == az)
                .collect();
            for &i in hit.iter().rev() {
                self.kill_copy(now, k, i, &mut blow);
            }
        }
        blow
    }

    /// Shard `k`'s primary fails on its own.
    pub fn kill_primary(&mut self, now: SimTime, k: usize) -> Blow {
        let mut blow = Blow::default();
        if let Some(p) = self.shards[k].primary {
            self.kill_copy(now, k, p, &mut blow);
        }
        blow
    }

    fn kill_copy(&mut self, now: SimTime, k: usize, i: usize, blow: &mut Blow) {
        let failover_after = self.cfg.failover_after;
        let rebuild = self.cfg.rebuild_after;
        let shard = &mut self.shards[k];
        for c in &mut shard.copies {
            c.catch_up(now);
        }
        let was_primary = shard.primary == Some(i);
        let dead = shard.copies.remove(i);
        shard.primary = match shard.primary {
            Some(p) if p > i => Some(p - 1),
            Some(p) if p == i => None,
            other => other,
        };
        if let Some(at) = rebuild.map(|r| now + r) {
            blow.wakes.push(Wake::Rebuild {
                shard: k as u16,
                at,
            });
        }
        if !was_primary {
            blow.replicas += 1;
            return;
        }
        blow.primaries.push(k as u16);
        if shard.copies.is_empty() {
            // Nothing held a copy: every session of the shard is gone.
            blow.loss.sids.extend(dead.map.keys().map(|k| k.sid()));
            shard.state = StoreState::Down;
            blow.down.push(k as u16);
            return;
        }
        // The least-lagged replica will be promoted; what it never received
        // is gone from every surviving copy.
        let best = (0..shard.copies.len())
            .max_by_key(|&j| (shard.copies[j].applied, std::cmp::Reverse(j)))
            .expect("non-empty");
        for p in shard.copies[best].stream.drain(..) {
            blow.loss.writes_lost += 1;
            if !blow.loss.sids.contains(&p.sid) {
                blow.loss.sids.push(p.sid);
            }
        }
        for c in &mut shard.copies {
            c.stream.clear();
        }
        shard.epoch += 1;
        let until = now + failover_after;
        shard.state = StoreState::FailingOver { until };
        blow.wakes.push(Wake::Promote {
            shard: k as u16,
            at: until,
            epoch: shard.epoch,
        });
    }

    /// Promotes shard `k`'s least-lagged replica if the failover started in
    /// `epoch` is still on. Some(AZ) of the new primary, or Some(None) when
    /// nothing was left to promote; None when the wake-up is stale.
    pub fn promote(&mut self, k: usize, epoch: u32) -> Option<Option<AzIx>> {
        let shard = &mut self.shards[k];
        if epoch != shard.epoch || !matches!(shard.state, StoreState::FailingOver { .. }) {
            return None;
        }
        let Some(best) = (0..shard.copies.len())
            .max_by_key(|&j| (shard.copies[j].applied, std::cmp::Reverse(j)))
        else {
            shard.state = StoreState::Down;
            return Some(None);
        };
        // The other replicas resynchronise from the new primary.
        let map = shard.copies[best].map.clone();
        let applied = shard.copies[best].applied;
        for (j, c) in shard.copies.iter_mut().enumerate() {
            if j != best {
                c.map.clone_from(&map);
                c.applied = applied;
            }
        }
        shard.seq = applied;
        shard.aligned = true;
        shard.primary = Some(best);
        shard.state = StoreState::Up;
        self.stats.failovers += 1;
        Some(Some(shard.copies[best].az))
    }

    /// A replacement copy for shard `k`, by a full copy of its primary, in a
    /// live AZ holding no copy of the shard. Returns its AZ, or None if the
    /// shard is whole, has no primary, or every live AZ already holds a copy.
    pub fn rebuild(&mut self, k: usize, alive: &[bool]) -> Option<AzIx> {
        let shard = &mut self.shards[k];
        let p = shard.primary?;
        if shard.copies.len() >= shard.size || shard.state != StoreState::Up {
            return None;
        }
        // Two copies in one AZ would die together: wait for an AZ without one.
        let used = |a: AzIx| shard.copies.iter().any(|c| c.az == a);
        let az = (0..alive.len()).find(|&a| alive[a] && !used(a))?;
        let src = &shard.copies[p];
        let mut copy = Copy::new(az);
        copy.map.clone_from(&src.map);
        copy.applied = src.applied;
        shard.copies.push(copy);
        self.stats.replicas_created += 1;
        Some(az)
    }

    /// Shoppers' sessions (by sid) that a fault's loss names, as a sorted set.
    pub fn lost_set(loss: &StoreLoss) -> std::collections::BTreeSet<Sid> {
        loss.sids.iter().copied().collect()
    }
}

/// A store bound to a moment, as a node sees it during one request.
pub struct StoreAt<'a> {
    pub store: &'a mut Store,
    pub now: SimTime,
    /// An eventually consistent read, served by the copy in this AZ.
    pub read_at: Option<AzIx>,
    /// Filled in: whether the read was stale.
    pub info: ReadInfo,
    /// The node's end of the wire, when its trips are counted.
    pub tap: Option<Tap<'a>>,
    /// Where the session sat in the primary last time, kept by the caller.
    pub hint: Option<&'a mut u32>,
}

impl super::SessionBackend for StoreAt<'_> {
    fn update(
        &mut self,
        sid: Sid,
        f: &mut dyn FnMut(&mut Cart) -> bool,
    ) -> Result<(), Unavailable> {
        self.info = self.store.update_on(
            self.now,
            sid,
            self.read_at,
            f,
            self.tap,
            self.hint.as_deref_mut(),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cart::{Item, price_of};
    use crate::rng::Streams;

    fn cart(p: u32) -> Cart {
        let mut c = Cart::default();
        c.add(Item {
            product: p,
            size: 0,
            colour: 0,
            qty: 1,
            price_cents: price_of(p),
        });
        c
    }

    fn store(primary: AzIx, replicas: &[AzIx], lag: u64, ttl: u64) -> Store {
        Store::new(
            StoreConfig {
                api: StoreApi::Resp,
                shards: vec![Placement {
                    primary,
                    replicas: replicas.to_vec(),
                }],
                lag,
                lag_distribution: ServiceDistribution::Constant,
                sync_replicas: 0,
                failover_after: 100,
                rebuild_after: None,
                ttl,
            },
            Streams::new(1).stream("store"),
        )
    }

    fn promote(s: &mut Store, k: usize) -> Option<Option<AzIx>> {
        let e = s.shards[k].epoch;
        s.promote(k, e)
    }

    #[test]
    fn unreplicated_writes_are_lost_on_failover() {
        let mut s = store(0, &[1], 10, 1_000_000);
        s.set(0, 1, &cart(1)).unwrap();
        s.set(20, 2, &cart(2)).unwrap(); // reaches replica at 30
        let blow = s.kill_primary(25, 0);
        assert_eq!(blow.loss.sids, vec![2]);
        assert_eq!(s.get(50, 1), Err(Unavailable));
        assert_eq!(promote(&mut s, 0), Some(Some(1)));
        assert_eq!(s.get(130, 1).unwrap(), Some(cart(1)));
        assert_eq!(s.get(130, 2).unwrap(), None);
    }

    #[test]
    fn zero_lag_loses_nothing() {
        let mut s = store(0, &[1], 0, 1_000_000);
        s.set(5, 1, &cart(1)).unwrap();
        let blow = s.kill_primary(5, 0);
        assert!(blow.loss.sids.is_empty());
        assert!(promote(&mut s, 0).is_some());
        assert_eq!(s.get(7, 1).unwrap(), Some(cart(1)));
    }

    #[test]
    fn ttl_expires_on_access() {
        let mut s = store(0, &[], 0, 100);
        s.set(0, 1, &cart(1)).unwrap();
        assert!(s.get(100, 1).unwrap().is_some());
        assert!(s.get(101, 1).unwrap().is_none());
    }

    #[test]
    fn active_expiry_frees_every_copy() {
        let mut s = store(0, &[1], 10, 100);
        s.set(0, 1, &cart(1)).unwrap();
        s.set(50, 2, &cart(1)).unwrap();
        // At 120 only session 1 is past its TTL.
        assert_eq!(s.expire(120, None), 1);
        assert_eq!(s.shards[0].copies[0].map.len(), 1);
        // The replica applies the deletion once the stream's lag has passed.
        for c in &mut s.shards[0].copies {
            c.catch_up(200);
        }
        let keys = |c: &Copy| c.map.keys().map(|k| k.sid()).collect::<Vec<_>>();
        assert_eq!(keys(&s.shards[0].copies[1]), vec![2]);
    }

    /// A replica applies each write at the position the primary used, and
    /// ends up holding what the primary holds, in the primary's order while
    /// they are aligned and by content once expiry has moved them apart.
    #[test]
    fn replicas_apply_writes_where_the_primary_holds_them() {
        let mut s = store(0, &[1, 2], 10, 10_000);
        let mut x: u64 = 99;
        let mut t = 0;
        let contents = |c: &Copy| {
            let mut v: Vec<(Sid, Cart)> = c
                .map
                .iter()
                .map(|(k, e)| (k.sid(), e.cart.clone()))
                .collect();
            v.sort_by_key(|e| e.0);
            v
        };
        for round in 0..2 {
            for _ in 0..3_000 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let sid = Sid::from((x >> 33) % 200);
                t += 3;
                // A third of the writes empty the cart, which deletes it.
                let c = if (x >> 20).is_multiple_of(3) {
                    Cart::default()
                } else {
                    cart((x >> 40) as u32 % 50)
                };
                s.set(t, sid, &c).unwrap();
            }
            t += 100;
            for c in &mut s.shards[0].copies {
                c.catch_up(t);
            }
            let keys = |c: &Copy| c.map.keys().copied().collect::<Vec<_>>();
            let copies = &s.shards[0].copies;
            assert!(copies[0].map.len() > 50);
            for c in &copies[1..] {
                if round == 0 {
                    assert!(s.shards[0].aligned);
                    assert!(keys(c) == keys(&copies[0]), "a replica's order differs");
                }
                assert!(
                    contents(c) == contents(&copies[0]),
                    "a replica's sessions differ"
                );
            }
            // Expire the older sessions: the primary keeps its order, the
            // replicas swap their last entries in, and the guesses stop.
            t += 10_000 - 2_000;
            assert!(s.expire(t, None) > 0);
            assert!(!s.shards[0].aligned);
        }
    }

    #[test]
    fn no_replica_means_everything_is_lost() {
        let mut s = store(0, &[], 0, 100);
        s.set(0, 7, &cart(1)).unwrap();
        let blow = s.kill_primary(1, 0);
        assert_eq!(blow.loss.sids, vec![7]);
        assert_eq!(s.state(0), StoreState::Down);
    }

    #[test]
    fn the_least_lagged_replica_is_promoted() {
        let mut s = store(0, &[1, 2], 10, 1_000_000);
        s.set(0, 1, &cart(1)).unwrap();
        // Replica in AZ 2 is cut off from the stream: only AZ 1's copy gets write 2.
        s.shards[0].copies[2].stream.clear();
        s.set(20, 2, &cart(2)).unwrap();
        s.shards[0].copies[2].stream.clear();
        let blow = s.kill_primary(40, 0);
        assert!(blow.loss.sids.is_empty(), "AZ 1's copy had everything");
        assert_eq!(promote(&mut s, 0), Some(Some(1)));
        assert_eq!(s.get(200, 2).unwrap(), Some(cart(2)));
    }

    #[test]
    fn a_replacement_replica_is_a_full_copy() {
        let mut s = store(0, &[1], 0, 1_000_000);
        s.set(0, 1, &cart(1)).unwrap();
        let blow = s.kill_az(5, 1);
        assert_eq!(blow.replicas, 1);
        assert_eq!(
            s.rebuild(0, &[true, false, false]),
            None,
            "no AZ without a copy"
        );
        assert_eq!(s.rebuild(0, &[true, false, true]), Some(2));
        assert_eq!(s.rebuild(0, &[true, false, true]), None, "whole again");
        s.kill_primary(10, 0);
        assert_eq!(promote(&mut s, 0), Some(Some(2)));
        assert_eq!(s.get(20, 1).unwrap(), Some(cart(1)));
    }

    #[test]
    fn a_synchronous_replica_makes_failover_lossless_and_reads_can_be_stale() {
        let mut s = Store::new(
            StoreConfig {
                api: StoreApi::Resp,
                shards: vec![Placement {
                    primary: 0,
                    replicas: vec![1, 2],
                }],
                lag: 1_000,
                lag_distribution: ServiceDistribution::Constant,
                sync_replicas: 1,
                failover_after: 10,
                rebuild_after: None,
                ttl: 1_000_000,
            },
            Streams::new(1).stream("store"),
        );
        s.set(0, 9, &cart(3)).unwrap();
        let mut seen = None;
        let info = s
            .update(5, 9, Some(2), &mut |c| {
                seen = Some(c.clone());
                false
            })
            .unwrap();
        assert!(info.stale, "AZ 2's copy has not applied the write yet");
        assert_eq!(seen, Some(Cart::default()));
        let info = s.update(5, 9, Some(1), &mut |_| false).unwrap();
        assert!(!info.stale, "AZ 1 acknowledged the write");
        let blow = s.kill_az(6, 0);
        assert!(blow.loss.sids.is_empty());
        assert_eq!(promote(&mut s, 0), Some(Some(1)));
        assert_eq!(s.get(20, 9).unwrap(), Some(cart(3)));
    }

    #[test]
    fn sessions_spread_over_shards_by_slot() {
        let mut cfg = store(0, &[], 0, 1).cfg;
        cfg.shards = (0..3)
            .map(|k| Placement {
                primary: k,
                replicas: vec![],
            })
            .collect();
        let s = Store::new(cfg, Streams::new(1).stream("store"));
        let mut counts = [0u32; 3];
        for sid in 0..3000u128 {
            counts[s.shard_of(sid * 0x9e37_79b9_7f4a_7c15)] += 1;
        }
        assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
        assert_eq!(crc16(b"123456789"), 0x31c3, "the XModem check value");
    }
}
