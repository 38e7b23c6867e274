//! Stratus's front ends: the command line, the terminal dashboard, the web
//! dashboard of a simulation and the tour, over the three library crates
//! that do the work.
//!
//! - `stratus-model` ([`model`]): the architecture as sans-IO state machines
//! - `stratus-sim` ([`sim`]): the discrete-event driver, in virtual time
//! - `stratus-live` ([`live`]): the live driver, on real sockets
//!
//! The model's and the simulation's modules are re-exported at this crate's
//! root, so `stratus::scenario` and `stratus::run` read as before; a program
//! that only simulates depends on `stratus-model` and `stratus-sim` alone.
#![forbid(unsafe_code)]

pub mod cli;
pub mod tour;
pub mod tui;
pub mod web;

pub use stratus_live as live;
pub use stratus_model as model;
pub use stratus_model::{
    Report, Scenario, Strategy, arrivals, autoscale, bundled, cache, cart, cost, db, degrade, dns,
    fleet, lb, metrics, node, parse_scenario, report, retry, rng, scenario, security, session,
    shop, slo, snapshot, station, time, wire, workload,
};
pub use stratus_sim::{engine, replay, run, sim, world};
