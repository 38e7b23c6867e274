//! The dashboard over any driver: a [`Board`] is what the page shows and
//! steers. `stratus serve` has its own admin API on the same page and
//! stream ([`super::handle`]); a simulation played against the wall clock
//! (`stratus run FILE --web`, `stratus compare FILE --web`) is a board,
//! served here with the routes the page uses:
//!
//! | method and path | does |
//! | --- | --- |
//! | `GET /` | the page (the same page `stratus serve` serves) |
//! | `GET /admin/events` | its stream: `snapshot` events (one per run), `play` (the pace), `final` (once, the runs' reports) |
//! | `GET /admin/state` | the runs' snapshots, whole |
//! | `POST /admin/actions` | a timeline entry without `at`, applied to every run at the same instant |
//! | `POST /admin/play` | `{"play":"faster"}`, `slower`, `pause` or `resume` |

use super::admin::{self, fail};
use super::stream::Frames;
use super::{WebBody, boxed, common};
use crate::http::{self, Place, accept_loop};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use stratus_model::report::Report;
use stratus_model::scenario::ActionEntry;
use tokio::net::TcpListener;
use tokio::task::AbortHandle;

/// What was done, or the status and reason it was not.
pub type Answer = Result<String, (StatusCode, String)>;

/// A change of pace, as the terminal dashboard's keys ask for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Play {
    /// Twice as fast (`+`).
    Faster,
    /// Half as fast (`-`).
    Slower,
    /// Time stands still (space).
    Pause,
    /// Time moves again (space).
    Resume,
}

/// The body of `POST /admin/play`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlayBody {
    play: Play,
}

/// How a simulation is being played: the `play` event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pacing {
    /// Simulated seconds per wall second.
    pub speed: f64,
    pub min_speed: f64,
    pub max_speed: f64,
    pub paused: bool,
    /// Every run reached its end (its report follows in a `final` event).
    pub over: bool,
    pub seed: u64,
}

/// The runs' reports once they are over: the `final` event.
#[derive(Clone, Debug, Serialize)]
pub struct Final {
    /// The comparison in a sentence (`sticky lost 437 carts; …`).
    pub lesson: String,
    /// One report per run, as `--format json` writes it (without series).
    pub runs: Vec<Report>,
}

/// What a page shows and steers.
pub trait Board: Send + Sync + 'static {
    /// A new page's stream: each call, what is new for that page.
    fn frames(self: Arc<Self>) -> Frames;
    /// `GET /admin/state`.
    fn state(&self) -> serde_json::Value;
    /// A timeline action, now.
    fn act(&self, entry: &ActionEntry) -> Answer;
    /// A change of pace.
    fn play(&self, play: Play) -> Answer;
}

fn answer(a: Answer) -> Response<WebBody> {
    boxed(match a {
        Ok(what) => http::json(StatusCode::OK, &serde_json::json!({ "ok": what })),
        Err((status, why)) => fail(status, &why),
    })
}

/// Serves one request to a board's address.
pub async fn handle(
    board: Arc<dyn Board>,
    token: &str,
    req: Request<Incoming>,
) -> Response<WebBody> {
    if let Some(r) = common(&req, token, || board.clone().frames()) {
        return r;
    }
    if !admin::authorised(&req, token) {
        return boxed(admin::unauthorised());
    }
    let (get, post) = (req.method() == Method::GET, req.method() == Method::POST);
    match req.uri().path() {
        "/admin/state" if get => boxed(http::json(StatusCode::OK, &board.state())),
        "/admin/actions" if post => match admin::read_entry(req).await {
            Ok(entry) => answer(board.act(&entry)),
            Err(r) => boxed(r),
        },
        "/admin/play" if post => {
            let expected = "{\"play\":\"faster\"}, with faster, slower, pause or resume";
            match admin::read_json::<PlayBody>(req, expected).await {
                Ok(b) => answer(board.play(b.play)),
                Err(r) => boxed(r),
            }
        }
        "/admin/state" | "/admin/actions" | "/admin/play" => boxed(fail(
            StatusCode::METHOD_NOT_ALLOWED,
            "wrong method: GET /admin/state; POST /admin/actions and /admin/play",
        )),
        _ => boxed(fail(
            StatusCode::NOT_FOUND,
            "no such path: GET / (the dashboard), /admin/events, /admin/state; POST /admin/actions (a timeline entry as JSON, without `at`), /admin/play ({\"play\":\"faster\"})",
        )),
    }
}

/// Serves `board` on `addr` until the returned task is aborted; the address
/// it listens on.
pub async fn serve(
    addr: SocketAddr,
    board: Arc<dyn Board>,
    token: String,
) -> std::io::Result<(SocketAddr, AbortHandle)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let token: Arc<str> = token.into();
    let svc = service_fn(move |req| {
        let (b, t) = (board.clone(), token.clone());
        async move { Ok::<_, std::convert::Infallible>(handle(b, &t, req).await) }
    });
    let limits = crate::limits::Limits::default();
    let task = tokio::spawn(accept_loop(listener, svc, false, Place::Here, limits));
    Ok((bound, task.abort_handle()))
}
