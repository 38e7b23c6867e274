//! What the live shop shows an observer: the per-second series as its
//! balancer sees it, and the typed snapshot (`stratus_model::snapshot`) that
//! `GET /admin/state` serves and `serve --tui` draws, built by the model's
//! own builders from the cluster's parts, as the simulation builds its own.

use super::cluster::{Cluster, Control};
use stratus_model::metrics::{AzNodes, SecondRow};
use stratus_model::snapshot::{
    Cursor, FleetView, Snapshot, Totals, az_nodes, az_views, db_view, lb_view, node_views,
    store_view,
};
use stratus_model::time::{MS, SEC, SimTime, US};

/// Requests through the balancer, by second: each row closes when a later
/// second begins, as the simulation's `Tick` closes its own.
#[derive(Debug, Default)]
pub struct Series {
    pub rows: Vec<SecondRow>,
    /// The open second's requests, failures and latencies (µs).
    requests: u32,
    failures: u32,
    latencies: Vec<u32>,
    pub requests_total: u64,
    pub failed_total: u64,
}

impl Series {
    /// Closes every second that ended by `now`; `nodes` is the fleet as it
    /// stands (the rows of seconds without a request repeat it).
    pub fn roll(&mut self, now: SimTime, nodes: &[AzNodes]) {
        let done = (now / SEC) as u32;
        while (self.rows.len() as u32) < done {
            let mut lat = std::mem::take(&mut self.latencies);
            lat.sort_unstable();
            let q = |p: f64| {
                lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
                    .map_or(0.0, |&us| f64::from(us) * US as f64 / MS as f64)
            };
            self.rows.push(SecondRow {
                t_s: self.rows.len() as u32 + 1,
                requests: std::mem::take(&mut self.requests),
                failures: std::mem::take(&mut self.failures),
                p50_ms: q(0.50),
                p99_ms: q(0.99),
                nodes: nodes.to_vec(),
                carts_lost: 0,
            });
        }
    }

    /// One request answered at `now` after `took`; `ok` unless the balancer
    /// or the node failed it (a 5xx or no answer).
    pub fn record(
        &mut self,
        now: SimTime,
        took: SimTime,
        ok: bool,
        nodes: impl FnOnce() -> Vec<AzNodes>,
    ) {
        if (self.rows.len() as u64) < now / SEC {
            self.roll(now, &nodes());
        }
        self.requests += 1;
        self.requests_total += 1;
        if !ok {
            self.failures += 1;
            self.failed_total += 1;
        }
        self.latencies
            .push((took / US).min(u64::from(u32::MAX)) as u32);
    }
}

impl Cluster {
    /// Counts a request the balancer answered (`start` is when it came in).
    pub fn observe(&self, c: &mut Control, start: SimTime, ok: bool) {
        let now = self.shop.clock.now();
        let azs = self.sc.region.azs.len();
        let (fleet, lb) = (&c.fleet, &c.lb);
        c.series.record(now, now.saturating_sub(start), ok, || {
            az_nodes(fleet, lb, azs)
        });
    }

    /// The shop now, with what was added since `cursor`.
    pub fn snapshot(&self, cursor: Cursor) -> Snapshot {
        let now = self.shop.clock.now();
        let azs = &self.sc.region.azs;
        let mut c = self.lock();
        let nodes = az_nodes(&c.fleet, &c.lb, azs.len());
        c.series.roll(now, &nodes);
        let uses_store = self.shop.strategy.uses_store() && self.shop.remote.is_none();
        let (store, store_status) = if uses_store {
            let (copies, status) =
                store_view(&self.shop.store.lock().expect("store lock"), &c.alive);
            (copies, Some(status))
        } else {
            (Vec::new(), None)
        };
        let c = &*c;
        let next = Cursor {
            rows: c.series.rows.len(),
            events: c.log.len(),
            faults: c.faults.len(),
        };
        Snapshot {
            now,
            end: 0,
            scenario: self.sc.name.clone(),
            strategy: self.shop.strategy.name().to_string(),
            azs: az_views(azs, &c.alive, &c.fleet, &c.lb),
            lb: lb_view(&c.lb, self.sticky),
            fleet: FleetView {
                min: self.sc.fleet.min,
                desired: c.fleet.desired,
                max: self.sc.fleet.max,
                version: c.fleet.version,
                deploying: c.fleet.deploy.is_some(),
            },
            nodes: node_views(
                &c.fleet,
                &c.lb,
                |id| {
                    c.nodes[id as usize]
                        .as_ref()
                        .map_or(0, |n| n.ctx.sessions.len() as u64)
                },
                |id| c.addrs[id as usize].map(|a| a.to_string()),
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
            faults: c.faults.get(cursor.faults..).unwrap_or(&[]).to_vec(),
            injected: c.injected.clone(),
            cursor: next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_close_in_order_with_their_quantiles() {
        let mut s = Series::default();
        let nodes = || vec![AzNodes::default(); 2];
        for i in 0..100u64 {
            s.record(SEC / 2, (i + 1) * MS, i != 0, nodes);
        }
        s.record(2 * SEC + 1, MS, true, nodes);
        assert_eq!(s.rows.len(), 2, "second 2 had no request and still closes");
        assert_eq!(
            (s.rows[0].t_s, s.rows[0].requests, s.rows[0].failures),
            (1, 100, 1)
        );
        assert_eq!((s.rows[0].p50_ms, s.rows[0].p99_ms), (51.0, 100.0));
        assert_eq!((s.rows[1].t_s, s.rows[1].requests), (2, 0));
        assert_eq!((s.requests_total, s.failed_total), (101, 1));
    }
}
