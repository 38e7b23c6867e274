//! The Redis-like session store: a primary in one AZ, an optional replica in
//! another, asynchronous replication with a lag, and failover by promotion.
//!
//! Replication is a real stream of writes: each write to the primary is queued
//! with the time it reaches the replica and applied, in order, when that time
//! has passed. When the primary dies, the writes still in the stream are
//! dropped, and a promoted replica serves what it had really received.

use super::{OrderedMap, Sid, Unavailable};
use crate::cart::Cart;
use crate::scenario::AzIx;
use crate::time::SimTime;
use std::collections::VecDeque;

#[derive(Clone, Debug)]
struct Entry {
    cart: Cart,
    /// Last write; with `SET … EX ttl` the TTL restarts on each write.
    written: SimTime,
}

#[derive(Debug, Default)]
struct Instance {
    az: AzIx,
    map: OrderedMap<Sid, Entry>,
}

#[derive(Debug)]
struct Pending {
    apply_at: SimTime,
    sid: Sid,
    entry: Option<Entry>,
}

/// The store's state as the nodes see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreState {
    Up,
    /// The primary is gone; the replica is promoted at `until`.
    FailingOver {
        until: SimTime,
    },
    /// No primary and nothing to promote.
    Down,
}

/// What a fault took from the store.
#[derive(Debug, Default)]
pub struct StoreLoss {
    /// Sessions whose latest write never reached a surviving copy.
    pub sids: Vec<Sid>,
    /// Writes dropped from the replication stream.
    pub writes_lost: u64,
}

#[derive(Debug)]
pub struct Store {
    primary: Option<Instance>,
    replica: Option<Instance>,
    stream: VecDeque<Pending>,
    last_apply: SimTime,
    lag: u64,
    ttl: u64,
    pub state: StoreState,
    /// Bumped on each failover so a stale promotion wake-up is ignored.
    pub epoch: u32,
}

impl Store {
    pub fn new(primary_az: AzIx, replica_az: Option<AzIx>, lag: u64, ttl: u64) -> Self {
        Store {
            primary: Some(Instance {
                az: primary_az,
                ..Default::default()
            }),
            replica: replica_az.map(|az| Instance {
                az,
                ..Default::default()
            }),
            stream: VecDeque::new(),
            last_apply: 0,
            lag,
            ttl,
            state: StoreState::Up,
            epoch: 0,
        }
    }

    pub fn primary_az(&self) -> Option<AzIx> {
        self.primary.as_ref().map(|p| p.az)
    }

    pub fn replica_az(&self) -> Option<AzIx> {
        self.replica.as_ref().map(|p| p.az)
    }

    /// Applies every replicated write that has reached the replica by `now`.
    fn catch_up(&mut self, now: SimTime) {
        while let Some(p) = self.stream.front() {
            if p.apply_at > now {
                break;
            }
            let p = self.stream.pop_front().expect("front");
            if let Some(r) = &mut self.replica {
                match p.entry {
                    Some(e) => {
                        r.map.insert(p.sid, e);
                    }
                    None => {
                        r.map.swap_remove(&p.sid);
                    }
                }
            }
        }
    }

    fn primary(&mut self, now: SimTime) -> Result<&mut Instance, Unavailable> {
        if self.state != StoreState::Up {
            return Err(Unavailable);
        }
        self.catch_up(now);
        self.primary.as_mut().ok_or(Unavailable)
    }

    /// Runs `f` on the session's cart in place (an empty cart if the session
    /// is absent or expired); if `f` reports a change, the write is made (an
    /// empty cart deletes the session) and queued for the replica. TTL
    /// restarts on each write, as with `SET … EX ttl`.
    pub fn update(
        &mut self,
        now: SimTime,
        sid: Sid,
        f: &mut dyn FnMut(&mut Cart) -> bool,
    ) -> Result<(), Unavailable> {
        let (ttl, replicated) = (self.ttl, self.replica.is_some());
        let p = self.primary(now)?;
        // Some(write) when the primary's state changed: what the replica must apply.
        let write: Option<Option<Entry>> = match p.map.get_index_of(&sid) {
            Some(i) => {
                let e = p.map.get_index_mut(i).expect("index just found").1;
                let expired = now.saturating_sub(e.written) > ttl;
                if expired {
                    // Expired keys read as absent, as Redis's lazy expiry has it.
                    e.cart.items.clear();
                }
                let changed = f(&mut e.cart) || expired;
                if !changed {
                    None
                } else if e.cart.is_empty() {
                    p.map.swap_remove_index(i);
                    Some(None)
                } else {
                    e.written = now;
                    Some(replicated.then(|| e.clone()))
                }
            }
            None => {
                let mut cart = Cart::default();
                if f(&mut cart) && !cart.is_empty() {
                    let e = Entry { cart, written: now };
                    let copy = replicated.then(|| e.clone());
                    p.map.insert(sid, e);
                    Some(copy)
                } else {
                    None
                }
            }
        };
        if let Some(entry) = write {
            self.replicate(now, sid, entry);
        }
        Ok(())
    }

    /// Queues a write for the replica, in order: a write never overtakes an
    /// earlier one.
    fn replicate(&mut self, now: SimTime, sid: Sid, entry: Option<Entry>) {
        if self.replica.is_none() {
            return;
        }
        let apply_at = (now + self.lag).max(self.last_apply);
        self.last_apply = apply_at;
        self.stream.push_back(Pending {
            apply_at,
            sid,
            entry,
        });
        if self.lag == 0 {
            self.catch_up(now);
        }
    }

    /// GET: a copy of the session's cart, None if absent or expired.
    pub fn get(&mut self, now: SimTime, sid: Sid) -> Result<Option<Cart>, Unavailable> {
        let mut out = None;
        self.update(now, sid, &mut |c| {
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
        let ttl = self.ttl;
        let p = self.primary(now)?;
        Ok(p.map
            .get(&sid)
            .and_then(|e| ttl.checked_sub(now.saturating_sub(e.written))))
    }

    /// SET (or DEL, for an empty cart).
    pub fn set(&mut self, now: SimTime, sid: Sid, cart: &Cart) -> Result<(), Unavailable> {
        self.update(now, sid, &mut |c| {
            c.clone_from(cart);
            true
        })
    }

    /// The primary dies at `now`: its memory and the unreplicated writes are
    /// gone. Returns what was lost; the caller schedules the promotion.
    pub fn kill_primary(&mut self, now: SimTime, failover_after: u64) -> StoreLoss {
        let mut loss = StoreLoss::default();
        let Some(primary) = self.primary.take() else {
            return loss;
        };
        self.catch_up(now);
        if self.replica.is_some() {
            for p in self.stream.drain(..) {
                loss.writes_lost += 1;
                if !loss.sids.contains(&p.sid) {
                    loss.sids.push(p.sid);
                }
            }
            self.epoch += 1;
            self.state = StoreState::FailingOver {
                until: now + failover_after,
            };
        } else {
            loss.sids = primary.map.keys().copied().collect();
            self.state = StoreState::Down;
        }
        loss
    }

    /// The replica dies: nothing a shopper holds is lost, replication stops.
    pub fn kill_replica(&mut self) {
        self.replica = None;
        self.stream.clear();
        if self.primary.is_none() {
            self.state = StoreState::Down;
        }
    }

    /// Promotes the replica if the failover started in `epoch` is still on.
    /// Returns true if a promotion happened.
    pub fn promote(&mut self, now: SimTime, epoch: u32) -> bool {
        if epoch != self.epoch || !matches!(self.state, StoreState::FailingOver { .. }) {
            return false;
        }
        match self.replica.take() {
            Some(r) => {
                self.primary = Some(r);
                self.state = StoreState::Up;
                self.last_apply = now;
                true
            }
            None => {
                self.state = StoreState::Down;
                false
            }
        }
    }
}

/// A store bound to a moment, as a node sees it during one request.
pub struct StoreAt<'a> {
    pub store: &'a mut Store,
    pub now: SimTime,
}

impl super::SessionBackend for StoreAt<'_> {
    fn update(
        &mut self,
        sid: Sid,
        f: &mut dyn FnMut(&mut Cart) -> bool,
    ) -> Result<(), Unavailable> {
        self.store.update(self.now, sid, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cart::{Item, price_of};

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

    #[test]
    fn unreplicated_writes_are_lost_on_failover() {
        let mut s = Store::new(0, Some(1), 10, 1_000_000);
        s.set(0, 1, &cart(1)).unwrap();
        s.set(20, 2, &cart(2)).unwrap(); // reaches replica at 30
        let loss = s.kill_primary(25, 100);
        assert_eq!(loss.sids, vec![2]);
        assert_eq!(s.get(50, 1), Err(Unavailable));
        assert!(s.promote(125, s.epoch));
        assert_eq!(s.get(130, 1).unwrap(), Some(cart(1)));
        assert_eq!(s.get(130, 2).unwrap(), None);
    }

    #[test]
    fn zero_lag_loses_nothing() {
        let mut s = Store::new(0, Some(1), 0, 1_000_000);
        s.set(5, 1, &cart(1)).unwrap();
        let loss = s.kill_primary(5, 1);
        assert!(loss.sids.is_empty());
        assert!(s.promote(6, s.epoch));
        assert_eq!(s.get(7, 1).unwrap(), Some(cart(1)));
    }

    #[test]
    fn ttl_expires_on_access() {
        let mut s = Store::new(0, None, 0, 100);
        s.set(0, 1, &cart(1)).unwrap();
        assert!(s.get(100, 1).unwrap().is_some());
        assert!(s.get(101, 1).unwrap().is_none());
    }

    #[test]
    fn no_replica_means_everything_is_lost() {
        let mut s = Store::new(0, None, 0, 100);
        s.set(0, 7, &cart(1)).unwrap();
        let loss = s.kill_primary(1, 10);
        assert_eq!(loss.sids, vec![7]);
        assert_eq!(s.state, StoreState::Down);
    }
}
