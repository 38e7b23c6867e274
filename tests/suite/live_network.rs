//! The timeline's network actions on the live shop, each through the one
//! `POST /admin/actions`: a partition fails the AZ's health checks and its
//! store until it heals, added latency delays every answer until it comes
//! off, killed balancer nodes leave the answer to the others, a hung node
//! holds its requests and fails its checks, the FIS power interruption
//! runs its steps in the simulation's order, and with `[dns]` the balancer
//! is entered through Route 53's health-checked answer.

use crate::common;
use crate::common::live::{C, az_of, call, client, primary_az, scenario, state_until};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::ACCEPT;
use hyper::{Method, Request, StatusCode};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use stratus::live::Handle;
use stratus::scenario::{Dns, DnsClient, DnsHealthCheck, DnsRouting, Strategy};
use stratus::time::Dur;

async fn start(strategy: Strategy) -> Handle {
    common::live::start(scenario("live-network"), strategy, false).await
}

async fn act(c: &C, h: &Handle, json: &str) -> Value {
    let (s, v) = call(c, h, Method::POST, "/admin/actions", Some(&h.token), json).await;
    assert_eq!(s, StatusCode::OK, "{json}: {v}");
    v
}

/// `GET /` at `addr` within `limit`: the status and the body's text; None
/// when no answer came in time.
async fn get(c: &C, addr: SocketAddr, limit: Duration) -> Option<(StatusCode, String)> {
    let req = Request::get(format!("http://{addr}/"))
        .header(ACCEPT, "application/json")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let r = tokio::time::timeout(limit, c.request(req))
        .await
        .ok()?
        .ok()?;
    let s = r.status();
    let body = r.into_body().collect().await.ok()?.to_bytes();
    Some((s, String::from_utf8_lossy(&body).into_owned()))
}

fn events<'a>(st: &'a Value, kind: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    st["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(move |e| e["kind"] == kind)
        .map(|e| e["detail"].as_str().unwrap())
}

fn has(kind: &str) -> impl Fn(&Value) -> bool + '_ {
    move |st| events(st, kind).next().is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_fails_the_azs_checks_and_its_store_until_it_heals() {
    let h = start(Strategy::Store).await;
    let c = client();
    let st = state_until(&c, &h, 1, |_| true).await;
    let primary = primary_az(&st, "store").unwrap().to_string();
    let elsewhere = st["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| az_of(&st, n) != primary.as_str())
        .and_then(|n| n["addr"].as_str())
        .unwrap()
        .parse()
        .unwrap();
    let json = format!(r#"{{"action":"partition_az","az":"{primary}","duration":"4s"}}"#);
    act(&c, &h, &json).await;
    // A node in another AZ cannot reach the store's primary: its client
    // times out connecting (2 s) and the page fails.
    let (s, body) = get(&c, elsewhere, Duration::from_secs(5)).await.unwrap();
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("unreachable"), "{body}");
    let st = state_until(&c, &h, 200, has("target_unhealthy")).await;
    let unhealthy: Vec<&str> = events(&st, "target_unhealthy").collect();
    assert!(!unhealthy.is_empty());
    for name in &unhealthy {
        assert!(name.contains(primary.as_str()), "{unhealthy:?}");
    }
    let st = state_until(&c, &h, 400, has("partition_healed")).await;
    assert_eq!(
        events(&st, "partition_healed").collect::<Vec<_>>(),
        [primary.as_str()]
    );
    let (s, body) = get(&c, elsewhere, Duration::from_secs(5)).await.unwrap();
    assert_eq!(s, StatusCode::OK, "{body}");
    h.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_latency_delays_every_answer_until_it_comes_off() {
    let h = start(Strategy::Sticky).await;
    let c = client();
    let shop = h.shop;
    assert!(get(&c, shop, Duration::from_secs(5)).await.is_some());
    for az in ["us-east-1a", "us-east-1b", "us-east-1c"] {
        let json = format!(
            r#"{{"action":"add_latency","from":"internet","to":"{az}","delay":"1s","duration":"3s"}}"#
        );
        act(&c, &h, &json).await;
    }
    // Two seconds more on every round trip: an answer cannot come in one.
    assert_eq!(get(&c, shop, Duration::from_secs(1)).await, None);
    let st = state_until(&c, &h, 400, |st| events(st, "latency_removed").count() == 3).await;
    assert_eq!(events(&st, "add_latency").count(), 3);
    let (s, _) = get(&c, shop, Duration::from_secs(5)).await.unwrap();
    assert_eq!(s, StatusCode::OK);
    h.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_balancer_nodes_leave_the_answer_to_the_others() {
    let h = start(Strategy::Sticky).await;
    let c = client();
    let limit = Duration::from_secs(5);
    act(&c, &h, r#"{"action":"kill_lb_node","az":"us-east-1a"}"#).await;
    act(&c, &h, r#"{"action":"kill_lb_node","az":"us-east-1b"}"#).await;
    for _ in 0..6 {
        let (s, body) = get(&c, h.shop, limit).await.unwrap();
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    act(&c, &h, r#"{"action":"kill_lb_node","az":"us-east-1c"}"#).await;
    let (s, body) = get(&c, h.shop, limit).await.unwrap();
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("lb_unreachable"), "{body}");
    h.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_node_holds_its_requests_and_fails_its_health_checks() {
    let h = start(Strategy::Sticky).await;
    let c = client();
    let st = state_until(&c, &h, 1, |_| true).await;
    let addr = st["nodes"][0]["addr"].as_str().unwrap().parse().unwrap();
    let v = act(&c, &h, r#"{"action":"hang_node","count":1}"#).await;
    assert!(v["ok"].as_str().unwrap().contains("node-0"), "{v}");
    // The port still accepts; the application never answers.
    assert_eq!(get(&c, addr, Duration::from_millis(500)).await, None);
    let st = state_until(&c, &h, 200, has("target_unhealthy")).await;
    assert!(
        events(&st, "node_hung")
            .next()
            .unwrap()
            .starts_with("node-0 ")
    );
    assert!(
        events(&st, "target_unhealthy")
            .next()
            .unwrap()
            .starts_with("node-0 ")
    );
    assert_eq!(st["nodes"][0]["state"], "hung", "{}", st["nodes"][0]);
    // With the default `ec2` health check type the group keeps it; the
    // balancer routes around it.
    for _ in 0..6 {
        let (s, body) = get(&c, h.shop, Duration::from_secs(5)).await.unwrap();
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    h.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fis_power_interruption_runs_its_steps_in_the_simulations_order() {
    let h = start(Strategy::Store).await;
    let c = client();
    let json = r#"{"action":"fis_az_power_interruption","az":"us-east-1b","duration":"2s","network":"1s"}"#;
    act(&c, &h, json).await;
    let st = state_until(&c, &h, 400, has("fis_restart_instances")).await;
    let kinds: Vec<&str> = st["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .filter(|k| k.starts_with("fis_") || *k == "node_dead")
        .collect();
    let mut want = vec![
        "fis_az_power_interruption",
        "fis_stop_instances",
        "fis_pause_launches",
        "fis_disrupt_connectivity",
    ];
    let store_here = st["store"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["role"] == "primary" && az_of(&st, i) == "us-east-1b");
    if store_here {
        want.push("fis_failover_store");
    }
    want.extend([
        "node_dead",
        "node_dead",
        "fis_connectivity_restored",
        "fis_restart_instances",
    ]);
    assert_eq!(kinds, want, "{}", st["events"]);
    h.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_node_is_replaced_only_with_elb_health_checks() {
    use stratus::scenario::HealthCheckType;
    for (kind, replaced) in [(HealthCheckType::Ec2, false), (HealthCheckType::Elb, true)] {
        let mut sc = scenario("live-hung");
        sc.fleet.health_check_type = kind;
        sc.fleet.health_check_grace_period = stratus::time::Dur(0);
        let h = common::live::start(sc, Strategy::Sticky, false).await;
        let c = client();
        act(&c, &h, r#"{"action":"hang_node","count":1}"#).await;
        let st = state_until(&c, &h, 200, has("target_unhealthy")).await;
        assert!(
            events(&st, "target_unhealthy")
                .next()
                .unwrap()
                .starts_with("node-0 ")
        );
        if replaced {
            // The group's verdict (the model's `Fleet::replaces_unhealthy`):
            // terminate it and launch a replacement, as the simulation does.
            let st =
                state_until(&c, &h, 200, |st| events(st, "node_in_service").count() == 1).await;
            assert!(
                events(&st, "asg_replace_unhealthy")
                    .next()
                    .unwrap()
                    .starts_with("node-0 ")
            );
            assert!(events(&st, "node_terminated").any(|n| n.starts_with("node-0 ")));
            // The warm starting fleet logs nothing, as in the simulation:
            // the one node in service is the replacement.
            assert_eq!(
                events(&st, "node_in_service").count(),
                1,
                "{}",
                st["events"]
            );
        } else {
            // Half a second of further checks: the group keeps it, unhealthy.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let st = state_until(&c, &h, 1, |_| true).await;
            assert_eq!(events(&st, "asg_replace_unhealthy").count(), 0);
            assert_eq!(st["nodes"][0]["state"], "hung");
            assert_eq!(events(&st, "node_in_service").count(), 0);
        }
        h.shutdown();
    }
}

/// A shop whose name Route 53 answers afresh for each request (TTL 0),
/// checked every 500 ms with a threshold of 1, and 300 ms connect timeouts.
async fn start_dns(routing: DnsRouting, client: DnsClient) -> Handle {
    let mut sc = scenario("live-dns");
    sc.load_balancer.connect_timeout = Dur::from_ms(300);
    sc.dns = Some(Dns {
        routing,
        client,
        health_check: Some(DnsHealthCheck {
            interval: Dur::from_ms(500),
            failure_threshold: 1,
        }),
        ..Dns::new(Dur(0))
    });
    common::live::start(sc, Strategy::Sticky, false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_clients_fail_on_a_dead_balancer_node_until_route53_notices() {
    let h = start_dns(DnsRouting::Single, DnsClient::Pinned).await;
    let c = client();
    let limit = Duration::from_secs(5);
    act(&c, &h, r#"{"action":"kill_lb_node","az":"us-east-1a"}"#).await;
    // Single answers go round the AZs: one request in three is given the
    // dead node's address, waits out the connect timeout and fails.
    let mut failed = 0;
    for _ in 0..3 {
        let (s, body) = get(&c, h.shop, limit).await.unwrap();
        if s != StatusCode::OK {
            assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
            assert!(body.contains("lb_node_unreachable"), "{body}");
            failed += 1;
        }
    }
    assert_eq!(failed, 1);
    let st = state_until(&c, &h, 400, has("dns_unhealthy")).await;
    assert_eq!(
        events(&st, "dns_unhealthy").collect::<Vec<_>>(),
        ["us-east-1a"]
    );
    for _ in 0..3 {
        let (s, body) = get(&c, h.shop, limit).await.unwrap();
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    h.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_address_clients_get_through_a_dead_balancer_node() {
    let h = start_dns(DnsRouting::Multivalue, DnsClient::NextAddress).await;
    let c = client();
    act(&c, &h, r#"{"action":"kill_lb_node","az":"us-east-1a"}"#).await;
    // Before Route 53 notices, the dead address is in every answer: a
    // request that starts there waits 300 ms and goes to the next one.
    for _ in 0..6 {
        let (s, body) = get(&c, h.shop, Duration::from_secs(5)).await.unwrap();
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    h.shutdown();
}
