//! The balancer's side of a keep-alive connection to a node: the
//! [`client`]'s exchange, with what a proxy adds to it: only
//! end-to-end headers cross in either direction, and a failure is worded
//! for the 502 that reports it. The answer is read whole before it is
//! passed on, as an event-loop proxy buffers an upstream's answer.

use super::client::{self, ClientError, Connection};
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper::header::HeaderName;
use hyper::http::request::Parts;
use stratus_model::lb::NodeId;

/// An open connection to one node.
pub type Upstream = Connection;

/// The balancer's idle keep-alive connections, by lane and node.
pub type Pool = client::Pool<NodeId>;

/// Headers that describe one hop, not the message (RFC 9110 §7.6.1): never
/// forwarded. `expect` too: the balancer has the whole body already.
const HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
];

/// Why an exchange failed, as the balancer's 502 words it: the node broke
/// the connection, or answered something a proxy cannot pass on.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("{0}")]
    Io(std::io::Error),
    #[error("connect timeout")]
    ConnectTimeout,
    #[error("the node closed the connection before answering in full")]
    Closed,
    #[error("the node's answer is not HTTP/1.1: {0}")]
    Malformed(String),
}

impl From<ClientError> for UpstreamError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Io(e) => UpstreamError::Io(e),
            ClientError::ConnectTimeout => UpstreamError::ConnectTimeout,
            ClientError::Closed => UpstreamError::Closed,
            other => UpstreamError::Malformed(other.to_string()),
        }
    }
}

/// Sends the client's request on to the node and reads its answer; the flag
/// says whether the connection may be used again.
pub async fn forward(
    up: &mut Upstream,
    head: &Parts,
    body: &Bytes,
) -> Result<(Response<Full<Bytes>>, bool), UpstreamError> {
    let request = encode(head, body);
    // `expect` is a request header: an answer's hop headers are the rest.
    let answer = up
        .exchange(&request, &head.method, |n| {
            !HOP[..7].iter().any(|h| n.eq_ignore_ascii_case(h))
        })
        .await?;
    Ok((answer.response.map(Full::new), answer.keep_alive))
}

/// Headers the client named in its Connection header: hop-by-hop too.
fn connection_named(head: &Parts) -> Vec<&str> {
    head.headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect()
}

/// The request as the node receives it: the client's method, target and
/// end-to-end headers, the body's length, and the body.
fn encode(head: &Parts, body: &Bytes) -> Vec<u8> {
    let named = connection_named(head);
    client::encode(head, body, |n: &HeaderName| {
        let n = n.as_str();
        !HOP.contains(&n) && !named.iter().any(|c| c.eq_ignore_ascii_case(n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::StatusCode;
    use std::net::SocketAddr;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
        let (r, keep) = forward(&mut up, &get, &Bytes::new()).await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(keep);
        assert_eq!(r.headers()["x-node"], "1");
        assert!(r.headers().get("connection").is_none());
        let body = http_body_util::BodyExt::collect(r.into_body())
            .await
            .unwrap();
        assert_eq!(body.to_bytes(), "hello");
        assert!(up.reusable());
        let (r, keep) = forward(&mut up, &get, &Bytes::new()).await.unwrap();
        assert_eq!((r.status(), keep), (StatusCode::NOT_FOUND, true));
        let (_, keep) = forward(&mut up, &get, &Bytes::new()).await.unwrap();
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
        assert!(forward(&mut up, &get, &Bytes::new()).await.is_ok());
    }

    #[tokio::test]
    async fn a_chunked_answer_is_passed_on_whole_without_its_coding() {
        let addr = node(vec![
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-node: 2\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        ])
        .await;
        let mut up = Upstream::connect(addr, Duration::from_secs(1))
            .await
            .unwrap();
        let get = parts(hyper::Request::get("/").body(()).unwrap());
        let (r, keep) = forward(&mut up, &get, &Bytes::new()).await.unwrap();
        assert!(keep);
        assert_eq!(r.headers()["x-node"], "2");
        assert!(r.headers().get("transfer-encoding").is_none());
        let body = http_body_util::BodyExt::collect(r.into_body())
            .await
            .unwrap();
        assert_eq!(body.to_bytes(), "abcde");
    }

    #[tokio::test]
    async fn a_node_that_hangs_up_is_worded_for_the_502() {
        let addr = node(vec![b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"]).await;
        let mut up = Upstream::connect(addr, Duration::from_secs(1))
            .await
            .unwrap();
        let get = parts(hyper::Request::get("/").body(()).unwrap());
        let e = forward(&mut up, &get, &Bytes::new()).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "the node closed the connection before answering in full"
        );
    }

    #[tokio::test]
    async fn bad_answers_are_errors_not_panics() {
        for bad in [
            &b"HTTP/1.1 200 OK\r\n\r\nno length"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n",
            b"SMTP ready\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort",
        ] {
            let addr = node(vec![bad]).await;
            let mut up = Upstream::connect(addr, Duration::from_secs(1))
                .await
                .unwrap();
            let get = parts(hyper::Request::get("/").body(()).unwrap());
            assert!(
                forward(&mut up, &get, &Bytes::new()).await.is_err(),
                "{bad:?}"
            );
        }
    }
}
