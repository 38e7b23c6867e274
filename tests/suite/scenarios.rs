//! The bundled scenarios show what their lessons say, from real runs.

use crate::common::{assert_totals_are_the_series, bundled, bundled_report, run};
use stratus::Strategy::{Cookie, Sticky, Store};
use stratus::time::Dur;

/// The simulation's half of the counting rule the live load keeps too
/// (`live::load_with_az_kill`): the totals are the series' sums.
#[test]
fn every_bundled_report_counts_what_its_series_counts() {
    for (name, _) in stratus::bundled::BUNDLED {
        assert_totals_are_the_series(&bundled_report(name, bundled(name).strategy));
    }
}

#[test]
fn az_outage_costs_sticky_carts_close_to_those_at_risk() {
    let sticky = bundled_report("az-outage", Sticky);
    let lost = sticky.shoppers.carts_lost;
    let at_risk = sticky.carts_at_risk();
    assert!(at_risk > 100, "a third of the fleet held carts: {at_risk}");
    assert!(
        lost <= at_risk,
        "lost {lost} > at risk {at_risk}: losses from nowhere"
    );
    assert!(
        lost as f64 >= 0.9 * at_risk as f64,
        "lost {lost} far below at risk {at_risk}"
    );
    assert!(sticky.sessions.resticks > 0);
    assert!(
        sticky.requests.errors.contains_key("connect_timeout"),
        "{:?}",
        sticky.requests.errors
    );
    for st in [Cookie, Store] {
        let r = bundled_report("az-outage", st);
        assert_eq!(r.shoppers.carts_lost, 0, "{st} lost carts");
        assert_eq!(r.carts_at_risk(), 0, "{st}");
        assert!(
            r.requests.failed > 0,
            "{st}: the outage still fails requests until detected"
        );
    }
}

#[test]
fn the_az_outage_table_makes_the_lesson_plain() {
    let runs: Vec<_> = [Sticky, Cookie, Store]
        .iter()
        .map(|&s| (*bundled_report("az-outage", s)).clone())
        .collect();
    let table = stratus::report::text::render_compare(&runs);
    let first = table
        .lines()
        .find(|l| l.starts_with("carts lost"))
        .expect("carts lost row");
    let cells: Vec<&str> = first.split_whitespace().skip(2).collect();
    assert_eq!(cells.len(), 3, "{first}");
    assert_ne!(cells[0], "0");
    assert_eq!(&cells[1..], &["0", "0"]);
    assert!(
        table.contains("cookie lost no cart; store lost no cart."),
        "{table}"
    );
}

#[test]
fn scale_in_and_rolling_deploy_cost_sticky_carts_only() {
    for name in ["scale-in", "rolling-deploy"] {
        let sticky = bundled_report(name, Sticky);
        assert!(
            sticky.shoppers.carts_lost > 100,
            "{name}: sticky lost {}",
            sticky.shoppers.carts_lost
        );
        assert_eq!(
            sticky.requests.failed, 0,
            "{name}: draining fails no request"
        );
        assert!(sticky.shoppers.carts_lost <= sticky.carts_at_risk());
        for st in [Cookie, Store] {
            let r = bundled_report(name, st);
            assert_eq!(r.shoppers.carts_lost, 0, "{name}: {st}");
        }
    }
}

#[test]
fn cookie_overflow_loses_carts_through_the_browser_limit() {
    let sc = bundled("cookie-overflow");
    let c = bundled_report("cookie-overflow", Cookie);
    assert!(c.shoppers.carts_lost > 0);
    assert!(
        c.sessions.cookies_ignored_oversize > 0,
        "losses come from ignored Set-Cookies"
    );
    assert_eq!(c.requests.failed, 0, "nothing failed, yet carts shrank");
    // The cookie header never carries more than the limit (plus the other cookies).
    assert!(
        c.bytes.cookie_max > 3_800 && c.bytes.cookie_max <= 4_096,
        "{}",
        c.bytes.cookie_max
    );
    let store = bundled_report("cookie-overflow", Store);
    assert_eq!(store.shoppers.carts_lost, 0);
    // A bigger limit removes the loss, so it is the limit that does it.
    let mut big = sc.clone();
    big.sessions.cookie.max_bytes = 1 << 20;
    assert_eq!(run(&big, Cookie).shoppers.carts_lost, 0);
}

#[test]
fn store_failover_loses_only_unreplicated_writes() {
    let sc = bundled("store-failover");
    let r = bundled_report("store-failover", Store);
    assert!(r.shoppers.carts_lost > 0, "100 ms of lag loses some writes");
    assert!(
        (r.shoppers.carts_lost as f64) < 0.001 * r.shoppers.with_items as f64,
        "small: {} of {}",
        r.shoppers.carts_lost,
        r.shoppers.with_items
    );
    assert!(r.sessions.store_writes_lost > 0);
    assert!(r.requests.errors.contains_key("session_store_unavailable"));
    let mut zero = sc.clone();
    zero.sessions.store.replication_lag = Dur(0);
    let z = run(&zero, Store);
    assert_eq!(z.shoppers.carts_lost, 0);
    assert_eq!(z.sessions.store_writes_lost, 0);
    assert!(
        z.requests.failed > 0,
        "the failover window still fails requests"
    );
}

#[test]
fn steady_state_loses_nothing_and_fails_nothing() {
    for st in [Sticky, Cookie, Store] {
        let r = bundled_report("steady-state", st);
        assert_eq!(r.shoppers.carts_lost, 0, "{st}");
        assert_eq!(r.requests.failed, 0, "{st}");
        assert!(r.checkouts.ok > 1000, "{st}");
        assert_eq!(
            r.shoppers.with_items,
            bundled_report("steady-state", Sticky).shoppers.with_items,
            "common random numbers across strategies"
        );
    }
}

#[test]
fn a_store_without_replica_takes_the_shop_down_with_it() {
    let mut sc = bundled("store-failover");
    sc.sessions.store.replicas = Vec::new();
    let r = run(&sc, Store);
    let at_risk = r.carts_at_risk();
    assert!(at_risk > 1000, "every cart it held: {at_risk}");
    assert!(r.events.iter().any(|e| e.kind == "store_down"));
    // Nothing is left to serve a cart from: shoppers cannot even see their
    // loss, so they give up holding items.
    assert!(r.shoppers.abandoned_with_items as f64 >= 0.9 * at_risk as f64);
    assert_eq!(r.checkouts.ok, run(&sc, Store).checkouts.ok);
}

#[test]
fn the_store_costs_its_two_nodes_more_per_hour() {
    let sc = bundled("steady-state");
    let sticky = bundled_report("steady-state", Sticky);
    let store = bundled_report("steady-state", Store);
    assert!(
        (sticky.cost.node_hours - 3.0).abs() < 1e-9,
        "6 nodes for 30 minutes"
    );
    assert_eq!(sticky.cost.store_per_hour, 0.0);
    assert!((store.cost.store_per_hour - 2.0 * sc.prices.store_node_hourly).abs() < 1e-9);
    let extra = store.cost.total_per_hour - sticky.cost.total_per_hour;
    assert!((extra - 0.312).abs() < 0.01, "{extra}");
    // A scale-in really saves node-hours.
    let scaled = bundled_report("scale-in", Store);
    assert!(scaled.cost.node_hours < 9.0 * 0.5 && scaled.cost.node_hours > 3.0 * 0.5);
}

/// A bundled scenario's `[[variants]]` entry, run under its strategy.
fn variant(sc: &stratus::Scenario, name: &str) -> stratus::Report {
    let v = sc.variants.iter().find(|v| v.name == name).expect(name);
    run(&v.scenario, sc.strategy)
}

/// Scaling out onto cold nodes costs p99 and 503s that the same scale-out
/// onto warm nodes does not; a minimum big enough to need no scale-out
/// costs neither, and more per hour.
#[test]
fn cold_start_scale_out_costs_what_a_warm_one_does_not() {
    let sc = bundled("cold-start");
    let cold = variant(&sc, "cold");
    let warm = variant(&sc, "warm-pool");
    let big = variant(&sc, "bigger-min");
    for r in [&cold, &warm] {
        let s = r.scaling.as_ref().expect("target tracking");
        assert!(!s.actions.is_empty(), "the sale scales out");
    }
    assert!(
        cold.latency_ms.all.p99 > 2.0 * warm.latency_ms.all.p99,
        "p99 cold {} warm {}",
        cold.latency_ms.all.p99,
        warm.latency_ms.all.p99
    );
    assert!(
        cold.requests.failed > 2 * warm.requests.failed,
        "failed cold {} warm {}",
        cold.requests.failed,
        warm.requests.failed
    );
    assert!(cold.requests.errors.contains_key("queue_full"));
    assert_eq!(big.requests.failed, 0);
    assert!(big.scaling.as_ref().is_none_or(|s| s.actions.is_empty()));
    assert!(big.cost.total_per_hour > cold.cost.total_per_hour);
}

/// One node twenty times slower keeps passing its health checks, so it
/// keeps its share: p99 and failures rise with no target found unhealthy.
/// Least-outstanding routing starves it and fails nothing.
#[test]
fn a_gray_failure_passes_its_checks_while_p99_climbs() {
    let sc = bundled("gray-failure");
    let plain = variant(&sc, "as-is");
    assert!(plain.events.iter().any(|e| e.kind == "slow_node"));
    assert!(
        !plain.events.iter().any(|e| e.kind == "target_unhealthy"),
        "every health check passes"
    );
    assert!(
        plain.latency_ms.all.p99 > 5_000.0,
        "{}",
        plain.latency_ms.all.p99
    );
    assert!(plain.requests.errors.contains_key("queue_full"));
    let timeouts = variant(&sc, "timeouts");
    let t = timeouts.retries.as_ref().expect("retries");
    assert!(t.goodput_share > 0.95 && t.served_abandoned > 1000, "{t:?}");
    assert!(timeouts.latency_ms.all.p99 < plain.latency_ms.all.p99 / 5.0);
    let lor = variant(&sc, "least-outstanding");
    assert_eq!(lor.requests.failed, 0);
    assert!(lor.latency_ms.all.p99 < 500.0, "{}", lor.latency_ms.all.p99);
}
