//! The wall clock, where drivers need it: a stopwatch for the report's `wall`
//! figures, and a pacer that plays virtual time at a speed factor. The model
//! never sees either.

#![allow(clippy::disallowed_methods)] // the one place the wall clock is read

use crate::engine::Pacer;
use crate::time::SimTime;
use std::time::{Duration, Instant};

/// Measures how long a run took in wall-clock time.
pub struct Stopwatch(Instant);

impl Stopwatch {
    pub fn start() -> Self {
        Stopwatch(Instant::now())
    }
    pub fn seconds(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// Plays virtual time at `speed` × the wall clock (the dashboard's pacing).
pub struct WallPacer {
    start: Instant,
    speed: f64,
}

impl WallPacer {
    pub fn new(speed: f64) -> Self {
        WallPacer {
            start: Instant::now(),
            speed,
        }
    }
}

impl Pacer for WallPacer {
    fn pace(&mut self, t: SimTime) -> bool {
        let due = Duration::from_secs_f64(t as f64 / 1e9 / self.speed);
        let elapsed = self.start.elapsed();
        if due > elapsed {
            std::thread::sleep(due - elapsed);
        }
        true
    }
}
