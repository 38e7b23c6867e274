//! The live dashboard (ratatui + crossterm): a run, or a comparison, played
//! against the wall clock, with keys that inject faults.
//!
//! The dashboard only ever reads [`Snapshot`](crate::snapshot::Snapshot)s
//! of the model and hands it [`Action`](crate::scenario::Action)s through
//! [`Sim::inject`](crate::sim::Sim::inject), the same path a scripted timeline
//! entry takes, so a run watched and steered here reports exactly what a batch
//! run with those actions reports.
//!
//! Everything that draws or decides is pure and tested on ratatui's
//! `TestBackend` (`state`, `keys`, `draw`, `compare`, `panels`, `chart`,
//! `clock`); the wall clock, the terminal and its input live in `driver` and
//! `term` alone.

pub mod chart;
pub mod clock;
pub mod compare;
pub mod draw;
pub mod driver;
pub mod keys;
pub mod live_dash;
pub mod panels;
pub mod state;
pub mod term;
pub mod theme;

pub use state::{DEFAULT_SPEED, MAX_SPEED, MIN_SPEED};
