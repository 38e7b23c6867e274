//! The live load balancer: a hyper server in front of the nodes. Routing,
//! stickiness and health are the model's `lb::LoadBalancer`; this file only
//! carries bytes: it reads the stickiness cookie, forwards over pooled
//! keep-alive connections and sets the cookie on the way back.

use super::cluster::Cluster;
use super::http::{self, Body0, MAX_BODY_BYTES, cookie, wants_json};
use crate::lb::{LbCookie, NodeId, Route};
use crate::time::{MS, SEC};
use bytes::Bytes;
use dashmap::DashMap;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper::header::{HeaderValue, SET_COOKIE};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;

/// The balancer's stickiness cookie, named as ALB names its own.
pub const LB_COOKIE: &str = "AWSALB";

pub type ProxyBody = Body0;

/// A keep-alive connection to a node: the request half and the connection
/// itself, which the request's own task drives while it waits for the
/// answer (no hop to a separate connection task, as an event-loop proxy has
/// none).
struct Upstream {
    tx: SendRequest<Full<Bytes>>,
    conn: Connection<TokioIo<TcpStream>, Full<Bytes>>,
}

/// The balancer: the cluster it routes for and its keep-alive connections
/// to each node, reused request after request as an ALB reuses its own.
pub struct Proxy {
    pub cluster: Arc<Cluster>,
    pool: DashMap<NodeId, Vec<Upstream>>,
}

impl Proxy {
    pub fn new(cluster: Arc<Cluster>) -> Arc<Proxy> {
        Arc::new(Proxy {
            cluster,
            pool: DashMap::new(),
        })
    }

    fn checkout(&self, node: NodeId) -> Option<Upstream> {
        let mut idle = self.pool.get_mut(&node)?;
        while let Some(u) = idle.pop() {
            if !u.tx.is_closed() {
                return Some(u);
            }
        }
        None
    }

    async fn connect(&self, addr: SocketAddr) -> Result<Upstream, String> {
        let timeout =
            std::time::Duration::from_nanos(self.cluster.sc.load_balancer.connect_timeout.0);
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("connect timeout".into()),
        };
        let _ = stream.set_nodelay(true);
        let (tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        Ok(Upstream { tx, conn })
    }

    /// Sends the request to the node over a pooled connection (a fresh one
    /// if none is idle, or if the pooled one turns out closed before the
    /// request left); the whole answer, read so the connection can go back.
    async fn forward(
        &self,
        node: NodeId,
        addr: SocketAddr,
        mut req: Request<Full<Bytes>>,
    ) -> Result<Response<Full<Bytes>>, String> {
        let mut pooled = self.checkout(node);
        loop {
            let from_pool = pooled.is_some();
            let mut up = match pooled.take() {
                Some(u) => u,
                None => self.connect(addr).await?,
            };
            let (result, open) = {
                let Upstream { tx, conn } = &mut up;
                let exchange = async {
                    if tx.ready().await.is_err() {
                        return Err(Some(req));
                    }
                    let resp = tx
                        .try_send_request(req)
                        .await
                        .map_err(|mut e| e.take_message())?;
                    let (head, body) = resp.into_parts();
                    let bytes = body.collect().await.map_err(|_| None)?.to_bytes();
                    Ok::<_, Option<Request<Full<Bytes>>>>(Response::from_parts(
                        head,
                        Full::new(bytes),
                    ))
                };
                tokio::pin!(exchange);
                let mut open = true;
                let result = loop {
                    tokio::select! {
                        biased;
                        r = &mut exchange => break r,
                        _ = &mut *conn, if open => open = false,
                    }
                };
                (result, open)
            };
            match result {
                Ok(resp) => {
                    if open && !up.tx.is_closed() {
                        self.pool.entry(node).or_default().push(up);
                    }
                    return Ok(resp);
                }
                // Never written to a stale pooled connection: safe to send
                // on a fresh one.
                Err(Some(back)) if from_pool => req = back,
                Err(_) => return Err(format!("node-{node} closed the connection")),
            }
        }
    }
}

/// `node-expiry_ms`: the target and when stickiness lapses, in server time.
fn parse_lb_cookie(v: &str) -> Option<LbCookie> {
    let (n, e) = v.split_once('-')?;
    Some(LbCookie {
        node: n.parse().ok()?,
        expires: e.parse::<u64>().ok()?.checked_mul(MS)?,
    })
}

pub async fn handle(p: Arc<Proxy>, req: Request<Incoming>) -> Response<ProxyBody> {
    let cl = &p.cluster;
    let as_json = wants_json(req.headers());
    let now = cl.shop.clock.now();
    let held = if cl.sticky {
        cookie(req.headers(), LB_COOKIE).and_then(parse_lb_cookie)
    } else {
        None
    };
    let (route, addr) = {
        let mut c = cl.lock();
        let route = c.lb.route(held, now);
        let addr = match route {
            Route::To { node, .. } => c.addrs[node as usize],
            Route::NoTargets => None,
        };
        (route, addr)
    };
    let (node, addr) = match (route, addr) {
        (Route::To { node, .. }, Some(a)) => (node, a),
        _ => {
            return http::error(
                StatusCode::SERVICE_UNAVAILABLE,
                as_json,
                "no registered targets: every node is gone",
            );
        }
    };
    let (parts, body) = req.into_parts();
    let body = if body.is_end_stream() {
        Ok(Bytes::new())
    } else {
        Limited::new(body, MAX_BODY_BYTES)
            .collect()
            .await
            .map(|b| b.to_bytes())
    };
    let body = match body {
        Ok(b) => b,
        Err(_) => {
            cl.lock().lb.release(node);
            return http::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                as_json,
                "request body over 16 KiB",
            );
        }
    };
    let answer = p
        .forward(node, addr, Request::from_parts(parts, Full::new(body)))
        .await;
    cl.lock().lb.release(node);
    let mut resp = match answer {
        Ok(r) => r,
        // What an ALB answers when a target refuses or resets the connection.
        Err(_) => {
            return http::error(
                StatusCode::BAD_GATEWAY,
                as_json,
                &format!("node-{node} did not answer (connection refused or reset)"),
            );
        }
    };
    if cl.sticky {
        let ttl = cl.sc.load_balancer.stickiness_duration.0;
        let v = format!(
            "{LB_COOKIE}={node}-{}; Max-Age={}; Path=/",
            (now + ttl) / MS,
            ttl / SEC
        );
        resp.headers_mut().append(
            SET_COOKIE,
            HeaderValue::from_str(&v).expect("digits are a valid header"),
        );
    }
    resp
}

/// Health checks over real HTTP: every interval, `GET /health` on each
/// target with the timeout; the model's thresholds decide what a result means.
pub async fn health_loop(cluster: Arc<Cluster>) {
    let hc = cluster.sc.load_balancer.health_check;
    let client: Client<HttpConnector, http_body_util::Empty<Bytes>> =
        Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http();
    let mut tick = tokio::time::interval(std::time::Duration::from_nanos(hc.interval.0));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for (id, addr) in cluster.check_list() {
            let client = client.clone();
            let cl = cluster.clone();
            tokio::spawn(async move {
                let uri: Uri = format!("http://{addr}/health")
                    .parse()
                    .expect("a socket address is a valid authority");
                let check = client.get(uri);
                let pass = matches!(
                    tokio::time::timeout(std::time::Duration::from_nanos(hc.timeout.0), check).await,
                    Ok(Ok(r)) if r.status() == StatusCode::OK
                );
                cl.health_result(id, pass);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lb_cookie_parses() {
        assert_eq!(
            parse_lb_cookie("3-1500"),
            Some(LbCookie {
                node: 3,
                expires: 1500 * MS
            })
        );
        assert_eq!(parse_lb_cookie("x-1"), None);
        assert_eq!(parse_lb_cookie("3"), None);
        assert_eq!(parse_lb_cookie("3-99999999999999999999"), None);
    }
}
