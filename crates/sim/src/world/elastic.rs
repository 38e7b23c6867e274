//! The elastic and highly available side of the world: target tracking,
//! the group's verdict on unhealthy targets, AZ rebalancing, the store's
//! failovers and replacements, and the network faults (partitions, added
//! latency, blocked launches, balancer nodes) including the FIS AZ power
//! interruption, which strings several of them together.

use super::{Event, Heal, World};
use crate::engine::Queue;
use stratus_model::lb::NodeId;
use stratus_model::net::{LB_IDLE_TIMEOUT, STORE_CONNECT_TIMEOUT};
use stratus_model::node::NodeState;
use stratus_model::scenario::{Action, ScaleMetric, Strategy};
use stratus_model::time::SimTime;

impl World {
    /// Samples the warm nodes for the policy, and closes a period when one ends.
    pub(super) fn track(&mut self, now: SimTime, q: &mut Queue<Event>) {
        let Some(t) = &self.tracker else { return };
        let warmup = t.cfg.warmup.0;
        let workers = u64::from(self.sc.fleet.workers);
        let (mut busy, mut total, mut targets, mut warm) = (0u64, 0u64, 0u64, 0u32);
        for n in &self.fleet.nodes {
            if n.state != NodeState::InService {
                continue;
            }
            targets += 1;
            let is_warm = n.in_service_at.is_some_and(|t| t == 0 || now >= t + warmup);
            if is_warm {
                warm += 1;
                busy += u64::from(n.station.busy);
                total += workers;
            }
        }
        let (min, max, desired) = (self.sc.fleet.min, self.sc.fleet.max, self.fleet.desired);
        let t = self.tracker.as_mut().expect("checked");
        t.second(busy, total, targets);
        if !t.period_ends(now) {
            return;
        }
        let metric = t.cfg.metric;
        // The capacity whose load the datapoint measured: warm nodes for CPU,
        // every target the balancer counted requests over for requests per target.
        let capacity = match metric {
            ScaleMetric::Cpu => warm,
            ScaleMetric::RequestsPerTarget => targets as u32,
        };
        if let Some(to) = t.close(now, capacity, desired, min, max) {
            let value = t.datapoints.last().map_or(0.0, |d| d.1);
            let unit = match metric {
                ScaleMetric::Cpu => "% CPU",
                ScaleMetric::RequestsPerTarget => " requests per target per minute",
            };
            let kind = if to > desired {
                "scale_out"
            } else {
                "scale_in"
            };
            self.note(
                now,
                kind,
                format!("desired {desired} → {to} at {value:.1}{unit} on {capacity} nodes"),
            );
            let f = (to < desired).then(|| self.new_fault(now, kind));
            self.fleet.desired = to;
            self.reconcile(now, q, f);
        }
    }

    /// The balancer found a running target unhealthy: under the `elb` health
    /// check type, past its grace period, the group replaces it.
    pub(super) fn elb_verdict(&mut self, now: SimTime, id: NodeId, q: &mut Queue<Event>) {
        if !self.fleet.replaces_unhealthy(id, &self.sc.fleet, now) {
            return;
        }
        let name = self.node_name(id);
        self.note(now, "asg_replace_unhealthy", name);
        let fault = self.new_fault(now, "asg_replace_unhealthy");
        self.faults[fault].carts_at_risk += self.at_risk_on_node(id);
        self.terminate(now, id, q);
        self.reconcile(now, q, None);
    }

    /// The application on a node stops answering: what it holds waits for
    /// the balancer's idle timeout; its instance keeps running.
    fn hang(&mut self, now: SimTime, id: NodeId, q: &mut Queue<Event>) {
        let node = &mut self.fleet.nodes[id as usize];
        node.state = NodeState::Hung;
        let az = node.az;
        let inflight = node.station.take_in_flight();
        for s in inflight {
            self.metrics.queue.drop_one(now);
            let entry = self.shopper(s).map_or(0, |sh| sh.entry_az);
            let back = self.hop(az, entry) + self.net.internet(entry);
            self.fail(s, "gateway_timeout", now + LB_IDLE_TIMEOUT + back, q);
        }
        let name = self.node_name(id);
        self.note(now, "node_hung", name);
    }

    /// After an AZ returns: launch in the short AZs first (above desired),
    /// terminate in the crowded ones once the new nodes are healthy.
    pub(super) fn start_rebalance(&mut self, now: SimTime, q: &mut Queue<Event>) {
        let launchable = self.blocks.launchable(&self.alive, now);
        let Some(extra) = self.fleet.begin_rebalance(&launchable, self.sc.fleet.max) else {
            return;
        };
        self.note(
            now,
            "az_rebalance",
            format!("launching {extra} in the short AZs before terminating as many elsewhere"),
        );
        let fault = self.new_fault(now, "az_rebalance");
        let waiting = self.reconcile(now, q, None);
        self.fleet.rebalancing(extra, fault, waiting);
    }

    pub(super) fn rebalance_progress(&mut self, now: SimTime, id: NodeId, q: &mut Queue<Event>) {
        let Some(r) = self.fleet.rebalance_healthy(id, self.sc.fleet.min) else {
            return;
        };
        self.reconcile(now, q, Some(r.fault));
        // Another round if the AZs are still uneven (a bigger gap than the allowance).
        self.start_rebalance(now, q);
    }

    pub(super) fn store_name(&self) -> &'static str {
        self.strategy.store_word()
    }

    pub(super) fn shard_label(&self, shard: u16) -> String {
        if self.store.shards() > 1 {
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

    pub(super) fn on_store_promote(&mut self, now: SimTime, shard: u16, epoch: u32) {
        let what = self.store_name();
        let label = self.shard_label(shard);
        match self.store.promote(shard as usize, epoch) {
            Some(Some(az)) => {
                let az = self.az_name(az);
                self.note(
                    now,
                    "store_promoted",
                    format!("{what}{label}: replica in {az} is the new primary"),
                );
            }
            Some(None) => self.note(
                now,
                "store_down",
                format!("{what}{label}: no replica to promote"),
            ),
            None => {}
        }
    }

    pub(super) fn on_store_rebuild(&mut self, now: SimTime, shard: u16) {
        let alive = self.net.usable(&self.alive);
        if let Some(az) = self.store.rebuild(shard as usize, &alive) {
            let what = self.store_name();
            let label = self.shard_label(shard);
            let az = self.az_name(az);
            self.note(
                now,
                "store_replica_created",
                format!("{what}{label}: a replacement replica in {az}"),
            );
        }
    }

    /// The timeline's network and HA actions.
    pub(super) fn elastic_action(&mut self, now: SimTime, action: Action, q: &mut Queue<Event>) {
        let name = action.name();
        match action {
            Action::PartitionAz { az, duration } => {
                self.note(now, name, format!("{} for {duration}", self.az_name(az)));
                self.new_fault(now, name);
                self.partition(now, az, duration.0, q);
            }
            Action::AddLatency {
                from,
                to,
                delay,
                duration,
            } => {
                let azs = &self.sc.region.azs;
                let span = duration.map_or(String::new(), |d| format!(" for {d}"));
                let detail = format!("+{delay} {} ↔ {}{span}", from.name(azs), to.name(azs));
                self.note(now, name, detail);
                let handle = self.net.add_latency(from, to, delay.0);
                if let Some(d) = duration {
                    let handle = handle as u16;
                    q.at(
                        now + d.0,
                        Event::Heal {
                            what: Heal::Latency { handle },
                        },
                    );
                }
            }
            Action::BlockLaunches { az, duration } => {
                let span = duration.map_or(String::new(), |d| format!(" for {d}"));
                self.note(now, name, format!("{}{span}", self.az_name(az)));
                self.block(now, az, duration.map(|d| d.0), q);
            }
            Action::KillLbNode { az } => {
                self.note(now, name, self.az_name(az));
                self.new_fault(now, name);
                self.net.lb_up[az] = false;
            }
            Action::HangNode { az, count } => {
                let ids = self.fleet.oldest_in_service(az, count);
                let detail = self.node_names(&ids);
                self.note(now, name, detail);
                self.new_fault(now, name);
                for id in ids {
                    self.hang(now, id, q);
                }
            }
            Action::FisAzPowerInterruption {
                az,
                duration,
                network,
            } => self.fis(now, az, duration.0, network.0, q),
            _ => unreachable!("the other actions are the fleet's"),
        }
    }

    fn partition(&mut self, now: SimTime, az: usize, duration: u64, q: &mut Queue<Event>) {
        self.net.partitioned[az] = true;
        q.at(
            now + duration,
            Event::Heal {
                what: Heal::Partition { az: az as u8 },
            },
        );
    }

    fn block(&mut self, now: SimTime, az: usize, duration: Option<u64>, q: &mut Queue<Event>) {
        if let Some(at) = self.blocks.block(az, now, duration) {
            q.at(
                at,
                Event::Heal {
                    what: Heal::Launches { az: az as u8 },
                },
            );
        }
    }

    /// AWS FIS's AZ Availability: Power Interruption, step by step, each
    /// step logged under its own name at its own time.
    fn fis(&mut self, now: SimTime, az: usize, duration: u64, network: u64, q: &mut Queue<Event>) {
        let name = self.az_name(az);
        let db_writer_here = self
            .db
            .as_ref()
            .and_then(|db| db.primary().map(|p| db.instances[p].az == az))
            .unwrap_or(false);
        let uses_store = self.strategy.uses_store();
        let primaries_here = (0..self.store.shards())
            .filter(|&k| uses_store && self.store.primary_az(k) == Some(az))
            .count();
        let lines = stratus_model::fis::start_lines(&stratus_model::fis::Start {
            az: &name,
            duration: stratus_model::time::Dur(duration),
            network: stratus_model::time::Dur(network),
            app_nodes: self.fleet.counted_in(az),
            db_writer_here,
            store_primaries_here: primaries_here,
            store_word: self.store_name(),
        });
        for (kind, line) in lines {
            self.note(now, kind, line);
        }
        let f = self.new_fault(now, "fis_az_power_interruption");
        self.block(now, az, Some(duration), q);
        self.partition(now, az, network, q);
        self.power_off(now, az, f, q);
        q.at(
            now + duration,
            Event::Heal {
                what: Heal::Power { az: az as u8 },
            },
        );
    }

    pub(super) fn on_heal(&mut self, now: SimTime, what: Heal, q: &mut Queue<Event>) {
        match what {
            Heal::Partition { az } => {
                let az = az as usize;
                self.net.partitioned[az] = false;
                let kind = if self.alive[az] {
                    "partition_healed"
                } else {
                    "fis_connectivity_restored"
                };
                self.note(now, kind, self.az_name(az));
            }
            Heal::Launches { az } => {
                let az = az as usize;
                if self.blocks.heal(az, now) {
                    self.note(now, "launches_unblocked", self.az_name(az));
                    self.reconcile(now, q, None);
                }
            }
            Heal::Latency { handle } => {
                self.net.remove_latency(handle as usize);
                self.note(now, "latency_removed", String::new());
            }
            Heal::Power { az } => {
                let az = az as usize;
                let (kind, line) = stratus_model::fis::end_line(&self.az_name(az));
                self.note(now, kind, line);
                self.blocks.clear(az);
                self.power_on(now, az, q);
            }
        }
    }
}

impl World {
    /// Time a worker waits on the session store or table for the page: a
    /// read, and for a page that changes the cart a write (which, for the
    /// durable table, also waits for the replica that acknowledges it).
    /// Also decides where a durable eventually consistent read goes.
    pub(super) fn session_trips(
        &mut self,
        s: stratus_model::node::ShopperId,
        node_az: usize,
    ) -> u64 {
        let sh = self.shoppers[s as usize].as_ref().expect("active");
        let writes = matches!(
            sh.kind,
            stratus_model::scenario::Kind::AddToCart | stratus_model::scenario::Kind::Checkout
        );
        let shard = sh.sid.map_or(0, |sid| self.store.shard_of(sid));
        let primary = self.store.primary_az(shard);
        let rtt = |w: &World, az: Option<usize>| match az {
            Some(a) => 2 * w.hop(node_az, a),
            None => 2 * w.sc.region.latency.cross_az.0,
        };
        let eventual = self.strategy == Strategy::Durable
            && !self.sc.sessions.durable.consistent_reads
            && !writes;
        let read_at = if eventual {
            self.store.read_az(shard, node_az)
        } else {
            None
        };
        let target = read_at.or(primary);
        if target.is_some_and(|a| !self.net.reach(node_az, a)) {
            // Across a partition: the client's connection attempt times out.
            self.outcomes[s as usize] =
                stratus_model::workload::Outcome::Failed("session_store_unreachable");
            return STORE_CONNECT_TIMEOUT;
        }
        let mut t = rtt(self, target);
        if writes {
            t += rtt(self, primary);
            if let (Some(p), Some(r)) = (primary, self.store.sync_az(shard)) {
                t += 2 * self.hop(p, r);
            }
        }
        self.shoppers[s as usize]
            .as_mut()
            .expect("active")
            .store_read_at = read_at.map(|a| a as u8);
        t
    }
}
