//! Server-sent events: every [`super::PUSH_EVERY`] a page's producer is
//! asked for its next frame (the live shop: one snapshot; a simulation: a
//! snapshot per run and how it is played), each carrying only what is new
//! since that page's last frame. The producer stops when the page goes away.

use super::WebBody;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// One page's frames: each call, the events of its next push.
pub type Frames = Box<dyn FnMut() -> Bytes + Send>;

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

/// One event of type `kind`: `v` as JSON on one `data:` line (JSON holds no
/// newline).
pub fn event(kind: &str, v: &impl Serialize) -> Bytes {
    let json = serde_json::to_string(v).expect("a dashboard event serialises");
    Bytes::from(format!("event: {kind}\ndata: {json}\n\n"))
}

/// Streams `frames` until the reader hangs up.
pub fn sse(mut frames: Frames) -> Response<WebBody> {
    let (tx, rx) = mpsc::channel::<Bytes>(2);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(super::PUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if tx.send(frames()).await.is_err() {
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
