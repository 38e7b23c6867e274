//! The auto-scaling group and the balancer's registrations: launches,
//! health verdicts, draining, termination, deaths and hangs, rolling
//! deploys, the rebalance after an AZ returns, and target tracking.

use super::{ControlPlane, Effect, Timer};
use crate::core::{AzIx, NodeId};
use crate::fleet::DeployStep;
use crate::lb::Health;
use crate::node::{Node, NodeState};
use crate::scenario::ScaleMetric;

impl ControlPlane {
    /// Creates a node in `az` that boots for the launch time.
    fn launch(&mut self, az: AzIx) -> NodeId {
        let id = self.fleet.nodes.len() as NodeId;
        let node = Node::new(id, az, self.now, self.fleet.version);
        self.fleet.nodes.push(node);
        let at = self.now + self.cfg.launch_time.0;
        self.wake(at, Timer::Launched { node: id });
        id
    }

    /// Brings the group to its desired capacity; the nodes launched. Scale-in
    /// victims are charged to `fault`.
    pub(super) fn reconcile(&mut self, fault: Option<usize>) -> Vec<NodeId> {
        let launchable = self.blocks.launchable(&self.alive, self.now);
        let launched = self
            .fleet
            .launch_plan(&launchable)
            .into_iter()
            .map(|az| self.launch(az))
            .collect();
        for id in self.fleet.scale_in_victims(self.alive.len()) {
            self.drain(id, fault);
        }
        launched
    }

    /// A launching node finished booting: it registers and its checks start.
    pub(super) fn launched(&mut self, id: NodeId) {
        let node = &mut self.fleet.nodes[id as usize];
        if node.state != NodeState::Launching {
            return;
        }
        node.state = NodeState::InService;
        node.in_service_at = Some(self.now);
        let az = node.az;
        self.lb.register(id, az, false);
        let check_at = self.now;
        self.out.push(Effect::Serve { node: id, check_at });
        let name = self.node_name(id);
        self.log("node_in_service", name);
    }

    pub(super) fn health_result(&mut self, id: NodeId, pass: bool) {
        if !self.lb.checks(id) {
            return;
        }
        match self.lb.health_result(id, pass) {
            Some(Health::Unhealthy) => {
                let name = self.node_name(id);
                self.log("target_unhealthy", name);
                if self.fleet.nodes[id as usize].state == NodeState::Dead {
                    // The group replaces what it finds dead; it was counted
                    // out at death, so this only deregisters it.
                    self.terminate(id);
                } else {
                    self.elb_verdict(id);
                }
            }
            Some(Health::Healthy) => {
                let name = self.node_name(id);
                self.log("target_healthy", name);
                self.deploy_progress(id);
                self.rebalance_progress(id);
            }
            _ => {}
        }
    }

    /// The balancer found a running target unhealthy: under the `elb` health
    /// check type, past its grace period, the group replaces it.
    fn elb_verdict(&mut self, id: NodeId) {
        if !self.fleet.replaces_unhealthy(id, &self.cfg, self.now) {
            return;
        }
        let name = self.node_name(id);
        self.log("asg_replace_unhealthy", name);
        let fault = self.fault("asg_replace_unhealthy");
        self.out.push(Effect::Charge { fault, node: id });
        self.terminate(id);
        self.reconcile(None);
    }

    pub(super) fn released(&mut self, id: NodeId) {
        if let Some((0, true)) = self.lb.release(id)
            && self.fleet.nodes[id as usize].state == NodeState::Draining
        {
            // The last in-flight request of a draining node: deregistration completes.
            self.terminate(id);
        }
    }

    /// Deregisters a node and terminates it when drained. `fault` is the
    /// action that asked for it, charged with the carts its memory held.
    fn drain(&mut self, id: NodeId, fault: Option<usize>) {
        match self.fleet.nodes[id as usize].state {
            NodeState::InService | NodeState::Hung => {}
            NodeState::Launching => return self.terminate(id),
            _ => return,
        }
        if let Some(f) = fault {
            self.out.push(Effect::Charge { fault: f, node: id });
        }
        let node = &mut self.fleet.nodes[id as usize];
        node.state = NodeState::Draining;
        node.fault = fault;
        let name = self.node_name(id);
        self.log("node_draining", name);
        if self.lb.deregister(id) == 0 {
            self.terminate(id);
        } else {
            let at = self.now + self.deregistration_delay;
            self.wake(at, Timer::DrainDeadline { node: id });
        }
    }

    /// Shuts a node down for good: its memory is freed, anything still on it
    /// gets a reset connection. A dead node is only deregistered (its death
    /// was logged).
    pub(super) fn terminate(&mut self, id: NodeId) {
        let node = &mut self.fleet.nodes[id as usize];
        let was = node.state;
        if was == NodeState::Terminated {
            return;
        }
        node.state = NodeState::Terminated;
        let state = NodeState::Terminated;
        self.out.push(Effect::Stop { node: id, state });
        self.lb.remove(id);
        if was != NodeState::Dead {
            let name = self.node_name(id);
            self.log("node_terminated", name);
        }
        self.deploy_progress(id);
        self.fleet.rebalance_settled(id, self.cfg.min);
    }

    /// Powers a node off without warning: what was in its memory is gone, and
    /// requests on it fail when the balancer's timeout runs out.
    pub(super) fn kill_node(&mut self, id: NodeId, fault: usize) {
        let state = self.fleet.nodes[id as usize].state;
        if !matches!(
            state,
            NodeState::Launching | NodeState::InService | NodeState::Draining | NodeState::Hung
        ) {
            return;
        }
        if state != NodeState::Draining {
            // A draining node's carts were charged to what drained it.
            self.out.push(Effect::Charge { fault, node: id });
        }
        let node = &mut self.fleet.nodes[id as usize];
        node.state = NodeState::Dead;
        node.fault.get_or_insert(fault);
        let dead = NodeState::Dead;
        self.out.push(Effect::Stop {
            node: id,
            state: dead,
        });
        if state == NodeState::Draining {
            self.lb.remove(id);
        }
        let name = self.node_name(id);
        self.log("node_dead", name);
        self.deploy_progress(id);
        // A rebalance waiting for this node to pass its checks stops waiting
        // (as when one is terminated); the caller's reconcile acts on the
        // desired count it leaves.
        self.fleet.rebalance_settled(id, self.cfg.min);
    }

    /// The application on a node stops answering: what it holds waits for
    /// the balancer's idle timeout; its instance keeps running.
    pub(super) fn hang(&mut self, id: NodeId) {
        self.fleet.nodes[id as usize].state = NodeState::Hung;
        let hung = NodeState::Hung;
        self.out.push(Effect::Stop {
            node: id,
            state: hung,
        });
        let name = self.node_name(id);
        self.log("node_hung", name);
    }

    /// Starts the deploy's next batch, or ends the deploy.
    pub(super) fn deploy_step(&mut self) {
        let (batch, fault) = match self.fleet.deploy_step() {
            DeployStep::Wait => return,
            DeployStep::Done { version } => {
                let line = format!("every node runs version {version}");
                return self.log("deploy_done", line);
            }
            DeployStep::Drain { batch, fault } => (batch, fault),
        };
        for id in batch {
            self.drain(id, Some(fault));
        }
        let launched = self.reconcile(None);
        if !self.fleet.deploy_launched(launched) {
            let line = "no live AZ to launch replacements in".into();
            self.log("deploy_stalled", line);
        }
    }

    fn deploy_progress(&mut self, id: NodeId) {
        if self.fleet.deploy_healthy(id) {
            self.deploy_step();
        }
    }

    /// After an AZ returns: launch in the short AZs first (above desired),
    /// terminate in the crowded ones once the new nodes are healthy.
    pub(super) fn start_rebalance(&mut self) {
        let launchable = self.blocks.launchable(&self.alive, self.now);
        let Some(extra) = self.fleet.begin_rebalance(&launchable, self.cfg.max) else {
            return;
        };
        let line =
            format!("launching {extra} in the short AZs before terminating as many elsewhere");
        self.log("az_rebalance", line);
        let fault = self.fault("az_rebalance");
        let waiting = self.reconcile(None);
        self.fleet.rebalancing(extra, fault, waiting);
    }

    fn rebalance_progress(&mut self, id: NodeId) {
        let Some(r) = self.fleet.rebalance_settled(id, self.cfg.min) else {
            return;
        };
        self.reconcile(Some(r.fault));
        // Another round if the AZs are still uneven (a bigger gap than the allowance).
        self.start_rebalance();
    }

    /// Samples the warm nodes for the policy, and closes a period when one ends.
    pub(super) fn track(&mut self) {
        let Some(t) = &self.tracker else { return };
        let (now, warmup) = (self.now, t.cfg.warmup.0);
        let workers = u64::from(self.cfg.workers);
        let (mut busy, mut total, mut targets, mut warm) = (0u64, 0u64, 0u64, 0u32);
        for n in &self.fleet.nodes {
            if n.state != NodeState::InService {
                continue;
            }
            targets += 1;
            if n.in_service_at.is_some_and(|t| t == 0 || now >= t + warmup) {
                warm += 1;
                busy += u64::from(n.station.busy);
                total += workers;
            }
        }
        let (min, max, desired) = (self.cfg.min, self.cfg.max, self.fleet.desired);
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
        let Some(to) = t.close(now, capacity, desired, min, max) else {
            return;
        };
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
        let line = format!("desired {desired} → {to} at {value:.1}{unit} on {capacity} nodes");
        self.log(kind, line);
        let f = (to < desired).then(|| self.fault(kind));
        self.fleet.desired = to;
        self.reconcile(f);
    }
}
