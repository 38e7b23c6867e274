//! `stratus run`: one run of a scenario (or of one of its `[[variants]]`, or
//! again from a recorded report), played on a dashboard or straight
//! through, and its report printed.

use super::{
    CliError, Format, WebArgs, dashboard, emit_as, load, load_text, no_db_dir_with_tui,
    pick_format, runs, slo_verdict, strategy, variant, write_plot,
};
use crate::report::{Report, html, table, text};
use std::path::PathBuf;

/// `stratus run`'s arguments; its help text is `Command::Run`'s.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// A scenario file, or the name of a bundled scenario (see `stratus list`).
    pub file: String,
    /// sticky | cookie | store (default: the scenario's own).
    #[arg(long)]
    pub strategy: Option<String>,
    /// Overrides the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run one of the file's [[variants]] (by name) instead of the file
    /// as written; the report names it (`"variant"`).
    #[arg(long, value_name = "NAME")]
    pub variant: Option<String>,
    /// Report format (default: from --out's extension, else text).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the report here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Include the per-second series (JSON), or print it instead of the run's row (CSV).
    #[arg(long)]
    pub series: bool,
    /// Also write the run's timeline as an SVG picture here.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Write the database instances, as they are at the end, to SQLite
    /// files here (primary.db, standby.db, replica-N.db).
    #[arg(long)]
    pub db_dir: Option<PathBuf>,
    /// Play the run live in a terminal dashboard, with keys to inject
    /// faults; the report prints when you quit.
    #[arg(long)]
    pub tui: bool,
    /// Dashboard speed: simulated seconds per wall second, 1 to 10000
    /// (default 30: thirty minutes in one).
    #[arg(long)]
    pub speed: Option<f64>,
    /// Re-run a recorded run: a JSON report (`--format json`) whose
    /// strategy, seed and injected actions are used again.
    #[arg(long, value_name = "REPORT.json")]
    pub replay: Option<PathBuf>,
    #[command(flatten)]
    pub web: WebArgs,
}

/// Runs `a`'s scenario as it asks and prints the report.
pub(super) fn run(a: RunArgs) -> Result<(), CliError> {
    let web = a.web.web(a.tui)?;
    let speed = dashboard::speed(a.tui || web.is_some(), a.speed)?;
    no_db_dir_with_tui(a.tui || web.is_some(), &a.db_dir)?;
    let dashboard::RunPlan {
        scenario: sc,
        strategy: st,
        seed,
        injected,
        variant: remedy,
    } = plan(&a)?;
    let print = |mut r: Report| {
        r.variant.clone_from(&remedy);
        print(r, &a)
    };
    if let Some(web) = web {
        let sims = dashboard::sims(&sc, &[st], seed, &injected);
        let what = format!("{} · {st} · seed {seed}", sc.name);
        return crate::web::play(&sc, sims, speed, web, &what, |mut runs| {
            print(runs.remove(0))
        });
    }
    let r = if dashboard::on_terminal(a.tui) {
        match dashboard::run_live(&sc, st, seed, &injected, speed)? {
            Some(r) => r,
            None => return Err(CliError::Reported(130)),
        }
    } else {
        runs::timed_run_in(&sc, st, seed, &injected, a.db_dir.as_deref())?
    };
    print(r)
}

/// What to run: the file (or the variant `--variant` names) under the
/// strategy and seed asked for, or what a recorded report ran (`--replay`).
fn plan(a: &RunArgs) -> Result<dashboard::RunPlan, CliError> {
    let base = load(&a.file)?;
    let st = a.strategy.as_deref().map(strategy).transpose()?;
    Ok(match &a.replay {
        Some(path) => {
            let runs = dashboard::recordings(path)?;
            let asked = (st, a.seed, a.variant.as_deref());
            dashboard::pick_run(path, &runs, base, asked, &a.file)?
        }
        None => dashboard::RunPlan {
            strategy: st.unwrap_or(base.strategy),
            seed: a.seed.unwrap_or(base.seed),
            injected: vec![],
            scenario: variant(base, a.variant.as_deref())?,
            variant: a.variant.clone(),
        },
    })
}

/// Prints the run's report in the form `a` asks for (and its plot); exit 3
/// when it failed an `[slo]` threshold.
fn print(mut r: Report, a: &RunArgs) -> Result<(), CliError> {
    write_plot(&a.plot, std::slice::from_ref(&r))?;
    let fmt = pick_format(a.format, &a.out);
    let text = match fmt {
        Format::Csv if a.series => table::series_csv(&r),
        Format::Text => text::render(&r),
        Format::Json => {
            if !a.series {
                r.series = None;
            }
            r.to_json() + "\n"
        }
        Format::Csv => table::csv(std::slice::from_ref(&r)),
        Format::Markdown => table::markdown(std::slice::from_ref(&r)),
        Format::Html => html::report(std::slice::from_ref(&r), 1, &load_text(&a.file)?.1),
    };
    emit_as(&text, &a.out, fmt == Format::Text)?;
    slo_verdict(std::slice::from_ref(&r))
}
