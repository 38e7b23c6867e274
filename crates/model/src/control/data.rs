//! The data tier's faults and repairs: the session store's failovers and
//! replacement replicas, the cache nodes and database instances an AZ takes
//! down, and the database's failover and new standby.

use super::{ControlPlane, DataTier, Effect, Timer};
use crate::core::AzIx;
use crate::db::{DbIx, Promotion, Wake as DbWake};
use crate::scenario::Strategy;
use crate::session::store::{Blow, Wake};

impl ControlPlane {
    /// " shard 2" (" partition 2" for the durable table) when the store has
    /// several shards, else nothing.
    fn shard_label(&self, shards: usize, shard: u16) -> String {
        if shards > 1 {
            let word = if self.strategy == Strategy::Durable {
                "partition"
            } else {
                "shard"
            };
            format!(" {word} {shard}")
        } else {
            String::new()
        }
    }

    /// Applies what a store fault did: drops, failovers and later wake-ups,
    /// charging `fault` with the carts whose latest write is gone.
    pub(super) fn store_blow(&mut self, blow: Blow, fault: usize, tier: &mut dyn DataTier) {
        let shards = tier.data().store.shards();
        let what = self.strategy.store_word();
        let lines = blow.events(what, &|k| self.shard_label(shards, k));
        self.out.push(Effect::StoreLoss {
            fault,
            loss: blow.loss,
        });
        for (kind, line) in lines {
            self.log(kind, line);
        }
        for w in blow.wakes {
            let (at, timer) = match w {
                Wake::Promote { shard, at, epoch } => (at, Timer::StorePromote { shard, epoch }),
                Wake::Rebuild { shard, at } => (at, Timer::StoreRebuild { shard }),
            };
            self.wake(at, timer);
        }
    }

    pub(super) fn kill_store_primary(&mut self, fault: usize, tier: &mut dyn DataTier) {
        let store = tier.data().store;
        if store.primary_az(0).is_none() {
            return;
        }
        let blow = store.kill_primary(self.now, 0);
        self.store_blow(blow, fault, tier);
    }

    pub(super) fn store_promote(&mut self, shard: u16, epoch: u32, tier: &mut dyn DataTier) {
        let store = tier.data().store;
        let shards = store.shards();
        let promoted = store.promote(shard as usize, epoch);
        let what = self.strategy.store_word();
        let label = self.shard_label(shards, shard);
        match promoted {
            Some(Some(az)) => {
                let az = self.az_name(az);
                let line = format!("{what}{label}: replica in {az} is the new primary");
                self.log("store_promoted", line);
            }
            Some(None) => {
                let line = format!("{what}{label}: no replica to promote");
                self.log("store_down", line);
            }
            None => {}
        }
    }

    pub(super) fn store_rebuild(&mut self, shard: u16, tier: &mut dyn DataTier) {
        let alive = self.net.usable(&self.alive);
        let store = tier.data().store;
        let shards = store.shards();
        if let Some(az) = store.rebuild(shard as usize, &alive) {
            let what = self.strategy.store_word();
            let label = self.shard_label(shards, shard);
            let az = self.az_name(az);
            let line = format!("{what}{label}: a replacement replica in {az}");
            self.log("store_replica_created", line);
        }
    }

    /// Instance `i` stops; the queries on it fail when the nodes' drivers
    /// time out (the driver's part: [`Effect::DbDown`]).
    fn kill_db_instance(&mut self, i: DbIx, tier: &mut dyn DataTier) {
        let data = tier.data();
        let Some(db) = data.db else { return };
        let victims = db.in_flight(i);
        let wakes = db.kill(i, self.now);
        let (name, az) = (db.instances[i].name.clone(), db.instances[i].az);
        self.out.push(Effect::DbDown { inst: i, victims });
        self.log("db_instance_lost", format!("{name} ({})", self.az_name(az)));
        self.db_wakes(wakes);
    }

    fn db_wakes(&mut self, wakes: Vec<DbWake>) {
        for w in wakes {
            let (at, timer) = match w {
                DbWake::Promote { at, epoch } => (at, Timer::DbPromote { epoch }),
                DbWake::NewStandby { at, epoch } => (at, Timer::DbStandby { epoch }),
            };
            self.wake(at, timer);
        }
    }

    /// The database primary fails on its own (`kill_db_primary`).
    pub(super) fn kill_db_primary(&mut self, tier: &mut dyn DataTier) {
        let primary = tier.data().db.and_then(|d| d.primary());
        if let Some(p) = primary {
            self.kill_db_instance(p, tier);
        }
    }

    /// Everything of the data tier in `az` loses power: the cache nodes lose
    /// their keys, the database instances stop.
    pub(super) fn kill_data_az(&mut self, az: AzIx, tier: &mut dyn DataTier) {
        if let Some(c) = tier.data().cache {
            let before = c.stats.keys_lost;
            c.kill_az(az);
            let lost = c.stats.keys_lost - before;
            if c.nodes.iter().any(|n| n.az == az) {
                let line = format!("{} ({lost} keys)", self.az_name(az));
                self.log("cache_node_lost", line);
            }
        }
        let victims = match tier.data().db {
            Some(db) => db.alive_in(az),
            None => return,
        };
        for i in victims {
            self.kill_db_instance(i, tier);
        }
    }

    pub(super) fn restore_data_az(&mut self, az: AzIx, tier: &mut dyn DataTier) {
        let data = tier.data();
        if let Some(c) = data.cache {
            c.restore_az(az);
        }
        if let Some(db) = data.db {
            db.restore_az(az, self.now);
        }
    }

    pub(super) fn db_promote(&mut self, epoch: u32, tier: &mut dyn DataTier) {
        let Some(db) = tier.data().db else { return };
        if let Some((done, wakes)) = db.promote(self.now, epoch) {
            let (kind, line) = Promotion::event(done.as_ref(), &self.azs);
            self.log(kind, line);
            self.db_wakes(wakes);
        }
    }

    pub(super) fn db_standby(&mut self, epoch: u32, tier: &mut dyn DataTier) {
        let Some(db) = tier.data().db else { return };
        if let Some(name) = db.new_standby(epoch, &self.alive) {
            let az = db.instances.last().map_or(0, |i| i.az);
            let line = format!("{name} ({})", self.az_name(az));
            self.log("db_standby_created", line);
        }
    }
}
