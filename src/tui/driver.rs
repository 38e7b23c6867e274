//! The dashboard's loop: steps the runs toward where the wall clock says
//! virtual time should be, draws a frame from their snapshots, reads keys
//! until the next frame is due, and carries out what the keys ask.
//!
//! The one place the dashboard reads the wall clock. Time only decides how
//! far the runs are stepped before each frame; what they compute does not
//! depend on it.

#![allow(clippy::disallowed_methods)] // the dashboard's wall clock: Instant::now is read here only

use super::clock::Pace;
use super::keys::{Command, on_key};
use super::state::{Dash, Ui};
use super::term::Term;
use super::{compare, draw};
use crate::scenario::Action;
use crate::sim::{InjectError, Sim};
use crate::snapshot::Cursor;
use crate::time::{SEC, SimTime};
use crossterm::event::{self, Event, KeyEventKind};
use std::time::{Duration, Instant};

/// About 15 frames a second.
const FRAME: Duration = Duration::from_millis(66);
/// While paused or finished nothing moves; redraw less often.
const IDLE_FRAME: Duration = Duration::from_millis(250);
/// Stepping stops for a frame after this long, so keys stay responsive
/// however fast the speed: the run then falls behind rather than the screen.
const BUDGET: Duration = Duration::from_millis(45);
/// Runs are stepped in lockstep this much simulated time at a go.
const CHUNK: SimTime = SEC;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// One run.
    Run,
    /// Several runs of one scenario side by side.
    Compare,
}

/// How the user left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// q or Esc: finish the runs and print the report.
    Quit,
    /// Ctrl-C: no report.
    Abort,
    /// Tour: the step is over, go on.
    Next,
}

/// Whether time stands still: paused, or a tour step's lesson on screen.
fn held(ui: &Ui) -> bool {
    ui.paused || ui.caption.as_ref().is_some_and(|c| c.intro)
}

/// Steps every run to `target` together, a chunk at a time, until `deadline`
/// (the terminal's and the web page's player both step runs this way).
pub fn advance(sims: &mut [Sim], target: SimTime, deadline: Instant) {
    let behind = |s: &Sim| !s.is_over() && s.now() < target;
    while Instant::now() < deadline {
        let Some(now) = sims.iter().filter(|s| behind(s)).map(Sim::now).min() else {
            return;
        };
        let t = now.saturating_add(CHUNK).min(target);
        for s in sims.iter_mut() {
            s.step_to(t);
        }
    }
}

/// A short name for an action, for the footer.
pub fn describe(action: &Action, azs: &[String]) -> String {
    let az = |i: &usize| azs.get(*i).cloned().unwrap_or_default();
    match action {
        Action::KillAz { az: a } | Action::RestoreAz { az: a } => {
            format!("{} {}", action.name(), az(a))
        }
        Action::SetDesired { value } => format!("set_desired {value}"),
        other => other.name().to_string(),
    }
}

/// Injects `action` into every run at the same instant: the first each of
/// them can take. When it happens (None: there is no run).
pub fn inject_all(sims: &mut [Sim], action: &Action) -> Option<Result<SimTime, InjectError>> {
    let at = sims.iter().map(Sim::next_instant).max()?;
    let mut result = Ok(at);
    for s in sims.iter_mut() {
        result = result.and(s.inject_at(at, action.clone()).map(|()| at));
    }
    Some(result)
}

/// What an injection did, in words: for the footer, and the web page's answer.
pub fn injected(result: &Result<SimTime, InjectError>, action: &Action, azs: &[String]) -> String {
    match result {
        Ok(at) => format!(
            "injected {} at {:.3} s",
            describe(action, azs),
            *at as f64 / SEC as f64
        ),
        Err(InjectError::Over) => "the run is over: nothing more can happen".into(),
        Err(e) => e.to_string(),
    }
}

/// Injects `action` into every run at the same instant.
fn inject(sims: &mut [Sim], action: Action, ui: &mut Ui, azs: &[String]) {
    if let Some(result) = inject_all(sims, &action) {
        ui.status = Some(injected(&result, &action, azs));
    }
}

fn draw_frame(term: &mut Term, screen: Screen, dashes: &[Dash], ui: &Ui) -> std::io::Result<()> {
    term.draw(|f| match screen {
        Screen::Run => draw::draw(f, &dashes[0], ui),
        Screen::Compare => compare::draw(f, dashes, ui),
    })?;
    Ok(())
}

/// Plays `sims` on `term` until the user leaves (or, with
/// `ui.leave_when_finished`, until they are over). Returns how it ended and
/// what the screen last showed.
pub fn play(
    term: &mut Term,
    screen: Screen,
    sims: &mut [Sim],
    ui: &mut Ui,
) -> std::io::Result<(Outcome, Vec<Dash>)> {
    let t0 = Instant::now();
    let wall = || t0.elapsed().as_secs_f64();
    let mut dashes: Vec<Dash> = sims
        .iter()
        .map(|s| {
            let mut cursor = Cursor::default();
            let snap = s.snapshot(&mut cursor);
            Dash::new(s.seed(), snap, cursor)
        })
        .collect();
    let azs: Vec<String> = dashes[0].snap.azs.iter().map(|a| a.name.clone()).collect();
    let mut pace = Pace::new(ui.speed, held(ui), wall(), sims[0].now());
    loop {
        let frame = Instant::now();
        if !held(ui) {
            advance(sims, pace.target(wall()), frame + BUDGET);
        }
        for (s, d) in sims.iter().zip(dashes.iter_mut()) {
            let snap = s.snapshot(&mut d.cursor);
            d.update(snap);
        }
        ui.finished = sims.iter().all(Sim::is_over);
        if ui.finished && ui.leave_when_finished {
            return Ok((Outcome::Next, dashes));
        }
        draw_frame(term, screen, &dashes, ui)?;
        let due = frame
            + if held(ui) || ui.finished {
                IDLE_FRAME
            } else {
                FRAME
            };
        while event::poll(due.saturating_duration_since(Instant::now()))? {
            let Event::Key(key) = event::read()? else {
                break; // a resize: draw again now
            };
            if key.kind != KeyEventKind::Press {
                continue;
            }
            match on_key(ui, key, &dashes[0].snap) {
                None => {}
                Some(Command::Quit) => return Ok((Outcome::Quit, dashes)),
                Some(Command::Abort) => return Ok((Outcome::Abort, dashes)),
                Some(Command::Next) if ui.finished => return Ok((Outcome::Next, dashes)),
                Some(Command::Next | Command::Retime) => {
                    pace.retime(ui.speed, held(ui), wall(), sims[0].now());
                }
                Some(Command::Inject(a)) => inject(sims, a, ui, &azs),
            }
            break; // show what the key did at once
        }
    }
}

/// Shows `dashes` as they are (runs over) until the user goes on or leaves.
pub fn hold(
    term: &mut Term,
    screen: Screen,
    dashes: &[Dash],
    ui: &mut Ui,
) -> std::io::Result<Outcome> {
    ui.finished = true;
    loop {
        draw_frame(term, screen, dashes, ui)?;
        let Event::Key(key) = event::read()? else {
            continue;
        };
        if key.kind != KeyEventKind::Press {
            continue;
        }
        match on_key(ui, key, &dashes[0].snap) {
            Some(Command::Quit) => return Ok(Outcome::Quit),
            Some(Command::Abort) => return Ok(Outcome::Abort),
            Some(Command::Next) => return Ok(Outcome::Next),
            Some(Command::Inject(_)) => {
                ui.status = Some("the run is over: nothing more can happen".into())
            }
            _ => {}
        }
    }
}
