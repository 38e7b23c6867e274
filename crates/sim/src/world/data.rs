//! The request path's data phase: a node's trips to the cache and to a
//! database instance, and the data tier's faults and failover.
//!
//! Timing is decided here, when a worker picks a request up: cache round
//! trips, then (on a miss, or for a write) a query that queues at the
//! instance like a request at a node. The SQL itself runs when the node
//! finishes the request, in the shop's handler, against the instance chosen
//! here; if that instance died meanwhile, the request fails. The data
//! tier's faults and failovers are the control plane's (`stratus_model::control`).

use super::{Event, World};
use crate::engine::Queue;
use stratus_model::cache::Key;
use stratus_model::db::{DbIx, Visit};
use stratus_model::node::ShopperId;
use stratus_model::scenario::{AzIx, Kind};
use stratus_model::station::Admit;
use stratus_model::time::SimTime;

impl World {
    /// The cache key a page reads, if it reads one.
    fn cache_key(&self, s: ShopperId) -> Option<Key> {
        let sh = self.shoppers[s as usize].as_ref()?;
        Key::of_page(sh.kind, sh.extra().product, sh.item, sh.extra().user)
    }

    /// Time the node spends on cache round trips for the page, and the
    /// database instance it must then visit, if any (the model's
    /// `Database::visit`).
    pub(super) fn data_phase(&mut self, now: SimTime, s: ShopperId, node_az: AzIx) -> (u64, Visit) {
        if self.db.is_none() {
            return (0, Visit::No);
        }
        let kind = self.shoppers[s as usize].as_ref().expect("active").kind;
        let key = self.cache_key(s);
        let mut extra = 0;
        let (cache, net) = (&self.cache, &self.cp.net);
        let cached = || {
            let (Some(c), Some(key)) = (cache, key) else {
                return false;
            };
            let reached = |az| net.reach(node_az, az);
            let (hit, t) = c.look_timed(key, now, reached, |az| net.hop(node_az, az));
            extra = t;
            hit
        };
        let visit = self.db.as_mut().expect("checked").visit(kind, cached);
        (extra, visit)
    }

    /// The shopper's query reaches instance `i`.
    pub(super) fn on_at_db(
        &mut self,
        now: SimTime,
        s: ShopperId,
        req: u32,
        i: DbIx,
        q: &mut Queue<Event>,
    ) {
        // A caller that left does not stop the node's query.
        let Some((kind, node, live)) = self.job(s, req) else {
            return;
        };
        let node_az = self.cp.fleet.nodes[node as usize].az;
        if !self.cp.fleet.nodes[node as usize].serving_requests() {
            return; // the node died; the shopper was told
        }
        let calls_on = self.db_calls_on();
        let db = self.db.as_mut().expect("a query needs a database");
        let reached = self.cp.net.reach(node_az, db.instances[i].az);
        let answers = db.answers(i, reached);
        let inst = &mut db.instances[i];
        let back = self.cp.net.hop(inst.az, node_az);
        if !answers {
            // No answer from a powered-off instance: the driver times out.
            db.stats.failed(kind);
            let t = db.cfg.connect_timeout.0;
            if calls_on {
                let code = super::calls::DB_UNAVAILABLE;
                q.at(now + t + back, Event::DbEnd { s, req, code });
                return;
            }
            if live {
                self.outcomes.set(
                    s,
                    stratus_model::workload::Outcome::Failed(stratus_model::db::DB_UNAVAILABLE),
                );
            }
            q.at(now + t + back, Event::Done { s, req });
            return;
        }
        inst.queries += 1;
        let (workers, limit) = (db.cfg.workers, db.cfg.max_connections - db.cfg.workers);
        match inst.station.admit((s, req), now, workers, limit) {
            Admit::Start => {
                let mean = db.cfg.query_time.get(kind).0;
                let t = db.service(i, mean, 0);
                q.at(
                    now + t,
                    Event::DbDone {
                        s,
                        req,
                        inst: i as u8,
                    },
                );
            }
            Admit::Queued => {}
            Admit::Full if calls_on => {
                db.stats.failed(kind);
                let code = super::calls::DB_FULL;
                q.at(now + back, Event::DbEnd { s, req, code });
            }
            Admit::Full => {
                db.stats.failed(kind);
                if live {
                    self.outcomes.set(
                        s,
                        stratus_model::workload::Outcome::Failed(
                            stratus_model::db::DB_TOO_MANY_CONNECTIONS,
                        ),
                    );
                }
                q.at(now + back, Event::Done { s, req });
            }
        }
    }

    /// Instance `i` finished the shopper's query: its answer heads back to the node.
    pub(super) fn on_db_done(
        &mut self,
        now: SimTime,
        s: ShopperId,
        req: u32,
        i: DbIx,
        q: &mut Queue<Event>,
    ) {
        let db = self.db.as_mut().expect("a query needs a database");
        if !db.instances[i].alive {
            return; // its queries were failed when it died
        }
        if let Some(((next, nreq), queued)) = db.instances[i].station.finish((s, req)) {
            // The query's kind is the shopper's current page if it is still
            // on that request; a stale query costs a mean read.
            let kind = match &self.shoppers[next as usize] {
                Some(x) if x.req == nreq => x.kind,
                _ => Kind::Product,
            };
            let mean = db.cfg.query_time.get(kind).0;
            let t = db.service(i, mean, now - queued);
            q.at(
                now + t,
                Event::DbDone {
                    s: next,
                    req: nreq,
                    inst: i as u8,
                },
            );
        }
        let inst_az = self.db.as_ref().expect("db").instances[i].az;
        let Some((_, node, _)) = self.job(s, req) else {
            return;
        };
        let node_az = self.cp.fleet.nodes[node as usize].az;
        let at = now + self.hop(inst_az, node_az);
        if self.db_calls_on() {
            let code = super::calls::DB_OK;
            q.at(at, Event::DbEnd { s, req, code });
        } else {
            q.at(at, Event::Done { s, req });
        }
    }
}
