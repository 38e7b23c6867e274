//! An app node: a queueing station ([`Station`]) with the in-memory sessions
//! the sticky strategy keeps there.

use crate::core::{AzIx, NodeId};
use crate::session::MemorySessions;
use crate::station::Station;
use crate::time::SimTime;

pub use crate::core::ShopperId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeState {
    /// Booting; not yet registered with the balancer.
    Launching,
    InService,
    /// Deregistered: finishes what it has, takes nothing new.
    Draining,
    /// Running, but its application answers nothing (EC2 status checks pass).
    Hung,
    /// Powered off without warning (its AZ died, or it was killed).
    Dead,
    /// Shut down by the group after draining or being found dead.
    Terminated,
}

#[derive(Debug)]
pub struct Node {
    pub id: NodeId,
    pub az: AzIx,
    pub state: NodeState,
    pub launched_at: SimTime,
    /// When it entered service (warm-up counts from here).
    pub in_service_at: Option<SimTime>,
    /// The launch template version it runs (rolling deploys raise it).
    pub version: u32,
    /// Its workers and request queue, each request named by its shopper
    /// and the shopper's request number: a request whose caller gave up
    /// stays until served, beside the caller's retry.
    pub station: Station<(ShopperId, u32)>,
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
            in_service_at: None,
            version,
            station: Station::default(),
            sessions: MemorySessions::default(),
            fault: None,
        }
    }

    /// Counts towards the group's capacity.
    pub fn counted(&self) -> bool {
        matches!(
            self.state,
            NodeState::Launching | NodeState::InService | NodeState::Hung
        )
    }

    /// Answers requests that reach it.
    pub fn serving_requests(&self) -> bool {
        matches!(self.state, NodeState::InService | NodeState::Draining)
    }
}
