//! Stratus's simulation driver: the discrete-event engine runs the model in
//! virtual time, so the same scenario and seed give the same report.
//!
//! ```no_run
//! use stratus_model::scenario::{Action, Scenario, Strategy, Timed};
//! use stratus_model::time::Dur;
//! let mut sc = Scenario::new("demo", Dur::from_secs(600));
//! sc.timeline.push(Timed { at: Dur::from_secs(300), action: Action::KillAz { az: 1 } });
//! let report = stratus_sim::run(&sc, Strategy::Sticky, 7);
//! println!("carts lost: {}", report.shoppers.carts_lost);
//! ```
#![deny(unsafe_code)]

pub mod engine;
pub mod prefetch;
pub mod replay;
pub mod sim;
pub mod world;

pub use sim::run;
