//! The command line end to end: thresholds and exit codes, plots, tables,
//! several seeds.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn stratus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stratus"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// Asserts the exit code, showing stderr when it is wrong.
fn expect_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const SLO: &str = "tests/fixtures/az-outage-slo.toml";

#[test]
fn slo_fails_sticky_with_exit_3_and_passes_store() {
    let sticky = stratus(&["run", SLO, "--strategy", "sticky"]);
    expect_code(&sticky, 3);
    let err = String::from_utf8_lossy(&sticky.stderr);
    assert!(
        err.contains("carts_lost_max"),
        "names the violated figure: {err}"
    );
    assert!(!sticky.stdout.is_empty(), "the report is still printed");
    let store = stratus(&["run", SLO, "--strategy", "store"]);
    expect_code(&store, 0);
    // compare fails if any strategy fails.
    assert_eq!(
        stratus(&["compare", SLO, "--strategies", "store,cookie"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(stratus(&["compare", SLO]).status.code(), Some(3));
}

#[test]
fn slo_results_are_in_the_json_report() {
    let out = stratus(&["run", SLO, "--strategy", "sticky", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let checks = v["slo"].as_array().expect("slo array");
    assert_eq!(checks.len(), 3);
    let carts = checks
        .iter()
        .find(|c| c["threshold"] == "carts_lost_max")
        .unwrap();
    assert_eq!(carts["passed"], false);
    assert!(carts["actual"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_bad_slo_key_is_a_scenario_error() {
    let f = tmp("bad-slo.toml");
    std::fs::write(
        &f,
        "[scenario]\nname = \"x\"\nduration = \"1m\"\n[slo]\ncarts_lots_max = 0\n",
    )
    .unwrap();
    let out = stratus(&["validate", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(65));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(":5:") && err.contains("carts_lost"), "{err}");
}

#[test]
fn compare_writes_an_svg_timeline() {
    let svg = tmp("az-outage.svg");
    let out = stratus(&["compare", "az-outage", "--plot", svg.to_str().unwrap()]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&svg).expect("written");
    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
    for needle in [
        "sticky",
        "cookie",
        "store",
        "kill_az",
        "carts lost so far",
        "us-east-1a",
    ] {
        assert!(text.contains(needle), "missing {needle}");
    }
    // One polyline per strategy in each per-strategy panel, and well-formed tags.
    assert_eq!(text.matches("<svg").count(), 1);
    assert!(text.matches("<path").count() >= 4 * 3 + 3);
}

#[test]
fn markdown_and_csv_are_tables() {
    let md = String::from_utf8(stratus(&["compare", "scale-in", "--format", "markdown"]).stdout)
        .unwrap();
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
    let cols = rows[0].matches('|').count();
    assert!(
        rows.len() > 10 && rows.iter().all(|r| r.matches('|').count() == cols),
        "{md}"
    );
    assert!(rows[1].starts_with("|---|"));
    let csv =
        String::from_utf8(stratus(&["compare", "scale-in", "--format", "csv"]).stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "header and one row per strategy");
    let n = lines[0].split(',').count();
    assert!(lines.iter().all(|l| l.split(',').count() == n));
    let series =
        String::from_utf8(stratus(&["run", "scale-in", "--format", "csv", "--series"]).stdout)
            .unwrap();
    assert_eq!(
        series.lines().count(),
        1 + 1800,
        "a header and a row per simulated second"
    );
}

#[test]
fn several_seeds_give_means_and_intervals() {
    let out = stratus(&[
        "compare",
        "scale-in",
        "--seeds",
        "3",
        "--strategies",
        "sticky,store",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("3 seeds") && text.contains("±"), "{text}");
    let lost = text.lines().find(|l| l.starts_with("carts lost")).unwrap();
    assert!(
        lost.contains("0 ± 0"),
        "store loses nothing on any seed: {lost}"
    );
    let json = stratus(&[
        "compare",
        "scale-in",
        "--seeds",
        "3",
        "--strategies",
        "sticky,store",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["runs"].as_array().unwrap().len(), 6);
}

#[test]
fn sweep_runs_the_grid_and_draws_it() {
    let svg = tmp("sweep.svg");
    let out = stratus(&[
        "sweep",
        "scale-in",
        "--set",
        "fleet.desired=3,6",
        "--set",
        "workload.arrivals_per_second=5,10",
        "--strategies",
        "sticky,store",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("fleet.desired,workload.arrivals_per_second,scenario,strategy"));
    assert_eq!(lines.len(), 1 + 2 * 2 * 2, "a row per point and strategy");
    // Scaling in to 3 from a desired of 3 removes nothing: no sticky loss there.
    let carts = lines[0].split(',').position(|c| c == "carts_lost").unwrap();
    for l in &lines[1..] {
        let cells: Vec<&str> = l.split(',').collect();
        let lost: u64 = cells[carts].parse().unwrap();
        match (cells[0], cells[3]) {
            ("3", _) | (_, "store") => assert_eq!(lost, 0, "{l}"),
            _ => assert!(lost > 0, "{l}"),
        }
    }
    let pic = std::fs::read_to_string(&svg).unwrap();
    assert!(
        pic.contains("carts lost by fleet.desired")
            && pic.contains("sticky, arrivals_per_second=5")
    );
    let bad = stratus(&["sweep", "scale-in", "--set", "fleet.desired=30"]);
    assert_eq!(bad.status.code(), Some(65));
}

#[test]
fn serve_refuses_zero_lanes() {
    let out = stratus(&["serve", "--lanes", "0"]);
    expect_code(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--lanes") && err.contains("1..=1024"), "{err}");
}

/// A 20 s cookie scenario named `name` whose errors from 5 s to 10 s
/// make clients retry, with two `[[variants]]`: `three` attempts (the file
/// as written) and `one`.
fn two_variants(name: &str) -> PathBuf {
    let file = tmp(&format!("{name}.toml"));
    let text = format!(
        "[scenario]\nname = \"{name}\"\nduration = \"20s\"\nstrategy = \"cookie\"\n\
         [workload]\narrivals_per_second = 5.0\npages = 2\n\
         [workload.retry]\nmax_attempts = 3\nbackoff = \"none\"\n\
         [[timeline]]\nat = \"5s\"\naction = \"inject_errors\"\nvalue = 0.5\nduration = \"5s\"\n\
         [[variants]]\nname = \"three\"\n\
         [[variants]]\nname = \"one\"\nset = {{ \"workload.retry.max_attempts\" = 1 }}\n"
    );
    std::fs::write(&file, text).unwrap();
    file
}

/// `run --variant NAME` runs that [[variants]] entry: the report names it
/// and equals the comparison's run of it; a replay of it runs it again,
/// and an unknown name is refused with the names there are.
#[test]
fn run_follows_a_variant_and_its_replay_does_too() {
    let file = two_variants("run-variant");
    let f = file.to_str().unwrap();
    let json = ["--format", "json"];
    let one = stratus(&[&["run", f, "--variant", "one"][..], &json].concat());
    expect_code(&one, 0);
    let run = crate::common::without_wall(&one.stdout);
    assert_eq!(run["variant"], "one");
    let cmp = stratus(&[&["compare", f][..], &json].concat());
    expect_code(&cmp, 0);
    let cmp = crate::common::without_wall(&cmp.stdout);
    let runs = cmp["runs"].as_array().unwrap();
    let of = |name: &str| runs.iter().find(|r| r["variant"] == name).unwrap();
    assert_eq!(&run, of("one"));
    // The variant changes the run: with one attempt, fewer requests.
    assert_ne!(run["requests"], of("three")["requests"]);
    let plain = stratus(&[&["run", f][..], &json].concat());
    assert_eq!(
        crate::common::without_wall(&plain.stdout)["variant"],
        serde_json::Value::Null
    );

    let recorded = tmp("run-variant.json");
    std::fs::write(&recorded, &one.stdout).unwrap();
    let r = recorded.to_str().unwrap();
    let again = stratus(&[&["run", f, "--replay", r][..], &json].concat());
    expect_code(&again, 0);
    assert_eq!(crate::common::without_wall(&again.stdout), run);
    let other = stratus(&["run", f, "--replay", r, "--variant", "three"]);
    expect_code(&other, 2);
    // A cookie design is compare's to replay: the message says how.
    let mut design = run.clone();
    design["variant"] = "unsigned".into();
    let designed = tmp("run-variant-design.json");
    std::fs::write(&designed, design.to_string()).unwrap();
    let refused = stratus(&["run", f, "--replay", designed.to_str().unwrap()]);
    expect_code(&refused, 2);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("--strategies cookie:unsigned --replay"),
        "{err}"
    );

    let bad = stratus(&["run", f, "--variant", "two"]);
    expect_code(&bad, 2);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("--variant two") && err.contains("three, one"),
        "{err}"
    );
}

/// A replayed variant's injected actions are resolved in the variant, which
/// may have other AZs than the file as written.
#[test]
fn a_replayed_variant_resolves_its_actions_in_the_variant() {
    let file = tmp("replay-azs.toml");
    std::fs::write(
        &file,
        "[scenario]\nname = \"replay-azs\"\nduration = \"20s\"\n\
         [region]\nazs = [\"us-east-1a\", \"us-east-1b\"]\n\
         [workload]\narrivals_per_second = 5.0\n\
         [[variants]]\nname = \"two\"\n\
         [[variants]]\nname = \"three\"\n\
         set = { \"region.azs\" = [\"us-east-1a\", \"us-east-1b\", \"us-east-1c\"] }\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let out = stratus(&["run", f, "--variant", "three", "--format", "json"]);
    expect_code(&out, 0);
    let mut rec = crate::common::without_wall(&out.stdout);
    let kill = serde_json::json!(
        [{"t_ns": 5_000_000_000u64, "t_s": 5.0, "action": "kill_az", "az": "us-east-1c"}]
    );
    rec["injected"] = kill.clone();
    let recorded = tmp("replay-azs.json");
    std::fs::write(&recorded, rec.to_string()).unwrap();
    let again = stratus(&[
        "run",
        f,
        "--replay",
        recorded.to_str().unwrap(),
        "--format",
        "json",
    ]);
    expect_code(&again, 0);
    let again = crate::common::without_wall(&again.stdout);
    assert_eq!(again["variant"], "three");
    assert_eq!(again["injected"], kill);
    assert_ne!(
        again["requests"], rec["requests"],
        "the AZ's loss changes the run"
    );
}

/// A compare of `[[variants]]` with client retries draws offered load and
/// goodput per second, and gives each variant (one strategy) its own colour.
#[test]
fn a_compare_of_variants_plots_goodput_per_variant_in_its_own_colour() {
    let file = two_variants("goodput-plot");
    let svg = tmp("goodput-plot.svg");
    let out = stratus(&[
        "compare",
        file.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    expect_code(&out, 0);
    let pic = std::fs::read_to_string(&svg).unwrap();
    assert!(pic.contains("goodput per second"), "no goodput panel");
    // The panel's legend names each variant once, in a colour of its own.
    let colour_of = |label: &str| {
        let at = pic
            .find(&format!(">{label}</text>"))
            .unwrap_or_else(|| panic!("no legend {label}"));
        let line = pic[..at].rfind("<line").unwrap();
        let stroke = &pic[line..at];
        let s = stroke.find("stroke=\"").unwrap() + 8;
        stroke[s..s + 7].to_string()
    };
    assert_ne!(colour_of("cookie:three"), colour_of("cookie:one"));
    // Goodput (solid) and offered (dashed) for each run.
    let dashed = pic.matches("stroke-dasharray=\"5 3\"/>\n").count();
    assert_eq!(dashed, 2, "one dashed offered line per run");
    // Runs without retries draw no such panel.
    let plain_file = tmp("goodput-plain.toml");
    std::fs::write(
        &plain_file,
        "[scenario]\nname = \"plain\"\nduration = \"10s\"\n[workload]\narrivals_per_second = 5.0\n",
    )
    .unwrap();
    let plain = tmp("goodput-plain.svg");
    let out = stratus(&[
        "compare",
        plain_file.to_str().unwrap(),
        "--plot",
        plain.to_str().unwrap(),
    ]);
    expect_code(&out, 0);
    assert!(!std::fs::read_to_string(&plain).unwrap().contains("goodput"));
}

/// The live nodes have no queue of their own to order: `serve` refuses a
/// LIFO scenario and says why, instead of serving it FIFO in silence.
#[test]
fn serve_refuses_a_queue_order_it_cannot_keep() {
    let file = tmp("lifo-serve.toml");
    std::fs::write(
        &file,
        "[scenario]\nname = \"lifo\"\nduration = \"1m\"\n[fleet]\nqueue_order = \"lifo\"\n",
    )
    .unwrap();
    let out = stratus(&[
        "serve",
        file.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--admin",
        "127.0.0.1:0",
    ]);
    expect_code(&out, 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("queue_order = \"lifo\"") && err.contains("accept queues"),
        "{err}"
    );
}
