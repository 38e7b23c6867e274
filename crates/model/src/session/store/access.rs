//! What a node asks of the store: reads and writes (on the primary, or an
//! eventually consistent read on a nearby copy), the replication stream
//! each write starts, and active expiry.

use super::copy::{Entry, Sent};
use super::undo::Change;
use super::{ReadInfo, Shard, Sid, SidKey, Store, StoreState, Unavailable};
use crate::cart::Cart;
use crate::core::AzIx;
use crate::station::ServiceDistribution;
use crate::time::{SEC, SimTime, nearest_ns};
use crate::wire::size::StoreApi;
use crate::wire::{Hop, Tap, Wire};

/// A node's read of `held` (absent, or not `fresh`: no value in the reply)
/// from the copy in `az`, counted on the wire.
fn read_trip(t: Tap<'_>, api: StoreApi, hop: Hop, az: AzIx, held: Option<&Entry>) {
    let (ask, answer) = api.read(held.map(Entry::stored));
    t.round_trip(hop, az, ask, answer);
}

/// What a write did to the primary: the new value's size (None for a
/// deletion), where it landed, and what it replaced, which the replicas hold
/// until the write reaches them.
type Written = (Option<(usize, usize)>, usize, Change);

/// What a node asks of a session: a write's `f`, which may change the cart,
/// or a page's that only looks at it.
pub(super) enum Op<'f> {
    Update(&'f mut dyn FnMut(&mut Cart) -> bool),
    Read(&'f mut dyn FnMut(&Cart)),
}

impl Shard {
    /// Does `op` on `key`'s session in the primary (held at `at`, if
    /// anywhere): a read of a live entry is served where it lies; a write,
    /// or a read that finds the entry expired (and so deletes it), goes
    /// through [`Shard::run`].
    fn act(
        &mut self,
        op: Op<'_>,
        key: SidKey,
        at: Option<usize>,
        now: SimTime,
        ttl: u64,
        hint: &mut Option<&mut u32>,
    ) -> Option<Written> {
        let f = match op {
            Op::Update(f) => return self.run(key, at, now, ttl, f, hint),
            Op::Read(f) => f,
        };
        let held = at.and_then(|i| self.newest.get_index(i)).map(|(_, e)| e);
        if held.is_none_or(|e| e.fresh(now, ttl)) {
            f(held.map_or(&Cart::default(), |e| &e.cart));
            return None;
        }
        let mut look = |c: &mut Cart| {
            f(c);
            false
        };
        self.run(key, at, now, ttl, &mut look, hint)
    }

    /// Runs `f` on a copy of `key`'s cart in the primary (held at `at`, if
    /// anywhere; an empty cart if absent or expired), and makes the write if
    /// `f` reports a change: an empty cart deletes the session. Not yet
    /// numbered or sent.
    fn run(
        &mut self,
        key: SidKey,
        at: Option<usize>,
        now: SimTime,
        ttl: u64,
        f: &mut dyn FnMut(&mut Cart) -> bool,
        hint: &mut Option<&mut u32>,
    ) -> Option<Written> {
        let version = self.seq + 1;
        let Some(i) = at else {
            let mut cart = Cart::default();
            if !f(&mut cart) || cart.is_empty() {
                return None;
            }
            let e = Entry::new(cart, now, version);
            let stored = e.stored();
            let (i, _) = self.newest.insert_full(key, e);
            crate::session::remember(hint, i);
            return Some((Some(stored), i, Change::Inserted));
        };
        let e = self.newest.get_index_mut(i).expect("index just found").1;
        // Expired keys read as absent, as Redis's lazy expiry has it.
        let expired = !e.fresh(now, ttl);
        let mut cart = if expired {
            Cart::default()
        } else {
            e.cart.clone()
        };
        if !(f(&mut cart) || expired) {
            None
        } else if cart.is_empty() {
            let (_, old) = self.newest.swap_remove_index(i).expect("index just found");
            Some((None, i, Change::Removed(old)))
        } else {
            let old = std::mem::replace(e, e.after(cart, now, version));
            Some((Some(e.stored()), i, Change::Overwrote(old)))
        }
    }
}

impl Store {
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
            if shard.primary.is_none() || shard.state != StoreState::Up {
                continue;
            }
            gone.extend(
                shard
                    .newest
                    .iter()
                    .filter(|(_, e)| !e.fresh(now, ttl))
                    .map(|(&key, _)| key),
            );
            total += gone.len();
            // One deletion at a time, as a replica applies them (`retain`
            // would keep an order no replica keeps): a replica is then the
            // primary's state at the last write it applied (`undo`).
            for key in gone.drain(..) {
                let shard = &mut self.shards[k];
                let (i, _, e) = shard.newest.swap_remove_full(&key).expect("just listed");
                shard.made(key, i, Change::Removed(e));
                self.replicate(now, k, None, wire);
            }
        }
        total
    }

    fn draw_lag(&mut self) -> u64 {
        match self.cfg.lag_distribution {
            ServiceDistribution::Constant => self.cfg.lag,
            _ => nearest_ns(self.rng.exp(self.cfg.lag as f64)),
        }
    }

    /// Runs `f` on a copy of the session's cart in the primary (an empty
    /// cart if the session is absent or expired); if `f` reports a change,
    /// the write is made (an empty cart deletes the session) and sent to the
    /// replicas. TTL restarts on each write, as with `SET … EX ttl`.
    pub fn update(
        &mut self,
        now: SimTime,
        sid: Sid,
        f: &mut dyn FnMut(&mut Cart) -> bool,
    ) -> Result<ReadInfo, Unavailable> {
        self.serve(now, sid, None, Op::Update(f), None, None)
    }

    /// Shows `f` the session's cart where it lies (an empty cart if absent
    /// or expired; an expired entry is deleted, as a write's read deletes
    /// it). `read_at`: an eventually consistent read, served by the copy in
    /// that AZ.
    pub fn read(
        &mut self,
        now: SimTime,
        sid: Sid,
        read_at: Option<AzIx>,
        f: &mut dyn FnMut(&Cart),
    ) -> Result<ReadInfo, Unavailable> {
        self.serve(now, sid, read_at, Op::Read(f), None, None)
    }

    /// Serves a node's request on a session, [`Store::update`] or
    /// [`Store::read`] as `op` says, with the node's round trips and the
    /// replication stream it causes counted on `tap`'s wire, finding the
    /// session in the primary where `hint` remembers it first
    /// ([`crate::session::find_hinted`]). `read_at` applies to a read only:
    /// a write goes to the primary.
    pub(super) fn serve(
        &mut self,
        now: SimTime,
        sid: Sid,
        read_at: Option<AzIx>,
        mut op: Op<'_>,
        tap: Option<Tap<'_>>,
        mut hint: Option<&mut u32>,
    ) -> Result<ReadInfo, Unavailable> {
        let k = self.shard_of(sid);
        if let (Some(az), Op::Read(f)) = (read_at, &mut op)
            && let Some(info) = self.read_copy(now, k, sid, az, *f, tap)
        {
            self.stats.reads += 1;
            return Ok(info);
        }
        let ttl = self.cfg.ttl;
        let (api, ttl_s) = (self.cfg.api, ttl / SEC);
        let shard = &mut self.shards[k];
        if shard.state != StoreState::Up {
            return Err(Unavailable);
        }
        let p = shard.primary.ok_or(Unavailable)?;
        let az = shard.copies[p].az;
        let key = SidKey::from(sid);
        let at = crate::session::find_hinted(&shard.newest, key, hint.as_deref().copied());
        if let Some(i) = at {
            crate::session::remember(&mut hint, i);
        }
        if let Some(t) = tap {
            let held = at.and_then(|i| shard.newest.get_index(i)).map(|(_, e)| e);
            read_trip(
                t,
                api,
                Hop::NodeStorePrimary,
                az,
                held.filter(|e| e.fresh(now, ttl)),
            );
        }
        let write = shard.act(op, key, at, now, ttl, &mut hint);
        match write {
            Some((stored, i, change)) => {
                shard.made(key, i, change);
                self.stats.writes += 1;
                if let Some(t) = tap {
                    let (ask, ack) = api.write(stored, ttl_s);
                    t.round_trip(Hop::NodeStorePrimary, az, ask, ack);
                }
                self.replicate(now, k, stored, tap.map(|t| t.wire));
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
        f: &mut dyn FnMut(&Cart),
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
        shard.trim();
        let key = SidKey::from(sid);
        let version = |e: Option<&Entry>| e.map_or(0, |e| e.version);
        let newest = (0..shard.copies.len())
            .map(|j| version(shard.entry_of(j, key)))
            .max()
            .unwrap_or(0);
        let mine = shard.entry_of(i, key);
        let held = mine.filter(|e| e.fresh(now, ttl));
        if let Some(t) = tap {
            read_trip(t, self.cfg.api, Hop::NodeStoreReplica, az, held);
        }
        let stale = version(mine) < newest;
        f(held.map_or(&Cart::default(), |e| &e.cart));
        if stale {
            self.stats.stale_reads += 1;
        }
        Some(ReadInfo { stale })
    }

    /// Sends the shard's latest write (of a value that size, None for a
    /// deletion) to its replicas: the synchronous ones apply it now, the
    /// others after a lag, never overtaking an earlier write.
    fn replicate(
        &mut self,
        now: SimTime,
        k: usize,
        stored: Option<(usize, usize)>,
        wire: Option<&Wire>,
    ) {
        let sync = self.cfg.sync_replicas;
        let shard = &self.shards[k];
        let p = shard.primary.expect("a write has a primary");
        let seq = shard.seq;
        if let Some(w) = wire {
            let bytes = self.cfg.api.stream(stored, self.cfg.ttl / SEC);
            let from = shard.copies[p].az;
            for (i, c) in shard.copies.iter().enumerate() {
                if i != p {
                    w.send(Hop::StoreReplication, from, c.az, bytes);
                }
            }
        }
        self.shards[k].copies[p].applied = seq;
        let n = self.shards[k].copies.len();
        let mut rank = 0;
        for i in 0..n {
            if i == p {
                continue;
            }
            if rank < sync {
                rank += 1;
                // A synchronous replica holds every earlier write before it
                // acknowledges this one.
                let c = &mut self.shards[k].copies[i];
                c.stream.clear();
                c.applied = seq;
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
                c.applied = seq;
            } else {
                c.stream.push_back(Sent { apply_at, seq });
            }
        }
        self.shards[k].trim();
    }

    /// GET: a copy of the session's cart, None if absent or expired.
    pub fn get(&mut self, now: SimTime, sid: Sid) -> Result<Option<Cart>, Unavailable> {
        let mut out = None;
        self.read(now, sid, None, &mut |c| {
            if !c.is_empty() {
                out = Some(c.clone());
            }
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
        shard.primary.ok_or(Unavailable)?;
        Ok(shard
            .newest
            .get(&SidKey::from(sid))
            .and_then(|e| ttl.checked_sub(now.saturating_sub(e.written))))
    }

    /// SET (or DEL, for an empty cart).
    pub fn set(&mut self, now: SimTime, sid: Sid, cart: &Cart) -> Result<(), Unavailable> {
        self.update(now, sid, &mut |c| {
            c.clone_from(cart);
            true
        })
        .map(|_| ())
    }
}
