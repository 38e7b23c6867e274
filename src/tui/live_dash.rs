//! `stratus serve --tui`: the live shop on one screen, read from the admin
//! API's `GET /admin/state` (the same JSON a script gets), with keys that
//! post the admin API's faults.
//!
//! Drawing is a pure function of that JSON, so tests draw real states on a
//! test backend; the loop around it (terminal, keys, polling) is the driver.
//! The server cannot see a lost cart (only a shopper's own cart shows one),
//! so this screen shows what the server holds instead: sessions in each
//! node's memory, which is what an AZ's loss takes with it under sticky.

use crate::live::client;
use crate::scenario::{Action, ActionEntry};
use crate::tui::keys::{self, Ask};
use crate::tui::state::Pick;
use crate::tui::theme::Theme;
use bytes::Bytes;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

/// The keys, as the screen's footer lists them: the fault keys are the
/// simulation dashboard's ([`keys::fault_key`]).
pub const HELP: &str =
    "k/r then 1-9 kill/restore an AZ · s/o scale in/out · d deploy · f store failover · q quit";

/// The AZ last acted on, a pick waiting for its AZ key, and the last answer.
#[derive(Debug, Default)]
pub struct View {
    pub az: usize,
    pub pick: Option<Pick>,
    pub message: String,
}

fn text(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// Draws one state of the live shop.
pub fn draw(f: &mut Frame, state: &Value, view: &View, theme: Theme) {
    let area = f.area();
    let rows = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(5),
        Constraint::Length(3),
        Constraint::Length(1),
    ])
    .split(area);
    let head = format!(
        "stratus serve · sessions {} · t {:.0} s · desired {} · version {}{} · re-sticks {}",
        text(state, "strategy"),
        state["t_s"].as_f64().unwrap_or(0.0),
        text(state, "desired"),
        text(state, "version"),
        if state["deploying"].as_bool() == Some(true) {
            " (deploying)"
        } else {
            ""
        },
        text(state, "resticks"),
    );
    f.render_widget(Paragraph::new(head).style(theme.bold()), rows[0]);

    let azs = state["azs"].as_array().cloned().unwrap_or_default();
    let nodes = state["nodes"].as_array().cloned().unwrap_or_default();
    let cols = Layout::horizontal(vec![
        Constraint::Ratio(1, azs.len().max(1) as u32);
        azs.len().max(1)
    ])
    .split(rows[1]);
    for (i, az) in azs.iter().enumerate() {
        let name = text(az, "name");
        let alive = az["alive"].as_bool().unwrap_or(false);
        let mut lines = vec![Line::from(if alive {
            Span::styled("powered", theme.good())
        } else {
            Span::styled("DEAD", theme.bad())
        })];
        let mut held = 0u64;
        for n in nodes.iter().filter(|n| n["az"].as_str() == Some(&name)) {
            let sessions = n["sessions"].as_u64().unwrap_or(0);
            held += sessions;
            let health = text(n, "health");
            let style = match (text(n, "state").as_str(), health.as_str()) {
                ("inservice", "healthy") => theme.good(),
                ("dead", _) | (_, "unhealthy") => theme.bad(),
                _ => Style::default(),
            };
            lines.push(Line::from(vec![
                Span::styled(format!("node-{:<3}", text(n, "id")), style),
                Span::raw(format!(
                    " {} {} v{} out {} sessions {sessions}",
                    text(n, "state"),
                    health,
                    text(n, "version"),
                    text(n, "outstanding"),
                )),
            ]));
        }
        lines.push(Line::from(format!("sessions in memory {held}")));
        let title = format!(" {} {name} ", i + 1);
        let mut block = Block::default().borders(Borders::ALL).title(title);
        if i == view.az {
            block = block.border_style(theme.fg(Color::Cyan).add_modifier(Modifier::BOLD));
        }
        f.render_widget(
            Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
            cols[i],
        );
    }

    let store = &state["store"];
    let events = state["events"].as_array().cloned().unwrap_or_default();
    let last: Vec<String> = events
        .iter()
        .rev()
        .take(2)
        .map(|e| {
            format!(
                "{:.0} s {} {}",
                e["t_s"].as_f64().unwrap_or(0.0),
                text(e, "kind"),
                text(e, "detail")
            )
        })
        .collect();
    let store_line = format!(
        "store {} · primary {} · replicas {}",
        text(store, "state"),
        text(store, "primary_az"),
        store["replica_azs"]
            .as_array()
            .map(|a| a
                .iter()
                .map(|x| x.as_str().unwrap_or(""))
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default(),
    );
    let mut lines = vec![Line::from(store_line)];
    lines.extend(last.into_iter().map(Line::from));
    f.render_widget(Paragraph::new(lines), rows[2]);
    let foot = if view.message.is_empty() {
        HELP.to_string()
    } else {
        format!("{} · {HELP}", view.message)
    };
    f.render_widget(Paragraph::new(foot), rows[3]);
}

/// The screen for `state` as plain text, `width` × `height`, as a terminal
/// without colour shows it: what tests read, and what a log can keep.
pub fn text_of(state: &Value, view: &View, width: u16, height: u16) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height))
        .expect("a test backend never fails");
    t.draw(|f| draw(f, state, view, Theme { colour: false }))
        .expect("a test backend never fails");
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One admin request, over a connection of its own: the status and body.
pub fn admin(
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let req = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .header("connection", "close")
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .map_err(std::io::Error::other)?;
    let resp = client::send_blocking(req, Duration::from_secs(2), Duration::from_secs(5))?;
    let status = resp.status().as_u16();
    Ok((status, String::from_utf8_lossy(resp.body()).into_owned()))
}

/// The action a key asks of the shop, if any, as `POST /admin/actions`
/// takes it; the simulation dashboard's keymap, read from the state's AZs
/// and capacity.
pub fn action(key: char, state: &Value, view: &mut View) -> Option<ActionEntry> {
    let azs: Vec<String> = state["azs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| text(a, "name"))
        .collect();
    let n = |k: &str| state[k].as_u64().unwrap_or(0) as u32;
    let action = if let Some(pick) = view.pick.take() {
        let Some(a) = keys::picked(pick, key, azs.len()) else {
            view.message = "cancelled".into();
            return None;
        };
        if let Action::KillAz { az } | Action::RestoreAz { az } = a {
            view.az = az;
        }
        a
    } else {
        match keys::fault_key(key, n("desired"), n("min"), n("max"))? {
            Ask::Pick(p) => {
                view.pick = Some(p);
                view.message = format!("which AZ? 1-{}", azs.len());
                return None;
            }
            Ask::Act(a) => a,
            Ask::Say(m) => {
                view.message = m;
                return None;
            }
        }
    };
    Some(ActionEntry::of(&action, &azs))
}

/// Posts `entry` to the admin API's `POST /admin/actions`.
pub fn post(addr: SocketAddr, token: &str, entry: &ActionEntry) -> std::io::Result<(u16, String)> {
    admin(addr, token, "POST", "/admin/actions", &entry.to_string())
}

/// The dashboard's loop: the state twice a second, keys as they come.
pub fn run(addr: SocketAddr, token: &str) -> std::io::Result<()> {
    use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
    let theme = Theme {
        colour: std::env::var_os("NO_COLOR").is_none(),
    };
    let mut guard = crate::tui::term::enter()?;
    let mut view = View::default();
    let mut state = Value::Null;
    loop {
        if let Ok((200, body)) = admin(addr, token, "GET", "/admin/state", "") {
            state = serde_json::from_str(&body).unwrap_or(Value::Null);
        }
        guard.term.draw(|f| draw(f, &state, &view, theme))?;
        // Waiting for a key is also the pace: no sleep in the loop.
        if !event::poll(Duration::from_millis(500))? {
            continue;
        }
        let Event::Key(k) = event::read()? else {
            continue;
        };
        if k.kind != KeyEventKind::Press {
            continue;
        }
        let c = match k.code {
            KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => return Ok(()),
            KeyCode::Char('q') | KeyCode::Esc => return Ok(()),
            KeyCode::Char(c) => c,
            _ => continue,
        };
        if let Some(entry) = action(c, &state, &mut view) {
            let what = entry.keys_text();
            let what = format!("{} {what}", entry.action);
            view.message = match post(addr, token, &entry) {
                Ok((code, body)) => format!(
                    "{what}: {code} {}",
                    body.trim().chars().take(60).collect::<String>()
                ),
                Err(e) => format!("{what}: {e}"),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn screen(state: &Value) -> String {
        text_of(state, &View::default(), 120, 20)
    }

    #[test]
    fn a_dead_az_and_its_sessions_show() {
        let state = json!({
            "t_s": 42.0, "strategy": "sticky", "desired": 3, "version": 1, "deploying": false, "resticks": 5,
            "azs": [{"name": "us-east-1a", "alive": true}, {"name": "us-east-1b", "alive": false}],
            "nodes": [
                {"id": 0, "az": "us-east-1a", "state": "inservice", "health": "healthy", "version": 1, "outstanding": 0, "sessions": 7},
                {"id": 1, "az": "us-east-1b", "state": "dead", "health": "unhealthy", "version": 1, "outstanding": 0, "sessions": 0}
            ],
            "store": {"state": "up", "primary_az": "us-east-1a", "replica_azs": ["us-east-1b"]},
            "events": [{"t_s": 40.0, "kind": "kill_az", "detail": "us-east-1b"}]
        });
        let s = screen(&state);
        assert!(s.contains("DEAD"), "{s}");
        assert!(s.contains("sessions in memory 7"), "{s}");
        assert!(s.contains("40 s kill_az us-east-1b"), "{s}");
        assert!(s.contains("re-sticks 5"), "{s}");
    }

    #[test]
    fn keys_are_the_simulation_dashboards_and_name_actions() {
        let state =
            json!({"desired": 4, "min": 2, "max": 4, "azs": [{"name": "a"}, {"name": "b"}]});
        let mut v = View::default();
        assert_eq!(action('2', &state, &mut v), None, "no pick yet");
        assert_eq!(action('k', &state, &mut v), None, "k waits for an AZ");
        let kill = action('2', &state, &mut v).unwrap();
        assert_eq!(kill.to_string(), r#"{"action":"kill_az","az":"b"}"#);
        assert_eq!(v.az, 1);
        let scale_in = action('s', &state, &mut v).unwrap();
        assert_eq!(
            scale_in.to_string(),
            r#"{"action":"set_desired","value":3.0}"#
        );
        assert_eq!(action('o', &state, &mut v), None, "already at max");
        assert!(v.message.contains("fleet.max (4)"), "{}", v.message);
        let failover = action('f', &state, &mut v).unwrap();
        assert_eq!(failover.action, "kill_store_primary");
        assert_eq!(action('r', &state, &mut v), None);
        assert_eq!(action('9', &state, &mut v), None, "no such AZ");
        assert_eq!(v.message, "cancelled");
    }
}
