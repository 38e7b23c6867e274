//! Virtual time against the wall clock, as arithmetic: given wall seconds
//! (read by the driver), which simulated instant the screen should show.
//!
//! Changing speed or pausing re-anchors at the instant actually reached, so a
//! run that fell behind (too many events for the frame) is not made to
//! sprint to catch up.

use crate::time::{SEC, SimTime};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pace {
    speed: f64,
    paused: bool,
    wall0: f64,
    sim0: SimTime,
}

impl Pace {
    pub fn new(speed: f64, paused: bool, wall: f64, sim: SimTime) -> Pace {
        Pace {
            speed,
            paused,
            wall0: wall,
            sim0: sim,
        }
    }

    /// Where virtual time should be at wall time `wall`.
    pub fn target(&self, wall: f64) -> SimTime {
        if self.paused {
            return self.sim0;
        }
        let ahead = ((wall - self.wall0).max(0.0) * self.speed * SEC as f64) as SimTime;
        self.sim0.saturating_add(ahead)
    }

    /// From now on, play at `speed` (or stand still), starting from `sim`.
    pub fn retime(&mut self, speed: f64, paused: bool, wall: f64, sim: SimTime) {
        *self = Pace::new(speed, paused, wall, sim);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_at_speed_pauses_and_reanchors() {
        let mut p = Pace::new(30.0, false, 100.0, 0);
        assert_eq!(p.target(100.0), 0);
        assert_eq!(p.target(102.0), 60 * SEC);
        // Fell behind: reached only 50 s when the user doubles the speed.
        p.retime(60.0, false, 102.0, 50 * SEC);
        assert_eq!(p.target(103.0), 110 * SEC);
        p.retime(60.0, true, 103.0, 110 * SEC);
        assert_eq!(p.target(500.0), 110 * SEC);
    }
}
