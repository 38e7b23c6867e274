//! What an observer may see of the world at one instant, as plain data.
//!
//! A dashboard reads snapshots and nothing else: it never holds a reference
//! into the model, so it cannot drive or disturb it. A snapshot carries the
//! series rows and log entries added since the observer's [`Cursor`], so a
//! long run is not copied whole at every frame.

use super::World;
use stratus_model::metrics::{AzNodes, SecondRow};
use stratus_model::report::LogEvent;
use stratus_model::scenario::AzIx;
use stratus_model::session::store::StoreState;
use stratus_model::time::SimTime;

/// How far an observer has read the world's series and log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub rows: usize,
    pub events: usize,
    pub faults: usize,
}

/// A stateful instance placed in an AZ: a session store node, and (once the
/// data tier exists) a database instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// "primary", "replica", "standby", …
    pub role: String,
    pub az: AzIx,
    pub alive: bool,
}

/// One AZ: whether it has power, and its nodes by state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AzView {
    pub name: String,
    pub alive: bool,
    pub nodes: AzNodes,
}

/// The load balancer's side of things.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LbView {
    /// Targets passing health checks and not draining.
    pub healthy: u32,
    /// Targets registered and not draining.
    pub targets: u32,
    pub resticks: u64,
}

/// The group's capacity settings, for scale-in and scale-out keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FleetView {
    pub min: u32,
    pub desired: u32,
    pub max: u32,
}

/// Running totals since the start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreStatus {
    Up,
    FailingOver,
    Down,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub now: SimTime,
    pub end: SimTime,
    pub scenario: String,
    pub strategy: String,
    pub azs: Vec<AzView>,
    pub lb: LbView,
    pub fleet: FleetView,
    /// The session store's instances; empty unless the strategy uses it.
    pub store: Vec<Instance>,
    pub store_status: Option<StoreStatus>,
    /// Database instances (primary, standby, read replicas). The data tier
    /// fills this in; the dashboard already draws whatever it holds.
    pub databases: Vec<Instance>,
    pub totals: Totals,
    /// Series rows closed since the cursor, oldest first.
    pub rows: Vec<SecondRow>,
    /// Log entries since the cursor.
    pub events: Vec<LogEvent>,
    /// Times (s) of the faults since the cursor.
    pub faults: Vec<f64>,
    /// Times (s) of every injected action so far.
    pub injected: Vec<f64>,
}

impl World {
    /// The world at `now`, with what was added since `cursor` (which moves on).
    pub fn snapshot(&self, now: SimTime, cursor: &mut Cursor) -> Snapshot {
        let m = &self.metrics;
        let azs = self
            .nodes_per_az()
            .into_iter()
            .enumerate()
            .map(|(i, nodes)| AzView {
                name: self.az_name(i),
                alive: self.alive[i],
                nodes,
            })
            .collect();
        let mut lb = LbView {
            resticks: self.lb.resticks,
            ..LbView::default()
        };
        for t in self.lb.targets().filter(|t| !t.draining) {
            lb.targets += 1;
            lb.healthy += u32::from(t.health == stratus_model::lb::Health::Healthy);
        }
        let uses_store = matches!(
            self.strategy,
            stratus_model::scenario::Strategy::Store | stratus_model::scenario::Strategy::Durable
        );
        let mut store = Vec::new();
        let mut store_status = None;
        if uses_store {
            for (k, az, primary) in self.store.copies() {
                let up = self.store.state(k) == StoreState::Up;
                store.push(Instance {
                    role: if primary { "primary" } else { "replica" }.into(),
                    az,
                    alive: (up || !primary) && self.alive[az],
                });
            }
            store_status = Some(match self.store.overall() {
                StoreState::Up => StoreStatus::Up,
                StoreState::FailingOver { .. } => StoreStatus::FailingOver,
                StoreState::Down => StoreStatus::Down,
            });
        }
        let snap = Snapshot {
            now,
            end: self.sc.duration.0,
            scenario: self.sc.name.clone(),
            strategy: self.strategy.name().to_string(),
            azs,
            lb,
            fleet: FleetView {
                min: self.sc.fleet.min,
                desired: self.fleet.desired,
                max: self.sc.fleet.max,
            },
            store,
            store_status,
            databases: Vec::new(),
            totals: Totals {
                requests: m.requests,
                failed: m.failed,
                shoppers: m.started,
                with_items: m.with_items,
                carts_lost: m.carts_lost,
                items_lost: m.items_lost,
                abandoned_with_items: m.abandoned_with_items,
                checkouts_ok: m.checkouts_ok,
            },
            rows: m.series.get(cursor.rows..).unwrap_or(&[]).to_vec(),
            events: self.log.get(cursor.events..).unwrap_or(&[]).to_vec(),
            faults: self
                .faults
                .get(cursor.faults..)
                .unwrap_or(&[])
                .iter()
                .map(|f| f.t_s)
                .collect(),
            injected: self.injected.iter().map(|t| t.at.as_secs_f64()).collect(),
        };
        *cursor = Cursor {
            rows: m.series.len(),
            events: self.log.len(),
            faults: self.faults.len(),
        };
        snap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, Unpaced};
    use stratus_model::scenario::{Action, Scenario, Strategy, Timed};
    use stratus_model::time::{Dur, SEC};

    #[test]
    fn a_snapshot_shows_a_dead_az_and_only_what_is_new() {
        let mut sc = Scenario::new("snap", Dur::from_secs(120));
        sc.timeline.push(Timed {
            at: Dur::from_secs(30),
            action: Action::KillAz { az: 1 },
        });
        let mut e = Engine::new(World::new(sc, Strategy::Store, 3));
        e.model.start(&mut e.queue);
        let mut cur = Cursor::default();
        e.run_until(20 * SEC, &mut Unpaced);
        let a = e.model.snapshot(20 * SEC, &mut cur);
        assert_eq!(a.rows.len(), 20);
        assert!(a.azs.iter().all(|z| z.alive && z.nodes.healthy == 2));
        assert_eq!((a.lb.healthy, a.lb.targets), (6, 6));
        assert_eq!(a.store.len(), 2);
        assert_eq!(a.store_status, Some(StoreStatus::Up));
        e.run_until(40 * SEC, &mut Unpaced);
        let b = e.model.snapshot(40 * SEC, &mut cur);
        assert_eq!(b.rows.first().map(|r| r.t_s), Some(21));
        assert_eq!(b.rows.len(), 20);
        assert!(!b.azs[1].alive);
        assert_eq!(b.azs[1].nodes.dead, 2);
        assert_eq!(b.faults, vec![30.0]);
        assert!(b.events.iter().any(|e| e.kind == "kill_az"));
        // The replica lived in the dead AZ: the store loses it for good.
        assert_eq!(b.store.len(), 1);
        assert_eq!((b.store[0].role.as_str(), b.store[0].az), ("primary", 0));
        assert!(b.databases.is_empty());
    }
}
