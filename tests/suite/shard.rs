//! Sweeps and comparisons split into shards (`--shard I/N`) and put back
//! together by `stratus merge`: the merged report is the one a single machine
//! writes, byte for byte outside `wall`; parts that do not belong together
//! are refused; the cluster examples under examples/cluster/ run as written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TINY: &str = "tests/fixtures/shard-tiny.toml";
const SETS: [&str; 4] = [
    "--set",
    "workload.arrivals_per_second=2,4,6",
    "--set",
    "fleet.desired=3,6",
];

fn stratus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stratus"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// A fresh directory for one test's files.
fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("shard")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn expect_code(out: &Output, code: i32) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "{err}");
    err
}

/// The text with every `"wall": { … }` object left out: what must be the
/// same bytes.
fn outside_wall(json: &str) -> String {
    let mut kept = Vec::new();
    let mut in_wall = false;
    for line in json.lines() {
        if in_wall {
            in_wall = !line.trim_start().starts_with('}');
            continue;
        }
        if line.trim_start().starts_with("\"wall\": {") {
            in_wall = !line.trim_end().ends_with('}') && !line.trim_end().ends_with("},");
            continue;
        }
        kept.push(line);
    }
    kept.join("\n")
}

/// Runs each shard of `args` (a sweep or compare) into DIR/part-I.json.
fn shards(args: &[&str], count: u32, d: &Path) -> Vec<String> {
    (1..=count)
        .map(|i| {
            let part = d.join(format!("part-{i}.json")).display().to_string();
            let shard = format!("{i}/{count}");
            let mut a = args.to_vec();
            a.extend(["--shard", &shard, "--out", &part]);
            expect_code(&stratus(&a), 0);
            part
        })
        .collect()
}

fn merge(parts: &[String], format: &str) -> Output {
    let mut a = vec!["merge", "--format", format];
    a.extend(parts.iter().map(String::as_str));
    stratus(&a)
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8")
}

#[test]
fn a_sweep_in_three_shards_merges_into_the_unsharded_sweep() {
    let d = dir("sweep3");
    let mut sweep = vec!["sweep", TINY];
    sweep.extend(SETS);
    sweep.extend(["--strategies", "sticky,store", "--seeds", "2"]);
    let mut json = sweep.clone();
    json.extend(["--format", "json"]);
    let whole = stratus(&json);
    expect_code(&whole, 0);
    let parts = shards(&sweep, 3, &d);
    let merged = merge(&parts, "json");
    let err = expect_code(&merged, 0);
    assert!(
        err.contains("merged 3 parts") && err.contains("24 runs"),
        "{err}"
    );
    let (whole, merged) = (stdout(&whole), stdout(&merged));
    assert!(
        whole.contains("\"wall\": {"),
        "the check sees wall: {whole}"
    );
    assert_eq!(outside_wall(&merged), outside_wall(&whole));
    // Shards split the runs, not a copy of them: 24 runs dealt 8, 8, 8.
    for p in &parts {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        assert_eq!(v["runs"].as_array().unwrap().len(), 8, "{p}");
        assert_eq!(v["grid"].as_array().unwrap().len(), 24, "{p}");
        assert_eq!(v["scenario"]["name"], "shard-tiny");
        assert_eq!(v["scenario"]["sha256"].as_str().unwrap().len(), 64);
    }
    // CSV, the sweep's default, differs only in the wall_seconds column.
    let csv_whole = stdout(&stratus(&sweep));
    let csv_merged = stdout(&merge(&parts, "csv"));
    let strip = |csv: &str| -> Vec<String> {
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let w = header.iter().position(|c| *c == "wall_seconds").unwrap();
        csv.lines()
            .map(|l| {
                let mut cells: Vec<&str> = l.split(',').collect();
                cells.remove(w);
                cells.join(",")
            })
            .collect()
    };
    assert_eq!(strip(&csv_merged), strip(&csv_whole));
}

#[test]
fn compare_with_six_seeds_in_two_shards_merges_into_the_unsharded_compare() {
    let d = dir("compare2");
    let compare = ["compare", TINY, "--seeds", "6"];
    let mut json = compare.to_vec();
    json.extend(["--format", "json"]);
    let whole = stratus(&json);
    expect_code(&whole, 0);
    let parts = shards(&compare, 2, &d);
    let merged = merge(&parts, "json");
    expect_code(&merged, 0);
    let (w, m) = (stdout(&whole), stdout(&merged));
    let runs: serde_json::Value = serde_json::from_str(&w).unwrap();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 18);
    assert_eq!(outside_wall(&m), outside_wall(&w));
    // The text table (mean ± interval over seeds) has no wall figure: the
    // same bytes whole.
    let text = stratus(&compare);
    expect_code(&text, 0);
    assert_eq!(stdout(&merge(&parts, "text")), stdout(&text));
}

#[test]
fn a_single_seed_compare_with_cookie_designs_merges_too() {
    let d = dir("compare1");
    let compare = [
        "compare",
        TINY,
        "--strategies",
        "sticky,cookie:unsigned,cookie:signed,store",
    ];
    let mut json = compare.to_vec();
    json.extend(["--format", "json"]);
    let whole = stratus(&json);
    expect_code(&whole, 0);
    let parts = shards(&compare, 3, &d);
    let merged = merge(&parts, "json");
    expect_code(&merged, 0);
    assert_eq!(
        outside_wall(&stdout(&merged)),
        outside_wall(&stdout(&whole))
    );
    assert!(stdout(&merged).contains("\"variant\": \"unsigned\""));
}

#[test]
fn a_shard_that_is_not_i_of_n_is_a_usage_error() {
    for bad in ["0/3", "4/3", "1/0", "2", "a/3"] {
        let out = stratus(&["compare", TINY, "--shard", bad]);
        let err = expect_code(&out, 2);
        assert!(
            err.contains("--shard") && err.contains("expected"),
            "{bad}: {err}"
        );
        let out = stratus(&["sweep", TINY, "--set", "fleet.desired=3", "--shard", bad]);
        expect_code(&out, 2);
    }
    let out = stratus(&["compare", TINY, "--shard", "1/2", "--format", "text"]);
    let err = expect_code(&out, 2);
    assert!(err.contains("stratus merge"), "{err}");
    let out = stratus(&["compare", TINY, "--shard", "1/2", "--tui"]);
    let err = expect_code(&out, 2);
    assert!(err.contains("--tui"), "{err}");
}

/// Parts of one two-shard comparison, to break in different ways.
fn two_parts(name: &str, extra: &[&str]) -> Vec<String> {
    let d = dir(name);
    let mut a = vec![
        "compare",
        TINY,
        "--strategies",
        "sticky,store",
        "--seeds",
        "2",
    ];
    a.extend(extra);
    shards(&a, 2, &d)
}

fn refused(parts: &[String], code: i32, says: &[&str]) {
    let out = merge(parts, "json");
    let err = expect_code(&out, code);
    assert!(out.stdout.is_empty(), "nothing printed on a refusal");
    for s in says {
        assert!(err.contains(s), "expected {s:?} in: {err}");
    }
}

#[test]
fn missing_and_duplicate_shards_are_refused_by_name() {
    let d = dir("missing");
    let parts = shards(
        &[
            "compare",
            TINY,
            "--strategies",
            "sticky,store",
            "--seeds",
            "2",
        ],
        3,
        &d,
    );
    refused(&parts[..1], 2, &["shards 2/3, 3/3", "missing", "1/3 in"]);
    refused(
        &[parts[0].clone(), parts[2].clone()],
        2,
        &["shard 2/3", "missing"],
    );
    let copy = d.join("copy.json").display().to_string();
    std::fs::copy(&parts[1], &copy).unwrap();
    let with_copy = [parts.clone(), vec![copy.clone()]].concat();
    refused(&with_copy, 2, &["both shard 2/3", &copy, &parts[1]]);
}

#[test]
fn parts_of_different_files_seeds_grids_or_versions_are_refused() {
    let a = two_parts("mix-a", &[]);
    // Another scenario file: the same scenario with one byte changed.
    let d = dir("mix-file");
    let other = d.join("tiny.toml");
    let text = std::fs::read_to_string(TINY).unwrap();
    std::fs::write(&other, text.replace("seed = 11", "seed = 11 ")).unwrap();
    let b = shards(
        &[
            "compare",
            other.to_str().unwrap(),
            "--strategies",
            "sticky,store",
            "--seeds",
            "2",
        ],
        2,
        &d,
    );
    refused(
        &[a[0].clone(), b[1].clone()],
        2,
        &["the scenario file", &b[1], "sha256"],
    );
    let seeds = two_parts("mix-seeds", &["--seed", "5"]);
    refused(
        &[a[0].clone(), seeds[1].clone()],
        2,
        &["the seeds", "5,6", "11,12"],
    );
    let sts = two_parts("mix-sts", &["--jobs", "1"]);
    // --jobs changes nothing in the report: these merge.
    expect_code(&merge(&[a[0].clone(), sts[1].clone()], "json"), 0);
    // A sweep's grid.
    let d = dir("mix-grid");
    let g1 = shards(&["sweep", TINY, "--set", "fleet.desired=3,6"], 2, &d);
    let d = dir("mix-grid2");
    let g2 = shards(&["sweep", TINY, "--set", "fleet.desired=3,9"], 2, &d);
    refused(
        &[g1[0].clone(), g2[1].clone()],
        2,
        &["the grid", "fleet.desired=3,9"],
    );
    refused(
        &[a[0].clone(), g1[1].clone()],
        2,
        &["the command", "`sweep`"],
    );
    // Another version of Stratus wrote this one.
    let v = dir("mix-version").join("part-2.json");
    let text = std::fs::read_to_string(&a[1]).unwrap();
    let mut part: serde_json::Value = serde_json::from_str(&text).unwrap();
    part["stratus_version"] = "9.9.9".into();
    std::fs::write(&v, serde_json::to_string(&part).unwrap()).unwrap();
    let v = v.display().to_string();
    refused(&[a[0].clone(), v.clone()], 2, &["Stratus 9.9.9", &v]);
}

#[test]
fn files_that_are_not_parts_are_refused_as_bad_input() {
    let d = dir("notparts");
    let report = d.join("report.json");
    let out = stratus(&[
        "compare",
        TINY,
        "--format",
        "json",
        "--out",
        report.to_str().unwrap(),
    ]);
    expect_code(&out, 0);
    let report = report.display().to_string();
    refused(
        std::slice::from_ref(&report),
        65,
        &[&report, "a whole report, not a part", "--shard"],
    );
    let junk = d.join("junk.json");
    std::fs::write(&junk, "{ not json").unwrap();
    refused(
        &[junk.display().to_string()],
        65,
        &["not JSON", "junk.json:1:"],
    );
    let other = d.join("other.json");
    std::fs::write(&other, "{\"hello\": 1}").unwrap();
    refused(&[other.display().to_string()], 65, &["not a part"]);
    // A part whose runs were tampered with is damaged.
    let parts = two_parts("damaged", &[]);
    let text = std::fs::read_to_string(&parts[1]).unwrap();
    let mut part: serde_json::Value = serde_json::from_str(&text).unwrap();
    part["runs"].as_array_mut().unwrap().pop();
    std::fs::write(&parts[1], serde_json::to_string(&part).unwrap()).unwrap();
    refused(&parts, 65, &["damaged", &parts[1]]);
    refused(
        &[d.join("absent.json").display().to_string()],
        1,
        &["cannot read"],
    );
}

/// The unsharded sweep the cluster examples split, on the tiny scenario.
fn example_sweep_json() -> String {
    let out = stratus(&[
        "sweep",
        TINY,
        "--set",
        "workload.arrivals_per_second=5,10,20,40",
        "--set",
        "load_balancer.health_check.interval=10s,30s",
        "--format",
        "json",
    ]);
    expect_code(&out, 0);
    stdout(&out)
}

/// PATH with the binary under test first, as the examples call `stratus`.
fn path_with_stratus() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_stratus")).parent().unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn run_script(shell: &str, script: &str, envs: &[(&str, String)]) {
    let mut c = Command::new(shell);
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("-c")
        .arg(script)
        .env("PATH", path_with_stratus());
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = c.output().expect("the shell runs");
    assert!(
        out.status.success(),
        "{script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_slurm_array_script_runs_as_written() {
    let d = dir("slurm");
    let script = std::fs::read_to_string("examples/cluster/sweep.sbatch").unwrap();
    let tasks: u32 = script
        .lines()
        .find_map(|l| l.strip_prefix("#SBATCH --array=1-"))
        .expect("an #SBATCH --array=1-N line")
        .trim()
        .parse()
        .unwrap();
    for i in 1..=tasks {
        run_script(
            "bash",
            &script,
            &[
                ("SLURM_ARRAY_TASK_ID", i.to_string()),
                ("SLURM_ARRAY_TASK_COUNT", tasks.to_string()),
                ("SLURM_CPUS_PER_TASK", "1".into()),
                ("SCENARIO", TINY.into()),
                ("PARTS", d.display().to_string()),
            ],
        );
    }
    let parts: Vec<String> = (1..=tasks)
        .map(|i| d.join(format!("part-{i}.json")).display().to_string())
        .collect();
    let merged = merge(&parts, "json");
    expect_code(&merged, 0);
    assert_eq!(
        outside_wall(&stdout(&merged)),
        outside_wall(&example_sweep_json())
    );
}

/// The shell script of the manifest's `args: - |` block, dedented.
fn manifest_script(yaml: &str) -> String {
    let lines: Vec<&str> = yaml.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == "- |")
        .expect("a `- |` block under args");
    let body: Vec<&str> = lines[start + 1..]
        .iter()
        .take_while(|l| l.starts_with("              ") || l.trim().is_empty())
        .map(|l| l.get(14..).unwrap_or(""))
        .collect();
    body.join("\n")
}

/// The value of the first `key: value` line (`completions: 3`), or of the
/// env entry after `- name: KEY`.
fn manifest_value(yaml: &str, key: &str) -> String {
    let lines: Vec<&str> = yaml.lines().collect();
    if let Some(i) = lines
        .iter()
        .position(|l| l.trim() == format!("- name: {key}"))
    {
        let v = lines[i + 1]
            .trim()
            .strip_prefix("value:")
            .expect("value line");
        return v.trim().trim_matches('"').to_string();
    }
    lines
        .iter()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in the manifest"))
        .trim()
        .to_string()
}

#[test]
fn the_kubernetes_indexed_job_runs_as_written() {
    let d = dir("k8s");
    let yaml = std::fs::read_to_string("examples/cluster/sweep-job.yaml").unwrap();
    assert_eq!(manifest_value(&yaml, "completionMode"), "Indexed");
    let shards: u32 = manifest_value(&yaml, "SHARDS").parse().unwrap();
    assert_eq!(manifest_value(&yaml, "completions"), shards.to_string());
    let script = manifest_script(&yaml);
    assert!(script.contains("--shard"), "{script}");
    for index in 0..shards {
        run_script(
            "sh",
            &script,
            &[
                ("JOB_COMPLETION_INDEX", index.to_string()),
                ("SHARDS", shards.to_string()),
                ("SCENARIO", TINY.into()),
                ("PARTS", d.display().to_string()),
            ],
        );
    }
    let parts: Vec<String> = (1..=shards)
        .map(|i| d.join(format!("part-{i}.json")).display().to_string())
        .collect();
    let merged = merge(&parts, "json");
    expect_code(&merged, 0);
    assert_eq!(
        outside_wall(&stdout(&merged)),
        outside_wall(&example_sweep_json())
    );
}
