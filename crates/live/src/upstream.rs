//! The balancer's side of a keep-alive connection to a node: one HTTP/1.1
//! exchange at a time, the request written in one piece and the answer read
//! whole into one buffer, as an event-loop proxy buffers an upstream's
//! answer. The nodes are Stratus's own hyper servers, so their answers
//! always carry a length; anything else is refused as a bad gateway.

use super::lanes;
use bytes::{Bytes, BytesMut};
use dashmap::DashMap;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};
use std::net::SocketAddr;
use std::time::Duration;
use stratus_model::lb::NodeId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The largest answer head a node may send; its pages' heads are a few
/// hundred bytes.
const MAX_HEAD: usize = 16 * 1024;
/// The largest answer body the balancer buffers.
const MAX_BODY: usize = 8 * 1024 * 1024;
/// Headers that describe one hop, not the message (RFC 9110 §7.6.1): never
/// forwarded. `expect` too: the balancer has the whole body already.
const HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
    "content-length",
];

/// Why an exchange failed: the node broke the connection, or answered
/// something a proxy cannot pass on.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("connect timeout")]
    ConnectTimeout,
    #[error("the node closed the connection before answering in full")]
    Closed,
    #[error("the node's answer is not HTTP/1.1: {0}")]
    Malformed(String),
}

/// An open connection to one node.
pub struct Upstream {
    io: TcpStream,
    buf: BytesMut,
}

impl Upstream {
    /// Opens a connection from the lane this runs on, so the node serves
    /// it on the same lane (see [`lanes`]).
    pub async fn connect(addr: SocketAddr, timeout: Duration) -> Result<Self, UpstreamError> {
        let sock = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        let here = SocketAddr::new(addr.ip(), 0);
        sock.bind(here)?;
        lanes::mark(sock.local_addr()?.port());
        let io = match tokio::time::timeout(timeout, sock.connect(addr)).await {
            Ok(r) => r?,
            Err(_) => return Err(UpstreamError::ConnectTimeout),
        };
        io.set_nodelay(true)?;
        Ok(Upstream {
            io,
            buf: BytesMut::with_capacity(4096),
        })
    }

    /// Whether an idle pooled connection can carry another request: the
    /// node has neither closed it nor sent anything unasked.
    pub fn reusable(&self) -> bool {
        let mut probe = [0u8; 1];
        matches!(self.io.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }

    /// Sends one request and reads its answer; the flag says whether the
    /// connection may be used again.
    pub async fn exchange(
        &mut self,
        head: &Parts,
        body: &Bytes,
    ) -> Result<(Response<Full<Bytes>>, bool), UpstreamError> {
        let out = encode(head, body);
        self.io.write_all(&out).await?;
        self.buf.clear();
        let (resp, head_len, keep) = loop {
            if let Some(parsed) = self.parse_head(&head.method)? {
                break parsed;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(UpstreamError::Malformed("answer head over 16 KiB".into()));
            }
            if self.io.read_buf(&mut self.buf).await? == 0 {
                return Err(UpstreamError::Closed);
            }
        };
        let (mut resp, len) = resp;
        let total = head_len + len;
        while self.buf.len() < total {
            self.buf.reserve(total - self.buf.len());
            if self.io.read_buf(&mut self.buf).await? == 0 {
                return Err(UpstreamError::Closed);
            }
        }
        let mut rest = self.buf.split_to(total);
        let body = rest.split_off(head_len).freeze();
        *resp.body_mut() = Full::new(body);
        // Bytes past the answer were never asked for: do not reuse.
        Ok((resp, keep && self.buf.is_empty()))
    }

    /// The answer's head once it is all in the buffer, with its length and
    /// the body's, skipping any interim (1xx) answers.
    #[allow(clippy::type_complexity)]
    fn parse_head(
        &mut self,
        method: &Method,
    ) -> Result<Option<((Response<Full<Bytes>>, usize), usize, bool)>, UpstreamError> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut r = httparse::Response::new(&mut headers);
            let n = match r.parse(&self.buf) {
                Ok(httparse::Status::Complete(n)) => n,
                Ok(httparse::Status::Partial) => return Ok(None),
                Err(e) => return Err(UpstreamError::Malformed(e.to_string())),
            };
            let code = r.code.unwrap_or(0);
            if (100..200).contains(&code) {
                let _ = self.buf.split_to(n);
                continue;
            }
            let status = StatusCode::from_u16(code)
                .map_err(|_| UpstreamError::Malformed(format!("status {code}")))?;
            let mut keep = r.version == Some(1);
            let mut len = None;
            let mut resp = Response::new(Full::new(Bytes::new()));
            *resp.status_mut() = status;
            for h in r.headers.iter() {
                if h.name.eq_ignore_ascii_case("content-length") {
                    let v = std::str::from_utf8(h.value)
                        .ok()
                        .and_then(|v| v.trim().parse().ok());
                    len =
                        Some(v.ok_or_else(|| {
                            UpstreamError::Malformed("bad content-length".into())
                        })?);
                } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                    return Err(UpstreamError::Malformed(
                        "a node answered with a transfer coding; Stratus's nodes send a length"
                            .into(),
                    ));
                } else if h.name.eq_ignore_ascii_case("connection") {
                    keep &= !h.value.eq_ignore_ascii_case(b"close");
                    continue;
                }
                if HOP[..7].iter().any(|n| h.name.eq_ignore_ascii_case(n)) {
                    continue;
                }
                let name = HeaderName::from_bytes(h.name.as_bytes())
                    .map_err(|e| UpstreamError::Malformed(e.to_string()))?;
                let value = HeaderValue::from_bytes(h.value)
                    .map_err(|e| UpstreamError::Malformed(e.to_string()))?;
                resp.headers_mut().append(name, value);
            }
            let bodiless = *method == Method::HEAD
                || status == StatusCode::NO_CONTENT
                || status == StatusCode::NOT_MODIFIED;
            let len = match (bodiless, len) {
                (true, _) => 0,
                (false, Some(l)) if l <= MAX_BODY => l,
                (false, Some(_)) => {
                    return Err(UpstreamError::Malformed("answer body over 8 MiB".into()));
                }
                (false, None) => {
                    return Err(UpstreamError::Malformed(
                        "an answer without a length; Stratus's nodes send one".into(),
                    ));
                }
            };
            return Ok(Some(((resp, len), n, keep)));
        }
    }
}

/// The balancer's idle keep-alive connections, by lane and node. Each lane
/// keeps its own (as each worker of an event-loop proxy does), so a
/// connection is only ever used on the lane whose reactor drives it.
#[derive(Default)]
pub struct Pool {
    idle: DashMap<(Option<usize>, NodeId), Vec<Upstream>>,
}

impl Pool {
    /// An idle connection to `node` this lane opened, still open.
    pub fn checkout(&self, node: NodeId) -> Option<Upstream> {
        let mut idle = self.idle.get_mut(&(lanes::current(), node))?;
        while let Some(u) = idle.pop() {
            if u.reusable() {
                return Some(u);
            }
        }
        None
    }

    pub fn checkin(&self, node: NodeId, up: Upstream) {
        self.idle
            .entry((lanes::current(), node))
            .or_default()
            .push(up);
    }

    /// Closes this lane's connections that their nodes closed: a dead or
    /// retired node's would otherwise hold their sockets for good, as node
    /// ids are never reused. Called when a fresh connection opens, a sign
    /// that traffic has moved.
    pub fn sweep(&self) {
        let lane = lanes::current();
        self.idle.retain(|(l, _), idle| {
            if *l == lane {
                idle.retain(Upstream::reusable);
            }
            *l != lane || !idle.is_empty()
        });
    }

    /// How many idle connections this lane holds.
    pub fn idle(&self) -> usize {
        let lane = lanes::current();
        self.idle
            .iter()
            .filter(|e| e.key().0 == lane)
            .map(|e| e.value().len())
            .sum()
    }
}

/// The request as the node receives it: the client's method, target and
/// end-to-end headers, the body's length, and the body, in one buffer.
fn encode(head: &Parts, body: &Bytes) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(head.method.as_str().as_bytes());
    out.push(b' ');
    let target = head.uri.path_and_query().map_or("/", |p| p.as_str());
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    // Headers the client named in its Connection header are hop-by-hop too.
    let named: Vec<&str> = head
        .headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for (name, value) in &head.headers {
        let n = name.as_str();
        if HOP.contains(&n) || named.iter().any(|c| c.eq_ignore_ascii_case(n)) {
            continue;
        }
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || !matches!(head.method, Method::GET | Method::HEAD) {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(req: hyper::Request<()>) -> Parts {
        req.into_parts().0
    }

    #[test]
    fn hop_by_hop_headers_stay_behind() {
        let p = parts(
            hyper::Request::post("http://shop.example/cart/add?x=1")
                .header("host", "shop.example")
                .header("connection", "keep-alive, x-trace")
                .header("x-trace", "1")
                .header("transfer-encoding", "chunked")
                .header("expect", "100-continue")
                .header("cookie", "sid=ff")
                .body(())
                .unwrap(),
        );
        let out = String::from_utf8(encode(&p, &Bytes::from_static(b"product=3"))).unwrap();
        assert_eq!(
            out,
            "POST /cart/add?x=1 HTTP/1.1\r\nhost: shop.example\r\ncookie: sid=ff\r\n\
             content-length: 9\r\n\r\nproduct=3"
        );
        let get = parts(hyper::Request::get("/").body(()).unwrap());
        assert_eq!(encode(&get, &Bytes::new()), b"GET / HTTP/1.1\r\n\r\n");
    }

    /// A fake node on loopback: answers each request with the given bytes.
    async fn node(answers: Vec<&'static [u8]>) -> SocketAddr {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            for a in answers {
                let _ = s.read(&mut buf).await.unwrap();
                // Split the answer across writes, as a slow node's would be.
                let (x, y) = a.split_at(a.len() / 2);
                s.write_all(x).await.unwrap();
                s.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
                s.write_all(y).await.unwrap();
            }
        });
        addr
    }

    #[tokio::test]
    async fn answers_are_read_whole_and_the_connection_reused() {
        let addr = node(vec![
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-node: 1\r\nconnection: keep-alive\r\n\r\nhello",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
        ])
        .await;
        let mut up = Upstream::connect(addr, Duration::from_secs(1))
            .await
            .unwrap();
        let get = parts(hyper::Request::get("/").body(()).unwrap());
        let (r, keep) = up.exchange(&get, &Bytes::new()).await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(keep);
        assert_eq!(r.headers()["x-node"], "1");
        assert!(r.headers().get("connection").is_none());
        let body = http_body_util::BodyExt::collect(r.into_body())
            .await
            .unwrap();
        assert_eq!(body.to_bytes(), "hello");
        assert!(up.reusable());
        let (r, keep) = up.exchange(&get, &Bytes::new()).await.unwrap();
        assert_eq!((r.status(), keep), (StatusCode::NOT_FOUND, true));
        let (_, keep) = up.exchange(&get, &Bytes::new()).await.unwrap();
        assert!(!keep, "connection: close is honoured");
    }

    #[tokio::test]
    async fn the_pool_reuses_open_connections_and_sweeps_closed_ones() {
        let live = node(vec![b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"]).await;
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dying = l.local_addr().unwrap();
        let pool = Pool::default();
        let t = Duration::from_secs(1);
        pool.checkin(1, Upstream::connect(live, t).await.unwrap());
        pool.checkin(2, Upstream::connect(dying, t).await.unwrap());
        pool.checkin(2, Upstream::connect(dying, t).await.unwrap());
        assert_eq!(pool.idle(), 3);
        // The dying node accepts both and goes away: its sockets reset.
        for _ in 0..2 {
            let (s, _) = l.accept().await.unwrap();
            socket2::SockRef::from(&s)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
        }
        drop(l);
        tokio::time::sleep(Duration::from_millis(50)).await;
        pool.sweep();
        assert_eq!(pool.idle(), 1, "only the live node's connection is left");
        assert!(pool.checkout(2).is_none());
        let mut up = pool.checkout(1).expect("the live one");
        let get = parts(hyper::Request::get("/").body(()).unwrap());
        assert!(up.exchange(&get, &Bytes::new()).await.is_ok());
    }

    #[tokio::test]
    async fn bad_answers_are_errors_not_panics() {
        for bad in [
            &b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\n\r\nno length",
            b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n",
            b"SMTP ready\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort",
        ] {
            let addr = node(vec![bad]).await;
            let mut up = Upstream::connect(addr, Duration::from_secs(1))
                .await
                .unwrap();
            let get = parts(hyper::Request::get("/").body(()).unwrap());
            assert!(up.exchange(&get, &Bytes::new()).await.is_err(), "{bad:?}");
        }
    }
}
