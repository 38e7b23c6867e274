//! The command line: parses arguments, loads scenarios, runs them and prints
//! reports. Exit codes (CONTRACT.md): 0 ok, 1 runtime error, 2 usage error,
//! 65 invalid scenario file.

mod compare;
mod dashboard;
mod diff;
mod live;
mod merge;
pub mod pace;
mod runs;
mod shard;
mod sweep;
mod tour;

pub(crate) use dashboard::finish as finish_runs;
pub use runs::{Runs, run_many, run_many_in, timed_replay, timed_run, timed_run_in};
use runs::{execute, execute_in};

use crate::bundled;
use crate::report::part::Shard;
use crate::report::{Report, html, plot, table, text};
use crate::scenario::{Scenario, ScenarioError, Strategy, parse_scenario, parse_scenario_with};
use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "stratus",
    version,
    about = "A local cloud simulator: run the MyClothes architecture in virtual time, break it, count the carts shoppers lose."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Csv,
    Markdown,
    /// One self-contained page: table, timeline, event log, scenario file.
    Html,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// One run of a scenario; the report goes to stdout (or --out).
    Run {
        /// A scenario file, or the name of a bundled scenario (see `stratus list`).
        file: String,
        /// sticky | cookie | store (default: the scenario's own).
        #[arg(long)]
        strategy: Option<String>,
        /// Overrides the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Run one of the file's [[variants]] (by name) instead of the file
        /// as written; the report names it (`"variant"`).
        #[arg(long, value_name = "NAME")]
        variant: Option<String>,
        /// Report format (default: from --out's extension, else text).
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Write the report here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Include the per-second series (JSON), or print it instead of the run's row (CSV).
        #[arg(long)]
        series: bool,
        /// Also write the run's timeline as an SVG picture here.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Write the database instances, as they are at the end, to SQLite
        /// files here (primary.db, standby.db, replica-N.db).
        #[arg(long)]
        db_dir: Option<PathBuf>,
        /// Play the run live in a terminal dashboard, with keys to inject
        /// faults; the report prints when you quit.
        #[arg(long)]
        tui: bool,
        /// Dashboard speed: simulated seconds per wall second, 1 to 10000
        /// (default 30: thirty minutes in one).
        #[arg(long)]
        speed: Option<f64>,
        /// Re-run a recorded run: a JSON report (`--format json`) whose
        /// strategy, seed and injected actions are used again.
        #[arg(long, value_name = "REPORT.json")]
        replay: Option<PathBuf>,
        #[command(flatten)]
        web: WebArgs,
    },
    /// The same scenario and seed under each strategy, side by side.
    Compare {
        file: String,
        #[command(flatten)]
        runs: Runs,
        #[command(flatten)]
        output: Output,
        /// Also write the strategies' timelines, overlaid, as an SVG picture here
        /// (the first seed's runs).
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Write each run's database instances to SQLite files under
        /// DIR/STRATEGY-seedN/.
        #[arg(long)]
        db_dir: Option<PathBuf>,
        /// Play the strategies live, side by side, in lockstep (one seed).
        #[arg(long)]
        tui: bool,
        /// Dashboard speed, 1 to 10000 (default 30).
        #[arg(long)]
        speed: Option<f64>,
        /// Re-run the actions injected into a recorded comparison (or run):
        /// a JSON report; its seed is used, under every strategy.
        #[arg(long, value_name = "REPORT.json")]
        replay: Option<PathBuf>,
        /// Run only this shard's share of the runs (I of N, from 1) and write
        /// a part for `stratus merge` (JSON).
        #[arg(long, value_name = "I/N")]
        shard: Option<Shard>,
        #[command(flatten)]
        web: WebArgs,
    },
    /// Walks the case study's evolution one design at a time: each step runs
    /// a scenario and prints its lesson and figures from that run.
    Tour {
        /// Show each step in the live dashboard.
        #[arg(long)]
        tui: bool,
        /// Run straight through, without waiting for Enter between steps.
        #[arg(long)]
        no_pause: bool,
        /// Dashboard speed with --tui, 1 to 10000 (default 30).
        #[arg(long)]
        speed: Option<f64>,
    },
    /// Parses and checks scenario files without running them, and audits
    /// their security groups (findings on stdout).
    Validate {
        #[arg(required = true)]
        files: Vec<String>,
        /// Exit 4 if the audit finds anything (for CI).
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Runs a grid of scenario variants: every combination of the --set values,
    /// under each strategy and seed, in parallel, into one table.
    Sweep {
        file: String,
        /// KEY=V1,V2,… with KEY a scenario key path (fleet.desired,
        /// workload.arrivals_per_second, sessions.store.replication_lag, …).
        #[arg(long = "set", required = true)]
        sets: Vec<String>,
        /// Also draw a figure against the first --set key, as SVG, here.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// The figure --plot draws (a key of the comparison table, such as
        /// carts_lost, p99, failure_rate, cost_per_hour).
        #[arg(long, default_value = "carts_lost")]
        plot_figure: String,
        #[command(flatten)]
        runs: Runs,
        /// csv (the default here) or json.
        #[command(flatten)]
        output: Output,
        /// Run only this shard's share of the grid (I of N, from 1) and write
        /// a part for `stratus merge` (JSON).
        #[arg(long, value_name = "I/N")]
        shard: Option<Shard>,
    },
    /// Combines the parts of a sharded sweep or comparison into the report
    /// one machine would have written.
    Merge {
        /// The parts: every file `… --shard I/N` wrote, I = 1 to N.
        #[arg(required = true, value_name = "PART")]
        parts: Vec<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
    /// A report against a baseline report, design by design and figure by
    /// figure; exit 3 when a figure named in --max-regression got worse
    /// past its bound (a CI gate on an architecture change).
    Diff {
        /// The baseline: a JSON report from run, compare or load.
        baseline: String,
        /// The report to judge against it.
        current: String,
        /// How far each named figure may get worse: KEY=LIMIT, comma
        /// separated; a limit in the figure's unit or a percentage of the
        /// baseline (carts_lost=0,p99=10%).
        #[arg(long, value_name = "KEY=LIMIT,...")]
        max_regression: Option<String>,
        /// text (the default), json or markdown.
        #[command(flatten)]
        output: Output,
    },
    /// The bundled scenarios, one line each.
    List,
    /// Serves the shop live on loopback: a load balancer, app nodes in AZs,
    /// real cookies, an admin API to break it (see the README's live mode).
    Serve(live::ServeArgs),
    /// Sends an open-loop load of shoppers with ground-truth carts to a live
    /// shop; the report has the simulation's shape.
    Load(live::LoadArgs),
}

/// `--web [ADDR]` and `--web-exit`: the run played on a web page.
#[derive(clap::Args, Debug)]
pub struct WebArgs {
    /// Play the run on the web dashboard served at ADDR (default
    /// 127.0.0.1:0, a free port; the URL with its token goes to stderr):
    /// buttons and keys inject faults, a speed control paces it; the report
    /// prints when the run ends and the page stays up until Ctrl-C.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = crate::web::DEFAULT_ADDR)]
    pub web: Option<SocketAddr>,
    /// With --web: leave once the run is over and a page has been sent its
    /// final figures, instead of serving the page until Ctrl-C.
    #[arg(long, requires = "web")]
    pub web_exit: bool,
}

impl WebArgs {
    /// Where to serve, if asked; refuses `--web` with `--tui` (one screen).
    fn web(&self, tui: bool) -> Result<Option<crate::web::Web>, CliError> {
        match self.web {
            Some(_) if tui => Err(CliError::Usage(
                "--tui and --web both play the run: pick one".into(),
            )),
            Some(addr) => Ok(Some(crate::web::Web {
                addr,
                exit: self.web_exit,
            })),
            None => Ok(None),
        }
    }
}

/// Where a report goes and in what form.
#[derive(clap::Args, Debug)]
pub struct Output {
    /// Report format (default: from --out's extension, else text).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the report here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `validate --deny-warnings` found something to warn about.
pub const EXIT_WARNINGS: i32 = 4;

/// A failure with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    #[error("{0}")]
    Runtime(String),
    /// Already told to the user; only the exit code is left.
    #[error("")]
    Reported(i32),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Scenario(_) => 65,
            CliError::Runtime(_) => 1,
            CliError::Reported(c) => *c,
        }
    }
}

/// Reads a scenario from a path or a bundled name.
pub fn load(arg: &str) -> Result<Scenario, CliError> {
    let (file, text) = load_text(arg)?;
    Ok(parse_scenario_with(&file, &text, &|name| {
        read_beside(&file, name)
    })?)
}

/// The scenario as written, or the variant of it `--variant` names.
pub fn variant(sc: Scenario, name: Option<&str>) -> Result<Scenario, CliError> {
    let Some(name) = name else { return Ok(sc) };
    match sc.variants.iter().find(|v| v.name == name) {
        Some(v) => Ok((*v.scenario).clone()),
        None => {
            let names: Vec<&str> = sc.variants.iter().map(|v| v.name.as_str()).collect();
            Err(CliError::Usage(if names.is_empty() {
                format!("--variant {name}: {} has no [[variants]]", sc.name)
            } else {
                format!("--variant {name}: {} has {}", sc.name, names.join(", "))
            }))
        }
    }
}

/// Reads a trace a scenario names, by its path relative to the scenario
/// file; a bundled scenario's traces are compiled in, so a name not on disk
/// falls back to them (`stratus run daily-peak` works from any directory).
pub fn read_beside(scenario: &str, name: &str) -> Result<(String, String), String> {
    let path = Path::new(scenario)
        .parent()
        .unwrap_or(Path::new(""))
        .join(name);
    match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(|t| (path.display().to_string(), t))
            .map_err(|_| {
                format!(
                    "{} is not UTF-8 text: expected CSV rows `offset,rate`",
                    path.display()
                )
            }),
        Err(e) => bundled::read_trace(name).map_err(|_| {
            format!(
                "cannot read {}: {e}: expected a trace file at that path, relative to the scenario file",
                path.display()
            )
        }),
    }
}

/// The text of a scenario file or bundled scenario, and the name to show in
/// messages about it.
pub fn load_text(arg: &str) -> Result<(String, String), CliError> {
    let path = Path::new(arg);
    if path.is_file() {
        let bytes = std::fs::read(path)
            .map_err(|e| CliError::Runtime(format!("{arg}: cannot read: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|_| {
            CliError::Scenario(ScenarioError {
                file: arg.to_string(),
                line: None,
                column: None,
                message: "the file is not UTF-8 text: expected a TOML scenario".into(),
            })
        })?;
        return Ok((arg.to_string(), text));
    }
    if let Some(text) = bundled::find(arg) {
        let name = arg.strip_suffix(".toml").unwrap_or(arg);
        return Ok((format!("scenarios/{name}.toml"), text.to_string()));
    }
    if path.exists() {
        return Err(CliError::Usage(format!(
            "{arg} is not a file: expected a scenario file"
        )));
    }
    let names: Vec<&str> = bundled::BUNDLED.iter().map(|(n, _)| *n).collect();
    Err(CliError::Usage(format!(
        "no scenario file or bundled scenario named {arg:?}: expected a path to a .toml file or one of: {}",
        names.join(", ")
    )))
}

fn strategy(s: &str) -> Result<Strategy, CliError> {
    let s = s.trim();
    Strategy::parse(s).ok_or_else(|| {
        CliError::Usage(format!(
            "unknown strategy {s:?}: expected sticky, cookie, store or durable"
        ))
    })
}

fn strategy_list(arg: &str) -> Result<Vec<Strategy>, CliError> {
    let sts = arg
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(strategy)
        .collect::<Result<Vec<_>, _>>()?;
    if sts.is_empty() {
        return Err(CliError::Usage(
            "--strategies is empty: expected e.g. sticky,cookie,store".into(),
        ));
    }
    Ok(sts)
}

fn pick_format(format: Option<Format>, out: &Option<PathBuf>) -> Format {
    if let Some(f) = format {
        return f;
    }
    match out
        .as_ref()
        .and_then(|p| p.extension())
        .and_then(|e| e.to_str())
    {
        Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some("md") | Some("markdown") => Format::Markdown,
        Some("html") | Some("htm") => Format::Html,
        _ => Format::Text,
    }
}

fn write_plot(path: &Option<PathBuf>, runs: &[Report]) -> Result<(), CliError> {
    match path {
        Some(p) => std::fs::write(p, plot::svg(runs))
            .map_err(|e| CliError::Runtime(format!("{}: cannot write the plot: {e}", p.display()))),
        None => Ok(()),
    }
}

/// Tells each failed `[slo]` threshold on stderr; exit 3 if there was one.
fn slo_verdict(runs: &[Report]) -> Result<(), CliError> {
    let mut failed = 0;
    for r in runs {
        for c in r.slo.iter().filter(|c| !c.passed) {
            failed += 1;
            eprintln!(
                "stratus: slo failed: {} (seed {}): {} is {}, over the limit {} = {}",
                r.strategy,
                r.seed,
                c.threshold
                    .trim_end_matches("_max")
                    .trim_end_matches("_min"),
                c.actual,
                c.threshold,
                c.limit
            );
        }
    }
    if failed > 0 {
        Err(CliError::Reported(3))
    } else {
        Ok(())
    }
}

fn emit(text: &str, out: &Option<PathBuf>) -> Result<(), CliError> {
    emit_as(text, out, false)
}

/// Writes a report; text reports (`may_colour`) get colour on a terminal.
fn emit_as(text: &str, out: &Option<PathBuf>, may_colour: bool) -> Result<(), CliError> {
    use std::io::IsTerminal;
    let colour = may_colour
        && out.is_none()
        && crate::report::colour::wanted(
            std::io::stdout().is_terminal(),
            std::env::var("NO_COLOR").ok().as_deref(),
        );
    let text = if colour {
        crate::report::colour::colourize(text)
    } else {
        text.to_string()
    };
    let text = text.as_str();
    match out {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| CliError::Runtime(format!("{}: cannot write: {e}", p.display()))),
        None => {
            use std::io::Write;
            let mut so = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = so.write_all(text.as_bytes());
            Ok(())
        }
    }
}

/// Parses the command line and does what it says; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    match dispatch(cli.command) {
        Ok(()) => 0,
        Err(e) => {
            if !matches!(e, CliError::Reported(_)) {
                eprintln!("stratus: {e}");
            }
            e.exit_code()
        }
    }
}

/// A dashboard (`--tui`, `--web`) plays a run it cannot also export:
/// refused rather than leaving the directory silently empty.
fn no_db_dir_with_tui(watched: bool, db_dir: &Option<PathBuf>) -> Result<(), CliError> {
    if watched && db_dir.is_some() {
        return Err(CliError::Usage(
            "--db-dir writes the database files of a batch run: drop --tui (or --web), or \
             replay the dashboard's report with --replay REPORT.json --db-dir DIR"
                .into(),
        ));
    }
    Ok(())
}

pub fn dispatch(cmd: Command) -> Result<(), CliError> {
    match cmd {
        Command::Run {
            file,
            strategy: st,
            seed,
            variant: remedy,
            format,
            out,
            series,
            plot: plot_to,
            db_dir,
            tui,
            speed,
            replay,
            web,
        } => {
            let web = web.web(tui)?;
            let speed = dashboard::speed(tui || web.is_some(), speed)?;
            no_db_dir_with_tui(tui || web.is_some(), &db_dir)?;
            let base = load(&file)?;
            let st = st.map(|s| strategy(&s)).transpose()?;
            let dashboard::RunPlan {
                scenario: sc,
                strategy: st,
                seed,
                injected,
                variant: remedy,
            } = match &replay {
                Some(path) => {
                    let runs = dashboard::recordings(path)?;
                    dashboard::pick_run(path, &runs, base, (st, seed, remedy.as_deref()), &file)?
                }
                None => dashboard::RunPlan {
                    strategy: st.unwrap_or(base.strategy),
                    seed: seed.unwrap_or(base.seed),
                    injected: vec![],
                    scenario: variant(base, remedy.as_deref())?,
                    variant: remedy,
                },
            };
            let print = |mut r: Report| -> Result<(), CliError> {
                r.variant.clone_from(&remedy);
                write_plot(&plot_to, std::slice::from_ref(&r))?;
                let fmt = pick_format(format, &out);
                let text = match fmt {
                    Format::Csv if series => table::series_csv(&r),
                    Format::Text => text::render(&r),
                    Format::Json => {
                        if !series {
                            r.series = None;
                        }
                        r.to_json() + "\n"
                    }
                    Format::Csv => table::csv(std::slice::from_ref(&r)),
                    Format::Markdown => table::markdown(std::slice::from_ref(&r)),
                    Format::Html => html::report(std::slice::from_ref(&r), 1, &load_text(&file)?.1),
                };
                emit_as(&text, &out, fmt == Format::Text)?;
                slo_verdict(std::slice::from_ref(&r))
            };
            if let Some(web) = web {
                let sims = dashboard::sims(&sc, &[st], seed, &injected);
                let what = format!("{} · {st} · seed {seed}", sc.name);
                return crate::web::play(&sc, sims, speed, web, &what, |mut runs| {
                    print(runs.remove(0))
                });
            }
            let r = if dashboard::on_terminal(tui) {
                match dashboard::run_live(&sc, st, seed, &injected, speed)? {
                    Some(r) => r,
                    None => return Err(CliError::Reported(130)),
                }
            } else {
                runs::timed_run_in(&sc, st, seed, &injected, db_dir.as_deref())?
            };
            print(r)
        }
        Command::Compare {
            file,
            runs: plan,
            output,
            plot: plot_to,
            db_dir,
            tui,
            speed,
            replay,
            shard,
            web,
        } => {
            let web = web.web(tui)?;
            let watched = tui || web.is_some();
            let speed = dashboard::speed(watched, speed)?;
            no_db_dir_with_tui(watched, &db_dir)?;
            let sc = [load(&file)?];
            let entries = plan.entries(&sc[0])?;
            let sts: Vec<Strategy> = entries.iter().map(|e| e.strategy).collect();
            let designs = entries
                .iter()
                .any(|e| e.cookie.is_some() || e.remedy.is_some());
            if designs && db_dir.is_some() {
                return Err(CliError::Usage(
                    "--db-dir names each run's files by strategy and seed, which two cookie designs or two [[variants]] share: drop --db-dir, or compare one design at a time".into(),
                ));
            }
            if designs && watched {
                let flag = if tui { "--tui" } else { "--web" };
                return Err(CliError::Usage(format!(
                    "{flag} races plain strategies: drop {flag}, or list strategies without a cookie design (--strategies sticky,cookie,store) in a file without [[variants]]"
                )));
            }
            if let Some(shard) = shard {
                let unsharded = [
                    ("--tui", tui),
                    ("--web", web.is_some()),
                    ("--replay", replay.is_some()),
                    ("--plot", plot_to.is_some()),
                ];
                return shard::compare(&file, shard, &plan, &output, db_dir.as_deref(), &unsharded);
            }
            let per_entry: Vec<Scenario> = entries.iter().map(|e| e.apply(&sc[0])).collect();
            let mut plan = plan;
            let injected = match &replay {
                Some(path) => {
                    let runs = dashboard::recordings(path)?;
                    let (seed, injected) = dashboard::pick(path, &runs[..1], &sc[0], plan.seed)?;
                    plan.seed = Some(seed);
                    injected
                }
                None => vec![],
            };
            if watched && plan.seeds > 1 {
                let flag = if tui { "--tui" } else { "--web" };
                return Err(CliError::Usage(format!(
                    "{flag} plays one seed: drop --seeds (or run without {flag})"
                )));
            }
            let seeds = plan.seeds as usize;
            let print = |mut runs: Vec<Report>| -> Result<(), CliError> {
                write_plot(&plot_to, &runs[..sts.len()])?;
                let fmt = pick_format(output.format, &output.out);
                // Before the series go: the page plots the first seed's.
                let page = match fmt {
                    Format::Html => html::report(&runs, sts.len(), &load_text(&file)?.1),
                    _ => String::new(),
                };
                for r in &mut runs {
                    r.series = None;
                }
                let page = (fmt == Format::Html).then_some(page);
                compare::print(&runs, sts.len(), seeds, &output, page)
            };
            let seed = plan.seed.unwrap_or(sc[0].seed);
            if let Some(web) = web {
                let sims = dashboard::sims(&sc[0], &sts, seed, &injected);
                let names: Vec<&str> = sts.iter().map(|s| s.name()).collect();
                let what = format!("{} · {} · seed {seed}", sc[0].name, names.join("/"));
                return crate::web::play(&sc[0], sims, speed, web, &what, print);
            }
            let runs = if dashboard::on_terminal(tui) {
                match dashboard::compare_live(&sc[0], &sts, seed, &injected, speed)? {
                    Some(runs) => runs,
                    None => return Err(CliError::Reported(130)),
                }
            } else {
                let mut runs = execute_in(
                    &plan.plan_entries(&per_entry, &entries, sc[0].seed),
                    &injected,
                    plan.jobs(),
                    db_dir.as_deref(),
                )?;
                for (i, r) in runs.iter_mut().enumerate() {
                    r.variant = entries[i % entries.len()].variant(&sc[0]);
                }
                runs
            };
            print(runs)
        }
        Command::Validate {
            files,
            deny_warnings,
        } => {
            let mut code = 0;
            let mut warnings = 0;
            for f in &files {
                match load_text(f).and_then(|(name, text)| {
                    let read = |n: &str| read_beside(&name, n);
                    Ok((parse_scenario_with(&name, &text, &read)?, name))
                }) {
                    Ok((sc, name)) => {
                        println!(
                            "ok  {f}: {} ({} simulated, {} timeline actions)",
                            sc.name,
                            sc.duration,
                            sc.timeline.len()
                        );
                        for finding in crate::security::audit::audit(&sc) {
                            warnings += 1;
                            println!("warning: {}", finding.render(&name));
                        }
                    }
                    Err(e) => {
                        eprintln!("stratus: {e}");
                        // An invalid file outranks a usage error in the exit code.
                        code = code.max(e.exit_code());
                    }
                }
            }
            if code == 0 && warnings > 0 && deny_warnings {
                eprintln!(
                    "stratus: {warnings} security warning{} and --deny-warnings",
                    if warnings == 1 { "" } else { "s" }
                );
                code = EXIT_WARNINGS;
            }
            if code == 0 {
                Ok(())
            } else {
                Err(CliError::Reported(code))
            }
        }
        Command::Sweep {
            file,
            sets,
            plot: plot_to,
            plot_figure,
            runs: plan,
            output,
            shard,
        } => {
            if let Some(shard) = shard {
                let unsharded = [("--plot", plot_to.is_some())];
                return shard::sweep(&file, &sets, shard, &plan, &output, &unsharded);
            }
            let figure = crate::report::figures::find(&plot_figure).ok_or_else(|| {
                let keys: Vec<&str> = crate::report::figures::all().map(|f| f.key).collect();
                CliError::Usage(format!(
                    "--plot-figure {plot_figure}: expected one of {}",
                    keys.join(", ")
                ))
            })?;
            let (name, text) = load_text(&file)?;
            let (points, scenarios): (Vec<sweep::Point>, Vec<Scenario>) =
                sweep::grid(&name, &text, &sets)?.into_iter().unzip();
            let sts = plan.strategies(&scenarios[0])?;
            let mut runs = execute(&plan.plan(&scenarios, &sts), &[], plan.jobs());
            for r in &mut runs {
                r.series = None;
            }
            let labelled = sweep::labelled(&points, &runs);
            if let Some(p) = &plot_to {
                std::fs::write(p, sweep::plot(&labelled, figure)).map_err(|e| {
                    CliError::Runtime(format!("{}: cannot write the plot: {e}", p.display()))
                })?;
            }
            let page = (pick_format(output.format, &output.out) == Format::Html).then(|| {
                html::sweep(
                    &format!("{} · sweep {}", scenarios[0].name, sets.join(" ")),
                    &sweep::csv(&labelled),
                    &sweep::plot(&labelled, figure),
                    &text,
                )
            });
            sweep::print(&labelled, &output, page)?;
            slo_verdict(&runs)
        }
        Command::Tour {
            tui,
            no_pause,
            speed,
        } => {
            let speed = dashboard::speed(tui, speed)?;
            tour::run(tui, no_pause, speed)
        }
        Command::Merge { parts, output } => merge::merge(&parts, &output),
        Command::Serve(a) => live::serve(a),
        Command::Load(a) => live::load_cmd(a),
        Command::Diff {
            baseline,
            current,
            max_regression,
            output,
        } => diff::diff(&baseline, &current, max_regression.as_deref(), &output),
        Command::List => {
            for (name, text) in bundled::BUNDLED {
                let desc = parse_scenario(name, text)
                    .map(|s| s.description)
                    .unwrap_or_default();
                println!("{name:<18} {desc}");
            }
            Ok(())
        }
    }
}
