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
//! - Cross-zone load balancing on (ALB's default) lets any balancer node
//!   send to any target; off, the node in AZ X sends only to X's targets
//!   ([`LoadBalancer::route_from`]), each node keeping its own round robin.

use crate::core::AzIx;
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
    /// The target's AZ: what routing with cross-zone off goes by.
    pub az: AzIx,
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
    /// Cross-zone off and nothing routable in the entry AZ: that balancer
    /// node answers 503 itself, though other AZs may have targets.
    NoTargetsInZone,
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
    /// Whether a balancer node may send to targets outside its AZ.
    pub cross_zone: bool,
    /// With cross-zone off, each AZ's balancer node's own round-robin cursor.
    zone_cursors: Vec<usize>,
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
            cross_zone: true,
            zone_cursors: Vec::new(),
        }
    }

    /// The balancer with cross-zone load balancing `on` or off.
    pub fn cross_zone(mut self, on: bool) -> Self {
        self.cross_zone = on;
        self
    }

    pub fn target(&self, node: NodeId) -> Option<&Target> {
        self.slots.get(node as usize).and_then(|t| t.as_ref())
    }

    fn target_mut(&mut self, node: NodeId) -> Option<&mut Target> {
        self.slots.get_mut(node as usize).and_then(|t| t.as_mut())
    }

    /// Registers a target; `healthy` skips the first check (the fleet that is
    /// already serving when a run starts).
    pub fn register(&mut self, node: NodeId, az: AzIx, healthy: bool) {
        let i = node as usize;
        if self.slots.len() <= i {
            self.slots.resize(i + 1, None);
        }
        self.slots[i] = Some(Target {
            node,
            az,
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
        let pick = self.pick(n, self.cursor % n, |i| self.routable[i]);
        self.cursor = pick + 1;
        if restuck {
            self.resticks += 1;
        }
        self.send(self.routable[pick], restuck)
    }

    /// Routes a request that came in through the balancer node in `entry`.
    /// Cross-zone on: [`LoadBalancer::route`], any AZ. Off: only the entry
    /// AZ's routable targets, by that node's own cursor; a cookie naming a
    /// target elsewhere re-sticks within the zone. (ALB refuses stickiness
    /// with cross-zone off; the model allows it so the pairing can be studied.)
    #[inline]
    pub fn route_from(&mut self, entry: AzIx, cookie: Option<LbCookie>, now: SimTime) -> Route {
        if self.cross_zone {
            return self.route(cookie, now);
        }
        self.route_in_zone(entry, cookie, now)
    }

    /// Cross-zone off: routes among `entry`'s targets only.
    fn route_in_zone(&mut self, entry: AzIx, cookie: Option<LbCookie>, now: SimTime) -> Route {
        let in_zone = |lb: &Self, node: NodeId| lb.target(node).is_some_and(|t| t.az == entry);
        let mut restuck = false;
        if let Some(c) = cookie
            && c.expires >= now
        {
            if self.routable.contains(&c.node) && in_zone(self, c.node) {
                return self.send(c.node, false);
            }
            restuck = true;
        }
        if self.routable.is_empty() {
            return Route::NoTargets;
        }
        let zone: Vec<NodeId> = self
            .routable
            .iter()
            .copied()
            .filter(|&x| in_zone(self, x))
            .collect();
        if zone.is_empty() {
            return Route::NoTargetsInZone;
        }
        if self.zone_cursors.len() <= entry {
            self.zone_cursors.resize(entry + 1, 0);
        }
        let pick = self.pick(zone.len(), self.zone_cursors[entry] % zone.len(), |i| {
            zone[i]
        });
        self.zone_cursors[entry] = pick + 1;
        if restuck {
            self.resticks += 1;
        }
        self.send(zone[pick], restuck)
    }

    /// The index among `n` candidates (`nth` names each) the algorithm
    /// picks, starting from `start`.
    fn pick(&self, n: usize, start: usize, nth: impl Fn(usize) -> NodeId) -> usize {
        match self.algorithm {
            Algorithm::RoundRobin => start,
            Algorithm::LeastOutstanding => {
                // Fewest outstanding; ties go round-robin from the cursor.
                let mut best = start;
                let mut best_out = u32::MAX;
                for k in 0..n {
                    let i = (start + k) % n;
                    let out = self.target(nth(i)).map_or(0, |t| t.outstanding);
                    if out < best_out {
                        best = i;
                        best_out = out;
                    }
                }
                best
            }
        }
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
            b.register(n, n as usize % 3, true);
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
            b.register(n, n as usize % 3, true);
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
        b.register(0, 0, false);
        b.register(1, 1, true);
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
        b.register(0, 0, true);
        b.register(1, 1, true);
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

    #[test]
    fn cross_zone_off_routes_within_the_entry_zone() {
        let mut b = lb(Algorithm::RoundRobin).cross_zone(false);
        for n in 0..6 {
            b.register(n, n as usize % 3, true);
        }
        for entry in 0..3 {
            let picks: Vec<Route> = (0..4).map(|_| b.route_from(entry, None, 0)).collect();
            let (x, y) = (entry as NodeId, entry as NodeId + 3);
            let to = |node| Route::To {
                node,
                restuck: false,
            };
            assert_eq!(picks, vec![to(x), to(y), to(x), to(y)], "zone {entry}");
        }
        // A cookie naming another zone's target re-sticks within the zone.
        let c = LbCookie {
            node: 1,
            expires: SEC,
        };
        assert_eq!(
            b.route_from(0, Some(c), 0),
            Route::To {
                node: 0,
                restuck: true
            }
        );
        assert_eq!(b.resticks, 1);
        // A zone with nothing routable answers for itself.
        b.deregister(2);
        b.deregister(5);
        assert_eq!(b.route_from(2, None, 0), Route::NoTargetsInZone);
        // Cross-zone on, the same request goes wherever the cursor is.
        b.cross_zone = true;
        assert!(matches!(b.route_from(2, None, 0), Route::To { .. }));
    }
}
