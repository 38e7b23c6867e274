//! The request path's data phase: a node's trips to the cache and to a
//! database instance, and the data tier's faults and failover.
//!
//! Timing is decided here, when a worker picks a request up: cache round
//! trips, then (on a miss, or for a write) a query that queues at the
//! instance like a request at a node. The SQL itself runs when the node
//! finishes the request, in the shop's handler, against the instance chosen
//! here; if that instance died meanwhile, the request fails.

use super::{Event, World};
use crate::engine::Queue;
use stratus_model::cache::Key;
use stratus_model::db::{DbIx, Promotion, Wake};
use stratus_model::node::ShopperId;
use stratus_model::scenario::{AzIx, Kind};
use stratus_model::station::Admit;
use stratus_model::time::SimTime;

/// Where a page's query goes.
pub(super) enum Visit {
    /// Nowhere: no query, or the cache answered.
    No,
    To(DbIx),
    /// The page needs the database and no instance takes it.
    Nowhere,
}

impl World {
    /// The cache key a page reads, if it reads one.
    fn cache_key(&self, s: ShopperId) -> Option<Key> {
        let sh = self.shoppers[s as usize].as_ref()?;
        match sh.kind {
            Kind::Home => Some(Key::Featured),
            Kind::Product => sh.product.map(Key::Product),
            Kind::AddToCart => sh.item.map(|i| Key::Product(i.product)),
            Kind::Account => Some(Key::Account(sh.user)),
            _ => None,
        }
    }

    /// Time the node spends on cache round trips for the page, and the
    /// database instance it must then visit, if any.
    pub(super) fn data_phase(&mut self, now: SimTime, s: ShopperId, node_az: AzIx) -> (u64, Visit) {
        let Some(db) = &self.db else {
            return (0, Visit::No);
        };
        let kind = self.shoppers[s as usize].as_ref().expect("active").kind;
        if db.cfg.query_time.get(kind).0 == 0 {
            return (0, Visit::No);
        }
        let mut extra = 0;
        if let (Some(c), Some(key), Some(cfg)) = (&self.cache, self.cache_key(s), &self.sc.cache) {
            let node = &c.nodes[c.node_of(key)];
            let rtt = 2 * self.hop(node_az, node.az) + cfg.op_time.0;
            let peek = if self.net.reach(node_az, node.az) {
                c.peek(key, now)
            } else {
                None
            };
            match peek {
                Some(true) => return (rtt, Visit::No),
                // A miss: look, read the database, then fill.
                Some(false) => extra += 2 * rtt,
                // The node is down: the client's connect fails fast (refused).
                None => extra += 2 * self.hop(node_az, node.az),
            }
        }
        let db = self.db.as_mut().expect("checked");
        let target = db.target_for(kind);
        (extra, target.map_or(Visit::Nowhere, Visit::To))
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
        let Some(sh) = self.shopper(s) else { return };
        if sh.req != req {
            return;
        }
        let (kind, node) = (sh.kind, sh.node.expect("routed"));
        let node_az = self.fleet.nodes[node as usize].az;
        if !self.fleet.nodes[node as usize].serving_requests() {
            return; // the node died; the shopper was told
        }
        let db = self.db.as_mut().expect("a query needs a database");
        let inst = &mut db.instances[i];
        let back = self.net.hop(inst.az, node_az);
        if !inst.alive || !self.net.reach(node_az, inst.az) {
            // No answer from a powered-off instance: the driver times out.
            db.stats.failed(kind);
            let t = db.cfg.connect_timeout.0;
            self.outcomes[s as usize] = stratus_model::workload::Outcome::Failed("db_unavailable");
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
            Admit::Full => {
                db.stats.failed(kind);
                self.outcomes[s as usize] =
                    stratus_model::workload::Outcome::Failed("db_too_many_connections");
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
        let Some(sh) = self.shopper(s) else { return };
        if sh.req != req {
            return;
        }
        let node = sh.node.expect("routed");
        let node_az = self.fleet.nodes[node as usize].az;
        q.at(now + self.hop(inst_az, node_az), Event::Done { s, req });
    }

    /// Instance `i` stops. Queries on it fail when the nodes' drivers time out.
    fn kill_db_instance(&mut self, now: SimTime, i: DbIx, q: &mut Queue<Event>) {
        let db = self.db.as_mut().expect("db");
        let victims = db.in_flight(i);
        let wakes = db.kill(i, now);
        let (name, az) = (db.instances[i].name.clone(), db.instances[i].az);
        let timeout = db.cfg.connect_timeout.0;
        for (s, req) in victims {
            let Some(sh) = self.shoppers.get(s as usize).and_then(|x| x.as_ref()) else {
                continue;
            };
            if sh.req != req {
                continue;
            }
            let kind = sh.kind;
            self.db.as_mut().expect("db").stats.failed(kind);
            if let Some(n) = sh.node {
                let back = self.hop(az, self.fleet.nodes[n as usize].az);
                self.outcomes[s as usize] =
                    stratus_model::workload::Outcome::Failed("db_unavailable");
                q.at(now + timeout + back, Event::Done { s, req });
            }
        }
        self.note(
            now,
            "db_instance_lost",
            format!("{name} ({})", self.az_name(az)),
        );
        self.schedule_db(wakes, q);
    }

    fn schedule_db(&mut self, wakes: Vec<Wake>, q: &mut Queue<Event>) {
        for w in wakes {
            match w {
                Wake::Promote { at, epoch } => q.at(at, Event::DbPromote { epoch }),
                Wake::NewStandby { at, epoch } => q.at(at, Event::DbStandby { epoch }),
            }
        }
    }

    /// The database primary fails on its own (`kill_db_primary`).
    pub(super) fn kill_db_primary(&mut self, now: SimTime, q: &mut Queue<Event>) {
        if let Some(p) = self.db.as_ref().and_then(|d| d.primary()) {
            self.kill_db_instance(now, p, q);
        }
    }

    /// Everything of the data tier in `az` loses power.
    pub(super) fn kill_data_az(&mut self, now: SimTime, az: AzIx, q: &mut Queue<Event>) {
        if let Some(c) = &mut self.cache {
            let before = c.stats.keys_lost;
            c.kill_az(az);
            let lost = c.stats.keys_lost - before;
            if c.nodes.iter().any(|n| n.az == az) {
                self.note(
                    now,
                    "cache_node_lost",
                    format!("{} ({lost} keys)", self.az_name(az)),
                );
            }
        }
        let Some(db) = &self.db else { return };
        let victims = db.alive_in(az);
        for i in victims {
            self.kill_db_instance(now, i, q);
        }
    }

    pub(super) fn restore_data_az(&mut self, now: SimTime, az: AzIx) {
        if let Some(c) = &mut self.cache {
            c.restore_az(az);
        }
        if let Some(db) = &mut self.db {
            db.restore_az(az, now);
        }
    }

    pub(super) fn on_db_promote(&mut self, now: SimTime, epoch: u32, q: &mut Queue<Event>) {
        let Some(db) = &mut self.db else { return };
        if let Some((done, wakes)) = db.promote(now, epoch) {
            let (kind, line) = Promotion::event(done.as_ref(), &self.sc.region.azs);
            self.note(now, kind, line);
            self.schedule_db(wakes, q);
        }
    }

    pub(super) fn on_db_standby(&mut self, now: SimTime, epoch: u32) {
        let alive = self.alive.clone();
        let Some(db) = &mut self.db else { return };
        if let Some(name) = db.new_standby(epoch, &alive) {
            let az = db.instances.last().map_or(0, |i| i.az);
            self.note(
                now,
                "db_standby_created",
                format!("{name} ({})", self.az_name(az)),
            );
        }
    }
}
