//! Many runs at once: which (scenario, strategy, seed) a comparison or a sweep
//! makes, run over worker threads, with wall-clock figures and a progress bar.
//! Results come back in plan order whatever order they finish in, so output
//! never depends on the number of threads.

use super::{CliError, pace::Stopwatch, strategy_list};
use crate::report::Report;
use crate::scenario::variant::Entry;
use crate::scenario::{Scenario, Strategy, Timed};

/// What a comparison or a sweep runs without `--strategies` or a `compare` list.
use crate::sim;
use std::path::Path;

/// Which runs a comparison or a sweep makes, and on how many threads.
#[derive(clap::Args, Debug)]
pub struct Runs {
    /// Comma-separated strategies (default: the scenario's `compare` list,
    /// else sticky,cookie,store); compare also takes cookie designs such as
    /// cookie:unsigned, cookie:signed, cookie:expiring, cookie:versioned.
    #[arg(long)]
    pub strategies: Option<String>,
    /// Overrides the scenario's seed (the first seed with --seeds).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Runs this many consecutive seeds, starting at the scenario's.
    #[arg(long, default_value_t = 1)]
    pub seeds: u32,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    pub jobs: Option<usize>,
}

impl Runs {
    /// The strategies a sweep of `sc` runs: `--strategies`, else those of the
    /// scenario's `compare` list, else sticky, cookie and store.
    pub(super) fn strategies(&self, sc: &Scenario) -> Result<Vec<Strategy>, CliError> {
        if self.seeds == 0 {
            return Err(CliError::Usage("--seeds 0: expected at least 1".into()));
        }
        match &self.strategies {
            Some(list) => strategy_list(list),
            None if !sc.compare.is_empty() => {
                let mut v: Vec<Strategy> = Vec::new();
                for e in &sc.compare {
                    if !v.contains(&e.strategy) {
                        v.push(e.strategy);
                    }
                }
                Ok(v)
            }
            None => Ok(Strategy::COMPARED.to_vec()),
        }
    }

    /// The columns of a comparison of `sc`: `--strategies`, else the
    /// scenario's `compare` list, else sticky, cookie and store.
    pub(super) fn entries(&self, sc: &Scenario) -> Result<Vec<Entry>, CliError> {
        if self.seeds == 0 {
            return Err(CliError::Usage("--seeds 0: expected at least 1".into()));
        }
        let list = match &self.strategies {
            Some(s) => s
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| Entry::parse(s).map_err(|m| CliError::Usage(format!("--strategies: {m}"))))
                .collect::<Result<Vec<_>, _>>()?,
            None if !sc.compare.is_empty() => sc.compare.clone(),
            None => Strategy::COMPARED.into_iter().map(Entry::plain).collect(),
        };
        if list.is_empty() {
            return Err(CliError::Usage(
                "--strategies is empty: expected e.g. sticky,cookie,store".into(),
            ));
        }
        if sc.variants.is_empty() {
            return Ok(list);
        }
        // A file with variants compares remedies: each variant under the
        // scenario's own strategy, or under each strategy asked for.
        let list = match (&self.strategies, sc.compare.is_empty()) {
            (None, true) => vec![Entry::plain(sc.strategy)],
            _ => list,
        };
        Ok(list
            .iter()
            .flat_map(|e| {
                (0..sc.variants.len()).map(move |i| Entry {
                    remedy: Some(i as u16),
                    ..*e
                })
            })
            .collect())
    }

    /// Every (scenario, strategy, seed) of a comparison, seed by seed:
    /// `scenarios[i]` is entry `i`'s scenario.
    pub(super) fn plan_entries<'a>(
        &self,
        scenarios: &'a [Scenario],
        entries: &[Entry],
        seed: u64,
    ) -> Vec<(&'a Scenario, Strategy, u64)> {
        let mut pairs = Vec::new();
        let first = self.seed.unwrap_or(seed);
        for k in 0..u64::from(self.seeds) {
            for (sc, e) in scenarios.iter().zip(entries) {
                pairs.push((sc, e.strategy, first.wrapping_add(k)));
            }
        }
        pairs
    }

    pub(super) fn jobs(&self) -> usize {
        self.jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Every (scenario, strategy, seed) to run, seed by seed.
    pub(super) fn plan<'a>(
        &self,
        scenarios: &'a [Scenario],
        sts: &[Strategy],
    ) -> Vec<(&'a Scenario, Strategy, u64)> {
        let mut pairs = Vec::new();
        for sc in scenarios {
            let first = self.seed.unwrap_or(sc.seed);
            for k in 0..u64::from(self.seeds) {
                for &st in sts {
                    pairs.push((sc, st, first.wrapping_add(k)));
                }
            }
        }
        pairs
    }
}

/// Runs once, filling in the wall-clock figures.
pub fn timed_run(sc: &Scenario, strategy: Strategy, seed: u64) -> Report {
    timed_replay(sc, strategy, seed, &[])
}

/// Runs once with `injected` actions added at their times (a replay),
/// filling in the wall-clock figures.
pub fn timed_replay(sc: &Scenario, strategy: Strategy, seed: u64, injected: &[Timed]) -> Report {
    timed_run_in(sc, strategy, seed, injected, None).expect("nothing to export")
}

/// Runs once (with `injected` actions); with `db_dir`, writes the database
/// instances there as SQLite files.
pub fn timed_run_in(
    sc: &Scenario,
    strategy: Strategy,
    seed: u64,
    injected: &[Timed],
    db_dir: Option<&Path>,
) -> Result<Report, CliError> {
    let watch = Stopwatch::start();
    let mut r = sim::run_injected_into(sc, strategy, seed, injected, db_dir).map_err(|e| {
        CliError::Runtime(format!(
            "--db-dir {}: {e}; check that the directory is writable",
            db_dir.map(|d| d.display().to_string()).unwrap_or_default()
        ))
    })?;
    let secs = watch.seconds();
    r.wall.seconds = secs;
    r.wall.sim_requests_per_second = if secs > 0.0 {
        (r.requests.total as f64 / secs).round()
    } else {
        0.0
    };
    Ok(r)
}

/// Runs every (scenario, strategy, seed) over `jobs` threads, each with the
/// `injected` actions (none but in a replay); results in input order,
/// whatever order they finish in. `done` is called after each run.
pub fn run_many(
    pairs: &[(&Scenario, Strategy, u64)],
    injected: &[Timed],
    jobs: usize,
    done: &(dyn Fn() + Sync),
) -> Vec<Report> {
    run_many_in(pairs, injected, jobs, done, None).expect("nothing to export")
}

/// [`run_many`], writing each run's database files under
/// `db_dir/STRATEGY-seedN/`.
pub fn run_many_in(
    pairs: &[(&Scenario, Strategy, u64)],
    injected: &[Timed],
    jobs: usize,
    done: &(dyn Fn() + Sync),
    db_dir: Option<&Path>,
) -> Result<Vec<Report>, CliError> {
    let jobs = jobs.clamp(1, pairs.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<Option<Result<Report, CliError>>> = (0..pairs.len()).map(|_| None).collect();
    let slots = std::sync::Mutex::new(&mut out);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&(sc, st, seed)) = pairs.get(i) else {
                        break;
                    };
                    let dir = db_dir.map(|d| d.join(format!("{st}-seed{seed}")));
                    let r = timed_run_in(sc, st, seed, injected, dir.as_deref());
                    slots.lock().expect("no panics while holding")[i] = Some(r);
                    done();
                }
            });
        }
    });
    out.into_iter()
        .map(|r| r.expect("every pair ran"))
        .collect()
}

/// Runs a plan on `jobs` threads with a progress bar.
pub(super) fn execute(
    pairs: &[(&Scenario, Strategy, u64)],
    injected: &[Timed],
    jobs: usize,
) -> Vec<Report> {
    execute_in(pairs, injected, jobs, None).expect("nothing to export")
}

/// [`execute`], writing database files under `db_dir` (see [`run_many_in`]).
pub(super) fn execute_in(
    pairs: &[(&Scenario, Strategy, u64)],
    injected: &[Timed],
    jobs: usize,
    db_dir: Option<&Path>,
) -> Result<Vec<Report>, CliError> {
    let bar = progress(pairs.len());
    let runs = run_many_in(pairs, injected, jobs, &|| bar.inc(1), db_dir);
    bar.finish_and_clear();
    runs
}

/// A progress bar on stderr for several runs, silent unless stderr is a terminal.
fn progress(runs: usize) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if runs < 2 || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(runs as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {elapsed} (eta {eta})")
    {
        bar.set_style(style);
    }
    bar
}
