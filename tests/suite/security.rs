//! Security groups, the audit and the attackers, on real runs: the tamper
//! scenario's lesson per cookie design, the open database, dropped hops and
//! their timeouts, and the audit through the CLI.

use crate::common::bundled;
use std::process::Command;
use stratus::report::security::SecurityReport;
use stratus::scenario::variant::Entry;
use stratus::time::Dur;
use stratus::world::attack::{Attack, Tally};
use stratus::{Report, Scenario};

/// The tamper scenario, ten minutes long, under one compare entry.
fn tamper(entry: &str) -> Report {
    let mut sc = bundled("tamper");
    sc.duration = Dur::from_secs(600);
    let e = Entry::parse(entry).unwrap();
    stratus::run(&e.apply(&sc), e.strategy, sc.seed)
}

fn sec(r: &Report) -> &SecurityReport {
    r.security.as_ref().expect("a security section")
}

fn t(r: &Report, a: Attack) -> Tally {
    sec(r).tally(a)
}

#[test]
fn each_cookie_design_accepts_what_the_lesson_says() {
    let unsigned = tamper("cookie:unsigned");
    let signed = tamper("cookie:signed");
    let expiring = tamper("cookie:expiring");
    let versioned = tamper("cookie:versioned");
    for r in [&unsigned, &signed, &expiring, &versioned] {
        for a in [Attack::Tamper, Attack::Replay, Attack::Forge] {
            let x = t(r, a);
            assert!(x.attempts > 20, "{} {a:?}: {x:?}", r.label());
            assert_eq!(x.attempts, x.accepted + x.rejected + x.undelivered);
        }
    }
    assert!(t(&unsigned, Attack::Tamper).accepted > 0);
    assert!(t(&unsigned, Attack::Forge).accepted > 0);
    for r in [&signed, &expiring, &versioned] {
        assert_eq!(t(r, Attack::Tamper).accepted, 0, "{}", r.label());
        assert_eq!(t(r, Attack::Forge).accepted, 0, "{}", r.label());
    }
    // A signed cookie without a version brings the bought cart back, expiry or not.
    assert_eq!(
        t(&signed, Attack::Replay).accepted,
        t(&signed, Attack::Replay).attempts
    );
    assert!(t(&expiring, Attack::Replay).accepted > 0);
    assert_eq!(t(&versioned, Attack::Replay).accepted, 0);
    // The guard costs no honest cart: checkout's new cookie carries the new version.
    assert_eq!(versioned.shoppers.carts_lost, 0);
    assert_eq!(versioned.sessions.cookies_rejected, 0);
}

#[test]
fn server_side_sessions_refuse_every_attack_and_groups_stop_direct_access() {
    for entry in ["sticky", "store", "durable"] {
        let r = tamper(entry);
        for a in Attack::ALL {
            assert_eq!(t(&r, a).accepted, 0, "{entry} {a:?}");
        }
        assert!(t(&r, Attack::Tamper).attempts > 20);
        assert!(t(&r, Attack::Replay).attempts > 20);
        let db = t(&r, Attack::DirectDatabase);
        assert!(db.attempts > 20);
        assert_eq!(db.rejected, db.attempts, "{entry}: dropped by the db group");
        let dropped: u64 = sec(&r)
            .dropped
            .iter()
            .filter(|d| d.from == "internet" && d.to == "database" && d.port == 5432)
            .map(|d| d.connections)
            .sum();
        assert_eq!(dropped, db.attempts);
    }
}

#[test]
fn the_open_database_lets_every_direct_attempt_in() {
    let mut sc = bundled("open-database");
    sc.duration = Dur::from_secs(600);
    let r = stratus::run(&sc, stratus::Strategy::Store, sc.seed);
    let db = t(&r, Attack::DirectDatabase);
    assert!(db.attempts > 20);
    assert_eq!(db.accepted, db.attempts);
    // The store's extra rule admits the balancer, not the internet.
    let st = t(&r, Attack::DirectStore);
    assert_eq!(st.accepted, 0);
    assert_eq!(st.rejected, st.attempts);
}

#[test]
fn no_attackers_and_default_groups_add_nothing_to_the_report() {
    let mut sc = Scenario::new("quiet", Dur::from_secs(120));
    sc.workload.arrivals_per_second = 5.0;
    let r = stratus::run(&sc, stratus::Strategy::Store, 3);
    assert!(r.security.is_none());
    assert!(!r.to_json().contains("\"security\""));
}

fn parse(extra: &str) -> Scenario {
    let text = format!(
        "[scenario]\nname = \"sg\"\nduration = \"5m\"\nseed = 3\n[workload]\narrivals_per_second = 5.0\n{extra}"
    );
    stratus::parse_scenario("sg.toml", &text).unwrap()
}

#[test]
fn a_node_group_closed_to_the_balancer_drops_every_request_after_the_timeout() {
    let sc = parse("[security_groups.app]\ninbound = [ { port = 80, from = \"10.9.0.0/16\" } ]\n");
    let r = stratus::run(&sc, stratus::Strategy::Store, 3);
    assert_eq!(r.requests.ok, 0);
    assert_eq!(
        r.requests.errors.get("connect_timeout"),
        Some(&r.requests.failed)
    );
    // Each shopper's first try waits the balancer's 10 s connect timeout.
    assert!(r.latency_ms.all.p50 >= 10_000.0, "{:?}", r.latency_ms.all);
    let d = &sec(&r).dropped;
    assert!(
        d.iter()
            .any(|d| d.from == "load_balancer" && d.to == "nodes" && d.port == 80)
    );
    // Health checks are dropped too, and the targets go unhealthy.
    assert!(r.events.iter().any(|e| e.kind == "target_unhealthy"));
}

#[test]
fn a_store_closed_to_the_nodes_fails_requests_after_the_store_timeout() {
    let sc = parse("[security_groups.store]\ninbound = []\n");
    let r = stratus::run(&sc, stratus::Strategy::Store, 3);
    assert_eq!(r.requests.ok, 0);
    assert!(r.requests.failed > 0);
    assert!(r.latency_ms.all.p50 >= 2_000.0, "{:?}", r.latency_ms.all);
    let d = &sec(&r).dropped;
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(
        (d[0].from.as_str(), d[0].to.as_str(), d[0].port),
        ("nodes", "store", 6379)
    );
    // Every failed request was a dropped connection (some still in flight at the end).
    assert!(d[0].connections >= r.requests.failed, "{d:?}");
    assert!(d[0].connections <= r.requests.failed + 100, "{d:?}");
    // The cookie strategy never opens that connection.
    let c = stratus::run(&sc, stratus::Strategy::Cookie, 3);
    assert_eq!(c.requests.failed, 0);
}

#[test]
fn a_database_closed_to_the_nodes_fails_the_pages_that_query_it() {
    let sc =
        parse("[database]\n[security_groups.db]\ninbound = [ { port = 5432, from = \"lb\" } ]\n");
    let r = stratus::run(&sc, stratus::Strategy::Cookie, 3);
    // Every shopper starts at the home page, which queries: none gets further.
    assert!(r.requests.failed > 0);
    assert_eq!(
        r.requests.errors.get("connect_timeout"),
        Some(&r.requests.failed)
    );
    assert!(
        r.latency_ms.all.p50 >= 5_000.0,
        "the database's 5 s connect timeout"
    );
    let d = &sec(&r).dropped;
    assert!(d.iter().any(|d| d.to == "database" && d.port == 5432));
}

fn stratus_cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stratus"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn validate_names_the_open_rule_and_its_line_and_fails_with_deny_warnings() {
    let out = stratus_cli(&[
        "validate",
        "scenarios/open-database.toml",
        "--deny-warnings",
    ]);
    assert_eq!(out.status.code(), Some(4));
    let text = String::from_utf8_lossy(&out.stdout);
    let src = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/open-database.toml"),
    )
    .unwrap();
    let line = src
        .lines()
        .position(|l| l.contains("from = \"0.0.0.0/0\""))
        .map(|i| i + 1)
        .unwrap();
    assert!(
        text.contains(&format!("scenarios/open-database.toml:{line}: security group \"db\" rule `port 5432 from 0.0.0.0/0` opens the database to the internet")),
        "{text}"
    );
    assert!(
        text.contains("opens the store to the load balancer's group"),
        "{text}"
    );
    // Without --deny-warnings the findings are printed and the file is valid.
    let out = stratus_cli(&["validate", "scenarios/open-database.toml"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn every_other_bundled_scenario_passes_the_audit() {
    let names: Vec<&str> = stratus::bundled::BUNDLED
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| *n != "open-database")
        .collect();
    let mut args = vec!["validate", "--deny-warnings"];
    args.extend(names.iter().copied());
    let out = stratus_cli(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("warning"));
}

#[test]
fn compare_runs_the_scenarios_cookie_designs_side_by_side() {
    let out = stratus_cli(&[
        "compare",
        "tamper",
        "--strategies",
        "cookie:unsigned,cookie:signed",
        "--format",
        "csv",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].contains("tamper_accepted"));
    assert!(lines[1].starts_with("tamper,cookie:unsigned,"));
    assert!(lines[2].starts_with("tamper,cookie:signed,"));
    let bad = stratus_cli(&["compare", "tamper", "--strategies", "store:unsigned"]);
    assert_eq!(bad.status.code(), Some(2));
}
