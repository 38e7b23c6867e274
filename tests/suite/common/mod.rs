//! Helpers shared by the scenario tests.
#![allow(dead_code)]

pub mod live;

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

/// The report as JSON with the wall-clock figures blanked.
pub fn json_outside_wall(r: &Report) -> String {
    let mut r = r.clone();
    r.wall = Default::default();
    r.to_json()
}
