//! The live shop honours the scenario as the simulation does: the cache in
//! front of the database (`[cache]`), the cart cookie's guard
//! (`[sessions.cookie] max_age` and `versioned`) and the balancer's
//! cross-zone setting, through the model's own `Cache`, `CookieGuard`,
//! cookie backend and `LoadBalancer::route_from`.

use crate::common;
use crate::common::live::{C, call, client, fast};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{ACCEPT, COOKIE, SET_COOKIE};
use hyper::{Method, Request, StatusCode};
use serde_json::Value;
use std::net::SocketAddr;
use stratus::live::Handle;
use stratus::scenario::{Scenario, Strategy};
use stratus::time::Dur;

async fn start(sc: Scenario, strategy: Strategy) -> Handle {
    common::live::start(sc, strategy, false).await
}

/// One request with `cookie`; the status, the JSON answer and the cart cookie set.
async fn go(
    c: &C,
    shop: SocketAddr,
    method: Method,
    path: &str,
    cookie: &str,
    body: &str,
) -> (StatusCode, Value, Option<String>) {
    let req = Request::builder()
        .method(method)
        .uri(format!("http://{shop}{path}"))
        .header(ACCEPT, "application/json")
        .header(COOKIE, cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let r = c.request(req).await.expect("the shop answers");
    let set = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(String::from))
        .find(|kv| kv.starts_with("cart="));
    let s = r.status();
    let body = r.into_body().collect().await.unwrap().to_bytes();
    (s, serde_json::from_slice(&body).unwrap_or(Value::Null), set)
}

async fn state(c: &C, h: &Handle) -> Value {
    call(c, h, Method::GET, "/admin/state", Some(&h.token), "")
        .await
        .1
}

fn cart_len(v: &Value) -> usize {
    v["cart"].as_array().map_or(usize::MAX, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_answers_repeated_product_pages_and_counts_its_hits() {
    let text = stratus::bundled::find("cache-aside").unwrap();
    let sc = fast(stratus::parse_scenario("cache-aside", text).unwrap());
    let h = start(sc.clone(), Strategy::Store).await;
    let c = client();
    for _ in 0..3 {
        let (s, _, _) = go(&c, h.shop, Method::GET, "/product/7", "", "").await;
        assert_eq!(s, StatusCode::OK);
    }
    let cache = &state(&c, &h).await["cache"];
    assert!(cache["hits"].as_u64().unwrap() >= 2, "{cache}");
    assert!(cache["misses"].as_u64().unwrap() >= 1, "{cache}");
    // stratus load reads the same counts into its report.
    let mut load_sc = sc;
    load_sc.workload.think_time = Dur::from_ms(100);
    let r = common::live::load(&h, load_sc, 20.0, 2, 3).await;
    h.shutdown();
    let cache = r.cache.expect("the load report has the cache section");
    assert!(cache.hits > 2, "{cache:?}");
    assert_eq!(cache.nodes, vec!["us-east-1a", "us-east-1b"]);
}

/// Adds an item; the cart cookie the shop set.
async fn add(c: &C, shop: SocketAddr, cookie: &str) -> String {
    let form = "product=7&size=L&colour=navy";
    let (s, v, set) = go(c, shop, Method::POST, "/cart/add", cookie, form).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    set.expect("a cart cookie")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_versioned_cookie_from_before_checkout_is_refused() {
    let mut sc = fast(Scenario::new("guard", Dur::from_secs(60)));
    sc.sessions.cookie.versioned = true;
    let h = start(sc, Strategy::Cookie).await;
    let c = client();
    let before = add(&c, h.shop, "").await;
    let (s, v, _) = go(&c, h.shop, Method::POST, "/checkout", &before, "").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The bought cart's cookie, replayed: the guard knows its version is old.
    let (_, v, _) = go(&c, h.shop, Method::GET, "/cart", &before, "").await;
    h.shutdown();
    assert_eq!(cart_len(&v), 0, "a replayed cookie was accepted: {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_cookie_is_refused_and_a_fresh_one_is_not() {
    let mut sc = fast(Scenario::new("guard", Dur::from_secs(60)));
    sc.sessions.cookie.max_age = Some(Dur::from_secs(1));
    let h = start(sc, Strategy::Cookie).await;
    let c = client();
    let cookie = add(&c, h.shop, "").await;
    let (_, fresh, _) = go(&c, h.shop, Method::GET, "/cart", &cookie, "").await;
    assert_eq!(cart_len(&fresh), 1, "{fresh}");
    // The cookie's expiry is written in whole seconds: two of them pass.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (_, stale, _) = go(&c, h.shop, Method::GET, "/cart", &cookie, "").await;
    h.shutdown();
    assert_eq!(
        cart_len(&stale),
        0,
        "an expired cookie was accepted: {stale}"
    );
}

/// With cross-zone load balancing off, each balancer node sends only to its
/// own AZ's nodes: a page's node is in the AZ of the balancer node it came
/// in through (`x-stratus-lb-az`). On, some requests cross.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_zone_off_keeps_each_request_in_its_entry_az() {
    const N: usize = 12;
    for on in [false, true] {
        let mut sc = common::live::scenario("zonal");
        sc.load_balancer.cross_zone = on;
        let h = start(sc, Strategy::Store).await;
        let c = client();
        let mut same = 0;
        for _ in 0..N {
            let req = Request::get(format!("http://{}/", h.shop))
                .header(ACCEPT, "application/json")
                .body(Full::new(Bytes::new()))
                .unwrap();
            let r = c.request(req).await.expect("the shop answers");
            assert_eq!(r.status(), StatusCode::OK);
            let entry = r.headers()[stratus::live::proxy::LB_AZ_HEADER]
                .to_str()
                .unwrap()
                .to_string();
            let body = r.into_body().collect().await.unwrap().to_bytes();
            let v: Value = serde_json::from_slice(&body).unwrap();
            same += usize::from(v["az"] == entry.as_str());
        }
        h.shutdown();
        if on {
            assert!(same < N, "cross-zone on: every request stayed in its AZ");
        } else {
            assert_eq!(same, N, "cross-zone off: a request left its entry AZ");
        }
    }
}

/// The replica-lag lesson, live: shoppers sign in as the simulation's do
/// (`stratus_user`), open their order history at `/account/orders` right
/// after checking out, and miss the order while the replica lags; with
/// reads on the primary, none is missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_history_from_a_lagging_replica_misses_fresh_orders_and_the_primary_never() {
    use stratus::scenario::ReadFrom;
    let text = stratus::bundled::find("replica-lag").unwrap();
    let mut sc = fast(stratus::parse_scenario("replica-lag", text).unwrap());
    // Order history well inside the replicas' 1 s mean lag.
    sc.workload.think_time = Dur::from_ms(100);
    let mut stale = Vec::new();
    for from in [ReadFrom::Replicas, ReadFrom::Primary] {
        let mut sc = sc.clone();
        sc.database.as_mut().unwrap().read_from = from;
        let h = start(sc.clone(), Strategy::Store).await;
        let r = common::live::load(&h, sc, 20.0, 4, 5).await;
        h.shutdown();
        let d = r
            .database
            .expect("the load report has the database section");
        assert!(d.stats.orders_committed >= 5, "{from:?}: {d:?}");
        stale.push(d.stats.stale_order_reads);
    }
    assert!(
        stale[0] > 0,
        "no stale order history from the replicas: {stale:?}"
    );
    assert_eq!(
        stale[1], 0,
        "stale order history from the primary: {stale:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_cookie_signs_in_and_order_history_is_that_users() {
    let text = stratus::bundled::find("replica-lag").unwrap();
    let mut sc = fast(stratus::parse_scenario("replica-lag", text).unwrap());
    sc.database.as_mut().unwrap().read_from = stratus::scenario::ReadFrom::Primary;
    let h = start(sc, Strategy::Cookie).await;
    let c = client();
    let mut cookie = add(&c, h.shop, "stratus_user=3").await;
    cookie.push_str("; stratus_user=3");
    let (s, v, _) = go(&c, h.shop, Method::POST, "/checkout", &cookie, "").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let order = v["order_id"].as_i64().expect("checkout names its order");
    let (s, mine, _) = go(
        &c,
        h.shop,
        Method::GET,
        "/account/orders",
        "stratus_user=3",
        "",
    )
    .await;
    let (_, theirs, _) = go(
        &c,
        h.shop,
        Method::GET,
        "/account/orders",
        "stratus_user=4",
        "",
    )
    .await;
    h.shutdown();
    assert_eq!(s, StatusCode::OK, "{mine}");
    let has = |v: &Value| {
        v["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o.as_i64() == Some(order))
    };
    assert!(has(&mine), "user 3's history lacks order {order}: {mine}");
    assert!(
        !has(&theirs),
        "user 4 sees user 3's order {order}: {theirs}"
    );
}

/// A checkout while the database's primary is powered off, before its
/// standby takes over, gets no answer from it: the query fails after the
/// driver's connect timeout, as the simulation's query to a powered-off
/// instance does (`Database::answers`). The live node used to fail it at
/// once. With a connect timeout of a minute the checkout is still waiting
/// three seconds on; the old node had answered 503 by then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_to_a_powered_off_primary_waits_for_the_connect_timeout() {
    let text = stratus::bundled::find("db-failover").unwrap();
    let mut sc = fast(stratus::parse_scenario("db-failover", text).unwrap());
    sc.timeline.clear();
    let d = sc.database.as_mut().unwrap();
    d.connect_timeout = Dur::from_secs(60);
    d.failover_time = Dur::from_secs(600);
    let h = start(sc, Strategy::Cookie).await;
    let c = client();
    let cookie = add(&c, h.shop, "").await;
    let kill = r#"{"action":"kill_db_primary"}"#;
    let (s, v) = call(&c, &h, Method::POST, "/admin/actions", Some(&h.token), kill).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (c2, shop) = (c.clone(), h.shop);
    let mut checkout =
        tokio::spawn(async move { go(&c2, shop, Method::POST, "/checkout", &cookie, "").await });
    let early = tokio::time::timeout(std::time::Duration::from_secs(3), &mut checkout).await;
    // Not left to meet the server's shutdown, where it would panic unseen.
    checkout.abort();
    h.shutdown();
    let answered = early.map(|r| r.map(|(s, v, _)| (s, v)).ok());
    assert!(answered.is_err(), "answered at once: {answered:?}");
}
