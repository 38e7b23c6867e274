//! The live architecture's control plane: the fleet of node servers grouped
//! into AZs, the load balancer's state machine (`lb::LoadBalancer`, the model's),
//! the auto-scaling group's decisions (`fleet::Fleet`, the model's) and the
//! store's failover, driven by wall-derived time and real sockets.

use super::http::{Place, accept_loop};
use super::node::{NodeCtx, Shop};
use super::sessions::NodeSessions;
use hyper::service::service_fn;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use stratus_model::fleet::{DeployStep, Fleet, LaunchBlocks};
use stratus_model::lb::{Health, LoadBalancer, NodeId};
use stratus_model::node::{Node, NodeState};
use stratus_model::report::LogEvent;
use stratus_model::scenario::{AzIx, Scenario};
use stratus_model::session::store::Wake;
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
    pub lb: LoadBalancer,
    pub fleet: Fleet,
    /// By node id; None once the node is powered off or before it listens.
    pub nodes: Vec<Option<LiveNode>>,
    /// Addresses by node id, kept after a node dies so health checks really
    /// knock on a closed port.
    pub addrs: Vec<Option<SocketAddr>>,
    pub alive: Vec<bool>,
    /// Where launches fail for now (`block_launches`), as the model keeps it.
    pub blocks: LaunchBlocks,
    pub log: Vec<LogEvent>,
    /// The balancer node the last request came in through (see `proxy`).
    pub entry: AzIx,
    /// Requests through the balancer, by second.
    pub series: super::observe::Series,
    /// When (s) each action that breaks something was applied.
    pub faults: Vec<f64>,
    /// When (s) each action was applied.
    pub injected: Vec<f64>,
}

pub struct Cluster {
    pub sc: Scenario,
    pub shop: Arc<Shop>,
    pub sticky: bool,
    pub control: Mutex<Control>,
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

impl Cluster {
    pub fn new(sc: Scenario, shop: Arc<Shop>) -> Arc<Cluster> {
        let sticky = sc.sticky_lb(shop.strategy);
        let control = Control {
            lb: LoadBalancer::new(sc.load_balancer.algorithm, sc.load_balancer.health_check),
            fleet: Fleet::new(sc.fleet.desired),
            nodes: Vec::new(),
            addrs: Vec::new(),
            alive: vec![true; sc.region.azs.len()],
            blocks: LaunchBlocks::new(sc.region.azs.len()),
            log: Vec::new(),
            entry: 0,
            series: Default::default(),
            faults: Vec::new(),
            injected: Vec::new(),
        };
        Arc::new(Cluster {
            sc,
            shop,
            sticky,
            control: Mutex::new(control),
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

    /// A node as the simulation's log names it: `node-3 (us-east-1a)`.
    pub(crate) fn node_name(&self, c: &Control, id: NodeId) -> String {
        c.fleet.name(id, &self.sc.region.azs)
    }

    /// Powers a node off without warning, as a dead instance: logged as the
    /// simulation logs it.
    pub(crate) fn kill_node(self: &Arc<Self>, c: &mut Control, id: NodeId) {
        let state = c.fleet.nodes[id as usize].state;
        if matches!(state, NodeState::Dead | NodeState::Terminated) {
            return;
        }
        self.power_off(c, id, NodeState::Dead);
        if state == NodeState::Draining {
            c.lb.remove(id);
        }
        let name = self.node_name(c, id);
        self.note(c, "node_dead", name);
        self.deploy_progress(c, id);
    }

    /// Shuts a node down for good: its listener closes and its connections
    /// are reset. A dead node is only deregistered (its death was logged).
    pub(crate) fn terminate(self: &Arc<Self>, c: &mut Control, id: NodeId) {
        let was = c.fleet.nodes[id as usize].state;
        if was == NodeState::Terminated {
            return;
        }
        self.power_off(c, id, NodeState::Terminated);
        c.lb.remove(id);
        if was != NodeState::Dead {
            let name = self.node_name(c, id);
            self.note(c, "node_terminated", name);
        }
        self.deploy_progress(c, id);
    }

    /// The balancer is done with a request on `id`: the last one on a
    /// draining node completes its deregistration.
    pub fn released(self: &Arc<Self>, id: NodeId, start: SimTime, ok: bool) {
        let mut c = self.lock();
        self.observe(&mut c, start, ok);
        if let Some((0, true)) = c.lb.release(id)
            && c.fleet.nodes[id as usize].state == NodeState::Draining
        {
            self.terminate(&mut c, id);
        }
    }

    /// Starts the initial fleet, in service at once (as a run starts).
    pub fn start_fleet(self: &Arc<Self>) -> std::io::Result<()> {
        let mut c = self.lock();
        let plan = c.fleet.launch_plan(&c.alive);
        for az in plan {
            let id = self.add_node(&mut c, az);
            self.listen(&mut c, id, true)?;
        }
        Ok(())
    }

    fn add_node(&self, c: &mut Control, az: AzIx) -> NodeId {
        let id = c.fleet.nodes.len() as NodeId;
        let version = c.fleet.version;
        c.fleet
            .nodes
            .push(Node::new(id, az, self.shop.clock.now(), version));
        c.nodes.push(None);
        c.addrs.push(None);
        id
    }

    /// Binds the node's port and serves it; registers it with the balancer.
    fn listen(self: &Arc<Self>, c: &mut Control, id: NodeId, healthy: bool) -> std::io::Result<()> {
        let az = c.fleet.nodes[id as usize].az;
        let std = std::net::TcpListener::bind("127.0.0.1:0")?;
        std.set_nonblocking(true)?;
        let addr = std.local_addr()?;
        let listener = tokio::net::TcpListener::from_std(std)?;
        let ctx = Arc::new(NodeCtx {
            id,
            az: self.sc.region.azs[az].clone(),
            az_ix: az,
            hung: Default::default(),
            sessions: NodeSessions::default(),
            shop: self.shop.clone(),
        });
        let svc_ctx = ctx.clone();
        let svc = service_fn(move |req| {
            let ctx = svc_ctx.clone();
            async move { Ok::<_, std::convert::Infallible>(super::node::handle(ctx, req).await) }
        });
        let task = tokio::spawn(accept_loop(listener, svc, true, Place::Origin)).abort_handle();
        c.nodes[id as usize] = Some(LiveNode { addr, ctx, task });
        c.addrs[id as usize] = Some(addr);
        c.fleet.nodes[id as usize].state = NodeState::InService;
        c.lb.register(id, healthy);
        self.note(
            c,
            "node_in_service",
            format!("node-{id} ({}) on {addr}", self.sc.region.azs[az]),
        );
        Ok(())
    }

    /// Launches a node that boots for the scenario's launch time.
    fn launch(self: &Arc<Self>, c: &mut Control, az: AzIx) -> NodeId {
        let id = self.add_node(c, az);
        let me = self.clone();
        let boot = std::time::Duration::from_nanos(self.sc.fleet.launch_time.0);
        tokio::spawn(async move {
            tokio::time::sleep(boot).await;
            let mut c = me.lock();
            if c.fleet.nodes[id as usize].state == NodeState::Launching
                && let Err(e) = me.listen(&mut c, id, false)
            {
                me.note(&mut c, "launch_failed", format!("node-{id}: {e}"));
                c.fleet.nodes[id as usize].state = NodeState::Terminated;
            }
        });
        id
    }

    /// Powers a node off: its listener closes, its connections are reset and
    /// its memory (sticky sessions) is freed. The balancer is not told; its
    /// health checks find out, as in the cloud.
    pub(crate) fn power_off(&self, c: &mut Control, id: NodeId, state: NodeState) {
        if let Some(n) = c.nodes[id as usize].take() {
            n.task.abort();
        }
        c.fleet.nodes[id as usize].state = state;
    }

    /// Brings the group to its desired capacity in the live AZs; the nodes
    /// launched.
    pub(crate) fn reconcile(self: &Arc<Self>, c: &mut Control) -> Vec<NodeId> {
        let launchable = c.blocks.launchable(&c.alive, self.shop.clock.now());
        let plan = c.fleet.launch_plan(&launchable);
        let launched = plan.into_iter().map(|az| self.launch(c, az)).collect();
        for id in c.fleet.scale_in_victims(c.alive.len()) {
            self.drain(c, id);
        }
        launched
    }

    /// Replaces every node, `batch` at a time (default: 10 % of desired), as
    /// the model's deploy decides: drain a batch of old nodes, launch their
    /// replacements, and take the next step when every replacement passes
    /// its health checks (or dies).
    pub fn rolling_deploy(self: &Arc<Self>, batch: Option<u32>) -> Result<(), OpError> {
        let mut c = self.lock();
        if c.fleet.deploy.is_some() {
            return Err(OpError::Deploying);
        }
        let (v, batch) = c.fleet.begin_deploy(batch, 0);
        let line = format!("version {v}, {batch} at a time");
        self.note(&mut c, "rolling_deploy", line);
        self.deploy_step(&mut c);
        Ok(())
    }

    fn deploy_step(self: &Arc<Self>, c: &mut Control) {
        let batch = match c.fleet.deploy_step() {
            DeployStep::Wait => return,
            DeployStep::Done { version } => {
                let line = format!("every node runs version {version}");
                return self.note(c, "deploy_done", line);
            }
            DeployStep::Drain { batch, .. } => batch,
        };
        for id in batch {
            self.drain(c, id);
        }
        let launched = self.reconcile(c);
        if !c.fleet.deploy_launched(launched) {
            let line = "no live AZ to launch replacements in".into();
            self.note(c, "deploy_stalled", line);
        }
    }

    fn deploy_progress(self: &Arc<Self>, c: &mut Control, id: NodeId) {
        if c.fleet.deploy_healthy(id) {
            self.deploy_step(c);
        }
    }

    /// Deregisters a node; it is terminated when its last request is answered
    /// (see [`Cluster::released`]) or the deregistration delay passes,
    /// whichever is first.
    fn drain(self: &Arc<Self>, c: &mut Control, id: NodeId) {
        match c.fleet.nodes[id as usize].state {
            NodeState::InService | NodeState::Hung => {}
            NodeState::Launching => return self.terminate(c, id),
            _ => return,
        }
        c.fleet.nodes[id as usize].state = NodeState::Draining;
        self.note(c, "node_draining", self.node_name(c, id));
        if c.lb.deregister(id) == 0 {
            return self.terminate(c, id);
        }
        let deadline = self.shop.clock.now() + self.sc.load_balancer.deregistration_delay.0;
        self.at(deadline, move |me, c| {
            if c.fleet.nodes[id as usize].state == NodeState::Draining {
                me.terminate(c, id);
            }
        });
    }

    pub fn kill_az(self: &Arc<Self>, az: AzIx) {
        let mut c = self.lock();
        self.note(&mut c, "kill_az", self.sc.region.azs[az].clone());
        self.power_off_az(&mut c, az);
    }

    /// Power leaves an AZ, in the simulation's order: its nodes, its
    /// balancer node, its store copies, then its cache and database
    /// instances stop; the group launches elsewhere.
    pub(crate) fn power_off_az(self: &Arc<Self>, c: &mut Control, az: AzIx) {
        if !c.alive[az] {
            return;
        }
        c.alive[az] = false;
        self.shop.net.write().expect("net lock").lb_up[az] = false;
        let victims: Vec<NodeId> = c
            .fleet
            .nodes
            .iter()
            .filter(|n| n.az == az && !matches!(n.state, NodeState::Dead | NodeState::Terminated))
            .map(|n| n.id)
            .collect();
        for id in victims {
            self.kill_node(c, id);
        }
        let now = self.shop.clock.now();
        let blow = self.shop.store.lock().expect("store lock").kill_az(now, az);
        self.store_blow(c, blow);
        self.kill_db_az(c, az, now);
        self.reconcile(c);
    }

    pub fn restore_az(self: &Arc<Self>, az: AzIx) {
        let mut c = self.lock();
        self.note(&mut c, "restore_az", self.sc.region.azs[az].clone());
        self.power_on_az(&mut c, az);
    }

    /// Power returns to an AZ: its balancer node and data instances come
    /// back, replicas that waited for a place go there, and the group
    /// rebalances into it.
    pub(crate) fn power_on_az(self: &Arc<Self>, c: &mut Control, az: AzIx) {
        c.alive[az] = true;
        self.shop.net.write().expect("net lock").lb_up[az] = true;
        if let Some(cache) = &self.shop.cache {
            cache.lock().expect("cache lock").restore_az(az);
        }
        if let Some(db) = &self.shop.db {
            db.lock()
                .expect("db lock")
                .restore_az(az, self.shop.clock.now());
        }
        let usable = self.shop.net().usable(&c.alive);
        let mut store = self.shop.store.lock().expect("store lock");
        let made: Vec<AzIx> = (0..store.shards())
            .filter_map(|k| store.rebuild(k, &usable))
            .collect();
        drop(store);
        for az in made {
            let line = format!("a replacement replica in {}", self.sc.region.azs[az]);
            self.note(c, "store_replica_created", line);
        }
        self.reconcile(c);
        self.start_rebalance(c);
    }

    pub fn set_desired(self: &Arc<Self>, value: u32) -> Result<(), OpError> {
        let f = &self.sc.fleet;
        if value < f.min || value > f.max {
            return Err(OpError::Capacity(value, f.min, f.max));
        }
        let mut c = self.lock();
        self.note(&mut c, "set_desired", value.to_string());
        c.fleet.desired = value;
        self.reconcile(&mut c);
        Ok(())
    }

    pub fn kill_store_primary(self: &Arc<Self>) -> Result<(), OpError> {
        let mut c = self.lock();
        let now = self.shop.clock.now();
        let mut store = self.shop.store.lock().expect("store lock");
        if store.primary_az(0).is_none() {
            return Err(OpError::NoPrimary);
        }
        let blow = store.kill_primary(now, 0);
        drop(store);
        self.note(&mut c, "kill_store_primary", String::new());
        self.store_blow(&mut c, blow);
        Ok(())
    }

    /// The cache nodes in a dead AZ lose their keys, logged as the
    /// simulation logs it.
    fn kill_cache_az(&self, c: &mut Control, az: AzIx) {
        let Some(cache) = &self.shop.cache else {
            return;
        };
        let mut cache = cache.lock().expect("cache lock");
        let before = cache.stats.keys_lost;
        cache.kill_az(az);
        let lost = cache.stats.keys_lost - before;
        let there = cache.nodes.iter().any(|n| n.az == az);
        drop(cache);
        if there {
            let line = format!("{} ({lost} keys)", self.sc.region.azs[az]);
            self.note(c, "cache_node_lost", line);
        }
    }

    /// The database instances in a dead AZ stop; a lost writer fails over
    /// after the scenario's `failover_time`, by the model's `Database`.
    fn kill_db_az(self: &Arc<Self>, c: &mut Control, az: AzIx, now: SimTime) {
        self.kill_cache_az(c, az);
        let Some(db) = &self.shop.db else { return };
        let mut db = db.lock().expect("db lock");
        let victims = db.alive_in(az);
        let mut wakes = Vec::new();
        let mut lost = Vec::new();
        for i in victims {
            wakes.extend(db.kill(i, now));
            lost.push(format!(
                "{} ({})",
                db.instances[i].name, self.sc.region.azs[az]
            ));
        }
        drop(db);
        for line in lost {
            self.note(c, "db_instance_lost", line);
        }
        self.db_wakes(wakes);
    }

    /// Runs the database's later steps (promotion, a new standby) at their
    /// wall-clock times.
    pub(crate) fn db_wakes(self: &Arc<Self>, wakes: Vec<stratus_model::db::Wake>) {
        use stratus_model::db::Wake as W;
        for w in wakes {
            let me = self.clone();
            tokio::spawn(async move {
                let at = match w {
                    W::Promote { at, .. } | W::NewStandby { at, .. } => at,
                };
                tokio::time::sleep_until(me.shop.clock.instant(at)).await;
                let now = me.shop.clock.now();
                let Some(db) = &me.shop.db else { return };
                match w {
                    W::Promote { epoch, .. } => {
                        let done = db.lock().expect("db lock").promote(now, epoch);
                        if let Some((p, next)) = done {
                            let mut c = me.lock();
                            let (kind, line) =
                                stratus_model::db::Promotion::event(p.as_ref(), &me.sc.region.azs);
                            me.note(&mut c, kind, line);
                            drop(c);
                            me.db_wakes(next);
                        }
                    }
                    W::NewStandby { epoch, .. } => {
                        let alive = me.lock().alive.clone();
                        let made = db.lock().expect("db lock").new_standby(epoch, &alive);
                        if let Some(name) = made {
                            let mut c = me.lock();
                            me.note(&mut c, "db_standby_created", name);
                        }
                    }
                }
            });
        }
    }

    /// What a store fault did, as the simulation applies it: the log, and the
    /// model's later wake-ups (a promotion after `failover_after`, a
    /// replacement replica) run at their wall-clock times.
    fn store_blow(self: &Arc<Self>, c: &mut Control, blow: stratus_model::session::store::Blow) {
        for (kind, line) in blow.events("store", &|_| String::new()) {
            self.note(c, kind, line);
        }
        for w in blow.wakes {
            let me = self.clone();
            tokio::spawn(async move {
                let at = match w {
                    Wake::Promote { at, .. } | Wake::Rebuild { at, .. } => at,
                };
                tokio::time::sleep_until(me.shop.clock.instant(at)).await;
                match w {
                    Wake::Promote { shard, epoch, .. } => {
                        let done = me
                            .shop
                            .store
                            .lock()
                            .expect("store lock")
                            .promote(shard as usize, epoch);
                        if let Some(Some(az)) = done {
                            let mut c = me.lock();
                            let line =
                                format!("the replica in {} is the primary", me.sc.region.azs[az]);
                            me.note(&mut c, "store_promoted", line);
                        }
                    }
                    Wake::Rebuild { shard, .. } => {
                        let mut c = me.lock();
                        let alive = me.shop.net().usable(&c.alive);
                        let made = me
                            .shop
                            .store
                            .lock()
                            .expect("store lock")
                            .rebuild(shard as usize, &alive);
                        if let Some(az) = made {
                            let line = format!("a replacement replica in {}", me.sc.region.azs[az]);
                            me.note(&mut c, "store_replica_created", line);
                        }
                    }
                }
            });
        }
    }

    /// After an AZ returns: launch in the short AZs first, terminate in the
    /// crowded ones once the new nodes are healthy, as the model's group
    /// decides (`Fleet::begin_rebalance`).
    fn start_rebalance(self: &Arc<Self>, c: &mut Control) {
        let launchable = c.blocks.launchable(&c.alive, self.shop.clock.now());
        let Some(extra) = c.fleet.begin_rebalance(&launchable, self.sc.fleet.max) else {
            return;
        };
        let line =
            format!("launching {extra} in the short AZs before terminating as many elsewhere");
        self.note(c, "az_rebalance", line);
        let waiting = self.reconcile(c);
        c.fleet.rebalancing(extra, 0, waiting);
    }

    /// A node passed its health checks: the rebalance's last launch brings
    /// desired back down, and scale-in terminates in the crowded AZs.
    fn rebalance_progress(self: &Arc<Self>, c: &mut Control, id: NodeId) {
        if c.fleet.rebalance_healthy(id, self.sc.fleet.min).is_some() {
            self.reconcile(c);
            self.start_rebalance(c);
        }
    }

    /// Applies one health check's result. A dead node found unhealthy is
    /// deregistered (the group replaced it when it died); a running one is
    /// replaced only if the model's group says so (`health_check_type`).
    pub fn health_result(self: &Arc<Self>, id: NodeId, pass: bool) {
        let mut c = self.lock();
        match c.lb.health_result(id, pass) {
            Some(Health::Unhealthy) => {
                let name = self.node_name(&c, id);
                self.note(&mut c, "target_unhealthy", name.clone());
                let now = self.shop.clock.now();
                if c.fleet.nodes[id as usize].state == NodeState::Dead {
                    self.terminate(&mut c, id);
                } else if c.fleet.replaces_unhealthy(id, &self.sc.fleet, now) {
                    self.note(&mut c, "asg_replace_unhealthy", name);
                    self.terminate(&mut c, id);
                    self.reconcile(&mut c);
                }
            }
            Some(Health::Healthy) => {
                let name = self.node_name(&c, id);
                self.note(&mut c, "target_healthy", name);
                self.deploy_progress(&mut c, id);
                self.rebalance_progress(&mut c, id);
            }
            _ => {}
        }
    }

    /// The targets to health-check now, with their addresses.
    pub fn check_list(&self) -> Vec<(NodeId, SocketAddr, AzIx)> {
        let c = self.lock();
        c.lb.targets()
            .filter(|t| c.lb.checks(t.node))
            .filter_map(|t| {
                let az = c.fleet.nodes[t.node as usize].az;
                c.addrs[t.node as usize].map(|a| (t.node, a, az))
            })
            .collect()
    }
}

impl Cluster {
    /// Powers every node off (the server is stopping).
    pub fn shutdown(&self) {
        let mut c = self.lock();
        for id in 0..c.nodes.len() as NodeId {
            if c.nodes[id as usize].is_some() {
                self.power_off(&mut c, id, NodeState::Terminated);
            }
        }
    }
}
