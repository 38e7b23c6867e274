//! A simulation played against the wall clock for web pages: the runs are
//! stepped in lockstep on a thread of their own, as the terminal dashboard
//! steps them ([`advance`], [`Pace`]), and the page reads them as a
//! [`Board`]: their snapshots, the pace, and once they are over, their
//! reports. Actions from the page go to every run at the same instant
//! ([`inject_all`]), the path a key of the terminal dashboard takes, so a
//! steered run reports what a batch run with those actions in its timeline
//! reports.
//!
//! The one place (with the terminal dashboard's driver) this front end
//! reads the wall clock; it only decides how far the runs are stepped.

#![allow(clippy::disallowed_methods)] // the player's wall clock: Instant::now and sleep are used here only

use crate::cli::pace::Stopwatch;
use crate::live::dashboard::board::{Answer, Board, Final, Pacing, Play};
use crate::live::dashboard::stream::{Frames, event};
use crate::report::Report;
use crate::scenario::{ActionEntry, Scenario};
use crate::sim::Sim;
use crate::snapshot::{Cursor, Snapshot};
use crate::tui::clock::Pace;
use crate::tui::driver::{advance, inject_all, injected};
use crate::tui::state::{MAX_SPEED, MIN_SPEED, faster, slower, speed_label};
use bytes::Bytes;
use hyper::StatusCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, oneshot};

/// How often the runs are stepped toward the wall clock's instant.
const FRAME: Duration = Duration::from_millis(66);
/// The most time the runs are stepped at a go, holding them: pages and
/// actions wait at most this long.
const BUDGET: Duration = Duration::from_millis(45);

/// The runs while they play, and what is left of them once over.
struct Inner {
    /// The runs; empty once over (they became `reports`).
    sims: Vec<Sim>,
    /// Each run's last snapshot, whole, once over.
    last: Vec<Snapshot>,
    /// The `final` event, once over.
    fin: Option<Bytes>,
    speed: f64,
    paused: bool,
    pace: Pace,
}

/// A simulation as a page sees it.
pub struct Player {
    inner: Mutex<Inner>,
    sc: Scenario,
    seed: u64,
    azs: Vec<String>,
    t0: Instant,
    /// A page has been sent the final figures (and asked for more since).
    seen: AtomicBool,
    pub seen_notify: Notify,
}

impl Player {
    pub fn new(sc: &Scenario, sims: Vec<Sim>, seed: u64, speed: f64) -> Player {
        let now = sims.first().map_or(0, Sim::now);
        Player {
            inner: Mutex::new(Inner {
                sims,
                last: Vec::new(),
                fin: None,
                speed,
                paused: false,
                pace: Pace::new(speed, false, 0.0, now),
            }),
            sc: sc.clone(),
            seed,
            azs: sc.region.azs.clone(),
            t0: Instant::now(),
            seen: AtomicBool::new(false),
            seen_notify: Notify::new(),
        }
    }

    fn wall(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().expect("the player's lock")
    }

    /// Plays the runs to their end, then sends their reports (the `wall`
    /// figures: the time they played) to `done`. Run on a thread of its own.
    pub fn play(&self, clock: &Stopwatch, done: oneshot::Sender<Vec<Report>>) {
        loop {
            let frame = Instant::now();
            let behind = {
                let mut g = self.lock();
                let target = g.pace.target(self.wall());
                if !g.paused {
                    advance(&mut g.sims, target, frame + BUDGET);
                }
                if g.sims.iter().all(Sim::is_over) {
                    let _ = done.send(self.close(&mut g, clock));
                    return;
                }
                !g.paused && g.sims.iter().any(|s| s.now() < target)
            };
            // Behind the clock: step on after letting the pages in.
            let rest = if behind {
                Duration::from_millis(1)
            } else {
                FRAME.saturating_sub(frame.elapsed())
            };
            std::thread::sleep(rest);
        }
    }

    /// The runs are over: their last snapshots kept whole for the pages,
    /// their reports made.
    fn close(&self, g: &mut Inner, clock: &Stopwatch) -> Vec<Report> {
        g.last = g
            .sims
            .iter()
            .map(|s| s.snapshot(&mut Cursor::default()))
            .collect();
        let reports = crate::cli::finish_runs(std::mem::take(&mut g.sims), clock);
        let runs: Vec<Report> = reports
            .iter()
            .map(|r| Report {
                series: None,
                ..r.clone()
            })
            .collect();
        let lesson = crate::report::text::lost_line(&runs);
        g.fin = Some(event("final", &Final { lesson, runs }));
        reports
    }

    fn pacing(&self, g: &Inner) -> Pacing {
        Pacing {
            speed: g.speed,
            min_speed: MIN_SPEED,
            max_speed: MAX_SPEED,
            paused: g.paused,
            over: g.fin.is_some(),
            seed: self.seed,
        }
    }

    /// One page's next frame: each run's snapshot since `cursors`, the
    /// pace, and the reports the first time they are there.
    fn frame(&self, cursors: &mut Vec<Cursor>, sent_final: &mut bool) -> Bytes {
        let g = self.lock();
        let mut out = Vec::new();
        if g.fin.is_some() {
            cursors.resize(g.last.len(), Cursor::default());
            for (s, c) in g.last.iter().zip(cursors.iter_mut()) {
                out.extend_from_slice(&event("snapshot", &s.since(*c)));
                *c = s.cursor;
            }
        } else {
            cursors.resize(g.sims.len(), Cursor::default());
            for (s, c) in g.sims.iter().zip(cursors.iter_mut()) {
                out.extend_from_slice(&event("snapshot", &s.snapshot(c)));
            }
        }
        out.extend_from_slice(&event("play", &self.pacing(&g)));
        if let Some(f) = &g.fin {
            if !*sent_final {
                out.extend_from_slice(f);
                *sent_final = true;
            } else if !self.seen.swap(true, Ordering::SeqCst) {
                // The frame before went out whole: a page has the reports.
                self.seen_notify.notify_one();
            }
        }
        Bytes::from(out)
    }

    /// Every run's snapshot now, whole.
    fn snapshots(&self) -> Vec<Snapshot> {
        let g = self.lock();
        if g.fin.is_some() {
            return g.last.clone();
        }
        g.sims
            .iter()
            .map(|s| s.snapshot(&mut Cursor::default()))
            .collect()
    }
}

fn conflict(why: &str) -> (StatusCode, String) {
    (StatusCode::CONFLICT, why.to_string())
}

impl Board for Player {
    fn frames(self: Arc<Self>) -> Frames {
        let mut cursors = Vec::new();
        let mut sent_final = false;
        Box::new(move || self.frame(&mut cursors, &mut sent_final))
    }

    /// `run`: the snapshot, as `stratus serve` answers; `compare`: `{"runs": […]}`.
    fn state(&self) -> serde_json::Value {
        let mut s = self.snapshots();
        let v = if s.len() == 1 {
            serde_json::to_value(s.remove(0))
        } else {
            serde_json::to_value(serde_json::json!({ "runs": s }))
        };
        v.expect("a snapshot serialises")
    }

    fn act(&self, entry: &ActionEntry) -> Answer {
        let action = entry
            .resolve(&self.sc)
            .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
        let mut g = self.lock();
        match inject_all(&mut g.sims, &action) {
            None => Err(conflict("the run is over: nothing more can happen")),
            Some(r @ Ok(_)) => Ok(injected(&r, &action, &self.azs)),
            Some(r @ Err(_)) => Err(conflict(&injected(&r, &action, &self.azs))),
        }
    }

    fn play(&self, play: Play) -> Answer {
        let mut g = self.lock();
        let Some(now) = g.sims.iter().map(Sim::now).min() else {
            return Err(conflict("the run is over: nothing is playing"));
        };
        match play {
            Play::Faster => g.speed = faster(g.speed),
            Play::Slower => g.speed = slower(g.speed),
            Play::Pause => g.paused = true,
            Play::Resume => g.paused = false,
        }
        let (speed, paused) = (g.speed, g.paused);
        // From the instant reached, so a run that fell behind does not sprint.
        g.pace.retime(speed, paused, self.wall(), now);
        Ok(if paused {
            format!("paused at {}", speed_label(speed))
        } else {
            format!("playing at {}", speed_label(speed))
        })
    }
}
