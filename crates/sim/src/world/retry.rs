//! Clients that give up and try again, and the work their abandoned
//! attempts still cost. A timed-out attempt's request stays where it is:
//! the node does not know its caller left (the balancer forgets it, as ALB
//! does when a client closes its connection), so it is queued and served
//! beside the retry — the wasted work that lets a retry storm outlive its
//! trigger. Such a request is an orphan: the node serves it for its page's
//! mean service time and makes no session or database change for it.

use super::{Event, World};
use crate::engine::Queue;
use stratus_model::lb::NodeId;
use stratus_model::node::ShopperId;
use stratus_model::retry::CLIENT_TIMEOUT;
use stratus_model::scenario::Kind;
use stratus_model::time::SimTime;
use stratus_model::wire;
use stratus_model::workload::Outcome;

/// A request whose caller gave up while a node held it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Orphan {
    pub(super) node: NodeId,
    pub(super) kind: Kind,
    /// When it reached the node (for the queueing integrals).
    pub(super) arrived: SimTime,
}

impl World {
    /// Request `req` of shopper `s` as a node holds it: its page, its node,
    /// and whether its caller still waits (false: an orphan). None: nobody
    /// holds it any more.
    pub(super) fn job(&self, s: ShopperId, req: u32) -> Option<(Kind, NodeId, bool)> {
        match self.shoppers.get(s as usize).and_then(|x| x.as_ref()) {
            Some(sh) if sh.req == req => Some((sh.kind, sh.node().expect("routed"), true)),
            _ => self.orphans.get(&(s, req)).map(|o| (o.kind, o.node, false)),
        }
    }

    /// An attempt left the client at `at`: its timeout is set.
    pub(super) fn attempt_sent(
        &mut self,
        at: SimTime,
        s: ShopperId,
        req: u32,
        q: &mut Queue<Event>,
    ) {
        if let Some(t) = self.retries.policy.timeout {
            q.at(at + t.0, Event::Timeout { s, req });
        }
    }

    /// The client's timeout for attempt `req` ran out: unless its answer
    /// came first, the attempt fails and the client decides what next.
    pub(super) fn on_timeout(
        &mut self,
        now: SimTime,
        s: ShopperId,
        req: u32,
        q: &mut Queue<Event>,
    ) {
        let Some(sh) = self.shopper(s).filter(|sh| sh.req == req) else {
            return;
        };
        let (node, kind, arrived) = (sh.node(), sh.kind, sh.arrived_node);
        if let Some(id) = node {
            let st = &self.cp.fleet.nodes[id as usize].station;
            let held = st.serving.contains(&(s, req)) || st.queue.iter().any(|j| j.0 == (s, req));
            if held {
                let o = Orphan {
                    node: id,
                    kind,
                    arrived,
                };
                self.orphans.insert((s, req), o);
            }
        }
        self.outcomes.set(s, Outcome::Failed(CLIENT_TIMEOUT));
        self.on_client(now, s, req, q);
    }

    /// A worker picks up an orphan: it costs the page's mean service time
    /// on this node (slowed if the node is, or still warming up), and
    /// changes nothing.
    pub(super) fn serve_orphan(
        &mut self,
        now: SimTime,
        id: NodeId,
        s: ShopperId,
        req: u32,
        q: &mut Queue<Event>,
    ) {
        let Some(o) = self.orphans.get(&(s, req)).copied() else {
            // Nobody waits for it and nobody will: the worker moves on.
            self.metrics.queue.drop_one(now);
            return self.next_job(now, id, (s, req), q);
        };
        let mean = self.sc.fleet.service_time.get(o.kind).0;
        let t = stratus_model::warmup::slowed(mean, self.service_factor(o.node, now));
        q.at(now + t, Event::Done { s, req });
    }

    /// An orphan's service ended: its worker takes the next request.
    pub(super) fn orphan_done(
        &mut self,
        now: SimTime,
        s: ShopperId,
        req: u32,
        q: &mut Queue<Event>,
    ) {
        let Some(o) = self.orphans.remove(&(s, req)) else {
            return; // the node died and dropped it, or it never reached one
        };
        if !self.cp.fleet.nodes[o.node as usize].serving_requests() {
            return;
        }
        self.metrics.served_abandoned += 1;
        self.metrics.queue.leave(now, now - o.arrived);
        self.next_job(now, o.node, (s, req), q);
    }

    /// Node `id` drops a request that waited past `fleet.queue_timeout`:
    /// a caller still waiting hears 503 at once; an orphan just goes.
    pub(super) fn shed(
        &mut self,
        now: SimTime,
        id: NodeId,
        (s, req): (ShopperId, u32),
        q: &mut Queue<Event>,
    ) {
        self.metrics.queue.drop_one(now);
        self.metrics.shed += 1;
        if self.orphans.remove(&(s, req)).is_some() {
            return;
        }
        let Some(sh) = self.shopper(s).filter(|sh| sh.req == req) else {
            return;
        };
        let entry = sh.entry_az();
        let az = self.cp.fleet.nodes[id as usize].az;
        let back = self.cp.net.hop(az, entry) + self.cp.net.internet(entry);
        self.wire.send(
            wire::Hop::LbNode,
            az,
            entry,
            super::flow::RESPONSE_BASE_BYTES,
        );
        self.release(now, s, q);
        self.fail(s, "queue_timeout", now + back, q);
    }

    /// Whether node `id` answers this request with an injected 5xx: drawn
    /// only while an `inject_errors` names it.
    pub(super) fn injected_error(&mut self, id: NodeId, az: usize) -> bool {
        let p = self.cp.degraded.error_chance(id, az);
        p > 0.0 && self.errors.chance(p)
    }

    /// A new shopper's client in slot `s` starts with its breaker closed.
    pub(super) fn client_arrived(&mut self, s: ShopperId) {
        if self.retries.policy.breaker.is_some() {
            let i = s as usize;
            if self.client_breakers.len() <= i {
                self.client_breakers.resize_with(i + 1, Default::default);
            }
            self.client_breakers[i] = Default::default();
        }
    }
}
