//! What a node asks of the store: reads and writes (on the primary, or an
//! eventually consistent read on a nearby copy), the replication stream
//! each write starts, and active expiry.

use super::copy::{Copy, Entry, Pending};
use super::{ReadInfo, Sid, SidKey, Store, StoreState, Unavailable};
use crate::cart::Cart;
use crate::core::AzIx;
use crate::station::ServiceDistribution;
use crate::time::{SEC, SimTime};
use crate::wire::size::StoreApi;
use crate::wire::{Hop, Tap, Wire};

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
            let Some(p) = shard.primary.filter(|_| shard.state == StoreState::Up) else {
                continue;
            };
            let map = &mut shard.copies[p].map;
            gone.extend(
                map.iter()
                    .filter(|(_, e)| now.saturating_sub(e.written) > ttl)
                    .map(|(&key, _)| key),
            );
            total += gone.len();
            // One deletion at a time, as each replica applies them: every
            // copy keeps the primary's order, so a write's position in the
            // primary is where each replica holds the session too.
            for key in gone.drain(..) {
                let map = &mut self.shards[k].copies[p].map;
                let (i, _, _) = map.swap_remove_full(&key).expect("just listed");
                self.replicate(now, k, key.sid(), None, wire, Some(i));
            }
        }
        total
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
    /// primary where `hint` remembers it first ([`crate::session::find_hinted`]).
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
        let at =
            crate::session::find_hinted(&copy.map, SidKey::from(sid), hint.as_deref().copied());
        if let Some(i) = at {
            crate::session::remember(&mut hint, i);
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
                    crate::session::remember(&mut hint, i);
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
        let at = at.and_then(|i| u32::try_from(i).ok());
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

    /// SET (or DEL, for an empty cart).
    pub fn set(&mut self, now: SimTime, sid: Sid, cart: &Cart) -> Result<(), Unavailable> {
        self.update(now, sid, None, &mut |c| {
            c.clone_from(cart);
            true
        })
        .map(|_| ())
    }
}
