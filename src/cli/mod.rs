//! The command line: parses arguments, loads scenarios, runs them and prints
//! reports. Exit codes (CONTRACT.md): 0 ok, 1 runtime error, 2 usage error,
//! 65 invalid scenario file.

mod compare;
mod dashboard;
mod diff;
mod grid;
mod live;
mod merge;
pub mod pace;
mod run;
mod runs;
mod shard;
mod sweep;
mod tour;
mod validate;

pub(crate) use dashboard::finish as finish_runs;
pub use runs::{Runs, run_many, run_many_in, timed_replay, timed_run, timed_run_in};
use runs::{execute, execute_in};

use crate::bundled;
use crate::report::{Report, plot};
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
    Run(run::RunArgs),
    /// The same scenario and seed under each strategy, side by side.
    Compare(compare::CompareArgs),
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
    Sweep(sweep::SweepArgs),
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
        Command::Run(a) => run::run(a),
        Command::Compare(a) => compare::compare(a),
        Command::Validate {
            files,
            deny_warnings,
        } => validate::validate(&files, deny_warnings),
        Command::Sweep(a) => sweep::command(&a),
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
