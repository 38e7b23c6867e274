//! A run against a baseline (`stratus diff`): each design's figures side by
//! side with their change, whether the change stands out of the seeds'
//! noise, and the bounds a change may not pass in the worse direction, so a
//! pull request that makes the architecture worse fails its check, as a load
//! test's thresholds fail it.

use super::Report;
use super::figures::{differs, mean_ci, shown};
use crate::figure::{Better, Figure, Unit};
use serde::Serialize;
use std::fmt::Write;

/// How far a figure may move the worse way.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// In the figure's own unit (a fraction for a rate, as in the JSON report).
    Absolute(f64),
    /// A fraction of the baseline's value (`10%` is 0.1).
    Relative(f64),
}

/// One `--max-regression` entry.
#[derive(Clone, Debug)]
pub struct Bound {
    pub figure: &'static Figure,
    pub limit: Limit,
}

/// Why a `--max-regression` list was refused.
#[derive(Debug, thiserror::Error)]
pub enum BoundError {
    #[error("--max-regression {0:?}: expected KEY=LIMIT, such as carts_lost=0 or p99=10%")]
    Form(String),
    #[error("--max-regression: no figure called {0:?}; the figures are {1}")]
    Unknown(String, String),
    #[error(
        "--max-regression {0}: {1:?} is not a limit; expected a number at least 0 in the figure's unit (such as 0 or 2.5) or a percentage of the baseline (such as 10%)"
    )]
    Limit(String, String),
}

/// Parses `carts_lost=0,p99=10%,…`.
pub fn parse_bounds(spec: &str) -> Result<Vec<Bound>, BoundError> {
    let entries = spec.split(',').map(str::trim).filter(|e| !e.is_empty());
    entries
        .map(|entry| {
            let (key, limit) = entry
                .split_once('=')
                .ok_or_else(|| BoundError::Form(entry.to_string()))?;
            let key = key.trim();
            let figure = crate::figure::find(key).ok_or_else(|| {
                let keys: Vec<&str> = crate::figure::all().map(|f| f.key).collect();
                BoundError::Unknown(key.to_string(), keys.join(", "))
            })?;
            let bad = || BoundError::Limit(key.to_string(), limit.trim().to_string());
            let (number, relative) = match limit.trim().strip_suffix('%') {
                Some(n) => (n.trim(), true),
                None => (limit.trim(), false),
            };
            let v: f64 = number.parse().map_err(|_| bad())?;
            if !v.is_finite() || v < 0.0 {
                return Err(bad());
            }
            let limit = if relative {
                Limit::Relative(v / 100.0)
            } else {
                Limit::Absolute(v)
            };
            Ok(Bound { figure, limit })
        })
        .collect()
}

fn by_key<S: serde::Serializer>(f: &&'static Figure, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(f.key)
}

/// One side of the diff, as the header names it.
#[derive(Clone, Debug, Serialize)]
pub struct Side {
    pub file: String,
    pub scenario: String,
    pub seeds: usize,
}

/// One figure of one design: the means over its seeds.
#[derive(Clone, Debug, Serialize)]
pub struct FigureDiff {
    /// Written as its key (`"key": "carts_lost"`).
    #[serde(rename = "key", serialize_with = "by_key")]
    pub figure: &'static Figure,
    pub baseline: f64,
    pub current: f64,
    pub change: f64,
    /// The change as a fraction of the baseline; None when the baseline is 0.
    pub relative: Option<f64>,
    /// Whether the change stands out of the seeds' noise (Welch's 95 %
    /// test); None unless both sides hold several seeds.
    pub significant: Option<bool>,
    /// The change goes the worse way (for a figure without a better way,
    /// any change).
    pub worse: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct DesignDiff {
    pub design: String,
    pub figures: Vec<FigureDiff>,
}

/// A figure that moved the worse way past its bound.
#[derive(Clone, Debug, Serialize)]
pub struct Regression {
    pub design: String,
    #[serde(rename = "key", serialize_with = "by_key")]
    pub figure: &'static Figure,
    pub change: f64,
    pub relative: Option<f64>,
    pub limit: Limit,
}

/// Everything `stratus diff` says.
#[derive(Clone, Debug, Serialize)]
pub struct Diff {
    pub baseline: Side,
    pub current: Side,
    pub designs: Vec<DesignDiff>,
    /// Designs only one side has (compared with nothing).
    pub only_in_baseline: Vec<String>,
    pub only_in_current: Vec<String>,
    pub regressions: Vec<Regression>,
}

/// The runs of each design (strategy, with a compare entry's cookie
/// design), in the order they first appear.
fn designs(runs: &[Report]) -> Vec<(String, Vec<&Report>)> {
    let mut out: Vec<(String, Vec<&Report>)> = Vec::new();
    for r in runs {
        let label = r.label();
        match out.iter_mut().find(|(l, _)| *l == label) {
            Some((_, v)) => v.push(r),
            None => out.push((label, vec![r])),
        }
    }
    out
}

fn side(file: &str, runs: &[Report]) -> Side {
    let seeds = designs(runs).first().map_or(0, |(_, v)| v.len());
    let mut names: Vec<&str> = runs.iter().map(|r| r.scenario.as_str()).collect();
    names.dedup();
    Side {
        file: file.to_string(),
        scenario: names.join(", "),
        seeds,
    }
}

/// How far `f` moved the worse way (negative: it got better).
fn worsening(f: &Figure, change: f64) -> f64 {
    match f.id.better() {
        Better::Lower => change,
        Better::Higher => -change,
        Better::Neither => change.abs(),
    }
}

fn figure_diff(f: &'static Figure, base: &[&Report], cur: &[&Report]) -> FigureDiff {
    let xs: Vec<f64> = base.iter().map(|r| f.get(r)).collect();
    let ys: Vec<f64> = cur.iter().map(|r| f.get(r)).collect();
    let (b, c) = (mean_ci(&xs).0, mean_ci(&ys).0);
    let change = c - b;
    FigureDiff {
        baseline: b,
        current: c,
        change,
        relative: (b != 0.0).then(|| change / b.abs()),
        significant: differs(&xs, &ys),
        worse: worsening(f, change) > 0.0,
        figure: f,
    }
}

impl Diff {
    /// Compares `current` against `baseline`, design by design, and checks
    /// `bounds` on every design both sides have.
    pub fn new(
        (base_file, baseline): (&str, &[Report]),
        (cur_file, current): (&str, &[Report]),
        bounds: &[Bound],
    ) -> Diff {
        let (base, cur) = (designs(baseline), designs(current));
        let figures: Vec<&'static Figure> = crate::figure::all()
            .filter(|f| shown(baseline).chain(shown(current)).any(|s| s.id == f.id))
            .collect();
        let mut out = Diff {
            baseline: side(base_file, baseline),
            current: side(cur_file, current),
            designs: Vec::new(),
            only_in_baseline: Vec::new(),
            only_in_current: Vec::new(),
            regressions: Vec::new(),
        };
        for (design, b) in &base {
            let Some((_, c)) = cur.iter().find(|(d, _)| d == design) else {
                out.only_in_baseline.push(design.clone());
                continue;
            };
            let diffs: Vec<FigureDiff> = figures.iter().map(|f| figure_diff(f, b, c)).collect();
            for bound in bounds {
                let Some(d) = diffs.iter().find(|d| d.figure.id == bound.figure.id) else {
                    continue;
                };
                let allowed = match bound.limit {
                    Limit::Absolute(v) => v,
                    Limit::Relative(p) => p * d.baseline.abs(),
                };
                if worsening(bound.figure, d.change) > allowed {
                    out.regressions.push(Regression {
                        design: design.clone(),
                        change: d.change,
                        relative: d.relative,
                        limit: bound.limit,
                        figure: d.figure,
                    });
                }
            }
            out.designs.push(DesignDiff {
                design: design.clone(),
                figures: diffs,
            });
        }
        out.only_in_current = cur
            .iter()
            .filter(|(d, _)| !base.iter().any(|(b, _)| b == d))
            .map(|(d, _)| d.clone())
            .collect();
        out
    }
}

/// `+66 (+5.3 %)`, `0`, `-1.20 (-4.0 %)`; a rate's change in percentage
/// points (`+0.215 pp (+126.0 %)`).
fn change_text(change: f64, relative: Option<f64>, unit: Unit) -> String {
    if change == 0.0 {
        return "0".into();
    }
    let sign = if change > 0.0 { "+" } else { "-" };
    let abs = match unit {
        Unit::Fraction => format!("{:.3} pp", change.abs() * 100.0),
        _ => unit.format_stat(change.abs()),
    };
    match relative {
        Some(r) => format!("{sign}{abs} ({sign}{:.1} %)", r.abs() * 100.0),
        None => format!("{sign}{abs}"),
    }
}

impl FigureDiff {
    fn value(&self, v: f64, seeds: usize) -> String {
        let unit = self.figure.unit;
        if seeds > 1 {
            unit.format_stat(v)
        } else {
            unit.format(v)
        }
    }

    fn change_text(&self) -> String {
        change_text(self.change, self.relative, self.figure.unit)
    }

    /// `worse`, `better`, `changed` (a figure without a better way), or
    /// `noise` when the seeds' spread explains the change.
    fn verdict(&self) -> &'static str {
        match (
            self.change == 0.0,
            self.significant,
            self.figure.id.better(),
            self.worse,
        ) {
            (true, ..) => "",
            (false, Some(false), ..) => "noise",
            (false, _, Better::Neither, _) => "changed",
            (false, _, _, true) => "worse",
            (false, _, _, false) => "better",
        }
    }
}

impl Regression {
    fn limit_text(&self) -> String {
        match self.limit {
            Limit::Absolute(v) => format!("{v}"),
            Limit::Relative(p) => format!("{} %", p * 100.0),
        }
    }

    /// `sticky carts_lost +66 (+5.3 %), past its bound 0`.
    pub fn line(&self) -> String {
        let change = change_text(self.change, self.relative, self.figure.unit);
        format!(
            "{} {} {change}, past its bound {}",
            self.design,
            self.figure.key,
            self.limit_text()
        )
    }
}

fn header(d: &Diff) -> String {
    let seeds = |n: usize| {
        if n == 1 {
            "1 seed".to_string()
        } else {
            format!("{n} seeds")
        }
    };
    format!(
        "{} ({}, {}) → {} ({}, {})",
        d.baseline.scenario,
        d.baseline.file,
        seeds(d.baseline.seeds),
        d.current.scenario,
        d.current.file,
        seeds(d.current.seeds)
    )
}

/// The diff as a terminal reads it.
pub fn render_text(d: &Diff) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "diff: {}", header(d));
    for dd in &d.designs {
        let _ = writeln!(
            o,
            "\n{:<28}{:>16}{:>16}  change",
            dd.design, "baseline", "current"
        );
        for f in &dd.figures {
            let line = format!(
                "{:<28}{:>16}{:>16}  {:<24}{}",
                f.figure.label,
                f.value(f.baseline, d.baseline.seeds),
                f.value(f.current, d.current.seeds),
                f.change_text(),
                f.verdict()
            );
            let _ = writeln!(o, "{}", line.trim_end());
        }
    }
    tail(d, &mut o);
    o
}

fn tail(d: &Diff, o: &mut String) {
    for (which, list) in [
        ("baseline", &d.only_in_baseline),
        ("current", &d.only_in_current),
    ] {
        if !list.is_empty() {
            let _ = writeln!(o, "\nonly in the {which}: {}", list.join(", "));
        }
    }
    if d.regressions.is_empty() {
        return;
    }
    let _ = writeln!(o);
    for r in &d.regressions {
        let _ = writeln!(o, "REGRESSION {}", r.line());
    }
}

/// The diff as a pull request comment: a GitHub-flavoured Markdown table
/// per design.
pub fn render_markdown(d: &Diff) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "**stratus diff**: {}", header(d).replace('|', "\\|"));
    for dd in &d.designs {
        let _ = writeln!(o, "\n| {} | baseline | current | change | |", dd.design);
        let _ = writeln!(o, "| --- | ---: | ---: | ---: | --- |");
        for f in &dd.figures {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                f.figure.label.trim(),
                f.value(f.baseline, d.baseline.seeds),
                f.value(f.current, d.current.seeds),
                f.change_text(),
                f.verdict()
            );
        }
    }
    tail(d, &mut o);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_read_absolute_and_relative_limits() {
        let b = parse_bounds("carts_lost=0, p99=10%,cost_per_hour=0.05").unwrap();
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].figure.key, "carts_lost");
        assert_eq!(b[0].limit, Limit::Absolute(0.0));
        assert_eq!(b[1].limit, Limit::Relative(0.1));
        assert_eq!(b[2].limit, Limit::Absolute(0.05));
    }

    #[test]
    fn bad_bounds_say_what_was_expected() {
        assert!(matches!(
            parse_bounds("carts_lost"),
            Err(BoundError::Form(_))
        ));
        let Err(BoundError::Unknown(k, keys)) = parse_bounds("carts=0") else {
            panic!("an unknown key")
        };
        assert_eq!(k, "carts");
        assert!(keys.contains("carts_lost"));
        assert!(matches!(parse_bounds("p99=-1"), Err(BoundError::Limit(..))));
        assert!(matches!(
            parse_bounds("p99=ten"),
            Err(BoundError::Limit(..))
        ));
    }

    #[test]
    fn the_worse_way_depends_on_the_figure() {
        let find = |k| crate::figure::find(k).unwrap();
        assert!(worsening(find("carts_lost"), 1.0) > 0.0);
        assert!(worsening(find("checkouts_ok"), 1.0) < 0.0);
        assert!(worsening(find("requests"), -1.0) > 0.0);
    }
}
