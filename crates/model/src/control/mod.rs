//! The control plane: one sans-IO state machine for what the cloud decides.
//!
//! It owns the AZs' power, the network's state, the auto-scaling group
//! (launches, replacements, scale-in, rebalancing, target tracking, rolling
//! deploys), the balancer's registrations and health verdicts, draining, and
//! the session store's and database's topology and failovers. It is given
//! the time and an [`Input`] (a timeline action, a health-check result, a
//! timer it asked for, a request let go of) and answers with [`Effect`]s, in
//! order: log this, charge that fault, start serving this node, stop that
//! one, wake me at t. Both drivers execute the same effects: the simulation
//! schedules them in virtual time, the live shop opens and closes listeners
//! and sleeps until the wake-ups. Executing them in the order given is what
//! keeps the simulation's (time, sequence) order, and so its bytes.
//!
//! What belongs to requests stays with the driver: a node's sessions and
//! queue are emptied by the driver when it executes a [`Effect::Stop`], and
//! the carts a fault puts at risk are counted by the driver that knows the
//! shoppers ([`Effect::Charge`]).

mod actions;
mod data;
mod dns;
mod gray;
mod group;
#[cfg(test)]
mod tests;

use crate::autoscale::Tracker;
use crate::cache::Cache;
use crate::core::{AzIx, NodeId, ShopperId};
use crate::db::{Database, DbIx};
use crate::dns::Route53;
use crate::fleet::{Fleet, LaunchBlocks};
use crate::lb::LoadBalancer;
use crate::net::Net;
use crate::node::{Node, NodeState};
use crate::report::Fault;
use crate::scenario::{Action, Scenario, Strategy};
use crate::session::store::{Store, StoreLoss};
use crate::time::{SEC, SimTime};

/// What wakes the control plane.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// A timeline action (scripted, injected by a dashboard, or posted to
    /// the admin API).
    Action(&'a Action),
    /// A wake-up the control plane asked for with [`Effect::Wake`].
    Timer(Timer),
    /// A health check of `node` passed or failed.
    Health { node: NodeId, pass: bool },
    /// The balancer is done with a request on `node`: the last one on a
    /// draining node completes its deregistration.
    Released { node: NodeId },
    /// A launched node could not start serving (the live driver could not
    /// bind its port).
    LaunchFailed { node: NodeId },
    /// One second passed: target tracking samples the fleet.
    Second,
}

/// The wake-ups the control plane asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// A launching node finished booting.
    Launched { node: NodeId },
    /// A draining node's deregistration delay ran out.
    DrainDeadline { node: NodeId },
    /// A store shard's replica is promoted (if failover `epoch` is current).
    StorePromote { shard: u16, epoch: u32 },
    /// A replacement replica for a store shard is ready.
    StoreRebuild { shard: u16 },
    /// The database's failover completes (if `epoch` is still current).
    DbPromote { epoch: u32 },
    /// A replacement standby is ready (if `epoch` is still current).
    DbStandby { epoch: u32 },
    /// A timed fault ends.
    Heal(Heal),
    /// Route 53 health checker `checker` sends its request to the balancer
    /// node of `az`.
    DnsCheck { az: u8, checker: u8 },
    /// That request's connect limit ran out: the check failed.
    DnsCheckFailed { az: u8, checker: u8 },
}

/// What ends when a timed fault's time is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heal {
    /// The AZ's subnets are reachable again.
    Partition { az: u8 },
    /// Launches in the AZ succeed again (if no later block holds).
    Launches { az: u8 },
    /// An `add_latency` entry ends (its handle in the network).
    Latency { handle: u16 },
    /// A FIS power interruption ends: power returns to the AZ.
    Power { az: u8 },
    /// An injected gray fault ends (its handle in `degraded`).
    Degraded { handle: u16 },
}

/// What the control plane asks its driver to do, in the order it must be done.
#[derive(Debug)]
pub enum Effect {
    /// Add this event to the run's log.
    Log { kind: &'static str, detail: String },
    /// Charge fault `fault` with the carts held in `node`'s memory (counted
    /// before any later `Stop` frees it).
    Charge { fault: usize, node: NodeId },
    /// A store fault dropped these writes: count them, and charge `fault`
    /// with the carts whose latest write is gone.
    StoreLoss { fault: usize, loss: StoreLoss },
    /// `node` is registered and serves from now on; its health checks start
    /// at `check_at`.
    Serve { node: NodeId, check_at: SimTime },
    /// `node` stops: `Dead` (powered off: its memory is gone, requests on it
    /// wait for the balancer's timeout), `Terminated` (shut down: memory
    /// freed, connections reset) or `Hung` (running, answering nothing).
    Stop { node: NodeId, state: NodeState },
    /// Database instance `inst` stopped; these queries were on it.
    DbDown {
        inst: DbIx,
        victims: Vec<(ShopperId, u32)>,
    },
    /// Hand the control plane `Input::Timer(timer)` at `at`.
    Wake { at: SimTime, timer: Timer },
    /// The network's state (`ControlPlane::net`) changed: a driver that keeps
    /// a copy for its request path refreshes it.
    Net,
    /// The shoppers' arrival rate is now `value` per second.
    Arrivals { value: f64 },
    /// The injected gray faults (`ControlPlane::degraded`) changed: a driver
    /// that keeps a copy refreshes it.
    Degraded,
}

/// The data tier's parts the control plane breaks and repairs.
pub struct Data<'a> {
    pub store: &'a mut Store,
    pub db: Option<&'a mut Database>,
    pub cache: Option<&'a mut Cache>,
}

/// Gives the control plane the data tier when an input needs it: the
/// simulation owns it outright; the live shop locks it only then (most
/// inputs, such as a released request, never touch it).
pub trait DataTier {
    fn data(&mut self) -> Data<'_>;
}

impl DataTier for Data<'_> {
    fn data(&mut self) -> Data<'_> {
        Data {
            store: &mut *self.store,
            db: self.db.as_deref_mut(),
            cache: self.cache.as_deref_mut(),
        }
    }
}

/// The control plane's state: see the module's documentation.
pub struct ControlPlane {
    pub azs: Vec<String>,
    cfg: crate::scenario::Fleet,
    deregistration_delay: u64,
    check_interval: u64,
    strategy: Strategy,
    /// Per AZ: powered.
    pub alive: Vec<bool>,
    pub lb: LoadBalancer,
    pub fleet: Fleet,
    /// Delays, partitions and balancer nodes.
    pub net: Net,
    /// Where launches fail for now (`block_launches`, FIS).
    pub blocks: LaunchBlocks,
    /// Target tracking, when the fleet has a policy.
    pub tracker: Option<Tracker>,
    /// Every fault so far, with the carts the drivers charged to it.
    pub faults: Vec<Fault>,
    /// The shop's name server and its health checks, with `[dns]`.
    pub dns: Option<Route53>,
    /// Nodes erring or slow on purpose (`inject_errors`, `slow_node`, `slow_az`).
    pub degraded: crate::degrade::Degradations,
    /// The time of the input being handled.
    now: SimTime,
    out: Vec<Effect>,
}

impl ControlPlane {
    pub fn new(sc: &Scenario, strategy: Strategy) -> ControlPlane {
        let azs = sc.region.azs.len();
        ControlPlane {
            azs: sc.region.azs.clone(),
            cfg: sc.fleet.clone(),
            deregistration_delay: sc.load_balancer.deregistration_delay.0,
            check_interval: sc.load_balancer.health_check.interval.0,
            strategy,
            alive: vec![true; azs],
            lb: LoadBalancer::new(sc.load_balancer.algorithm, sc.load_balancer.health_check)
                .cross_zone(sc.load_balancer.cross_zone),
            fleet: Fleet::new(sc.fleet.desired),
            net: Net::new(sc.region.latency, azs),
            blocks: LaunchBlocks::new(azs),
            tracker: sc.fleet.target_tracking.clone().map(Tracker::new),
            faults: Vec::new(),
            dns: sc.dns.as_ref().map(|d| Route53::new(d, azs)),
            degraded: Default::default(),
            now: 0,
            out: Vec::new(),
        }
    }

    /// Puts the starting fleet in service at time 0: warm, registered
    /// healthy, with health checks spread over the interval as real ones drift.
    pub fn start(&mut self, out: &mut Vec<Effect>) {
        self.now = 0;
        let plan = self.fleet.launch_plan(&self.alive);
        let n = plan.len() as u64;
        for (i, az) in plan.into_iter().enumerate() {
            let id = self.fleet.nodes.len() as NodeId;
            let mut node = Node::new(id, az, 0, self.fleet.version);
            node.state = NodeState::InService;
            node.in_service_at = Some(0);
            self.fleet.nodes.push(node);
            self.lb.register(id, az, true);
            let check_at = self.check_interval * i as u64 / n.max(1);
            self.out.push(Effect::Serve { node: id, check_at });
        }
        self.start_dns_checks();
        out.append(&mut self.out);
    }

    /// Handles `input` at `now`; appends what to do to `out`, in order.
    pub fn handle(
        &mut self,
        now: SimTime,
        input: Input<'_>,
        tier: &mut dyn DataTier,
        out: &mut Vec<Effect>,
    ) {
        self.now = now;
        match input {
            Input::Action(a) => self.action(a, tier),
            Input::Timer(t) => self.timer(t, tier),
            Input::Health { node, pass } => self.health_result(node, pass),
            Input::Released { node } => self.released(node),
            Input::LaunchFailed { node } => self.terminate(node),
            Input::Second => self.track(),
        }
        self.watch_dns();
        out.append(&mut self.out);
    }

    /// [`Input::Released`] without a data tier: the one input every request
    /// brings, so it costs a counter's update when it changes nothing.
    pub fn release(&mut self, now: SimTime, node: NodeId, out: &mut Vec<Effect>) {
        self.now = now;
        self.released(node);
        out.append(&mut self.out);
    }

    /// When (s) each fault from index `from` on began, as a snapshot lists them.
    pub fn fault_times(&self, from: usize) -> Vec<f64> {
        let faults = self.faults.get(from..).unwrap_or(&[]);
        faults.iter().map(|f| f.t_s).collect()
    }

    fn timer(&mut self, t: Timer, tier: &mut dyn DataTier) {
        match t {
            Timer::Launched { node } => self.launched(node),
            Timer::DrainDeadline { node } => {
                if self.fleet.nodes[node as usize].state == NodeState::Draining {
                    self.terminate(node);
                }
            }
            Timer::StorePromote { shard, epoch } => self.store_promote(shard, epoch, tier),
            Timer::StoreRebuild { shard } => self.store_rebuild(shard, tier),
            Timer::DbPromote { epoch } => self.db_promote(epoch, tier),
            Timer::DbStandby { epoch } => self.db_standby(epoch, tier),
            Timer::Heal(h) => self.heal(h, tier),
            Timer::DnsCheck { az, checker } => self.dns_check(az, checker),
            Timer::DnsCheckFailed { az, checker } => self.dns_result(az, checker, false),
        }
    }

    fn log(&mut self, kind: &'static str, detail: String) {
        self.out.push(Effect::Log { kind, detail });
    }

    fn wake(&mut self, at: SimTime, timer: Timer) {
        self.out.push(Effect::Wake { at, timer });
    }

    /// Opens a fault named `action` now; its index.
    fn fault(&mut self, action: &str) -> usize {
        self.faults.push(Fault {
            t_s: self.now as f64 / SEC as f64,
            action: action.to_string(),
            carts_at_risk: 0,
        });
        self.faults.len() - 1
    }

    fn az_name(&self, az: AzIx) -> String {
        self.azs[az].clone()
    }

    fn node_name(&self, id: NodeId) -> String {
        self.fleet.name(id, &self.azs)
    }

    /// Nodes as the log lists them: `node-3 (us-east-1a), node-5 (…)`.
    fn node_names(&self, ids: &[NodeId]) -> String {
        let names: Vec<String> = ids.iter().map(|&i| self.node_name(i)).collect();
        names.join(", ")
    }
}
