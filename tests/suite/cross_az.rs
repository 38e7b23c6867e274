//! The cross-AZ bill. The bytes the report says crossed AZs, per hop, must
//! equal an independent count: a trace of every message the run sent,
//! classified and summed here, whose message counts are in turn tied to
//! counters kept elsewhere (requests, store reads and writes, cache hits,
//! commits), so a send the tally missed would show. And cross-zone load
//! balancing decides how many of the balancer's bytes cross: none when it
//! is off, two thirds of them with three AZs when it is on.

use crate::common;
use std::collections::BTreeMap;
use stratus::report::cross_az::billed_sides;
use stratus::scenario::{Action, Pages, Scenario, Stickiness, Strategy};
use stratus::sim::Sim;
use stratus::time::Dur;
use stratus::wire::{Hop, Sent};
use stratus::{Report, parse_scenario};

/// Runs `sc` with every message kept: the report and the trace.
fn traced(sc: &Scenario, strategy: Strategy) -> (Report, Vec<Sent>) {
    let mut sim = Sim::new(sc, strategy, sc.seed);
    sim.record_wire();
    sim.step_to(sim.end());
    let trace = sim.wire_trace();
    (sim.finish(), trace)
}

/// Per hop: (messages, all bytes, bytes that crossed AZs), from the trace.
fn tally(trace: &[Sent]) -> BTreeMap<Hop, (u64, u64, u64)> {
    let mut t = BTreeMap::new();
    for s in trace {
        let e = t.entry(s.hop).or_insert((0, 0, 0));
        e.0 += 1;
        e.1 += s.bytes;
        if s.from != s.to {
            e.2 += s.bytes;
        }
    }
    t
}

/// The report's `cross_az` key against the trace: bytes per hop, total,
/// GB an hour, billed GB and cost recomputed from the prices.
fn agrees(r: &Report, trace: &[Sent], strategy: Strategy, per_gb: f64) {
    let t = tally(trace);
    let x = &r.cross_az;
    let mut total = 0;
    let mut billed = 0;
    for h in Hop::ALL {
        let crossed = t.get(&h).map_or(0, |e| e.2);
        assert_eq!(x.bytes[h.key()], crossed, "{} under {strategy:?}", h.key());
        total += crossed;
        billed += crossed * billed_sides(h, strategy);
    }
    assert_eq!(x.total_bytes, total);
    let hours = r.simulated_seconds / 3600.0;
    let near = |a: f64, b: f64| (a - b).abs() <= 1e-6 + 1e-9 * b.abs();
    assert!(near(x.gb_per_hour, total as f64 / 1e9 / hours));
    assert!(near(x.billed_gb_per_hour, billed as f64 / 1e9 / hours));
    assert!(near(
        x.cost_per_hour_usd,
        billed as f64 / 1e9 / hours * per_gb
    ));
    assert_eq!(r.cost.cross_az_per_hour, x.cost_per_hour_usd);
}

fn messages(trace: &[Sent], hop: Hop) -> u64 {
    trace.iter().filter(|s| s.hop == hop).count() as u64
}

/// A five-minute run of the defaults, no fault, whose shoppers stop
/// arriving at 150 s and make four page views each: every request
/// sent is answered before the end, none is left in flight.
fn quiet(name: &str) -> Scenario {
    let mut sc = Scenario::new(name, Dur::from_secs(300));
    sc.seed = 11;
    sc.workload.pages = Pages::Fixed(4);
    common::at(&mut sc, 150, Action::SetArrivals { value: 0.0 });
    sc
}

#[test]
fn balancer_bytes_are_the_requests_and_answers_the_shoppers_saw() {
    for strategy in [Strategy::Sticky, Strategy::Cookie] {
        let sc = quiet("xaz-lb");
        let (r, trace) = traced(&sc, strategy);
        agrees(&r, &trace, strategy, sc.prices.cross_az_per_gb);
        assert_eq!(r.requests.failed, 0, "a quiet run answers everything");
        assert_eq!(r.shoppers.started, r.shoppers.finished, "nothing in flight");
        let lb = tally(&trace)[&Hop::LbNode];
        // One message each way per request.
        assert_eq!(lb.0, 2 * r.requests.total);
        // The balancer forwards what the browser sent, plus its own
        // X-Forwarded-* and trace headers; the node's answer lacks the
        // stickiness cookie the balancer adds on the way out.
        let forwarded = stratus::world::ALB_FORWARDED.len() as f64;
        let lb_cookie = stratus::world::LB_SET_COOKIE as f64;
        let answers = r.bytes.response_header_mean
            - if strategy == Strategy::Sticky {
                lb_cookie
            } else {
                0.0
            };
        let n = r.requests.total as f64;
        let want = n * (r.bytes.request_mean + forwarded) + n * answers;
        // The report's means are rounded to 1/1000 of a byte.
        assert!(
            (lb.1 as f64 - want).abs() <= 0.001 * n,
            "{} vs {want}",
            lb.1
        );
    }
}

#[test]
fn store_bytes_are_its_reads_writes_and_replication() {
    for (strategy, replicas) in [(Strategy::Store, 2), (Strategy::Durable, 2)] {
        let mut sc = quiet("xaz-store");
        sc.sessions.store.replicas = vec![1, 2];
        let (r, trace) = traced(&sc, strategy);
        agrees(&r, &trace, strategy, sc.prices.cross_az_per_gb);
        let s = r.store.as_ref().expect("a store run has its section");
        // A read is one round trip; a write reads, then writes.
        let trips =
            messages(&trace, Hop::NodeStorePrimary) + messages(&trace, Hop::NodeStoreReplica);
        assert_eq!(trips, 2 * (s.reads + 2 * s.writes), "{strategy:?}");
        assert_eq!(messages(&trace, Hop::StoreReplication), replicas * s.writes);
        assert!(r.cross_az.bytes["store_replication"] > 0);
    }
    // Eventually consistent reads: some served by the node's own AZ's copy.
    let (r, trace) = traced(&quiet("xaz-table"), Strategy::Durable);
    assert!(messages(&trace, Hop::NodeStoreReplica) > 0);
    assert_eq!(
        r.cross_az.billed_gb_per_hour, 0.0,
        "DynamoDB bills no transfer in its region"
    );
}

const DATA: &str = r#"
[scenario]
name = "xaz-data"
duration = "5m"
seed = 3
strategy = "store"

[database]
standby_az = "us-east-1b"
replicas = ["us-east-1b", "us-east-1c"]

[cache]
nodes = ["us-east-1a", "us-east-1c"]

[workload]
account = 0.2
order_history = 0.5
"#;

#[test]
fn data_tier_bytes_are_its_queries_cache_trips_and_commits() {
    let sc = parse_scenario("xaz-data", DATA).expect("the scenario parses");
    let (r, trace) = traced(&sc, Strategy::Store);
    agrees(&r, &trace, Strategy::Store, sc.prices.cross_az_per_gb);
    let db = r.database.as_ref().expect("a database");
    let cache = r.cache.as_ref().expect("a cache");
    assert_eq!(db.stats.failed_writes + db.stats.failed_reads, 0);
    // Each commit ships once to the standby and once to each replica.
    let commits = db.stats.orders_committed;
    assert!(commits > 0);
    assert_eq!(messages(&trace, Hop::DbStandby), commits);
    assert_eq!(messages(&trace, Hop::DbReplicas), 2 * commits);
    // Every cache look-up and fill is a round trip (no node died).
    let cache_trips = cache.hits + cache.misses + cache.sets;
    assert_eq!(messages(&trace, Hop::NodeCache), 2 * cache_trips);
    for h in [
        "node_db_primary",
        "node_db_replica",
        "db_standby",
        "db_replicas",
        "node_cache",
    ] {
        assert!(r.cross_az.bytes[h] > 0, "{h}");
    }
    // RDS in a VPC bills both sides of a node's query, replication nothing.
    assert!(r.cross_az.billed_gb_per_hour > 0.0);
}

#[test]
fn sticky_with_cross_zone_off_sends_no_balancer_byte_across_azs() {
    let mut sc = quiet("xaz-zonal");
    sc.load_balancer.cross_zone = false;
    let (r, trace) = traced(&sc, Strategy::Sticky);
    agrees(&r, &trace, Strategy::Sticky, sc.prices.cross_az_per_gb);
    assert_eq!(r.cross_az.bytes["lb_node"], 0);
    assert!(tally(&trace)[&Hop::LbNode].1 > 0, "the balancer did send");
    assert_eq!(r.requests.failed, 0, "every zone has its own targets");
    assert!(r.shoppers.with_items > 0 && r.shoppers.carts_lost == 0);
}

#[test]
fn cross_zone_on_sends_two_thirds_of_balancer_bytes_across_three_azs() {
    // Shoppers enter through the three balancer nodes alike, and the
    // targets are two per AZ: a request stays in its AZ one time in three.
    for stickiness in [Stickiness::Auto, Stickiness::Off] {
        let mut sc = quiet("xaz-theory");
        sc.load_balancer.stickiness = stickiness;
        let (r, trace) = traced(&sc, Strategy::Sticky);
        let lb = tally(&trace)[&Hop::LbNode];
        let share = lb.2 as f64 / lb.1 as f64;
        assert!((share - 2.0 / 3.0).abs() < 0.03, "{stickiness:?}: {share}");
        assert_eq!(
            r.cross_az.billed_gb_per_hour, 0.0,
            "ALB's own cross-zone traffic is free"
        );
    }
}

#[test]
fn cross_zone_off_keeps_a_sticky_shopper_in_its_zone_through_an_outage() {
    // us-east-1b's power goes: its balancer node too, so its shoppers come
    // in through another AZ and are re-stuck there, never across.
    let mut sc = common::bundled("az-outage");
    sc.duration = Dur::from_secs(900);
    sc.load_balancer.cross_zone = false;
    let (r, trace) = traced(&sc, Strategy::Sticky);
    agrees(&r, &trace, Strategy::Sticky, sc.prices.cross_az_per_gb);
    assert_eq!(r.cross_az.bytes["lb_node"], 0);
    assert!(r.shoppers.carts_lost > 0, "the AZ's carts are still lost");
    assert!(!r.requests.errors.contains_key("no_targets_in_zone"));
}
