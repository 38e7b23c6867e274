//! The application load balancer: targets, health checks, routing and
//! stickiness, as the ALB user guide describes them.
//!
//! - A target is routable when healthy and not draining. A newly registered
//!   target becomes healthy after one passing check; `unhealthy_threshold`
//!   failures in a row make a target unhealthy and `healthy_threshold` passes
//!   bring it back.
//! - When no target is healthy the balancer routes to all registered,
//!   non-draining targets (fail-open), as ALB does.
//! - Stickiness is a balancer cookie naming a target with a sliding expiry; a
//!   request whose target is unhealthy, draining or gone is routed afresh and
//!   re-stuck.

use crate::scenario::{Algorithm, HealthCheck};
use crate::time::SimTime;

pub use crate::core::NodeId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Initial,
    Healthy,
    Unhealthy,
}

#[derive(Clone, Debug)]
pub struct Target {
    pub node: NodeId,
    pub health: Health,
    passes: u32,
    fails: u32,
    pub draining: bool,
    /// Requests routed to the target and not yet answered.
    pub outstanding: u32,
}

/// The balancer's stickiness cookie, as the shopper's browser holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LbCookie {
    pub node: NodeId,
    pub expires: SimTime,
}

/// Where a request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    To {
        node: NodeId,
        /// The shopper held a cookie for a target that could no longer serve it.
        restuck: bool,
    },
    /// Nothing is registered: the balancer answers 503 itself.
    NoTargets,
}

pub struct LoadBalancer {
    /// Indexed by node id; None once deregistered or never registered.
    slots: Vec<Option<Target>>,
    /// Targets requests may go to now, in registration order.
    routable: Vec<NodeId>,
    cursor: usize,
    algorithm: Algorithm,
    pub health_check: HealthCheck,
    pub resticks: u64,
}

impl LoadBalancer {
    pub fn new(algorithm: Algorithm, health_check: HealthCheck) -> Self {
        LoadBalancer {
            slots: Vec::new(),
            routable: Vec::new(),
            cursor: 0,
            algorithm,
            health_check,
            resticks: 0,
        }
    }

    pub fn target(&self, node: NodeId) -> Option<&Target> {
        self.slots.get(node as usize).and_then(|t| t.as_ref())
    }

    fn target_mut(&mut self, node: NodeId) -> Option<&mut Target> {
        self.slots.get_mut(node as usize).and_then(|t| t.as_mut())
    }

    /// Registers a target; `healthy` skips the first check (the fleet that is
    /// already serving when a run starts).
    pub fn register(&mut self, node: NodeId, healthy: bool) {
        let i = node as usize;
        if self.slots.len() <= i {
            self.slots.resize(i + 1, None);
        }
        self.slots[i] = Some(Target {
            node,
            health: if healthy {
                Health::Healthy
            } else {
                Health::Initial
            },
            passes: 0,
            fails: 0,
            draining: false,
            outstanding: 0,
        });
        self.refresh();
    }

    /// Starts draining: no new requests. Returns the requests still outstanding.
    pub fn deregister(&mut self, node: NodeId) -> u32 {
        let out = match self.target_mut(node) {
            Some(t) => {
                t.draining = true;
                t.outstanding
            }
            None => 0,
        };
        self.refresh();
        out
    }

    /// Forgets a target entirely.
    pub fn remove(&mut self, node: NodeId) {
        if let Some(slot) = self.slots.get_mut(node as usize) {
            *slot = None;
        }
        self.refresh();
    }

    /// Whether the balancer still health-checks this target.
    pub fn checks(&self, node: NodeId) -> bool {
        self.target(node).is_some_and(|t| !t.draining)
    }

    /// Applies one health-check result; returns the new state if it changed.
    pub fn health_result(&mut self, node: NodeId, pass: bool) -> Option<Health> {
        let hc = self.health_check;
        let t = self.target_mut(node)?;
        let before = t.health;
        if pass {
            t.fails = 0;
            t.passes += 1;
            let need = if before == Health::Initial {
                1
            } else {
                hc.healthy_threshold
            };
            if before != Health::Healthy && t.passes >= need {
                t.health = Health::Healthy;
            }
        } else {
            t.passes = 0;
            t.fails += 1;
            if before != Health::Unhealthy && t.fails >= hc.unhealthy_threshold {
                t.health = Health::Unhealthy;
            }
        }
        let after = t.health;
        if after != before {
            self.refresh();
            Some(after)
        } else {
            None
        }
    }

    /// Recomputes the routable set (after any health or registration change).
    fn refresh(&mut self) {
        self.routable.clear();
        let live = self.slots.iter().flatten().filter(|t| !t.draining);
        self.routable.extend(
            live.clone()
                .filter(|t| t.health == Health::Healthy)
                .map(|t| t.node),
        );
        if self.routable.is_empty() {
            // Fail-open: with no healthy target, every registered one gets traffic.
            self.routable.extend(live.map(|t| t.node));
        }
    }

    /// Every registered target, draining ones included, by node id.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.slots.iter().flatten()
    }

    pub fn routable(&self) -> &[NodeId] {
        &self.routable
    }

    /// Picks a target and counts the request outstanding on it.
    pub fn route(&mut self, cookie: Option<LbCookie>, now: SimTime) -> Route {
        let mut restuck = false;
        if let Some(c) = cookie
            && c.expires >= now
        {
            if self.routable.contains(&c.node) {
                return self.send(c.node, false);
            }
            restuck = true;
        }
        if self.routable.is_empty() {
            return Route::NoTargets;
        }
        let n = self.routable.len();
        let start = self.cursor % n;
        let pick = match self.algorithm {
            Algorithm::RoundRobin => start,
            Algorithm::LeastOutstanding => {
                // Fewest outstanding; ties go round-robin from the cursor.
                let mut best = start;
                let mut best_out = u32::MAX;
                for k in 0..n {
                    let i = (start + k) % n;
                    let out = self.target(self.routable[i]).map_or(0, |t| t.outstanding);
                    if out < best_out {
                        best = i;
                        best_out = out;
                    }
                }
                best
            }
        };
        self.cursor = pick + 1;
        if restuck {
            self.resticks += 1;
        }
        self.send(self.routable[pick], restuck)
    }

    fn send(&mut self, node: NodeId, restuck: bool) -> Route {
        if let Some(t) = self.target_mut(node) {
            t.outstanding += 1;
        }
        Route::To { node, restuck }
    }

    /// A request to `node` is answered (or given up); returns the target's
    /// outstanding count and whether it is draining.
    pub fn release(&mut self, node: NodeId) -> Option<(u32, bool)> {
        let t = self.target_mut(node)?;
        t.outstanding = t.outstanding.saturating_sub(1);
        Some((t.outstanding, t.draining))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{Dur, SEC};

    fn lb(alg: Algorithm) -> LoadBalancer {
        LoadBalancer::new(
            alg,
            HealthCheck {
                interval: Dur::from_secs(30),
                timeout: Dur::from_secs(5),
                healthy_threshold: 5,
                unhealthy_threshold: 2,
            },
        )
    }

    #[test]
    fn round_robin_cycles() {
        let mut b = lb(Algorithm::RoundRobin);
        for n in 0..3 {
            b.register(n, true);
        }
        let picks: Vec<_> = (0..6).map(|_| b.route(None, 0)).collect();
        let nodes: Vec<_> = picks
            .iter()
            .map(|r| match r {
                Route::To { node, .. } => *node,
                _ => 99,
            })
            .collect();
        assert_eq!(nodes, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn least_outstanding_prefers_idle() {
        let mut b = lb(Algorithm::LeastOutstanding);
        for n in 0..3 {
            b.register(n, true);
        }
        b.route(None, 0); // 0 busy
        b.route(None, 0); // 1 busy
        b.release(0);
        assert_eq!(
            b.route(None, 0),
            Route::To {
                node: 2,
                restuck: false
            }
        );
        assert_eq!(
            b.route(None, 0),
            Route::To {
                node: 0,
                restuck: false
            }
        );
    }

    #[test]
    fn thresholds_and_fail_open() {
        let mut b = lb(Algorithm::RoundRobin);
        b.register(0, false);
        b.register(1, true);
        assert_eq!(
            b.routable(),
            &[1],
            "initial target takes no traffic while another is healthy"
        );
        assert_eq!(
            b.health_result(0, true),
            Some(Health::Healthy),
            "one pass suffices at first"
        );
        assert_eq!(b.health_result(1, false), None);
        assert_eq!(b.health_result(1, false), Some(Health::Unhealthy));
        assert_eq!(b.routable(), &[0]);
        for _ in 0..4 {
            assert_eq!(b.health_result(1, true), None);
        }
        assert_eq!(
            b.health_result(1, true),
            Some(Health::Healthy),
            "five passes to recover"
        );
        b.health_result(0, false);
        b.health_result(0, false);
        b.health_result(1, false);
        b.health_result(1, false);
        assert_eq!(b.routable(), &[0, 1], "all unhealthy: fail open");
    }

    #[test]
    fn sticky_cookie_and_restick() {
        let mut b = lb(Algorithm::RoundRobin);
        b.register(0, true);
        b.register(1, true);
        let c = LbCookie {
            node: 1,
            expires: 10 * SEC,
        };
        assert_eq!(
            b.route(Some(c), 0),
            Route::To {
                node: 1,
                restuck: false
            }
        );
        b.deregister(1);
        assert_eq!(
            b.route(Some(c), 0),
            Route::To {
                node: 0,
                restuck: true
            }
        );
        assert_eq!(b.resticks, 1);
        // An expired cookie is not a re-stick.
        assert_eq!(
            b.route(Some(c), 11 * SEC),
            Route::To {
                node: 0,
                restuck: false
            }
        );
    }
}
