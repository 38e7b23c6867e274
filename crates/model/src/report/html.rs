//! The report as one self-contained HTML page (`--format html`): the lesson
//! in a sentence, the comparison table, the timeline plots with the faults
//! marked (`plot::svg`, inline), the event log and the scenario file itself,
//! so the page explains itself a year later. CSS and the little script (hover
//! values, the event filter) are inline and a Content-Security-Policy forbids
//! every fetch: the file opens offline, from a ticket or a wiki, as it is.
//! Everything reads and prints without the script. Rendering only: no I/O.

use super::{Report, figures, plot, text};
use crate::bundled;
use std::collections::BTreeMap;
use std::fmt::Write;
use v_htmlescape::escape_fmt as escape;

const CSS: &str = include_str!("html_page.css");
const JS: &str = include_str!("html_page.js");

/// No fetch of any kind: styles and scripts inline, pictures inline or data:.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

/// A page around `body`: the inline style and script, the policy, the title.
pub fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<main>\n{body}</main>\n\
         <script>\n{JS}</script>\n</body>\n</html>\n",
        escape(title)
    )
}

/// JSON for a `<script type="application/json">`: `<` written as `\u003c`,
/// so no string in it can close the element.
fn script_json(v: &serde_json::Value) -> String {
    serde_json::to_string(v)
        .expect("a JSON value serialises")
        .replace('<', "\\u003c")
}

/// The page of a run or a comparison. `runs` is in plan order, `per_seed`
/// runs (one per strategy) to a seed; the plots and the event log are the
/// first seed's. `scenario` is the scenario file's text.
pub fn report(runs: &[Report], per_seed: usize, scenario: &str) -> String {
    let per_seed = per_seed.clamp(1, runs.len().max(1));
    let Some(first) = runs.first() else {
        return document("stratus report", "<p>No runs.</p>\n");
    };
    let seed0 = &runs[..per_seed];
    let labels: Vec<String> = seed0.iter().map(Report::label).collect();
    let title = format!("{} · {}", first.scenario, labels.join(" vs "));
    let mut b = String::new();
    let _ = writeln!(b, "<h1>{}</h1>", escape(&title));
    let _ = writeln!(
        b,
        "<p class=\"meta\">seed {} · {} s simulated · {} · schema {}</p>",
        first.seed,
        first.simulated_seconds,
        escape(&format!("{} runs", runs.len())),
        escape(&first.schema)
    );
    let _ = writeln!(
        b,
        "<p class=\"lesson\" id=\"lesson\"><strong>{}</strong> {}</p>",
        escape(&text::lost_line(seed0)),
        escape(&text::price_line(seed0))
    );
    let why = bundled::lesson(scenario);
    if !why.is_empty() {
        let _ = writeln!(b, "<p class=\"why\">{}</p>", escape(&why));
    }
    b.push_str("<h2 id=\"figures\">Figures</h2>\n");
    for chunk in runs.chunks(per_seed) {
        table(&mut b, chunk);
    }
    timeline(&mut b, seed0);
    faults(&mut b, seed0);
    events(&mut b, seed0);
    scenario_file(&mut b, scenario);
    document(&title, &b)
}

/// The comparison table of one seed's runs; a cell carries its figure key
/// and run label (`data-figure`, `data-run`) for tools that read the page.
fn table(b: &mut String, runs: &[Report]) {
    let _ = writeln!(
        b,
        "<div class=\"scroll\"><table class=\"figures\">\n<caption>seed {}</caption>\n<thead><tr><th scope=\"col\">figure</th>",
        runs.first().map_or(0, |r| r.seed)
    );
    for r in runs {
        let _ = write!(b, "<th scope=\"col\">{}</th>", escape(&r.label()));
    }
    b.push_str("</tr></thead>\n<tbody>\n");
    for f in figures::shown(runs) {
        let sub = if f.label.starts_with(' ') {
            " class=\"sub\""
        } else {
            ""
        };
        let _ = write!(
            b,
            "<tr data-figure=\"{}\"{sub}><th scope=\"row\">{}</th>",
            escape(f.key),
            escape(f.label.trim())
        );
        for r in runs {
            let _ = write!(
                b,
                "<td data-run=\"{}\">{}</td>",
                escape(&r.label()),
                escape(&f.unit.format(f.get(r)))
            );
        }
        b.push_str("</tr>\n");
    }
    b.push_str("</tbody></table></div>\n");
}

/// The timeline plots, and the per-second series the hover reads.
fn timeline(b: &mut String, runs: &[Report]) {
    if runs
        .iter()
        .all(|r| r.series.as_deref().unwrap_or(&[]).is_empty())
    {
        return;
    }
    let data = serde_json::json!({
        "x_max": runs[0].simulated_seconds.max(1.0),
        "left": plot::LEFT,
        "plot_w": plot::WIDTH - plot::LEFT - plot::RIGHT,
        "width": plot::WIDTH,
        "runs": runs.iter().map(|r| serde_json::json!({
            "label": r.label(),
            "rows": r.series.iter().flatten().map(|s| serde_json::json!([
                s.t_s, s.requests, s.failures, s.p99_ms, s.carts_lost,
                s.nodes.iter().map(|n| n.healthy).collect::<Vec<_>>()
            ])).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "azs": runs[0].azs,
    });
    b.push_str("<h2 id=\"timeline\">Timeline</h2>\n");
    b.push_str(
        "<p class=\"hint js-only\" hidden>Point at a plot for the values at that second.</p>\n",
    );
    b.push_str("<div class=\"plot\" id=\"plot\">\n");
    b.push_str(&plot::svg(runs));
    b.push_str("<output id=\"hover\" class=\"hover\" hidden></output>\n</div>\n");
    let _ = writeln!(
        b,
        "<script type=\"application/json\" id=\"series\">{}</script>",
        script_json(&data)
    );
}

/// The faults, scripted and injected, with the carts each put at risk.
fn faults(b: &mut String, runs: &[Report]) {
    if runs.iter().all(|r| r.faults.is_empty()) {
        return;
    }
    b.push_str("<h2 id=\"faults\">Faults</h2>\n<div class=\"scroll\"><table class=\"log\">\n<thead><tr><th scope=\"col\">run</th><th scope=\"col\">t (s)</th><th scope=\"col\">action</th><th scope=\"col\">carts at risk</th></tr></thead>\n<tbody>\n");
    for r in runs {
        for f in &r.faults {
            let _ = writeln!(
                b,
                "<tr><td>{}</td><td class=\"num\">{:.1}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                escape(&r.label()),
                f.t_s,
                escape(&f.action),
                f.carts_at_risk
            );
        }
    }
    b.push_str("</tbody></table></div>\n");
}

/// The event log of every run, one row per event, filterable by kind (and
/// run) when the script runs; without it every row shows.
fn events(b: &mut String, runs: &[Report]) {
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for e in runs.iter().flat_map(|r| &r.events) {
        *kinds.entry(e.kind.as_str()).or_default() += 1;
    }
    let total: usize = kinds.values().sum();
    let _ = writeln!(
        b,
        "<h2 id=\"events\">Event log</h2>\n<p>{total} events.</p>"
    );
    if total == 0 {
        return;
    }
    b.push_str("<p class=\"filters js-only\" hidden><label>kind <select id=\"kind-filter\"><option value=\"\">every kind</option>");
    for (k, n) in &kinds {
        let _ = write!(
            b,
            "<option value=\"{}\">{} ({n})</option>",
            escape(k),
            escape(k)
        );
    }
    b.push_str("</select></label> <label>run <select id=\"run-filter\"><option value=\"\">every run</option>");
    for r in runs {
        let _ = write!(b, "<option>{}</option>", escape(&r.label()));
    }
    b.push_str("</select></label> <span id=\"event-count\"></span></p>\n");
    b.push_str("<div class=\"scroll events\"><table class=\"log\" id=\"event-log\">\n<thead><tr><th scope=\"col\">run</th><th scope=\"col\">t (s)</th><th scope=\"col\">kind</th><th scope=\"col\">detail</th></tr></thead>\n<tbody>\n");
    for r in runs {
        let label = r.label();
        for e in &r.events {
            let _ = writeln!(
                b,
                "<tr data-kind=\"{}\" data-run=\"{}\"><td>{}</td><td class=\"num\">{:.1}</td><td>{}</td><td>{}</td></tr>",
                escape(&e.kind),
                escape(&label),
                escape(&label),
                e.t_s,
                escape(&e.kind),
                escape(&e.detail)
            );
        }
    }
    b.push_str("</tbody></table></div>\n");
}

/// The scenario file, verbatim.
fn scenario_file(b: &mut String, scenario: &str) {
    if scenario.is_empty() {
        return;
    }
    let _ = writeln!(
        b,
        "<h2 id=\"scenario\">Scenario file</h2>\n<pre class=\"scenario\">{}</pre>",
        escape(scenario)
    );
}

/// The page of a sweep: its table (the CSV's rows, as `--format csv` gives
/// them), the figure it plotted, and the scenario file.
pub fn sweep(title: &str, csv: &str, svg: &str, scenario: &str) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<h1>{}</h1>", escape(title));
    let why = bundled::lesson(scenario);
    if !why.is_empty() {
        let _ = writeln!(b, "<p class=\"why\">{}</p>", escape(&why));
    }
    if !svg.is_empty() {
        let _ = writeln!(b, "<div class=\"plot\">\n{svg}</div>");
    }
    b.push_str(
        "<h2 id=\"grid\">Grid</h2>\n<div class=\"scroll\"><table class=\"figures sweep\">\n",
    );
    let mut rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.as_bytes());
    for (i, row) in rows.records().flatten().enumerate() {
        let cell = if i == 0 { "th scope=\"col\"" } else { "td" };
        let end = if i == 0 { "th" } else { "td" };
        b.push_str(if i == 0 { "<thead><tr>" } else { "<tr>" });
        for f in row.iter() {
            let _ = write!(b, "<{cell}>{}</{end}>", escape(f));
        }
        b.push_str(if i == 0 {
            "</tr></thead>\n<tbody>\n"
        } else {
            "</tr>\n"
        });
    }
    b.push_str("</tbody></table></div>\n");
    scenario_file(&mut b, scenario);
    document(title, &b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::LogEvent;

    fn hostile() -> Report {
        Report {
            scenario: "<script>alert(1)</script>".into(),
            strategy: "sticky".into(),
            events: vec![LogEvent {
                t_s: 1.0,
                kind: "x\"><img src=x>".into(),
                detail: "a & b </script>".into(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn text_is_escaped() {
        let page = report(
            &[hostile()],
            1,
            "# <b>lesson</b>\n[scenario]\nname = \"a&b\"\n",
        );
        assert!(!page.contains("<script>alert"));
        assert!(!page.contains("<img src=x>"));
        assert!(!page.contains("<b>lesson"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
        assert!(page.contains("a &amp; b"));
        // The only script elements are the page's own.
        assert_eq!(page.matches("<script").count(), 1);
    }

    #[test]
    fn series_json_cannot_close_its_element() {
        let v = serde_json::json!({ "a": "</script><script>x()" });
        let s = script_json(&v);
        assert!(!s.contains('<'));
        assert_eq!(serde_json::from_str::<serde_json::Value>(&s).unwrap(), v);
    }

    #[test]
    fn sweep_table_has_the_csv_rows() {
        let page = sweep("t", "a,b\n1,\"x,<y>\"\n", "", "");
        assert!(page.contains("<th scope=\"col\">a</th>"));
        assert!(page.contains("<td>x,&lt;y&gt;</td>"));
    }
}
