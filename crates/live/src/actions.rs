//! The scenario's actions on the live shop: what `POST /admin/actions`, the
//! old admin paths, `stratus load --scenario` and the dashboard's keys all
//! end in. An action arrives as the model's [`Action`] (checked once, by
//! `ActionEntry::resolve`) and is applied; only `set_arrivals`, which
//! belongs to the shoppers, is refused here (`stratus load` applies it).

use super::cluster::{Cluster, Control, OpError};
use std::sync::Arc;
use stratus_model::core::AzIx;
use stratus_model::scenario::{Action, ActionEntry};
use stratus_model::time::Dur;

impl Cluster {
    /// Checks `entry` against the scenario and applies it; what was done.
    pub fn apply_entry(self: &Arc<Self>, entry: &ActionEntry) -> Result<String, OpError> {
        let action = entry.resolve(&self.sc)?;
        self.apply(&action)
    }

    /// Applies `a` now; what was done, for the caller's answer. An applied
    /// action is marked in the snapshot (and a fault's time kept for the
    /// charts), as the simulation marks an injected one.
    pub fn apply(self: &Arc<Self>, a: &Action) -> Result<String, OpError> {
        let before = self.lock().fleet.desired;
        let done = self.act(a)?;
        let shrinks = matches!(*a, Action::SetDesired { value } if value < before);
        let t_s = self.shop.clock.now() as f64 / stratus_model::time::SEC as f64;
        let mut c = self.lock();
        c.injected.push(t_s);
        if a.is_fault() || shrinks {
            c.faults.push(t_s);
        }
        Ok(done)
    }

    fn act(self: &Arc<Self>, a: &Action) -> Result<String, OpError> {
        let az_name = |az: AzIx| self.sc.region.azs[az].clone();
        match *a {
            Action::KillAz { az } => {
                self.kill_az(az);
                Ok(format!("kill_az {}", az_name(az)))
            }
            Action::RestoreAz { az } => {
                self.restore_az(az);
                Ok(format!("restore_az {}", az_name(az)))
            }
            Action::SetDesired { value } => {
                self.set_desired(value)?;
                Ok(format!("desired capacity {value}"))
            }
            Action::RollingDeploy { batch } => {
                self.rolling_deploy(batch)?;
                Ok("rolling deploy started".into())
            }
            Action::KillStorePrimary => {
                self.kill_store_primary()?;
                Ok("store primary killed; failover in progress".into())
            }
            Action::KillNode { az, count } => Ok(self.kill_nodes(az, count)),
            Action::KillDbPrimary => self.kill_db_primary(),
            Action::BlockLaunches { az, duration } => Ok(self.block_launches(az, duration)),
            Action::PartitionAz { az, duration } => Ok(self.partition_az(az, duration)),
            Action::AddLatency {
                from,
                to,
                delay,
                duration,
            } => Ok(self.add_latency((from, to), delay, duration)),
            Action::KillLbNode { az } => Ok(self.kill_lb_node(az)),
            Action::HangNode { az, count } => Ok(self.hang_nodes(az, count)),
            Action::FisAzPowerInterruption {
                az,
                duration,
                network,
            } => Ok(self.fis(az, duration, network)),
            Action::SetArrivals { .. } => Err(OpError::NotLive {
                action: a.name(),
                why: "the arrival rate belongs to the shoppers, not to the shop: `stratus load --scenario` applies it to its own arrivals",
            }),
        }
    }

    /// `kill_node`: the group's oldest in-service nodes (in `az` if given)
    /// die at once; the group replaces them.
    fn kill_nodes(self: &Arc<Self>, az: Option<AzIx>, count: u32) -> String {
        let mut c = self.lock();
        let ids = c.fleet.oldest_in_service(az, count);
        let names: Vec<String> = ids.iter().map(|&id| self.node_name(&c, id)).collect();
        self.note(&mut c, "kill_node", names.join(", "));
        for id in ids {
            self.kill_node(&mut c, id);
        }
        self.reconcile(&mut c);
        format!("killed {}", names.join(", "))
    }

    /// `block_launches`: the group's launches in `az` fail for `duration`
    /// (for good without one) and go to the other AZs, by the model's
    /// `LaunchBlocks`; when the block runs out, the group catches up there.
    fn block_launches(self: &Arc<Self>, az: AzIx, duration: Option<Dur>) -> String {
        let name = self.sc.region.azs[az].clone();
        let span = duration.map_or(String::new(), |d| format!(" for {d}"));
        let mut c = self.lock();
        self.note(&mut c, "block_launches", format!("{name}{span}"));
        self.block(&mut c, az, duration);
        format!("launches blocked in {name}{span}")
    }

    /// Blocks launches in `az` by the model's `LaunchBlocks`, and when the
    /// block runs out, lets the group catch up there.
    pub(crate) fn block(self: &Arc<Self>, c: &mut Control, az: AzIx, duration: Option<Dur>) {
        let now = self.shop.clock.now();
        let Some(at) = c.blocks.block(az, now, duration.map(|d| d.0)) else {
            return;
        };
        self.at(at, move |me, c| me.unblock(c, az));
    }

    /// A block on `az` that has run out ends: the group catches up there.
    /// Nothing when it already ended or a later block holds.
    pub(crate) fn unblock(self: &Arc<Self>, c: &mut Control, az: AzIx) {
        if c.blocks.heal(az, self.shop.clock.now()) {
            self.note(c, "launches_unblocked", self.sc.region.azs[az].clone());
            self.reconcile(c);
        }
    }

    /// `kill_db_primary`: the database's primary instance fails on its own;
    /// the model's `Database` fails over after its `failover_time`.
    fn kill_db_primary(self: &Arc<Self>) -> Result<String, OpError> {
        let Some(db) = &self.shop.db else {
            return Err(OpError::NotLive {
                action: "kill_db_primary",
                why: "the shop has no database: add a [database] table to the scenario",
            });
        };
        let mut c = self.lock();
        self.note(&mut c, "kill_db_primary", String::new());
        let now = self.shop.clock.now();
        let mut d = db.lock().expect("db lock");
        let Some(p) = d.primary() else {
            return Ok("the database has no primary to kill".into());
        };
        let wakes = d.kill(p, now);
        let inst = &d.instances[p];
        let line = format!("{} ({})", inst.name, self.sc.region.azs[inst.az]);
        drop(d);
        self.note(&mut c, "db_instance_lost", line.clone());
        drop(c);
        self.db_wakes(wakes);
        Ok(format!(
            "database primary {line} killed; failover in progress"
        ))
    }
}
