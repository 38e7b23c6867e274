//! The bad-input corpus: every file under `tests/fixtures/bad/` is a scenario
//! that is wrong in exactly one way. The CLI must refuse each with exit code 65
//! and the one-line message recorded next to it in `NN-name.expected`, and the
//! library must return an error for it (never panic).
//!
//! To add a case: write `NN-short-name.toml`, run
//! `cargo run -- validate tests/fixtures/bad/NN-short-name.toml`, check the
//! message by eye (right line and column, says what was expected), and save
//! stderr's first line as `NN-short-name.expected`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_stratus");
const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const BAD_DIR: &str = "tests/fixtures/bad";
const MIN_FIXTURES: usize = 30;
/// CONTRACT.md: an invalid scenario file.
const EXIT_INVALID: i32 = 65;
/// CONTRACT.md: a usage error.
const EXIT_USAGE: i32 = 2;

fn manifest_dir() -> &'static Path {
    Path::new(MANIFEST_DIR)
}

/// The fixtures, sorted, as paths relative to the crate root (the form the
/// CLI echoes back in its messages and the `.expected` files record).
fn fixtures() -> Vec<PathBuf> {
    let dir = manifest_dir().join(BAD_DIR);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").file_name())
        .map(PathBuf::from)
        .filter(|name| name.extension().is_some_and(|x| x == "toml"))
        .map(|name| Path::new(BAD_DIR).join(name))
        .collect();
    out.sort();
    assert!(
        out.len() >= MIN_FIXTURES,
        "expected at least {MIN_FIXTURES} fixtures in {}, found {}",
        dir.display(),
        out.len()
    );
    out
}

fn expected_line(fixture: &Path) -> String {
    let path = manifest_dir().join(fixture.with_extension("expected"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .trim()
        .to_string()
}

/// Runs the binary from the crate root, whatever the test's own cwd.
fn stratus(args: &[&str]) -> Output {
    stratus_in(manifest_dir(), args)
}

fn stratus_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_fixture_has_an_expected_file_and_vice_versa() {
    let dir = manifest_dir().join(BAD_DIR);
    for fixture in fixtures() {
        let expected = manifest_dir().join(fixture.with_extension("expected"));
        assert!(
            expected.is_file(),
            "{} has no {}",
            fixture.display(),
            expected.display()
        );
        assert!(
            !expected_line(&fixture).is_empty(),
            "{} is empty",
            expected.display()
        );
    }
    for entry in std::fs::read_dir(&dir).expect("fixture directory") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|x| x == "expected") {
            assert!(
                path.with_extension("toml").is_file(),
                "{} has no .toml beside it",
                path.display()
            );
        }
    }
}

#[test]
fn cli_refuses_every_fixture_with_its_recorded_message() {
    let mut failures = Vec::new();
    for fixture in fixtures() {
        let rel = fixture.to_str().expect("fixture paths are UTF-8");
        let want = expected_line(&fixture);
        for cmd in ["validate", "run"] {
            let out = stratus(&[cmd, rel]);
            let stdout = text(&out.stdout);
            let stderr = text(&out.stderr);
            let first = stderr.lines().next().unwrap_or("").trim();
            let mut problems = Vec::new();
            if out.status.code() != Some(EXIT_INVALID) {
                problems.push(format!(
                    "exit status {:?}, expected {EXIT_INVALID}",
                    out.status.code()
                ));
            }
            if !stdout.is_empty() {
                problems.push(format!("stdout is not empty: {stdout:?}"));
            }
            if first != want {
                problems.push(format!(
                    "stderr's first line differs\n      got:      {first}\n      expected: {want}"
                ));
            }
            if stderr.contains("panicked") {
                problems.push(format!("it panicked:\n{stderr}"));
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "stratus {cmd} {rel}:\n    {}",
                    problems.join("\n    ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn library_returns_an_error_for_every_utf8_fixture() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for fixture in fixtures() {
        let rel = fixture.to_str().expect("fixture paths are UTF-8");
        let bytes = std::fs::read(manifest_dir().join(&fixture)).expect("readable fixture");
        let Ok(src) = String::from_utf8(bytes) else {
            // The CLI refuses these before the parser sees them (checked above).
            assert!(
                rel.contains("utf8"),
                "{rel} is not UTF-8 but its name does not say so"
            );
            continue;
        };
        checked += 1;
        // Traces are read beside the fixture, as the command line reads them.
        let read = |name: &str| stratus::cli::read_beside(rel, name);
        let result =
            std::panic::catch_unwind(|| stratus::scenario::parse_scenario_with(rel, &src, &read));
        let err = match result {
            Err(_) => {
                failures.push(format!("{rel}: parse_scenario panicked"));
                continue;
            }
            Ok(Ok(sc)) => {
                failures.push(format!("{rel}: parsed as a valid scenario {:?}", sc.name));
                continue;
            }
            Ok(Err(e)) => e,
        };
        if err.line.is_some() != err.column.is_some() {
            failures.push(format!(
                "{rel}: line {:?} without column {:?} (or the reverse): {err}",
                err.line, err.column
            ));
        }
        if !err.message.contains("expected") {
            failures.push(format!(
                "{rel}: the message does not say what was expected: {err}"
            ));
        }
        // A trace's own error names the trace, beside the fixture.
        let trace_beside =
            err.file.ends_with(".csv") && Path::new(&err.file).parent() == fixture.parent();
        if err.file != rel && !trace_beside {
            failures.push(format!("{rel}: the error names file {:?}", err.file));
        }
        // The library and the CLI must tell the same story.
        let rendered = format!("stratus: {err}");
        let want = expected_line(&fixture);
        if rendered != want {
            failures.push(format!(
                "{rel}: the library's error differs from the recorded CLI message\n    library:  {rendered}\n    recorded: {want}"
            ));
        }
    }
    assert!(
        checked >= MIN_FIXTURES - 1,
        "only {checked} UTF-8 fixtures were parsed"
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn run_of_an_unknown_scenario_lists_the_bundled_ones() {
    // From cargo's scratch directory, away from the crate root, so the answer
    // comes from the bundled list rather than from files lying around.
    let out = stratus_in(
        Path::new(env!("CARGO_TARGET_TMPDIR")),
        &["run", "does-not-exist"],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_USAGE), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    assert!(stderr.contains("does-not-exist"), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    assert!(!stratus::bundled::BUNDLED.is_empty());
    for (name, _) in stratus::bundled::BUNDLED {
        assert!(
            stderr.contains(name),
            "the message does not list bundled scenario {name:?}: {stderr}"
        );
    }
}

#[test]
fn run_with_an_unknown_strategy_is_a_usage_error_naming_all_four() {
    let out = stratus(&["run", "az-outage", "--strategy", "dynamodb"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_USAGE), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    for name in ["sticky", "cookie", "store", "durable"] {
        assert!(stderr.contains(name), "stderr: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}

#[test]
fn every_bundled_scenario_file_validates() {
    let dir = manifest_dir().join("scenarios");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let name = p.file_name().expect("a file name").to_str().expect("UTF-8");
            format!("scenarios/{name}")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenarios in {}", dir.display());
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let out = stratus(&args);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stderr.is_empty(), "stderr: {stderr}");
    for f in &files {
        assert!(
            stdout.lines().any(|l| l.starts_with(&format!("ok  {f}:"))),
            "no ok line for {f}: {stdout}"
        );
    }
}
