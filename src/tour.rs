//! The tour: the case study's evolution, one design at a time, as data.
//!
//! Each [`Step`] names a bundled scenario and a strategy, says its lesson in
//! two or three sentences, and lists the headline figures to show with the
//! direction the lesson predicts for each. Running a step and judging its
//! figures ([`judge`]) uses the step's own run and the run before it, so a
//! lesson that stopped being true would show as "NOT as predicted" (and fail
//! `tests/suite/tour.rs`). Later steps (the database with a cache, read replicas,
//! Multi-AZ) are appended to [`STEPS`] once the data tier exists.

use crate::report::Report;
use crate::report::figures::Figure;
use crate::scenario::Strategy;
use std::fmt::Write;

/// What the lesson says a figure does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Shown for context; no prediction.
    Shown,
    Zero,
    AboveZero,
    /// Higher than in the previous step's run (a cost, or a loss).
    Up,
    /// Lower than in the previous step's run (a gain).
    Down,
}

impl Expect {
    fn words(self) -> &'static str {
        match self {
            Expect::Shown => "",
            Expect::Zero => "lesson: none",
            Expect::AboveZero => "lesson: some",
            Expect::Up => "lesson: up",
            Expect::Down => "lesson: down",
        }
    }
}

/// A figure a step shows, by its key in the comparison table.
#[derive(Clone, Copy, Debug)]
pub struct Headline {
    pub key: &'static str,
    pub expect: Expect,
}

const fn fig(key: &'static str, expect: Expect) -> Headline {
    Headline { key, expect }
}

/// One design of the evolution.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub title: &'static str,
    /// A bundled scenario's name.
    pub scenario: &'static str,
    pub strategy: Strategy,
    pub lesson: &'static str,
    pub figures: &'static [Headline],
}

/// The steps, in the case study's order: sessions, then the data tier
/// (RDS with a cache, read replicas, Multi-AZ).
pub const STEPS: &[Step] = &[
    Step {
        title: "Sticky sessions: the cart in the web server's memory",
        scenario: "tour-sessions",
        strategy: Strategy::Sticky,
        lesson: "The load balancer pins each shopper to one web server, and the cart lives in \
                 that server's memory. It is the easiest design and the most fragile: when a \
                 node crashes or its AZ loses power, the balancer re-sticks its shoppers to \
                 servers that have never seen their carts.",
        figures: &[
            fig("carts_lost", Expect::AboveZero),
            fig("resticks", Expect::AboveZero),
            fig("request_bytes", Expect::Shown),
            fig("cost_per_hour", Expect::Shown),
        ],
    },
    Step {
        title: "Cookies: the cart in the browser",
        scenario: "tour-sessions",
        strategy: Strategy::Cookie,
        lesson: "The cart moves into a signed cookie the browser sends with every request, so \
                 any server can serve any shopper and the same outages lose no cart. The price \
                 is on the wire: every request carries the whole cart, the server verifies its \
                 signature each time, and a browser silently drops a cookie over 4 KB.",
        figures: &[
            fig("carts_lost", Expect::Zero),
            fig("request_bytes", Expect::Up),
            fig("cookie_max", Expect::Up),
            fig("cost_per_hour", Expect::Shown),
        ],
    },
    Step {
        title: "A session store: only an id in the cookie",
        scenario: "tour-sessions",
        strategy: Strategy::Store,
        lesson: "Only a random session id travels in the cookie; the cart lives in a Redis-like \
                 store (ElastiCache) with a replica in another AZ. Carts survive the web tier's \
                 failures and requests shrink again; the price is a round trip to the store on \
                 every request, two more nodes on the bill, and the bytes of every round trip \
                 from a node in another AZ than the store's primary, billed as cross-AZ traffic.",
        figures: &[
            fig("carts_lost", Expect::Zero),
            fig("request_bytes", Expect::Down),
            fig("cost_per_hour", Expect::Up),
            fig("cross_az_cost_per_hour", Expect::Up),
            fig("p50", Expect::Up),
        ],
    },
    Step {
        title: "A database with a cache in front",
        scenario: "cache-aside",
        strategy: Strategy::Store,
        lesson: "Users, products and orders move into an RDS database, and ElastiCache answers \
                 popular reads (cache-aside: look, on a miss read the database and fill). Most \
                 reads never reach the database, and writes drop the entry they change so no \
                 one sees a stale address.",
        figures: &[
            fig("cache_hit_ratio", Expect::AboveZero),
            fig("orders_committed", Expect::AboveZero),
            fig("stale_reads", Expect::Zero),
            fig("cost_per_hour", Expect::Shown),
        ],
    },
    Step {
        title: "Read replicas: reads scale, freshness does not",
        scenario: "replica-lag",
        strategy: Strategy::Store,
        lesson: "Read replicas take the reads off the primary, but they apply its commits after \
                 a lag: a shopper who opens order history right after checking out can miss the \
                 order just placed. Reading from the primary removes that, at the primary's load.",
        figures: &[
            fig("stale_reads", Expect::AboveZero),
            fig("replica_lag_p99", Expect::AboveZero),
            fig("primary_qps", Expect::Shown),
        ],
    },
    Step {
        title: "Multi-AZ: the database survives its AZ",
        scenario: "db-failover",
        strategy: Strategy::Store,
        lesson: "A synchronous standby in another AZ applies every commit before it is \
                 acknowledged. When the primary's AZ dies, writes stop for the failover window, \
                 then resume on the standby with not one committed order lost.",
        figures: &[
            fig("orders_lost", Expect::Zero),
            fig("checkouts_failed", Expect::AboveZero),
            fig("carts_lost", Expect::Zero),
            fig("cost_per_hour", Expect::Shown),
        ],
    },
];

/// A headline figure from one run, and whether it went as predicted.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub key: &'static str,
    pub label: String,
    pub value: f64,
    /// The same figure in the previous step's run, if there was one.
    pub previous: Option<f64>,
    pub expect: Expect,
    /// Whether the figure moved the way the lesson says (true when nothing
    /// was predicted).
    pub holds: bool,
    /// The line shown for it.
    pub line: String,
}

fn figure(key: &str) -> &'static Figure {
    crate::report::figures::find(key)
        .unwrap_or_else(|| panic!("tour figure {key:?} is not a figure key"))
}

/// Judges `step`'s figures on its run, against the previous step's run.
pub fn judge(step: &Step, run: &Report, previous: Option<&Report>) -> Vec<Verdict> {
    step.figures
        .iter()
        .map(|h| {
            let f = figure(h.key);
            let value = f.get(run);
            let prev = previous.map(|p| f.get(p));
            let holds = match (h.expect, prev) {
                (Expect::Shown, _) => true,
                (Expect::Zero, _) => value == 0.0,
                (Expect::AboveZero, _) => value > 0.0,
                (Expect::Up, Some(p)) => value > p,
                (Expect::Down, Some(p)) => value < p,
                (Expect::Up | Expect::Down, None) => false,
            };
            let was = prev.map_or(String::new(), |p| format!("(was {})", f.unit.format(p)));
            let verdict = match (h.expect, holds) {
                (Expect::Shown, _) => String::new(),
                (e, true) => format!("{}, as predicted", e.words()),
                (e, false) => format!("{}, NOT as predicted", e.words()),
            };
            let label = f.label.trim().to_string();
            let line = format!("{label:<22}{:>9} {was:<15}{verdict}", f.unit.format(value));
            Verdict {
                key: h.key,
                label,
                value,
                previous: prev,
                expect: h.expect,
                holds,
                line: line.trim_end().to_string(),
            }
        })
        .collect()
}

/// "Step 2 of 3 · Cookies: …".
pub fn heading(i: usize) -> String {
    format!("Step {} of {} · {}", i + 1, STEPS.len(), STEPS[i].title)
}

/// Wraps `text` at `width` columns.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let cur = lines.last_mut().expect("one line at least");
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_string());
        } else {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        }
    }
    lines
}

/// A step as text: heading, what ran, the lesson, the figures.
pub fn render(i: usize, run: &Report, verdicts: &[Verdict]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}", heading(i));
    let _ = writeln!(
        o,
        "{} under {} · seed {} · {} s simulated",
        run.scenario, run.strategy, run.seed, run.simulated_seconds
    );
    o.push('\n');
    for l in wrap(STEPS[i].lesson, 76) {
        let _ = writeln!(o, "  {l}");
    }
    o.push('\n');
    for v in verdicts {
        let _ = writeln!(o, "  {}", v.line);
    }
    o
}

/// The tour's last line: whether every prediction held. `missed` names the
/// figures that did not ("step 2: carts lost").
pub fn summary(steps: usize, missed: &[String]) -> String {
    if missed.is_empty() {
        format!("Every headline figure of the {steps} steps moved the way its lesson predicts.")
    } else {
        format!(
            "NOT as the lessons predict: {}. The model or a lesson is wrong; please report it.",
            missed.join(", ")
        )
    }
}

/// The figures of `verdicts` that did not move as predicted, named for
/// [`summary`].
pub fn misses(step: usize, verdicts: &[Verdict]) -> Vec<String> {
    verdicts
        .iter()
        .filter(|v| !v.holds)
        .map(|v| format!("step {}: {}", step + 1, v.label))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_names_real_figures_and_scenarios() {
        for (i, s) in STEPS.iter().enumerate() {
            assert!(crate::bundled::find(s.scenario).is_some(), "{}", s.scenario);
            for h in s.figures {
                figure(h.key);
                // A step compared with the one before needs one before it.
                assert!(
                    i > 0 || !matches!(h.expect, Expect::Up | Expect::Down),
                    "step 1 cannot predict a change"
                );
            }
            let sentences = s.lesson.matches(". ").count() + 1;
            assert!(
                (2..=3).contains(&sentences),
                "{}: {sentences} sentences",
                s.title
            );
        }
    }

    #[test]
    fn judging_reads_the_direction() {
        let mut a = Report::default();
        a.shoppers.carts_lost = 5;
        let b = Report::default();
        const FIGS: &[Headline] = &[
            fig("carts_lost", Expect::Down),
            fig("carts_lost", Expect::Zero),
        ];
        let step = Step {
            title: "t",
            scenario: "az-outage",
            strategy: Strategy::Cookie,
            lesson: "x",
            figures: FIGS,
        };
        let v = judge(&step, &b, Some(&a));
        assert!(v.iter().all(|v| v.holds));
        assert!(v[0].line.contains("(was 5)"), "{}", v[0].line);
        let v = judge(&step, &a, Some(&b));
        assert!(v.iter().all(|v| !v.holds));
        assert!(v[1].line.ends_with("NOT as predicted"));
    }

    #[test]
    fn wraps_on_words() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
    }
}
