//! Time charts over the whole run: x is simulated seconds from 0 to the end,
//! so the picture fills in as the run plays; faults are vertical lines.
//!
//! Without colour the lines differ by marker (braille, dots, blocks) and the
//! title says which is which.

use super::state::clock;
use super::theme::Theme;
use crate::metrics::SecondRow;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType};

/// Charts never draw more points than this per line: a long run is reduced
/// to the largest value per bucket, so a spike stays visible.
const MAX_POINTS: usize = 600;

/// One line of a chart.
pub struct Series {
    pub name: String,
    pub style: Style,
    pub points: Vec<(f64, f64)>,
}

/// `f` of each row, as (t_s, value), at most `MAX_POINTS` of them.
pub fn points(rows: &[SecondRow], f: impl Fn(&SecondRow) -> f64) -> Vec<(f64, f64)> {
    let bucket = rows.len().div_ceil(MAX_POINTS).max(1);
    rows.chunks(bucket)
        .map(|c| {
            let y = c.iter().map(&f).fold(0.0, f64::max);
            (f64::from(c[c.len() - 1].t_s), y)
        })
        .collect()
}

/// The marker that tells line `i` apart without colour.
fn marker(i: usize, theme: Theme) -> Marker {
    if theme.colour {
        return Marker::Braille;
    }
    [Marker::Braille, Marker::Dot, Marker::Block][i % 3]
}

/// How line `i` is named in a title without colour.
pub fn marker_hint(i: usize, theme: Theme) -> &'static str {
    if theme.colour {
        return "";
    }
    ["", "(•)", "(█)"][i % 3]
}

/// A whole-number or one-decimal axis label.
fn label(v: f64) -> String {
    if v >= 10.0 || v.fract() == 0.0 {
        crate::report::text::thousands(v.round() as u64)
    } else {
        format!("{v:.1}")
    }
}

/// Draws `series` over [0, end_s] with `faults` marked, titled with the
/// series' names in their colours.
pub fn draw(
    f: &mut Frame,
    area: Rect,
    title: &str,
    series: &[Series],
    faults: &[f64],
    end_s: f64,
    theme: Theme,
) {
    let top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let y_max = if top <= 0.0 {
        1.0
    } else {
        (top * 1.1).max(1.0)
    };
    let fault_lines: Vec<[(f64, f64); 2]> =
        faults.iter().map(|&t| [(t, 0.0), (t, y_max)]).collect();
    let mut datasets: Vec<Dataset> = fault_lines
        .iter()
        .map(|l| {
            Dataset::default()
                .graph_type(GraphType::Line)
                .marker(Marker::Braille)
                .style(theme.dim())
                .data(l)
        })
        .collect();
    for (i, s) in series.iter().enumerate() {
        datasets.push(
            Dataset::default()
                .graph_type(GraphType::Line)
                .marker(marker(i, theme))
                .style(s.style)
                .data(&s.points),
        );
    }
    let mut spans = vec![Span::raw(" ")];
    if !title.is_empty() {
        spans.push(Span::raw(format!("{title} ")));
    }
    for (i, s) in series.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("· "));
        }
        spans.push(Span::styled(
            format!("{}{} ", s.name, marker_hint(i, theme)),
            s.style,
        ));
    }
    let end = end_s.max(1.0);
    let chart = Chart::new(datasets)
        .block(Block::bordered().title(Line::from(spans)))
        .x_axis(
            Axis::default()
                .bounds([0.0, end])
                .labels(["0".to_string(), clock(end / 2.0), clock(end)])
                .style(theme.dim()),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, y_max])
                .labels(["0".to_string(), label(y_max)])
                .style(theme.dim()),
        );
    f.render_widget(chart, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: u32, requests: u32) -> SecondRow {
        SecondRow {
            t_s: t,
            requests,
            failures: 0,
            p50_ms: 0.0,
            p99_ms: 0.0,
            nodes: vec![],
            carts_lost: 0,
            offered: requests,
            attempts: requests,
            goodput: requests,
        }
    }

    #[test]
    fn long_runs_keep_their_spikes() {
        let mut rows: Vec<SecondRow> = (1..=6000).map(|t| row(t, 10)).collect();
        rows[4321].requests = 999;
        let p = points(&rows, |r| f64::from(r.requests));
        assert!(p.len() <= MAX_POINTS);
        assert_eq!(p.iter().map(|x| x.1).fold(0.0, f64::max), 999.0);
        assert_eq!(p.last().unwrap().0, 6000.0);
        let short = points(&rows[..10], |r| f64::from(r.requests));
        assert_eq!(short.len(), 10);
    }
}
