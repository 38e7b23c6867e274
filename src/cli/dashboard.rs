//! `--tui`, `--speed` and `--replay` on the command line: checking them,
//! falling back to the plain report when stdout is not a terminal, and
//! running the dashboard with the terminal always given back.

use super::CliError;
use super::pace::Stopwatch;
use crate::replay::{self, Recording};
use crate::report::Report;
use crate::scenario::{Scenario, Strategy, Timed};
use crate::sim::Sim;
use crate::tui::driver::{Outcome, Screen, play};
use crate::tui::state::Ui;
use crate::tui::{DEFAULT_SPEED, MAX_SPEED, MIN_SPEED, term};
use std::io::IsTerminal;
use std::path::Path;

/// The play speed asked for, checked; `--speed` needs a dashboard
/// (`--tui`, or `--web` for run and compare).
pub fn speed(watched: bool, speed: Option<f64>) -> Result<f64, CliError> {
    match speed {
        None => Ok(DEFAULT_SPEED),
        Some(_) if !watched => Err(CliError::Usage(
            "--speed sets the dashboard's pace: use it with --tui or --web".into(),
        )),
        Some(s) if (MIN_SPEED..=MAX_SPEED).contains(&s) => Ok(s),
        Some(s) => Err(CliError::Usage(format!(
            "--speed {s}: expected a factor from 1 to 10000 (30 plays 30 minutes in one)"
        ))),
    }
}

/// Whether the dashboard can have the terminal. When `tui` is asked for and
/// stdout is not a terminal, says so on stderr: the plain report follows.
pub fn on_terminal(tui: bool) -> bool {
    if !tui {
        return false;
    }
    if std::io::stdout().is_terminal() {
        return true;
    }
    eprintln!(
        "stratus: --tui needs a terminal on stdout, and stdout is redirected: printing the plain report instead"
    );
    false
}

/// The runs recorded in a report file.
pub fn recordings(path: &Path) -> Result<Vec<Recording>, CliError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Runtime(format!("{name}: cannot read the report to replay: {e}")))?;
    replay::parse(&name, &text).map_err(|e| CliError::Usage(e.to_string()))
}

/// The recorded run `--replay` means, checked against any `--strategy`,
/// `--seed` and `--variant` given.
fn recorded<'r>(
    path: &Path,
    runs: &'r [Recording],
    strategy: Option<Strategy>,
    seed: Option<u64>,
    variant: Option<&str>,
) -> Result<&'r Recording, CliError> {
    let name = path.display().to_string();
    let wanted = |r: &&Recording| {
        strategy.is_none_or(|st| r.strategy == st)
            && variant.is_none_or(|v| r.variant.as_deref() == Some(v))
    };
    let rec = match runs.iter().find(wanted) {
        Some(rec) if strategy.is_some() || variant.is_some() || runs.len() == 1 => rec,
        Some(_) => {
            let labels: Vec<String> = runs.iter().map(Recording::label).collect();
            return Err(CliError::Usage(format!(
                "{name} holds {} runs ({}): pass --strategy (and --variant) to pick one",
                runs.len(),
                labels.join(", ")
            )));
        }
        None => {
            let asked = match (strategy, variant) {
                (Some(st), Some(v)) => format!("{st}:{v}"),
                (Some(st), None) => st.to_string(),
                (None, v) => format!("variant {}", v.unwrap_or_default()),
            };
            return Err(CliError::Usage(format!(
                "{name} has no {asked} run to replay: drop --strategy or --variant, or pick a run it holds"
            )));
        }
    };
    if let Some(s) = seed
        && s != rec.seed
    {
        return Err(CliError::Usage(format!(
            "--seed {s}, but {name} was run with seed {}: drop --seed to replay it",
            rec.seed
        )));
    }
    Ok(rec)
}

/// The injected actions `rec` holds, resolved in `sc`.
fn actions(path: &Path, rec: &Recording, sc: &Scenario) -> Result<Vec<Timed>, CliError> {
    rec.actions(&path.display().to_string(), sc)
        .map_err(|e| CliError::Usage(e.to_string()))
}

/// The seed and the injected actions of the run `--replay` means (a
/// one-run report), for `compare --replay`.
pub fn pick(
    path: &Path,
    runs: &[Recording],
    sc: &Scenario,
    seed: Option<u64>,
) -> Result<(u64, Vec<Timed>), CliError> {
    let rec = recorded(path, runs, None, seed, None)?;
    Ok((rec.seed, actions(path, rec, sc)?))
}

/// What `stratus run` runs: the scenario (the file, or one of its
/// [[variants]]), under which strategy and seed, with which actions
/// injected, and the variant's name for the report.
pub struct RunPlan {
    pub scenario: Scenario,
    pub strategy: Strategy,
    pub seed: u64,
    pub injected: Vec<Timed>,
    pub variant: Option<String>,
}

/// The run `stratus run --replay` means: a recorded [[variants]] entry is
/// followed again, its actions resolved in the variant (which may name
/// other AZs); a cookie design is compare's to replay, and the message
/// says how.
pub fn pick_run(
    path: &Path,
    runs: &[Recording],
    sc: Scenario,
    (strategy, seed, variant): (Option<Strategy>, Option<u64>, Option<&str>),
    file: &str,
) -> Result<RunPlan, CliError> {
    let rec = recorded(path, runs, strategy, seed, variant)?;
    let st = rec.strategy;
    if let Some(v) = rec.variant.as_deref()
        && !sc.variants.iter().any(|x| x.name == v)
    {
        let name = path.display();
        return Err(CliError::Usage(format!(
            "{name} records a {st}:{v} run, and {} has no [[variants]] named {v:?}: replay a cookie design with `stratus compare {file} --strategies {st}:{v} --replay {name}`",
            sc.name
        )));
    }
    let scenario = super::variant(sc, rec.variant.as_deref())?;
    Ok(RunPlan {
        injected: actions(path, rec, &scenario)?,
        scenario,
        strategy: st,
        seed: rec.seed,
        variant: rec.variant.clone(),
    })
}

fn colour() -> bool {
    crate::report::colour::wanted(true, std::env::var("NO_COLOR").ok().as_deref())
}

/// Plays `sims` on the terminal. None if the user aborted (Ctrl-C).
pub fn watch(screen: Screen, sims: &mut [Sim], ui: &mut Ui) -> Result<Option<Outcome>, CliError> {
    let mut guard =
        term::enter().map_err(|e| CliError::Runtime(format!("cannot take the terminal: {e}")))?;
    let outcome = play(&mut guard.term, screen, sims, ui);
    drop(guard);
    match outcome {
        Ok((Outcome::Abort, _)) => Ok(None),
        Ok((o, _)) => Ok(Some(o)),
        Err(e) => Err(CliError::Runtime(format!("the dashboard failed: {e}"))),
    }
}

/// New runs with `injected` scheduled at their times.
pub fn sims(sc: &Scenario, sts: &[Strategy], seed: u64, injected: &[Timed]) -> Vec<Sim> {
    sts.iter()
        .map(|&st| {
            let mut sim = Sim::new(sc, st, seed);
            for t in injected {
                sim.inject_at(t.at.0, t.action.clone())
                    .expect("a fresh run takes actions at any time within it");
            }
            sim
        })
        .collect()
}

/// Runs what is left of `sims` at full speed and reports them.
pub fn finish(sims: Vec<Sim>, watch: &Stopwatch) -> Vec<Report> {
    if let Some(s) = sims.iter().find(|s| !s.is_over()) {
        eprintln!(
            "stratus: left at {:.0} s; the remaining {:.0} simulated seconds ran at full speed for the report",
            s.now() as f64 / 1e9,
            (s.end() - s.now()) as f64 / 1e9
        );
    }
    let secs = watch.seconds();
    sims.into_iter()
        .map(|mut s| {
            s.step_to(s.end());
            let mut r = s.finish();
            r.wall.seconds = secs;
            r.wall.sim_requests_per_second = if secs > 0.0 {
                (r.requests.total as f64 / secs).round()
            } else {
                0.0
            };
            r
        })
        .collect()
}

/// `run --tui` on a terminal: the dashboard, then the report. None: aborted.
pub fn run_live(
    sc: &Scenario,
    st: Strategy,
    seed: u64,
    injected: &[Timed],
    speed: f64,
) -> Result<Option<Report>, CliError> {
    let clock = Stopwatch::start();
    let mut sims = sims(sc, &[st], seed, injected);
    let mut ui = Ui::new(speed, colour());
    if watch(Screen::Run, &mut sims, &mut ui)?.is_none() {
        return Ok(None);
    }
    Ok(finish(sims, &clock).pop())
}

/// `compare --tui` on a terminal: the runs side by side. None: aborted.
pub fn compare_live(
    sc: &Scenario,
    sts: &[Strategy],
    seed: u64,
    injected: &[Timed],
    speed: f64,
) -> Result<Option<Vec<Report>>, CliError> {
    let clock = Stopwatch::start();
    let mut sims = sims(sc, sts, seed, injected);
    let mut ui = Ui::new(speed, colour());
    if watch(Screen::Compare, &mut sims, &mut ui)?.is_none() {
        return Ok(None);
    }
    Ok(Some(finish(sims, &clock)))
}

/// A fresh UI for a tour step, in colour unless `NO_COLOR`.
pub fn ui(speed: f64) -> Ui {
    Ui::new(speed, colour())
}
