//! The report's `database` and `cache` sections: what the data tier did.

use crate::cache::Cache;
use crate::db::{Database, DbStats, Role};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct InstanceReport {
    pub name: String,
    /// Its role at the end of the run.
    pub role: String,
    pub az: String,
    pub alive: bool,
    pub queries: u64,
    pub queries_per_second: f64,
    /// Busy time over the run's time and the instance's workers.
    pub utilisation: f64,
    /// Mean time a query waited for a worker.
    pub wait_mean_ms: f64,
    pub commits: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct LagMs {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    /// Changes applied by replicas.
    pub applied: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct DatabaseReport {
    pub instances: Vec<InstanceReport>,
    /// The primary at the end (empty if none).
    pub primary: String,
    /// Queries per second at the instance that is primary at the end.
    pub primary_queries_per_second: f64,
    pub replica_lag_ms: LagMs,
    /// Reads that missed what the shopper had just written (the sum of
    /// `stale_order_reads` and `stale_account_reads`).
    pub stale_reads: u64,
    /// Stale reads by page, failed reads and writes, orders committed and lost.
    #[serde(flatten)]
    pub stats: DbStats,
    /// Orders the primary holds at the end: equal to orders_committed unless
    /// a promotion lost some.
    pub orders_in_primary: u64,
    /// Time without a primary taking writes.
    pub write_outage_s: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheReport {
    pub nodes: Vec<String>,
    pub hits: u64,
    pub misses: u64,
    pub hit_ratio: f64,
    /// Database reads the cache answered instead.
    pub db_reads_saved: u64,
    pub sets: u64,
    pub invalidations: u64,
    /// Keys lost with their nodes.
    pub keys_lost: u64,
    /// Lookups that found their node dead and went to the database.
    pub unavailable: u64,
    pub keys_at_end: u64,
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl DatabaseReport {
    pub fn of(db: &Database, azs: &[String], seconds: f64) -> DatabaseReport {
        let per_s = |n: u64| {
            if seconds > 0.0 {
                r3(n as f64 / seconds)
            } else {
                0.0
            }
        };
        let workers = f64::from(db.cfg.workers);
        let instances: Vec<InstanceReport> = db
            .instances
            .iter()
            .map(|i| InstanceReport {
                name: i.name.clone(),
                role: i.role.name().into(),
                az: azs.get(i.az).cloned().unwrap_or_default(),
                alive: i.alive,
                queries: i.queries,
                queries_per_second: per_s(i.queries),
                utilisation: if seconds > 0.0 {
                    r3(i.busy_ns as f64 / 1e9 / seconds / workers)
                } else {
                    0.0
                },
                wait_mean_ms: if i.queries > 0 {
                    r3(i.waited_ns as f64 / 1e6 / i.queries as f64)
                } else {
                    0.0
                },
                commits: i.commits,
            })
            .collect();
        let primary = db.instances.iter().position(|i| i.role == Role::Primary);
        let h = &db.lag_us;
        let ms = |us: u64| r3(us as f64 / 1000.0);
        let s = &db.stats;
        DatabaseReport {
            primary: primary
                .map(|p| instances[p].name.clone())
                .unwrap_or_default(),
            primary_queries_per_second: primary.map_or(0.0, |p| instances[p].queries_per_second),
            instances,
            replica_lag_ms: LagMs {
                p50: ms(h.value_at_quantile(0.5)),
                p99: ms(h.value_at_quantile(0.99)),
                max: ms(h.max()),
                applied: h.len(),
            },
            stale_reads: s.stale_order_reads + s.stale_account_reads,
            stats: s.clone(),
            orders_in_primary: db.orders_in_primary(),
            write_outage_s: r3(s.write_outage_ns as f64 / 1e9),
        }
    }
}

impl CacheReport {
    pub fn of(c: &Cache, azs: &[String]) -> CacheReport {
        let s = &c.stats;
        let looked = s.hits + s.misses;
        CacheReport {
            nodes: c
                .nodes
                .iter()
                .map(|n| azs.get(n.az).cloned().unwrap_or_default())
                .collect(),
            hits: s.hits,
            misses: s.misses,
            hit_ratio: if looked > 0 {
                r3(s.hits as f64 / looked as f64)
            } else {
                0.0
            },
            db_reads_saved: s.hits,
            sets: s.sets,
            invalidations: s.invalidations,
            keys_lost: s.keys_lost,
            unavailable: s.unavailable,
            keys_at_end: c.keys() as u64,
        }
    }
}
