//! The workspace's shape holds: the model crate compiles none of the drivers'
//! or front ends' dependencies, so a program that only simulates pays for
//! none of them.

use std::process::Command;

/// Crates the model must never pull in (its normal dependencies, transitively).
const FORBIDDEN: [&str; 7] = [
    "tokio",
    "hyper",
    "hyper-util",
    "clap",
    "ratatui",
    "crossterm",
    "indicatif",
];

fn tree(package: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let out = Command::new(cargo)
        .args(["tree", "--offline", "--manifest-path", manifest])
        .args(["-p", package, "-e", "normal", "--prefix", "none"])
        .args(["--format", "{p}"])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect()
}

#[test]
fn the_model_and_the_simulation_compile_no_driver_or_front_end_crate() {
    for package in ["stratus-model", "stratus-sim"] {
        let deps = tree(package);
        assert!(deps.iter().any(|d| d == package), "{deps:?}");
        assert!(
            deps.iter().any(|d| d == "rusqlite"),
            "the tree was read: {deps:?}"
        );
        for f in FORBIDDEN {
            assert!(
                !deps.iter().any(|d| d == f),
                "{package} depends on {f}: {deps:?}"
            );
        }
    }
}

#[test]
fn the_live_driver_does_not_compile_the_front_ends() {
    let deps = tree("stratus-live");
    assert!(deps.iter().any(|d| d == "tokio"), "{deps:?}");
    for f in ["clap", "ratatui", "crossterm", "indicatif", "stratus-sim"] {
        assert!(!deps.iter().any(|d| d == f), "stratus-live depends on {f}");
    }
}
