//! What an observer may see of the architecture at one instant, as plain
//! data: the one typed snapshot that both drivers build (the simulation from
//! its world, the live shop from its cluster), that `GET /admin/state`
//! serves as JSON, and that every dashboard draws.
//!
//! A dashboard reads snapshots and nothing else: it never holds a reference
//! into the model, so it cannot drive or disturb it. A snapshot carries the
//! series rows and log entries added since the observer's [`Cursor`], so a
//! long run is not copied whole at every frame. The builders here read the
//! model's parts, so both drivers describe the same state the same way.

use crate::db::Database;
use crate::fleet::Fleet;
use crate::lb::{Health, LoadBalancer, NodeId};
use crate::metrics::{AzNodes, SecondRow};
use crate::node::NodeState;
use crate::report::LogEvent;
use crate::report::data::CacheReport;
use crate::scenario::AzIx;
use crate::session::store::{Store, StoreState};
use crate::time::SimTime;
use serde::{Deserialize, Serialize};

/// How far an observer has read the series, the log and the faults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub rows: usize,
    pub events: usize,
    pub faults: usize,
}

/// A stateful instance placed in an AZ: a session store copy or a database
/// instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// "primary", "replica", "standby", …
    pub role: String,
    pub az: AzIx,
    pub alive: bool,
    /// The database's own name for it (`standby-2`); empty for store copies.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// One AZ: whether it has power, and its nodes by state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AzView {
    pub name: String,
    pub alive: bool,
    pub nodes: AzNodes,
}

/// One app node as the balancer and the group see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeView {
    pub id: NodeId,
    pub az: AzIx,
    /// `launching`, `inservice`, `hung`, `draining`, `dead`.
    pub state: String,
    pub version: u32,
    /// The balancer's verdict; None once deregistered.
    pub health: Option<String>,
    /// Requests the balancer routed to it and has not had answered.
    pub outstanding: u32,
    /// Sessions held in its memory (sticky): what its loss takes with it.
    pub sessions: u64,
    /// Where it listens (live only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    /// Its circuit breakers (`[fleet.calls]`), one per dependency that has one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breakers: Vec<BreakerView>,
}

/// One of a node's circuit breakers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerView {
    /// `database` or `store`.
    pub dependency: String,
    /// `closed`, `open` or `half_open`.
    pub state: String,
}

/// The breakers `calls` gives a node, as `b` stands.
pub fn breaker_views(
    calls: &crate::calls::Calls,
    b: &crate::calls::NodeBreakers,
) -> Vec<BreakerView> {
    crate::calls::Dep::ALL
        .into_iter()
        .filter(|&d| calls.get(d).breaker.is_some())
        .map(|d| BreakerView {
            dependency: d.name().to_string(),
            state: b.get(d).state().name().to_string(),
        })
        .collect()
}

/// The load balancer's side of things.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LbView {
    /// Targets passing health checks and not draining.
    pub healthy: u32,
    /// Targets registered and not draining.
    pub targets: u32,
    pub resticks: u64,
    /// Whether the balancer keeps shoppers on one node (sticky sessions).
    #[serde(default)]
    pub sticky: bool,
}

/// The group's capacity settings and its deploy, for the scaling keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetView {
    pub min: u32,
    pub desired: u32,
    pub max: u32,
    /// The version new nodes run.
    #[serde(default)]
    pub version: u32,
    /// A rolling deploy is under way.
    #[serde(default)]
    pub deploying: bool,
}

/// Running totals since the start. The live shop cannot see a shopper's
/// cart (only the shopper's own ground truth shows a loss), so live
/// snapshots count requests and leave the shoppers' figures at zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub requests: u64,
    pub failed: u64,
    pub shoppers: u64,
    pub with_items: u64,
    pub carts_lost: u64,
    pub items_lost: u64,
    pub abandoned_with_items: u64,
    pub checkouts_ok: u64,
}

/// The session store as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreStatus {
    Up,
    FailingOver,
    Down,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub now: SimTime,
    /// When the run ends (live: 0, it runs until stopped).
    pub end: SimTime,
    pub scenario: String,
    pub strategy: String,
    pub azs: Vec<AzView>,
    pub lb: LbView,
    pub fleet: FleetView,
    /// Every node not yet terminated, by id.
    #[serde(default)]
    pub nodes: Vec<NodeView>,
    /// The session store's copies; empty unless the strategy uses it.
    pub store: Vec<Instance>,
    pub store_status: Option<StoreStatus>,
    /// Database instances (primary, standby, read replicas).
    pub databases: Vec<Instance>,
    /// The cache cluster in front of the database (`[cache]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheReport>,
    pub totals: Totals,
    /// Series rows closed since the cursor, oldest first.
    pub rows: Vec<SecondRow>,
    /// Log entries since the cursor.
    pub events: Vec<LogEvent>,
    /// Times (s) of the faults since the cursor.
    pub faults: Vec<f64>,
    /// Times (s) of every injected action so far.
    pub injected: Vec<f64>,
    /// Where the next snapshot starts: pass it back to read only what is new.
    #[serde(default)]
    pub cursor: Cursor,
}

/// Each AZ's nodes by state, as the balancer sees them (a running node
/// not yet passing checks counts as launching).
pub fn az_nodes(fleet: &Fleet, lb: &LoadBalancer, azs: usize) -> Vec<AzNodes> {
    let mut v = vec![AzNodes::default(); azs];
    for n in &fleet.nodes {
        let c = &mut v[n.az];
        match n.state {
            NodeState::Launching => c.launching += 1,
            NodeState::InService | NodeState::Hung => match lb.target(n.id).map(|t| t.health) {
                Some(Health::Healthy) => c.healthy += 1,
                Some(Health::Initial) | None => c.launching += 1,
                Some(Health::Unhealthy) => c.unhealthy += 1,
            },
            NodeState::Draining => c.draining += 1,
            NodeState::Dead => c.dead += 1,
            NodeState::Terminated => {}
        }
    }
    v
}

/// The AZs with their power and their nodes.
pub fn az_views(names: &[String], alive: &[bool], fleet: &Fleet, lb: &LoadBalancer) -> Vec<AzView> {
    az_nodes(fleet, lb, names.len())
        .into_iter()
        .enumerate()
        .map(|(i, nodes)| AzView {
            name: names[i].clone(),
            alive: alive[i],
            nodes,
        })
        .collect()
}

/// The balancer's registered targets and their health.
pub fn lb_view(lb: &LoadBalancer, sticky: bool) -> LbView {
    let mut v = LbView {
        resticks: lb.resticks,
        sticky,
        ..LbView::default()
    };
    for t in lb.targets().filter(|t| !t.draining) {
        v.targets += 1;
        v.healthy += u32::from(t.health == Health::Healthy);
    }
    v
}

/// Every node not yet terminated; `sessions` and `addr` are the driver's.
pub fn node_views(
    fleet: &Fleet,
    lb: &LoadBalancer,
    sessions: impl Fn(NodeId) -> u64,
    addr: impl Fn(NodeId) -> Option<String>,
) -> Vec<NodeView> {
    fleet
        .nodes
        .iter()
        .filter(|n| n.state != NodeState::Terminated)
        .map(|n| {
            let t = lb.target(n.id);
            NodeView {
                id: n.id,
                az: n.az,
                state: format!("{:?}", n.state).to_lowercase(),
                version: n.version,
                health: t.map(|t| format!("{:?}", t.health).to_lowercase()),
                outstanding: t.map_or(0, |t| t.outstanding),
                sessions: sessions(n.id),
                addr: addr(n.id),
                breakers: Vec::new(),
            }
        })
        .collect()
}

/// The store's copies (a primary down in a failover shows as not alive)
/// and its state as a whole.
pub fn store_view(store: &Store, alive: &[bool]) -> (Vec<Instance>, StoreStatus) {
    let copies = store
        .copies()
        .map(|(k, az, primary)| {
            let up = store.state(k) == StoreState::Up;
            Instance {
                role: if primary { "primary" } else { "replica" }.into(),
                az,
                alive: (up || !primary) && alive[az],
                name: String::new(),
            }
        })
        .collect();
    let status = match store.overall() {
        StoreState::Up => StoreStatus::Up,
        StoreState::FailingOver { .. } => StoreStatus::FailingOver,
        StoreState::Down => StoreStatus::Down,
    };
    (copies, status)
}

/// The database's instances, retired ones left out.
pub fn db_view(db: &Database) -> Vec<Instance> {
    db.instances
        .iter()
        .filter(|i| i.role != crate::db::Role::Retired)
        .map(|i| Instance {
            role: i.role.name().into(),
            az: i.az,
            alive: i.alive,
            name: i.name.clone(),
        })
        .collect()
}

impl Snapshot {
    /// What an observer at `cursor` has not yet seen of this snapshot, taken
    /// whole (from the default cursor): the same instant, with the rows,
    /// events and faults past the cursor. For an observer that comes after
    /// the run is gone (a simulation's page, once its report is made).
    pub fn since(&self, cursor: Cursor) -> Snapshot {
        fn past<T: Clone>(v: &[T], from: usize) -> Vec<T> {
            v.get(from..).unwrap_or(&[]).to_vec()
        }
        Snapshot {
            rows: past(&self.rows, cursor.rows),
            events: past(&self.events, cursor.events),
            faults: past(&self.faults, cursor.faults),
            ..self.clone()
        }
    }

    /// The AZ an instance or node stands in, by name.
    pub fn az_name(&self, az: AzIx) -> &str {
        self.azs.get(az).map_or("?", |z| z.name.as_str())
    }
}
