//! What the dashboard remembers between frames: per run, the history read
//! from snapshots ([`Dash`]); for the screen, the speed, pause, overlays and
//! messages ([`Ui`]). Plain data, drawn by `draw` and changed by `keys`.

use crate::metrics::SecondRow;
use crate::report::LogEvent;
use crate::snapshot::{Cursor, Snapshot};

/// Slowest and fastest play speeds (simulated seconds per wall second).
pub const MIN_SPEED: f64 = 1.0;
pub const MAX_SPEED: f64 = 10_000.0;
/// Plays a 30-minute scenario in about a minute.
pub const DEFAULT_SPEED: f64 = 30.0;

/// One run as the dashboard has seen it so far.
pub struct Dash {
    pub seed: u64,
    /// The latest snapshot (its incremental parts already moved into the history).
    pub snap: Snapshot,
    pub rows: Vec<SecondRow>,
    pub events: Vec<LogEvent>,
    /// Fault times (s), for chart markers.
    pub faults: Vec<f64>,
    /// Where the next snapshot starts.
    pub cursor: Cursor,
}

impl Dash {
    pub fn new(seed: u64, mut snap: Snapshot, cursor: Cursor) -> Dash {
        let rows = std::mem::take(&mut snap.rows);
        let events = std::mem::take(&mut snap.events);
        let faults = std::mem::take(&mut snap.faults);
        Dash {
            seed,
            snap,
            rows,
            events,
            faults,
            cursor,
        }
    }

    /// Takes in a newer snapshot.
    pub fn update(&mut self, mut snap: Snapshot) {
        self.rows.append(&mut snap.rows);
        self.events.append(&mut snap.events);
        self.faults.append(&mut snap.faults);
        self.snap = snap;
    }

    /// Whether a log entry records an action injected by hand (its kind is an
    /// action's name and it happened at an injection's instant).
    pub fn is_injected(&self, e: &LogEvent) -> bool {
        crate::scenario::Action::NAMES.contains(&e.kind.as_str())
            && self.snap.injected.iter().any(|t| (t - e.t_s).abs() < 1e-9)
    }
}

/// Which AZ a pending `k` or `r` is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    Kill,
    Restore,
}

/// A tour step's words, shown over the dashboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caption {
    /// "Step 1 of 3 · Sticky sessions".
    pub title: String,
    pub lesson: String,
    /// The step's figures, filled in when its run is over.
    pub results: Vec<String>,
    /// Shown until the user starts the step.
    pub intro: bool,
    /// The tour's last step: after it, nothing comes next.
    pub last: bool,
}

/// The screen's own state.
#[derive(Clone, Debug, PartialEq)]
pub struct Ui {
    pub speed: f64,
    pub paused: bool,
    pub help: bool,
    pub pick: Option<Pick>,
    /// The last thing that happened because of a key, for the footer.
    pub status: Option<String>,
    /// Every run reached its end.
    pub finished: bool,
    pub colour: bool,
    pub caption: Option<Caption>,
    /// Return from the loop as soon as every run is over (a tour step,
    /// whose figures are then shown over its last frame).
    pub leave_when_finished: bool,
    /// The live shop (`serve --tui`): wall time, no end, no speed.
    pub live: bool,
}

impl Ui {
    pub fn new(speed: f64, colour: bool) -> Ui {
        Ui {
            speed: speed.clamp(MIN_SPEED, MAX_SPEED),
            paused: false,
            help: false,
            pick: None,
            status: None,
            finished: false,
            colour,
            caption: None,
            leave_when_finished: false,
            live: false,
        }
    }

    /// The screen of the live shop.
    pub fn live(colour: bool) -> Ui {
        Ui {
            live: true,
            ..Ui::new(1.0, colour)
        }
    }
}

/// Twice as fast, up to [`MAX_SPEED`] (`+`, and the web page's faster).
pub fn faster(speed: f64) -> f64 {
    (speed * 2.0).min(MAX_SPEED)
}

/// Half as fast, down to [`MIN_SPEED`] (`-`, and the web page's slower).
pub fn slower(speed: f64) -> f64 {
    (speed / 2.0).max(MIN_SPEED)
}

/// "×30", "×7.5", "×10000".
pub fn speed_label(speed: f64) -> String {
    if speed.fract() == 0.0 {
        format!("×{speed:.0}")
    } else {
        format!("×{}", format!("{speed:.2}").trim_end_matches('0'))
    }
}

/// Simulated time as m:ss (or h:mm:ss past an hour).
pub fn clock(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(speed_label(30.0), "×30");
        assert_eq!(speed_label(7.5), "×7.5");
        assert_eq!(speed_label(1.875), "×1.88");
        assert_eq!(clock(612.4), "10:12");
        assert_eq!(clock(3725.0), "1:02:05");
    }
}
