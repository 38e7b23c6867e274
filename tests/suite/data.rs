//! The data tier: what the scenarios must show, from real runs.

use crate::common::{bundled, bundled_report, run};
use std::process::Command;
use stratus::Strategy;
use stratus::scenario::ReadFrom;
use stratus::time::{Dur, MIN, SEC};

fn db(r: &stratus::Report) -> &stratus::report::data::DatabaseReport {
    r.database.as_ref().expect("the scenario has a database")
}

#[test]
fn db_failover_loses_no_order_and_the_file_holds_every_checkout() {
    let dir = std::env::temp_dir().join(format!("stratus-db-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args(["run", "db-failover", "--format", "json", "--db-dir"])
        .arg(&dir)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let d = &r["database"];
    assert!(
        r["checkouts"]["failed"].as_u64().unwrap() > 0,
        "a write-outage window"
    );
    assert!(d["write_outage_s"].as_f64().unwrap() >= 60.0);
    assert!(d["failed_writes"].as_u64().unwrap() > 0);
    assert_eq!(d["orders_committed"], d["orders_in_primary"]);
    assert_eq!(d["orders_lost"], 0);
    assert_eq!(d["failovers"], 1);
    assert_eq!(d["primary"], "standby", "the standby took over");
    let conn = rusqlite::Connection::open(dir.join("primary.db")).expect("primary.db");
    let orders: i64 = conn
        .query_row("select count(*) from orders", [], |row| row.get(0))
        .unwrap();
    assert_eq!(orders as u64, r["checkouts"]["ok"].as_u64().unwrap());
    assert!(dir.join("replica-1.db").exists() && dir.join("standby.db").exists());
    let kinds: Vec<&str> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in ["db_instance_lost", "db_failover", "db_standby_created"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_standby_the_promoted_replica_loses_its_unreplicated_orders() {
    let mut sc = bundled("db-failover");
    let d = sc.database.as_mut().unwrap();
    d.standby_az = None;
    d.replica_lag = Dur(3 * SEC);
    sc.duration = Dur(15 * MIN);
    let r = run(&sc, Strategy::Store);
    let d = db(&r);
    assert!(d.stats.orders_lost > 0, "{d:?}");
    assert_eq!(
        d.orders_in_primary,
        d.stats.orders_committed - d.stats.orders_lost
    );
    assert_eq!(d.orders_in_primary, r.checkouts.ok - d.stats.orders_lost);
    assert_eq!(d.primary, "replica-1");
}

#[test]
fn kill_db_primary_fails_over_without_touching_the_fleet() {
    let text = stratus::bundled::find("db-failover")
        .unwrap()
        .replace(
            "action = \"kill_az\"\naz = \"us-east-1a\"",
            "action = \"kill_db_primary\"",
        )
        .replace(
            "action = \"restore_az\"\naz = \"us-east-1a\"",
            "action = \"set_arrivals\"\nvalue = 20.0",
        );
    let sc = stratus::parse_scenario("t.toml", &text).unwrap();
    let r = run(&sc, Strategy::Store);
    let d = db(&r);
    assert_eq!(d.stats.failovers, 1);
    assert_eq!(d.stats.orders_committed, d.orders_in_primary);
    assert!(r.checkouts.failed > 0);
    assert!(!r.events.iter().any(|e| e.kind == "node_dead"));
}

#[test]
fn replica_lag_makes_stale_reads_that_reading_the_primary_removes() {
    let mut sc = bundled("replica-lag");
    sc.duration = Dur(5 * MIN);
    let lagged = run(&sc, Strategy::Store);
    assert!(db(&lagged).stats.stale_order_reads > 0, "{:?}", db(&lagged));
    assert!(db(&lagged).replica_lag_ms.p50 > 0.0);
    sc.database.as_mut().unwrap().read_from = ReadFrom::Primary;
    let fresh = run(&sc, Strategy::Store);
    assert_eq!(db(&fresh).stale_reads, 0);
    assert!(db(&fresh).primary_queries_per_second > 5.0 * db(&lagged).primary_queries_per_second);
}

#[test]
fn read_replicas_take_load_off_the_primary() {
    let mut sc = bundled("read-scaling");
    sc.duration = Dur(2 * MIN);
    sc.timeline.clear();
    sc.workload.arrivals_per_second = 120.0;
    let mut per_replicas = Vec::new();
    for n in [0usize, 1, 2, 4] {
        let d = sc.database.as_mut().unwrap();
        d.replicas = (0..n).map(|i| (1 + i) % 3).collect();
        let r = run(&sc, Strategy::Store);
        per_replicas.push((db(&r).primary_queries_per_second, r.latency_ms.all.p99));
    }
    for w in per_replicas.windows(2) {
        assert!(
            w[1].0 <= w[0].0 * 1.05,
            "primary qps falls: {per_replicas:?}"
        );
    }
    assert!(
        per_replicas[0].0 > 10.0 * per_replicas[2].0,
        "{per_replicas:?}"
    );
    assert!(
        per_replicas[2].1 < per_replicas[0].1,
        "p99 falls: {per_replicas:?}"
    );
}

#[test]
fn cache_hit_ratio_rises_with_ttl_and_dies_with_its_az() {
    let mut sc = bundled("cache-aside");
    sc.duration = Dur(5 * MIN);
    let mut ratios = Vec::new();
    for ttl in [5, 60, 600] {
        sc.cache.as_mut().unwrap().ttl = Dur(ttl * SEC);
        let r = run(&sc, Strategy::Store);
        let c = r.cache.as_ref().unwrap();
        assert_eq!(c.db_reads_saved, c.hits);
        ratios.push(c.hit_ratio);
    }
    assert!(ratios[0] < ratios[1] && ratios[1] < ratios[2], "{ratios:?}");
    sc.timeline.push(stratus::scenario::Timed {
        at: Dur(3 * MIN),
        action: stratus::scenario::Action::KillAz { az: 0 },
    });
    let r = run(&sc, Strategy::Store);
    let c = r.cache.as_ref().unwrap();
    assert!(c.keys_lost > 0 && c.unavailable > 0, "{c:?}");
    assert_eq!(
        db(&r).stats.stale_account_reads,
        0,
        "writes invalidate the cache"
    );
}

#[test]
fn a_shop_without_a_database_reports_none() {
    let r = bundled_report("steady-state", Strategy::Store);
    assert!(r.database.is_none() && r.cache.is_none());
    assert_eq!(r.cost.data_per_hour, 0.0);
    assert!(!r.latency_ms.by_kind.contains_key("orders"));
}

#[test]
fn db_dir_with_the_dashboard_is_refused_not_ignored() {
    let out = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args(["run", "db-failover", "--tui", "--db-dir", "/nonexistent/x"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--replay"));
}
