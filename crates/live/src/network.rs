//! The timeline's network actions on the live shop: partitions, added
//! latency, balancer nodes, hung applications and the FIS AZ power
//! interruption. What they change is the model's `Net` (read by the
//! balancer, the health checks and the nodes on every request) and the
//! fleet's node states; this file keeps the timers that undo them and logs
//! each step under the simulation's names.

use super::cluster::{Cluster, Control};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use stratus_model::core::AzIx;
use stratus_model::fis;
use stratus_model::node::NodeState;
use stratus_model::scenario::Place;
use stratus_model::time::{Dur, SimTime};

impl Cluster {
    /// Runs `f` under the control lock at time `at` (a timer, not a poll).
    pub(crate) fn at(
        self: &Arc<Self>,
        at: SimTime,
        f: impl FnOnce(&Arc<Cluster>, &mut Control) + Send + 'static,
    ) {
        let me = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(me.shop.clock.instant(at)).await;
            let mut c = me.lock();
            f(&me, &mut c);
        });
    }

    /// `partition_az`: the AZ is cut off from the others and the internet
    /// for `duration`; its instances keep running.
    pub(crate) fn partition_az(self: &Arc<Self>, az: AzIx, duration: Dur) -> String {
        let mut c = self.lock();
        let line = format!("{} for {duration}", self.sc.region.azs[az]);
        self.note(&mut c, "partition_az", line.clone());
        self.partition(az, duration);
        format!("partitioned {line}")
    }

    fn partition(self: &Arc<Self>, az: AzIx, duration: Dur) {
        self.shop.net.write().expect("net lock").partitioned[az] = true;
        let end = self.shop.clock.now() + duration.0;
        self.at(end, move |me, c| {
            me.shop.net.write().expect("net lock").partitioned[az] = false;
            let kind = if c.alive[az] {
                "partition_healed"
            } else {
                "fis_connectivity_restored"
            };
            me.note(c, kind, me.sc.region.azs[az].clone());
        });
    }

    /// `add_latency`: `delay` more each way between two places, for
    /// `duration` or for good; the balancer and the nodes wait it out.
    pub(crate) fn add_latency(
        self: &Arc<Self>,
        (from, to): (Place, Place),
        delay: Dur,
        duration: Option<Dur>,
    ) -> String {
        let azs = &self.sc.region.azs;
        let span = duration.map_or(String::new(), |d| format!(" for {d}"));
        let line = format!("+{delay} {} ↔ {}{span}", from.name(azs), to.name(azs));
        let mut c = self.lock();
        self.note(&mut c, "add_latency", line.clone());
        let handle = self
            .shop
            .net
            .write()
            .expect("net lock")
            .add_latency(from, to, delay.0);
        if let Some(d) = duration {
            self.at(self.shop.clock.now() + d.0, move |me, c| {
                me.shop
                    .net
                    .write()
                    .expect("net lock")
                    .remove_latency(handle);
                me.note(c, "latency_removed", String::new());
            });
        }
        format!("latency added: {line}")
    }

    /// `kill_lb_node`: the balancer's node in `az` stops answering; requests
    /// come in through the others.
    pub(crate) fn kill_lb_node(self: &Arc<Self>, az: AzIx) -> String {
        let name = self.sc.region.azs[az].clone();
        let mut c = self.lock();
        self.note(&mut c, "kill_lb_node", name.clone());
        self.shop.net.write().expect("net lock").lb_up[az] = false;
        format!("the balancer node in {name} is down")
    }

    /// `hang_node`: the oldest in-service nodes' application stops answering
    /// while the instance runs; the balancer waits on them until its idle
    /// timeout and its health checks find them unhealthy.
    pub(crate) fn hang_nodes(self: &Arc<Self>, az: Option<AzIx>, count: u32) -> String {
        let mut c = self.lock();
        let ids = c.fleet.oldest_in_service(az, count);
        let names: Vec<String> = ids.iter().map(|&id| self.node_name(&c, id)).collect();
        self.note(&mut c, "hang_node", names.join(", "));
        for (&id, name) in ids.iter().zip(&names) {
            c.fleet.nodes[id as usize].state = NodeState::Hung;
            if let Some(n) = &c.nodes[id as usize] {
                n.ctx.hung.store(true, Ordering::Relaxed);
            }
            self.note(&mut c, "node_hung", name.clone());
        }
        format!("hung {}", names.join(", "))
    }

    /// AWS FIS's AZ Availability: Power Interruption, step by step as the
    /// simulation logs it: launches paused for `duration`, the AZ's network
    /// cut for `network`, its power off, and back on after `duration`.
    pub(crate) fn fis(self: &Arc<Self>, az: AzIx, duration: Dur, network: Dur) -> String {
        let name = self.sc.region.azs[az].clone();
        let mut c = self.lock();
        let db_writer_here = self.shop.db.as_ref().is_some_and(|db| {
            let db = db.lock().expect("db lock");
            db.primary().is_some_and(|p| db.instances[p].az == az)
        });
        let uses_store = self.shop.strategy.uses_store();
        let store = self.shop.store.lock().expect("store lock");
        let here = (0..store.shards())
            .filter(|&k| uses_store && store.primary_az(k) == Some(az))
            .count();
        drop(store);
        let lines = fis::start_lines(&fis::Start {
            az: &name,
            duration,
            network,
            app_nodes: c.fleet.counted_in(az),
            db_writer_here,
            store_primaries_here: here,
            store_word: self.shop.strategy.store_word(),
        });
        for (kind, line) in lines {
            self.note(&mut c, kind, line);
        }
        self.block(&mut c, az, Some(duration));
        self.partition(az, network);
        self.power_off_az(&mut c, az);
        self.at(self.shop.clock.now() + duration.0, move |me, c| {
            // The launch block ends at this instant too, and the simulation
            // ends it first: whichever timer fires first, the log reads so.
            me.unblock(c, az);
            let (kind, line) = fis::end_line(&me.sc.region.azs[az]);
            me.note(c, kind, line);
            c.blocks.clear(az);
            me.power_on_az(c, az);
        });
        format!("power interrupted in {name} for {duration}")
    }
}
