//! One control plane, two drivers: the same timeline through the
//! simulation and through the live shop gives the same ordered sequence of
//! control-plane events and the same verdicts.

use crate::common;
use crate::common::live::fast;
use stratus::scenario::{Action, Scenario, Strategy, Timed};
use stratus::time::Dur;

/// A fast scenario of `secs` seconds running `timeline` (ms, action):
/// launches slow enough (600 ms) that a node's boot never races the health
/// checks that find its predecessor dead.
fn timed(name: &str, secs: u64, timeline: Vec<(u64, Action)>) -> Scenario {
    let mut sc = fast(Scenario::new(name, Dur::from_secs(secs)));
    sc.fleet.launch_time = Dur::from_ms(600);
    sc.workload.think_time = Dur::from_ms(200);
    sc.timeline = timeline
        .into_iter()
        .map(|(ms, action)| Timed {
            at: Dur::from_ms(ms),
            action,
        })
        .collect();
    sc
}

fn parity_scenario() -> Scenario {
    let at = |ms: u64, action: Action| (ms, action);
    let mut sc = timed(
        "parity",
        12,
        vec![
            at(
                500,
                Action::BlockLaunches {
                    az: 2,
                    duration: Some(Dur::from_ms(1500)),
                },
            ),
            at(1000, Action::KillAz { az: 1 }),
            at(3000, Action::RestoreAz { az: 1 }),
            at(5500, Action::SetDesired { value: 3 }),
            at(6500, Action::RollingDeploy { batch: Some(1) }),
            at(10500, Action::KillStorePrimary),
        ],
    );
    // No replication lag: the store's verdict is about the control plane.
    sc.sessions.store.replication_lag = Dur(0);
    sc
}

/// The actions of the timeline: each opens a step of the log.
const ACTIONS: [&str; 6] = [
    "block_launches",
    "kill_az",
    "restore_az",
    "set_desired",
    "rolling_deploy",
    "kill_store_primary",
];

/// The log cut into one step per action, each step its event kinds in the
/// order they first appear, with how many times each appears. Within a
/// step, which of two drained nodes terminates first depends on which
/// request ends first (a matter of microseconds live), so a kind's later
/// repeats are counted rather than placed.
fn steps<'a>(kinds: impl Iterator<Item = &'a str>) -> Vec<Vec<(String, usize)>> {
    let mut out: Vec<Vec<(String, usize)>> = Vec::new();
    for k in kinds.skip_while(|k| !ACTIONS.contains(k)) {
        if ACTIONS.contains(&k) {
            out.push(Vec::new());
        }
        let step = out.last_mut().expect("opened by an action");
        match step.iter_mut().find(|(x, _)| x == k) {
            Some((_, n)) => *n += 1,
            None => step.push((k.to_string(), 1)),
        }
    }
    out
}

/// Per step, where each node event happened: its kind and the node's AZ
/// (`node-6 (us-east-1a)` names it), sorted. The model places launches and
/// picks victims, so both drivers must agree on these too.
fn placements<'a>(events: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = Vec::new();
    for (k, detail) in events.skip_while(|(k, _)| !ACTIONS.contains(k)) {
        if ACTIONS.contains(&k) {
            out.push(Vec::new());
        }
        let az = detail.strip_prefix("node-").and_then(|d| {
            let (_, rest) = d.split_once(" (")?;
            rest.split_once(')').map(|(az, _)| az.to_string())
        });
        if let Some(az) = az {
            out.last_mut()
                .expect("opened by an action")
                .push((k.to_string(), az));
        }
    }
    out.iter_mut().for_each(|s| s.sort());
    out
}

/// The same timeline live: `stratus load` at the simulation's arrival rate
/// applies it through the admin API; the shop's own log and the report.
async fn live(sc: Scenario, strategy: Strategy) -> (Vec<(String, String)>, stratus::Report) {
    let h = common::live::start(sc.clone(), strategy, false).await;
    let rate = sc.workload.arrivals_per_second;
    let secs = sc.duration.0 / stratus::time::SEC;
    let r = common::live::load(&h, sc, rate, secs, 7).await;
    let log = h
        .cluster
        .lock()
        .log
        .iter()
        .map(|e| (e.kind.clone(), e.detail.clone()))
        .collect();
    h.shutdown();
    (log, r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulation_and_the_live_shop_take_the_same_steps_and_verdicts() {
    let sc = parity_scenario();
    let (sticky, store) = tokio::join!(
        live(sc.clone(), Strategy::Sticky),
        live(sc.clone(), Strategy::Store)
    );
    for (strategy, (log, live_report)) in [(Strategy::Sticky, sticky), (Strategy::Store, store)] {
        let sim = stratus::sim::run(&sc, strategy, 1);
        let sim_steps = steps(sim.events.iter().map(|e| e.kind.as_str()));
        let live_steps = steps(log.iter().map(|(k, _)| k.as_str()));
        assert_eq!(sim_steps.len(), ACTIONS.len(), "{sim_steps:#?}");
        for (i, (s, l)) in sim_steps.iter().zip(&live_steps).enumerate() {
            assert_eq!(
                s,
                l,
                "{} step {i} ({}): simulation vs live",
                strategy.name(),
                ACTIONS[i]
            );
        }
        assert_eq!(sim_steps.len(), live_steps.len(), "{live_steps:#?}");
        let sim_at = placements(
            sim.events
                .iter()
                .map(|e| (e.kind.as_str(), e.detail.as_str())),
        );
        let live_at = placements(log.iter().map(|(k, d)| (k.as_str(), d.as_str())));
        assert_eq!(
            sim_at,
            live_at,
            "{}: where node events happened",
            strategy.name()
        );
        // The verdicts, each against the shoppers' own ground truth.
        let (s, l) = (&sim.shoppers, &live_report.shoppers);
        match strategy {
            Strategy::Sticky => {
                assert!(
                    s.carts_lost > 0 && l.carts_lost > 0,
                    "sticky loses carts: {s:?} / {l:?}"
                );
            }
            _ => {
                assert!(s.with_items > 0 && l.with_items > 0, "{s:?} / {l:?}");
                assert_eq!((s.carts_lost, l.carts_lost), (0, 0), "the store loses none");
            }
        }
    }
}

/// The network faults through both drivers: a partition, a hung node and a
/// FIS power interruption take the same steps in the simulation and live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_faults_take_the_same_steps() {
    let at = |ms: u64, action: Action| (ms, action);
    let sc = timed(
        "parity-net",
        9,
        vec![
            at(
                500,
                Action::PartitionAz {
                    az: 2,
                    duration: Dur::from_ms(1500),
                },
            ),
            at(
                3000,
                Action::HangNode {
                    az: Some(0),
                    count: 1,
                },
            ),
            at(
                4500,
                Action::FisAzPowerInterruption {
                    az: 1,
                    duration: Dur::from_ms(2500),
                    network: Dur::from_ms(1000),
                },
            ),
        ],
    );
    let (log, _) = live(sc.clone(), Strategy::Store).await;
    let sim = stratus::sim::run(&sc, Strategy::Store, 1);
    let kinds = |k: &mut dyn Iterator<Item = &str>| -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for k in k.skip_while(|k| *k != "partition_az") {
            if v.last().map(String::as_str) != Some(k) {
                v.push(k.to_string());
            }
        }
        v
    };
    let s = kinds(&mut sim.events.iter().map(|e| e.kind.as_str()));
    let l = kinds(&mut log.iter().map(|(k, _)| k.as_str()));
    assert!(s.contains(&"fis_restart_instances".to_string()), "{s:?}");
    assert_eq!(s, l, "simulation vs live, repeats folded");
}

/// A fast `store` scenario of `secs` seconds, seed 7, with the data tier
/// `tables` (TOML) give it.
fn data_scenario(name: &str, secs: u64, tables: &str) -> Scenario {
    let head = format!(
        "[scenario]\nname = \"{name}\"\nduration = \"{secs}s\"\nseed = 7\nstrategy = \"store\"\n"
    );
    fast(stratus::parse_scenario(name, &format!("{head}{tables}")).expect("parses"))
}

/// The data tier's queries through both drivers: which product a page
/// shows is the model's draw (`Popularity`), where its query goes the
/// model's decision (`Database::visit`: nowhere when the cache holds the
/// page's key, reads round robin over the replicas, writes on the primary),
/// and the instance that takes it counts it. So the cache's hit ratio, the
/// queries per request and each instance's share of them come out as in
/// the simulation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_instances_take_the_queries_the_simulation_sends_them() {
    let text = r#"
[database]
replicas = 2

[cache]
nodes = ["us-east-1a", "us-east-1b"]

[workload]
arrivals_per_second = 20.0
think_time = "200ms"
account = 0.2
order_history = 0.5
"#;
    let sc = data_scenario("parity-queries", 8, text);
    let sim = stratus::sim::run(&sc, Strategy::Store, 7);
    let (_, live) = live(sc, Strategy::Store).await;
    // Queries per request, and each instance's share of them.
    let shares = |r: &stratus::Report| {
        let d = r.database.as_ref().expect("the database section");
        let all: u64 = d.instances.iter().map(|i| i.queries).sum();
        let share = |i: &stratus::report::data::InstanceReport| {
            (i.name.clone(), i.queries as f64 / all.max(1) as f64)
        };
        let per_request = all as f64 / r.requests.total.max(1) as f64;
        (
            per_request,
            d.instances.iter().map(share).collect::<Vec<_>>(),
        )
    };
    let ((sim_rate, sim_at), (live_rate, live_at)) = (shares(&sim), shares(&live));
    assert!(
        sim_rate > 0.2,
        "the simulation queries: {sim_rate} {sim_at:?}"
    );
    // The cache answers as often: the live shoppers view the products the
    // simulated ones do, by the model's popularity.
    let hits = |r: &stratus::Report| r.cache.as_ref().expect("the cache section").hit_ratio;
    let (sim_hits, live_hits) = (hits(&sim), hits(&live));
    assert!(
        (live_hits - sim_hits).abs() < 0.05,
        "cache hit ratio: live {live_hits:.3}, simulated {sim_hits:.3}"
    );
    assert!(
        (live_rate / sim_rate - 1.0).abs() < 0.1,
        "queries per request: live {live_rate:.3}, simulated {sim_rate:.3}"
    );
    for ((name, s), (live_name, l)) in sim_at.iter().zip(&live_at) {
        assert_eq!(name, live_name);
        assert!(
            (s - l).abs() < 0.05,
            "{name}'s share of the queries: live {l:.3}, simulated {s:.3}"
        );
    }
}

/// `serve --capacity` with the in-process database: a query waits for one
/// of its instance's workers and holds it for its drawn `query_time`, and
/// one past `max_connections` is refused, as in the simulation (the same
/// `Station`, the model's `Database::service`). One instance with one
/// worker and three connections, loaded well past what it can take: both
/// drivers keep it busy and refuse about the same share of the queries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_instance_at_capacity_refuses_queries_as_simulated() {
    let text = r#"
[database]
workers = 1
max_connections = 3
query_time = { home = "10ms", product = "10ms" }

[workload]
arrivals_per_second = 20.0
think_time = "200ms"
"#;
    let sc = data_scenario("parity-db-capacity", 6, text);
    let sim = stratus::sim::run(&sc, Strategy::Store, 7);
    let h = common::live::start_capacity(sc.clone(), Strategy::Store).await;
    let live = common::live::load(&h, sc, 20.0, 6, 7).await;
    h.shutdown();
    let figures = |r: &stratus::Report| {
        let d = r.database.as_ref().expect("the database section");
        let p = &d.instances[0];
        let refused = r.requests.errors.get("db_too_many_connections").copied();
        let share = refused.unwrap_or(0) as f64 / p.queries.max(1) as f64;
        (p.utilisation, share)
    };
    let ((sim_busy, sim_refused), (live_busy, live_refused)) = (figures(&sim), figures(&live));
    assert!(
        sim_busy > 0.7 && sim_refused > 0.1,
        "simulated: busy {sim_busy}, refused {sim_refused}"
    );
    assert!(
        live_busy > 0.5,
        "live: the instance busy {live_busy:.3}, simulated {sim_busy:.3}"
    );
    assert!(
        (live_refused - sim_refused).abs() < 0.15,
        "share of the queries refused: live {live_refused:.3}, simulated {sim_refused:.3}"
    );
}

/// A `[fleet]` of one node with `workers` workers and pages of `page_ms`,
/// always that long.
fn one_node(workers: u32, page_ms: u32) -> String {
    let p = format!("\"{page_ms}ms\"");
    format!(
        "[fleet]\nmin = 1\ndesired = 1\nmax = 1\nworkers = {workers}\nqueue_limit = 1000\n\
         service_time = {{ home = {p}, product = {p}, add_to_cart = {p}, view_cart = {p}, checkout = {p} }}\n\
         service_distribution = \"constant\"\n"
    )
}

/// `sc` under `sticky` simulated, and served with `--capacity` under
/// `stratus load` at 10 shoppers a second for 12 s: both reports, seed 7.
async fn with_capacity(sc: Scenario) -> (stratus::Report, stratus::Report) {
    let sim = stratus::sim::run(&sc, Strategy::Sticky, 7);
    let h = common::live::start_capacity(sc.clone(), Strategy::Sticky).await;
    let live = common::live::load(&h, sc, 10.0, 12, 7).await;
    h.shutdown();
    (sim, live)
}

/// With `--capacity` a node's worker is held for the page's modelled
/// service time, timed from when the worker was free (`Held::until`), as
/// a simulated node's is: a late timer or a task woken late delays that
/// page's answer, not the pages queued behind it. One node with one
/// worker and 20 ms pages, about 80 % busy, where a worker held a
/// millisecond long per page waits half as long again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_at_capacity_holds_and_queues_as_simulated() {
    let text = r#"
[scenario]
name = "parity-one-worker"
duration = "12s"
seed = 7
strategy = "sticky"

[region]
azs = ["us-east-1a"]

{fleet}
[workload]
arrivals_per_second = 10.0
think_time = "1s"
pages = 3
"#;
    let text = text.replace("{fleet}", &one_node(1, 20));
    let sc = fast(stratus::parse_scenario("parity-one-worker", &text).expect("parses"));
    let (sim, live) = with_capacity(sc).await;
    let (s, l) = (&sim.queueing, &live.queueing);
    let held = l.sojourn_mean_ms - l.wait_mean_ms;
    assert!(
        (held - 20.0).abs() < 0.2,
        "live: a page held its worker {held:.3} ms on average, not its 20 ms ({l:?})"
    );
    let arrivals = l.node_arrivals as f64 / s.node_arrivals.max(1) as f64;
    assert!(
        (0.85..1.15).contains(&arrivals),
        "pages reaching the node: live {}, simulated {}",
        l.node_arrivals,
        s.node_arrivals
    );
    let wait = l.wait_mean_ms / s.wait_mean_ms;
    assert!(
        s.wait_mean_ms > 10.0 && (0.6..1.4).contains(&wait),
        "mean queue wait: live {:.1} ms, simulated {:.1} ms",
        l.wait_mean_ms,
        s.wait_mean_ms
    );
}

/// A page's time at its node includes the cache's round trips as the
/// model's `Cache::look_timed` counts them (one and the cache's operation
/// on a hit, two on a miss), and its query's time at its instance: with
/// `--capacity` both drivers hold the page's worker for them. 10 ms pages
/// in front of a cache whose operations take 20 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_holds_its_worker_through_the_caches_round_trips() {
    let text = r#"
[region]
azs = ["us-east-1a", "us-east-1b"]

{fleet}
[database]
query_time = { home = "1ms", product = "1ms" }

[cache]
nodes = ["us-east-1a", "us-east-1b"]
op_time = "20ms"

[workload]
arrivals_per_second = 10.0
think_time = "500ms"
pages = 4
"#;
    let text = text.replace("{fleet}", &one_node(4, 10));
    let sc = data_scenario("parity-cache-time", 12, &text);
    let (sim, live) = with_capacity(sc).await;
    let held = |r: &stratus::Report| r.queueing.sojourn_mean_ms - r.queueing.wait_mean_ms;
    let (s, l) = (held(&sim), held(&live));
    // Half the pages hit: about 10 + 0.45 × 20 + 0.55 × (40 + 1) ms.
    assert!(s > 30.0, "simulated: a page held its worker {s:.1} ms");
    assert!(
        (l - s).abs() < 0.1 * s,
        "a page held its worker {l:.1} ms live, {s:.1} ms simulated"
    );
}

/// A page whose database instance lies across a partition fails as in the
/// simulation: its query waits out the driver's connect timeout and fails
/// (counted), and so does the page (`db_unavailable`). Before, the live
/// page waited, then read the data anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_whose_database_is_cut_off_fails_as_simulated() {
    let text = r#"
[region]
azs = ["us-east-1a", "us-east-1b"]

[database]
primary_az = "us-east-1b"
connect_timeout = "300ms"

[workload]
arrivals_per_second = 20.0
think_time = "200ms"

[[timeline]]
at = "1s"
action = "partition_az"
az = "us-east-1b"
duration = "2s"
"#;
    let sc = data_scenario("parity-db-cut-off", 4, text);
    let sim = stratus::sim::run(&sc, Strategy::Sticky, 7);
    let h = common::live::start(sc.clone(), Strategy::Sticky, false).await;
    let live = common::live::load(&h, sc, 20.0, 4, 7).await;
    h.shutdown();
    for (who, r) in [("simulated", &sim), ("live", &live)] {
        let failed = r.database.as_ref().expect("a database").stats.failed_reads;
        let pages = r
            .requests
            .errors
            .get("db_unavailable")
            .copied()
            .unwrap_or(0);
        assert!(
            failed > 0 && pages > 0,
            "{who}: {failed} failed reads, errors {:?}",
            r.requests.errors
        );
    }
}
