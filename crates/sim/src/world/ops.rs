//! The simulation's side of the control plane (`stratus_model::control`):
//! it hands the control plane its inputs (timeline actions, health-check
//! results, timers, released requests, the second's sample) and executes
//! the effects in the order given, scheduling them in virtual time. What
//! the effects touch here is what only this driver has: the shoppers and
//! their requests in flight, and the carts each fault put at risk.

use super::{Event, World};
use crate::engine::Queue;
use stratus_model::control::{Data, Effect, Input};
use stratus_model::lb::NodeId;
use stratus_model::net::LB_IDLE_TIMEOUT;
use stratus_model::node::{NodeState, ShopperId};
use stratus_model::session::store::{Store, StoreLoss};
use stratus_model::target::{self, InFlight};
use stratus_model::time::SimTime;

impl World {
    /// Hands `input` to the control plane and executes what it answers.
    pub(super) fn control(&mut self, now: SimTime, input: Input<'_>, q: &mut Queue<Event>) {
        let mut tier = Data {
            store: &mut self.store,
            db: self.db.as_mut(),
            cache: self.cache.as_mut(),
        };
        self.cp.handle(now, input, &mut tier, &mut self.effects);
        self.execute(now, q);
    }

    /// The balancer is done with a request on `node` (the control plane's
    /// `release`: nothing to execute unless it was a draining node's last).
    pub(super) fn released(&mut self, now: SimTime, node: NodeId, q: &mut Queue<Event>) {
        self.cp.release(now, node, &mut self.effects);
        self.execute(now, q);
    }

    /// Executes the control plane's answer (`self.effects`) in order. Asked
    /// after every request; most leave nothing to do, which is seen where
    /// it is asked.
    #[inline]
    pub(super) fn execute(&mut self, now: SimTime, q: &mut Queue<Event>) {
        if !self.effects.is_empty() {
            self.execute_all(now, q);
        }
    }

    fn execute_all(&mut self, now: SimTime, q: &mut Queue<Event>) {
        // Taken out while executing (an effect needs `&mut self`); put back
        // for its capacity.
        let mut effects = std::mem::take(&mut self.effects);
        for e in effects.drain(..) {
            match e {
                Effect::Log { kind, detail } => self.note(now, kind, detail),
                Effect::Charge { fault, node } => {
                    self.cp.faults[fault].carts_at_risk += self.at_risk_on_node(node);
                }
                Effect::StoreLoss { fault, loss } => self.store_loss(fault, loss),
                Effect::Serve { node, check_at } => q.at(check_at, Event::HealthCheck { node }),
                Effect::Stop { node, state } => self.stop(now, node, state, q),
                Effect::DbDown { inst, victims } => self.db_down(now, inst, victims, q),
                Effect::Wake { at, timer } => q.at(at, Event::Timer(timer)),
                Effect::Net | Effect::Degraded => {}
                Effect::Arrivals { value } => {
                    self.arrival.set_rate(value);
                    self.arrival_epoch += 1;
                    self.schedule_arrival(q);
                }
            }
        }
        self.effects = effects;
    }

    /// Shoppers holding items whose session lives in this node's memory.
    fn at_risk_on_node(&self, id: NodeId) -> u64 {
        let sessions = &self.cp.fleet.nodes[id as usize].sessions;
        if sessions.map.is_empty() {
            return 0;
        }
        let sticky = self.sticky_lb;
        self.active_shoppers()
            .filter(|sh| {
                !sh.truth.is_empty()
                    && sh.sid().is_some_and(|sid| sessions.holds(sid))
                    && (!sticky || sh.lb_cookie().is_some_and(|c| c.node == id))
            })
            .count() as u64
    }

    /// Counts the writes a store fault dropped, and charges `fault` with the
    /// carts whose latest write is gone.
    fn store_loss(&mut self, fault: usize, loss: StoreLoss) {
        self.metrics.store_writes_lost += loss.writes_lost;
        let lost = Store::lost_set(&loss);
        if !lost.is_empty() {
            self.cp.faults[fault].carts_at_risk += self
                .active_shoppers()
                .filter(|sh| {
                    !sh.truth.is_empty() && sh.sid().is_some_and(|sid| lost.contains(&sid))
                })
                .count() as u64;
        }
    }

    /// A node stops as the control plane decided: unless hung, its memory is
    /// gone; the requests on it meet the fate `target::in_flight` gives.
    fn stop(&mut self, now: SimTime, id: NodeId, state: NodeState, q: &mut Queue<Event>) {
        let node = &mut self.cp.fleet.nodes[id as usize];
        if state != NodeState::Hung {
            node.sessions = Default::default();
        }
        let az = node.az;
        let inflight = node.station.take_in_flight();
        let internet = self.sc.region.latency.internet.0;
        for (s, req) in inflight {
            self.metrics.queue.drop_one(now);
            if self.orphans.remove(&(s, req)).is_some() {
                continue; // its caller left already
            }
            let entry = self.shopper(s).map_or(0, |sh| sh.entry_az());
            let back = self.hop(az, entry);
            let (cause, at) = match target::in_flight(state) {
                InFlight::Lost => {
                    let timeout = self.sc.load_balancer.connect_timeout.0;
                    ("target_lost", now + timeout + back + internet)
                }
                InFlight::Hangs => {
                    let back = back + self.cp.net.internet(entry);
                    ("gateway_timeout", now + LB_IDLE_TIMEOUT + back)
                }
                InFlight::Reset => ("connection_reset", now + back + internet),
            };
            self.fail(s, cause, at, q);
        }
    }

    /// A health check of a registered node: it passes if the node is in
    /// service and the balancer reaches it. Checks come from the balancer's
    /// node in the target's AZ and from those in the other AZs: a
    /// partitioned AZ's targets fail them.
    pub(super) fn on_health_check(&mut self, id: NodeId, q: &mut Queue<Event>) {
        if !self.cp.lb.checks(id) {
            return;
        }
        let node = &self.cp.fleet.nodes[id as usize];
        let az = node.az;
        let pass = node.state == NodeState::InService
            && self.cp.alive[az]
            && !self.cp.net.partitioned[az]
            && self
                .sec
                .pass(stratus_model::security::groups::Hop::LbToNode, az);
        let hc = self.cp.lb.health_check;
        let delay = if pass {
            2 * self.sc.region.latency.same_az.0
        } else {
            hc.timeout.0
        };
        q.after(delay, Event::HealthResult { node: id, pass });
        q.after(hc.interval.0, Event::HealthCheck { node: id });
    }

    /// The queries on a database instance that stopped fail when the nodes'
    /// drivers time out.
    fn db_down(
        &mut self,
        now: SimTime,
        inst: usize,
        victims: Vec<(ShopperId, u32)>,
        q: &mut Queue<Event>,
    ) {
        let db = self.db.as_mut().expect("a database instance stopped");
        let (az, timeout) = (db.instances[inst].az, db.cfg.connect_timeout.0);
        for (s, req) in victims {
            if let Some(o) = self.orphans.get(&(s, req)) {
                // Its caller left; the node still waits for the driver's timeout.
                let back = self.hop(az, self.cp.fleet.nodes[o.node as usize].az);
                q.at(now + timeout + back, Event::Done { s, req });
                continue;
            }
            let Some(sh) = self.shoppers.get(s as usize).and_then(|x| x.as_ref()) else {
                continue;
            };
            if sh.req != req {
                continue;
            }
            let kind = sh.kind;
            self.db.as_mut().expect("db").stats.failed(kind);
            if let Some(n) = sh.node() {
                let back = self.hop(az, self.cp.fleet.nodes[n as usize].az);
                self.outcomes.set(
                    s,
                    stratus_model::workload::Outcome::Failed(stratus_model::db::DB_UNAVAILABLE),
                );
                q.at(now + timeout + back, Event::Done { s, req });
            }
        }
    }
}
