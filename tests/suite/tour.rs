//! The tour runs end to end without a terminal, and every step's headline
//! figures move the way its lesson says, on real runs.

use crate::common::bundled_report;
use std::process::{Command, Stdio};
use stratus::Strategy;
use stratus::tour::{Expect, STEPS, judge};

#[test]
fn every_lesson_holds_on_its_own_run() {
    let mut previous = None;
    for (i, step) in STEPS.iter().enumerate() {
        // The same run the determinism test hashes, where the step's strategy
        // is the scenario's own.
        let r = bundled_report(step.scenario, step.strategy);
        let verdicts = judge(step, &r, previous.as_deref());
        for v in &verdicts {
            assert!(v.holds, "step {}: {}", i + 1, v.line);
            if matches!(v.expect, Expect::Up | Expect::Down) {
                assert!(
                    v.previous.is_some(),
                    "step {}: {} has nothing to compare",
                    i + 1,
                    v.key
                );
            }
        }
        // The case study's headline, said outright: sticky sessions lose
        // carts to the outages, the cookie and the store none.
        let lost = r.shoppers.carts_lost;
        match step.strategy {
            Strategy::Sticky => assert!(lost > 0, "step {}: sticky lost no cart", i + 1),
            Strategy::Cookie | Strategy::Store | Strategy::Durable => {
                assert_eq!(lost, 0, "step {}: {} lost carts", i + 1, step.strategy)
            }
        }
        previous = Some(r);
    }
}

#[test]
fn the_tour_runs_straight_through_without_a_terminal() {
    let out = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .arg("tour")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("press Enter"), "paused without a terminal");
    for (i, step) in STEPS.iter().enumerate() {
        let heading = format!("Step {} of {} · {}", i + 1, STEPS.len(), step.title);
        assert!(text.contains(&heading), "missing {heading:?}");
        let first_words: Vec<&str> = step.lesson.split_whitespace().take(6).collect();
        assert!(
            text.contains(&first_words.join(" ")),
            "step {} lesson missing",
            i + 1
        );
        assert!(
            text.contains(&format!("under {} · seed", step.strategy)),
            "step {} does not say what ran",
            i + 1
        );
    }
    assert!(!text.contains("NOT as predicted"), "{text}");
    assert_eq!(
        text.matches("as predicted").count(),
        STEPS
            .iter()
            .flat_map(|s| s.figures)
            .filter(|h| h.expect != Expect::Shown)
            .count()
    );
    assert!(text.contains("Every headline figure"), "{text}");
    // --tui without a terminal is the same text, with a note.
    let tui = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args(["tour", "--tui", "--no-pause"])
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&tui.stderr).contains("needs a terminal"));
    assert_eq!(String::from_utf8(tui.stdout).unwrap(), text);
}
