//! The live shop in process: real sockets on ephemeral loopback ports, a
//! Rust HTTP client, the admin API; no outside tool needed.

use crate::common;
use crate::common::live::{C, client, primary_az, state_until};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{ACCEPT, COOKIE, SET_COOKIE};
use hyper::{Method, Request, StatusCode};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;
use stratus::live::{self, Config, Handle};
use stratus::scenario::{Scenario, Strategy};
use stratus::time::Dur;

fn scenario() -> Scenario {
    common::live::scenario("live-test")
}

async fn start(strategy: Strategy) -> Handle {
    common::live::start(scenario(), strategy, true).await
}

/// A browser: cookies by name, replaced by each Set-Cookie.
#[derive(Default)]
struct Browser {
    jar: Vec<(String, String)>,
}

impl Browser {
    async fn go(
        &mut self,
        c: &C,
        addr: SocketAddr,
        method: Method,
        path: &str,
        body: &str,
    ) -> (StatusCode, Value) {
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let req = Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"))
            .header(ACCEPT, "application/json")
            .header(COOKIE, cookies.join("; "))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let r = c.request(req).await.expect("the balancer answers");
        for v in r.headers().get_all(SET_COOKIE) {
            let kv = v.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            self.jar.retain(|(n, _)| n != k);
            self.jar.push((k.into(), v.into()));
        }
        let status = r.status();
        let body = r.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}

async fn admin(
    c: &C,
    h: &Handle,
    method: Method,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, Value) {
    common::live::call(c, h, method, path, token, "").await
}

/// Powers off `az` through the admin API.
async fn kill_az(c: &C, h: &Handle, az: &str) {
    let kill = format!("/admin/az/{az}/kill");
    let (s, v) = admin(c, h, Method::POST, &kill, Some(&h.token)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

fn cart_len(v: &Value) -> usize {
    v["cart"].as_array().map_or(usize::MAX, Vec::len)
}

/// Adds an item, kills the AZ of the node that served it, and reads the cart
/// once the balancer answers again: the number of lines the server still holds.
async fn cart_after_az_kill(strategy: Strategy) -> usize {
    let h = start(strategy).await;
    let c = client();
    let mut b = Browser::default();
    let (s, v) = b
        .go(
            &c,
            h.shop,
            Method::POST,
            "/cart/add",
            "product=7&size=L&colour=navy",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(cart_len(&v), 1);
    let az = v["az"].as_str().unwrap().to_string();
    let (s, v) = b.go(&c, h.shop, Method::GET, "/cart", "").await;
    assert_eq!((s, cart_len(&v)), (StatusCode::OK, 1), "{v}");
    tokio::time::sleep(Duration::from_millis(50)).await; // past the store's replication lag
    kill_az(&c, &h, &az).await;
    // Until the health checks notice, requests to the dead nodes time out
    // (504, after the balancer's connect timeout, as in the simulation);
    // the store may be failing over (503). Then the cart page answers.
    let mut seen = None;
    for _ in 0..200 {
        let (s, v) = b.go(&c, h.shop, Method::GET, "/cart", "").await;
        if s == StatusCode::OK {
            assert_ne!(v["az"].as_str(), Some(az.as_str()), "a dead AZ answered");
            seen = Some(cart_len(&v));
            break;
        }
        assert!(
            matches!(
                s,
                StatusCode::GATEWAY_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE
            ),
            "{s} {v}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let (_, state) = admin(&c, &h, Method::GET, "/admin/state", Some(&h.token)).await;
    let alive: Vec<bool> = state["azs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["alive"].as_bool().unwrap())
        .collect();
    assert_eq!(alive.iter().filter(|a| !**a).count(), 1, "{state}");
    h.shutdown();
    seen.expect("the shop answers again after the health checks")
}

/// A sticky shop whose health checks come once a minute, so a dead node is
/// still a target when asked, and a shopper stuck to a node by an item in
/// the cart: the shop, the client, the browser and the node's AZ.
async fn stuck_to_a_node() -> (Handle, C, Browser, String) {
    let mut sc = scenario();
    sc.load_balancer.health_check.interval = Dur::from_secs(60);
    let h = common::live::start(sc, Strategy::Sticky, false).await;
    let c = client();
    let mut b = Browser::default();
    let add = "product=7&size=L&colour=navy";
    let (s, v) = b.go(&c, h.shop, Method::POST, "/cart/add", add).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let az = v["az"].as_str().unwrap().to_string();
    (h, c, b, az)
}

/// A request the balancer sends to a powered-off node times out (504, after
/// the connect timeout), as the simulation's `connect_timeout` failure
/// does; a closed listener would refuse it at once (a 502). The health
/// checks are slowed so the dead node is still a target when asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_powered_off_node_times_out_as_in_the_simulation() {
    let (h, c, mut b, az) = stuck_to_a_node().await;
    kill_az(&c, &h, &az).await;
    // Stuck to the dead node, which the balancer still counts healthy.
    let (s, v) = b.go(&c, h.shop, Method::GET, "/cart", "").await;
    assert_eq!(s, StatusCode::GATEWAY_TIMEOUT, "{v}");
    let why = v["error"].as_str().unwrap_or_default();
    assert!(why.contains("timed out"), "{v}");
    h.shutdown();
}

/// A request on a node when it powers off gets no answer and no reset: the
/// balancer gives up after its connect timeout (504), as the simulation's
/// `target_lost` does, where the aborted connection would have answered 502
/// at once. The node's AZ is slowed a thousandfold so the page is still on
/// it when the AZ dies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_on_a_node_that_powers_off_is_lost_as_in_the_simulation() {
    let (h, c, mut b, az) = stuck_to_a_node().await;
    let slow = format!(r#"{{"action":"slow_az","az":"{az}","value":1000}}"#);
    let (s, v) = common::live::call(
        &c,
        &h,
        Method::POST,
        "/admin/actions",
        Some(&h.token),
        &slow,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (shop, c2) = (h.shop, c.clone());
    let page = tokio::spawn(async move { b.go(&c2, shop, Method::GET, "/cart", "").await });
    // Until the balancer holds the request on a node (a bound, not a
    // timing: the page sleeps for many seconds on the slowed node).
    for polls in 0.. {
        assert!(polls < 1_000, "the page never reached a node");
        let (_, st) = admin(&c, &h, Method::GET, "/admin/state", Some(&h.token)).await;
        let held: u64 = st["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["outstanding"].as_u64().unwrap_or(0))
            .sum();
        if held > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    kill_az(&c, &h, &az).await;
    let (s, v) = page.await.unwrap();
    assert_eq!(s, StatusCode::GATEWAY_TIMEOUT, "{v}");
    let why = v["error"].as_str().unwrap_or_default();
    assert!(why.contains("target_lost"), "{v}");
    h.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sticky_cart_dies_with_its_az() {
    assert_eq!(cart_after_az_kill(Strategy::Sticky).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_cart_survives_the_az() {
    assert_eq!(cart_after_az_kill(Strategy::Store).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_cart_survives_the_az() {
    assert_eq!(cart_after_az_kill(Strategy::Cookie).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sticky_shopper_stays_on_one_node_and_checks_out() {
    let h = start(Strategy::Sticky).await;
    let c = client();
    let mut b = Browser::default();
    let mut nodes = Vec::new();
    for p in 0..5 {
        let (s, v) = b
            .go(
                &c,
                h.shop,
                Method::POST,
                "/cart/add",
                &format!("product={p}"),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        nodes.push(v["node"].as_u64().unwrap());
    }
    nodes.dedup();
    assert_eq!(nodes.len(), 1, "stickiness keeps one node");
    let (s, v) = b.go(&c, h.shop, Method::POST, "/checkout", "").await;
    assert_eq!(
        (s, v["ordered"].as_bool(), cart_len(&v)),
        (StatusCode::OK, Some(true), 5)
    );
    let (_, v) = b.go(&c, h.shop, Method::GET, "/cart", "").await;
    assert_eq!(cart_len(&v), 0, "checkout empties the cart");
    // Without stickiness (store), requests spread over the nodes.
    let h2 = start(Strategy::Store).await;
    let mut b = Browser::default();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..6 {
        let (_, v) = b.go(&c, h2.shop, Method::GET, "/", "").await;
        seen.insert(v["node"].as_u64().unwrap());
    }
    assert_eq!(seen.len(), 6, "round robin over six nodes");
    h.shutdown();
    h2.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_pages_for_a_browser_and_errors_for_bad_forms() {
    let h = start(Strategy::Store).await;
    let c = client();
    let get = |path: &str, accept: &'static str| {
        Request::get(format!("http://{}{path}", h.shop))
            .header(ACCEPT, accept)
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let r = c.request(get("/product/3", "text/html")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body =
        String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(
        body.contains("<form method=\"post\" action=\"/cart/add\">"),
        "{body}"
    );
    for (path, status) in [
        ("/product/999999", StatusCode::NOT_FOUND),
        ("/nowhere", StatusCode::NOT_FOUND),
    ] {
        let r = c.request(get(path, "application/json")).await.unwrap();
        assert_eq!(r.status(), status, "{path}");
    }
    let mut b = Browser::default();
    let (s, v) = b
        .go(
            &c,
            h.shop,
            Method::POST,
            "/cart/add",
            "product=1&colour=mauve",
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("colour must be one of"),
        "{v}"
    );
    // A tampered cart cookie is refused and read as an empty cart.
    let h2 = start(Strategy::Cookie).await;
    let mut b = Browser::default();
    b.go(&c, h2.shop, Method::POST, "/cart/add", "product=2")
        .await;
    let (k, v) = b.jar.iter_mut().find(|(k, _)| k == "cart").unwrap();
    assert_eq!(k, "cart");
    v.replace_range(0..1, if v.starts_with('A') { "B" } else { "A" });
    let (s, v) = b.go(&c, h2.shop, Method::GET, "/cart", "").await;
    assert_eq!((s, cart_len(&v)), (StatusCode::OK, 0));
    assert!(v["cookie_rejected"].is_string(), "{v}");
    h.shutdown();
    h2.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_needs_the_token_and_names_its_paths() {
    let h = start(Strategy::Sticky).await;
    let c = client();
    let t = Some(h.token.as_str());
    let (s, v) = admin(&c, &h, Method::GET, "/admin/nope", t).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(v["error"].as_str().unwrap().contains("/admin/state"), "{v}");
    // Refusals change nothing, so their order does not matter.
    use {Method as M, StatusCode as S};
    for (method, path, token, want) in [
        (M::GET, "/admin/state", None, S::UNAUTHORIZED),
        (M::GET, "/admin/state", Some("wrong"), S::UNAUTHORIZED),
        (M::POST, "/admin/az/mars-1a/kill", t, S::NOT_FOUND),
        (
            M::GET,
            "/admin/az/us-east-1a/kill",
            t,
            S::METHOD_NOT_ALLOWED,
        ),
        (M::POST, "/admin/capacity/99", t, S::UNPROCESSABLE_ENTITY),
        (M::POST, "/admin/capacity/x", t, S::BAD_REQUEST),
        (M::POST, "/admin/deploy/0", t, S::BAD_REQUEST),
        (M::GET, "/admin/deploy", t, S::METHOD_NOT_ALLOWED),
    ] {
        let got = admin(&c, &h, method.clone(), path, token).await.0;
        assert_eq!(got, want, "{method} {path} with {token:?}");
    }
    // Scale out to 9: three nodes boot, register and pass their health checks.
    assert_eq!(
        admin(&c, &h, Method::POST, "/admin/capacity/9", t).await.0,
        StatusCode::OK
    );
    let healthy = |st: &Value| {
        st["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["health"] == "healthy")
            .count()
    };
    let st = state_until(&c, &h, 200, |st| healthy(st) == 9).await;
    assert_eq!(healthy(&st), 9);
    // Scale in to 3: six drain and are terminated.
    assert_eq!(
        admin(&c, &h, Method::POST, "/admin/capacity/3", t).await.0,
        StatusCode::OK
    );
    let nodes = |st: &Value| st["nodes"].as_array().unwrap().len();
    let st = state_until(&c, &h, 200, |st| nodes(st) == 3).await;
    assert_eq!(nodes(&st), 3);
    // A rolling deploy, two at a time: every node replaced by a version-2 node.
    assert_eq!(
        admin(&c, &h, Method::POST, "/admin/deploy/2", t).await.0,
        StatusCode::OK
    );
    assert_eq!(
        admin(&c, &h, Method::POST, "/admin/deploy", t).await.0,
        StatusCode::CONFLICT,
        "one deploy at a time"
    );
    let st = state_until(&c, &h, 400, |st| {
        st["fleet"]["deploying"] == false && nodes(st) == 3
    })
    .await;
    let versions: Vec<(u64, String)> = st["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["version"].as_u64().unwrap(),
                n["health"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(versions, vec![(2, "healthy".to_string()); 3]);
    let (s, _) = admin(&c, &h, Method::POST, "/admin/store/failover", t).await;
    assert_eq!(s, StatusCode::OK);
    h.shutdown();
}

/// Sends raw bytes to the balancer; the status line it answers with.
fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_http_and_huge_headers_are_refused_not_fatal() {
    let h = start(Strategy::Cookie).await;
    let addr = h.shop;
    let lines = tokio::task::spawn_blocking(move || {
        let big = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "a".repeat(17 * 1024)
        );
        let cookie = format!(
            "GET /cart HTTP/1.1\r\nHost: x\r\nCookie: cart={}\r\n\r\n",
            "A".repeat(20 * 1024)
        );
        vec![
            raw(addr, b"BLAH\x00\x01 nonsense\r\n\r\n"),
            raw(addr, b"GET / HTTP/1.1\r\nHost x\r\n\r\n"),
            raw(addr, big.as_bytes()),
            raw(addr, cookie.as_bytes()),
            raw(
                addr,
                b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            ),
        ]
    })
    .await
    .unwrap();
    assert!(lines[0].starts_with("HTTP/1.1 400"), "{lines:?}");
    assert!(lines[1].starts_with("HTTP/1.1 400"), "{lines:?}");
    assert!(lines[2].starts_with("HTTP/1.1 431"), "{lines:?}");
    assert!(lines[3].starts_with("HTTP/1.1 431"), "{lines:?}");
    assert!(
        lines[4].starts_with("HTTP/1.1 200"),
        "the shop still serves: {lines:?}"
    );
    h.shutdown();
}

/// `stratus load` against the live shop, with an AZ killed through the admin
/// API a third of the way in: the simulation's lesson, on real sockets.
async fn load_with_az_kill(strategy: Strategy) -> stratus::Report {
    let h = start(strategy).await;
    let mut sc = scenario();
    sc.workload.think_time = Dur::from_ms(150);
    sc.workload.pages = stratus::scenario::Pages::Fixed(12);
    sc.workload.add_to_cart = 0.5;
    sc.workload.checkout = 0.5;
    sc.timeline.push(stratus::scenario::Timed {
        at: Dur::from_secs(2),
        action: stratus::scenario::Action::KillAz { az: 1 },
    });
    let r = common::live::load(&h, sc, 30.0, 6, 3).await;
    h.shutdown();
    // Requests sent to the dead AZ until the health checks notice it are
    // still waiting at the end; they must not be counted.
    common::assert_totals_are_the_series(&r);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_shows_sticky_carts_lost_after_an_az_kill() {
    let r = load_with_az_kill(Strategy::Sticky).await;
    assert_eq!(r.strategy, "sticky");
    assert_eq!(r.faults.len(), 1, "{:?}", r.events);
    assert!(r.faults[0].carts_at_risk > 0, "{:?}", r.faults);
    assert!(r.shoppers.carts_lost > 0, "{:#?}", r.shoppers);
    assert!(r.sessions.resticks > 0);
    assert!(r.requests.ok > 0 && r.shoppers.with_items > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_shows_store_carts_kept_after_an_az_kill() {
    let r = load_with_az_kill(Strategy::Store).await;
    assert_eq!(r.strategy, "store");
    assert_eq!(r.faults.len(), 1);
    assert!(r.shoppers.with_items > 20, "{:#?}", r.shoppers);
    assert_eq!(r.shoppers.carts_lost, 0, "{:#?}", r.shoppers);
    assert_eq!(r.sessions.resticks, 0);
}

/// A page the session store could not take fails with the simulation's
/// cause, not a bare status: the store's primary is lost at 1 s and its
/// replica promoted a second later, and the pages in between are
/// `session_store_unavailable` in both drivers' reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_mid_failover_fails_pages_with_the_simulations_cause() {
    let mut sc = scenario();
    sc.sessions.store.failover_after = Dur::from_secs(1);
    sc.workload.think_time = Dur::from_ms(100);
    sc.timeline.push(stratus::scenario::Timed {
        at: Dur::from_secs(1),
        action: stratus::scenario::Action::KillStorePrimary,
    });
    let sim = stratus::sim::run(&sc, Strategy::Store, 5);
    let h = common::live::start(sc.clone(), Strategy::Store, false).await;
    let live = common::live::load(&h, sc, 30.0, 3, 5).await;
    h.shutdown();
    for (who, r) in [("simulated", &sim), ("live", &live)] {
        let errors = &r.requests.errors;
        assert!(
            errors.get("session_store_unavailable") > Some(&0) && !errors.contains_key("http_503"),
            "{who}: {errors:?}"
        );
    }
}

/// The live load counts what is answered within the run, as the simulation
/// does: requests sent to a powered-off AZ before the health checks notice
/// wait past the end (its connect timeout, the client's 5 s), and are not
/// counted, so the totals stay the series' sums.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_at_the_end_is_not_counted() {
    let mut sc = scenario();
    let hc = &mut sc.load_balancer.health_check;
    hc.interval = Dur::from_secs(5);
    sc.load_balancer.connect_timeout = Dur::from_secs(10);
    sc.workload.think_time = Dur::from_ms(100);
    sc.timeline.push(stratus::scenario::Timed {
        at: Dur::from_secs(1),
        action: stratus::scenario::Action::KillAz { az: 1 },
    });
    let h = common::live::start(sc.clone(), Strategy::Sticky, false).await;
    let r = common::live::load(&h, sc, 30.0, 3, 5).await;
    h.shutdown();
    assert_eq!(r.faults.len(), 1, "{:?}", r.events);
    assert!(r.requests.ok > 0, "{:?}", r.requests);
    common::assert_totals_are_the_series(&r);
}

/// One RESP exchange on a fresh connection: what the server wrote back
/// before closing or going quiet.
fn resp_exchange(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp_serves_the_session_store_and_refuses_bad_frames() {
    let h = start(Strategy::Store).await;
    let c = client();
    let mut b = Browser::default();
    b.go(
        &c,
        h.shop,
        Method::POST,
        "/cart/add",
        "product=5&size=S&colour=red",
    )
    .await;
    let sid = b.jar.iter().find(|(k, _)| k == "sid").unwrap().1.clone();
    let resp = h.resp.unwrap();
    let sid2 = sid.clone();
    let (got, pipelined, bad, after, session_set) = tokio::task::spawn_blocking(move || {
        let got = resp_exchange(resp, format!("*2\r\n$3\r\nGET\r\n$40\r\nsession:{sid2}\r\n").as_bytes());
        let pipelined = resp_exchange(
            resp,
            b"PING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nw\r\n$2\r\nPX\r\n$5\r\n60000\r\n*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nx\r\n$2\r\nNX\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n$3\r\nTTL\r\n$1\r\nk\r\n*2\r\n$6\r\nEXISTS\r\n$1\r\nk\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nFLY away\r\n",
        );
        let bad = resp_exchange(resp, b"*1\r\n+PING\r\n");
        let after = resp_exchange(resp, b"*1\r\n$4\r\nPING\r\n");
        let body = r#"[{"product":9,"size":"XL","colour":"black","qty":2,"price_cents":1}]"#;
        let session_set = resp_exchange(
            resp,
            format!("*3\r\n$3\r\nSET\r\n$40\r\nsession:{sid2}\r\n${}\r\n{body}\r\n", body.len()).as_bytes(),
        );
        (got, pipelined, bad, after, session_set)
    })
    .await
    .unwrap();
    assert!(
        got.starts_with('$') && got.contains("\"product\":5") && got.contains("\"size\":\"S\""),
        "{got}"
    );
    assert_eq!(
        pipelined,
        "+PONG\r\n+OK\r\n+OK\r\n$-1\r\n$1\r\nw\r\n:60\r\n:1\r\n:1\r\n$-1\r\n-ERR unknown command 'FLY', with args beginning with: \r\n"
    );
    assert!(bad.starts_with("-ERR Protocol error"), "{bad}");
    assert_eq!(after, "+PONG\r\n", "the server lives on after a bad frame");
    assert_eq!(session_set, "+OK\r\n");
    // The shop sees what redis-cli wrote: the store is one store.
    let (_, v) = b.go(&c, h.shop, Method::GET, "/cart", "").await;
    assert_eq!(v["cart"][0]["product"], 9, "{v}");
    assert_eq!(
        v["cart"][0]["price_cents"], 1,
        "the store holds what was written"
    );
    h.shutdown();
}

/// `serve --tui`'s screen is the simulation's, drawn from a real server's
/// `GET /admin/state` (the typed snapshot): its kill key goes through the
/// admin API, and the AZ shows dead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_draws_the_admin_snapshot_and_its_keys_kill_an_az() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use stratus::tui::live_dash as dash;
    use stratus::tui::state::{Dash, Ui};
    let h = start(Strategy::Sticky).await;
    let c = client();
    let mut b = Browser::default();
    let (s, _) = b
        .go(
            &c,
            h.shop,
            Method::POST,
            "/cart/add",
            "product=7&size=L&colour=navy",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (addr, token) = (h.admin, h.token.clone());
    let screen = tokio::task::spawn_blocking(move || {
        let mut d: Option<Dash> = None;
        let next = |d: &mut Option<Dash>| {
            let cursor = d.as_ref().map(|d| d.cursor).unwrap_or_default();
            dash::take(d, dash::fetch(addr, &token, cursor).unwrap());
        };
        let draw = |d: &Dash, ui: &Ui| {
            let backend = ratatui::backend::TestBackend::new(120, 30);
            let mut t = ratatui::Terminal::new(backend).unwrap();
            t.draw(|f| stratus::tui::draw::draw(f, d, ui)).unwrap();
            let buf = t.backend().buffer().clone();
            (0..buf.area.height)
                .map(|y| {
                    (0..buf.area.width)
                        .map(|x| buf[(x, y)].symbol())
                        .collect::<String>()
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut ui = Ui::live(false);
        next(&mut d);
        let first = draw(d.as_ref().unwrap(), &ui);
        assert!(first.contains("sessions in memory 1"), "{first}");
        assert!(first.contains("us-east-1b up"), "{first}");
        // k then 2, as the simulation's dashboard takes it.
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert!(!dash::key(
            addr,
            &token,
            d.as_ref().unwrap(),
            &mut ui,
            key('k')
        ));
        assert!(!dash::key(
            addr,
            &token,
            d.as_ref().unwrap(),
            &mut ui,
            key('2')
        ));
        let said = ui.status.clone().unwrap_or_default();
        assert!(said.starts_with("kill_az us-east-1b: 200"), "{said}");
        next(&mut d);
        let d = d.unwrap();
        assert!(!d.snap.azs[1].alive);
        assert!(
            d.events.iter().any(|e| e.kind == "kill_az"),
            "{:?}",
            d.events
        );
        // The second read brought only what was new: no entry twice.
        let mut seen: Vec<String> = d
            .events
            .iter()
            .map(|e| format!("{} {} {}", e.t_s, e.kind, e.detail))
            .collect();
        let all = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), all, "one history, read once: {:?}", d.events);
        // Both of the AZ's nodes died with it, each logged once.
        assert_eq!(
            d.events.iter().filter(|e| e.kind == "node_dead").count(),
            2,
            "{:?}",
            d.events
        );
        draw(&d, &ui)
    })
    .await
    .unwrap();
    assert!(
        screen.contains("stratus serve · live-test · sessions sticky"),
        "{screen}"
    );
    assert!(screen.contains("us-east-1b DOWN"), "{screen}");
    h.shutdown();
}

/// Adds an item and checks out, again until the shop takes both (across a
/// failover); the checkout's answer.
async fn buy(b: &mut Browser, c: &C, shop: SocketAddr) -> Value {
    for _ in 0..200 {
        let form = "product=3&size=M&colour=red";
        let (s, _) = b.go(c, shop, Method::POST, "/cart/add", form).await;
        if s == StatusCode::OK {
            let (s, v) = b.go(c, shop, Method::POST, "/checkout", "").await;
            if s == StatusCode::OK {
                return v;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no checkout went through");
}

/// The data tier live: orders are real rows in the model's SQLite primary,
/// the Multi-AZ standby takes over when the primary's AZ dies, and no
/// committed order is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_survive_the_database_primarys_az_through_the_standby() {
    let mut sc = scenario();
    let mut db = stratus::scenario::Database::new(3);
    db.failover_time = Dur::from_ms(300);
    db.replicas = vec![2];
    db.replica_lag = Dur::from_ms(20);
    sc.database = Some(db);
    let h = live::start(Config {
        scenario: sc,
        strategy: Strategy::Store,
        listen: "127.0.0.1:0".parse().unwrap(),
        admin: "127.0.0.1:0".parse().unwrap(),
        token: None,
        resp: None,
        store_url: None,
        store_redis: false,
        db: Default::default(),
        limits: Default::default(),
        capacity: false,
    })
    .await
    .unwrap();
    let c = client();
    let mut b = Browser::default();
    let orders = |h: &Handle| {
        h.cluster
            .shop
            .db
            .as_ref()
            .unwrap()
            .lock()
            .unwrap()
            .orders_in_primary()
    };
    buy(&mut b, &c, h.shop).await;
    assert_eq!(orders(&h), 1);
    let (_, state) = admin(&c, &h, Method::GET, "/admin/state", Some(&h.token)).await;
    assert_eq!(
        primary_az(&state, "databases"),
        Some("us-east-1a"),
        "{state}"
    );
    let (s, _) = admin(
        &c,
        &h,
        Method::POST,
        "/admin/az/us-east-1a/kill",
        Some(&h.token),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    buy(&mut b, &c, h.shop).await;
    let (_, state) = admin(&c, &h, Method::GET, "/admin/state", Some(&h.token)).await;
    assert_eq!(
        primary_az(&state, "databases"),
        Some("us-east-1b"),
        "{state}"
    );
    assert_eq!(orders(&h), 2, "the standby had the first order");
    assert!(state["events"].to_string().contains("db_failover"));
    h.shutdown();
}
