//! The dashboard, without a terminal: key frames drawn on ratatui's
//! TestBackend from real runs, and the promise that steering a run by hand
//! (injected actions) and replaying it give exactly the batch run's figures.

use crate::common::{bundled, json_outside_wall, without_wall};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use std::process::Command;
use stratus::Report;
use stratus::report::text::thousands;
use stratus::scenario::{Action, Scenario, Strategy, Timed};
use stratus::sim::Sim;
use stratus::snapshot::Cursor;
use stratus::time::{Dur, MS, SEC};
use stratus::tui::state::{Caption, Dash, Ui};
use stratus::tui::{compare, draw};

/// A run stepped to `t` as the dashboard sees it.
fn dash_at(sim: &mut Sim, t: u64) -> Dash {
    let mut cursor = Cursor::default();
    sim.step_to(t);
    let snap = sim.snapshot(&mut cursor);
    Dash::new(sim.seed(), snap, cursor)
}

fn lines(buf: &Buffer) -> Vec<String> {
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect()
}

fn frame(w: u16, h: u16, f: impl FnOnce(&mut ratatui::Frame)) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(f).unwrap();
    term.backend().buffer().clone()
}

/// The screen line that contains `needle`.
fn line_with<'a>(screen: &'a [String], needle: &str) -> &'a str {
    screen
        .iter()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{}", screen.join("\n")))
}

#[test]
fn after_a_kill_the_az_panel_shows_its_nodes_dead() {
    let sc = bundled("az-outage");
    let mut sim = Sim::new(&sc, Strategy::Sticky, sc.seed);
    // us-east-1b dies at 600 s; five seconds later the balancer has not yet
    // noticed, so its two nodes are still there, dead.
    let dash = dash_at(&mut sim, 605 * SEC);
    let ui = Ui::new(30.0, false);
    let screen = lines(&frame(100, 30, |f| draw::draw(f, &dash, &ui)));
    let b = line_with(&screen, "us-east-1b");
    assert!(b.contains("DOWN XX "), "{b}");
    // The other AZs: alive, their nodes healthy, and a replacement launching.
    let a = line_with(&screen, "us-east-1a");
    assert!(
        a.contains("up   HH") && a.contains('L') && !a.contains('X'),
        "{a}"
    );
    assert!(screen[0].contains("10:05 / 30:00"), "{}", screen[0]);
    assert!(line_with(&screen, "events").contains("events ("));
    assert!(
        screen
            .iter()
            .any(|l| l.contains("kill_az") && l.contains("us-east-1b"))
    );
}

#[test]
fn the_carts_lost_figure_is_the_reports() {
    let sc = bundled("az-outage");
    let batch = stratus::run(&sc, Strategy::Sticky, sc.seed);
    assert!(batch.shoppers.carts_lost > 0);
    let mut sim = Sim::new(&sc, Strategy::Sticky, sc.seed);
    let dash = dash_at(&mut sim, sc.duration.0);
    let mut ui = Ui::new(30.0, false);
    ui.finished = true;
    let screen = lines(&frame(100, 30, |f| draw::draw(f, &dash, &ui)));
    let want = format!("carts lost {} ", thousands(batch.shoppers.carts_lost));
    assert!(line_with(&screen, "carts lost ").contains(&want), "{want}");
    assert!(screen[0].contains("FINISHED"));
    assert!(line_with(&screen, "q quit").contains("print the report"));
}

#[test]
fn the_help_overlay_lists_the_keys() {
    let sc = bundled("steady-state");
    let mut sim = Sim::new(&sc, Strategy::Cookie, 1);
    let dash = dash_at(&mut sim, 30 * SEC);
    let mut ui = Ui::new(30.0, false);
    let before = lines(&frame(80, 24, |f| draw::draw(f, &dash, &ui)));
    assert!(!before.iter().any(|l| l.contains("kill an AZ")));
    ui.help = true;
    let screen = lines(&frame(80, 24, |f| draw::draw(f, &dash, &ui)));
    assert!(line_with(&screen, "keys (any key closes)").contains('┌'));
    for (key, what) in stratus::tui::keys::HELP {
        assert!(
            screen.iter().any(|l| l.contains(key) && l.contains(what)),
            "help misses {key}: {what}\n{}",
            screen.join("\n")
        );
    }
}

#[test]
fn an_80_by_24_frame_keeps_every_panel() {
    let sc = bundled("store-failover");
    let mut sim = Sim::new(&sc, Strategy::Store, sc.seed);
    let dash = dash_at(&mut sim, 610 * SEC);
    let mut ui = Ui::new(120.0, false);
    ui.paused = true;
    let screen = lines(&frame(80, 24, |f| draw::draw(f, &dash, &ui)));
    let all = screen.join("\n");
    for needle in [
        "10:10 / 30:00",
        "×120",
        "PAUSED",
        "availability zones",
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
        "store:R",
        "FAILING OVER",
        "carts lost",
        "healthy targets 6/6",
        "req/s",
        "p99",
        "events",
        "kill_store_primary",
        "q quit",
    ] {
        assert!(all.contains(needle), "80×24 lost {needle:?}:\n{all}");
    }
}

#[test]
fn without_colour_the_states_are_letters_with_colour_cells() {
    let sc = bundled("az-outage");
    let mut sim = Sim::new(&sc, Strategy::Sticky, sc.seed);
    let dash = dash_at(&mut sim, 605 * SEC);
    let plain = frame(100, 30, |f| draw::draw(f, &dash, &Ui::new(30.0, false)));
    let coloured = frame(100, 30, |f| draw::draw(f, &dash, &Ui::new(30.0, true)));
    // Charts tell their lines apart by marker without colour; every panel
    // else reads the same.
    let (p, c) = (lines(&plain), lines(&coloured));
    assert_eq!(p[..8], c[..8], "colour changed the panels' text");
    assert_eq!(p[p.len() - 7..], c[c.len() - 7..], "colour changed the log");
    assert!(line_with(&p, "p50 · p99").contains("p99 ms(•)"));
    let plain_colours = plain
        .content()
        .iter()
        .any(|c| c.fg != Color::Reset || c.bg != Color::Reset);
    assert!(!plain_colours, "NO_COLOR frame has colour");
    // The first dead cell is on red.
    let screen = lines(&coloured);
    let y = screen
        .iter()
        .position(|l| l.contains("us-east-1b"))
        .unwrap();
    let x = screen[y].chars().position(|c| c == 'X').unwrap();
    assert_eq!(coloured[(x as u16, y as u16)].bg, Color::Red);
}

#[test]
fn the_comparison_races_three_strategies() {
    let sc = bundled("az-outage");
    let dashes: Vec<Dash> = Strategy::COMPARED
        .iter()
        .map(|&st| dash_at(&mut Sim::new(&sc, st, sc.seed), sc.duration.0))
        .collect();
    let ui = Ui::new(30.0, false);
    let screen = lines(&frame(80, 24, |f| compare::draw(f, &dashes, &ui)));
    let lost: Vec<String> = Strategy::COMPARED
        .iter()
        .map(|&st| thousands(stratus::run(&sc, st, sc.seed).shoppers.carts_lost))
        .collect();
    let row = line_with(&screen, "carts lost ");
    // One panel per strategy, side by side, each with its own figure.
    let cells: Vec<&str> = row.split("carts lost ").skip(1).collect();
    assert_eq!(cells.len(), 3, "{row}");
    for (cell, want) in cells.iter().zip(&lost) {
        assert!(cell.starts_with(&format!("{want} ")), "{cell:?} vs {want}");
    }
    assert!(line_with(&screen, "carts lost so far").contains("sticky"));
    assert!(line_with(&screen, "sticky").contains("store"));
}

#[test]
fn a_tour_step_opens_with_its_lesson() {
    let step = &stratus::tour::STEPS[0];
    let sc = bundled(step.scenario);
    let mut sim = Sim::new(&sc, step.strategy, sc.seed);
    let dash = dash_at(&mut sim, 0);
    let mut ui = Ui::new(30.0, false);
    ui.caption = Some(Caption {
        title: stratus::tour::heading(0),
        lesson: step.lesson.into(),
        results: vec![],
        intro: true,
        last: false,
    });
    let screen = lines(&frame(80, 24, |f| draw::draw(f, &dash, &ui)));
    let all = screen.join(" ");
    assert!(all.contains("Step 1 of"));
    assert!(all.contains("Enter: play this step"));
    // The lesson's words are all there, however they wrapped.
    let squeezed: String = all.split_whitespace().collect::<Vec<_>>().join(" ");
    for w in step.lesson.split_whitespace().take(12) {
        assert!(squeezed.contains(w), "lesson word {w:?} missing");
    }
}

/// What a batch run with `extra` appended to the timeline reports.
fn scripted(sc: &Scenario, st: Strategy, seed: u64, extra: &[Timed]) -> Report {
    let mut sc = sc.clone();
    sc.timeline.extend_from_slice(extra);
    stratus::run(&sc, st, seed)
}

fn without_injected(r: &Report) -> String {
    let mut r = r.clone();
    r.injected.clear();
    json_outside_wall(&r)
}

#[test]
fn injecting_by_hand_equals_the_same_actions_in_the_timeline() {
    let sc = bundled("az-outage");
    for st in Strategy::ALL {
        let mut sim = Sim::new(&sc, st, 11);
        let mut done = Vec::new();
        // Keys pressed between frames, at odd instants, one at the very
        // instant of the scripted kill (600 s), and one fault per kind.
        let presses = [
            (123_456_789_012, Action::SetDesired { value: 8 }),
            (599_999_999_999, Action::KillAz { az: 1 }),
            (700 * SEC + 17, Action::RestoreAz { az: 1 }),
            (760 * SEC, Action::RollingDeploy { batch: None }),
            (900 * SEC + 3 * MS, Action::KillStorePrimary),
            (1_000 * SEC, Action::SetDesired { value: 5 }),
        ];
        for (frame_at, action) in presses {
            sim.step_to(frame_at);
            let at = sim.inject(action.clone()).unwrap();
            assert!(at > frame_at && at <= frame_at + MS);
            done.push(Timed {
                at: Dur(at),
                action,
            });
        }
        sim.step_to(sc.duration.0);
        let live = sim.finish();
        assert_eq!(live.injected.len(), done.len());
        // Scale-out is not a fault; the restore's rebalance and the other
        // four are, with the scripted kill.
        assert_eq!(live.faults.len(), 1 + 5, "{st}");
        assert!(live.faults.iter().any(|f| f.action == "az_rebalance"));
        let batch = scripted(&sc, st, 11, &done);
        assert!(
            without_injected(&live) == json_outside_wall(&batch),
            "{st}: the steered run differs from the batch run"
        );
    }
}

fn stratus_cmd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stratus"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn a_replay_reproduces_the_recorded_run() {
    let sc = bundled("scale-in");
    let mut sim = Sim::new(&sc, Strategy::Sticky, 4);
    sim.step_to(200 * SEC + 5);
    sim.inject(Action::KillAz { az: 2 }).unwrap();
    sim.step_to(450 * SEC);
    sim.inject(Action::SetDesired { value: 10 }).unwrap();
    sim.step_to(sc.duration.0);
    let mut recorded = sim.finish();
    recorded.series = None; // JSON reports carry it only with --series
    let dir = std::env::temp_dir().join(format!("stratus-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("recorded.json");
    std::fs::write(&file, recorded.to_json()).unwrap();
    let file = file.to_str().unwrap();

    let want = without_wall(recorded.to_json().as_bytes());
    assert!(want["injected"].as_array().unwrap().len() == 2);
    for tui in [false, true] {
        let mut args = vec!["run", "scale-in", "--replay", file, "--format", "json"];
        if tui {
            args.push("--tui");
        }
        let out = stratus_cmd(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            without_wall(&out.stdout),
            want,
            "replay (tui {tui}) differs"
        );
        let note = String::from_utf8_lossy(&out.stderr);
        assert_eq!(tui, note.contains("needs a terminal"), "{note}");
    }
    // The text report lists what was injected.
    let text =
        String::from_utf8(stratus_cmd(&["run", "scale-in", "--replay", file]).stdout).unwrap();
    assert!(text.contains("injected by hand (2;"), "{text}");

    // compare --replay applies them under every strategy.
    let out = stratus_cmd(&["compare", "scale-in", "--replay", file, "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs = without_wall(&out.stdout);
    let runs = runs["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0], want);
    for r in runs {
        assert_eq!(r["seed"], 4);
        assert_eq!(r["injected"], want["injected"]);
    }

    // The wrong scenario, or a seed the recording was not made with, is refused.
    let wrong = stratus_cmd(&["run", "az-outage", "--replay", file]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("records scenario \"scale-in\""));
    let seed = stratus_cmd(&["run", "scale-in", "--replay", file, "--seed", "5"]);
    assert_eq!(seed.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn tui_options_are_checked() {
    let bad = |args: &[&str], says: &str| {
        let out = stratus_cmd(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    };
    bad(
        &["run", "az-outage", "--speed", "10"],
        "use it with --tui or --web",
    );
    bad(
        &["run", "az-outage", "--tui", "--speed", "0.5"],
        "from 1 to 10000",
    );
    bad(
        &["run", "az-outage", "--tui", "--speed", "20000"],
        "from 1 to 10000",
    );
    bad(
        &["compare", "az-outage", "--tui", "--seeds", "2"],
        "plays one seed",
    );
    bad(&["run", "az-outage", "--replay", "Cargo.toml"], "not JSON");
}

#[test]
fn without_a_terminal_tui_prints_the_plain_report() {
    let out = stratus_cmd(&["run", "steady-state", "--tui", "--format", "json"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("printing the plain report instead"));
    let plain = stratus_cmd(&["run", "steady-state", "--format", "json"]);
    assert_eq!(without_wall(&out.stdout), without_wall(&plain.stdout));
}

#[test]
fn tiny_terminals_do_not_break_the_screens() {
    let sc = bundled("store-failover");
    let mut sims: Vec<Sim> = Strategy::ALL
        .iter()
        .map(|&st| Sim::new(&sc, st, 3))
        .collect();
    let dashes: Vec<Dash> = sims.iter_mut().map(|s| dash_at(s, 620 * SEC)).collect();
    let mut ui = Ui::new(30.0, true);
    ui.help = true;
    for (w, h) in [(1, 1), (20, 5), (40, 12), (79, 23)] {
        let run = lines(&frame(w, h, |f| draw::draw(f, &dashes[0], &ui)));
        assert_eq!(run.len(), usize::from(h));
        lines(&frame(w, h, |f| compare::draw(f, &dashes, &ui)));
    }
}
