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
use crate::time::SimTime;

#[derive(Debug)]
pub struct Deploy {
    pub batch: u32,
    pub fault: usize,
    /// Replacements of the current batch not yet healthy.
    pub waiting: Vec<NodeId>,
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
