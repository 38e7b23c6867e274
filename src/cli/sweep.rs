//! `stratus sweep`: a grid of scenario variants (`grid.rs` makes it from the
//! `--set KEY=V1,V2,…` arguments, each point read back through the same
//! parser and checks as any scenario), run and printed as CSV, JSON, a plot
//! or a page.

use super::grid::{Point, grid};
use super::{
    CliError, Format, Output, Runs, emit, execute, load_text, pick_format, shard, slo_verdict,
};
use crate::report::figures::Figure;
use crate::report::part::Shard;
use crate::report::plot::{SweepLine, sweep_svg};
use crate::report::table;
use crate::report::{Report, html};
use crate::scenario::Scenario;
use std::fmt::Write;
use std::path::PathBuf;

/// `stratus sweep`'s arguments; its help text is `Command::Sweep`'s.
#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    pub file: String,
    /// KEY=V1,V2,… with KEY a scenario key path (fleet.desired,
    /// workload.arrivals_per_second, sessions.store.replication_lag, …).
    #[arg(long = "set", required = true)]
    pub sets: Vec<String>,
    /// Also draw a figure against the first --set key, as SVG, here.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// The figure --plot draws (a key of the comparison table, such as
    /// carts_lost, p99, failure_rate, cost_per_hour).
    #[arg(long, default_value = "carts_lost")]
    pub plot_figure: String,
    #[command(flatten)]
    pub runs: Runs,
    /// csv (the default here) or json.
    #[command(flatten)]
    pub output: Output,
    /// Run only this shard's share of the grid (I of N, from 1) and write
    /// a part for `stratus merge` (JSON).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
}

/// Runs the sweep `a` describes (or its shard's share of it) and prints it.
pub(super) fn command(a: &SweepArgs) -> Result<(), CliError> {
    let SweepArgs {
        file,
        sets,
        plot: plot_to,
        plot_figure,
        runs: plan,
        output,
        shard,
    } = a;
    if let Some(shard) = *shard {
        let unsharded = [("--plot", plot_to.is_some())];
        return shard::sweep(file, sets, shard, plan, output, &unsharded);
    }
    let figure = crate::report::figures::find(plot_figure).ok_or_else(|| {
        let keys: Vec<&str> = crate::report::figures::all().map(|f| f.key).collect();
        CliError::Usage(format!(
            "--plot-figure {plot_figure}: expected one of {}",
            keys.join(", ")
        ))
    })?;
    let (name, text) = load_text(file)?;
    let (points, scenarios): (Vec<Point>, Vec<Scenario>) =
        grid(&name, &text, sets)?.into_iter().unzip();
    let sts = plan.strategies(&scenarios[0])?;
    let mut runs = execute(&plan.plan(&scenarios, &sts), &[], plan.jobs());
    for r in &mut runs {
        r.series = None;
    }
    let labelled = labelled(&points, &runs);
    if let Some(p) = &plot_to {
        std::fs::write(p, self::plot(&labelled, figure)).map_err(|e| {
            CliError::Runtime(format!("{}: cannot write the plot: {e}", p.display()))
        })?;
    }
    let page = (pick_format(output.format, &output.out) == Format::Html).then(|| {
        html::sweep(
            &format!("{} · sweep {}", scenarios[0].name, sets.join(" ")),
            &csv(&labelled),
            &self::plot(&labelled, figure),
            &text,
        )
    });
    print(&labelled, output, page)?;
    slo_verdict(&runs)
}

fn cell(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One CSV row per run: the swept values first, then the usual run columns.
pub fn csv(runs: &[(&Point, &Report)]) -> String {
    let Some((first, _)) = runs.first() else {
        return String::new();
    };
    let reports: Vec<Report> = runs.iter().map(|(_, r)| (*r).clone()).collect();
    let body = table::csv(&reports);
    let mut lines = body.lines();
    let mut o = String::new();
    let keys: Vec<&str> = first.iter().map(|(k, _)| k.as_str()).collect();
    let _ = writeln!(o, "{},{}", keys.join(","), lines.next().unwrap_or(""));
    for ((p, _), line) in runs.iter().zip(lines) {
        let vals: Vec<String> = p.iter().map(|(_, v)| cell(v)).collect();
        let _ = writeln!(o, "{},{line}", vals.join(","));
    }
    o
}

/// A line's (legend, strategy) and, per x value, the figure of each seed.
type Group = ((String, String), Vec<Vec<f64>>);

/// A chart of `figure` (mean over seeds) against the first swept key, one
/// line per strategy and combination of the other keys.
pub fn plot(runs: &[(&Point, &Report)], figure: &Figure) -> String {
    let Some((first, _)) = runs.first() else {
        return String::new();
    };
    let x_key = first.first().map(|(k, _)| k.clone()).unwrap_or_default();
    let mut xs: Vec<String> = Vec::new();
    // (label, strategy) → per-x list of figure values
    let mut groups: Vec<Group> = Vec::new();
    for (p, r) in runs {
        let x = p.first().map(|(_, v)| cell(v)).unwrap_or_default();
        let xi = match xs.iter().position(|v| *v == x) {
            Some(i) => i,
            None => {
                xs.push(x);
                xs.len() - 1
            }
        };
        // Legends name a key by its last part: `interval=10s`.
        let rest = p
            .iter()
            .skip(1)
            .map(|(k, v)| format!("{}={}", k.rsplit('.').next().unwrap_or(k), cell(v)))
            .collect::<Vec<_>>()
            .join(" ");
        let label = if rest.is_empty() {
            r.strategy.clone()
        } else {
            format!("{}, {rest}", r.strategy)
        };
        let key = (label, r.strategy.clone());
        let gi = match groups.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                groups.push((key, Vec::new()));
                groups.len() - 1
            }
        };
        let cells = &mut groups[gi].1;
        if cells.len() <= xi {
            cells.resize(xi + 1, Vec::new());
        }
        cells[xi].push(figure.get(r));
    }
    let lines: Vec<SweepLine> = groups
        .into_iter()
        .map(|((label, strategy), cells)| SweepLine {
            label,
            strategy,
            ys: (0..xs.len())
                .map(|i| {
                    cells
                        .get(i)
                        .filter(|c| !c.is_empty())
                        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
                })
                .collect(),
        })
        .collect();
    let scenario = runs[0].1.scenario.as_str();
    sweep_svg(
        &format!("{scenario}: {} by {x_key}", figure.label.trim()),
        &x_key,
        &xs,
        &format!("{} (mean over seeds)", figure.label.trim()),
        &lines,
    )
}

/// Each run (in plan order: point by point, then seed, then strategy) with
/// its grid point.
pub fn labelled<'a>(points: &'a [Point], runs: &'a [Report]) -> Vec<(&'a Point, &'a Report)> {
    let per_point = (runs.len() / points.len().max(1)).max(1);
    runs.iter()
        .enumerate()
        .map(|(i, r)| (&points[i / per_point], r))
        .collect()
}

/// Prints a sweep's runs as `output` asks: CSV (the default) or JSON.
/// Prints a sweep as `output` asks; `page` is its HTML page when the
/// caller could make one with its plot and scenario text (a merge cannot).
pub(super) fn print(
    runs: &[(&Point, &Report)],
    output: &Output,
    page: Option<String>,
) -> Result<(), CliError> {
    let text = match pick_format(output.format, &output.out) {
        Format::Html => page.unwrap_or_else(|| html_page(runs)),
        Format::Json => json(runs),
        Format::Csv | Format::Text | Format::Markdown => csv(runs),
    };
    emit(&text, &output.out)
}

/// A merged sweep's page: its table, without a plot or the scenario text.
fn html_page(runs: &[(&Point, &Report)]) -> String {
    let name = runs.first().map_or("", |(_, r)| r.scenario.as_str());
    crate::report::html::sweep(&format!("{name} · merged sweep"), &csv(runs), "", "")
}

pub fn json(runs: &[(&Point, &Report)]) -> String {
    let items: Vec<serde_json::Value> = runs
        .iter()
        .map(|(p, r)| {
            let set: serde_json::Map<String, serde_json::Value> = p
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        serde_json::to_value(v).unwrap_or(serde_json::Value::Null),
                    )
                })
                .collect();
            serde_json::json!({ "set": set, "report": r })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "sweep": items })).expect("serialises") + "\n"
}
