//! The world's side of the typed snapshot (`stratus_model::snapshot`):
//! what an observer may see of it at one instant, with the series rows, log
//! entries and faults added since the observer's cursor.

use super::World;
pub use stratus_model::snapshot::*;
use stratus_model::time::SimTime;

impl World {
    /// The world at `now`, with what was added since `cursor` (which moves on).
    pub fn snapshot(&self, now: SimTime, cursor: &mut Cursor) -> Snapshot {
        let m = &self.metrics;
        let uses_store = self.strategy.uses_store();
        let (store, store_status) = if uses_store {
            let (copies, status) = store_view(&self.store, &self.cp.alive);
            (copies, Some(status))
        } else {
            (Vec::new(), None)
        };
        let next = Cursor {
            rows: m.series.len(),
            events: self.log.len(),
            faults: self.cp.faults.len(),
        };
        let mut nodes = node_views(
            &self.cp.fleet,
            &self.cp.lb,
            |id| self.cp.fleet.nodes[id as usize].sessions.map.len() as u64,
            |_| None,
        );
        let calls = &self.sc.fleet.calls;
        if calls.any() {
            let closed = Default::default();
            for n in &mut nodes {
                let b = self.breakers.get(n.id as usize).unwrap_or(&closed);
                n.breakers = stratus_model::snapshot::breaker_views(calls, b);
            }
        }
        let snap = Snapshot {
            now,
            end: self.sc.duration.0,
            scenario: self.sc.name.clone(),
            strategy: self.strategy.name().to_string(),
            azs: az_views(
                &self.sc.region.azs,
                &self.cp.alive,
                &self.cp.fleet,
                &self.cp.lb,
            ),
            lb: lb_view(&self.cp.lb, self.sticky_lb),
            fleet: FleetView {
                min: self.sc.fleet.min,
                desired: self.cp.fleet.desired,
                max: self.sc.fleet.max,
                version: self.cp.fleet.version,
                deploying: self.cp.fleet.deploy.is_some(),
            },
            nodes,
            store,
            store_status,
            databases: self.db.as_ref().map(db_view).unwrap_or_default(),
            cache: self
                .cache
                .as_ref()
                .map(|c| stratus_model::report::data::CacheReport::of(c, &self.sc.region.azs)),
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
            faults: self.cp.fault_times(cursor.faults),
            injected: self.injected.iter().map(|t| t.at.as_secs_f64()).collect(),
            cursor: next,
        };
        *cursor = next;
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
        assert_eq!(b.nodes.iter().filter(|n| n.state == "dead").count(), 2);
    }

    #[test]
    fn a_whole_snapshot_since_a_cursor_is_the_incremental_one() {
        let mut sc = Scenario::new("since", Dur::from_secs(60));
        sc.timeline.push(Timed {
            at: Dur::from_secs(30),
            action: Action::KillAz { az: 2 },
        });
        let mut e = Engine::new(World::new(sc, Strategy::Sticky, 5));
        e.model.start(&mut e.queue);
        let mut cur = Cursor::default();
        e.run_until(20 * SEC, &mut Unpaced);
        e.model.snapshot(20 * SEC, &mut cur);
        let seen = cur;
        e.run_until(45 * SEC, &mut Unpaced);
        let new = e.model.snapshot(45 * SEC, &mut cur);
        let whole = e.model.snapshot(45 * SEC, &mut Cursor::default());
        assert_eq!(whole.since(seen), new);
        assert_eq!(whole.since(Cursor::default()), whole);
        assert!(whole.since(whole.cursor).rows.is_empty());
        assert_eq!(new.faults, vec![30.0]);
    }
}
