//! Stratus: a local cloud simulator and architecture testbed.
//!
//! It runs the MyClothes architecture (DNS → load balancer → auto-scaled app
//! nodes across AZs → session store → …) as one sans-IO model in virtual time,
//! breaks it on purpose and counts what shoppers lose against each shopper's
//! own ground truth. See the README for the scenario keys and the report.
//!
//! ```no_run
//! use stratus::scenario::{Scenario, Strategy, Action, Timed};
//! use stratus::time::Dur;
//! let mut sc = Scenario::new("demo", Dur::from_secs(600));
//! sc.timeline.push(Timed { at: Dur::from_secs(300), action: Action::KillAz { az: 1 } });
//! let report = stratus::run(&sc, Strategy::Sticky, 7);
//! println!("carts lost: {}", report.shoppers.carts_lost);
//! ```

pub mod autoscale;
pub mod bundled;
pub mod cache;
pub mod cart;
pub mod cli;
pub mod cost;
pub mod db;
pub mod engine;
pub mod fleet;
pub mod lb;
pub mod live;
pub mod metrics;
pub mod node;
pub mod replay;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod security;
pub mod session;
pub mod shop;
pub mod sim;
pub mod slo;
pub mod station;
pub mod time;
pub mod tour;
pub mod tui;
pub mod workload;
pub mod world;

pub use report::Report;
pub use scenario::{Scenario, Strategy, parse_scenario};
pub use sim::run;
