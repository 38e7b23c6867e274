//! Stratus's model: every part of the MyClothes architecture as sans-IO state
//! machines, and what is measured of them.
//!
//! Nothing here reads a clock, sleeps or does I/O: callers pass the time in
//! and execute what the parts decide. Two drivers do: `stratus-sim` in
//! virtual time, `stratus-live` on real sockets.
#![forbid(unsafe_code)]

pub mod arrivals;
pub mod autoscale;
pub mod breaker;
pub mod bundled;
pub mod cache;
pub mod calls;
pub mod cart;
pub mod control;
pub mod core;
pub mod cost;
pub mod db;
pub mod degrade;
pub mod dns;
pub mod figure;
pub mod fis;
pub mod fleet;
pub mod lb;
pub mod metrics;
pub mod net;
pub mod node;
pub mod report;
pub mod retry;
pub mod rng;
pub mod route;
pub mod scenario;
pub mod security;
pub mod session;
pub mod shop;
pub mod slo;
pub mod snapshot;
pub mod station;
pub mod target;
pub mod time;
pub mod warmup;
pub mod wire;
pub mod workload;

pub use report::Report;
pub use scenario::{Scenario, Strategy, parse_scenario};
