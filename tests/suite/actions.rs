//! Every timeline action and the balancer's and group's documented behaviour,
//! seen in real runs through the events and figures they leave.

use crate::common::{at, events};
use stratus::scenario::{Action, Algorithm, Scenario, Stickiness, Strategy};
use stratus::time::Dur;

fn base(minutes: u64) -> Scenario {
    let mut sc = Scenario::new("actions", Dur::from_secs(minutes * 60));
    sc.load_balancer.health_check.interval = Dur::from_secs(10);
    sc
}

#[test]
fn kill_node_kills_the_oldest_and_the_group_replaces_it() {
    let mut sc = base(10);
    at(
        &mut sc,
        120,
        Action::KillNode {
            az: Some(2),
            count: 1,
        },
    );
    let r = stratus::run(&sc, Strategy::Sticky, 3);
    let dead = events(&r, "node_dead");
    assert_eq!(dead.len(), 1);
    assert!(dead[0].detail.contains("us-east-1c"), "{}", dead[0].detail);
    // Replaced after the launch time, in a live AZ.
    let up = events(&r, "node_in_service");
    assert_eq!(up.len(), 1);
    assert!((up[0].t_s - (120.0 + 90.0)).abs() < 1e-9, "{}", up[0].t_s);
    // Detected by two failed checks, about two intervals later.
    let unhealthy = events(&r, "target_unhealthy");
    assert_eq!(unhealthy.len(), 1);
    let detect = unhealthy[0].t_s - 120.0;
    assert!(detect > 10.0 && detect <= 25.0, "detected after {detect} s");
    assert!(r.faults[0].carts_at_risk > 0);
    assert!(r.shoppers.carts_lost + r.shoppers.abandoned_with_items >= r.faults[0].carts_at_risk);
}

#[test]
fn restore_az_lets_new_capacity_go_back_there() {
    let mut sc = base(20);
    sc.fleet.desired = 3;
    sc.fleet.min = 3;
    at(&mut sc, 60, Action::KillAz { az: 0 });
    at(&mut sc, 300, Action::RestoreAz { az: 0 });
    at(&mut sc, 400, Action::SetDesired { value: 6 });
    let r = stratus::run(&sc, Strategy::Store, 1);
    // The node lost with us-east-1a is replaced elsewhere, never into the dead AZ.
    let first_launch = events(&r, "node_in_service")[0];
    assert!(
        !first_launch.detail.contains("us-east-1a"),
        "{}",
        first_launch.detail
    );
    // After the restore the group rebalances: a launch into the empty AZ
    // first, then a termination in a crowded one.
    let back: Vec<_> = events(&r, "node_in_service")
        .into_iter()
        .filter(|e| e.t_s > 300.0)
        .collect();
    assert!(back[0].detail.contains("us-east-1a"), "{back:?}");
    let rebalanced = events(&r, "node_terminated")
        .into_iter()
        .find(|e| e.t_s > back[0].t_s)
        .expect("a node terminated after the rebalance's launch");
    assert!(!rebalanced.detail.contains("us-east-1a"), "{rebalanced:?}");
    // The scale-out after it spreads evenly: one more node in each AZ.
    let later: Vec<_> = events(&r, "node_in_service")
        .into_iter()
        .filter(|e| e.t_s > 400.0)
        .collect();
    assert_eq!(later.len(), 3);
    for az in ["us-east-1a", "us-east-1b", "us-east-1c"] {
        assert_eq!(
            later.iter().filter(|e| e.detail.contains(az)).count(),
            1,
            "{later:?}"
        );
    }
    assert_eq!(
        r.shoppers.carts_lost, 0,
        "the store keeps carts through it all"
    );
}

#[test]
fn set_arrivals_changes_the_shopper_rate() {
    let mut sc = base(20);
    at(&mut sc, 600, Action::SetArrivals { value: 0.0 });
    let r = stratus::run(&sc, Strategy::Cookie, 2);
    let series = r.series.as_ref().unwrap();
    let early: u32 = series[200..500].iter().map(|s| s.requests).sum();
    let late: u32 = series[1000..].iter().map(|s| s.requests).sum();
    assert!(early > 50_000, "{early}");
    // No new shoppers: only the long tail of the geometric page count is left.
    assert!(late * 100 < early, "early {early}, late {late}");
    // 20 shoppers a second for 600 s, give or take Poisson noise.
    let started = r.shoppers.started as f64;
    assert!(
        (started - 12_000.0).abs() < 4.0 * 12_000f64.sqrt(),
        "{started}"
    );
}

#[test]
fn rolling_deploy_replaces_every_node_batch_by_batch() {
    let mut sc = base(30);
    at(&mut sc, 120, Action::RollingDeploy { batch: Some(2) });
    let r = stratus::run(&sc, Strategy::Sticky, 4);
    assert_eq!(
        events(&r, "node_draining").len(),
        6,
        "each old node drained once"
    );
    assert_eq!(events(&r, "node_in_service").len(), 6, "and replaced");
    let done = events(&r, "deploy_done");
    assert_eq!(done.len(), 1);
    // Three batches, each waiting for its replacements to boot and pass a check.
    assert!(done[0].t_s >= 120.0 + 3.0 * 90.0, "{}", done[0].t_s);
    assert_eq!(r.requests.failed, 0);
}

#[test]
fn stickiness_on_keeps_store_shoppers_on_one_node_and_costs_nothing() {
    let mut sc = base(10);
    sc.load_balancer.stickiness = Stickiness::On;
    at(&mut sc, 300, Action::KillAz { az: 1 });
    let r = stratus::run(&sc, Strategy::Store, 5);
    assert!(
        r.sessions.resticks > 0,
        "stuck shoppers are moved off the dead nodes"
    );
    assert_eq!(
        r.shoppers.carts_lost, 0,
        "but their carts were never on the node"
    );
    assert_eq!(r.carts_at_risk(), 0);
    // Off: the sticky strategy without stickiness scatters a cart over nodes.
    let mut off = base(10);
    off.load_balancer.stickiness = Stickiness::Off;
    let r = stratus::run(&off, Strategy::Sticky, 5);
    assert!(r.shoppers.carts_lost > 100, "{}", r.shoppers.carts_lost);
}

#[test]
fn least_outstanding_spreads_load_no_worse_than_round_robin() {
    let mut sc = base(10);
    sc.workload.arrivals_per_second = 120.0;
    sc.fleet.workers = 2;
    let rr = stratus::run(&sc, Strategy::Cookie, 6);
    sc.load_balancer.algorithm = Algorithm::LeastOutstanding;
    let lo = stratus::run(&sc, Strategy::Cookie, 6);
    assert_eq!(rr.requests.failed, 0);
    assert!(
        lo.queueing.wait_mean_ms < rr.queueing.wait_mean_ms,
        "least outstanding waits {} ms, round robin {} ms",
        lo.queueing.wait_mean_ms,
        rr.queueing.wait_mean_ms
    );
}

#[test]
fn a_lone_dead_node_times_out_then_nothing_serves_until_its_replacement() {
    let mut sc = base(10);
    sc.fleet.min = 1;
    sc.fleet.desired = 1;
    sc.fleet.max = 1;
    sc.region.azs = vec!["a".into(), "b".into()];
    at(&mut sc, 120, Action::KillAz { az: 0 });
    let r = stratus::run(&sc, Strategy::Cookie, 7);
    let errors = &r.requests.errors;
    // Until two checks fail, the dead target still gets requests: they time out.
    assert!(
        errors.get("connect_timeout").copied().unwrap_or(0) > 0,
        "{errors:?}"
    );
    // Then it is deregistered, and the balancer has nothing to send to.
    assert!(
        errors.get("no_targets").copied().unwrap_or(0) > 0,
        "{errors:?}"
    );
    // The replacement, launched at once in b, serves again after the launch time.
    let up = events(&r, "node_in_service");
    assert_eq!(up.len(), 1);
    assert!(up[0].detail.contains("(b)"));
    let series = r.series.as_ref().unwrap();
    let after: u32 = series[(120 + 90 + 5)..].iter().map(|s| s.failures).sum();
    assert_eq!(after, 0, "no failure once the replacement serves");
}

#[test]
fn losing_the_primary_s_az_fails_the_store_over_to_its_replica() {
    let mut sc = base(10);
    sc.sessions.store.replication_lag = Dur::from_ms(200);
    at(&mut sc, 180, Action::KillAz { az: 0 });
    let r = stratus::run(&sc, Strategy::Store, 8);
    let lost = events(&r, "store_primary_lost");
    assert_eq!(lost.len(), 1);
    let promoted = events(&r, "store_promoted");
    assert_eq!(promoted.len(), 1);
    assert!(
        (promoted[0].t_s - (180.0 + 15.0)).abs() < 1e-9,
        "after failover_after"
    );
    assert!(promoted[0].detail.contains("us-east-1b"));
    assert!(r.requests.errors["session_store_unavailable"] > 0);
    // What was lost is exactly what the stream had not delivered.
    assert!(r.sessions.store_writes_lost > 0);
    assert!(r.carts_at_risk() > 0);
    assert!(
        r.shoppers.carts_lost <= r.carts_at_risk(),
        "{} lost, {} at risk",
        r.shoppers.carts_lost,
        r.carts_at_risk()
    );
}
