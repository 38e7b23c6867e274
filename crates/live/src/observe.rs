//! What the live shop shows an observer: each request counted into the
//! per-second [`Series`](super::series::Series), and the typed snapshot
//! (`stratus_model::snapshot`) that `GET /admin/state` serves and
//! `serve --tui` draws, built by the model's own builders from the
//! cluster's parts, as the simulation builds its own.

use super::cluster::{Cluster, Control};
use stratus_model::snapshot::{
    Cursor, FleetView, NodeView, Snapshot, Totals, az_nodes, az_views, db_view, lb_view,
    node_views, store_view,
};
use stratus_model::time::SimTime;

impl Cluster {
    /// Counts a request the balancer answered (`start` is when it came in).
    pub fn observe(&self, c: &mut Control, start: SimTime, ok: bool) {
        let now = self.shop.clock.now();
        let azs = self.sc.region.azs.len();
        let (fleet, lb) = (&c.cp.fleet, &c.cp.lb);
        c.series.record(now, now.saturating_sub(start), ok, || {
            az_nodes(fleet, lb, azs)
        });
    }

    /// Each node's breakers, when `[fleet.calls]` gives it any.
    fn with_breakers(&self, c: &Control, mut nodes: Vec<NodeView>) -> Vec<NodeView> {
        let calls = &self.shop.calls.policy;
        if calls.any() {
            for n in &mut nodes {
                if let Some(Some(live)) = c.nodes.get(n.id as usize) {
                    let b = live.ctx.breakers.lock().expect("breakers lock");
                    n.breakers = stratus_model::snapshot::breaker_views(calls, &b);
                }
            }
        }
        nodes
    }

    /// The shop now, with what was added since `cursor`.
    pub fn snapshot(&self, cursor: Cursor) -> Snapshot {
        let now = self.shop.clock.now();
        let azs = &self.sc.region.azs;
        let mut c = self.lock();
        let changes = std::mem::take(&mut *self.shop.calls.changes.lock().expect("changes lock"));
        c.log.extend(changes);
        let nodes = az_nodes(&c.cp.fleet, &c.cp.lb, azs.len());
        c.series.roll(now, &nodes);
        let uses_store = self.shop.strategy.uses_store() && self.shop.remote.is_none();
        let (store, store_status) = if uses_store {
            let (copies, status) =
                store_view(&self.shop.store.lock().expect("store lock"), &c.cp.alive);
            (copies, Some(status))
        } else {
            (Vec::new(), None)
        };
        let c = &*c;
        let next = Cursor {
            rows: c.series.rows.len(),
            events: c.log.len(),
            faults: c.cp.faults.len(),
        };
        Snapshot {
            now,
            end: 0,
            scenario: self.sc.name.clone(),
            strategy: self.shop.strategy.name().to_string(),
            azs: az_views(azs, &c.cp.alive, &c.cp.fleet, &c.cp.lb),
            lb: lb_view(&c.cp.lb, self.sticky),
            fleet: FleetView {
                min: self.sc.fleet.min,
                desired: c.cp.fleet.desired,
                max: self.sc.fleet.max,
                version: c.cp.fleet.version,
                deploying: c.cp.fleet.deploy.is_some(),
            },
            nodes: self.with_breakers(
                c,
                node_views(
                    &c.cp.fleet,
                    &c.cp.lb,
                    |id| {
                        c.nodes
                            .get(id as usize)
                            .and_then(Option::as_ref)
                            .map_or(0, |n| n.ctx.sessions.len() as u64)
                    },
                    |id| {
                        c.addrs
                            .get(id as usize)
                            .copied()
                            .flatten()
                            .map(|a| a.to_string())
                    },
                ),
            ),
            store,
            store_status,
            databases: self
                .shop
                .db
                .as_ref()
                .map(|db| db_view(&db.lock().expect("db lock")))
                .unwrap_or_default(),
            cache: self.shop.cache.as_ref().map(|cache| {
                stratus_model::report::data::CacheReport::of(
                    &cache.lock().expect("cache lock"),
                    azs,
                )
            }),
            totals: Totals {
                requests: c.series.requests_total,
                failed: c.series.failed_total,
                ..Totals::default()
            },
            rows: c.series.rows.get(cursor.rows..).unwrap_or(&[]).to_vec(),
            events: c.log.get(cursor.events..).unwrap_or(&[]).to_vec(),
            faults: c.cp.fault_times(cursor.faults),
            injected: c.injected.clone(),
            cursor: next,
        }
    }
}
