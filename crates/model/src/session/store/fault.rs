//! What the store does when copies die: the loss counted from the writes
//! that never reached a survivor, failover by promoting the least-lagged
//! replica, and a replacement replica rebuilt by a full copy.

use super::copy::Copy;
use super::{Sid, Store, StoreState};
use crate::core::AzIx;
use crate::time::SimTime;

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

impl Store {
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
        shard.copies.remove(i);
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
            shard.trim();
            return;
        }
        blow.primaries.push(k as u16);
        if shard.copies.is_empty() {
            // Nothing held a copy: every session of the shard is gone.
            blow.loss.sids.extend(shard.newest.keys().map(|k| k.sid()));
            shard.trim();
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
            let sid = shard
                .log
                .sid_of(p.seq)
                .expect("a write not applied is logged");
            if !blow.loss.sids.contains(&sid) {
                blow.loss.sids.push(sid);
            }
        }
        for c in &mut shard.copies {
            c.stream.clear();
        }
        shard.trim();
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
        // What the new primary never received is gone; the other replicas
        // resynchronise from it.
        let applied = shard.copies[best].applied;
        shard.log.rewind(&mut shard.newest, applied);
        for c in &mut shard.copies {
            c.applied = applied;
        }
        shard.trim();
        shard.seq = applied;
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
        let applied = shard.copies[p].applied;
        shard.copies.push(Copy::new(az, applied));
        self.stats.replicas_created += 1;
        Some(az)
    }

    /// Shoppers' sessions (by sid) that a fault's loss names, as a sorted set.
    pub fn lost_set(loss: &StoreLoss) -> std::collections::BTreeSet<Sid> {
        loss.sids.iter().copied().collect()
    }
}
