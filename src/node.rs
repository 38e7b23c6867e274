//! An app node: a worker pool with a bounded queue (a queueing station), and
//! the in-memory sessions the sticky strategy keeps there.

use crate::lb::NodeId;
use crate::scenario::AzIx;
use crate::session::MemorySessions;
use crate::time::SimTime;
use std::collections::VecDeque;

/// Index of a shopper in the world's shopper table.
pub type ShopperId = u32;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeState {
    /// Booting; not yet registered with the balancer.
    Launching,
    InService,
    /// Deregistered: finishes what it has, takes nothing new.
    Draining,
    /// Powered off without warning (its AZ died, or it was killed).
    Dead,
    /// Shut down by the group after draining or being found dead.
    Terminated,
}

/// What a node does with an arriving request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    Start,
    Queued,
    /// The queue is full: the node answers 503.
    Full,
}

#[derive(Debug)]
pub struct Node {
    pub id: NodeId,
    pub az: AzIx,
    pub state: NodeState,
    pub launched_at: SimTime,
    /// The launch template version it runs (rolling deploys raise it).
    pub version: u32,
    pub busy: u32,
    pub queue: VecDeque<(ShopperId, SimTime)>,
    pub serving: Vec<ShopperId>,
    pub sessions: MemorySessions,
    /// Which fault took it out of service, for carts-at-risk accounting.
    pub fault: Option<usize>,
}

impl Node {
    pub fn new(id: NodeId, az: AzIx, now: SimTime, version: u32) -> Self {
        Node {
            id,
            az,
            state: NodeState::Launching,
            launched_at: now,
            version,
            busy: 0,
            queue: VecDeque::new(),
            serving: Vec::new(),
            sessions: MemorySessions::default(),
            fault: None,
        }
    }

    /// Counts towards the group's capacity.
    pub fn counted(&self) -> bool {
        matches!(self.state, NodeState::Launching | NodeState::InService)
    }

    /// Answers requests that reach it.
    pub fn serving_requests(&self) -> bool {
        matches!(self.state, NodeState::InService | NodeState::Draining)
    }

    pub fn admit(&mut self, s: ShopperId, now: SimTime, workers: u32, queue_limit: u32) -> Admit {
        if self.busy < workers {
            self.busy += 1;
            self.serving.push(s);
            Admit::Start
        } else if (self.queue.len() as u32) < queue_limit {
            self.queue.push_back((s, now));
            Admit::Queued
        } else {
            Admit::Full
        }
    }

    /// A request finished; returns the next queued one, now in service, with
    /// the time it arrived.
    pub fn finish(&mut self, s: ShopperId) -> Option<(ShopperId, SimTime)> {
        if let Some(i) = self.serving.iter().position(|&x| x == s) {
            self.serving.swap_remove(i);
        }
        self.busy = self.busy.saturating_sub(1);
        let next = self.queue.pop_front()?;
        self.busy += 1;
        self.serving.push(next.0);
        Some(next)
    }

    /// Everything in flight on the node, emptied (the node is going away).
    pub fn take_in_flight(&mut self) -> Vec<ShopperId> {
        let mut v = std::mem::take(&mut self.serving);
        v.extend(self.queue.drain(..).map(|(s, _)| s));
        self.busy = 0;
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_then_queue_then_full() {
        let mut n = Node::new(0, 0, 0, 0);
        assert_eq!(n.admit(1, 0, 2, 1), Admit::Start);
        assert_eq!(n.admit(2, 0, 2, 1), Admit::Start);
        assert_eq!(n.admit(3, 5, 2, 1), Admit::Queued);
        assert_eq!(n.admit(4, 5, 2, 1), Admit::Full);
        assert_eq!(n.finish(1), Some((3, 5)));
        assert_eq!(n.busy, 2);
        assert_eq!(n.finish(2), None);
        assert_eq!(n.busy, 1);
        assert_eq!(n.take_in_flight(), vec![3]);
    }
}
