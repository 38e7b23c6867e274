//! Traffic from a trace: the arrivals follow the trace's rate minute by
//! minute (checked against its integral, worked out here by hand), the
//! simulation and `stratus load` draw exactly the model's arrivals, the
//! same seed gives the same bytes, and the command line finds a trace
//! beside its scenario file.

use crate::common;
use crate::common::json_outside_wall;
use std::process::Command;
use stratus::arrivals::Process;
use stratus::rng::Streams;
use stratus::scenario::{Scenario, Strategy, parse_scenario_with};
use stratus::time::{MIN, SEC};

/// 10/s for ten minutes, then 50/s for ten, then a straight line back to
/// 10/s over ten more (the shape), joined linearly: the 1 ms rise
/// at 600 s stands in for a step.
const SHAPE: &str = "offset,rate\n0,10\n600,10\n600.001,50\n1200,50\n1800,10\n";

fn scenario(trace: &str, scale: f64, duration: &str, seed: u64) -> Scenario {
    let text = format!(
        "[scenario]\nname = \"trace\"\nduration = \"{duration}\"\nseed = {seed}\n\
         [workload]\narrivals = {{ trace = \"shape.csv\", interpolate = \"linear\", scale = {scale} }}\n\
         think_time = \"5s\"\npages = 3\n"
    );
    let read = |_: &str| Ok(("shape.csv".to_string(), trace.to_string()));
    parse_scenario_with("trace.toml", &text, &read).expect("a good scenario")
}

fn process(sc: &Scenario) -> Process {
    Process::new(
        sc.workload.arrivals_per_second,
        sc.workload.arrivals.clone(),
    )
}

/// The arrival times the model draws for `sc`'s seed, before `end`.
fn arrivals(sc: &Scenario, end: u64) -> Vec<u64> {
    let p = process(sc);
    let mut rng = Streams::new(sc.seed).stream("arrivals");
    let mut out = Vec::new();
    let mut t = 0;
    while let Some(at) = p.next(&mut rng, t).filter(|&at| at < end) {
        out.push(at);
        t = at;
    }
    out
}

/// The shape's integral over minute `m` (new shoppers), by hand.
fn expected_in_minute(m: u64, scale: f64) -> f64 {
    let per_second = match m {
        0..=9 => 10.0,
        10..=19 => 50.0,
        // Linear from 50 at minute 20 to 10 at minute 30: the mid-minute rate.
        _ => 50.0 - 40.0 * ((m - 20) as f64 + 0.5) / 10.0,
    };
    per_second * 60.0 * scale
}

#[test]
fn per_minute_arrivals_follow_the_trace_within_three_percent() {
    // Scaled ×50 so each minute holds 30,000 to 150,000 shoppers: Poisson
    // noise is then under 0.6 % of a minute's count, well inside 3 %.
    let scale = 50.0;
    let sc = scenario(SHAPE, scale, "30m", 7);
    let times = arrivals(&sc, 30 * MIN);
    let mut per_minute = [0u64; 30];
    for t in &times {
        per_minute[(t / MIN) as usize] += 1;
    }
    for (m, &got) in per_minute.iter().enumerate() {
        let want = expected_in_minute(m as u64, scale);
        let off = (got as f64 - want).abs() / want;
        assert!(
            off < 0.03,
            "minute {m}: {got} arrivals, the trace says {want:.0} ({:.2} % off)",
            off * 100.0
        );
    }
}

#[test]
fn the_simulation_draws_the_models_arrivals_and_repeats_them_byte_for_byte() {
    let sc = scenario(SHAPE, 0.2, "30m", 11);
    let r = stratus::run(&sc, Strategy::Store, sc.seed);
    assert_eq!(r.shoppers.started, arrivals(&sc, 30 * MIN).len() as u64);
    let again = stratus::run(&sc, Strategy::Store, sc.seed);
    assert_eq!(json_outside_wall(&r), json_outside_wall(&again));
    let other = stratus::run(&sc, Strategy::Store, sc.seed + 1);
    assert_ne!(r.shoppers.started, other.shoppers.started);
}

#[test]
fn set_arrivals_takes_over_from_the_trace() {
    let mut sc = scenario(SHAPE, 1.0, "30m", 7);
    common::at(
        &mut sc,
        60,
        stratus::scenario::Action::SetArrivals { value: 0.0 },
    );
    let r = stratus::run(&sc, Strategy::Store, sc.seed);
    let first_minute = arrivals(&sc, MIN).len() as u64;
    assert_eq!(
        r.shoppers.started, first_minute,
        "nobody arrives after the rate is set to 0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stratus_load_plays_the_scenarios_trace_when_no_rate_is_given() {
    // Two seconds at 3/s, then 30/s: the live generator's shoppers are the
    // model's arrivals, one for one.
    let sc = common::live::fast(scenario("0,3\n2,30\n", 1.0, "4s", 5));
    let h = common::live::start(sc.clone(), Strategy::Store, false).await;
    let r = stratus::live::load::run(stratus::live::load::LoadConfig {
        url: format!("http://{}", h.shop),
        rate: None,
        duration: stratus::time::Dur::from_secs(4),
        scenario: sc.clone(),
        seed: sc.seed,
        timeout: stratus::time::Dur::from_secs(5),
        admin: None,
    })
    .await
    .expect("the load runs");
    h.shutdown();
    assert_eq!(r.shoppers.started, arrivals(&sc, 4 * SEC).len() as u64);
    assert!(r.shoppers.started > 40, "the 30/s stretch was played");
}

#[test]
fn the_command_line_reads_a_trace_beside_its_scenario_from_any_directory() {
    let dir = std::env::temp_dir().join(format!("stratus-trace-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/day.csv"), "0,2\n60,4\n").unwrap();
    std::fs::write(
        dir.join("sub/s.toml"),
        "[scenario]\nname = \"s\"\nduration = \"2m\"\n[workload]\narrivals = { trace = \"day.csv\" }\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_stratus"))
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let ok = run(&["run", "sub/s.toml", "--format", "json"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    std::fs::write(dir.join("sub/day.csv"), "0,2\n60,x\n").unwrap();
    let bad = run(&["validate", "sub/s.toml"]);
    assert_eq!(bad.status.code(), Some(65));
    let msg = String::from_utf8_lossy(&bad.stderr);
    assert!(msg.contains("sub/day.csv:2:4: rate \"x\""), "{msg}");
    // A bundled scenario's trace is compiled in.
    let bundled = run(&["validate", "daily-peak"]);
    assert!(
        bundled.status.success(),
        "{}",
        String::from_utf8_lossy(&bundled.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
