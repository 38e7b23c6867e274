//! A node's calls to its dependencies (`[fleet.calls]`): the circuit breaker
//! opens after its threshold, half-opens after its duration and closes after
//! good probes, in the simulation and on the live shop; node-side retries
//! and timeouts are counted.

use crate::common;
use crate::common::live::{C, call, client, state_until};
use hyper::{Method, StatusCode};
use serde_json::Value;
use stratus::model::breaker::BreakerCfg;
use stratus::scenario::Strategy;
use stratus::time::{Dur, MS};

fn breaker(failures: u32, open_for: Dur, probes: u32) -> BreakerCfg {
    BreakerCfg {
        failures,
        window: Dur::from_secs(10),
        open_for,
        probes,
    }
}

/// (time, kind) of each breaker change of `node`'s `dep`, from a log.
fn changes(log: &[(f64, String, String)], node: &str, dep: &str) -> Vec<(f64, String)> {
    let want = format!("node {node} {dep}");
    log.iter()
        .filter(|(_, k, d)| k.starts_with("breaker_") && *d == want)
        .map(|(t, k, _)| (*t, k.clone()))
        .collect()
}

/// Checks one breaker's history: open, then half-open no sooner than
/// `open_for` after it, ..., and closed at the end.
fn opened_half_opened_closed(ch: &[(f64, String)], open_for_s: f64) {
    assert!(ch.len() >= 3, "{ch:?}");
    assert_eq!(ch[0].1, "breaker_opened", "{ch:?}");
    for w in ch.windows(2) {
        let next = match w[0].1.as_str() {
            "breaker_opened" => "breaker_half_opened",
            "breaker_half_opened" => "breaker_opened|breaker_closed",
            _ => "breaker_opened",
        };
        assert!(next.split('|').any(|n| n == w[1].1), "{ch:?}");
        if w[0].1 == "breaker_opened" {
            assert!(
                w[1].0 - w[0].0 >= open_for_s - 1e-3,
                "half-open too soon: {ch:?}"
            );
        }
    }
    assert_eq!(ch.last().unwrap().1, "breaker_closed", "{ch:?}");
}

#[test]
fn the_breaker_opens_half_opens_and_closes_in_the_simulation() {
    // The primary's AZ dies at 10m; the standby takes over 60 s later.
    let mut sc = common::bundled("db-failover");
    sc.duration = Dur::from_secs(12 * 60);
    sc.fleet.calls.database.breaker = Some(breaker(5, Dur::from_secs(5), 2));
    let r = stratus::run(&sc, Strategy::Store, sc.seed);
    let log: Vec<_> = r
        .events
        .iter()
        .map(|e| (e.t_s, e.kind.clone(), e.detail.clone()))
        .collect();
    let nodes: std::collections::BTreeSet<_> = log
        .iter()
        .filter(|(_, k, _)| k == "breaker_opened")
        .map(|(_, _, d)| d.split(' ').nth(1).unwrap().to_string())
        .collect();
    assert!(!nodes.is_empty(), "no breaker opened");
    for n in &nodes {
        let ch = changes(&log, n, "database");
        opened_half_opened_closed(&ch, 5.0);
        // Opened only once the primary had died; closed only once the
        // standby had taken over.
        assert!(ch[0].0 >= 600.0, "{ch:?}");
        assert!(ch.last().unwrap().0 >= 660.0, "{ch:?}");
    }
    let calls = r.calls.as_ref().expect("a calls section");
    assert!(calls.database.short_circuited > 0, "{calls:?}");
    assert_eq!(calls.database.opened, calls.database.closed, "{calls:?}");
    assert!(
        calls.database.half_opened >= calls.database.opened,
        "{calls:?}"
    );
    // Pages the breaker failed at once say so.
    assert!(
        r.requests.errors.contains_key("db_circuit_open"),
        "{:?}",
        r.requests.errors
    );
    // No store policy: the store's counts stay empty.
    assert_eq!(calls.store, Default::default());
}

#[test]
fn node_retries_and_timeouts_are_counted_and_bridge_a_short_outage() {
    let mut sc = common::bundled("db-failover");
    sc.duration = Dur::from_secs(12 * 60);
    sc.database.as_mut().unwrap().failover_time = Dur::from_secs(2);
    let plain = stratus::run(&sc, Strategy::Store, sc.seed);
    let p = &mut sc.fleet.calls.database;
    p.max_attempts = 4;
    p.timeout = Some(Dur(500 * MS));
    p.base = Dur(500 * MS);
    let retried = stratus::run(&sc, Strategy::Store, sc.seed);
    let c = &retried.calls.as_ref().unwrap().database;
    assert!(c.retries > 0 && c.failed > 0, "{c:?}");
    // A connect timeout of 5 s is cut at the call's 500 ms.
    assert_eq!(c.timed_out, c.failed, "{c:?}");
    let failed = |r: &stratus::Report| {
        r.requests
            .errors
            .get("db_unavailable")
            .copied()
            .unwrap_or(0)
            + r.requests.errors.get("db_timeout").copied().unwrap_or(0)
    };
    assert!(
        failed(&retried) < failed(&plain),
        "retries across a 2 s failover should fail fewer pages: {} vs {}",
        failed(&retried),
        failed(&plain)
    );
}

async fn get(c: &C, url: &str) -> (StatusCode, String) {
    let req = hyper::Request::get(url)
        .header("accept", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let res = c.request(req).await.expect("the node answers");
    let s = res.status();
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    (s, String::from_utf8_lossy(&body).into_owned())
}

fn node_breaker(st: &Value, id: u64) -> String {
    st["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == id)
        .and_then(|n| n["breakers"][0]["state"].as_str())
        .unwrap_or("none")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_half_opens_and_closes_live() {
    let mut sc = common::live::scenario("live-breaker");
    let mut db = stratus::scenario::Database::new(3);
    db.failover_time = Dur::from_ms(1500);
    db.connect_timeout = Dur::from_ms(20);
    sc.database = Some(db);
    let open_for = Dur::from_ms(300);
    sc.fleet.calls.database.breaker = Some(breaker(3, open_for, 1));
    let h = common::live::start(sc, Strategy::Sticky, false).await;
    let c = client();
    let st = state_until(&c, &h, 200, |st| st["nodes"][0]["addr"].is_string()).await;
    let node = &st["nodes"][0];
    let (id, url) = (
        node["id"].as_u64().unwrap(),
        format!("http://{}/product/1", node["addr"].as_str().unwrap()),
    );
    assert_eq!(node_breaker(&st, id), "closed", "{st}");
    assert_eq!(get(&c, &url).await.0, StatusCode::OK);
    let (s, v) = call(
        &c,
        &h,
        Method::POST,
        "/admin/actions",
        Some(&h.token),
        r#"{"action":"kill_db_primary"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Three failed calls open it; the next page fails at once, unsent.
    for _ in 0..3 {
        let (s, body) = get(&c, &url).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(body.contains("db_unavailable: "), "{body}");
    }
    let (s, body) = get(&c, &url).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("db_circuit_open: "), "{body}");
    let st = state_until(&c, &h, 1, |_| true).await;
    assert_eq!(node_breaker(&st, id), "open", "{st}");
    // Probes after `open_for`, until the standby has taken over and one
    // goes through.
    let mut ok = false;
    for _ in 0..200 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if get(&c, &url).await.0 == StatusCode::OK {
            ok = true;
            break;
        }
    }
    assert!(ok, "no probe went through after the failover");
    let st = state_until(&c, &h, 1, |_| true).await;
    assert_eq!(node_breaker(&st, id), "closed", "{st}");
    let log: Vec<_> = st["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["t_s"].as_f64().unwrap(),
                e["kind"].as_str().unwrap().to_string(),
                e["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let ch = changes(&log, &id.to_string(), "database");
    opened_half_opened_closed(&ch, open_for.0 as f64 / 1e9);
    h.shutdown();
}
