//! Helpers shared by the scenario tests.
#![allow(dead_code)]

use stratus::{Report, Scenario, Strategy};

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
