//! The auto-scaling group's decisions: where to launch, whom to terminate, and
//! how a rolling deploy proceeds. The world carries them out.
//!
//! - Launches go to the live AZ with the fewest counted nodes (even spread); a
//!   dead AZ gets none.
//! - Scale-in picks from the AZ with the most counted nodes, then the node
//!   with the oldest launch template version there (ASG's default termination
//!   policy), then the oldest node, where AWS would go by billing hour and
//!   chance: a run must repeat.
//! - After an AZ returns, a rebalance launches in the short AZs first, up to
//!   10 % (at least one node) over max, then terminates in the crowded ones.
//! - A rolling deploy (instance refresh) drains `batch` old nodes at a time;
//!   the group launches their replacements at once, and the next batch starts
//!   when every replacement is healthy.

use crate::core::AzIx;
use crate::core::NodeId;
use crate::node::{Node, NodeState};
use crate::scenario::{self, HealthCheckType};
use crate::time::SimTime;

#[derive(Debug)]
pub struct Deploy {
    pub batch: u32,
    pub fault: usize,
    /// Replacements of the current batch not yet healthy.
    pub waiting: Vec<NodeId>,
}

/// What a rolling deploy does next ([`Fleet::deploy_step`]).
#[derive(Debug, PartialEq, Eq)]
pub enum DeployStep {
    /// Replacements are still booting or not yet healthy.
    Wait,
    /// Drain these old nodes (charged to `fault`) and launch replacements.
    Drain { batch: Vec<NodeId>, fault: usize },
    /// Every node runs `version`: the deploy is over.
    Done { version: u32 },
}

/// An AZ rebalance in progress: `extra` nodes launched above desired in the
/// short AZs; once they are healthy, desired comes back down and scale-in
/// terminates the same number in the crowded AZs.
#[derive(Debug)]
pub struct Rebalance {
    pub extra: u32,
    pub fault: usize,
    pub waiting: Vec<NodeId>,
}

#[derive(Debug)]
pub struct Fleet {
    pub nodes: Vec<Node>,
    pub desired: u32,
    pub version: u32,
    pub deploy: Option<Deploy>,
    pub rebalance: Option<Rebalance>,
}

impl Fleet {
    pub fn new(desired: u32) -> Self {
        Fleet {
            nodes: Vec::new(),
            desired,
            version: 1,
            deploy: None,
            rebalance: None,
        }
    }

    pub fn counted(&self) -> u32 {
        self.nodes.iter().filter(|n| n.counted()).count() as u32
    }

    pub fn per_az(&self, azs: usize) -> Vec<u32> {
        let mut c = vec![0u32; azs];
        for n in self.nodes.iter().filter(|n| n.counted()) {
            c[n.az] += 1;
        }
        c
    }

    /// AZs for the launches needed to reach desired capacity, in order.
    pub fn launch_plan(&self, alive: &[bool]) -> Vec<AzIx> {
        let mut counts = self.per_az(alive.len());
        let need = self.desired.saturating_sub(self.counted());
        let mut plan = Vec::new();
        for _ in 0..need {
            let best = (0..alive.len())
                .filter(|&a| alive[a])
                .min_by_key(|&a| (counts[a], a));
            match best {
                Some(a) => {
                    counts[a] += 1;
                    plan.push(a);
                }
                None => break,
            }
        }
        plan
    }

    /// Nodes to terminate to come down to desired capacity.
    pub fn scale_in_victims(&self, azs: usize) -> Vec<NodeId> {
        let mut counts = self.per_az(azs);
        let excess = self.counted().saturating_sub(self.desired);
        let mut chosen: Vec<NodeId> = Vec::new();
        for _ in 0..excess {
            let Some(az) = (0..azs)
                .filter(|&a| counts[a] > 0)
                .max_by_key(|&a| (counts[a], std::cmp::Reverse(a)))
            else {
                break;
            };
            let victim = self
                .nodes
                .iter()
                .filter(|n| n.counted() && n.az == az && !chosen.contains(&n.id))
                .min_by_key(|n| (n.version, n.launched_at, n.id));
            if let Some(v) = victim {
                chosen.push(v.id);
                counts[az] -= 1;
            }
        }
        chosen
    }

    /// Starts a rolling deploy of the next version, `batch` nodes at a time
    /// (default: [`Fleet::default_batch`]), charged to `fault`; the version
    /// and the batch size, for the log.
    pub fn begin_deploy(&mut self, batch: Option<u32>, fault: usize) -> (u32, u32) {
        self.version += 1;
        let batch = batch.unwrap_or_else(|| self.default_batch());
        self.deploy = Some(Deploy {
            batch,
            fault,
            waiting: Vec::new(),
        });
        (self.version, batch)
    }

    /// The deploy's next step, decided when its replacements are healthy:
    /// drain the next batch of old nodes, or end the deploy when none is left.
    pub fn deploy_step(&mut self) -> DeployStep {
        let Some(d) = &self.deploy else {
            return DeployStep::Wait;
        };
        if !d.waiting.is_empty() {
            return DeployStep::Wait;
        }
        let (size, fault) = (d.batch, d.fault);
        let batch = self.next_old_batch(size);
        if batch.is_empty() {
            self.deploy = None;
            return DeployStep::Done {
                version: self.version,
            };
        }
        DeployStep::Drain { batch, fault }
    }

    /// The replacements a step launched, to wait for; false when none could
    /// launch, and the deploy stalls and ends.
    pub fn deploy_launched(&mut self, launched: Vec<NodeId>) -> bool {
        if launched.is_empty() {
            self.deploy = None;
            return false;
        }
        if let Some(d) = &mut self.deploy {
            d.waiting = launched;
        }
        true
    }

    /// A node passed its health checks: whether it was the last replacement
    /// the deploy's step waited for (time for the next step).
    pub fn deploy_healthy(&mut self, id: NodeId) -> bool {
        let Some(d) = &mut self.deploy else {
            return false;
        };
        let before = d.waiting.len();
        d.waiting.retain(|&w| w != id);
        before > 0 && d.waiting.is_empty()
    }

    /// The nodes the group counts in `az`.
    pub fn counted_in(&self, az: AzIx) -> usize {
        self.nodes
            .iter()
            .filter(|n| n.az == az && n.counted())
            .count()
    }

    /// The next batch of old-version nodes a deploy replaces, oldest first.
    pub fn next_old_batch(&self, batch: u32) -> Vec<NodeId> {
        let mut old: Vec<&Node> = self
            .nodes
            .iter()
            .filter(|n| n.state == NodeState::InService && n.version < self.version)
            .collect();
        old.sort_by_key(|n| (n.launched_at, n.id));
        old.iter().take(batch as usize).map(|n| n.id).collect()
    }

    /// Nodes to launch above desired to even out the AZs that can take
    /// launches (`launchable`), within ASG's allowance of 10 % (at least one
    /// node) over max. Zero when the AZs are already within one of each other.
    pub fn rebalance_extra(&self, launchable: &[bool], max: u32) -> u32 {
        let counts = self.per_az(launchable.len());
        let live: Vec<usize> = (0..launchable.len()).filter(|&a| launchable[a]).collect();
        if live.len() < 2 {
            return 0;
        }
        let total: u32 = live.iter().map(|&a| counts[a]).sum();
        let (lo, hi) = live.iter().fold((u32::MAX, 0), |(lo, hi), &a| {
            (lo.min(counts[a]), hi.max(counts[a]))
        });
        if hi - lo <= 1 {
            return 0;
        }
        // Each AZ's even share, the first AZs taking the remainder.
        let n = live.len() as u32;
        let short: u32 = live
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                let share = total / n + u32::from((i as u32) < total % n);
                share.saturating_sub(counts[a])
            })
            .sum();
        let ceiling = max + (max / 10).max(1);
        short.min(ceiling.saturating_sub(self.counted()))
    }

    /// Starts a rebalance after an AZ returned, if the AZs are uneven and
    /// none runs: raises desired by the extra nodes the short AZs need (the
    /// caller launches them with its reconcile, then [`Self::rebalancing`]).
    /// The extra count, or None.
    pub fn begin_rebalance(&mut self, launchable: &[bool], max: u32) -> Option<u32> {
        if self.rebalance.is_some() {
            return None;
        }
        let extra = self.rebalance_extra(launchable, max);
        if extra == 0 {
            return None;
        }
        self.desired += extra;
        Some(extra)
    }

    /// Records the rebalance just begun: its extra nodes, the fault its
    /// losses are charged to, and the launches it waits for.
    pub fn rebalancing(&mut self, extra: u32, fault: usize, waiting: Vec<NodeId>) {
        self.rebalance = Some(Rebalance {
            extra,
            fault,
            waiting,
        });
    }

    /// Node `id` passed its health checks, or was lost before it did (its
    /// AZ went down again). When it was the rebalance's last launch, desired
    /// comes back down (not below `min`) and the finished rebalance is
    /// returned: the caller reconciles (scale-in terminates in the crowded
    /// AZs) and tries [`Self::begin_rebalance`] again. A lost launch must end
    /// the rebalance too: waiting for it kept desired raised for good.
    pub fn rebalance_settled(&mut self, id: NodeId, min: u32) -> Option<Rebalance> {
        let r = self.rebalance.as_mut()?;
        let before = r.waiting.len();
        r.waiting.retain(|&w| w != id);
        if before == 0 || !r.waiting.is_empty() {
            return None;
        }
        let r = self.rebalance.take()?;
        self.desired = self.desired.saturating_sub(r.extra).max(min);
        Some(r)
    }

    /// Whether the group replaces node `id`, found unhealthy by the balancer,
    /// at `now`: only with `health_check_type = "elb"` (with the default,
    /// `ec2`, the group trusts the instance's own status checks and leaves a
    /// running node registered), only a running node, and only once its
    /// health-check grace period has passed (AWS's documented behaviour).
    pub fn replaces_unhealthy(&self, id: NodeId, cfg: &scenario::Fleet, now: SimTime) -> bool {
        let node = &self.nodes[id as usize];
        cfg.health_check_type == HealthCheckType::Elb
            && matches!(node.state, NodeState::InService | NodeState::Hung)
            && now >= node.launched_at + cfg.health_check_grace_period.0
    }

    /// A node as both drivers' logs name it: `node-3 (us-east-1a)`.
    pub fn name(&self, id: NodeId, azs: &[String]) -> String {
        let az = self.nodes[id as usize].az;
        format!("node-{id} ({})", azs[az])
    }

    /// The nodes `kill_node` and `hang_node` take: `count` in-service nodes,
    /// the oldest first, in `az` when given.
    pub fn oldest_in_service(&self, az: Option<AzIx>, count: u32) -> Vec<NodeId> {
        let mut ids: Vec<(SimTime, NodeId)> = self
            .nodes
            .iter()
            .filter(|n| n.state == NodeState::InService && az.is_none_or(|a| n.az == a))
            .map(|n| (n.launched_at, n.id))
            .collect();
        ids.sort();
        ids.into_iter()
            .take(count as usize)
            .map(|(_, id)| id)
            .collect()
    }

    /// The default deploy batch: 10 % of desired (instance refresh's default
    /// minimum healthy percentage is 90 %), at least one node.
    pub fn default_batch(&self) -> u32 {
        (self.desired / 10).max(1)
    }
}

/// AZs where the group's launches fail (insufficient capacity, or power
/// out in a FIS interruption), each until a time; both drivers ask it where
/// the group may launch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LaunchBlocks {
    until: Vec<Option<SimTime>>,
}

impl LaunchBlocks {
    pub fn new(azs: usize) -> Self {
        LaunchBlocks {
            until: vec![None; azs],
        }
    }

    /// Blocks launches in `az` from `now` for `duration` (None: for good);
    /// a longer block already held stays. The time to call [`Self::heal`], if any.
    pub fn block(&mut self, az: AzIx, now: SimTime, duration: Option<u64>) -> Option<SimTime> {
        let until = duration.map_or(SimTime::MAX, |d| now + d);
        let held = self.until[az].unwrap_or(0);
        self.until[az] = Some(until.max(held));
        duration.map(|d| now + d)
    }

    /// Lifts the block on `az` if it has run out by `now`; whether it did.
    pub fn heal(&mut self, az: AzIx, now: SimTime) -> bool {
        if self.until[az].is_some_and(|until| until <= now) {
            self.until[az] = None;
            return true;
        }
        false
    }

    /// Lifts the block on `az` whatever its time (power has returned).
    pub fn clear(&mut self, az: AzIx) {
        self.until[az] = None;
    }

    /// AZs launches may go to now: powered and not blocked.
    pub fn launchable(&self, alive: &[bool], now: SimTime) -> Vec<bool> {
        (0..alive.len())
            .map(|a| alive[a] && self.until[a].is_none_or(|until| until <= now))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet(azs: &[AzIx]) -> Fleet {
        let mut f = Fleet::new(azs.len() as u32);
        for (i, &az) in azs.iter().enumerate() {
            let mut n = Node::new(i as u32, az, i as u64, 1);
            n.state = NodeState::InService;
            f.nodes.push(n);
        }
        f
    }

    #[test]
    fn only_an_elb_checked_group_replaces_a_running_unhealthy_node_after_grace() {
        use crate::scenario::Scenario;
        use crate::time::{Dur, SEC};
        let mut f = fleet(&[0, 1]);
        let mut cfg = Scenario::new("t", Dur::from_secs(60)).fleet;
        cfg.health_check_grace_period = Dur::from_secs(10);
        assert_eq!(cfg.health_check_type, HealthCheckType::Ec2, "AWS's default");
        assert!(!f.replaces_unhealthy(0, &cfg, 20 * SEC), "ec2: kept");
        cfg.health_check_type = HealthCheckType::Elb;
        assert!(f.replaces_unhealthy(0, &cfg, 20 * SEC));
        assert!(!f.replaces_unhealthy(0, &cfg, 5 * SEC), "within grace");
        f.nodes[1].state = NodeState::Dead;
        assert!(!f.replaces_unhealthy(1, &cfg, 20 * SEC), "already dead");
    }

    #[test]
    fn the_oldest_in_service_nodes_are_taken_first() {
        let mut f = fleet(&[0, 1, 0, 2]);
        f.nodes[0].state = NodeState::Draining;
        assert_eq!(f.oldest_in_service(None, 2), vec![1, 2]);
        assert_eq!(f.oldest_in_service(Some(0), 5), vec![2]);
    }

    #[test]
    fn launches_spread_evenly_and_skip_dead_azs() {
        let mut f = fleet(&[]);
        f.desired = 6;
        assert_eq!(f.launch_plan(&[true, true, true]), vec![0, 1, 2, 0, 1, 2]);
        assert_eq!(f.launch_plan(&[true, false, true]), vec![0, 2, 0, 2, 0, 2]);
    }

    #[test]
    fn scale_in_keeps_balance_then_oldest() {
        let mut f = fleet(&[0, 0, 0, 1, 1, 2]);
        f.desired = 3;
        // AZ 0 has 3: its oldest (0) goes, then AZ 0 and 1 tie at 2: lowest AZ first.
        assert_eq!(f.scale_in_victims(3), vec![0, 1, 3]);
    }

    #[test]
    fn rebalance_fills_the_short_az_within_the_allowance() {
        // AZ 1 came back empty; the other two hold three each.
        let f = fleet(&[0, 0, 0, 2, 2, 2]);
        assert_eq!(f.rebalance_extra(&[true, true, true], 12), 2);
        assert_eq!(
            f.rebalance_extra(&[true, true, true], 6),
            1,
            "max 6 allows one over"
        );
        assert_eq!(
            f.rebalance_extra(&[true, false, true], 12),
            0,
            "balanced over the live AZs"
        );
    }

    #[test]
    fn scale_in_prefers_the_oldest_version() {
        let mut f = fleet(&[0, 0]);
        f.nodes[1].version = 0;
        f.desired = 1;
        assert_eq!(f.scale_in_victims(1), vec![1]);
    }

    #[test]
    fn deploy_batches_take_oldest_old_version() {
        let mut f = fleet(&[0, 1, 2]);
        f.version = 2;
        assert_eq!(f.next_old_batch(2), vec![0, 1]);
        assert_eq!(f.default_batch(), 1);
    }
}
