//! `stratus diff BASELINE.json CURRENT.json`: a report against a baseline,
//! for a CI gate on an architecture change (`stratus_model::report::diff`
//! decides; this reads the files and maps a regression to exit 3).

use super::{CliError, Format, Output, emit_as, pick_format};
use crate::report::Report;
use crate::report::diff::{Diff, parse_bounds, render_markdown, render_text};
use crate::scenario::ScenarioError;

const EXPECTED: &str = "expected a JSON report written by `stratus run … --format json`, `stratus compare … --format json` or `stratus load … --format json`";

/// The runs a report file holds: one report, or `{"runs": […]}`.
fn reports(file: &str) -> Result<Vec<Report>, CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::Runtime(format!("{file}: cannot read the report: {e}")))?;
    let bad = |e: serde_json::Error, what: &str| {
        let at = e.line() > 0;
        CliError::Scenario(ScenarioError {
            file: file.to_string(),
            line: at.then_some(e.line()),
            column: at.then_some(e.column()),
            message: format!("{what} ({e}): {EXPECTED}"),
        })
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e, "not JSON"))?;
    #[derive(serde::Deserialize)]
    struct Runs {
        runs: Vec<Report>,
    }
    let runs = if v.get("runs").is_some() {
        serde_json::from_str::<Runs>(&text)
            .map_err(|e| bad(e, "not a list of reports"))?
            .runs
    } else {
        vec![serde_json::from_str::<Report>(&text).map_err(|e| bad(e, "not a report"))?]
    };
    if runs.is_empty() {
        return Err(CliError::Scenario(ScenarioError {
            file: file.to_string(),
            line: None,
            column: None,
            message: format!("holds no runs: {EXPECTED}"),
        }));
    }
    Ok(runs)
}

/// Runs `stratus diff`.
pub fn diff(
    baseline: &str,
    current: &str,
    max_regression: Option<&str>,
    output: &Output,
) -> Result<(), CliError> {
    let bounds = match max_regression {
        Some(spec) => parse_bounds(spec).map_err(|e| CliError::Usage(e.to_string()))?,
        None => Vec::new(),
    };
    let (base, cur) = (reports(baseline)?, reports(current)?);
    let d = Diff::new((baseline, &base), (current, &cur), &bounds);
    if d.designs.is_empty() {
        return Err(CliError::Usage(format!(
            "{baseline} ({}) and {current} ({}) share no design to compare: run both with the same strategies",
            d.only_in_baseline.join(", "),
            d.only_in_current.join(", ")
        )));
    }
    // A bound on a figure neither report has would pass silently: refused.
    let figures = &d.designs[0].figures;
    if let Some(b) = bounds
        .iter()
        .find(|b| !figures.iter().any(|f| f.figure.id == b.figure.id))
    {
        return Err(CliError::Usage(format!(
            "--max-regression {}: neither report has this figure (its table shows only for runs with the section it reads, such as a [database])",
            b.figure.key
        )));
    }
    let text = match pick_format(output.format, &output.out) {
        Format::Text => render_text(&d),
        Format::Markdown => render_markdown(&d),
        Format::Json => serde_json::to_string_pretty(&d).expect("serialises") + "\n",
        Format::Csv | Format::Html => {
            return Err(CliError::Usage(
                "diff writes text, json or markdown: --format csv or html has no shape here".into(),
            ));
        }
    };
    emit_as(&text, &output.out, false)?;
    for r in &d.regressions {
        eprintln!("stratus: regression: {}", r.line());
    }
    if d.regressions.is_empty() {
        Ok(())
    } else {
        Err(CliError::Reported(3))
    }
}
