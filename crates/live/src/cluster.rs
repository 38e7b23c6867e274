//! The live shop's side of the control plane (`stratus_model::control`, the
//! same state machine the simulation runs): the fleet's node servers and the
//! lock they are changed under. It hands the control plane its inputs (an
//! admin action, a health check's result, a timer it asked for, a request
//! the balancer let go of) and executes the effects on real sockets, at
//! wall-clock times: a node that serves gets a listener, a node that stops
//! loses it (or hangs), a wake-up is a timer.

use super::http::{Place, accept_loop};
use super::node::{NodeCtx, Shop};
use super::resolver::{NoEntry, Resolver};
use super::sessions::NodeSessions;
use hyper::service::service_fn;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use stratus_model::cache::Cache;
use stratus_model::control::{ControlPlane, Data, DataTier, Effect, Input, Timer};
use stratus_model::db::Database;
use stratus_model::lb::NodeId;
use stratus_model::node::NodeState;
use stratus_model::report::LogEvent;
use stratus_model::scenario::{AzIx, Scenario};
use stratus_model::session::store::Store;
use stratus_model::time::{SEC, SimTime};
use tokio::task::AbortHandle;

/// A node's runtime part: where it listens and the task serving it.
pub struct LiveNode {
    pub addr: SocketAddr,
    pub ctx: Arc<NodeCtx>,
    task: AbortHandle,
}

/// Everything the admin API and the balancer change, under one lock held only
/// for bookkeeping (never across an await).
pub struct Control {
    /// What the cloud decides: the model's control plane.
    pub cp: ControlPlane,
    /// By node id; None once the node is powered off or before it listens.
    pub nodes: Vec<Option<LiveNode>>,
    /// Addresses by node id, kept after a node dies so health checks really
    /// knock on a closed port.
    pub addrs: Vec<Option<SocketAddr>>,
    pub log: Vec<LogEvent>,
    /// The balancer node the last request came in through (see `proxy`).
    pub entry: AzIx,
    /// With `[dns]`: the clients' cached answers (see `resolver`).
    pub resolver: Resolver,
    /// Requests through the balancer, by second.
    pub series: super::series::Series,
    /// When (s) each action was applied.
    pub injected: Vec<f64>,
}

pub struct Cluster {
    pub sc: Scenario,
    pub shop: Arc<Shop>,
    pub sticky: bool,
    pub control: Mutex<Control>,
    /// What each node's listener holds its clients to.
    pub limits: super::limits::Limits,
}

/// Why an admin action was refused.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("no AZ named {0:?}; the region has {1}")]
    UnknownAz(String, String),
    #[error("desired capacity {0} is outside the group's min {1} and max {2}")]
    Capacity(u32, u32, u32),
    #[error("the store has no primary to fail over")]
    NoPrimary,
    #[error("a rolling deploy is already under way")]
    Deploying,
    #[error("{0}")]
    Action(#[from] stratus_model::scenario::EntryError),
    #[error("{action} is not applied by the live shop: {why}")]
    NotLive {
        action: &'static str,
        why: &'static str,
    },
}

/// The data tier as the control plane asks for it: locked only when an
/// input needs it, all three parts at once and in the request path's order
/// (store, database, cache), so the two never wait on each other in a circle.
struct Locked<'a> {
    shop: &'a Shop,
    held: Option<Held<'a>>,
}

type Held<'a> = (
    MutexGuard<'a, Store>,
    Option<MutexGuard<'a, Database>>,
    Option<MutexGuard<'a, Cache>>,
);

impl DataTier for Locked<'_> {
    fn data(&mut self) -> Data<'_> {
        let shop = self.shop;
        let (store, db, cache) = self.held.get_or_insert_with(|| {
            (
                shop.store.lock().expect("store lock"),
                shop.db.as_ref().map(|d| d.lock().expect("db lock")),
                shop.cache.as_ref().map(|c| c.lock().expect("cache lock")),
            )
        });
        Data {
            store: &mut *store,
            db: db.as_deref_mut(),
            cache: cache.as_deref_mut(),
        }
    }
}

impl Cluster {
    pub fn new(sc: Scenario, shop: Arc<Shop>, limits: super::limits::Limits) -> Arc<Cluster> {
        let sticky = sc.sticky_lb(shop.strategy);
        let control = Control {
            cp: ControlPlane::new(&sc, shop.strategy),
            nodes: Vec::new(),
            addrs: Vec::new(),
            log: Vec::new(),
            entry: 0,
            resolver: Resolver::new(sc.seed, sc.region.azs.len()),
            series: Default::default(),
            injected: Vec::new(),
        };
        Arc::new(Cluster {
            sc,
            shop,
            sticky,
            control: Mutex::new(control),
            limits,
        })
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Control> {
        self.control.lock().expect("control lock")
    }

    pub fn az(&self, name: &str) -> Result<AzIx, OpError> {
        self.sc
            .az(name)
            .ok_or_else(|| OpError::UnknownAz(name.into(), self.sc.region.azs.join(", ")))
    }

    pub(crate) fn note(&self, c: &mut Control, kind: &str, detail: String) {
        let t_s = self.shop.clock.now() as f64 / SEC as f64;
        eprintln!("[{t_s:8.3}s] {kind} {detail}");
        c.log.push(LogEvent {
            t_s: (t_s * 1000.0).round() / 1000.0,
            kind: kind.into(),
            detail,
        });
    }

    /// Hands `input` to the control plane now and executes what it answers;
    /// the first line it logged (an action's own line), if any.
    pub(crate) fn run(self: &Arc<Self>, c: &mut Control, input: Input<'_>) -> Option<String> {
        let now = self.shop.clock.now();
        let mut effects = Vec::new();
        let mut tier = Locked {
            shop: &self.shop,
            held: None,
        };
        c.cp.handle(now, input, &mut tier, &mut effects);
        drop(tier);
        let first = self.execute(c, effects);
        if let (Some(pg), Some(db)) = (&self.shop.pg, &self.shop.db) {
            // The servers carry out what the control plane decided.
            pg.reconcile(&db.lock().expect("db lock"));
        }
        if let Some(r) = &self.shop.redis {
            let model = self.shop.store.lock().expect("store lock").overall();
            r.reconcile(&c.cp.alive, model);
        }
        first
    }

    /// Executes the control plane's effects in order. What only the
    /// simulation has (each shopper's ground truth, queries queued at an
    /// instance) is not here: `stratus load` counts carts against its own.
    fn execute(self: &Arc<Self>, c: &mut Control, effects: Vec<Effect>) -> Option<String> {
        let mut first = None;
        // Wake-ups for the same instant run on one timer, in the order the
        // control plane asked for them, as the simulation's (time,
        // sequence) order runs them: two timers could fire either way.
        let mut wakes: Vec<(SimTime, Vec<Timer>)> = Vec::new();
        for e in effects {
            match e {
                Effect::Log { kind, detail } => {
                    first.get_or_insert_with(|| detail.clone());
                    self.note(c, kind, detail);
                }
                Effect::Serve { node, .. } => {
                    if let Err(e) = self.listen(c, node) {
                        self.note(c, "launch_failed", format!("node-{node}: {e}"));
                        self.run(c, Input::LaunchFailed { node });
                    }
                }
                Effect::Stop { node, state } => self.stop(c, node, state),
                Effect::Wake { at, timer } => match wakes.iter_mut().find(|w| w.0 == at) {
                    Some(w) => w.1.push(timer),
                    None => wakes.push((at, vec![timer])),
                },
                Effect::Net => *self.shop.net.write().expect("net lock") = c.cp.net.clone(),
                Effect::Degraded => {
                    *self.shop.degraded.write().expect("degraded lock") = c.cp.degraded.clone()
                }
                Effect::Charge { .. }
                | Effect::StoreLoss { .. }
                | Effect::DbDown { .. }
                | Effect::Arrivals { .. } => {}
            }
        }
        for (at, timers) in wakes {
            self.at(at, move |me, c| {
                for timer in timers {
                    me.run(c, Input::Timer(timer));
                }
            });
        }
        first
    }

    /// Runs `f` under the control lock at time `at` (a timer, not a poll).
    pub(crate) fn at(
        self: &Arc<Self>,
        at: SimTime,
        f: impl FnOnce(&Arc<Cluster>, &mut Control) + Send + 'static,
    ) {
        let me = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(me.shop.clock.instant(at)).await;
            let mut c = me.lock();
            f(&me, &mut c);
        });
    }

    /// The balancer is done with a request on `id`: counted, and the control
    /// plane told (the last one on a draining node completes its
    /// deregistration).
    pub fn released(self: &Arc<Self>, id: NodeId, start: SimTime, ok: bool) {
        let mut c = self.lock();
        self.observe(&mut c, start, ok);
        let mut effects = Vec::new();
        c.cp.release(self.shop.clock.now(), id, &mut effects);
        if !effects.is_empty() {
            self.execute(&mut c, effects);
        }
    }

    /// Applies one health check's result.
    pub fn health_result(self: &Arc<Self>, id: NodeId, pass: bool) {
        let mut c = self.lock();
        self.run(&mut c, Input::Health { node: id, pass });
    }

    /// Starts the initial fleet, in service at once (as a run starts).
    pub fn start_fleet(self: &Arc<Self>) -> std::io::Result<()> {
        let mut c = self.lock();
        let mut effects = Vec::new();
        c.cp.start(&mut effects);
        let mut rest = Vec::new();
        for e in effects {
            match e {
                Effect::Serve { node, .. } => self.listen(&mut c, node)?,
                // Route 53's first health checks.
                other => rest.push(other),
            }
        }
        self.execute(&mut c, rest);
        Ok(())
    }

    /// Binds the node's port and serves it (the control plane registered it).
    fn listen(self: &Arc<Self>, c: &mut Control, id: NodeId) -> std::io::Result<()> {
        let az = c.cp.fleet.nodes[id as usize].az;
        let std = std::net::TcpListener::bind("127.0.0.1:0")?;
        std.set_nonblocking(true)?;
        let addr = std.local_addr()?;
        let listener = tokio::net::TcpListener::from_std(std)?;
        let ctx = Arc::new(NodeCtx {
            id,
            az: self.sc.region.azs[az].clone(),
            az_ix: az,
            hung: Default::default(),
            in_service_at: c.cp.fleet.nodes[id as usize].in_service_at,
            sessions: NodeSessions::default(),
            shop: self.shop.clone(),
            breakers: super::calls::breakers(),
            workers: self.shop.capacity.map(|cfg| {
                let rng = stratus_model::rng::Streams::new(self.sc.seed)
                    .indexed("live_service", u64::from(id));
                super::capacity::Workers::new(
                    cfg,
                    self.shop.clock,
                    Some(self.shop.capacity_stats.clone()),
                    rng,
                )
            }),
        });
        let svc_ctx = ctx.clone();
        let svc = service_fn(move |req| {
            let ctx = svc_ctx.clone();
            async move { Ok::<_, std::convert::Infallible>(super::node::handle(ctx, req).await) }
        });
        let accept = accept_loop(listener, svc, true, Place::Origin, self.limits);
        let sweep = super::sessions::sweep(ctx.clone(), self.sc.sessions.memory.timeout.0);
        // One task for both, so the node's stop ends its sweeper too.
        let serve = async move {
            tokio::select! {
                () = accept => {}
                () = sweep => {}
            }
        };
        let task = tokio::spawn(serve).abort_handle();
        let slots = c.cp.fleet.nodes.len();
        c.nodes.resize_with(slots, || None);
        c.addrs.resize(slots, None);
        c.nodes[id as usize] = Some(LiveNode { addr, ctx, task });
        c.addrs[id as usize] = Some(addr);
        let name = c.cp.fleet.name(id, &self.sc.region.azs);
        eprintln!("{name} listens on {addr}");
        Ok(())
    }

    /// A node stops as the control plane decided: a hung one keeps its port
    /// and answers nothing; a dead or terminated one loses its listener, its
    /// connections and its memory (sticky sessions). The balancer is not
    /// told of a death: its health checks find out, as in the cloud.
    fn stop(&self, c: &mut Control, id: NodeId, state: NodeState) {
        if state == NodeState::Hung {
            if let Some(Some(n)) = c.nodes.get(id as usize) {
                n.ctx.hung.store(true, Ordering::Relaxed);
            }
        } else if let Some(n) = c.nodes.get_mut(id as usize).and_then(Option::take) {
            n.task.abort();
        }
    }

    /// The targets to health-check now, with their addresses.
    pub fn check_list(&self) -> Vec<(NodeId, SocketAddr, AzIx)> {
        let c = self.lock();
        let cp = &c.cp;
        cp.lb
            .targets()
            .filter(|t| cp.lb.checks(t.node))
            .filter_map(|t| {
                let az = cp.fleet.nodes[t.node as usize].az;
                let addr = c.addrs.get(t.node as usize).copied().flatten();
                addr.map(|a| (t.node, a, az))
            })
            .collect()
    }

    /// Powers every node off (the server is stopping).
    pub fn shutdown(&self) {
        let mut c = self.lock();
        for n in c.nodes.iter_mut().filter_map(Option::take) {
            n.task.abort();
        }
    }
}

impl Cluster {
    /// With `[dns]`, the balancer node this request connects to, after any
    /// connect timeouts on dead addresses (the resolver's answer, tried as
    /// `dns.client` says).
    pub async fn dns_entry(&self) -> Result<AzIx, NoEntry> {
        let now = self.shop.clock.now();
        let attempts = {
            let mut c = self.lock();
            let Control { resolver, cp, .. } = &mut *c;
            resolver.attempts(cp, now)
        };
        if attempts.is_empty() {
            return Err(NoEntry::NoneAnswers);
        }
        let timeout = std::time::Duration::from_nanos(self.sc.load_balancer.connect_timeout.0);
        for az in attempts {
            let answers = {
                let c = self.lock();
                c.cp.net.answers(&c.cp.alive, az)
            };
            if answers {
                return Ok(az);
            }
            tokio::time::sleep(timeout).await;
        }
        Err(NoEntry::TimedOut)
    }
}
