//! The web dashboard on the admin address: `GET /` serves one page (its CSS
//! and script compiled in), and `GET /admin/events` streams the typed
//! snapshot to it as server-sent events. The page posts the same actions as
//! the TUI's keys to `POST /admin/actions`; everything else under `/admin`
//! is the admin API's ([`super::admin`]).
//!
//! The page itself is public: it holds no data and no secret. The token
//! rides in the start-up URL's fragment (`/#token=…`), which a browser never
//! sends, so it stays out of request lines, logs and referrers; the page
//! moves it to the tab's session storage and off the address bar, and sends
//! it as `Authorization: Bearer` on every call, the stream included.
//!
//! The same page, stream and action route serve a simulation played against
//! the wall clock ([`board`]): there the stream also says how it is played
//! (a `play` event the page shows its speed control for) and, once the runs
//! are over, their reports (a `final` event).

pub mod board;
pub mod stream;

use super::admin::{self, Admin};
use super::cluster::Cluster;
use super::http::Body0;
use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use stratus_model::snapshot::Cursor;

/// The admin address's response body: whole (the API, the page) or a stream.
pub type WebBody = BoxBody<Bytes, Infallible>;

const PAGE: &str = include_str!("page.html");
const CSS: &str = include_str!("page.css");
const JS: &str = include_str!("page.js");

/// How often the stream pushes a snapshot: a few frames a second, one
/// snapshot each (rows and events since the last one), whatever the number
/// of things on the page.
pub const PUSH_EVERY: Duration = Duration::from_millis(400);

/// Fetches go only to this origin; no frame may embed the page.
const CSP: &str = "default-src 'none'; connect-src 'self'; style-src 'unsafe-inline'; \
                   script-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; \
                   base-uri 'none'; form-action 'none'";

/// The page, CSS and script in place.
pub fn page() -> String {
    PAGE.replace("/*CSS*/", CSS).replace("/*JS*/", JS)
}

/// Serves the admin address: the page, the stream, else the admin API.
pub async fn handle(a: Arc<Admin>, req: Request<Incoming>) -> Response<WebBody> {
    let frames = || live_frames(a.cluster.clone());
    if let Some(r) = common(&req, &a.token, frames) {
        return r;
    }
    boxed(admin::handle(a, req).await)
}

/// The live shop's stream: its snapshot, what is new since the last push.
fn live_frames(cl: Arc<Cluster>) -> stream::Frames {
    let mut cursor = Cursor::default();
    Box::new(move || {
        let s = cl.snapshot(cursor);
        cursor = s.cursor;
        stream::event("snapshot", &s)
    })
}

/// The page and its stream, whoever serves them, if `req` asks for one.
fn common(
    req: &Request<Incoming>,
    token: &str,
    frames: impl FnOnce() -> stream::Frames,
) -> Option<Response<WebBody>> {
    let get = req.method() == Method::GET || req.method() == Method::HEAD;
    Some(match req.uri().path() {
        "/" | "/index.html" if get => html(page()),
        "/admin/events" if get && !admin::authorised(req, token) => boxed(admin::unauthorised()),
        "/admin/events" if get => stream::sse(frames()),
        "/" | "/index.html" | "/admin/events" => boxed(admin::fail(
            StatusCode::METHOD_NOT_ALLOWED,
            "wrong method: GET / (the dashboard) and GET /admin/events (its stream)",
        )),
        _ => return None,
    })
}

/// A whole response as the admin address's body type.
pub fn boxed(r: Response<Body0>) -> Response<WebBody> {
    r.map(|b| b.boxed())
}

/// The page with its headers: no caching, no referrer, no fetch elsewhere.
pub fn html(body: String) -> Response<WebBody> {
    let mut r = Response::new(http_body_util::Full::new(Bytes::from(body)).boxed());
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    r
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_has_its_style_and_script_inline() {
        let p = super::page();
        assert!(!p.contains("/*CSS*/") && !p.contains("/*JS*/"));
        assert!(!p.contains("src=\"http") && !p.contains("href=\"http"));
        assert!(p.contains("history.replaceState"));
    }
}
