//! `stratus diff`: a report against a baseline, through the binary, on
//! reports from real runs: the exit code of a CI gate, its three formats,
//! and a bad report file.

use crate::common::at;
use std::path::PathBuf;
use std::process::{Command, Output};
use stratus::scenario::{Action, Scenario, Strategy};
use stratus::time::Dur;

const BIN: &str = env!("CARGO_BIN_EXE_stratus");

fn scenario(kill: bool) -> Scenario {
    let mut sc = Scenario::new("diffed", Dur::from_secs(240));
    sc.workload.arrivals_per_second = 20.0;
    if kill {
        at(&mut sc, 120, Action::KillAz { az: 1 });
    }
    sc
}

/// Writes `{"runs": […]}` of `sc` under sticky and store, seeds 1..=`seeds`.
fn report(name: &str, sc: &Scenario, seeds: u64) -> PathBuf {
    let runs: Vec<_> = (1..=seeds)
        .flat_map(|seed| [Strategy::Sticky, Strategy::Store].map(|st| stratus::run(sc, st, seed)))
        .collect();
    let path =
        std::env::temp_dir().join(format!("stratus-diff-{}-{name}.json", std::process::id()));
    let json = serde_json::json!({ "runs": runs });
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    path
}

fn diff(base: &PathBuf, cur: &PathBuf, extra: &[&str]) -> Output {
    Command::new(BIN)
        .arg("diff")
        .arg(base)
        .arg(cur)
        .args(extra)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_regression_past_its_bound_exits_3_and_within_it_0() {
    let calm = report("calm", &scenario(false), 1);
    let outage = report("outage", &scenario(true), 1);
    let report = |p: &PathBuf| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let lost = report(&outage)["runs"][0]["shoppers"]["carts_lost"]
        .as_u64()
        .unwrap();
    assert!(lost > 0, "the outage loses sticky carts");

    let gate = diff(
        &calm,
        &outage,
        &["--max-regression", "carts_lost=0,p99=50%"],
    );
    assert_eq!(gate.status.code(), Some(3), "{}", text(&gate));
    let said = String::from_utf8_lossy(&gate.stderr);
    assert!(said.contains("regression: sticky carts_lost +"), "{said}");
    // Store keeps its carts through the outage: not a carts_lost regression.
    assert!(!said.contains("store carts_lost"), "{said}");
    assert!(text(&gate).contains("REGRESSION sticky carts_lost"));

    let roomy = format!("carts_lost={}", lost + 1);
    let ok = diff(&calm, &outage, &["--max-regression", &roomy]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    // Without bounds it only reports; the same file against itself is clean.
    assert_eq!(diff(&calm, &outage, &[]).status.code(), Some(0));
    let same = diff(
        &outage,
        &outage,
        &["--max-regression", "carts_lost=0,p99=0"],
    );
    assert_eq!(same.status.code(), Some(0), "{}", text(&same));
    // Getting better is never a regression: the outage as the baseline.
    let better = diff(&outage, &calm, &["--max-regression", "carts_lost=0"]);
    assert_eq!(better.status.code(), Some(0), "{}", text(&better));
    assert!(text(&better).contains("better"), "{}", text(&better));
}

#[test]
fn the_markdown_renders_as_a_table_and_the_json_holds_every_change() {
    let calm = report("md-calm", &scenario(false), 3);
    let outage = report("md-outage", &scenario(true), 3);
    let md = text(&diff(&calm, &outage, &["--format", "markdown"]));
    // A Markdown parser (GitHub's tables) reads one table per design.
    let mut opts = pulldown_cmark::Options::empty();
    opts.insert(pulldown_cmark::Options::ENABLE_TABLES);
    let tables = pulldown_cmark::Parser::new_ext(&md, opts)
        .filter(|e| {
            matches!(
                e,
                pulldown_cmark::Event::Start(pulldown_cmark::Tag::Table(_))
            )
        })
        .count();
    assert_eq!(tables, 2, "{md}");
    assert!(md.contains("| carts lost |"), "{md}");

    let json = diff(&calm, &outage, &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["baseline"]["seeds"], 3);
    let sticky = &v["designs"][0];
    assert_eq!(sticky["design"], "sticky");
    let carts = sticky["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "carts_lost")
        .unwrap();
    let (b, c) = (
        carts["baseline"].as_f64().unwrap(),
        carts["current"].as_f64().unwrap(),
    );
    assert!((carts["change"].as_f64().unwrap() - (c - b)).abs() < 1e-9);
    assert_eq!(carts["worse"], true);
    // Three seeds a side: the change is tested against the seeds' noise.
    assert!(carts["significant"].is_boolean(), "{carts}");
}

#[test]
fn a_report_reads_back_as_the_report_written() {
    let r = stratus::run(&scenario(true), Strategy::Store, 4);
    let text = serde_json::to_string(&r).unwrap();
    let back: stratus::report::Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back, r);
}

#[test]
fn a_file_that_is_not_a_report_is_refused_with_its_line_and_column() {
    let good = report("good", &scenario(false), 1);
    let bad = std::env::temp_dir().join(format!("stratus-diff-{}-bad.json", std::process::id()));
    std::fs::write(&bad, "{\n  \"runs\": [\n    {\"scenario\": }\n  ]\n}\n").unwrap();
    let o = diff(&good, &bad, &[]);
    assert_eq!(o.status.code(), Some(65));
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(said.contains(&format!("{}:3:", bad.display())), "{said}");
    assert!(said.contains("expected a JSON report"), "{said}");
    let o = diff(&good, &good, &["--max-regression", "carts=0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no figure called \"carts\""));
    // A bound on a figure the reports lack would never fail: refused.
    let o = diff(&good, &good, &["--max-regression", "stale_reads=0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("neither report has this figure"));
}
