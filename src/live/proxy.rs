//! The live load balancer: a hyper server in front of the nodes. Routing,
//! stickiness and health are the model's `lb::LoadBalancer`; this file only
//! carries bytes: it reads the stickiness cookie, forwards over pooled
//! keep-alive connections and sets the cookie on the way back.

use super::cluster::Cluster;
use super::http::{self, Body0, cookie, wants_json};
use crate::lb::{LbCookie, Route};
use crate::time::{MS, SEC};
use bytes::Bytes;
use http_body_util::Either;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, SET_COOKIE};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;

/// The balancer's stickiness cookie, named as ALB names its own.
pub const LB_COOKIE: &str = "AWSALB";

pub type ProxyBody = Either<Incoming, Body0>;

pub struct Proxy {
    pub cluster: Arc<Cluster>,
    client: Client<HttpConnector, Incoming>,
}

impl Proxy {
    pub fn new(cluster: Arc<Cluster>) -> Arc<Proxy> {
        let mut conn = HttpConnector::new();
        conn.set_nodelay(true);
        conn.set_connect_timeout(Some(std::time::Duration::from_nanos(
            cluster.sc.load_balancer.connect_timeout.0,
        )));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(std::time::Duration::from_secs(60))
            .build(conn);
        Arc::new(Proxy { cluster, client })
    }
}

/// `node-expiry_ms`: the target and when stickiness lapses, in server time.
fn parse_lb_cookie(v: &str) -> Option<LbCookie> {
    let (n, e) = v.split_once('-')?;
    Some(LbCookie { node: n.parse().ok()?, expires: e.parse::<u64>().ok()?.checked_mul(MS)? })
}

fn err(status: StatusCode, json: bool, msg: &str) -> Response<ProxyBody> {
    http::error(status, json, msg).map(Either::Right)
}

pub async fn handle(p: Arc<Proxy>, mut req: Request<Incoming>) -> Response<ProxyBody> {
    let cl = &p.cluster;
    let as_json = wants_json(req.headers());
    let now = cl.shop.clock.now();
    let held = if cl.sticky { cookie(req.headers(), LB_COOKIE).and_then(parse_lb_cookie) } else { None };
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
        _ => return err(StatusCode::SERVICE_UNAVAILABLE, as_json, "no registered targets: every node is gone"),
    };
    let pq = req.uri().path_and_query().map_or("/", |x| x.as_str());
    let uri: Uri = match format!("http://{addr}{pq}").parse() {
        Ok(u) => u,
        Err(_) => {
            cl.lock().lb.release(node);
            return err(StatusCode::BAD_REQUEST, as_json, "request target is not a valid path");
        }
    };
    *req.uri_mut() = uri;
    let answer = p.client.request(req).await;
    cl.lock().lb.release(node);
    let mut resp = match answer {
        Ok(r) => r.map(Either::Left),
        // What an ALB answers when a target refuses or resets the connection.
        Err(_) => return err(StatusCode::BAD_GATEWAY, as_json, &format!("node-{node} did not answer (connection refused or reset)")),
    };
    if cl.sticky {
        let ttl = cl.sc.load_balancer.stickiness_duration.0;
        let v = format!("{LB_COOKIE}={node}-{}; Max-Age={}; Path=/", (now + ttl) / MS, ttl / SEC);
        resp.headers_mut().append(SET_COOKIE, HeaderValue::from_str(&v).expect("digits are a valid header"));
    }
    resp
}

/// Health checks over real HTTP: every interval, `GET /health` on each
/// target with the timeout; the model's thresholds decide what a result means.
pub async fn health_loop(cluster: Arc<Cluster>) {
    let hc = cluster.sc.load_balancer.health_check;
    let client: Client<HttpConnector, http_body_util::Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).pool_max_idle_per_host(0).build_http();
    let mut tick = tokio::time::interval(std::time::Duration::from_nanos(hc.interval.0));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for (id, addr) in cluster.check_list() {
            let client = client.clone();
            let cl = cluster.clone();
            tokio::spawn(async move {
                let uri: Uri = format!("http://{addr}/health").parse().expect("a socket address is a valid authority");
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
        assert_eq!(parse_lb_cookie("3-1500"), Some(LbCookie { node: 3, expires: 1500 * MS }));
        assert_eq!(parse_lb_cookie("x-1"), None);
        assert_eq!(parse_lb_cookie("3"), None);
        assert_eq!(parse_lb_cookie("3-99999999999999999999"), None);
    }
}
