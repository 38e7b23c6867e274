//! A plain model of one shard for the store's tests: every copy a full map of
//! its own that applies the primary's writes as they reach it, the way the
//! store held its replicas before they became the primary's state at an
//! earlier write. A property test runs both on random histories and holds
//! the store to it: every answer, every loss, and every copy's sessions in
//! its order.

use super::copy::Entry;
use super::{Blow, ReadInfo, StoreConfig, StoreState, Unavailable, Wake};
use crate::cart::Cart;
use crate::core::AzIx;
use crate::rng::Rng;
use crate::session::{OrderedMap, Sid, SidKey};
use crate::station::ServiceDistribution;
use crate::time::SimTime;
use std::collections::VecDeque;

/// One session in a copy: (session, cart, written, version, stored length).
pub(super) type Row = (Sid, Cart, SimTime, u64, u32);

struct Copy {
    az: AzIx,
    map: OrderedMap<SidKey, Entry>,
    /// (arrives at, write number, session, value; None deletes).
    stream: VecDeque<(SimTime, u64, Sid, Option<Entry>)>,
    applied: u64,
}

impl Copy {
    fn apply(&mut self, seq: u64, sid: Sid, value: Option<Entry>) {
        match value {
            Some(e) => {
                self.map.insert(SidKey::from(sid), e);
            }
            None => {
                self.map.swap_remove(&SidKey::from(sid));
            }
        }
        self.applied = seq;
    }

    fn catch_up(&mut self, now: SimTime) {
        while self.stream.front().is_some_and(|w| w.0 <= now) {
            let (_, seq, sid, value) = self.stream.pop_front().expect("front");
            self.apply(seq, sid, value);
        }
    }
}

/// A shard of the plain model (the test uses the store's first shard).
pub(super) struct Naive {
    copies: Vec<Copy>,
    primary: Option<usize>,
    pub(super) state: StoreState,
    pub(super) epoch: u32,
    seq: u64,
    size: usize,
    cfg: StoreConfig,
    rng: Rng,
}

impl Naive {
    pub(super) fn new(cfg: StoreConfig, rng: Rng) -> Naive {
        let p = &cfg.shards[0];
        let azs = std::iter::once(p.primary).chain(p.replicas.iter().copied());
        let copies: Vec<Copy> = azs
            .map(|az| Copy {
                az,
                map: OrderedMap::default(),
                stream: VecDeque::new(),
                applied: 0,
            })
            .collect();
        Naive {
            size: copies.len(),
            copies,
            primary: Some(0),
            state: StoreState::Up,
            epoch: 0,
            seq: 0,
            cfg,
            rng,
        }
    }

    /// Every copy: (AZ, last write applied, its sessions in order).
    pub(super) fn copies(&self) -> Vec<(AzIx, u64, Vec<Row>)> {
        let rows = |c: &Copy| {
            c.map
                .iter()
                .map(|(k, e)| (k.sid(), e.cart.clone(), e.written, e.version, e.len))
                .collect()
        };
        self.copies
            .iter()
            .map(|c| (c.az, c.applied, rows(c)))
            .collect()
    }

    pub(super) fn primary_az(&self) -> Option<AzIx> {
        self.primary.map(|p| self.copies[p].az)
    }

    fn fresh(&self, now: SimTime, e: &Entry) -> bool {
        now.saturating_sub(e.written) <= self.cfg.ttl
    }

    pub(super) fn update(
        &mut self,
        now: SimTime,
        sid: Sid,
        read_at: Option<AzIx>,
        f: &mut dyn FnMut(&mut Cart) -> bool,
    ) -> Result<ReadInfo, Unavailable> {
        if let Some(az) = read_at
            && let Some(i) = self.copies.iter().position(|c| c.az == az)
            && self.primary != Some(i)
        {
            for c in &mut self.copies {
                c.catch_up(now);
            }
            let key = SidKey::from(sid);
            let version = |c: &Copy| c.map.get(&key).map_or(0, |e| e.version);
            let newest = self.copies.iter().map(version).max().unwrap_or(0);
            let held = self.copies[i].map.get(&key).filter(|e| self.fresh(now, e));
            let mut cart = held.map_or_else(Cart::default, |e| e.cart.clone());
            f(&mut cart);
            let stale = version(&self.copies[i]) < newest;
            return Ok(ReadInfo { stale });
        }
        if self.state != StoreState::Up {
            return Err(Unavailable);
        }
        let p = self.primary.ok_or(Unavailable)?;
        let key = SidKey::from(sid);
        let mut cart = match self.copies[p].map.get(&key) {
            Some(e) if self.fresh(now, e) => e.cart.clone(),
            _ => Cart::default(),
        };
        let expired = self.copies[p]
            .map
            .get(&key)
            .is_some_and(|e| !self.fresh(now, e));
        let changed = f(&mut cart) || expired;
        let had = self.copies[p].map.contains_key(&key);
        if !changed || (!had && cart.is_empty()) {
            return Ok(ReadInfo::default());
        }
        let value = (!cart.is_empty()).then(|| Entry::new(cart, now, self.seq + 1));
        self.write(now, sid, value);
        Ok(ReadInfo::default())
    }

    /// The primary takes a write and sends it to every replica.
    fn write(&mut self, now: SimTime, sid: Sid, value: Option<Entry>) {
        let p = self.primary.expect("a write has a primary");
        self.seq += 1;
        let seq = self.seq;
        self.copies[p].apply(seq, sid, value.clone());
        let mut rank = 0;
        for i in (0..self.copies.len()).filter(|&i| i != p) {
            if rank < self.cfg.sync_replicas {
                rank += 1;
                let c = &mut self.copies[i];
                while let Some((_, s, sid, v)) = c.stream.pop_front() {
                    c.apply(s, sid, v);
                }
                c.apply(seq, sid, value.clone());
                continue;
            }
            rank += 1;
            let lag = match self.cfg.lag_distribution {
                ServiceDistribution::Constant => self.cfg.lag,
                _ => self.rng.exp(self.cfg.lag as f64).round() as u64,
            };
            let c = &mut self.copies[i];
            c.catch_up(now);
            let last = c.stream.back().map_or(0, |w| w.0);
            let at = (now + lag).max(last);
            if at <= now && c.stream.is_empty() {
                c.apply(seq, sid, value.clone());
            } else {
                c.stream.push_back((at, seq, sid, value.clone()));
            }
        }
    }

    pub(super) fn expire(&mut self, now: SimTime) -> usize {
        let Some(p) = self.primary.filter(|_| self.state == StoreState::Up) else {
            return 0;
        };
        let gone: Vec<Sid> = self.copies[p]
            .map
            .iter()
            .filter(|(_, e)| !self.fresh(now, e))
            .map(|(k, _)| k.sid())
            .collect();
        for &sid in &gone {
            self.write(now, sid, None);
        }
        gone.len()
    }

    pub(super) fn kill_az(&mut self, now: SimTime, az: AzIx) -> Blow {
        let mut blow = Blow::default();
        let hit: Vec<usize> = (0..self.copies.len())
            .filter(|&i| self.copies[i].az == az)
            .collect();
        for &i in hit.iter().rev() {
            self.kill(now, i, &mut blow);
        }
        blow
    }

    pub(super) fn kill_primary(&mut self, now: SimTime) -> Blow {
        let mut blow = Blow::default();
        if let Some(p) = self.primary {
            self.kill(now, p, &mut blow);
        }
        blow
    }

    fn kill(&mut self, now: SimTime, i: usize, blow: &mut Blow) {
        for c in &mut self.copies {
            c.catch_up(now);
        }
        let dead = self.copies.remove(i);
        let was_primary = self.primary == Some(i);
        self.primary = match self.primary {
            Some(p) if p > i => Some(p - 1),
            Some(p) if p == i => None,
            other => other,
        };
        if let Some(r) = self.cfg.rebuild_after {
            blow.wakes.push(Wake::Rebuild {
                shard: 0,
                at: now + r,
            });
        }
        if !was_primary {
            blow.replicas += 1;
            return;
        }
        blow.primaries.push(0);
        if self.copies.is_empty() {
            blow.loss.sids.extend(dead.map.keys().map(|k| k.sid()));
            self.state = StoreState::Down;
            blow.down.push(0);
            return;
        }
        let best = self.best().expect("non-empty");
        for (_, _, sid, _) in self.copies[best].stream.drain(..) {
            blow.loss.writes_lost += 1;
            if !blow.loss.sids.contains(&sid) {
                blow.loss.sids.push(sid);
            }
        }
        for c in &mut self.copies {
            c.stream.clear();
        }
        self.epoch += 1;
        let until = now + self.cfg.failover_after;
        self.state = StoreState::FailingOver { until };
        blow.wakes.push(Wake::Promote {
            shard: 0,
            at: until,
            epoch: self.epoch,
        });
    }

    fn best(&self) -> Option<usize> {
        (0..self.copies.len()).max_by_key(|&j| (self.copies[j].applied, std::cmp::Reverse(j)))
    }

    pub(super) fn promote(&mut self, epoch: u32) -> Option<Option<AzIx>> {
        if epoch != self.epoch || !matches!(self.state, StoreState::FailingOver { .. }) {
            return None;
        }
        let Some(best) = self.best() else {
            self.state = StoreState::Down;
            return Some(None);
        };
        let map = self.copies[best].map.clone();
        let applied = self.copies[best].applied;
        for c in &mut self.copies {
            c.map.clone_from(&map);
            c.applied = applied;
        }
        self.seq = applied;
        self.primary = Some(best);
        self.state = StoreState::Up;
        Some(Some(self.copies[best].az))
    }

    pub(super) fn rebuild(&mut self, alive: &[bool]) -> Option<AzIx> {
        let p = self.primary?;
        if self.copies.len() >= self.size || self.state != StoreState::Up {
            return None;
        }
        let used = |a: AzIx| self.copies.iter().any(|c| c.az == a);
        let az = (0..alive.len()).find(|&a| alive[a] && !used(a))?;
        let copy = Copy {
            az,
            map: self.copies[p].map.clone(),
            stream: VecDeque::new(),
            applied: self.copies[p].applied,
        };
        self.copies.push(copy);
        Some(az)
    }
}
