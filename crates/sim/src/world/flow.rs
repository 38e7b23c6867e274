//! The request path: shopper → balancer → node → shopper.

use super::attack::Family;
use super::{Event, World};
use crate::engine::Queue;
use stratus_model::db::Database;
use stratus_model::db::Visit;
use stratus_model::db::access::DataAt;
use stratus_model::lb::NodeId;
use stratus_model::lb::{LbCookie, Route};
use stratus_model::node::ShopperId;
use stratus_model::retry::{CIRCUIT_OPEN, Client, Heard};
use stratus_model::scenario::Kind;
use stratus_model::scenario::Scenario;
use stratus_model::security::groups::Hop;
use stratus_model::session::SessionBackend;
use stratus_model::session::cookie::{COOKIE_NAME, CookieCodec, browser_keeps};
use stratus_model::session::store::StoreAt;
use stratus_model::shop::{self, Data, Places, Request, SessionIn};
use stratus_model::station::{Admit, Turn};
use stratus_model::target::{self, Connect};
use stratus_model::time::SimTime;
use stratus_model::warmup::slowed;
use stratus_model::wire::{self, Tap};
use stratus_model::workload::{Outcome, Shopper};

/// Request line and the headers a browser sends besides cookies (Host,
/// User-Agent, Accept, Accept-Language, Accept-Encoding, Referer), in bytes.
pub const REQUEST_BASE_BYTES: u64 = 420;
/// `sid=` and 32 hex digits.
pub const SID_COOKIE_BYTES: u64 = 4 + 32;
/// `AWSALB=` and an opaque value of the length ALB's cookie has in practice.
pub const LB_COOKIE_BYTES: u64 = 7 + 128;
/// Status line and the headers a server always sends (Date, Content-Type,
/// Content-Length, Cache-Control, Connection), in bytes.
pub const RESPONSE_BASE_BYTES: u64 = 180;
/// `Set-Cookie: ` and CRLF around a cookie, and its attributes
/// (`; Path=/; Secure; HttpOnly; SameSite=Lax`).
pub const SET_COOKIE_OVERHEAD: u64 = 14 + 41;
/// ALB's stickiness Set-Cookie also carries `Expires=` with a date.
pub const LB_SET_COOKIE_EXTRA: u64 = 38;
/// The whole stickiness Set-Cookie the balancer adds to a response.
pub const LB_SET_COOKIE: u64 = SET_COOKIE_OVERHEAD + LB_COOKIE_BYTES + LB_SET_COOKIE_EXTRA;
/// What ALB adds to each request it forwards to a target (the client's
/// address, protocol and port, and its trace id).
pub const ALB_FORWARDED: &str = "X-Forwarded-For: 203.0.113.195\r\n\
                                 X-Forwarded-Proto: https\r\n\
                                 X-Forwarded-Port: 443\r\n\
                                 X-Amzn-Trace-Id: Root=1-67891233-abcdef012345678912345678\r\n";

impl World {
    pub(super) fn on_arrival(&mut self, now: SimTime, epoch: u32, q: &mut Queue<Event>) {
        if epoch != self.arrival_epoch {
            return;
        }
        self.schedule_arrival(q);
        let rng = self.streams.indexed("shopper", self.shopper_seq);
        let mut sh = Shopper::new(rng, &self.sc.workload, self.cp.alive.len());
        if let Some(d) = &self.sc.database {
            sh.sign_in(self.shopper_seq, d.users);
        }
        prepare(&mut sh, &self.sc, self.db.as_ref(), false);
        let seq = self.shopper_seq;
        self.shopper_seq += 1;
        let s = match self.free.pop() {
            Some(s) => {
                // Request numbers keep rising in a reused slot, so a late
                // event for the slot's last shopper never matches this one.
                sh.req = self.slot_req[s as usize];
                self.shoppers[s as usize] = Some(sh);
                s
            }
            None => {
                self.shoppers.push(Some(sh));
                self.outcomes.add_slot();
                self.slot_req.push(0);
                (self.shoppers.len() - 1) as ShopperId
            }
        };
        self.metrics.started += 1;
        self.client_arrived(s);
        self.attack_arrival(s, seq);
        self.send(s, now, q);
    }

    /// The shopper's browser sends its current request at `at`.
    fn send(&mut self, s: ShopperId, at: SimTime, q: &mut Queue<Event>) {
        let sh = self.shoppers[s as usize].as_mut().expect("active");
        let internet = self.cp.net.internet(sh.entry_az());
        sh.req = sh.req.wrapping_add(1);
        sh.sent_at = at;
        sh.set_node(None);
        sh.reset_extra(|x| x.answer.new_request());
        let mut parts = 0u64;
        let mut bytes = 0u64;
        if sh.sid().is_some() {
            parts += 1;
            bytes += SID_COOKIE_BYTES;
        }
        if sh.lb_cookie().is_some() {
            parts += 1;
            bytes += LB_COOKIE_BYTES;
        }
        if let Some(c) = self.cookies.get(s) {
            parts += 1;
            bytes += CookieCodec::cookie_len(c) as u64;
        }
        // "; " between cookies, "Cookie: " and CRLF around them.
        let cookie = if parts > 0 {
            bytes + 2 * (parts - 1)
        } else {
            0
        };
        let header = if parts > 0 { cookie + 10 } else { 0 };
        let req = sh.req;
        let mut client = Client {
            retries: &mut self.retries,
            breaker: self.client_breakers.get_mut(s as usize),
        };
        if !client.sending(sh, at, &mut self.metrics) {
            // The client's open breaker fails the attempt at once, unsent.
            self.outcomes.set(s, Outcome::Failed(CIRCUIT_OPEN));
            return q.at(at, Event::AtClient { s, req });
        }
        sh.sent_bytes = (REQUEST_BASE_BYTES + header) as u32;
        self.metrics.sent(REQUEST_BASE_BYTES + header, cookie);
        q.at(at + internet, Event::AtLb { s, req });
        self.attempt_sent(at, s, req, q);
    }

    /// Fails the shopper's request in flight; the shopper hears of it at `at`.
    pub(super) fn fail(
        &mut self,
        s: ShopperId,
        cause: &'static str,
        at: SimTime,
        q: &mut Queue<Event>,
    ) {
        if let Some(sh) = self.shopper(s) {
            let req = sh.req;
            self.outcomes.set(s, Outcome::Failed(cause));
            q.at(at, Event::AtClient { s, req });
        }
    }

    pub(super) fn on_lb(&mut self, now: SimTime, s: ShopperId, req: u32, q: &mut Queue<Event>) {
        let Some(sh) = self.shoppers.get_mut(s as usize).and_then(|x| x.as_mut()) else {
            return;
        };
        if sh.req != req {
            return;
        }
        let entry = sh.entry_az();
        if !self.sec.pass(Hop::ClientToLb, entry) {
            // Dropped: the browser hears nothing until its connect timeout.
            let t = self.sc.load_balancer.connect_timeout.0;
            return self.fail(s, "connect_timeout", now + t, q);
        }
        if self.sc.dns.is_some() {
            if !self.dns_entry(now, s, q) {
                return;
            }
        } else {
            // An ideal resolver: only answering balancer nodes, at once.
            let sh = self.shoppers[s as usize].as_mut().expect("active");
            let (alive, net) = (&self.cp.alive, &self.cp.net);
            if !net.answers(alive, sh.entry_az()) {
                match net.next_answering(alive, sh.entry_az()) {
                    Some(a) => sh.set_entry_az(a),
                    None => {
                        let back = net.internet(sh.entry_az());
                        return self.fail(s, "lb_unreachable", now + back, q);
                    }
                }
            }
        }
        let sh = self.shoppers[s as usize].as_mut().expect("active");
        let (cookie, entry) = (sh.lb_cookie(), sh.entry_az());
        let cookie = if self.sticky_lb { cookie } else { None };
        match self.cp.lb.route_from(entry, cookie, now) {
            Route::NoTargets => {
                let back = self.cp.net.internet(entry);
                self.fail(s, "no_targets", now + back, q)
            }
            Route::NoTargetsInZone => {
                let back = self.cp.net.internet(entry);
                self.fail(s, "no_targets_in_zone", now + back, q)
            }
            Route::To { node, .. } => {
                if let Some(t) = &mut self.cp.tracker {
                    t.routed();
                }
                let duration = self.sc.load_balancer.stickiness_duration.0;
                let sticky = self.sticky_lb;
                let node_az = self.cp.fleet.nodes[node as usize].az;
                let sh = self.shoppers[s as usize].as_mut().expect("active");
                if sticky {
                    sh.set_lb_cookie(LbCookie {
                        node,
                        expires: now + duration,
                    });
                }
                sh.set_node(Some(node));
                sh.lb_held = true;
                let hop = self.cp.net.hop(sh.entry_az(), node_az);
                q.at(now + hop, Event::AtNode { s, req });
            }
        }
    }

    pub(super) fn on_node(&mut self, now: SimTime, s: ShopperId, req: u32, q: &mut Queue<Event>) {
        let Some(sh) = self.shopper(s) else { return };
        if sh.req != req {
            return;
        }
        let (entry, sent) = (sh.entry_az(), u64::from(sh.sent_bytes));
        let id = sh.node().expect("routed");
        let internet = self.cp.net.internet(entry);
        let node = &self.cp.fleet.nodes[id as usize];
        let back = self.hop(node.az, entry) + internet;
        if !self.sec.pass(Hop::LbToNode, entry) {
            // Dropped by the node's security group: as for a powered-off node.
            let t = self.sc.load_balancer.connect_timeout.0;
            return self.fail(s, "connect_timeout", now + t + back, q);
        }
        let node = &self.cp.fleet.nodes[id as usize];
        match target::connect(node.state, self.cp.net.reach(entry, node.az)) {
            Connect::TimesOut => {
                let t = self.sc.load_balancer.connect_timeout.0;
                return self.fail(s, "connect_timeout", now + t + back, q);
            }
            Connect::Hangs => {
                let t = stratus_model::net::LB_IDLE_TIMEOUT;
                return self.fail(s, "gateway_timeout", now + t + back, q);
            }
            Connect::Refused => return self.fail(s, "connection_refused", now + back, q),
            Connect::Accepted => {}
        }
        // The node takes the request: it crossed from the balancer node.
        let node_az = node.az;
        let forwarded = sent + ALB_FORWARDED.len() as u64;
        self.wire.send(wire::Hop::LbNode, entry, node_az, forwarded);
        if self.injected_error(id, node_az) {
            self.wire
                .send(wire::Hop::LbNode, node_az, entry, RESPONSE_BASE_BYTES);
            self.release(now, s, q);
            return self.fail(s, "injected_error", now + back, q);
        }
        let f = &self.sc.fleet;
        let (workers, limit) = (f.workers, f.queue_limit);
        if let Some(sh) = self.shopper(s) {
            sh.arrived_node = now;
        }
        match self.cp.fleet.nodes[id as usize]
            .station
            .admit((s, req), now, workers, limit)
        {
            Admit::Start => {
                self.metrics.queue.enter(now);
                self.begin_service(now, id, (s, req), 0, q);
            }
            Admit::Queued => self.metrics.queue.enter(now),
            Admit::Full => {
                // The node answers 503 at once.
                self.wire
                    .send(wire::Hop::LbNode, node_az, entry, RESPONSE_BASE_BYTES);
                self.release(now, s, q);
                self.fail(s, "queue_full", now + back, q);
            }
        }
    }

    /// A worker picks up the shopper's request `req` after `wait` in the queue.
    pub(super) fn begin_service(
        &mut self,
        now: SimTime,
        id: NodeId,
        (s, req): (ShopperId, u32),
        wait: u64,
        q: &mut Queue<Event>,
    ) {
        self.metrics.queue.start(wait);
        if !matches!(&self.shoppers[s as usize], Some(sh) if sh.req == req) {
            return self.serve_orphan(now, id, s, req, q);
        }
        let node_az = self.cp.fleet.nodes[id as usize].az;
        if self.backend_dropped(now, s, node_az, q) {
            return;
        }
        let slow = self.service_factor(id, now);
        let sh = self.shoppers[s as usize].as_ref().expect("active");
        self.fetch_session(id, s, sh);
        let mut dur = slowed(sh.demand, slow);
        if self.strategy.uses_store() {
            dur += if self.sc.fleet.calls.store == stratus_model::calls::CallPolicy::none() {
                self.session_trips(s, node_az)
            } else {
                self.store_calls(now + dur, id, s, node_az)
            };
        }
        let (extra, visit) = self.data_phase(now, s, node_az);
        let at = now + dur + extra;
        match visit {
            Visit::No => q.at(at, Event::Done { s, req }),
            Visit::To(i) if self.db_calls_on() => self.db_call(id, s, req, at, i, q),
            Visit::To(i) => {
                let az = self.db.as_ref().expect("visit").instances[i].az;
                self.shoppers[s as usize]
                    .as_mut()
                    .expect("active")
                    .extra_mut()
                    .db_target = Some(i);
                let inst = i as u8;
                q.at(at + self.hop(node_az, az), Event::AtDb { s, req, inst });
            }
            Visit::Nowhere => {
                let kind = self.shoppers[s as usize].as_ref().expect("active").kind;
                self.db.as_mut().expect("visit").stats.failed(kind);
                self.outcomes
                    .set(s, Outcome::Failed(stratus_model::db::DB_UNAVAILABLE));
                q.at(at, Event::Done { s, req });
            }
        }
    }

    pub(super) fn on_done(&mut self, now: SimTime, s: ShopperId, req: u32, q: &mut Queue<Event>) {
        let Some(sh) = self
            .shoppers
            .get_mut(s as usize)
            .and_then(|x| x.as_mut())
            .filter(|sh| sh.req == req)
        else {
            return self.orphan_done(now, s, req, q);
        };
        let id = sh.node().expect("routed");
        let node = &mut self.cp.fleet.nodes[id as usize];
        if !node.serving_requests() {
            return; // the node died mid-request; the shopper was already told
        }
        let tap = Some(Tap {
            wire: &self.wire,
            az: node.az,
        });
        let line = (sh.kind == Kind::Address).then(|| {
            self.address_writes += 1;
            sh.extra_mut().address_write = self.address_writes;
            address_line(self.address_writes)
        });
        let request = Request {
            kind: sh.kind,
            item: sh.item,
            session: SessionIn::of(self.strategy, sh.sid(), self.cookies.get(s)),
            user: sh.extra().user,
            product: sh.extra().product,
            address: line.as_deref(),
        };
        let sids = &mut self.sids;
        let mut new_sid = || sids.u128();
        let (read_at, read) = (sh.extra().store_read_at, sh.extra().db_target);
        let uses_store = self.strategy.uses_store();
        // The shopper's session lives in one place: the store or the node.
        let (store_hint, memory_hint) = match uses_store {
            true => (Some(&mut sh.session_at), None),
            false => (None, Some(&mut sh.session_at)),
        };
        let mut at_store = StoreAt {
            store: &mut self.store,
            now,
            read_at: read_at.map(usize::from),
            info: Default::default(),
            tap,
            hint: store_hint,
        };
        let mut memory = node
            .sessions
            .at(now, self.sc.sessions.memory.timeout.0)
            .hinted(memory_hint);
        let backend = shop::backend(
            self.strategy,
            Places {
                memory: &mut memory,
                store: uses_store.then_some(&mut at_store as &mut dyn SessionBackend),
                codec: &self.codec,
                guard: self.guard.as_mut(),
                now,
            },
        );
        let mut data = self.db.as_mut().map(|db| DataAt {
            db,
            cache: self.cache.as_mut(),
            now,
            read,
            tap,
        });
        let data = data.as_mut().map(|d| d as &mut dyn Data);
        let outcome = self.outcomes.slot(s);
        // A failure in the data phase already decided the answer.
        if !matches!(outcome, Outcome::Failed(_)) {
            *outcome = Outcome::Ok(shop::Response::default());
            let Outcome::Ok(r) = outcome else {
                unreachable!("just set")
            };
            match shop::handle_into(request, backend, data, &mut new_sid, r) {
                Ok(()) => {
                    if r.cookie_rejected.is_some() {
                        self.metrics.cookies_rejected += 1;
                    }
                    r.stale = at_store.info.stale;
                }
                Err(shop::Failure::SessionUnavailable) => {
                    *outcome =
                        Outcome::Failed(stratus_model::session::store::SESSION_STORE_UNAVAILABLE)
                }
                Err(shop::Failure::Database) => {
                    *outcome = Outcome::Failed(stratus_model::db::DB_UNAVAILABLE)
                }
            }
        }
        let entry = sh.entry_az();
        answered(&self.wire, node.az, entry, outcome);
        let back = self.cp.net.hop(node.az, entry) + self.cp.net.internet(entry);
        let arrived = sh.arrived_node;
        self.metrics.queue.leave(now, now - arrived);
        q.at(now + back, Event::AtClient { s, req });
        self.next_job(now, id, (s, req), q);
        self.release(now, s, q);
    }

    /// Node `id` finished `job`: its next queued request, if any, starts.
    pub(super) fn next_job(
        &mut self,
        now: SimTime,
        id: NodeId,
        job: (ShopperId, u32),
        q: &mut Queue<Event>,
    ) {
        let mut done = job;
        let (order, timeout) = (self.sc.fleet.queue_order, self.sc.fleet.queue_timeout);
        // The worker takes its next request in the fleet's queue order.
        while let Some(turn) = self.cp.fleet.nodes[id as usize]
            .station
            .turn(done, order, now, timeout)
        {
            match turn {
                Turn::Shed(next) => {
                    self.shed(now, id, next, q);
                    done = next;
                }
                Turn::Serve(next, wait) => return self.begin_service(now, id, next, wait, q),
            }
        }
    }

    /// The balancer is done with the shopper's request.
    pub(super) fn release(&mut self, now: SimTime, s: ShopperId, q: &mut Queue<Event>) {
        let Some(sh) = self.shopper(s) else { return };
        if !std::mem::take(&mut sh.lb_held) {
            return;
        }
        let node = sh.node().expect("routed");
        self.released(now, node, q);
    }

    pub(super) fn on_client(&mut self, now: SimTime, s: ShopperId, req: u32, q: &mut Queue<Event>) {
        match self.shopper(s) {
            Some(sh) if sh.req == req => {}
            _ => return,
        }
        self.release(now, s, q);
        let max_cookie = u64::from(self.sc.sessions.cookie.max_bytes);
        let sticky = self.sticky_lb;
        // The response is read where it was decided, and dropped there.
        let outcome = self.outcomes.slot(s);
        let w = &self.sc.workload;
        let sh = self.shoppers[s as usize].as_mut().expect("active");
        let m = &mut self.metrics;
        let mut client = Client {
            retries: &mut self.retries,
            breaker: self.client_breakers.get_mut(s as usize),
        };
        let when = (now, now - sh.sent_at);
        // The client's decision is the model's; what the browser keeps from
        // an answer (cookies) and what the run observes of it are the driver's.
        let next = match outcome {
            Outcome::Pending => unreachable!("a response is decided before it is delivered"),
            Outcome::Failed(cause) => client.heard(sh, w, Heard::Failed(cause), when, m),
            Outcome::Ok(r) => {
                let (family, think) = (Family::of(self.strategy), w.think_time.0 as f64);
                let internet = self.sc.region.latency.internet.0;
                let attackers = &mut self.sec.attackers;
                let sent = (&*sh, self.cookies.get(s));
                attackers.observe(s, sent, r, family, now + internet, think, q);
                m.response_bytes += response_head(r, sticky);
                m.responses_ok += 1;
                if let Some(db) = &mut self.db {
                    check_reads(sh, r, db);
                }
                if let Some(sid) = r.set_sid {
                    sh.set_sid(sid);
                }
                if let Some(c) = r.set_cookie.take() {
                    if !browser_keeps(COOKIE_NAME, c.len(), max_cookie) {
                        // A browser ignores a Set-Cookie over its limit: the old
                        // cookie stays, and the cart silently stops growing.
                        m.cookies_ignored += 1;
                    } else {
                        self.cookies.set(s, c);
                    }
                }
                client.heard(sh, w, Heard::Ok(r), when, m)
            }
        };
        self.outcomes.clear(s);
        match next.wait() {
            Some(wait) => {
                prepare(sh, &self.sc, self.db.as_ref(), next.repeats());
                self.send(s, now + wait, q);
            }
            None => {
                self.metrics.finished += 1;
                self.slot_req[s as usize] = sh.req;
                self.shoppers[s as usize] = None;
                self.cookies.forget(s);
                self.free.push(s);
            }
        }
    }
}

impl World {
    /// What stretches node `id`'s service times at `now`: gray faults and
    /// its warm-up, composed in the model.
    pub(super) fn service_factor(&self, id: NodeId, now: SimTime) -> f64 {
        let node = &self.cp.fleet.nodes[id as usize];
        stratus_model::warmup::service_factor(
            &self.cp.degraded,
            self.sc.fleet.warmup_curve.as_ref(),
            (id, node.az),
            node.in_service_at,
            now,
        )
    }
}

/// The node's answer goes back to the balancer node in `entry`: the page's
/// head, or an error page's.
fn answered(w: &stratus_model::wire::Wire, node_az: usize, entry: usize, outcome: &Outcome) {
    let head = match outcome {
        Outcome::Ok(r) => response_head(r, false),
        _ => RESPONSE_BASE_BYTES,
    };
    w.send(wire::Hop::LbNode, node_az, entry, head);
}

/// A response's status line and headers: the node's, and with `sticky` the
/// stickiness cookie the balancer refreshes on every response.
fn response_head(r: &shop::Response, sticky: bool) -> u64 {
    let mut header = RESPONSE_BASE_BYTES;
    if r.set_sid.is_some() {
        header += SET_COOKIE_OVERHEAD + SID_COOKIE_BYTES;
    }
    if let Some(c) = &r.set_cookie {
        header += SET_COOKIE_OVERHEAD + CookieCodec::cookie_len(c) as u64;
    }
    if sticky {
        header += LB_SET_COOKIE;
    }
    header
}

/// Draws the shopper's next request: its service demand, its item (unless a
/// retry), and with a database the product a product page shows.
fn prepare(sh: &mut Shopper, sc: &Scenario, db: Option<&Database>, retry: bool) {
    let f = &sc.fleet;
    sh.prepare(
        &sc.workload,
        f.service_time.get(sh.kind).0,
        f.service_distribution,
        retry,
        db.map(|d| &d.popularity),
    );
    sh.reset_extra(|x| x.db_target = None);
}

/// The address the `n`-th address change of the run sets. Numbered, so an
/// account page showing an older change (or the seed's address) is told
/// apart from one showing a newer change by another shopper of the same user.
fn address_line(n: u64) -> String {
    format!("Flat {n}, Harbour Road")
}

/// The change number in an address line; 0 for the seed data's addresses.
fn address_number(line: &str) -> u64 {
    line.strip_prefix("Flat ")
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Compares what a data page showed with what the shopper knows it wrote:
/// an order just placed missing from history, or an old address, is a stale read.
fn check_reads(sh: &mut Shopper, r: &shop::Response, db: &mut Database) {
    // The order part is the shopper's own (both drivers judge it alike).
    if sh.stale_orders(r) {
        db.stats.stale_order_reads += 1;
    }
    match sh.kind {
        Kind::Address => {
            let x = sh.extra_mut();
            x.address = Some(x.address_write);
        }
        Kind::Account => {
            if let (Some(mine), Some(acc)) = (sh.extra().address, &r.account)
                && acc.addresses.iter().all(|a| address_number(a) < mine)
            {
                db.stats.stale_account_reads += 1;
            }
        }
        _ => {}
    }
}
