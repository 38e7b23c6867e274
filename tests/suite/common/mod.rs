//! Helpers shared by the scenario tests.
#![allow(dead_code)]

pub mod live;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use stratus::scenario::{Action, Timed};
use stratus::time::Dur;
use stratus::{Report, Scenario, Strategy};

/// Adds `action` to the scenario's timeline at `secs`.
pub fn at(sc: &mut Scenario, secs: u64, action: Action) {
    sc.timeline.push(Timed {
        at: Dur::from_secs(secs),
        action,
    });
}

/// The run's events of one kind.
pub fn events<'a>(r: &'a Report, kind: &str) -> Vec<&'a stratus::report::LogEvent> {
    r.events.iter().filter(|e| e.kind == kind).collect()
}

pub fn bundled(name: &str) -> Scenario {
    let text = stratus::bundled::find(name).expect("bundled scenario");
    stratus::parse_scenario(name, text).expect("bundled scenarios parse")
}

pub fn run(sc: &Scenario, st: Strategy) -> Report {
    stratus::run(sc, st, sc.seed)
}

/// A bundled scenario's report under `st` at the scenario's own seed, run
/// once in the suite's process: the determinism test hashes it, the schema
/// test checks it and the tour judges it, where each used to run it again.
/// Only for tests that read a report; a test that compares two runs runs
/// both itself.
pub fn bundled_report(name: &str, st: Strategy) -> Arc<Report> {
    type Cell = Arc<OnceLock<Arc<Report>>>;
    static RUNS: Mutex<BTreeMap<(String, Strategy), Cell>> = Mutex::new(BTreeMap::new());
    // The map's lock is held only to find the cell: two tests asking for
    // different runs compute them at once, two asking for the same one wait
    // for one computation.
    let cell = RUNS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry((name.to_string(), st))
        .or_default()
        .clone();
    cell.get_or_init(|| {
        let sc = bundled(name);
        Arc::new(stratus::run(&sc, st, sc.seed))
    })
    .clone()
}

/// The report as JSON with the wall-clock figures blanked.
pub fn json_outside_wall(r: &Report) -> String {
    let mut r = r.clone();
    r.wall = Default::default();
    r.to_json()
}

/// A JSON report (one run, or a comparison's `runs`) with each run's
/// `wall` removed: what two runs of the same work must agree on.
pub fn without_wall(json: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(json).expect("json");
    let runs = match v.get_mut("runs") {
        Some(r) => r.as_array_mut().unwrap().iter_mut().collect(),
        None => vec![&mut v],
    };
    for r in runs {
        r.as_object_mut().unwrap().remove("wall");
    }
    v
}

/// A report's totals are its per-second series' sums: a request is counted
/// once, in the second it was answered, and only if that was within the
/// run. Both drivers keep this rule; a live request still in flight at the
/// end is not counted, as the simulation stops with it unanswered.
pub fn assert_totals_are_the_series(r: &Report) {
    let rows = r.series.as_deref().expect("the report keeps its series");
    let sum = |f: fn(&stratus::metrics::SecondRow) -> u32| -> u64 {
        rows.iter().map(|x| u64::from(f(x))).sum()
    };
    assert_eq!(
        (r.requests.total, r.requests.failed),
        (sum(|x| x.requests), sum(|x| x.failures)),
        "{} {}: the totals (requests, failed) against the series' sums; errors {:?}",
        r.scenario,
        r.strategy,
        r.requests.errors
    );
}
