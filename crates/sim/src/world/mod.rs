//! The architecture in virtual time: the model's parts (`stratus-model`)
//! composed into one state machine the discrete-event engine drives.
//!
//! `World` is given the time and an event, updates its parts and schedules the
//! wake-ups it wants; it never reads a clock or touches I/O. The request path
//! lives in `flow` (with its data and session phases in `data` and
//! `trips`). What the cloud decides (power, the network, the group, the
//! balancer's registrations, the data tier's failovers) is the model's
//! control plane, `stratus_model::control::ControlPlane`, which the live
//! driver runs too; `ops` hands it its inputs and executes its effects in
//! virtual time, and `tests/suite/parity.rs` holds the two drivers together.

mod ahead;
pub mod attack;
mod calls;
mod cookies;
mod data;
mod dns;
mod flow;
mod ops;
mod outcomes;
mod retry;
pub mod security;
pub mod snapshot;
mod trips;

pub use flow::{ALB_FORWARDED, LB_SET_COOKIE};

use crate::engine::{Model, Queue};
use std::collections::BTreeMap;
use stratus_model::arrivals::Process;
use stratus_model::cache::Cache;
use stratus_model::calls::{CallStats, NodeBreakers};
use stratus_model::control::{ControlPlane, Effect, Input, Timer};
use stratus_model::db::Database;
use stratus_model::lb::NodeId;
use stratus_model::metrics::{AzNodes, Metrics};
use stratus_model::node::ShopperId;
use stratus_model::report::LogEvent;
use stratus_model::retry::Retries;
use stratus_model::rng::{Rng, Streams};
use stratus_model::scenario::{Action, AzIx, Scenario, Strategy, Timed};
use stratus_model::session::cookie::CookieCodec;
use stratus_model::session::guard::CookieGuard;
use stratus_model::session::memory::SWEEP_EVERY;

use stratus_model::session::store::{Store, StoreConfig};
use stratus_model::time::{Dur, SEC, SimTime};
use stratus_model::wire::Wire;
use stratus_model::workload::Shopper;

/// Everything that can wake the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The next shopper arrives (ignored if the rate changed since: `epoch`).
    Arrival {
        epoch: u32,
    },
    /// A shopper's request reaches the balancer.
    AtLb {
        s: ShopperId,
        req: u32,
    },
    /// The request reaches its node.
    AtNode {
        s: ShopperId,
        req: u32,
    },
    /// The node finishes serving it.
    Done {
        s: ShopperId,
        req: u32,
    },
    /// The answer (or the failure) reaches the shopper.
    AtClient {
        s: ShopperId,
        req: u32,
    },
    HealthCheck {
        node: NodeId,
    },
    HealthResult {
        node: NodeId,
        pass: bool,
    },
    /// A wake-up the control plane asked for.
    Timer(Timer),
    /// The scenario's timeline entry `index` happens.
    Action {
        index: u32,
    },
    /// One simulated second passed: close a row of the series.
    Tick,
    /// A shopper's query reaches database instance `inst`.
    AtDb {
        s: ShopperId,
        req: u32,
        inst: u8,
    },
    /// The instance finished the query.
    DbDone {
        s: ShopperId,
        req: u32,
        inst: u8,
    },
    /// An attacker's probe reaches the balancer (see [`attack`]).
    Probe {
        p: u32,
    },
    /// The client's timeout for request `req` runs out (`workload.retry.timeout`).
    Timeout {
        s: ShopperId,
        req: u32,
    },
    /// A database call's answer, or its failure, reaches the node
    /// (`[fleet.calls.database]`; `code` as in [`calls`]).
    DbEnd {
        s: ShopperId,
        req: u32,
        code: u8,
    },
    /// The node's timeout for a database attempt runs out.
    DbTimeout {
        s: ShopperId,
        req: u32,
        attempt: u32,
    },
    /// The node sends a database call again after its backoff.
    DbRetry {
        s: ShopperId,
        req: u32,
    },
}

pub struct World {
    pub sc: Scenario,
    pub strategy: Strategy,
    sticky_lb: bool,
    /// What the cloud decides: power, the network, the group, the balancer.
    pub cp: ControlPlane,
    /// The control plane's answer being executed (kept for its capacity).
    effects: Vec<Effect>,
    pub store: Store,
    /// The SQL tier, when the scenario has one.
    pub db: Option<Database>,
    pub cache: Option<Cache>,
    codec: CookieCodec,
    /// Expiry and version checks on cart cookies, when the scenario asks.
    guard: Option<CookieGuard>,
    /// Security groups on every hop, drops, attackers.
    pub sec: security::Security,
    shoppers: Vec<Option<Shopper>>,
    /// How each shopper's request in flight ended, by shopper index; kept
    /// apart from `shoppers` because only two of a request's events read
    /// it, and held only while decided (see [`outcomes`]).
    outcomes: outcomes::Outcomes,
    /// The cart cookie each shopper's browser holds (the cookie design).
    cookies: cookies::CartCookies,
    free: Vec<ShopperId>,
    /// Per table slot, the last request number its last shopper used.
    slot_req: Vec<u32>,
    /// Requests whose caller gave up while a node held them.
    orphans: BTreeMap<(ShopperId, u32), retry::Orphan>,
    /// The clients' retry policy, budget and jitter.
    retries: Retries,
    /// Draws for `inject_errors`.
    errors: Rng,
    /// Each client's breaker (`workload.retry.breaker`), by shopper slot;
    /// empty without one.
    client_breakers: Vec<stratus_model::breaker::Breaker>,
    /// Each node's breakers (`[fleet.calls]`), by node id.
    breakers: Vec<NodeBreakers>,
    pub call_stats: CallStats,
    /// Backoff draws for the nodes' retries.
    call_jitter: Rng,
    /// Database calls in flight under `[fleet.calls.database]`.
    db_calls: BTreeMap<(ShopperId, u32), calls::DbCall>,
    streams: Streams,
    arrivals: Rng,
    sids: Rng,
    /// When shoppers arrive: the scenario's shape until a `set_arrivals`.
    arrival: Process,
    arrival_epoch: u32,
    shopper_seq: u64,
    /// Address changes sent so far (each gets its number).
    address_writes: u64,
    pub metrics: Metrics,
    /// Bytes per hop, and those that crossed AZs: the cross-AZ bill.
    pub wire: Wire,
    pub log: Vec<LogEvent>,
    /// Actions added while running ([`World::inject`]), in the order given.
    pub injected: Vec<Timed>,
}

impl World {
    /// Builds the world for `sc` under `strategy` and `seed`.
    pub fn new(sc: Scenario, strategy: Strategy, seed: u64) -> World {
        let streams = Streams::new(seed);
        let key: [u8; 32] = {
            let mut r = streams.stream("cookie_key");
            let mut k = [0u8; 32];
            for c in k.chunks_mut(8) {
                c.copy_from_slice(&r.u64().to_le_bytes());
            }
            k
        };
        let codec = CookieCodec::new(sc.sessions.cookie.signed.then_some(&key[..]));
        let azs = sc.region.azs.len();
        let store_cfg = match strategy {
            Strategy::Durable => StoreConfig::dynamo(&sc.sessions.durable, azs),
            _ => StoreConfig::redis(&sc.sessions.store, azs),
        };
        let w = &sc.workload;
        let db = sc.database.as_ref().map(|d| {
            // In-memory SQLite with the bundled library: failing here means
            // the process is out of memory, not a problem with the scenario.
            Database::new(d, w.catalog, w.popularity, &streams)
                .expect("an in-memory SQLite database")
        });
        let cache = sc
            .cache
            .as_ref()
            .map(|c| Cache::new(&c.nodes, c.ttl.0, c.op_time.0));
        World {
            db,
            cache,
            strategy,
            sticky_lb: sc.sticky_lb(strategy),
            cp: ControlPlane::new(&sc, strategy),
            effects: Vec::new(),
            store: Store::new(store_cfg, streams.stream("store_lag")),
            codec,
            guard: CookieGuard::new(sc.sessions.cookie.max_age, sc.sessions.cookie.versioned),
            sec: security::Security::new(&sc, &streams),
            shoppers: Vec::new(),
            outcomes: outcomes::Outcomes::default(),
            cookies: cookies::CartCookies::default(),
            free: Vec::new(),
            slot_req: Vec::new(),
            orphans: BTreeMap::new(),
            retries: Retries::new(sc.workload.retry, streams.stream("retry_jitter")),
            errors: streams.stream("injected_errors"),
            client_breakers: Vec::new(),
            breakers: Vec::new(),
            call_stats: CallStats::default(),
            call_jitter: streams.stream("call_jitter"),
            db_calls: BTreeMap::new(),
            arrivals: streams.stream("arrivals"),
            sids: streams.stream("session_ids"),
            streams,
            arrival: Process::new(
                sc.workload.arrivals_per_second,
                sc.workload.arrivals.clone(),
            ),
            arrival_epoch: 0,
            shopper_seq: 0,
            address_writes: 0,
            metrics: Metrics::default(),
            wire: Wire::default(),
            log: Vec::new(),
            injected: Vec::new(),
            sc,
        }
    }

    /// Puts the starting fleet in service and schedules the run's first wake-ups.
    pub fn start(&mut self, q: &mut Queue<Event>) {
        self.cp.start(&mut self.effects);
        self.execute(0, q);
        self.schedule_arrival(q);
        q.at(SEC, Event::Tick);
        for (i, t) in self.sc.timeline.iter().enumerate() {
            q.first_at(t.at.0, Event::Action { index: i as u32 });
        }
    }

    /// Adds `action` to the timeline at `at` and schedules it like a scripted
    /// one, so it acts, is logged and is charged its faults exactly as the
    /// same entry written in the scenario would be (a dashboard's key press,
    /// a replay). `at` must be later than every event processed so far; the
    /// action is recorded in [`World::injected`].
    pub fn inject(&mut self, at: SimTime, action: Action, q: &mut Queue<Event>) {
        let index = self.sc.timeline.len() as u32;
        let timed = Timed {
            at: Dur(at),
            action,
        };
        self.injected.push(timed.clone());
        self.sc.timeline.push(timed);
        q.first_at(at, Event::Action { index });
    }

    pub(super) fn schedule_arrival(&mut self, q: &mut Queue<Event>) {
        if let Some(at) = self.arrival.next(&mut self.arrivals, q.now()) {
            q.at(
                at,
                Event::Arrival {
                    epoch: self.arrival_epoch,
                },
            );
        }
    }

    /// One-way delay between two AZs.
    fn hop(&self, a: AzIx, b: AzIx) -> u64 {
        self.cp.net.hop(a, b)
    }

    fn shopper(&mut self, s: ShopperId) -> Option<&mut Shopper> {
        self.shoppers.get_mut(s as usize).and_then(|x| x.as_mut())
    }

    /// Active shoppers, in table order (deterministic).
    fn active_shoppers(&self) -> impl Iterator<Item = &Shopper> {
        self.shoppers.iter().flatten()
    }

    pub fn note(&mut self, now: SimTime, kind: &str, detail: String) {
        self.log.push(LogEvent {
            t_s: now as f64 / SEC as f64,
            kind: kind.to_string(),
            detail,
        });
    }

    /// Every node frees the sessions idle past `[sessions.memory] timeout`,
    /// and the store's primaries delete the sessions past their TTL.
    fn expire_sessions(&mut self, now: SimTime) {
        let idle = self.sc.sessions.memory.timeout.0;
        for n in &mut self.cp.fleet.nodes {
            n.sessions.expire(now, idle);
        }
        if self.strategy.uses_store() {
            self.store.expire(now, Some(&self.wire));
        }
    }

    /// Node counts per AZ and state, as the dashboard and series show them.
    pub fn nodes_per_az(&self) -> Vec<AzNodes> {
        let cp = &self.cp;
        stratus_model::snapshot::az_nodes(&cp.fleet, &cp.lb, cp.alive.len())
    }
}

impl Model for World {
    type Event = Event;

    #[inline]
    fn prefetch(&self, next: &Event) {
        self.fetch_ahead(next);
    }

    fn handle(&mut self, now: SimTime, ev: Event, q: &mut Queue<Event>) {
        match ev {
            Event::Arrival { epoch } => self.on_arrival(now, epoch, q),
            Event::AtLb { s, req } => self.on_lb(now, s, req, q),
            Event::AtNode { s, req } => self.on_node(now, s, req, q),
            Event::Done { s, req } => self.on_done(now, s, req, q),
            Event::AtClient { s, req } => self.on_client(now, s, req, q),
            Event::HealthCheck { node } => self.on_health_check(node, q),
            Event::HealthResult { node, pass } => {
                self.control(now, Input::Health { node, pass }, q)
            }
            Event::Timer(t) => self.control(now, Input::Timer(t), q),
            Event::Action { index } => {
                let action = self.sc.timeline[index as usize].action.clone();
                self.control(now, Input::Action(&action), q);
            }
            Event::AtDb { s, req, inst } => self.on_at_db(now, s, req, inst.into(), q),
            Event::DbDone { s, req, inst } => self.on_db_done(now, s, req, inst.into(), q),
            Event::Probe { p } => self.on_probe(now, p, q),
            Event::Timeout { s, req } => self.on_timeout(now, s, req, q),
            Event::DbEnd { s, req, code } => self.on_db_end(now, s, req, code, q),
            Event::DbTimeout { s, req, attempt } => self.on_db_timeout(now, s, req, attempt, q),
            Event::DbRetry { s, req } => self.on_db_retry(now, s, req, q),
            Event::Tick => {
                let t = (now / SEC) as u32;
                let nodes = self.nodes_per_az();
                self.metrics.second(t, nodes);
                if self.cp.tracker.is_some() {
                    self.control(now, Input::Second, q);
                }
                if now.is_multiple_of(SWEEP_EVERY) {
                    self.expire_sessions(now);
                }
                if now + SEC <= self.sc.duration.0 {
                    q.after(SEC, Event::Tick);
                }
            }
        }
    }
}
