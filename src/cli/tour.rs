//! `stratus tour`: runs each step of [`crate::tour::STEPS`] and prints its
//! lesson and figures; waits for Enter between steps on a terminal; with
//! `--tui`, plays each step in the dashboard with its lesson over it.

use super::pace::Stopwatch;
use super::{CliError, dashboard, load, runs::timed_run};
use crate::report::Report;
use crate::tour::{self, STEPS};
use crate::tui::driver::{Outcome, Screen, hold, play};
use crate::tui::state::Caption;
use crate::tui::term;
use std::io::{BufRead, IsTerminal, Write};

pub fn run(tui: bool, no_pause: bool, speed: f64) -> Result<(), CliError> {
    if dashboard::on_terminal(tui) {
        return live(speed);
    }
    let pause = !no_pause && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let mut previous: Option<Report> = None;
    let mut missed = Vec::new();
    for (i, step) in STEPS.iter().enumerate() {
        let sc = load(step.scenario)?;
        let r = timed_run(&sc, step.strategy, sc.seed);
        let verdicts = tour::judge(step, &r, previous.as_ref());
        missed.extend(tour::misses(i, &verdicts));
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "{}", tour::render(i, &r, &verdicts));
        if i + 1 < STEPS.len() {
            let _ = writeln!(out);
            if pause {
                let _ = write!(out, "press Enter for step {} (q and Enter to stop) ", i + 2);
                let _ = out.flush();
                drop(out);
                let mut line = String::new();
                let read = std::io::stdin().lock().read_line(&mut line);
                if matches!(read, Ok(0) | Err(_)) || line.trim() == "q" {
                    return Ok(());
                }
                println!();
            }
        }
        previous = Some(r);
    }
    println!("\n{}", tour::summary(STEPS.len(), &missed));
    Ok(())
}

/// The tour in the dashboard; each step's text is printed once the terminal
/// is back.
fn live(speed: f64) -> Result<(), CliError> {
    let mut printed = Vec::new();
    let mut missed = Vec::new();
    let result = (|| -> Result<(), CliError> {
        let mut guard = term::enter()
            .map_err(|e| CliError::Runtime(format!("cannot take the terminal: {e}")))?;
        let failed = |e: std::io::Error| CliError::Runtime(format!("the dashboard failed: {e}"));
        let mut previous: Option<Report> = None;
        for (i, step) in STEPS.iter().enumerate() {
            let sc = load(step.scenario)?;
            let clock = Stopwatch::start();
            let mut sims = dashboard::sims(&sc, &[step.strategy], sc.seed, &[]);
            let mut ui = dashboard::ui(speed);
            ui.leave_when_finished = true;
            ui.caption = Some(Caption {
                title: tour::heading(i),
                lesson: step.lesson.to_string(),
                results: vec![],
                intro: true,
                last: i + 1 == STEPS.len(),
            });
            let (outcome, dashes) =
                play(&mut guard.term, Screen::Run, &mut sims, &mut ui).map_err(failed)?;
            if outcome != Outcome::Next {
                return Ok(());
            }
            let r = dashboard::finish(sims, &clock).remove(0);
            let verdicts = tour::judge(step, &r, previous.as_ref());
            printed.push(tour::render(i, &r, &verdicts));
            missed.extend(tour::misses(i, &verdicts));
            if let Some(c) = &mut ui.caption {
                c.results = verdicts.iter().map(|v| v.line.clone()).collect();
            }
            if hold(&mut guard.term, Screen::Run, &dashes, &mut ui).map_err(failed)?
                != Outcome::Next
            {
                return Ok(());
            }
            previous = Some(r);
        }
        Ok(())
    })();
    print!("{}", printed.join("\n"));
    if printed.len() == STEPS.len() {
        println!("\n{}", tour::summary(STEPS.len(), &missed));
    }
    result
}
