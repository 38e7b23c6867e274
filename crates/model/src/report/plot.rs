//! Timelines as SVG: requests and failures per second, p99, healthy nodes per
//! AZ and carts lost so far, with the scenario's faults marked. `compare`
//! overlays its strategies. Plain SVG text: a browser renders it, no font
//! library is involved in making it.

use super::Report;
use crate::metrics::SecondRow;
use std::fmt::Write;

/// The picture's width; the HTML report's hover maps x back to a second with it.
pub const WIDTH: f64 = 960.0;
/// Left margin: where t = 0 is drawn.
pub const LEFT: f64 = 70.0;
/// Right margin, for the legends.
pub const RIGHT: f64 = 150.0;
const PANEL: f64 = 130.0;
const GAP: f64 = 34.0;
const TOP: f64 = 48.0;

/// A colour per strategy, the same in every plot.
fn colour(strategy: &str) -> &'static str {
    match strategy {
        "sticky" => "#d62728",
        "cookie" => "#1f77b4",
        "store" => "#2ca02c",
        _ => "#9467bd",
    }
}

/// Colours for runs that would share their strategy's (the variants of one
/// strategy, `cookie:immediate` beside `cookie:budget`; cookie designs).
const RUN_COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// A colour per run: its strategy's, unless two runs would then share one;
/// then each run its own from [`RUN_COLOURS`], in order.
fn run_colours(runs: &[Report]) -> Vec<&'static str> {
    let by_strategy: Vec<&'static str> = runs.iter().map(|r| colour(&r.strategy)).collect();
    let clash = by_strategy
        .iter()
        .enumerate()
        .any(|(i, c)| by_strategy[..i].contains(c));
    if !clash {
        return by_strategy;
    }
    (0..runs.len())
        .map(|i| RUN_COLOURS[i % RUN_COLOURS.len()])
        .collect()
}

/// Dashes for AZ lines, so AZs with equal counts stay visible.
const AZ_DASHES: [&str; 3] = ["none", "7 4", "2 3"];

/// Colours for AZ lines.
const AZ_COLOURS: [&str; 6] = [
    "#17becf", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" upper bound and tick step for a maximum value.
fn nice(max: f64) -> (f64, f64) {
    let max = if max > 0.0 { max } else { 1.0 };
    let raw = max / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    ((max / step).ceil() * step, step)
}

/// One line of a panel: its legend (empty: none), colour, dash pattern and
/// (t, value) points.
type Line = (String, &'static str, &'static str, Vec<(f64, f64)>);

struct Panel<'a> {
    title: &'a str,
    y0: f64,
    log: bool,
    lines: Vec<Line>,
}

/// A panel's y axis: its ticks, and where a value lands.
struct Scale {
    ticks: Vec<(f64, String)>,
    top: f64,
    log: bool,
    y0: f64,
}

impl Scale {
    fn y(&self, v: f64) -> f64 {
        let frac = if self.log {
            v.max(1.0).log10() / self.top
        } else {
            v / self.top
        };
        self.y0 + PANEL - frac * PANEL
    }
}

fn render_panel(o: &mut String, p: &Panel, x_max: f64) {
    let plot_w = WIDTH - LEFT - RIGHT;
    let x = |t: f64| LEFT + t / x_max * plot_w;
    let vmax = p
        .lines
        .iter()
        .flat_map(|l| l.3.iter().map(|v| v.1))
        .fold(0.0, f64::max);
    let _ = writeln!(
        o,
        r##"<text x="{LEFT}" y="{:.1}" font-size="13" font-weight="bold">{}</text>"##,
        p.y0 - 8.0,
        esc(p.title)
    );
    let _ = writeln!(
        o,
        r##"<rect x="{LEFT}" y="{:.1}" width="{plot_w:.1}" height="{PANEL}" fill="none" stroke="#999"/>"##,
        p.y0
    );
    let scale = if p.log {
        let top = vmax.max(10.0).log10().ceil();
        let ticks = (0..=top as i32)
            .map(|e| (10f64.powi(e), format!("{}", 10f64.powi(e))))
            .collect();
        Scale {
            ticks,
            top,
            log: true,
            y0: p.y0,
        }
    } else {
        let (top, step) = nice(vmax);
        let n = (top / step).round() as i32;
        let ticks = (0..=n)
            .map(|k| (k as f64 * step, trim(k as f64 * step)))
            .collect();
        Scale {
            ticks,
            top,
            log: false,
            y0: p.y0,
        }
    };
    let y = |v: f64| scale.y(v);
    for (v, label) in &scale.ticks {
        let yy = y(*v);
        let _ = writeln!(
            o,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end">{label}</text>"##,
            LEFT + plot_w,
            LEFT - 4.0,
            yy + 3.0
        );
    }
    let mut entries = 0;
    for (name, col, dash, pts) in &p.lines {
        let mut d = String::with_capacity(pts.len() * 14);
        for (k, (t, v)) in pts.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if k == 0 { "M" } else { "L" },
                x(*t),
                y(*v)
            );
        }
        let _ = writeln!(
            o,
            r##"<path d="{d}" fill="none" stroke="{col}" stroke-width="1.3" stroke-dasharray="{dash}"/>"##
        );
        if name.is_empty() {
            continue;
        }
        legend(
            o,
            LEFT + plot_w + 10.0,
            p.y0 + 14.0 + entries as f64 * 15.0,
            col,
            dash,
            name,
        );
        entries += 1;
    }
}

/// One legend entry: a stroke sample and its label, at (x, y).
fn legend(o: &mut String, x: f64, y: f64, col: &str, dash: &str, label: &str) {
    let _ = writeln!(
        o,
        r##"<line x1="{x:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{col}" stroke-width="2" stroke-dasharray="{dash}"/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"##,
        x + 18.0,
        x + 22.0,
        y + 4.0,
        esc(label)
    );
}

fn trim(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

fn points(series: &[SecondRow], f: impl Fn(&SecondRow) -> f64) -> Vec<(f64, f64)> {
    series.iter().map(|r| (f64::from(r.t_s), f(r))).collect()
}

/// The timeline of one or more runs of the same scenario. Runs need their
/// per-second series.
pub fn svg(runs: &[Report]) -> String {
    let Some(first) = runs.first() else {
        return String::new();
    };
    fn series(r: &Report) -> &[SecondRow] {
        r.series.as_deref().unwrap_or(&[])
    }
    let x_max = first.simulated_seconds.max(1.0);
    let colours = run_colours(runs);
    let per_run = |title: &'static str, log: bool, f: fn(&SecondRow) -> f64| Panel {
        title,
        y0: 0.0,
        log,
        lines: runs
            .iter()
            .zip(&colours)
            .map(|(r, col)| (r.label(), *col, "none", points(series(r), f)))
            .collect(),
    };
    let azs = series(first).first().map_or(0, |r| r.nodes.len());
    let nodes = Panel {
        title: "healthy nodes per AZ",
        y0: 0.0,
        log: false,
        lines: (0..azs)
            .map(|a| {
                let label = first
                    .azs
                    .get(a)
                    .cloned()
                    .unwrap_or_else(|| format!("AZ {a}"));
                (
                    format!("{label} ({})", first.label()),
                    AZ_COLOURS[a % AZ_COLOURS.len()],
                    AZ_DASHES[a % AZ_DASHES.len()],
                    points(series(first), |r| f64::from(r.nodes[a].healthy)),
                )
            })
            .collect(),
    };
    let mut panels = vec![
        per_run("requests per second", false, |r| f64::from(r.requests)),
        per_run("failed requests per second", false, |r| {
            f64::from(r.failures)
        }),
    ];
    if runs.iter().any(|r| r.retries.is_some()) {
        panels.push(goodput(runs, &colours));
    }
    panels.extend([
        per_run("p99 latency, ms (log scale)", true, |r| r.p99_ms),
        nodes,
        per_run("carts lost so far", false, |r| r.carts_lost as f64),
    ]);
    let height = TOP + panels.len() as f64 * (PANEL + GAP) + 30.0;
    let mut o = String::new();
    let _ = writeln!(
        o,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif">"##
    );
    let _ = writeln!(o, r##"<rect width="100%" height="100%" fill="white"/>"##);
    let strategies: Vec<String> = runs.iter().map(Report::label).collect();
    let _ = writeln!(
        o,
        r##"<text x="{LEFT}" y="24" font-size="16" font-weight="bold">{} · {} · seed {}</text>"##,
        esc(&first.scenario),
        esc(&strategies.join(" vs ")),
        first.seed
    );
    for (i, p) in panels.iter_mut().enumerate() {
        p.y0 = TOP + 14.0 + i as f64 * (PANEL + GAP);
        render_panel(&mut o, p, x_max);
    }
    // Fault markers across every panel, labelled once at the top.
    let plot_w = WIDTH - LEFT - RIGHT;
    let bottom = TOP + 14.0 + panels.len() as f64 * (PANEL + GAP) - GAP;
    for f in &first.faults {
        let xx = LEFT + f.t_s / x_max * plot_w;
        let _ = writeln!(
            o,
            r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{:.1}" y2="{bottom:.1}" stroke="#444" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"##,
            TOP + 14.0,
            xx + 3.0,
            TOP + 8.0,
            esc(&f.action)
        );
    }
    // Time axis.
    let step = if x_max > 3600.0 {
        900.0
    } else if x_max > 600.0 {
        300.0
    } else {
        60.0
    };
    let mut t = 0.0;
    while t <= x_max + 0.5 {
        let xx = LEFT + t / x_max * plot_w;
        let _ = writeln!(
            o,
            r##"<text x="{xx:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}m</text>"##,
            bottom + 14.0,
            trim(t / 60.0)
        );
        t += step;
    }
    o.push_str("</svg>\n");
    o
}

/// The dashes of offered load, unlike any AZ's.
const OFFERED_DASH: &str = "5 3";

/// With client retries: what shoppers asked for each second (dashed) and
/// what was answered while they still waited (solid), a pair per run, so a
/// collapse and its recovery (or none) show as the gap between them.
fn goodput(runs: &[Report], colours: &[&'static str]) -> Panel<'static> {
    let mut lines = Vec::new();
    for (r, col) in runs.iter().zip(colours) {
        let rows = r.series.as_deref().unwrap_or(&[]);
        lines.push((
            r.label(),
            *col,
            "none",
            points(rows, |x| f64::from(x.goodput)),
        ));
        lines.push((
            String::new(),
            *col,
            OFFERED_DASH,
            points(rows, |x| f64::from(x.offered)),
        ));
    }
    Panel {
        title: "goodput per second (solid) against requests offered (dashed)",
        y0: 0.0,
        log: false,
        lines,
    }
}

/// One line of a sweep chart: its legend, strategy (for the colour) and a
/// y value per x category (None where the grid has no point).
pub struct SweepLine {
    pub label: String,
    pub strategy: String,
    pub ys: Vec<Option<f64>>,
}

/// A line chart of one figure across a swept key's values: the x axis is the
/// values in the order given, one line per strategy and combination of the
/// other swept keys.
pub fn sweep_svg(
    title: &str,
    x_key: &str,
    xs: &[String],
    y_label: &str,
    lines: &[SweepLine],
) -> String {
    let height = 420.0;
    let (top_y, bottom_y) = (60.0, height - 60.0);
    let plot_w = WIDTH - LEFT - RIGHT - 120.0;
    let n = xs.len().max(1);
    let x = |i: usize| {
        if n == 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let vmax = lines
        .iter()
        .flat_map(|l| l.ys.iter().flatten())
        .fold(0.0, |a: f64, &b| a.max(b));
    let (top, step) = nice(vmax);
    let y = |v: f64| bottom_y - v / top * (bottom_y - top_y);
    let mut o = String::new();
    let _ = writeln!(
        o,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">"##
    );
    let _ = writeln!(o, r##"<rect width="100%" height="100%" fill="white"/>"##);
    let _ = writeln!(
        o,
        r##"<text x="{LEFT}" y="28" font-size="16" font-weight="bold">{}</text>"##,
        esc(title)
    );
    let _ = writeln!(
        o,
        r##"<text x="{LEFT}" y="48" font-size="12">{}</text>"##,
        esc(y_label)
    );
    let mut k = 0.0;
    while k <= top + step / 2.0 {
        let yy = y(k);
        let _ = writeln!(
            o,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end">{}</text>"##,
            LEFT + plot_w,
            LEFT - 4.0,
            yy + 3.0,
            trim(k)
        );
        k += step;
    }
    for (i, v) in xs.iter().enumerate() {
        let _ = writeln!(
            o,
            r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"##,
            x(i),
            bottom_y + 16.0,
            esc(v)
        );
    }
    let _ = writeln!(
        o,
        r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"##,
        LEFT + plot_w / 2.0,
        bottom_y + 36.0,
        esc(x_key)
    );
    for (li, l) in lines.iter().enumerate() {
        let col = colour(&l.strategy);
        let dash = AZ_DASHES[(li / 3) % AZ_DASHES.len()];
        let mut d = String::new();
        for (i, v) in l.ys.iter().enumerate() {
            if let Some(v) = v {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1}",
                    if d.is_empty() { "M" } else { "L" },
                    x(i),
                    y(*v)
                );
                let _ = writeln!(
                    o,
                    r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{col}"/>"##,
                    x(i),
                    y(*v)
                );
            }
        }
        let _ = writeln!(
            o,
            r##"<path d="{d}" fill="none" stroke="{col}" stroke-width="1.6" stroke-dasharray="{dash}"/>"##
        );
        legend(
            &mut o,
            LEFT + plot_w + 14.0,
            top_y + 6.0 + li as f64 * 16.0,
            col,
            dash,
            &l.label,
        );
    }
    let _ = writeln!(
        o,
        r##"<rect x="{LEFT}" y="{top_y}" width="{plot_w:.1}" height="{:.1}" fill="none" stroke="#999"/>"##,
        bottom_y - top_y
    );
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_bounds() {
        assert_eq!(nice(0.0), (1.0, 0.25));
        assert_eq!(nice(7.0), (8.0, 2.0));
        assert_eq!(nice(430.0), (600.0, 200.0));
    }
}
