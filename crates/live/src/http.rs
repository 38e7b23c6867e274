//! What every live server shares: the accept loop (its connections die with
//! it, at most a cap of them open at once, each given a time to send its
//! request head: [`super::limits`]), the header limit, cookie parsing and
//! small response builders.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::limits::Limits;

/// Request head limit (request line and headers): hyper answers 431 beyond it.
/// 16 KiB, as many proxies use; hyper needs at least 8 KiB.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// A request body limit for the shop's forms: they are a few dozen bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub type Body0 = Full<Bytes>;

/// Which runtime serves a connection a listener accepts (see [`super::lanes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The runtime running the accept loop (the admin API).
    Here,
    /// The lanes in turn (the balancer's clients).
    Spread,
    /// The lane that opened it, if the balancer did; else here (a node).
    Origin,
}

/// Accepts connections until the task running it is aborted; every
/// connection is served on a task in a set the loop owns, so aborting the loop
/// closes the listener and every connection with it. With `reset`, sockets
/// close with SO_LINGER 0 (a TCP reset), as a powered-off host's peers see.
///
/// At most `limits.conns()` connections are open at once; beyond it the
/// loop stops accepting until one closes, and new ones wait in the kernel's
/// backlog, as an nginx worker stops accepting when its connections run
/// low. Each must send a whole request head within `limits.head_timeout`.
pub async fn accept_loop<S, B>(
    listener: TcpListener,
    svc: S,
    reset: bool,
    place: Place,
    limits: Limits,
) where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let mut conns = JoinSet::new();
    let gate = Arc::new(Semaphore::new(limits.conns()));
    let head = limits.head_timeout;
    loop {
        // A slot first, then a connection: both are cancel safe, so a
        // finished connection reaped meanwhile loses nothing.
        let next = async {
            let slot = gate.clone().acquire_owned().await;
            (slot, listener.accept().await)
        };
        tokio::select! {
            (slot, acc) = next => {
                let (Ok(slot), Ok((stream, peer))) = (slot, acc) else {
                    // Out of file descriptors, say: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                if reset {
                    let _ = socket2::SockRef::from(&stream).set_linger(Some(std::time::Duration::ZERO));
                }
                let lane = match place {
                    Place::Here => None,
                    Place::Spread => Some(super::lanes::spread()),
                    Place::Origin => super::lanes::by_origin(peer.port()),
                };
                let svc = svc.clone();
                match lane {
                    None => {
                        conns.spawn(async move {
                            serve(stream, svc, head).await;
                            drop(slot);
                        });
                    }
                    // The socket moves to the lane's own reactor.
                    Some(lane) => {
                        let Ok(std) = stream.into_std() else { continue };
                        conns.spawn_on(
                            async move {
                                if let Ok(stream) = tokio::net::TcpStream::from_std(std) {
                                    serve(stream, svc, head).await;
                                }
                                drop(slot);
                            },
                            &lane,
                        );
                    }
                }
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn serve<S, B>(stream: tokio::net::TcpStream, svc: S, head_timeout: Duration)
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>,
    B: Body + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let _ = serve_io(stream, svc, head_timeout).await;
}

/// Serves HTTP/1.1 on one connection, any byte stream, as every live
/// listener does: heads up to [`MAX_HEAD_BYTES`], each within
/// `head_timeout`. Public for the `head` fuzz target, which feeds it bytes
/// from memory.
pub async fn serve_io<I, S, B>(io: I, svc: S, head_timeout: Duration) -> hyper::Result<()>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>,
    B: Body + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    hyper::server::conn::http1::Builder::new()
        .max_buf_size(MAX_HEAD_BYTES)
        .timer(TokioTimer::new())
        .header_read_timeout(head_timeout)
        .serve_connection(TokioIo::new(io), svc)
        .await
}

/// The value of cookie `name` in the request's Cookie headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(hyper::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the client asked for JSON.
pub fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(hyper::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

pub fn respond(status: StatusCode, ctype: &'static str, body: impl Into<Bytes>) -> Response<Body0> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

pub fn text(status: StatusCode, body: impl Into<String>) -> Response<Body0> {
    let mut s: String = body.into();
    s.push('\n');
    respond(status, "text/plain; charset=utf-8", s)
}

pub fn json(status: StatusCode, v: &impl serde::Serialize) -> Response<Body0> {
    let mut s = serde_json::to_string(v).expect("plain data serialises");
    s.push('\n');
    respond(status, "application/json", s)
}

/// An error the way the client asked for it: JSON `{"error": …}` or text.
pub fn error(status: StatusCode, as_json: bool, msg: &str) -> Response<Body0> {
    if as_json {
        json(status, &serde_json::json!({ "error": msg }))
    } else {
        text(status, msg)
    }
}

/// Key-value pairs of a query string or urlencoded form (`+` is a space;
/// percent escapes decoded; anything undecodable kept as is).
pub fn form_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_forms() {
        let mut h = HeaderMap::new();
        h.append(
            hyper::header::COOKIE,
            HeaderValue::from_static("a=1; sid=ff"),
        );
        h.append(hyper::header::COOKIE, HeaderValue::from_static("cart=x.y"));
        assert_eq!(cookie(&h, "sid"), Some("ff"));
        assert_eq!(cookie(&h, "cart"), Some("x.y"));
        assert_eq!(cookie(&h, "b"), None);
        let f = form_pairs("product=12&size=M&note=a+b%21&bad=%zz&end=%4");
        assert_eq!(f[0], ("product".into(), "12".into()));
        assert_eq!(f[2].1, "a b!");
        assert_eq!(f[3].1, "%zz");
        assert_eq!(f[4].1, "%4");
    }
}
