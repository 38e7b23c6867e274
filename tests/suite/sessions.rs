//! Sessions in the app servers' memory expire after `[sessions.memory]
//! timeout`: the carts of shoppers who left without checking out are freed
//! by the nodes' sweep, so a long run holds only what is alive.

use stratus::scenario::Strategy;
use stratus::sim::Sim;
use stratus::snapshot::Cursor;
use stratus::time::MIN;

/// Shoppers arrive for ten minutes, then no more.
fn scenario(timeout: &str) -> stratus::Scenario {
    let text = format!(
        r#"
[scenario]
name = "expiry"
duration = "30m"
seed = 3

[sessions.memory]
timeout = "{timeout}"

[workload]
arrivals_per_second = 5.0
think_time = "5s"

[[timeline]]
at = "10m"
action = "set_arrivals"
value = 0.0
"#
    );
    stratus::parse_scenario("expiry.toml", &text).expect("the scenario parses")
}

/// Sessions held in the nodes' memory at `t`.
fn held_at(sim: &mut Sim, t: u64) -> u64 {
    sim.step_to(t);
    let snap = sim.snapshot(&mut Cursor::default());
    snap.nodes.iter().map(|n| n.sessions).sum()
}

#[test]
fn departed_shoppers_sessions_are_freed_after_the_timeout() {
    let sc = scenario("5m");
    let mut sim = Sim::new(&sc, Strategy::Sticky, sc.seed);
    let busy = held_at(&mut sim, 10 * MIN);
    assert!(busy > 100, "{busy} sessions held while shoppers shop");
    // Every shopper has left by 20 min (a visit lasts a few minutes at
    // most); five idle minutes and a sweep later, nothing is held.
    let later = held_at(&mut sim, 28 * MIN);
    assert_eq!(
        later, 0,
        "sessions still held long after their shoppers left"
    );

    // With an hour's timeout the abandoned carts are all still there.
    let sc = scenario("1h");
    let mut sim = Sim::new(&sc, Strategy::Sticky, sc.seed);
    let kept = held_at(&mut sim, 28 * MIN);
    assert!(
        kept > 100,
        "only {kept} abandoned sessions kept under a 1 h timeout"
    );
}

#[test]
fn a_short_timeout_loses_the_carts_of_slow_shoppers() {
    // Shoppers think 5 s on average: a 10 s timeout expires some sessions
    // between two requests, and those carts are counted lost against each
    // shopper's own record; a 30 min timeout loses none.
    let lost = |timeout: &str| {
        let sc = scenario(timeout);
        stratus::run(&sc, Strategy::Sticky, sc.seed)
            .shoppers
            .carts_lost
    };
    assert_eq!(lost("30m"), 0);
    assert!(
        lost("10s") > 10,
        "a 10 s timeout lost only {} carts",
        lost("10s")
    );
}
