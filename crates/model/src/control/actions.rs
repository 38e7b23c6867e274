//! The timeline's actions, AZ power, and the network faults (partitions,
//! added latency, blocked launches, balancer nodes), including the FIS AZ
//! power interruption that strings several of them together, and the
//! timers that end them.

use super::{ControlPlane, DataTier, Effect, Heal, Timer};
use crate::core::{AzIx, NodeId};
use crate::fis;
use crate::scenario::Action;
use crate::time::Dur;

impl ControlPlane {
    pub(super) fn action(&mut self, action: &Action, tier: &mut dyn DataTier) {
        let name = action.name();
        match *action {
            Action::KillAz { az } => {
                self.log(name, self.az_name(az));
                let f = self.fault(name);
                self.power_off(az, f, tier);
            }
            Action::RestoreAz { az } => {
                self.log(name, self.az_name(az));
                self.power_on(az, tier);
            }
            Action::KillNode { az, count } => {
                let ids = self.fleet.oldest_in_service(az, count);
                self.log(name, self.node_names(&ids));
                let f = self.fault(name);
                for id in ids {
                    self.kill_node(id, f);
                }
                self.reconcile(Some(f));
            }
            Action::SetDesired { value } => {
                self.log(name, value.to_string());
                let scale_in = value < self.fleet.counted();
                self.fleet.desired = value;
                let f = scale_in.then(|| self.fault(name));
                self.reconcile(f);
            }
            Action::RollingDeploy { batch } => {
                let fault = self.fault(name);
                let (version, batch) = self.fleet.begin_deploy(batch, fault);
                self.log(name, format!("version {version}, {batch} at a time"));
                self.deploy_step();
            }
            Action::KillStorePrimary => {
                let az = tier.data().store.primary_az(0);
                self.log(name, az.map(|a| self.az_name(a)).unwrap_or_default());
                let f = self.fault(name);
                self.kill_store_primary(f, tier);
            }
            Action::KillDbPrimary => {
                self.log(name, String::new());
                self.fault(name);
                self.kill_db_primary(tier);
            }
            Action::SetArrivals { value } => {
                self.log(name, format!("{value}/s"));
                self.out.push(Effect::Arrivals { value });
            }
            Action::InjectErrors { .. } | Action::SlowNode { .. } | Action::SlowAz { .. } => {
                self.gray_action(action)
            }
            _ => self.network_action(action, tier),
        }
    }

    /// The timeline's network and HA actions.
    fn network_action(&mut self, action: &Action, tier: &mut dyn DataTier) {
        let name = action.name();
        match *action {
            Action::PartitionAz { az, duration } => {
                self.log(name, format!("{} for {duration}", self.az_name(az)));
                self.fault(name);
                self.partition(az, duration);
            }
            Action::AddLatency {
                from,
                to,
                delay,
                duration,
            } => {
                let span = duration.map_or(String::new(), |d| format!(" for {d}"));
                let (from_name, to_name) = (from.name(&self.azs), to.name(&self.azs));
                self.log(name, format!("+{delay} {from_name} ↔ {to_name}{span}"));
                let handle = self.net.add_latency(from, to, delay.0) as u16;
                self.out.push(Effect::Net);
                if let Some(d) = duration {
                    let heal = Timer::Heal(Heal::Latency { handle });
                    self.wake(self.now + d.0, heal);
                }
            }
            Action::BlockLaunches { az, duration } => {
                let span = duration.map_or(String::new(), |d| format!(" for {d}"));
                self.log(name, format!("{}{span}", self.az_name(az)));
                self.block(az, duration);
            }
            Action::KillLbNode { az } => {
                self.log(name, self.az_name(az));
                self.fault(name);
                self.net.lb_up[az] = false;
                self.out.push(Effect::Net);
            }
            Action::HangNode { az, count } => {
                let ids = self.fleet.oldest_in_service(az, count);
                self.log(name, self.node_names(&ids));
                self.fault(name);
                for id in ids {
                    self.hang(id);
                }
            }
            Action::FisAzPowerInterruption {
                az,
                duration,
                network,
            } => self.fis(az, duration, network, tier),
            _ => unreachable!("the other actions are the group's and the data tier's"),
        }
    }

    /// Power leaves an AZ: its nodes, its balancer node, and its store,
    /// cache and database instances stop. Charged to `fault`.
    fn power_off(&mut self, az: AzIx, fault: usize, tier: &mut dyn DataTier) {
        if !self.alive[az] {
            return;
        }
        self.alive[az] = false;
        self.net.lb_up[az] = false;
        self.out.push(Effect::Net);
        let victims: Vec<NodeId> = self
            .fleet
            .nodes
            .iter()
            .filter(|n| n.az == az)
            .map(|n| n.id)
            .collect();
        for id in victims {
            self.kill_node(id, fault);
        }
        let blow = tier.data().store.kill_az(self.now, az);
        self.store_blow(blow, fault, tier);
        self.kill_data_az(az, tier);
        self.reconcile(Some(fault));
    }

    /// Power returns to an AZ: its balancer node and data instances come
    /// back, and the group rebalances into it.
    fn power_on(&mut self, az: AzIx, tier: &mut dyn DataTier) {
        self.alive[az] = true;
        self.net.lb_up[az] = true;
        self.out.push(Effect::Net);
        self.restore_data_az(az, tier);
        // Replacements that waited for an AZ without a copy can go here now.
        let shards = tier.data().store.shards();
        for k in 0..shards {
            self.store_rebuild(k as u16, tier);
        }
        self.reconcile(None);
        self.start_rebalance();
    }

    fn partition(&mut self, az: AzIx, duration: Dur) {
        self.net.partitioned[az] = true;
        self.out.push(Effect::Net);
        let heal = Timer::Heal(Heal::Partition { az: az as u8 });
        self.wake(self.now + duration.0, heal);
    }

    fn block(&mut self, az: AzIx, duration: Option<Dur>) {
        if let Some(at) = self.blocks.block(az, self.now, duration.map(|d| d.0)) {
            self.wake(at, Timer::Heal(Heal::Launches { az: az as u8 }));
        }
    }

    /// AWS FIS's AZ Availability: Power Interruption, step by step, each
    /// step logged under its own name at its own time.
    fn fis(&mut self, az: AzIx, duration: Dur, network: Dur, tier: &mut dyn DataTier) {
        let name = self.az_name(az);
        let data = tier.data();
        let db_writer_here = data
            .db
            .as_ref()
            .and_then(|db| db.primary().map(|p| db.instances[p].az == az))
            .unwrap_or(false);
        let uses_store = self.strategy.uses_store();
        let store_primaries_here = (0..data.store.shards())
            .filter(|&k| uses_store && data.store.primary_az(k) == Some(az))
            .count();
        let lines = fis::start_lines(&fis::Start {
            az: &name,
            duration,
            network,
            app_nodes: self.fleet.counted_in(az),
            db_writer_here,
            store_primaries_here,
            store_word: self.strategy.store_word(),
        });
        for (kind, line) in lines {
            self.log(kind, line);
        }
        let f = self.fault("fis_az_power_interruption");
        self.block(az, Some(duration));
        self.partition(az, network);
        self.power_off(az, f, tier);
        let heal = Timer::Heal(Heal::Power { az: az as u8 });
        self.wake(self.now + duration.0, heal);
    }

    pub(super) fn heal(&mut self, what: Heal, tier: &mut dyn DataTier) {
        match what {
            Heal::Partition { az } => {
                let az = az as usize;
                self.net.partitioned[az] = false;
                self.out.push(Effect::Net);
                let kind = if self.alive[az] {
                    "partition_healed"
                } else {
                    "fis_connectivity_restored"
                };
                self.log(kind, self.az_name(az));
            }
            Heal::Launches { az } => {
                let az = az as usize;
                if self.blocks.heal(az, self.now) {
                    self.log("launches_unblocked", self.az_name(az));
                    self.reconcile(None);
                }
            }
            Heal::Latency { handle } => {
                self.net.remove_latency(handle as usize);
                self.out.push(Effect::Net);
                self.log("latency_removed", String::new());
            }
            Heal::Power { az } => {
                let az = az as usize;
                let (kind, line) = fis::end_line(&self.az_name(az));
                self.log(kind, line);
                self.blocks.clear(az);
                self.power_on(az, tier);
            }
            Heal::Degraded { handle } => self.end_gray(handle),
        }
    }
}
