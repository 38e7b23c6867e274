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
