//! When new shoppers arrive: a Poisson process whose rate may change with
//! time (a trace, a day's shape, a spike), drawn the same way by both
//! drivers.
//!
//! A rate that varies is drawn by thinning (Lewis and Shedler, 1979): gaps
//! are drawn at an upper bound of the rate and each candidate is kept with
//! chance rate/bound. The bound is taken per piece of the shape (a trace's
//! row, a half hour of a day) and a candidate past its piece is dropped and
//! the draw restarted at the piece's end, which the exponential's lack of
//! memory makes exact. So a trace that climbs from 1/s to 5,000/s wastes no
//! draws at 1/s, and a constant rate (or a step of a trace) keeps every
//! candidate without a second draw: a scenario without a shape draws exactly
//! what it drew before shapes existed.

mod trace;

pub use trace::{Interpolate, Trace, TraceError, TraceOptions, parse_trace};

use crate::rng::Rng;
use crate::time::{SEC, SimTime, nearest_ns};
use std::f64::consts::TAU;

/// The most shoppers per second a run accepts: beyond it a 30-minute run
/// would hold more shoppers than memory, and the mistake is likelier a typo.
pub const MAX_RATE: f64 = 100_000.0;

/// A time that never comes: a piece that lasts for the rest of the run.
const FOREVER: SimTime = SimTime::MAX;

/// Pieces a day's shape is cut into for its bounds (half hours of a day).
const DIURNAL_PIECES: u64 = 48;

/// How the arrival rate moves over the run.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// `arrivals_per_second`, all run long.
    Constant,
    /// New shoppers per second read from a file's rows.
    Trace(Trace),
    /// A day: a cosine from `trough` up to `peak` at `peak_at` into each
    /// `period` and back.
    Diurnal {
        peak: f64,
        trough: f64,
        peak_at: SimTime,
        period: SimTime,
    },
    /// `arrivals_per_second` times `factor` from `start` for `length`.
    Spike {
        start: SimTime,
        length: SimTime,
        factor: f64,
    },
}

/// The arrival process of one run: the scenario's shape until a
/// `set_arrivals` makes the rate constant from then on.
#[derive(Clone, Debug, PartialEq)]
pub struct Process {
    base: f64,
    shape: Shape,
}

impl Process {
    /// `base` is `arrivals_per_second`: the constant rate, or the rate a
    /// spike multiplies.
    pub fn new(base: f64, shape: Shape) -> Process {
        Process { base, shape }
    }

    /// `set_arrivals`: this rate from now on, whatever the shape said.
    pub fn set_rate(&mut self, rate: f64) {
        self.base = rate;
        self.shape = Shape::Constant;
    }

    /// New shoppers per second at `t`.
    pub fn rate_at(&self, t: SimTime) -> f64 {
        match &self.shape {
            Shape::Constant => self.base,
            Shape::Trace(tr) => tr.rate_at(t),
            Shape::Diurnal {
                peak,
                trough,
                peak_at,
                period,
            } => diurnal(*peak, *trough, phase(t, *peak_at, *period)),
            Shape::Spike {
                start,
                length,
                factor,
            } => {
                if t >= *start && t - start < *length {
                    self.base * factor
                } else {
                    self.base
                }
            }
        }
    }

    /// An upper bound of the rate from `t` to the end of its piece, and
    /// that end.
    fn piece(&self, t: SimTime) -> (f64, SimTime) {
        match &self.shape {
            Shape::Constant => (self.base, FOREVER),
            Shape::Trace(tr) => tr.piece(t),
            Shape::Diurnal {
                peak,
                trough,
                peak_at,
                period,
            } => {
                let len = (period / DIURNAL_PIECES).max(1);
                let end = (t / len + 1).saturating_mul(len);
                let (a, b) = (phase(t, *peak_at, *period), phase(end, *peak_at, *period));
                // The peak (phase 0) inside the piece: the phase wraps.
                let holds_peak = b < a || b == 0.0;
                let top = if holds_peak {
                    *peak
                } else {
                    diurnal(*peak, *trough, a).max(diurnal(*peak, *trough, b))
                };
                (top, end)
            }
            Shape::Spike {
                start,
                length,
                factor,
            } => {
                let stop = start.saturating_add(*length);
                if t < *start {
                    (self.base, *start)
                } else if t < stop {
                    (self.base * factor, stop)
                } else {
                    (self.base, FOREVER)
                }
            }
        }
    }

    /// When the next shopper after `now` arrives, or None if none ever will.
    pub fn next(&self, rng: &mut Rng, now: SimTime) -> Option<SimTime> {
        if self.silent() {
            return None;
        }
        let mut t = now;
        loop {
            let (bound, end) = self.piece(t);
            if bound <= 0.0 {
                if end == FOREVER {
                    return None;
                }
                t = end;
                continue;
            }
            let at = t.saturating_add(nearest_ns(rng.exp(SEC as f64 / bound)));
            if at >= end {
                t = end;
                continue;
            }
            let rate = self.rate_at(at);
            // A flat piece keeps every candidate without a second draw.
            if rate >= bound || rng.unit() * bound < rate {
                return Some(at);
            }
            t = at;
        }
    }

    /// True when no shopper can ever arrive (so `next` need not look).
    fn silent(&self) -> bool {
        match &self.shape {
            // A spike multiplies the base: nothing times a factor is nothing.
            Shape::Constant | Shape::Spike { .. } => self.base <= 0.0,
            Shape::Trace(tr) => tr.peak() <= 0.0,
            Shape::Diurnal { peak, .. } => *peak <= 0.0,
        }
    }
}

/// Where `t` is in its day, from 0 at the peak to 1 a period later.
fn phase(t: SimTime, peak_at: SimTime, period: SimTime) -> f64 {
    let from_peak = (t % period + period - peak_at % period) % period;
    from_peak as f64 / period as f64
}

fn diurnal(peak: f64, trough: f64, phase: f64) -> f64 {
    trough + (peak - trough) * 0.5 * (1.0 + (TAU * phase).cos())
}

#[cfg(test)]
mod tests;
