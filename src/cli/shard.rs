//! `stratus sweep … --shard I/N` and `stratus compare … --shard I/N`: run
//! only this shard's share of the plan (`stratus_model::report::part` says
//! which) and write a part that `stratus merge` puts back together with the
//! others. The part records what it is a part of: the scenario's bytes, the
//! traces it read, the whole grid, the shard and the Stratus version.

use super::pace::Stopwatch;
use super::runs::{Runs, execute_in};
use super::{CliError, Format, Output, emit, grid, load_text, read_beside};
use crate::report::Report;
use crate::report::part::{
    Command, PART_SCHEMA, Part, PartRun, PartWall, Planned, Shard, Source, round_trips, seeds_of,
};
use crate::scenario::{Scenario, Strategy, parse_scenario_with};
use clap::ValueEnum;
use std::cell::RefCell;
use std::path::Path;

/// The traces a scenario (or each grid point) read while it was parsed,
/// each once, by the name the scenario gives it.
struct Reads {
    file: String,
    seen: RefCell<Vec<Source>>,
}

impl Reads {
    fn new(file: &str) -> Reads {
        Reads {
            file: file.to_string(),
            seen: RefCell::new(Vec::new()),
        }
    }

    fn read(&self, name: &str) -> Result<(String, String), String> {
        let (shown, text) = read_beside(&self.file, name)?;
        let src = Source::of(name, &shown, text.as_bytes());
        let mut seen = self.seen.borrow_mut();
        if !seen.iter().any(|s| s.same(&src)) {
            seen.push(src);
        }
        Ok((shown, text))
    }

    /// In name order, so two machines list them alike.
    fn sources(self) -> Vec<Source> {
        let mut v = self.seen.into_inner();
        v.sort_by(|a, b| (&a.name, &a.sha256).cmp(&(&b.name, &b.sha256)));
        v
    }
}

/// A shard writes a JSON part and nothing else: options that need the whole
/// grid, or another format, are refused rather than silently dropped.
fn refuse_unsharded(output: &Output, unsharded: &[(&str, bool)]) -> Result<(), CliError> {
    if let Some((flag, _)) = unsharded.iter().find(|(_, on)| *on) {
        return Err(CliError::Usage(format!(
            "{flag} needs the whole grid, and --shard runs a share of it: drop {flag} here, or run the command without --shard"
        )));
    }
    if let Some(f) = output.format.filter(|f| *f != Format::Json) {
        let name = f
            .to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default();
        return Err(CliError::Usage(format!(
            "--shard writes a part in JSON for `stratus merge`: drop --format {name} here and give it to `stratus merge`"
        )));
    }
    Ok(())
}

/// A part's header: everything but the runs and the wall time.
fn header(
    command: Command,
    scenario: Source,
    reads: Reads,
    strategies: Vec<String>,
    grid: Vec<Planned>,
    shard: Shard,
) -> Part {
    Part {
        schema: PART_SCHEMA.to_string(),
        command,
        stratus_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario,
        inputs: reads.sources(),
        sets: Vec::new(),
        strategies,
        seeds: seeds_of(&grid),
        grid,
        shard,
        runs: Vec::new(),
        wall: PartWall::default(),
    }
}

/// Runs this shard's share of `pairs`; `label` finishes run `i`'s report.
fn run_share(
    pairs: &[(&Scenario, Strategy, u64)],
    shard: Shard,
    plan: &Runs,
    db_dir: Option<&Path>,
    label: &dyn Fn(usize, &mut Report),
) -> Result<Vec<PartRun>, CliError> {
    let mine: Vec<usize> = (0..pairs.len()).filter(|&i| shard.holds(i)).collect();
    let share: Vec<_> = mine.iter().map(|&i| pairs[i]).collect();
    let reports = execute_in(&share, &[], plan.jobs(), db_dir)?;
    mine.into_iter()
        .zip(reports)
        .map(|(index, mut report)| {
            report.series = None;
            label(index, &mut report);
            if !round_trips(&report) {
                return Err(CliError::Runtime(format!(
                    "run {index} ({} seed {}): its report does not read back from JSON as itself, so a merge could not print it exactly; this is a bug in Stratus",
                    report.label(),
                    report.seed
                )));
            }
            Ok(PartRun { index, report })
        })
        .collect()
}

/// Fills in the runs and the wall time and writes the part.
fn finish(
    mut part: Part,
    runs: Vec<PartRun>,
    watch: Stopwatch,
    output: &Output,
) -> Result<(), CliError> {
    part.runs = runs;
    part.wall.seconds = watch.seconds();
    emit(&part.to_json(), &output.out)?;
    eprintln!(
        "stratus: shard {}: {} of {} runs{}; merge every shard's part with `stratus merge`",
        part.shard,
        part.runs.len(),
        part.grid.len(),
        match &output.out {
            Some(p) => format!(", written to {}", p.display()),
            None => String::new(),
        }
    );
    Ok(())
}

/// `stratus sweep FILE --set … --shard I/N`.
pub(super) fn sweep(
    file: &str,
    sets: &[String],
    shard: Shard,
    plan: &Runs,
    output: &Output,
    unsharded: &[(&str, bool)],
) -> Result<(), CliError> {
    refuse_unsharded(output, unsharded)?;
    let watch = Stopwatch::start();
    let (name, text) = load_text(file)?;
    let reads = Reads::new(&name);
    let base = parse_scenario_with(&name, &text, &|n| reads.read(n))?;
    let (points, scenarios): (Vec<grid::Point>, Vec<Scenario>) =
        grid::grid_reading(&name, &text, sets, &|n| reads.read(n))?
            .into_iter()
            .unzip();
    let sts = plan.strategies(&scenarios[0])?;
    let pairs = plan.plan(&scenarios, &sts);
    let per_point = pairs.len() / points.len();
    let grid = pairs
        .iter()
        .enumerate()
        .map(|(index, &(_, st, seed))| Planned {
            index,
            set: grid::describe(&points[index / per_point]),
            strategy: st.to_string(),
            seed,
        })
        .collect();
    let runs = run_share(&pairs, shard, plan, None, &|_, _| {})?;
    let scenario = Source::of(&base.name, &name, text.as_bytes());
    let strategies = sts.iter().map(|s| s.to_string()).collect();
    let mut part = header(Command::Sweep, scenario, reads, strategies, grid, shard);
    part.sets = grid::axes(sets)?;
    finish(part, runs, watch, output)
}

/// `stratus compare FILE --shard I/N`.
pub(super) fn compare(
    file: &str,
    shard: Shard,
    plan: &Runs,
    output: &Output,
    db_dir: Option<&Path>,
    unsharded: &[(&str, bool)],
) -> Result<(), CliError> {
    refuse_unsharded(output, unsharded)?;
    let watch = Stopwatch::start();
    let (name, text) = load_text(file)?;
    let reads = Reads::new(&name);
    let sc = parse_scenario_with(&name, &text, &|n| reads.read(n))?;
    let entries = plan.entries(&sc)?;
    let per_entry: Vec<Scenario> = entries.iter().map(|e| e.apply(&sc)).collect();
    let pairs = plan.plan_entries(&per_entry, &entries, sc.seed);
    let entry = |i: usize| &entries[i % entries.len()];
    let grid = pairs
        .iter()
        .enumerate()
        .map(|(index, &(_, _, seed))| Planned {
            index,
            set: String::new(),
            strategy: entry(index).label_in(&sc),
            seed,
        })
        .collect();
    let runs = run_share(&pairs, shard, plan, db_dir, &|i, r| {
        r.variant = entry(i).variant(&sc);
    })?;
    let scenario = Source::of(&sc.name, &name, text.as_bytes());
    let strategies = entries.iter().map(|e| e.label_in(&sc)).collect();
    let part = header(Command::Compare, scenario, reads, strategies, grid, shard);
    finish(part, runs, watch, output)
}
