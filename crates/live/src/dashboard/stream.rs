//! Server-sent events: a snapshot as one `data:` line every
//! [`super::PUSH_EVERY`], each carrying only what is new since the last
//! (the snapshot's cursor). The producer stops when the browser goes away.

use super::WebBody;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use stratus_model::snapshot::{Cursor, Snapshot};
use tokio::sync::mpsc;

/// A body fed by a channel: each message a frame, the end when it closes.
struct Channel(mpsc::Receiver<Bytes>);

impl Body for Channel {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|m| m.map(|b| Ok(Frame::data(b))))
    }
}

/// One event: the snapshot as JSON on a `data:` line (JSON holds no newline).
pub fn event(s: &Snapshot) -> Bytes {
    let json = serde_json::to_string(s).expect("a snapshot serialises");
    Bytes::from(format!("event: snapshot\ndata: {json}\n\n"))
}

/// Streams `snapshot(cursor)` until the reader hangs up.
pub fn sse(snapshot: impl Fn(Cursor) -> Snapshot + Send + 'static) -> Response<WebBody> {
    let (tx, rx) = mpsc::channel::<Bytes>(2);
    tokio::spawn(async move {
        let mut cursor = Cursor::default();
        let mut tick = tokio::time::interval(super::PUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let s = snapshot(cursor);
            cursor = s.cursor;
            if tx.send(event(&s)).await.is_err() {
                break;
            }
        }
    });
    let mut r = Response::new(Channel(rx).boxed());
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
