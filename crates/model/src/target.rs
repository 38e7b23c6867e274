//! What the balancer meets when it opens a connection to a target, and what
//! a request already on a target meets when the target stops: decided here
//! once, from the node's state and whether the network carries packets
//! between the balancer node's AZ and the target's. The simulator schedules
//! the verdict's outcome; the live proxy waits it out before answering, so a
//! powered-off node costs a shopper the connect timeout in both drivers.

use crate::node::NodeState;

/// The connection attempt's fate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connect {
    /// The node takes the request.
    Accepted,
    /// Nothing answers the handshake: a powered-off or still-booting
    /// instance, or packets dropped across a partition. The attempt fails
    /// after the balancer's `connect_timeout` (ALB answers 504).
    TimesOut,
    /// The instance is gone and its address refuses at once (ALB answers 502).
    Refused,
    /// The application accepted and never answers: the balancer waits its
    /// idle timeout ([`crate::net::LB_IDLE_TIMEOUT`]).
    Hangs,
}

/// The fate of a connection to a target in `state`, `reached` being whether
/// packets cross between the two AZs.
pub fn connect(state: NodeState, reached: bool) -> Connect {
    match state {
        // A terminated instance's address is gone whatever the network does.
        NodeState::Terminated => Connect::Refused,
        _ if !reached => Connect::TimesOut,
        NodeState::Dead | NodeState::Launching => Connect::TimesOut,
        NodeState::Hung => Connect::Hangs,
        NodeState::InService | NodeState::Draining => Connect::Accepted,
    }
}

/// The fate of a request a target was serving when it stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InFlight {
    /// Powered off mid-request: no reset, no answer. The balancer gives up
    /// after its `connect_timeout` (the cause `target_lost`, a 504).
    Lost,
    /// The application stopped answering: the balancer waits its idle
    /// timeout (the cause `gateway_timeout`, a 504).
    Hangs,
    /// The instance shut down and reset the connection: the balancer
    /// answers at once (the cause `connection_reset`, a 502).
    Reset,
}

/// The fate of a request in flight on a target that stops in `state`.
pub fn in_flight(state: NodeState) -> InFlight {
    match state {
        NodeState::Dead => InFlight::Lost,
        NodeState::Hung => InFlight::Hangs,
        _ => InFlight::Reset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_on_a_stopping_node_meets_its_fate() {
        assert_eq!(in_flight(NodeState::Dead), InFlight::Lost);
        assert_eq!(in_flight(NodeState::Hung), InFlight::Hangs);
        assert_eq!(in_flight(NodeState::Terminated), InFlight::Reset);
    }

    #[test]
    fn each_state_meets_its_fate() {
        use NodeState::*;
        let fates = [
            (InService, Connect::Accepted),
            (Draining, Connect::Accepted),
            (Hung, Connect::Hangs),
            (Dead, Connect::TimesOut),
            (Launching, Connect::TimesOut),
            (Terminated, Connect::Refused),
        ];
        for (state, fate) in fates {
            assert_eq!(connect(state, true), fate, "{state:?}");
            let cut = if state == Terminated {
                Connect::Refused
            } else {
                Connect::TimesOut
            };
            assert_eq!(connect(state, false), cut, "{state:?} across a partition");
        }
    }
}
