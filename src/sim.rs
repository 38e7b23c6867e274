//! Driver 1: runs a scenario through the discrete-event engine and builds the
//! report. Deterministic: the same scenario, strategy and seed give the same
//! report (outside `wall`, which callers fill in).

use crate::db::DbError;
use crate::engine::{Engine, Pacer, Unpaced};
use crate::report::data::{CacheReport, DatabaseReport};
use crate::report::{Report, RunFacts};
use crate::scenario::{Scenario, Strategy};
use crate::world::World;
use std::path::Path;

/// Runs `sc` under `strategy` with `seed`, as fast as possible.
pub fn run(sc: &Scenario, strategy: Strategy, seed: u64) -> Report {
    run_paced(sc, strategy, seed, &mut Unpaced)
}

/// Runs with a pacer (a dashboard's wall-clock pacing). Pacing decides only
/// when events are processed, so the report is the same as [`run`]'s, unless
/// the pacer stops the run early, in which case it covers the time reached.
pub fn run_paced(sc: &Scenario, strategy: Strategy, seed: u64, pacer: &mut dyn Pacer) -> Report {
    run_full(sc, strategy, seed, pacer, None).expect("nothing to export")
}

/// Runs as fast as possible and writes the database instances, as they are at
/// the end, to SQLite files in `dir` (see [`crate::db::Database::export`]).
pub fn run_exporting(
    sc: &Scenario,
    strategy: Strategy,
    seed: u64,
    dir: &Path,
) -> Result<Report, DbError> {
    run_full(sc, strategy, seed, &mut Unpaced, Some(dir))
}

fn run_full(
    sc: &Scenario,
    strategy: Strategy,
    seed: u64,
    pacer: &mut dyn Pacer,
    db_dir: Option<&Path>,
) -> Result<Report, DbError> {
    let mut e = Engine::new(World::new(sc.clone(), strategy, seed));
    e.model.start(&mut e.queue);
    e.run_until(sc.duration.0, pacer);
    let end = e.queue.now();
    let w = &mut e.model;
    w.metrics.queue.close(end);
    if let Some(db) = &mut w.db {
        db.finish(end);
        if let Some(dir) = db_dir {
            db.export(dir)?;
        }
    }
    let node_seconds: f64 = w
        .metrics
        .series
        .iter()
        .flat_map(|row| row.nodes.iter())
        .map(|n| f64::from(n.launching + n.healthy + n.unhealthy + n.draining))
        .sum();
    // The world ends here: its logs move into the report rather than being copied.
    let mut report = Report::build(RunFacts {
        scenario: &w.sc.name,
        azs: &w.sc.region.azs,
        strategy: w.strategy.name(),
        seed,
        simulated_ns: end,
        series: std::mem::take(&mut w.metrics.series),
        metrics: &w.metrics,
        log: std::mem::take(&mut w.log),
        faults: std::mem::take(&mut w.faults),
        resticks: w.lb.resticks,
        events: e.events,
    });
    let store_nodes = match strategy {
        Strategy::Store => 1 + u32::from(sc.sessions.store.replica_az.is_some()),
        _ => 0,
    };
    let usage = crate::cost::Usage {
        store_nodes,
        connections: w.metrics.started,
        node_seconds,
        db_instances: sc.database.as_ref().map_or(0, |d| {
            1 + u32::from(d.standby_az.is_some()) + d.replicas.len() as u32
        }),
        cache_nodes: sc.cache.as_ref().map_or(0, |c| c.nodes.len() as u32),
    };
    report.cost = crate::cost::price(&sc.prices, &report, usage);
    let secs = end as f64 / 1e9;
    report.database =
        w.db.as_ref()
            .map(|d| DatabaseReport::of(d, &sc.region.azs, secs));
    report.cache = w.cache.as_ref().map(|c| CacheReport::of(c, &sc.region.azs));
    report.slo = crate::slo::evaluate(&sc.slo, &report);
    Ok(report)
}
