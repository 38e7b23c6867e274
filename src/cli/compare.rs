//! `stratus compare`: the same scenario and seed under each strategy (or
//! design, or `[[variants]]` entry), side by side, over one or more seeds;
//! and how a comparison prints, shared with `stratus merge` so a merged
//! comparison is the report one machine would have printed.

use super::{
    CliError, Format, Output, Runs, WebArgs, dashboard, emit_as, execute_in, load, load_text,
    no_db_dir_with_tui, pick_format, shard, slo_verdict, write_plot,
};
use crate::report::part::Shard;
use crate::report::{Report, html, table, text};
use crate::scenario::{Scenario, Strategy, Timed};
use std::path::PathBuf;

/// `stratus compare`'s arguments; its help text is `Command::Compare`'s.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    pub file: String,
    #[command(flatten)]
    pub runs: Runs,
    #[command(flatten)]
    pub output: Output,
    /// Also write the strategies' timelines, overlaid, as an SVG picture here
    /// (the first seed's runs).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Write each run's database instances to SQLite files under
    /// DIR/STRATEGY-seedN/.
    #[arg(long)]
    pub db_dir: Option<PathBuf>,
    /// Play the strategies live, side by side, in lockstep (one seed).
    #[arg(long)]
    pub tui: bool,
    /// Dashboard speed, 1 to 10000 (default 30).
    #[arg(long)]
    pub speed: Option<f64>,
    /// Re-run the actions injected into a recorded comparison (or run):
    /// a JSON report; its seed is used, under every strategy.
    #[arg(long, value_name = "REPORT.json")]
    pub replay: Option<PathBuf>,
    /// Run only this shard's share of the runs (I of N, from 1) and write
    /// a part for `stratus merge` (JSON).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    #[command(flatten)]
    pub web: WebArgs,
}

/// Runs `a`'s comparison as it asks (played on a dashboard, or straight
/// through, or one shard of it) and prints it.
pub(super) fn compare(mut a: CompareArgs) -> Result<(), CliError> {
    let web = a.web.web(a.tui)?;
    let watched = a.tui || web.is_some();
    let speed = dashboard::speed(watched, a.speed)?;
    no_db_dir_with_tui(watched, &a.db_dir)?;
    let sc = load(&a.file)?;
    let entries = a.runs.entries(&sc)?;
    let sts: Vec<Strategy> = entries.iter().map(|e| e.strategy).collect();
    let designs = entries
        .iter()
        .any(|e| e.cookie.is_some() || e.remedy.is_some());
    refuse_designs(&a, designs, watched)?;
    if let Some(part) = a.shard {
        let unsharded = [
            ("--tui", a.tui),
            ("--web", web.is_some()),
            ("--replay", a.replay.is_some()),
            ("--plot", a.plot.is_some()),
        ];
        let db_dir = a.db_dir.as_deref();
        return shard::compare(&a.file, part, &a.runs, &a.output, db_dir, &unsharded);
    }
    let per_entry: Vec<Scenario> = entries.iter().map(|e| e.apply(&sc)).collect();
    let injected = replayed(&mut a, &sc)?;
    let plan = &a.runs;
    if watched && plan.seeds > 1 {
        let flag = if a.tui { "--tui" } else { "--web" };
        return Err(CliError::Usage(format!(
            "{flag} plays one seed: drop --seeds (or run without {flag})"
        )));
    }
    let seeds = plan.seeds as usize;
    let print = |runs: Vec<Report>| print_runs(runs, &a, sts.len(), seeds);
    let seed = plan.seed.unwrap_or(sc.seed);
    if let Some(web) = web {
        let sims = dashboard::sims(&sc, &sts, seed, &injected);
        let names: Vec<&str> = sts.iter().map(|s| s.name()).collect();
        let what = format!("{} · {} · seed {seed}", sc.name, names.join("/"));
        return crate::web::play(&sc, sims, speed, web, &what, print);
    }
    let runs = if dashboard::on_terminal(a.tui) {
        match dashboard::compare_live(&sc, &sts, seed, &injected, speed)? {
            Some(runs) => runs,
            None => return Err(CliError::Reported(130)),
        }
    } else {
        let mut runs = execute_in(
            &plan.plan_entries(&per_entry, &entries, sc.seed),
            &injected,
            plan.jobs(),
            a.db_dir.as_deref(),
        )?;
        for (i, r) in runs.iter_mut().enumerate() {
            r.variant = entries[i % entries.len()].variant(&sc);
        }
        runs
    };
    print(runs)
}

/// Two cookie designs or two `[[variants]]` entries share a strategy's
/// name: refused where runs are told apart by it (`--db-dir`'s
/// directories, a dashboard's lanes).
fn refuse_designs(a: &CompareArgs, designs: bool, watched: bool) -> Result<(), CliError> {
    if designs && a.db_dir.is_some() {
        return Err(CliError::Usage(
            "--db-dir names each run's files by strategy and seed, which two cookie designs or two [[variants]] share: drop --db-dir, or compare one design at a time".into(),
        ));
    }
    if designs && watched {
        let flag = if a.tui { "--tui" } else { "--web" };
        return Err(CliError::Usage(format!(
            "{flag} races plain strategies: drop {flag}, or list strategies without a cookie design (--strategies sticky,cookie,store) in a file without [[variants]]"
        )));
    }
    Ok(())
}

/// The actions the recorded comparison `--replay` names injected, its seed
/// set as the runs' (none without `--replay`).
fn replayed(a: &mut CompareArgs, sc: &Scenario) -> Result<Vec<Timed>, CliError> {
    let Some(path) = &a.replay else {
        return Ok(vec![]);
    };
    let runs = dashboard::recordings(path)?;
    let (seed, injected) = dashboard::pick(path, &runs[..1], sc, a.runs.seed)?;
    a.runs.seed = Some(seed);
    Ok(injected)
}

/// Prints a comparison's runs with their plot and, for a page, the
/// timelines of the first seed (taken before the series are dropped).
fn print_runs(
    mut runs: Vec<Report>,
    a: &CompareArgs,
    columns: usize,
    seeds: usize,
) -> Result<(), CliError> {
    write_plot(&a.plot, &runs[..columns])?;
    let fmt = pick_format(a.output.format, &a.output.out);
    let page = match fmt {
        Format::Html => Some(html::report(&runs, columns, &load_text(&a.file)?.1)),
        _ => None,
    };
    for r in &mut runs {
        r.series = None;
    }
    print(&runs, columns, seeds, &a.output, page)
}

/// Prints a comparison's runs (seed by seed, `columns` strategies each) as
/// `output` asks; exit 3 when a run failed an `[slo]` threshold. `page` is
/// the HTML page made while the runs still had their series; without it
/// (a merge) the page has the tables but no timelines or scenario text.
pub(super) fn print(
    runs: &[Report],
    columns: usize,
    seeds: usize,
    output: &Output,
    page: Option<String>,
) -> Result<(), CliError> {
    let by_strategy: Vec<Vec<Report>> = (0..columns)
        .map(|j| runs.iter().skip(j).step_by(columns).cloned().collect())
        .collect();
    let fmt = pick_format(output.format, &output.out);
    let text = match fmt {
        Format::Html => page.unwrap_or_else(|| html::report(runs, columns, "")),
        Format::Text if seeds > 1 => text::render_seeds(&by_strategy),
        Format::Text => runs
            .chunks(columns)
            .map(text::render_compare)
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Json => {
            let v = serde_json::json!({ "runs": runs });
            serde_json::to_string_pretty(&v).expect("serialises") + "\n"
        }
        Format::Csv => table::csv(runs),
        Format::Markdown => runs
            .chunks(columns)
            .map(table::markdown)
            .collect::<Vec<_>>()
            .join("\n"),
    };
    emit_as(&text, &output.out, fmt == Format::Text)?;
    slo_verdict(runs)
}
