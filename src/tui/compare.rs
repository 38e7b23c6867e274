//! The comparison screen: one run per strategy, in lockstep, side by side. A
//! small panel each (AZ cells, carts lost, traffic), their carts-lost lines
//! racing on one chart, and the first run's event log.

use super::chart::{self, Series};
use super::panels;
use super::state::{Dash, Ui};
use super::theme::{Cell, Theme};
use crate::report::text::thousands;
use crate::snapshot::StoreStatus;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

/// A strategy's colour, the same in its panel and its chart line.
fn colour_of(i: usize, t: Theme) -> ratatui::style::Style {
    const C: [Color; 4] = [Color::Red, Color::Yellow, Color::Cyan, Color::Magenta];
    t.fg(C[i % C.len()])
}

/// One strategy: its AZs as cells, then its figures.
fn panel(f: &mut Frame, area: Rect, i: usize, dash: &Dash, t: Theme) {
    let s = &dash.snap;
    let inner_w = usize::from(area.width.saturating_sub(2));
    let name_w = s
        .azs
        .iter()
        .map(|a| a.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(inner_w / 2);
    let mut lines: Vec<Line> = s
        .azs
        .iter()
        .enumerate()
        .map(|(ai, az)| {
            let name: String = az.name.chars().take(name_w).collect();
            let mut spans = vec![Span::styled(
                format!("{name:<name_w$} "),
                if az.alive {
                    Default::default()
                } else {
                    t.bad()
                },
            )];
            if !az.alive {
                spans.push(Span::styled("DOWN ", t.bad().patch(t.bold())));
            }
            let room = inner_w.saturating_sub(name_w + 10);
            let mut shown = 0;
            for c in Cell::ALL {
                for _ in 0..c.count(&az.nodes) {
                    if shown < room {
                        spans.push(Span::styled(c.letter().to_string(), t.cell(c)));
                    }
                    shown += 1;
                }
            }
            spans.extend(panels::instance_tags(ai, s, t));
            Line::from(spans)
        })
        .collect();
    let tot = &s.totals;
    let mut lost = vec![
        Span::raw("carts lost "),
        Span::styled(thousands(tot.carts_lost), t.loss(tot.carts_lost)),
    ];
    match s.store_status {
        Some(StoreStatus::FailingOver) => lost.push(Span::styled(" store FAILING OVER", t.bad())),
        Some(StoreStatus::Down) => lost.push(Span::styled(" store DOWN", t.bad())),
        _ => {}
    }
    lines.push(Line::from(lost));
    let last = dash.rows.last();
    lines.push(Line::raw(format!(
        "req/s {} fail {} p99 {:.0}",
        thousands(u64::from(last.map_or(0, |r| r.requests))),
        thousands(u64::from(last.map_or(0, |r| r.failures))),
        last.map_or(0.0, |r| r.p99_ms)
    )));
    let title = Line::from(vec![Span::styled(
        format!(" {}{} ", s.strategy, chart::marker_hint(i, t)),
        colour_of(i, t).patch(t.bold()),
    )]);
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(title)),
        area,
    );
}

pub fn draw(f: &mut Frame, dashes: &[Dash], ui: &Ui) {
    let Some(first) = dashes.first() else {
        return;
    };
    let t = Theme { colour: ui.colour };
    let s = &first.snap;
    let [head, top, race, log, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(s.azs.len() as u16 + 4),
        Constraint::Min(8),
        Constraint::Length(5),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let names: Vec<&str> = dashes.iter().map(|d| d.snap.strategy.as_str()).collect();
    let what = format!("{} · {} · seed {}", s.scenario, names.join("/"), first.seed);
    panels::header(f, head, &what, s, ui);
    let cols = Layout::horizontal(vec![
        Constraint::Ratio(1, dashes.len() as u32);
        dashes.len()
    ])
    .split(top);
    for (i, (d, area)) in dashes.iter().zip(cols.iter()).enumerate() {
        panel(f, *area, i, d, t);
    }
    let lines: Vec<Series> = dashes
        .iter()
        .enumerate()
        .map(|(i, d)| Series {
            name: d.snap.strategy.clone(),
            style: colour_of(i, t),
            points: chart::points(&d.rows, |r| r.carts_lost as f64),
        })
        .collect();
    chart::draw(
        f,
        race,
        "carts lost so far:",
        &lines,
        &first.faults,
        s.end as f64 / 1e9,
        t,
    );
    panels::events(f, log, first, t);
    panels::footer(f, foot, s, ui);
    if ui.help {
        panels::help(f, f.area(), t);
    }
}
