//! `stratus serve --tui`: the live shop on the simulation's own screen. It
//! reads the admin API's `GET /admin/state`, which is the typed snapshot the
//! simulation's dashboard draws, and draws it with the same code
//! ([`super::draw`]); its keys are the same keymap ([`super::keys::on_key`]),
//! and an action a key asks for is posted to `POST /admin/actions`.
//!
//! Drawing stays a pure function of the history read so far ([`Dash`]), so
//! tests draw real servers' states on a test backend; the loop around it
//! (terminal, keys, fetching) is the driver.

use super::keys::{self, Command};
use super::state::{Dash, Ui};
use crate::live::client;
use crate::scenario::{Action, ActionEntry};
use crate::snapshot::{Cursor, Snapshot};
use bytes::Bytes;
use std::net::SocketAddr;
use std::time::Duration;

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

/// The shop's snapshot with what was added since `cursor`.
pub fn fetch(addr: SocketAddr, token: &str, cursor: Cursor) -> std::io::Result<Snapshot> {
    let path = format!(
        "/admin/state?rows={}&events={}&faults={}",
        cursor.rows, cursor.events, cursor.faults
    );
    match admin(addr, token, "GET", &path, "")? {
        (200, body) => serde_json::from_str(&body).map_err(std::io::Error::other),
        (code, body) => Err(std::io::Error::other(format!("{code}: {}", body.trim()))),
    }
}

/// Takes in the next snapshot: the first starts the history.
pub fn take(dash: &mut Option<Dash>, snap: Snapshot) {
    match dash {
        Some(d) => {
            d.cursor = snap.cursor;
            d.update(snap);
        }
        None => {
            let cursor = snap.cursor;
            *dash = Some(Dash::new(0, snap, cursor));
        }
    }
}

/// Posts `action` to the admin API's `POST /admin/actions`, in the form a
/// timeline entry writes it; the line the footer shows.
pub fn post(addr: SocketAddr, token: &str, action: &Action, azs: &[String]) -> String {
    let entry = ActionEntry::of(action, azs);
    let what = format!("{} {}", entry.action, entry.keys_text());
    match admin(addr, token, "POST", "/admin/actions", &entry.to_string()) {
        Ok((code, body)) => format!(
            "{}: {code} {}",
            what.trim(),
            body.trim().chars().take(60).collect::<String>()
        ),
        Err(e) => format!("{}: {e}", what.trim()),
    }
}

/// The screen for a server's state, a key's way: what [`run`] does with one
/// key, without the terminal (the tests' entry). True: leave.
pub fn key(
    addr: SocketAddr,
    token: &str,
    dash: &Dash,
    ui: &mut Ui,
    k: crossterm::event::KeyEvent,
) -> bool {
    match keys::on_key(ui, k, &dash.snap) {
        Some(Command::Quit | Command::Abort) => true,
        Some(Command::Inject(a)) => {
            let azs: Vec<String> = dash.snap.azs.iter().map(|z| z.name.clone()).collect();
            ui.status = Some(post(addr, token, &a, &azs));
            false
        }
        // Speed, pause and the tour's steps are a simulation's.
        Some(Command::Retime | Command::Next) | None => false,
    }
}

/// The dashboard's loop: the state twice a second, keys as they come.
pub fn run(addr: SocketAddr, token: &str) -> std::io::Result<()> {
    use crossterm::event::{self, Event, KeyEventKind};
    let colour = std::env::var_os("NO_COLOR").is_none();
    let mut guard = crate::tui::term::enter()?;
    let mut ui = Ui::live(colour);
    let mut dash: Option<Dash> = None;
    loop {
        let cursor = dash.as_ref().map_or_else(Cursor::default, |d| d.cursor);
        match fetch(addr, token, cursor) {
            Ok(snap) => take(&mut dash, snap),
            Err(e) => ui.status = Some(format!("GET /admin/state: {e}")),
        }
        if let Some(d) = &dash {
            guard.term.draw(|f| super::draw::draw(f, d, &ui))?;
        }
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
        if let Some(d) = &dash
            && key(addr, token, d, &mut ui, k)
        {
            return Ok(());
        }
    }
}
