//! The single-run screen: header, AZs and balancer side by side, three time
//! charts, the event log, the footer; overlays on top. Pure: a frame from a
//! [`Dash`] and the [`Ui`], so tests draw it on ratatui's `TestBackend`.
//!
//! At 80×24 every panel keeps its essentials: the AZ cells, the carts-lost
//! figure, three charts and the newest log entries.

use super::chart::{self, Series};
use super::panels;
use super::state::{Dash, Ui};
use super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};

/// Rows the AZ and balancer panels need: one per AZ and a legend, at least
/// the balancer's five lines, plus borders.
pub fn top_height(azs: usize) -> u16 {
    (azs as u16 + 1).max(5) + 2
}

pub fn draw(f: &mut Frame, dash: &Dash, ui: &Ui) {
    let t = Theme { colour: ui.colour };
    let s = &dash.snap;
    let [head, top, charts, log, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(top_height(s.azs.len())),
        Constraint::Min(8),
        Constraint::Length(6),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let what = if ui.live {
        format!("stratus serve · {} · sessions {}", s.scenario, s.strategy)
    } else {
        format!("{} · {} · seed {}", s.scenario, s.strategy, dash.seed)
    };
    let what = match &ui.caption {
        Some(c) => format!("{} · {what}", c.title.split(':').next().unwrap_or_default()),
        None => what,
    };
    panels::header(f, head, &what, s, ui);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(56), Constraint::Percentage(44)]).areas(top);
    panels::azs(f, left, s, t);
    panels::balancer(f, right, dash, t, ui.live);

    // The live shop has no end: its charts show the last minute or more.
    let end_s = if ui.live {
        (s.now as f64 / 1e9).max(60.0)
    } else {
        s.end as f64 / 1e9
    };
    let [c1, c2, c3] = Layout::horizontal([Constraint::Ratio(1, 3); 3]).areas(charts);
    let rows = &dash.rows;
    let requests = [
        Series {
            name: "req/s".into(),
            style: t.series(0),
            points: chart::points(rows, |r| f64::from(r.requests)),
        },
        Series {
            name: "failed".into(),
            style: t.series(1),
            points: chart::points(rows, |r| f64::from(r.failures)),
        },
    ];
    chart::draw(f, c1, "", &requests, &dash.faults, end_s, t);
    let latency = [
        Series {
            name: "p50".into(),
            style: t.series(0),
            points: chart::points(rows, |r| r.p50_ms),
        },
        Series {
            name: "p99 ms".into(),
            style: t.series(2),
            points: chart::points(rows, |r| r.p99_ms),
        },
    ];
    chart::draw(f, c2, "", &latency, &dash.faults, end_s, t);
    let lost = [Series {
        name: "carts lost".into(),
        style: t.series(1),
        points: chart::points(rows, |r| r.carts_lost as f64),
    }];
    chart::draw(f, c3, "", &lost, &dash.faults, end_s, t);

    panels::events(f, log, dash, t);
    panels::footer(f, foot, s, ui);
    if let Some(c) = &ui.caption
        && (c.intro || ui.finished)
    {
        panels::caption(f, f.area(), c, ui.finished, t);
    }
    if ui.help {
        panels::help(f, f.area(), t);
    }
}
