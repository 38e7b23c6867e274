//! The dashboard's pieces, each drawn from a [`Dash`] and the [`Ui`]: the
//! header, the AZ panel, the load balancer panel, the event log, the footer,
//! and the help and tour overlays.

use super::keys::HELP;
use super::state::{Caption, Dash, Pick, Ui, clock, speed_label};
use super::theme::{Cell, Theme};
use crate::report::text::thousands;
use crate::snapshot::{AzView, Instance, Snapshot, StoreStatus};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

/// The top line: where the run is and how fast, then what is playing (which
/// a narrow terminal may cut short; the clock it never does).
pub fn header(f: &mut Frame, area: Rect, what: &str, snap: &Snapshot, ui: &Ui) {
    let t = Theme { colour: ui.colour };
    let (time, pace) = if ui.live {
        (clock(snap.now as f64 / 1e9), "live".to_string())
    } else {
        let span = format!(
            "{} / {}",
            clock(snap.now as f64 / 1e9),
            clock(snap.end as f64 / 1e9)
        );
        (span, speed_label(ui.speed))
    };
    let mut spans = vec![
        Span::styled(" stratus ", t.bold()),
        Span::raw("│ "),
        Span::styled(time, t.bold()),
        Span::raw(format!(" │ {pace}")),
    ];
    if ui.finished {
        spans.push(Span::styled(" │ FINISHED", t.good().patch(t.bold())));
    } else if ui.paused {
        spans.push(Span::styled(" │ PAUSED", t.bad().patch(t.bold())));
    }
    spans.push(Span::raw(format!(" │ {what}")));
    f.render_widget(Line::from(spans), area);
}

/// Tags for the stateful instances placed in one AZ: `store:P`, `db:R`, …
pub fn instance_tags(az: usize, snap: &Snapshot, t: Theme) -> Vec<Span<'static>> {
    let tag = |kind: &str, i: &Instance| {
        let role = i.role.chars().next().unwrap_or('?').to_ascii_uppercase();
        let text = format!(" {kind}:{role}{}", if i.alive { "" } else { "✗" });
        Span::styled(text, if i.alive { t.good() } else { t.bad() })
    };
    let store = snap
        .store
        .iter()
        .filter(|i| i.az == az)
        .map(|i| tag("store", i));
    let db = snap
        .databases
        .iter()
        .filter(|i| i.az == az)
        .map(|i| tag("db", i));
    store.chain(db).collect()
}

/// One AZ as a row: number, name, power, then a cell per node.
fn az_line(
    i: usize,
    az: &AzView,
    name_w: usize,
    cells_w: usize,
    snap: &Snapshot,
    t: Theme,
) -> Line<'static> {
    let mut spans = vec![Span::raw(format!("{} {:<name_w$} ", i + 1, az.name))];
    spans.push(if az.alive {
        Span::styled("up   ", t.good())
    } else {
        Span::styled("DOWN ", t.bad().patch(t.bold()))
    });
    let mut shown = 0;
    let total: usize = Cell::ALL
        .iter()
        .map(|c| usize::from(c.count(&az.nodes)))
        .sum();
    for c in Cell::ALL {
        for _ in 0..c.count(&az.nodes) {
            if shown + 1 == cells_w && total > cells_w {
                break;
            }
            if shown < cells_w {
                spans.push(Span::styled(c.letter().to_string(), t.cell(c)));
                shown += 1;
            }
        }
    }
    if total > shown {
        spans.push(Span::raw(format!("+{}", total - shown)));
    }
    spans.extend(instance_tags(i, snap, t));
    Line::from(spans)
}

/// Each AZ's nodes as coloured cells, the store and databases where they live.
pub fn azs(f: &mut Frame, area: Rect, snap: &Snapshot, t: Theme) {
    let name_w = snap
        .azs
        .iter()
        .map(|a| a.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(16);
    let inner_w = usize::from(area.width.saturating_sub(2));
    let tags = if snap.store.is_empty() && snap.databases.is_empty() {
        0
    } else {
        8
    };
    let cells_w = inner_w.saturating_sub(name_w + 8 + tags).max(3);
    let mut lines: Vec<Line> = snap
        .azs
        .iter()
        .enumerate()
        .map(|(i, az)| az_line(i, az, name_w, cells_w, snap, t))
        .collect();
    // Narrow panels get the short words, so the legend is never cut.
    let short = inner_w < 52;
    let legend: Vec<Span> = Cell::ALL
        .iter()
        .flat_map(|&c| {
            let name = if short { c.short_name() } else { c.name() };
            [
                Span::styled(c.letter().to_string(), t.cell(c)),
                Span::styled(format!(" {name} "), t.dim()),
            ]
        })
        .collect();
    let rows = usize::from(area.height.saturating_sub(2));
    while lines.len() + 1 < rows {
        lines.push(Line::default());
    }
    lines.push(Line::from(legend));
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" availability zones ")),
        area,
    );
}

/// The balancer, the fleet, the store, and what shoppers have lost so far.
pub fn balancer(f: &mut Frame, area: Rect, dash: &Dash, t: Theme, live: bool) {
    let s = &dash.snap;
    let last = dash.rows.last();
    let (rps, fps) = last.map_or((0, 0), |r| (r.requests, r.failures));
    let tot = &s.totals;
    let mut lines = vec![
        Line::from(vec![
            Span::raw(format!("req/s {:<6}", thousands(u64::from(rps)))),
            Span::raw(" failed/s "),
            Span::styled(
                thousands(u64::from(fps)),
                if fps > 0 { t.bad() } else { t.good() },
            ),
        ]),
        Line::raw(format!(
            "healthy targets {}/{}  re-sticks {}",
            s.lb.healthy,
            s.lb.targets,
            thousands(s.lb.resticks)
        )),
        if live {
            // The server cannot see a lost cart (only a shopper's own cart
            // shows one): what a node's loss would take is what it holds.
            let held: u64 = s.nodes.iter().map(|n| n.sessions).sum();
            Line::raw(format!("sessions in memory {}", thousands(held)))
        } else {
            Line::from(vec![
                Span::raw("carts lost "),
                Span::styled(thousands(tot.carts_lost), t.loss(tot.carts_lost)),
                Span::raw(format!(
                    " (items {})  gave up {}",
                    thousands(tot.items_lost),
                    thousands(tot.abandoned_with_items)
                )),
            ])
        },
        Line::raw(format!(
            "requests {} failed {}",
            thousands(tot.requests),
            thousands(tot.failed)
        )),
    ];
    let fleet = format!(
        "desired {} ({}..{})",
        s.fleet.desired, s.fleet.min, s.fleet.max
    );
    lines.push(match s.store_status {
        Some(st) => {
            let (word, style) = match st {
                StoreStatus::Up => ("up", t.good()),
                StoreStatus::FailingOver => ("FAILING OVER", t.bad()),
                StoreStatus::Down => ("DOWN", t.bad()),
            };
            Line::from(vec![
                Span::raw("store "),
                Span::styled(word, style),
                Span::raw(format!("  {fleet}")),
            ])
        }
        None => Line::raw(fleet),
    });
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" load balancer · shoppers ")),
        area,
    );
}

/// The newest log entries that fit; injected ones marked with `*`.
pub fn events(f: &mut Frame, area: Rect, dash: &Dash, t: Theme) {
    let rows = usize::from(area.height.saturating_sub(2));
    let from = dash.events.len().saturating_sub(rows);
    let lines: Vec<Line> = dash.events[from..]
        .iter()
        .map(|e| {
            let mark = if dash.is_injected(e) { "*" } else { " " };
            Line::from(vec![
                Span::styled(format!("{:>8.1} s {mark}", e.t_s), t.dim()),
                Span::styled(format!("{:<19}", e.kind), t.event(&e.kind)),
                Span::raw(e.detail.clone()),
            ])
        })
        .collect();
    let title = format!(
        " events ({}; * injected) ",
        thousands(dash.events.len() as u64)
    );
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(title)),
        area,
    );
}

/// The bottom line: a pick prompt, the last message, or the keys.
pub fn footer(f: &mut Frame, area: Rect, snap: &Snapshot, ui: &Ui) {
    let t = Theme { colour: ui.colour };
    let line = if let Some(pick) = ui.pick {
        let verb = match pick {
            Pick::Kill => "kill",
            Pick::Restore => "restore",
        };
        let azs: Vec<String> = snap
            .azs
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{} {}", i + 1, a.name))
            .collect();
        Line::from(vec![
            Span::styled(format!(" {verb} which AZ? "), t.bad().patch(t.bold())),
            Span::raw(format!("{}  (other keys cancel)", azs.join("  "))),
        ])
    } else if let Some(msg) = &ui.status {
        Line::from(vec![
            Span::styled(format!(" {msg}"), t.bold()),
            Span::styled("  · ? keys · q quit", t.dim()),
        ])
    } else if ui.finished {
        let next = if ui.caption.is_some() {
            "Enter next step · "
        } else {
            ""
        };
        Line::styled(
            format!(" {next}q quit and print the report · ? keys"),
            t.bold(),
        )
    } else if ui.live {
        Line::styled(
            " q quit ? help k kill r restore s/o scale d deploy f store",
            t.dim(),
        )
    } else {
        Line::styled(
            " q quit ? help spc pause +/- speed k kill r restore s/o scale d deploy f store",
            t.dim(),
        )
    };
    f.render_widget(line, area);
}

/// A box in the middle of `area`, cleared.
fn centred(f: &mut Frame, area: Rect, w: u16, h: u16) -> Rect {
    let r = area.centered(
        Constraint::Length(w.min(area.width)),
        Constraint::Length(h.min(area.height)),
    );
    f.render_widget(Clear, r);
    r
}

/// The keys, over everything.
pub fn help(f: &mut Frame, area: Rect, t: Theme) {
    let key_w = HELP
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!(" {k:<key_w$}  "), t.bold()),
                Span::raw(*what),
            ])
        })
        .collect();
    let h = lines.len() as u16 + 2;
    let r = centred(f, area, 76, h);
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" keys (any key closes) ")),
        r,
    );
}

/// A tour step's lesson (before it runs) or its figures (after).
pub fn caption(f: &mut Frame, area: Rect, c: &Caption, finished: bool, t: Theme) {
    let mut text = Text::default();
    text.push_line(Line::styled(c.title.clone(), t.bold()));
    text.push_line(Line::default());
    text.push_line(Line::raw(c.lesson.clone()));
    if finished && !c.results.is_empty() {
        text.push_line(Line::default());
        for r in &c.results {
            text.push_line(Line::raw(r.clone()));
        }
    }
    text.push_line(Line::default());
    let prompt = match (c.intro, c.last) {
        (true, _) => "Enter: play this step · q: end the tour",
        (false, false) => "Enter: next step · q: end the tour",
        (false, true) => "Enter or q: end the tour",
    };
    text.push_line(Line::styled(prompt, t.dim()));
    let w = area.width.saturating_sub(4).min(76);
    // Room for the wrapped lesson: its length over the width, plus the rest.
    let lesson_rows = (c.lesson.chars().count() as u16).div_ceil(w.saturating_sub(2).max(1)) + 1;
    let h = 6
        + lesson_rows
        + if finished {
            c.results.len() as u16 + 1
        } else {
            0
        };
    let r = centred(f, area, w, h);
    f.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" tour ")),
        r,
    );
}
