//! How `stratus compare` prints its runs, shared with `stratus merge` so a
//! merged comparison is the report one machine would have printed.

use super::{CliError, Format, Output, emit_as, pick_format, slo_verdict};
use crate::report::{Report, html, table, text};

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
