//! Builds a scenario in code (no file) and runs it through the library: a
//! four-node shop loses an AZ, and each strategy's losses are printed.
//!
//! cargo run --release --example outage_in_code

use stratus_model::scenario::{Action, Scenario, Strategy, Timed};
use stratus_model::time::Dur;

fn main() {
    let mut sc = Scenario::new("outage-in-code", Dur::from_secs(20 * 60));
    sc.description = "Two AZs, four nodes, one AZ lost halfway".into();
    sc.region.azs = vec!["eu-west-1a".into(), "eu-west-1b".into()];
    sc.sessions.store.primary_az = 0;
    sc.sessions.store.replicas = vec![1];
    sc.fleet.min = 2;
    sc.fleet.desired = 4;
    sc.fleet.max = 8;
    sc.load_balancer.health_check.interval = Dur::from_secs(10);
    sc.workload.arrivals_per_second = 15.0;
    sc.timeline.push(Timed {
        at: Dur::from_secs(10 * 60),
        action: Action::KillAz { az: 1 },
    });

    let runs: Vec<_> = Strategy::ALL
        .iter()
        .map(|&st| stratus_sim::run(&sc, st, 42))
        .collect();
    print!("{}", stratus_model::report::text::render_compare(&runs));
    for r in &runs {
        println!(
            "{:>7}: {} of {} shoppers with items lost their cart ({} at risk when the AZ died)",
            r.strategy,
            r.shoppers.carts_lost,
            r.shoppers.with_items,
            r.carts_at_risk()
        );
    }
}
