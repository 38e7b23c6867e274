//! Driver 1: runs a scenario through the discrete-event engine and builds the
//! report. Deterministic: the same scenario, strategy, seed and injected
//! actions give the same report (outside `wall`, which callers fill in).
//!
//! [`Sim`] is the steppable form a dashboard uses: advance to a time, look at
//! a snapshot, inject an action, advance again. Stepping in pieces processes
//! exactly the events one long run would, in the same order, so how a run was
//! watched never changes what it measured.

use crate::engine::{Engine, Pacer, Stop, Unpaced};
use crate::world::World;
use std::path::Path;
use stratus_model::db::DbError;
use stratus_model::report::cross_az::CrossAz;
use stratus_model::report::data::{CacheReport, DatabaseReport};
use stratus_model::report::elastic::{DnsReport, ScalingReport, StoreReport};
use stratus_model::report::injected::Injected;
use stratus_model::report::{Report, RunFacts};
use stratus_model::scenario::{Action, Scenario, Strategy, Timed};
use stratus_model::snapshot::{Cursor, Snapshot};
use stratus_model::time::{MS, SimTime};
use stratus_model::wire::Sent;

/// Runs `sc` under `strategy` with `seed`, as fast as possible: the path
/// `stratus run` takes ([`run_injected`] with nothing injected), so the
/// benchmarks time the code users run, and a profile-guided build trained
/// on the command line optimises it. ([`run_paced`] runs the same generic
/// loop, `Engine::run_until`, instantiated for `dyn Pacer`: a second
/// compiled instance, with a virtual call a time step, that the command
/// line never takes and the training leaves cold.)
pub fn run(sc: &Scenario, strategy: Strategy, seed: u64) -> Report {
    run_injected(sc, strategy, seed, &[])
}

/// Runs with a pacer. Pacing decides only when events are processed, so the
/// report is the same as [`run`]'s, unless the pacer stops the run early, in
/// which case it covers the time reached.
pub fn run_paced(sc: &Scenario, strategy: Strategy, seed: u64, pacer: &mut dyn Pacer) -> Report {
    let mut sim = Sim::new(sc, strategy, seed);
    sim.run_paced(pacer);
    sim.finish()
}

/// Runs `sc` with `injected` actions added at their times, as fast as
/// possible: a replay of a run someone steered by hand.
pub fn run_injected(sc: &Scenario, strategy: Strategy, seed: u64, injected: &[Timed]) -> Report {
    run_injected_into(sc, strategy, seed, injected, None).expect("nothing to export")
}

/// [`run_injected`], then, with `db_dir`, writes the database instances as
/// they are at the end to SQLite files there (see [`stratus_model::db::Database::export`]).
pub fn run_injected_into(
    sc: &Scenario,
    strategy: Strategy,
    seed: u64,
    injected: &[Timed],
    db_dir: Option<&Path>,
) -> Result<Report, DbError> {
    let mut sim = Sim::new(sc, strategy, seed);
    for t in injected {
        sim.inject_at(t.at.0, t.action.clone())
            .expect("a fresh run takes actions at any time within it");
    }
    sim.step_to(sim.end());
    sim.finish_into(db_dir)
}

/// Why an action could not be injected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InjectError {
    #[error("the run is over: nothing can happen after its end")]
    Over,
    #[error("{at} ns is not after the time already simulated ({now} ns)")]
    Past { at: SimTime, now: SimTime },
}

/// One run in progress.
pub struct Sim {
    engine: Engine<World>,
    seed: u64,
    end: SimTime,
    /// Whether any time has been simulated: until then, actions may go at 0.
    stepped: bool,
}

impl Sim {
    pub fn new(sc: &Scenario, strategy: Strategy, seed: u64) -> Sim {
        let mut engine = Engine::new(World::new(sc.clone(), strategy, seed));
        engine.model.start(&mut engine.queue);
        Sim {
            engine,
            seed,
            end: sc.duration.0,
            stepped: false,
        }
    }

    /// Simulated time reached.
    pub fn now(&self) -> SimTime {
        self.engine.queue.now()
    }

    /// When the scenario ends.
    pub fn end(&self) -> SimTime {
        self.end
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn is_over(&self) -> bool {
        self.stepped && self.now() >= self.end
    }

    /// Processes every event up to `t` (at most the end).
    pub fn step_to(&mut self, t: SimTime) {
        self.stepped = true;
        self.engine.run_until(t.min(self.end), &mut Unpaced);
    }

    /// Runs to the end under `pacer`, which may stop it early.
    pub fn run_paced(&mut self, pacer: &mut dyn Pacer) -> Stop {
        self.stepped = true;
        self.engine.run_until(self.end, pacer)
    }

    /// The earliest instant an action injected now can take: the next whole
    /// millisecond after the time reached (nothing has happened there yet),
    /// or the start if nothing has been simulated.
    pub fn next_instant(&self) -> SimTime {
        if self.stepped {
            (self.now() / MS + 1) * MS
        } else {
            self.now()
        }
    }

    /// Injects `action` at [`Sim::next_instant`]; returns when it happens.
    pub fn inject(&mut self, action: Action) -> Result<SimTime, InjectError> {
        let at = self.next_instant();
        self.inject_at(at, action)?;
        Ok(at)
    }

    /// Injects `action` at `at`, which must not be before
    /// [`Sim::next_instant`] nor after the end.
    pub fn inject_at(&mut self, at: SimTime, action: Action) -> Result<(), InjectError> {
        if at > self.end || self.is_over() {
            return Err(InjectError::Over);
        }
        if at < self.next_instant() {
            return Err(InjectError::Past {
                at,
                now: self.now(),
            });
        }
        let e = &mut self.engine;
        e.model.inject(at, action, &mut e.queue);
        Ok(())
    }

    /// Starts keeping every message the run sends between its parts, for
    /// an independent count of the cross-AZ bill (a test's; it grows with
    /// every request).
    pub fn record_wire(&mut self) {
        self.engine.model.wire.record();
    }

    /// The messages kept since [`Sim::record_wire`], in the order sent.
    pub fn wire_trace(&self) -> Vec<Sent> {
        self.engine.model.wire.trace()
    }

    /// What an observer sees now; `cursor` tracks what it has already seen.
    pub fn snapshot(&self, cursor: &mut Cursor) -> Snapshot {
        self.engine.model.snapshot(self.now(), cursor)
    }

    /// The report of the time simulated so far.
    pub fn finish(self) -> Report {
        self.finish_into(None).expect("nothing to export")
    }

    /// [`Sim::finish`], writing the database files to `db_dir` if given.
    pub fn finish_into(mut self, db_dir: Option<&Path>) -> Result<Report, DbError> {
        let end = self.engine.queue.now();
        let events = self.engine.events;
        let seed = self.seed;
        let w = &mut self.engine.model;
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
        let peak_nodes = w
            .metrics
            .series
            .iter()
            .map(|row| {
                row.nodes
                    .iter()
                    .map(|n| u32::from(n.launching + n.healthy + n.unhealthy))
                    .sum::<u32>()
            })
            .max()
            .unwrap_or(0);
        let injected = w
            .injected
            .iter()
            .map(|t| Injected::of(t, &w.sc.region.azs))
            .collect();
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
            faults: std::mem::take(&mut w.cp.faults),
            injected,
            resticks: w.cp.lb.resticks,
            events,
        });
        let sc = &w.sc;
        let store_nodes = match w.strategy {
            Strategy::Store => {
                sc.sessions.store.shards * (1 + sc.sessions.store.replicas.len() as u32)
            }
            _ => 0,
        };
        report.scaling =
            w.cp.tracker
                .as_ref()
                .map(|t| ScalingReport::of(t, peak_nodes));
        report.dns =
            w.cp.dns
                .as_ref()
                .map(|r53| DnsReport::of(r53, &sc.region.azs, &w.metrics));
        if sc.workload.retry != stratus_model::retry::RetryPolicy::none() {
            let series = report.series.as_deref().unwrap_or(&[]);
            report.retries = Some(stratus_model::report::retries::RetriesReport::of(
                &w.metrics, series,
            ));
        }
        if sc.fleet.calls.any() {
            report.calls = Some(w.call_stats.clone());
        }
        report.store = match w.strategy {
            Strategy::Store => Some(StoreReport::of("redis", w.store.shards(), w.store.stats, 0)),
            Strategy::Durable => Some(StoreReport::of(
                "dynamo",
                w.store.shards(),
                w.store.stats,
                w.metrics.stale_carts,
            )),
            _ => None,
        };
        let usage = stratus_model::cost::Usage {
            store_nodes,
            connections: w.metrics.started,
            node_seconds,
            db_instances: sc.database.as_ref().map_or(0, |d| {
                1 + u32::from(d.standby_az.is_some()) + d.replicas.len() as u32
            }),
            cache_nodes: sc.cache.as_ref().map_or(0, |c| c.nodes.len() as u32),
            table_writes: if w.strategy == Strategy::Durable {
                w.store.stats.writes
            } else {
                0
            },
            table_reads: if w.strategy == Strategy::Durable {
                w.store.stats.reads
            } else {
                0
            },
            consistent_reads: sc.sessions.durable.consistent_reads,
        };
        report.cost = stratus_model::report::cost::price(&sc.prices, &report, usage);
        let secs = end as f64 / 1e9;
        let per_gb = sc.prices.cross_az_per_gb;
        report.cross_az = CrossAz::of(&w.wire, w.strategy, secs, per_gb);
        report.cost.cross_az_per_hour = report.cross_az.cost_per_hour_usd;
        report.database =
            w.db.as_ref()
                .map(|d| DatabaseReport::of(d, &sc.region.azs, secs));
        report.cache = w.cache.as_ref().map(|c| CacheReport::of(c, &sc.region.azs));
        report.security = crate::world::security::report(w);
        report.slo = stratus_model::report::checks::evaluate(&sc.slo, &report);
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_model::time::{Dur, SEC};

    fn short() -> Scenario {
        let mut sc = Scenario::new("sim", Dur::from_secs(300));
        sc.load_balancer.health_check.interval = Dur::from_secs(10);
        sc
    }

    #[test]
    fn stepping_in_pieces_equals_one_run() {
        let sc = short();
        let whole = run(&sc, Strategy::Sticky, 5).to_json();
        let mut sim = Sim::new(&sc, Strategy::Sticky, 5);
        let mut t = 0;
        while !sim.is_over() {
            t += 7 * SEC + 123;
            sim.step_to(t);
        }
        assert_eq!(sim.finish().to_json(), whole);
    }

    #[test]
    fn injection_times_are_checked() {
        let sc = short();
        let mut sim = Sim::new(&sc, Strategy::Sticky, 5);
        assert_eq!(sim.next_instant(), 0);
        sim.step_to(10 * SEC + 5);
        assert_eq!(sim.next_instant(), 10 * SEC + MS);
        assert_eq!(
            sim.inject_at(10 * SEC, Action::KillStorePrimary),
            Err(InjectError::Past {
                at: 10 * SEC,
                now: 10 * SEC + 5
            })
        );
        assert_eq!(sim.inject(Action::KillStorePrimary), Ok(10 * SEC + MS));
        sim.step_to(sim.end());
        assert_eq!(sim.inject(Action::KillStorePrimary), Err(InjectError::Over));
        let r = sim.finish();
        assert_eq!(r.injected.len(), 1);
        assert_eq!(r.faults.len(), 1);
        assert_eq!(r.faults[0].t_s, 10.001);
    }
}
