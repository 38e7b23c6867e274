//! Same scenario and seed → the same bytes (against the reports an earlier
//! run wrote, `tests/golden/`); different seeds → different figures.

use crate::common::{bundled, bundled_report, json_outside_wall, run};
use std::process::Command;
use stratus::Strategy;
use stratus::cli::pace::WallPacer;

#[test]
fn every_bundled_scenario_repeats_byte_for_byte() {
    // The scenarios are independent: spread them over the cores (each run
    // is itself single-threaded), so the check costs a share of the suite.
    // Each thread takes the next scenario left, so one long scenario does
    // not hold up a share of short ones.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let take = || next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                while let Some((name, _)) = stratus::bundled::BUNDLED.get(take()) {
                    repeats(name);
                }
            });
        }
    });
}

/// The SHA-256 of each bundled scenario's report as an earlier run wrote it
/// (outside `wall`): `tests/golden/NAME.sha256`; the reports themselves, with
/// their per-second series, would be megabytes. `STRATUS_BLESS=1 cargo test
/// --test suite determinism::` writes them afresh, for a change meant to move a
/// figure (its commit says why).
fn golden(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.sha256"))
}

fn repeats(name: &str) {
    use sha2::Digest;
    let sc = bundled(name);
    // One run against the digest of the bytes an earlier process wrote: the
    // same seed gives the same bytes across processes and builds, and a speed
    // change that moves a figure shows here.
    let a = json_outside_wall(&bundled_report(name, sc.strategy));
    let digest: String = sha2::Sha256::digest(a.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = golden(name);
    if std::env::var_os("STRATUS_BLESS").is_some() {
        std::fs::write(&path, format!("{digest}\n")).expect("writes the golden digest");
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; write it with STRATUS_BLESS=1 cargo test --test suite determinism::",
            path.display()
        )
    });
    if want.trim() != digest {
        // The report as this run wrote it, to compare (`stratus diff`) with
        // one from the commit before.
        let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.json"));
        std::fs::write(&out, &a).expect("writes the differing report");
        panic!(
            "{name}: the report differs from the one {} was taken of (this run's is {}): the same \
             seed gave other bytes. If a change means to move a figure, write the digests again \
             with STRATUS_BLESS=1 and say why in the commit",
            path.display(),
            out.display()
        );
    }
    // Whether the seed reaches the run shows in its first two minutes; the
    // whole run twice more would double the test's cost.
    let mut short = sc.clone();
    short.duration = stratus::time::Dur::from_secs(120).min(sc.duration);
    let one = json_outside_wall(&stratus::run(&short, sc.strategy, sc.seed));
    let other = json_outside_wall(&stratus::run(&short, sc.strategy, sc.seed + 1));
    assert_ne!(one, other, "{name}: another seed gives the same report");
}

#[test]
fn the_durable_table_and_a_sharded_store_repeat_byte_for_byte() {
    // Lags drawn per write and replica, and shards by hash slot.
    let mut sc = bundled("fis-az-power");
    sc.sessions.store.shards = 3;
    sc.sessions.store.lag_distribution = stratus::scenario::ServiceDistribution::Exponential;
    sc.database = None;
    for st in [Strategy::Durable, Strategy::Store] {
        let a = json_outside_wall(&run(&sc, st));
        let b = json_outside_wall(&run(&sc, st));
        assert!(a == b, "{st}: two runs differ");
    }
}

#[test]
fn different_seeds_give_different_figures() {
    let sc = bundled("az-outage");
    let a = stratus::run(&sc, Strategy::Sticky, 1);
    let b = stratus::run(&sc, Strategy::Sticky, 2);
    assert_ne!(a.shoppers.started, b.shoppers.started);
    assert_ne!(a.shoppers.carts_lost, b.shoppers.carts_lost);
}

#[test]
fn pacing_never_changes_results() {
    let mut sc = bundled("az-outage");
    sc.duration = stratus::time::Dur::from_secs(700);
    let fast = json_outside_wall(&stratus::run(&sc, Strategy::Sticky, 3));
    // 700 simulated seconds at ×5000: a seventh of a second of real pacing.
    let mut pacer = WallPacer::new(5_000.0);
    let paced = json_outside_wall(&stratus::sim::run_paced(
        &sc,
        Strategy::Sticky,
        3,
        &mut pacer,
    ));
    assert!(fast == paced, "pacing changed the report");
}

#[test]
fn the_cli_prints_the_same_json_twice() {
    let bin = env!("CARGO_BIN_EXE_stratus");
    let once = || {
        let out = Command::new(bin)
            .args(["run", "scale-in", "--format", "json", "--seed", "5"])
            .output()
            .expect("runs");
        assert!(out.status.success());
        let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(v["schema"], "stratus.report/1");
        assert!(v["wall"]["sim_requests_per_second"].as_f64().unwrap() > 0.0);
        v.as_object_mut().unwrap().remove("wall");
        serde_json::to_string(&v).unwrap()
    };
    assert_eq!(once(), once());
}
