//! The retry storm live (#16): `stratus load` against `stratus serve
//! --capacity`, the scaled-down storm of `tests/fixtures/live-retry-storm.toml`
//! (four nodes of two workers, one AZ ten times slower for 6 s). With
//! immediate retries the shop stays down long after the trigger: the
//! nodes serve requests whose callers have hung up. A client breaker, or
//! shedding requests that waited half a second, brings it back. The same
//! file's variants show the same in the simulation (`stratus compare`).
//!
//! Counts only: each storm runs 30 s of real time, and the figures are
//! shares of what the shoppers offered, with wide margins, so a loaded
//! machine moves them without turning the lesson over.

use crate::common;
use stratus::Report;
use stratus::live::load::{LoadConfig, run};
use stratus::scenario::{Scenario, Strategy};
use stratus::time::Dur;

const FIXTURE: &str = "tests/fixtures/live-retry-storm.toml";

/// The window read: from 9 s after the trigger ended (at 11 s) to the end.
const WINDOW: (u32, u32) = (20, 30);

fn variant(name: &str) -> Scenario {
    let text = std::fs::read_to_string(FIXTURE).expect("the fixture");
    let sc = stratus::parse_scenario(FIXTURE, &text).expect("the fixture parses");
    let v = sc.variants.iter().find(|v| v.name == name).expect(name);
    (*v.scenario).clone()
}

/// One storm: the variant served with capacity and loaded at its own
/// arrivals, its timeline applied through the admin API.
async fn storm(name: &str) -> Report {
    let sc = variant(name);
    let h = common::live::start_capacity(sc.clone(), Strategy::Cookie).await;
    let r = run(LoadConfig {
        url: format!("http://{}", h.shop),
        rate: None,
        duration: sc.duration,
        seed: sc.seed,
        timeout: Dur::from_secs(5),
        admin: Some((format!("http://{}", h.admin), h.token.clone())),
        scenario: sc,
    })
    .await
    .expect("the load runs");
    h.shutdown();
    r
}

/// Goodput as a share of the requests offered in the window (seconds
/// after `WINDOW.0` up to `WINDOW.1`), with both counts.
fn window_share(r: &Report) -> (f64, u64, u64) {
    let rows = r.series.as_deref().expect("load keeps its series");
    let (offered, goodput) = rows
        .iter()
        .filter(|x| x.t_s > WINDOW.0 && x.t_s <= WINDOW.1)
        .fold((0u64, 0u64), |(o, g), x| {
            (o + u64::from(x.offered), g + u64::from(x.goodput))
        });
    (goodput as f64 / offered.max(1) as f64, offered, goodput)
}

/// The same variant in the simulation: its goodput share in the window.
/// Both drivers' clients decide through `retry::Client` and both drivers'
/// nodes through `station::Station`, so each live verdict below is also
/// the simulation's.
fn simulated_share(name: &str) -> f64 {
    let sc = variant(name);
    let r = stratus::run(&sc, Strategy::Cookie, sc.seed);
    window_share(&r).0
}

fn describe(name: &str, r: &Report) -> String {
    let rows = r.series.as_deref().unwrap_or(&[]);
    let per_s: Vec<String> = rows
        .iter()
        .map(|x| format!("{}:{}/{}/{}", x.t_s, x.offered, x.attempts, x.goodput))
        .collect();
    let (share, offered, goodput) = window_share(r);
    format!(
        "{name}: window share {share:.3} ({goodput} of {offered})\n  {:?}\n  errors {:?}\n  t:offered/attempts/goodput {}",
        r.retries,
        r.requests.errors,
        per_s.join(" ")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immediate_retries_stay_collapsed_long_after_the_trigger() {
    let r = storm("immediate").await;
    let why = describe("immediate", &r);
    eprintln!("{why}");
    let (share, offered, _) = window_share(&r);
    assert!(offered > 300, "shoppers kept offering requests: {why}");
    assert!(
        share < 0.5,
        "goodput share {share:.3} after the trigger: {why}"
    );
    let sim = simulated_share("immediate");
    assert!(sim < 0.5, "the simulation's share {sim:.3}");
    let t = r.retries.as_ref().expect("a retries section");
    assert!(t.attempts_per_request > 1.8, "{why}");
    assert!(t.timed_out > 500, "{why}");
    // The nodes served pages whose callers had hung up: the spawned page
    // kept its worker after the client closed its connection.
    assert!(t.served_abandoned > 200, "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_breaker_or_shedding_brings_goodput_back() {
    let (breaker, shedding) = tokio::join!(storm("breaker"), storm("shedding"));
    for (name, r) in [("breaker", &breaker), ("shedding", &shedding)] {
        let why = describe(name, r);
        eprintln!("{why}");
        let (share, offered, _) = window_share(r);
        assert!(offered > 300, "{why}");
        assert!(share > 0.9, "{name}: goodput share {share:.3}: {why}");
        let sim = simulated_share(name);
        assert!(sim > 0.9, "{name}: the simulation's share {sim:.3}");
    }
    let t = breaker.retries.as_ref().expect("a retries section");
    assert!(
        breaker.requests.errors.get("client_circuit_open") > Some(&0),
        "the breakers opened during the trigger: {t:?}"
    );
    let t = shedding.retries.as_ref().expect("a retries section");
    assert!(t.shed > 0, "the nodes shed stale requests: {t:?}");
    // Callers still waiting heard the shed as the simulation names it.
    let heard = shedding.requests.errors.get("queue_timeout");
    assert!(heard > Some(&0), "{:?}", shedding.requests.errors);
}
