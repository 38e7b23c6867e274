//! Elastic and highly available: target tracking, DNS caching, the Multi-AZ
//! store, the durable strategy, the network faults and the FIS AZ power
//! interruption, each checked on real runs of the bundled scenarios or of
//! scenarios built here.

use crate::common::{at, bundled, bundled_report, events, run};
use proptest::prelude::*;
use std::sync::Arc;
use stratus::Report;
use stratus::scenario::{Action, HealthCheckType, Place, Scenario, Strategy, Timed};
use stratus::time::{Dur, SEC};

/// Nodes launching or in service at each second of the series.
fn nodes_at(r: &Report) -> Vec<(u32, u32)> {
    r.series
        .as_ref()
        .expect("series")
        .iter()
        .map(|row| {
            let n = row
                .nodes
                .iter()
                .map(|a| u32::from(a.launching + a.healthy + a.unhealthy))
                .sum();
            (row.t_s, n)
        })
        .collect()
}

#[test]
fn flash_sale_scales_out_in_time_suffers_then_recovers() {
    let sc = bundled("flash-sale");
    let tt = sc.fleet.target_tracking.clone().expect("a policy");
    let surge: u32 = 300;
    let sale_end: u32 = 900;
    let r = bundled_report("flash-sale", sc.strategy);
    let series = r.series.as_ref().expect("series");
    // The node count rises within warm-up plus the alarm's evaluation
    // window (its datapoints × the metric period) after the surge.
    let window = ((tt.warmup.0 + u64::from(tt.scale_out_datapoints) * tt.period.0) / SEC) as u32;
    let before = nodes_at(&r)[surge as usize - 1].1;
    let rise = nodes_at(&r)
        .into_iter()
        .find(|&(t, n)| t > surge && n > before)
        .expect("the group grew");
    assert!(
        rise.0 <= surge + window,
        "first rise at {} s, after the bound {} s",
        rise.0,
        surge + window
    );
    let out = &r.scaling.as_ref().expect("scaling report").actions[0];
    assert!(out.to > out.from && out.t_s <= f64::from(surge + window));
    // Warm-up pain: between the surge and the new capacity, 503s and a p99
    // far above the steady state's.
    let in_service = out.t_s as u32 + (sc.fleet.launch_time.0 / SEC) as u32;
    let pain: Vec<_> = series
        .iter()
        .filter(|row| row.t_s > surge && row.t_s <= in_service)
        .collect();
    assert!(pain.iter().map(|r| r.failures).sum::<u32>() > 1000);
    assert!(pain.iter().any(|r| r.p99_ms > 700.0));
    assert!(r.requests.errors.contains_key("queue_full"));
    // Recovery: a minute after the new nodes are in, to the end of the sale,
    // no second has a 503 and every second's p99 is under 400 ms (the
    // README's stated bound).
    let after: Vec<_> = series
        .iter()
        .filter(|row| row.t_s > in_service + 60 && row.t_s <= sale_end)
        .collect();
    assert!(after.len() > 200, "the recovery shows before the sale ends");
    assert!(
        after.iter().all(|r| r.failures == 0),
        "no 503 after scale-out"
    );
    let worst = after.iter().map(|r| r.p99_ms).fold(0.0, f64::max);
    assert!(worst < 400.0, "p99 after scale-out reached {worst} ms");
    // Scale-in comes, after its fifteen datapoints below target.
    let scaling = r.scaling.as_ref().unwrap();
    let last = scaling.actions.last().unwrap();
    let last_out = scaling
        .actions
        .iter()
        .rev()
        .find(|a| a.to > a.from)
        .unwrap();
    let slow = f64::from(tt.scale_in_datapoints) * (tt.period.0 / SEC) as f64;
    assert!(last.to < last.from && last.t_s >= last_out.t_s + slow);
    assert!(last.t_s > f64::from(sale_end));
}

#[test]
fn fis_power_interruption_steps_and_losses() {
    let sc = bundled("fis-az-power");
    let listed: Vec<Strategy> = sc.compare.iter().map(|e| e.strategy).collect();
    assert_eq!(listed, Strategy::ALL.to_vec(), "compare runs all four");
    let runs: Vec<Arc<Report>> = Strategy::ALL
        .iter()
        .map(|&st| bundled_report("fis-az-power", st))
        .collect();
    for r in &runs[1..] {
        assert_eq!(r.shoppers.carts_lost, 0, "{} lost carts", r.strategy);
    }
    let sticky = &runs[0];
    let at_risk: u64 = sticky.faults.iter().map(|f| f.carts_at_risk).sum();
    let lost = sticky.shoppers.carts_lost;
    assert!(at_risk > 500);
    // Every cart at risk is lost, or its shopper gave up first.
    assert!(
        lost <= at_risk && lost as f64 >= 0.8 * at_risk as f64,
        "{lost} of {at_risk}"
    );
    // The event list shows each FIS step at its time.
    let durable = &runs[3];
    for (kind, t) in [
        ("fis_az_power_interruption", 600.0),
        ("fis_stop_instances", 600.0),
        ("fis_pause_launches", 600.0),
        ("fis_disrupt_connectivity", 600.0),
        ("fis_failover_db", 600.0),
        ("fis_failover_store", 600.0),
        ("fis_connectivity_restored", 720.0),
        ("fis_restart_instances", 2400.0),
    ] {
        let e = events(durable, kind);
        assert_eq!(e.len(), 1, "{kind}");
        assert_eq!(e[0].t_s, t, "{kind}");
    }
    // What the steps did: the writer failed over, the table's partition
    // elected a new leader, no launch went to the dark AZ, and the group
    // rebalanced into it when power returned.
    assert_eq!(events(durable, "db_failover")[0].t_s, 660.0);
    assert_eq!(durable.store.as_ref().unwrap().failovers, 1);
    assert!(
        events(durable, "node_in_service")
            .iter()
            .filter(|e| e.t_s > 600.0 && e.t_s < 2400.0)
            .all(|e| !e.detail.contains("us-east-1b"))
    );
    assert_eq!(events(durable, "az_rebalance")[0].t_s, 2400.0);
    // Shoppers whose resolver cached 1b's balancer node failed until the TTL.
    let dns = durable.dns.as_ref().unwrap();
    assert!(dns.stale_answer_failures > 0);
    assert!(dns.last_stale_answer_sent_s.unwrap() <= 600.0 + 60.0);
}

#[test]
fn stale_dns_answers_fail_until_the_ttl_runs_out() {
    let sc = bundled("dns-ttl");
    let kill = 600.0;
    // Route 53 hands the dead address out until its checks notice (see
    // tests/dns.rs); the last answer holding it lives one TTL more.
    for ttl in [5, 60, 300] {
        let mut sc = sc.clone();
        sc.dns.as_mut().unwrap().ttl = Dur::from_secs(ttl);
        let r = run(&sc, sc.strategy);
        let dns = r.dns.as_ref().unwrap();
        assert!(dns.stale_answer_failures > 0, "ttl {ttl}");
        let left = events(&r, "dns_unhealthy")[0].t_s;
        let last = dns.last_stale_answer_sent_s.unwrap();
        assert!(
            last >= kill && last <= left + ttl as f64,
            "ttl {ttl}: last stale failure sent at {last}, the record left at {left}"
        );
        assert_eq!(
            r.requests.errors.get("lb_node_unreachable").copied(),
            Some(dns.stale_answer_failures)
        );
    }
    // With `[dns] ttl` alone the record leaves at once, so the TTL alone
    // sets how long cached answers fail: the longer, the more failures.
    let mut failures = Vec::new();
    for ttl in [5, 60, 300] {
        let mut sc = sc.clone();
        sc.dns = Some(stratus::scenario::Dns::new(Dur::from_secs(ttl)));
        let r = run(&sc, sc.strategy);
        let dns = r.dns.as_ref().unwrap();
        let last = dns.last_stale_answer_sent_s.unwrap();
        assert!(
            last >= kill && last <= kill + ttl as f64,
            "ttl {ttl}: {last}"
        );
        failures.push(dns.stale_answer_failures);
    }
    assert!(
        failures[0] < failures[1] && failures[1] < failures[2],
        "{failures:?}"
    );
    // Without [dns] the resolver is ideal: nobody is sent to the dead node.
    let mut ideal = sc.clone();
    ideal.dns = None;
    let r = run(&ideal, ideal.strategy);
    assert!(!r.requests.errors.contains_key("lb_node_unreachable"));
}

#[test]
fn az_rebalance_costs_sticky_carts_in_healthy_azs() {
    let sticky = bundled_report("az-rebalance", Strategy::Sticky);
    let fault = sticky
        .faults
        .iter()
        .find(|f| f.action == "az_rebalance")
        .expect("a rebalance");
    assert_eq!(fault.t_s, 900.0);
    assert!(fault.carts_at_risk > 0);
    // Launch first, in the returned AZ; terminate after, elsewhere.
    let launched = events(&sticky, "node_in_service")
        .into_iter()
        .find(|e| e.t_s > 900.0)
        .unwrap();
    assert!(launched.detail.contains("us-east-1b"));
    let drained = events(&sticky, "node_draining")
        .into_iter()
        .find(|e| e.t_s > 900.0)
        .unwrap();
    assert!(drained.t_s > launched.t_s && !drained.detail.contains("us-east-1b"));
    let store = bundled_report("az-rebalance", Strategy::Store);
    assert_eq!(store.shoppers.carts_lost, 0);
    assert!(sticky.shoppers.carts_lost > 0);
}

/// A node dies at `offset` into its health-check cycle; how long until the
/// balancer marks it unhealthy.
fn detection(interval: u64, timeout: u64, threshold: u32, kill_ms: u64) -> f64 {
    let mut sc = Scenario::new("detect", Dur::from_secs(600));
    sc.workload.arrivals_per_second = 0.5;
    let hc = &mut sc.load_balancer.health_check;
    hc.interval = Dur::from_secs(interval);
    hc.timeout = Dur::from_secs(timeout);
    hc.unhealthy_threshold = threshold;
    sc.timeline.push(Timed {
        at: Dur::from_ms(kill_ms),
        action: Action::KillNode { az: None, count: 1 },
    });
    let r = run(&sc, Strategy::Store);
    let dead = &events(&r, "node_dead")[0];
    let seen = events(&r, "target_unhealthy")
        .into_iter()
        .find(|e| e.detail == dead.detail)
        .expect("the balancer noticed");
    seen.t_s - dead.t_s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Detection takes at most interval × unhealthy_threshold + timeout, and
    /// at least (unhealthy_threshold − 1) × interval.
    #[test]
    fn health_checks_notice_a_dead_node_within_the_documented_bounds(
        interval in 6u64..40,
        timeout in 2u64..6,
        threshold in 2u32..6,
        kill_ms in 60_000u64..120_000,
    ) {
        let d = detection(interval, timeout, threshold, kill_ms);
        let (i, t, n) = (interval as f64, timeout as f64, f64::from(threshold));
        prop_assert!(d <= i * n + t + 1e-6, "{d} s > {} s", i * n + t);
        prop_assert!(d >= (n - 1.0) * i - 1e-6, "{d} s < {} s", (n - 1.0) * i);
    }
}

#[test]
fn durable_survives_an_az_and_consistent_reads_remove_staleness_at_a_cost() {
    let sc = bundled("az-outage");
    let eventual = run(&sc, Strategy::Durable);
    assert_eq!(eventual.shoppers.carts_lost, 0);
    let table = eventual.store.as_ref().unwrap();
    assert_eq!(table.kind, "dynamo");
    assert!(table.stale_reads > 0 && table.stale_carts > 0, "{table:?}");
    let mut strong = sc.clone();
    strong.sessions.durable.consistent_reads = true;
    let consistent = run(&strong, Strategy::Durable);
    assert_eq!(consistent.shoppers.carts_lost, 0);
    let t = consistent.store.as_ref().unwrap();
    assert_eq!((t.stale_reads, t.stale_carts), (0, 0));
    // Reads go to the leader, often in another AZ: every page waits longer.
    assert!(consistent.latency_ms.all.mean > eventual.latency_ms.all.mean);
    // And a strongly consistent read costs a whole read unit, not half.
    assert!(consistent.cost.store_per_hour > eventual.cost.store_per_hour);
}

#[test]
fn store_fails_over_to_the_least_lagged_of_several_replicas() {
    let mut sc = bundled("store-failover");
    sc.sessions.store.replicas = vec![1, 2];
    sc.sessions.store.lag_distribution = stratus::scenario::ServiceDistribution::Exponential;
    let r = run(&sc, Strategy::Store);
    let promoted = events(&r, "store_promoted");
    assert_eq!(promoted.len(), 1);
    assert!(
        events(&r, "store_replica_created").len() == 1,
        "replaced later"
    );
    let store = r.store.as_ref().unwrap();
    assert_eq!((store.failovers, store.replicas_created), (1, 1));
}

#[test]
fn shards_fail_over_alone() {
    let mut sc = bundled("az-outage");
    sc.sessions.store.shards = 3;
    sc.sessions.store.replicas = vec![1];
    let r = run(&sc, Strategy::Store);
    // Shard k's primary is in AZ k: only shard 1 (us-east-1b) fails over.
    let lost = events(&r, "store_primary_lost");
    assert_eq!(lost.len(), 1);
    assert!(lost[0].detail.contains("shard 1"), "{}", lost[0].detail);
    assert_eq!(r.store.as_ref().unwrap().shards, 3);
    assert!((r.cost.store_per_hour - 6.0 * 0.156).abs() < 1e-9);
}

#[test]
fn a_partition_cuts_an_az_off_and_heals() {
    let mut sc = Scenario::new("partition", Dur::from_secs(900));
    sc.load_balancer.health_check.interval = Dur::from_secs(10);
    at(
        &mut sc,
        300,
        Action::PartitionAz {
            az: 1,
            duration: Dur::from_secs(120),
        },
    );
    let r = run(&sc, Strategy::Store);
    assert_eq!(events(&r, "partition_healed")[0].t_s, 420.0);
    // The AZ's targets fail their checks, and pass again after the heal.
    let unhealthy = events(&r, "target_unhealthy");
    assert!(unhealthy.iter().all(|e| e.detail.contains("us-east-1b")));
    assert_eq!(unhealthy.len(), 2);
    assert!(events(&r, "target_healthy").iter().any(|e| e.t_s > 420.0));
    // Nothing died: no node was replaced.
    assert!(events(&r, "node_dead").is_empty());
    assert!(r.requests.errors.contains_key("connect_timeout"));
    assert_eq!(r.shoppers.carts_lost, 0);
}

#[test]
fn added_latency_shows_in_every_response_while_it_lasts() {
    let mut sc = Scenario::new("latency", Dur::from_secs(300));
    let base = run(&sc, Strategy::Cookie);
    for az in 0..3 {
        at(
            &mut sc,
            0,
            Action::AddLatency {
                from: Place::Internet,
                to: Place::Az(az),
                delay: Dur::from_ms(100),
                duration: Some(Dur::from_secs(200)),
            },
        );
    }
    let slow = run(&sc, Strategy::Cookie);
    // 100 ms more each way for most of the run.
    let extra = slow.latency_ms.all.p50 - base.latency_ms.all.p50;
    assert!((190.0..215.0).contains(&extra), "p50 rose by {extra} ms");
    let series = slow.series.as_ref().unwrap();
    assert!(
        series[250].p50_ms < base.latency_ms.all.p99,
        "gone after 200 s"
    );
}

#[test]
fn blocked_launches_go_to_the_other_azs() {
    let mut sc = Scenario::new("blocked", Dur::from_secs(600));
    at(
        &mut sc,
        60,
        Action::BlockLaunches {
            az: 0,
            duration: Some(Dur::from_secs(300)),
        },
    );
    at(
        &mut sc,
        120,
        Action::KillNode {
            az: Some(0),
            count: 2,
        },
    );
    let r = run(&sc, Strategy::Store);
    let launched = events(&r, "node_in_service");
    assert_eq!(launched.len(), 2);
    assert!(launched.iter().all(|e| !e.detail.contains("us-east-1a")));
    assert_eq!(events(&r, "launches_unblocked")[0].t_s, 360.0);
}

#[test]
fn a_hung_app_is_replaced_only_with_elb_health_checks() {
    let mut sc = Scenario::new("hung", Dur::from_secs(900));
    sc.load_balancer.health_check.interval = Dur::from_secs(10);
    sc.fleet.health_check_grace_period = Dur::from_secs(60);
    at(&mut sc, 300, Action::HangNode { az: None, count: 1 });
    let ec2 = run(&sc, Strategy::Store);
    assert_eq!(events(&ec2, "target_unhealthy").len(), 1);
    assert!(events(&ec2, "asg_replace_unhealthy").is_empty());
    assert!(events(&ec2, "node_in_service").is_empty(), "never replaced");
    assert!(ec2.requests.errors.contains_key("gateway_timeout"));
    sc.fleet.health_check_type = HealthCheckType::Elb;
    let elb = run(&sc, Strategy::Store);
    let replaced = events(&elb, "asg_replace_unhealthy");
    assert_eq!(replaced.len(), 1);
    assert!(replaced[0].t_s > 300.0 && replaced[0].t_s < 340.0);
    assert_eq!(events(&elb, "node_in_service").len(), 1);
}

#[test]
fn kill_lb_node_with_an_ideal_resolver_moves_shoppers_at_once() {
    let mut sc = Scenario::new("lb", Dur::from_secs(300));
    at(&mut sc, 100, Action::KillLbNode { az: 2 });
    let r = run(&sc, Strategy::Store);
    assert_eq!(events(&r, "kill_lb_node").len(), 1);
    assert_eq!(r.requests.failed, 0);
}

#[test]
fn a_rebalance_whose_launches_die_ends_and_desired_comes_back() {
    // us-east-1b returns at 15 m and the group launches into it above
    // desired; the AZ dies again 30 s later, before those launches pass
    // their checks. The rebalance must end with them: when it kept waiting,
    // desired stayed raised for good and the group ended two nodes larger.
    let mut sc = bundled("az-rebalance");
    sc.duration = Dur(40 * 60 * SEC);
    let text = r#"
[scenario]
name = "t"
duration = "40m"
[[timeline]]
at = "930s"
action = "kill_az"
az = "us-east-1b"
[[timeline]]
at = "25m"
action = "restore_az"
az = "us-east-1b"
"#;
    let extra = stratus::parse_scenario("t.toml", text).unwrap();
    sc.timeline.extend(extra.timeline);
    let r = run(&sc, Strategy::Sticky);
    assert_eq!(
        events(&r, "az_rebalance").len(),
        2,
        "two returns, two rebalances"
    );
    let last = r.series.as_ref().expect("the series").last().unwrap();
    let counted: u32 = last
        .nodes
        .iter()
        .map(|a| u32::from(a.launching + a.healthy + a.unhealthy))
        .sum();
    assert_eq!(
        counted, sc.fleet.desired,
        "the group at its desired size at the end: {last:?}"
    );
}
