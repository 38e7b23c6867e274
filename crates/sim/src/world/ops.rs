//! Faults and fleet operations: the timeline's actions, launches, draining,
//! termination, health checks and the store's failover.

use super::{Event, World};
use crate::engine::Queue;
use stratus_model::fleet::DeployStep;
use stratus_model::lb::{Health, NodeId};
use stratus_model::node::{Node, NodeState};
use stratus_model::report::Fault;
use stratus_model::scenario::{Action, AzIx};
use stratus_model::time::{SEC, SimTime};

impl World {
    pub(super) fn node_name(&self, id: NodeId) -> String {
        self.fleet.name(id, &self.sc.region.azs)
    }

    /// Nodes as the log lists them: `node-3 (us-east-1a), node-5 (…)`.
    pub(super) fn node_names(&self, ids: &[NodeId]) -> String {
        let names: Vec<String> = ids.iter().map(|&i| self.node_name(i)).collect();
        names.join(", ")
    }

    pub(super) fn new_fault(&mut self, now: SimTime, action: &str) -> usize {
        self.faults.push(Fault {
            t_s: now as f64 / SEC as f64,
            action: action.to_string(),
            carts_at_risk: 0,
        });
        self.faults.len() - 1
    }

    /// Shoppers holding items whose session lives in this node's memory.
    pub(super) fn at_risk_on_node(&self, id: NodeId) -> u64 {
        let sessions = &self.fleet.nodes[id as usize].sessions.map;
        if sessions.is_empty() {
            return 0;
        }
        let sticky = self.sticky_lb;
        self.active_shoppers()
            .filter(|sh| {
                !sh.truth.is_empty()
                    && sh.sid.is_some_and(|sid| sessions.contains_key(&sid))
                    && (!sticky || sh.lb_cookie.is_some_and(|c| c.node == id))
            })
            .count() as u64
    }

    /// Creates a node in `az`; it boots for the launch time unless `boot` is false.
    pub(super) fn launch(
        &mut self,
        az: AzIx,
        now: SimTime,
        q: &mut Queue<Event>,
        boot: bool,
    ) -> NodeId {
        let id = self.fleet.nodes.len() as NodeId;
        self.fleet
            .nodes
            .push(Node::new(id, az, now, self.fleet.version));
        if boot {
            q.at(
                now + self.sc.fleet.launch_time.0,
                Event::Launched { node: id },
            );
        }
        id
    }

    /// Brings the group to its desired capacity; returns the nodes launched.
    pub(super) fn reconcile(
        &mut self,
        now: SimTime,
        q: &mut Queue<Event>,
        fault: Option<usize>,
    ) -> Vec<NodeId> {
        let mut launched = Vec::new();
        let launchable = self.blocks.launchable(&self.alive, now);
        for az in self.fleet.launch_plan(&launchable) {
            launched.push(self.launch(az, now, q, true));
        }
        for id in self.fleet.scale_in_victims(self.alive.len()) {
            self.drain(now, id, fault, q);
        }
        launched
    }

    pub(super) fn on_launched(&mut self, now: SimTime, id: NodeId, q: &mut Queue<Event>) {
        let node = &mut self.fleet.nodes[id as usize];
        if node.state != NodeState::Launching {
            return;
        }
        node.state = NodeState::InService;
        node.in_service_at = Some(now);
        self.lb.register(id, false);
        q.at(now, Event::HealthCheck { node: id });
        let name = self.node_name(id);
        self.note(now, "node_in_service", name);
    }

    pub(super) fn on_health_check(&mut self, _now: SimTime, id: NodeId, q: &mut Queue<Event>) {
        if !self.lb.checks(id) {
            return;
        }
        let node = &self.fleet.nodes[id as usize];
        // Checks come from the balancer's node in the target's AZ, and from
        // those in the other AZs: a partitioned AZ's targets fail them.
        let az = node.az;
        let pass = node.state == NodeState::InService
            && self.alive[az]
            && !self.net.partitioned[az]
            && self
                .sec
                .pass(stratus_model::security::groups::Hop::LbToNode, az);
        let hc = self.lb.health_check;
        let delay = if pass {
            2 * self.sc.region.latency.same_az.0
        } else {
            hc.timeout.0
        };
        q.after(delay, Event::HealthResult { node: id, pass });
        q.after(hc.interval.0, Event::HealthCheck { node: id });
    }

    pub(super) fn on_health_result(
        &mut self,
        now: SimTime,
        id: NodeId,
        pass: bool,
        q: &mut Queue<Event>,
    ) {
        if !self.lb.checks(id) {
            return;
        }
        match self.lb.health_result(id, pass) {
            Some(Health::Unhealthy) => {
                let name = self.node_name(id);
                self.note(now, "target_unhealthy", name);
                if self.fleet.nodes[id as usize].state == NodeState::Dead {
                    // The group replaces what it finds dead; it was counted
                    // out at death, so this only deregisters it.
                    self.terminate(now, id, q);
                } else {
                    self.elb_verdict(now, id, q);
                }
            }
            Some(Health::Healthy) => {
                let name = self.node_name(id);
                self.note(now, "target_healthy", name);
                self.deploy_progress(now, id, q);
                self.rebalance_progress(now, id, q);
            }
            _ => {}
        }
    }

    pub(super) fn on_drain_timeout(&mut self, now: SimTime, id: NodeId, q: &mut Queue<Event>) {
        if self.fleet.nodes[id as usize].state == NodeState::Draining {
            self.terminate(now, id, q);
        }
    }

    /// Deregisters a node and terminates it when drained. `fault` is the
    /// action that asked for it, charged with the carts its memory held.
    fn drain(&mut self, now: SimTime, id: NodeId, fault: Option<usize>, q: &mut Queue<Event>) {
        match self.fleet.nodes[id as usize].state {
            NodeState::InService | NodeState::Hung => {}
            NodeState::Launching => return self.terminate(now, id, q),
            _ => return,
        }
        if let Some(f) = fault {
            self.faults[f].carts_at_risk += self.at_risk_on_node(id);
        }
        let node = &mut self.fleet.nodes[id as usize];
        node.state = NodeState::Draining;
        node.fault = fault;
        let name = self.node_name(id);
        self.note(now, "node_draining", name);
        if self.lb.deregister(id) == 0 {
            self.terminate(now, id, q);
        } else {
            q.after(
                self.sc.load_balancer.deregistration_delay.0,
                Event::DrainTimeout { node: id },
            );
        }
    }

    /// Shuts a node down for good: its memory is freed, anything still on it
    /// gets a reset connection.
    pub(super) fn terminate(&mut self, now: SimTime, id: NodeId, q: &mut Queue<Event>) {
        let internet = self.sc.region.latency.internet.0;
        let node = &mut self.fleet.nodes[id as usize];
        let was = node.state;
        if was == NodeState::Terminated {
            return;
        }
        node.state = NodeState::Terminated;
        node.sessions = Default::default();
        let az = node.az;
        let inflight = node.station.take_in_flight();
        self.lb.remove(id);
        for s in inflight {
            self.metrics.queue.drop_one(now);
            let back = self.shopper(s).map_or(0, |sh| sh.entry_az);
            let back = self.hop(az, back) + internet;
            self.fail(s, "connection_reset", now + back, q);
        }
        if was != NodeState::Dead {
            let name = self.node_name(id);
            self.note(now, "node_terminated", name);
        }
        self.deploy_progress(now, id, q);
    }

    /// Powers a node off without warning: what was in its memory is gone, and
    /// requests on it fail when the balancer's timeout runs out.
    pub(super) fn kill_node(
        &mut self,
        now: SimTime,
        id: NodeId,
        fault: usize,
        q: &mut Queue<Event>,
    ) {
        let state = self.fleet.nodes[id as usize].state;
        if !matches!(
            state,
            NodeState::Launching | NodeState::InService | NodeState::Draining | NodeState::Hung
        ) {
            return;
        }
        if state != NodeState::Draining {
            // A draining node's carts were charged to what drained it.
            self.faults[fault].carts_at_risk += self.at_risk_on_node(id);
        }
        let timeout = self.sc.load_balancer.connect_timeout.0;
        let internet = self.sc.region.latency.internet.0;
        let node = &mut self.fleet.nodes[id as usize];
        node.state = NodeState::Dead;
        node.fault.get_or_insert(fault);
        node.sessions = Default::default();
        let az = node.az;
        let inflight = node.station.take_in_flight();
        for s in inflight {
            self.metrics.queue.drop_one(now);
            let entry = self.shopper(s).map_or(0, |sh| sh.entry_az);
            let back = self.hop(az, entry) + internet;
            self.fail(s, "target_lost", now + timeout + back, q);
        }
        if state == NodeState::Draining {
            self.lb.remove(id);
        }
        let name = self.node_name(id);
        self.note(now, "node_dead", name);
        self.deploy_progress(now, id, q);
    }

    /// Applies what a store fault did: drops, failovers and later wake-ups,
    /// charging `fault` with the carts whose latest write is gone.
    pub(super) fn store_blow(
        &mut self,
        now: SimTime,
        blow: stratus_model::session::store::Blow,
        fault: usize,
        q: &mut Queue<Event>,
    ) {
        self.metrics.store_writes_lost += blow.loss.writes_lost;
        let lost = stratus_model::session::store::Store::lost_set(&blow.loss);
        if !lost.is_empty() {
            self.faults[fault].carts_at_risk += self
                .active_shoppers()
                .filter(|sh| !sh.truth.is_empty() && sh.sid.is_some_and(|sid| lost.contains(&sid)))
                .count() as u64;
        }
        let what = self.store_name();
        for (kind, line) in blow.events(what, &|k| self.shard_label(k)) {
            self.note(now, kind, line);
        }
        for w in blow.wakes {
            match w {
                stratus_model::session::store::Wake::Promote { shard, at, epoch } => {
                    q.at(at, Event::StorePromote { shard, epoch })
                }
                stratus_model::session::store::Wake::Rebuild { shard, at } => {
                    q.at(at, Event::StoreRebuild { shard })
                }
            }
        }
    }

    fn kill_store_primary(&mut self, now: SimTime, fault: usize, q: &mut Queue<Event>) {
        if self.store.primary_az(0).is_none() {
            return;
        }
        let blow = self.store.kill_primary(now, 0);
        self.store_blow(now, blow, fault, q);
    }

    /// Power leaves an AZ: its nodes, its balancer node, and its store and
    /// database instances stop. Charged to `fault`.
    pub(super) fn power_off(&mut self, now: SimTime, az: AzIx, f: usize, q: &mut Queue<Event>) {
        if !self.alive[az] {
            return;
        }
        self.alive[az] = false;
        self.net.lb_up[az] = false;
        let victims: Vec<NodeId> = self
            .fleet
            .nodes
            .iter()
            .filter(|n| n.az == az)
            .map(|n| n.id)
            .collect();
        for id in victims {
            self.kill_node(now, id, f, q);
        }
        let blow = self.store.kill_az(now, az);
        self.store_blow(now, blow, f, q);
        self.kill_data_az(now, az, q);
        self.reconcile(now, q, Some(f));
    }

    /// Power returns to an AZ: its balancer node and data instances come
    /// back, and the group rebalances into it.
    pub(super) fn power_on(&mut self, now: SimTime, az: AzIx, q: &mut Queue<Event>) {
        self.alive[az] = true;
        self.net.lb_up[az] = true;
        self.restore_data_az(now, az);
        // Replacements that waited for an AZ without a copy can go here now.
        for k in 0..self.store.shards() {
            self.on_store_rebuild(now, k as u16);
        }
        self.reconcile(now, q, None);
        self.start_rebalance(now, q);
    }

    pub(super) fn on_action(&mut self, now: SimTime, index: usize, q: &mut Queue<Event>) {
        let action = self.sc.timeline[index].action.clone();
        let name = action.name();
        match action {
            Action::KillAz { az } => {
                self.note(now, name, self.az_name(az));
                let f = self.new_fault(now, name);
                self.power_off(now, az, f, q);
            }
            Action::RestoreAz { az } => {
                self.note(now, name, self.az_name(az));
                self.power_on(now, az, q);
            }
            Action::KillNode { az, count } => {
                let ids = self.fleet.oldest_in_service(az, count);
                let detail = self.node_names(&ids);
                self.note(now, name, detail);
                let f = self.new_fault(now, name);
                for id in ids {
                    self.kill_node(now, id, f, q);
                }
                self.reconcile(now, q, Some(f));
            }
            Action::SetDesired { value } => {
                self.note(now, name, value.to_string());
                let scale_in = value < self.fleet.counted();
                self.fleet.desired = value;
                let f = scale_in.then(|| self.new_fault(now, name));
                self.reconcile(now, q, f);
            }
            Action::RollingDeploy { batch } => {
                let fault = self.faults.len();
                let (version, batch) = self.fleet.begin_deploy(batch, fault);
                let line = format!("version {version}, {batch} at a time");
                self.note(now, name, line);
                self.new_fault(now, name);
                self.deploy_step(now, q);
            }
            Action::KillStorePrimary => {
                let az = self
                    .store
                    .primary_az(0)
                    .map(|a| self.az_name(a))
                    .unwrap_or_default();
                self.note(now, name, az);
                let f = self.new_fault(now, name);
                self.kill_store_primary(now, f, q);
            }
            Action::KillDbPrimary => {
                self.note(now, name, String::new());
                self.new_fault(now, name);
                self.kill_db_primary(now, q);
            }
            Action::SetArrivals { value } => {
                self.note(now, name, format!("{value}/s"));
                self.arrival_rate = value;
                self.arrival_epoch += 1;
                self.schedule_arrival(q);
            }
            Action::PartitionAz { .. }
            | Action::AddLatency { .. }
            | Action::BlockLaunches { .. }
            | Action::FisAzPowerInterruption { .. }
            | Action::KillLbNode { .. }
            | Action::HangNode { .. } => self.elastic_action(now, action, q),
        }
    }

    /// Starts the deploy's next batch, or ends the deploy.
    fn deploy_step(&mut self, now: SimTime, q: &mut Queue<Event>) {
        let (batch, fault) = match self.fleet.deploy_step() {
            DeployStep::Wait => return,
            DeployStep::Done { version } => {
                let line = format!("every node runs version {version}");
                return self.note(now, "deploy_done", line);
            }
            DeployStep::Drain { batch, fault } => (batch, fault),
        };
        for id in batch {
            self.drain(now, id, Some(fault), q);
        }
        let launched = self.reconcile(now, q, None);
        if !self.fleet.deploy_launched(launched) {
            let line = "no live AZ to launch replacements in".into();
            self.note(now, "deploy_stalled", line);
        }
    }

    fn deploy_progress(&mut self, now: SimTime, id: NodeId, q: &mut Queue<Event>) {
        if self.fleet.deploy_healthy(id) {
            self.deploy_step(now, q);
        }
    }
}
