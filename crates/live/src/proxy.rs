//! The live load balancer: a hyper server in front of the nodes. Routing,
//! stickiness and health are the model's `lb::LoadBalancer`; this file only
//! carries bytes: it reads the stickiness cookie, forwards over pooled
//! keep-alive connections ([`super::upstream`]) and sets the cookie on the
//! way back.

use super::client::{ClientError, Connection};
use super::cluster::Cluster;
use super::http::{self, Body0, MAX_BODY_BYTES, cookie, wants_json};
use super::limits::Limits;
use super::resolver::NoEntry;
use super::upstream::{self, Pool, Upstream, UpstreamError};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::header::{HOST, HeaderValue, SET_COOKIE};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode};
use std::net::SocketAddr;
use std::sync::Arc;
use stratus_model::lb::{LbCookie, NodeId, Route};
use stratus_model::net::LB_IDLE_TIMEOUT;
use stratus_model::target::{self, Connect, InFlight};
use stratus_model::time::{MS, SEC};

/// The balancer's stickiness cookie, named as ALB names its own.
pub const LB_COOKIE: &str = "AWSALB";
/// The response header naming the AZ of the balancer node a request came in through.
pub const LB_AZ_HEADER: &str = "x-stratus-lb-az";

pub type ProxyBody = Body0;

/// The balancer: the cluster it routes for and its keep-alive connections
/// to each node, reused request after request as an ALB reuses its own.
pub struct Proxy {
    pub cluster: Arc<Cluster>,
    pool: Pool,
}

impl Proxy {
    /// The balancer for `cluster`, its idle upstream connections bounded
    /// by `limits`.
    pub fn new(cluster: Arc<Cluster>, limits: &Limits) -> Arc<Proxy> {
        Arc::new(Proxy {
            cluster,
            pool: Pool::new(limits.upstream_keepalive, limits.upstream_idle),
        })
    }

    /// Closes idle upstream connections past their timeout, every
    /// `limits.sweep_every()`, so a quiet balancer gives its sockets back.
    pub async fn keepalive_loop(self: Arc<Self>, limits: Limits) {
        let mut tick = tokio::time::interval(limits.sweep_every());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.pool.sweep_all_at(super::clock::wall());
        }
    }

    /// Sends the request to the node over a pooled connection, or a fresh
    /// one if none is idle; the whole answer, read so the connection can go
    /// back. A request is never sent twice: a pooled connection found
    /// closed is dropped before anything is written to it, and one that
    /// closes after the request left fails it (a 502), as a reset does.
    async fn forward(
        &self,
        node: NodeId,
        addr: SocketAddr,
        head: &Parts,
        body: &Bytes,
    ) -> Result<Response<Full<Bytes>>, UpstreamError> {
        let mut up = match self.pool.checkout(node) {
            Some(u) => u,
            None => {
                self.pool.sweep();
                let timeout = std::time::Duration::from_nanos(
                    self.cluster.sc.load_balancer.connect_timeout.0,
                );
                Upstream::connect(addr, timeout).await?
            }
        };
        let (resp, keep) = upstream::forward(&mut up, head, body).await?;
        if keep {
            self.pool.checkin(node, up);
        }
        Ok(resp)
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

/// The balancer's hold on a request it routed to a node: released once,
/// when the answer is in, or, when the client hangs up first (hyper then
/// drops the request's future), on drop, as ALB forgets a request whose
/// client closed its connection.
struct Outstanding<'a> {
    cl: &'a Arc<Cluster>,
    node: NodeId,
    start: stratus_model::time::SimTime,
    open: bool,
}

impl Outstanding<'_> {
    fn release(mut self, ok: bool) {
        self.open = false;
        self.cl.released(self.node, self.start, ok);
    }
}

impl Drop for Outstanding<'_> {
    fn drop(&mut self) {
        if self.open {
            self.cl.released(self.node, self.start, false);
        }
    }
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
    let dns_entry = match cl.sc.dns {
        Some(_) => Some(cl.dns_entry().await),
        None => None,
    };
    let (node, addr, fate, added, entry) = {
        let mut c = cl.lock();
        let entry = match dns_entry {
            Some(Ok(az)) => Some(az),
            Some(Err(NoEntry::TimedOut)) => {
                cl.observe(&mut c, now, false);
                return http::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    as_json,
                    "lb_node_unreachable: the DNS answer's balancer node did not answer within the connect timeout",
                );
            }
            Some(Err(NoEntry::NoneAnswers)) => None,
            None => {
                // Each request comes in through the next answering balancer
                // node, as an ideal resolver spreads shoppers over the live ones.
                let n = c.cp.alive.len();
                c.entry = (c.entry + 1) % n;
                c.cp.net.next_answering(&c.cp.alive, c.entry)
            }
        };
        let Some(entry) = entry else {
            cl.observe(&mut c, now, false);
            return http::error(
                StatusCode::SERVICE_UNAVAILABLE,
                as_json,
                "lb_unreachable: no balancer node answers in any AZ",
            );
        };
        let routed = match c.cp.lb.route_from(entry, held, now) {
            Route::To { node, .. } => Ok(c
                .addrs
                .get(node as usize)
                .copied()
                .flatten()
                .map(|a| (node, a))),
            Route::NoTargets => Ok(None),
            Route::NoTargetsInZone => Err(()),
        };
        let Ok(Some((node, addr))) = routed else {
            cl.observe(&mut c, now, false);
            let why = match routed {
                Err(()) => {
                    "no_targets_in_zone: cross-zone is off and the entry AZ has no routable target"
                }
                Ok(_) => "no registered targets: every node is gone",
            };
            return http::error(StatusCode::SERVICE_UNAVAILABLE, as_json, why);
        };
        let to = &c.cp.fleet.nodes[node as usize];
        let net = &c.cp.net;
        let added = 2 * (net.added_internet(entry) + net.added_hop(entry, to.az));
        let fate = target::connect(to.state, net.reach(entry, to.az));
        (node, addr, fate, added, entry)
    };
    let hold = Outstanding {
        cl,
        node,
        start: now,
        open: true,
    };
    // The model's verdict on the connection, carried out: a powered-off
    // node or one across a partition costs the connect timeout, as in the
    // simulation, where a closed listener would refuse at once. A hung node
    // is reached and does not answer, so the idle timeout below applies.
    match fate {
        Connect::TimesOut => {
            let why = format!(
                "node-{node} does not answer (powered off, or across a partition): the connection timed out"
            );
            let r = timed_out(cl, as_json, &why).await;
            hold.release(false);
            return r;
        }
        Connect::Refused => {
            hold.release(false);
            return http::error(
                StatusCode::BAD_GATEWAY,
                as_json,
                &format!("node-{node} is terminated: the connection was refused"),
            );
        }
        Connect::Accepted | Connect::Hangs => {}
    }
    if added > 0 {
        tokio::time::sleep(std::time::Duration::from_nanos(added)).await;
    }
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
            hold.release(true);
            return http::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                as_json,
                "request body over 16 KiB",
            );
        }
    };
    let idle = std::time::Duration::from_nanos(LB_IDLE_TIMEOUT);
    let answer = tokio::time::timeout(idle, p.forward(node, addr, &parts, &body)).await;
    let ok = matches!(&answer, Ok(Ok(r)) if !r.status().is_server_error());
    hold.release(ok);
    let mut resp = match answer {
        Ok(Ok(r)) => r,
        // A target that accepted and never answered: the balancer's idle
        // timeout ends the wait, as an ALB's does.
        Err(_) => {
            return http::error(
                StatusCode::GATEWAY_TIMEOUT,
                as_json,
                &format!("node-{node} accepted the request and did not answer"),
            );
        }
        // The node stopped under the request, or reset the connection. Its
        // task's abort resets every connection here, so which of the model's
        // fates this was is read from the state the node stopped in: a
        // powered-off node sends nothing, and the balancer gives up after
        // its connect timeout, as in the simulation.
        Ok(Err(e)) => {
            let state = cl.lock().cp.fleet.nodes[node as usize].state;
            if target::in_flight(state) == InFlight::Lost {
                let why = format!(
                    "node-{node} powered off with the request on it: target_lost after the connect timeout"
                );
                return timed_out(cl, as_json, &why).await;
            }
            // What an ALB answers when a target refuses or resets the connection.
            return http::error(
                StatusCode::BAD_GATEWAY,
                as_json,
                &format!("node-{node} did not answer: {e}"),
            );
        }
    };
    // Which balancer node (by its AZ) took the request, as `x-stratus-node`
    // says which node served it.
    if let Ok(v) = HeaderValue::from_str(&cl.sc.region.azs[entry]) {
        resp.headers_mut().insert(LB_AZ_HEADER, v);
    }
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

/// What a target that sends nothing back costs, as the model's verdicts
/// (`Connect::TimesOut`, `InFlight::Lost`) say: the balancer waits its
/// connect timeout, then answers 504 with `why`.
async fn timed_out(cl: &Cluster, as_json: bool, why: &str) -> Response<ProxyBody> {
    let t = cl.sc.load_balancer.connect_timeout.0;
    tokio::time::sleep(std::time::Duration::from_nanos(t)).await;
    http::error(StatusCode::GATEWAY_TIMEOUT, as_json, why)
}

/// Health checks over real HTTP: every interval, `GET /health` on each
/// target with the timeout; the model's thresholds decide what a result means.
pub async fn health_loop(cluster: Arc<Cluster>) {
    let hc = cluster.sc.load_balancer.health_check;
    let timeout = std::time::Duration::from_nanos(hc.timeout.0);
    let mut tick = tokio::time::interval(std::time::Duration::from_nanos(hc.interval.0));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for (id, addr, az) in cluster.check_list() {
            let cl = cluster.clone();
            tokio::spawn(async move {
                // Checks come from the balancer's nodes in every AZ: a
                // partitioned AZ's targets fail them, by timing out.
                if cl.shop.net().partitioned[az] {
                    tokio::time::sleep(timeout).await;
                    return cl.health_result(id, false);
                }
                let pass = matches!(
                    tokio::time::timeout(timeout, check(addr, timeout)).await,
                    Ok(Ok(status)) if status == StatusCode::OK
                );
                cl.health_result(id, pass);
            });
        }
    }
}

/// One health check: `GET /health` on a fresh connection, as an ALB's
/// checks open their own; the answer's status.
async fn check(addr: SocketAddr, timeout: std::time::Duration) -> Result<StatusCode, ClientError> {
    let mut conn = Connection::connect(addr, timeout).await?;
    let (head, _) = Request::get(format!("http://{addr}/health"))
        .header(HOST, addr.to_string())
        .body(())
        .expect("a socket address is a valid authority")
        .into_parts();
    Ok(conn.send(&head, &[]).await?.response.status())
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
