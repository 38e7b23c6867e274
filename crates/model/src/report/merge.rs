//! `stratus merge`: parts of one sharded sweep or comparison put back
//! together into the runs, in plan order, that one machine would have made.
//! Parts that do not belong together are refused, naming the file and what
//! differs: a merge that mixed two scenarios, grids or versions would print a
//! report nobody ran.

use super::Report;
use super::part::{PART_SCHEMA, Part, Planned, Shard, Source};

/// Why parts were refused.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum MergeError {
    #[error("no parts to merge: expected the files written by `… --shard I/N`")]
    Empty,
    #[error(
        "{file} is a part of {theirs}, not of {ours} like {first}: expected parts written by one Stratus version"
    )]
    Version {
        file: String,
        first: String,
        theirs: String,
        ours: String,
    },
    #[error(
        "{file} differs from {first} in {what}: {theirs} in {file}, {ours} in {first}; merge the parts of one sharded command"
    )]
    Differs {
        file: String,
        first: String,
        what: &'static str,
        theirs: String,
        ours: String,
    },
    #[error("{file} and {other} are both shard {shard}: expected each shard once")]
    Duplicate {
        file: String,
        other: String,
        shard: Shard,
    },
    #[error(
        "{missing} of {count} missing: pass every part of the sharded command (given: {given})"
    )]
    Missing {
        missing: String,
        count: u32,
        given: String,
    },
    #[error("{file} is damaged: {why}; run its shard again")]
    Damaged { file: String, why: String },
}

/// Parts merged: the header they share and every run, in plan order.
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    /// The first part's header (its runs taken out).
    pub head: Part,
    pub runs: Vec<Report>,
    /// Wall-clock seconds of all the shards, added up.
    pub wall_seconds: f64,
}

/// Merges `(file, part)` pairs; files name the parts in messages.
pub fn merge(parts: Vec<(String, Part)>) -> Result<Merged, MergeError> {
    let Some((first_file, first)) = parts.first() else {
        return Err(MergeError::Empty);
    };
    for (file, p) in &parts {
        agree(first_file, first, file, p)?;
        consistent(file, p)?;
    }
    let count = first.shard.count;
    let mut owner: Vec<Option<&str>> = vec![None; count as usize];
    for (file, p) in &parts {
        let slot = &mut owner[(p.shard.index - 1) as usize];
        if let Some(other) = slot {
            return Err(MergeError::Duplicate {
                file: file.clone(),
                other: other.to_string(),
                shard: p.shard,
            });
        }
        *slot = Some(file);
    }
    let missing: Vec<String> = (1..=count)
        .filter(|i| owner[(i - 1) as usize].is_none())
        .map(|i| Shard { index: i, count }.to_string())
        .collect();
    if !missing.is_empty() {
        let given: Vec<String> = parts
            .iter()
            .map(|(f, p)| format!("{} in {f}", p.shard))
            .collect();
        return Err(MergeError::Missing {
            missing: format!(
                "shard{} {}",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            ),
            count,
            given: given.join(", "),
        });
    }
    let wall_seconds = parts.iter().map(|(_, p)| p.wall.seconds).sum();
    let mut slots: Vec<Option<Report>> = vec![None; first.grid.len()];
    let mut head = first.clone();
    head.runs.clear();
    for (_, p) in parts {
        for run in p.runs {
            slots[run.index] = Some(run.report);
        }
    }
    let runs = slots
        .into_iter()
        .map(|r| r.expect("each shard held each of its runs"))
        .collect();
    Ok(Merged {
        head,
        runs,
        wall_seconds,
    })
}

/// Refuses `p` (from `file`) unless it is a shard of the same command as
/// the first part.
fn agree(first_file: &str, first: &Part, file: &str, p: &Part) -> Result<(), MergeError> {
    let differs = |what: &'static str, show: &dyn Fn(&Part) -> String| {
        Err(MergeError::Differs {
            file: file.to_string(),
            first: first_file.to_string(),
            what,
            theirs: show(p),
            ours: show(first),
        })
    };
    if p.schema != PART_SCHEMA {
        return Err(MergeError::Damaged {
            file: file.to_string(),
            why: format!("its schema is {:?}, expected {PART_SCHEMA:?}", p.schema),
        });
    }
    if p.stratus_version != first.stratus_version {
        return Err(MergeError::Version {
            file: file.to_string(),
            first: first_file.to_string(),
            theirs: format!("Stratus {}", p.stratus_version),
            ours: format!("Stratus {}", first.stratus_version),
        });
    }
    if p.command != first.command {
        return differs("the command", &|x| format!("`{}`", x.command));
    }
    if !p.scenario.same(&first.scenario) {
        return differs("the scenario file", &|x| source(&x.scenario));
    }
    if p.inputs.len() != first.inputs.len()
        || p.inputs.iter().zip(&first.inputs).any(|(a, b)| !a.same(b))
    {
        return differs("the trace files the scenario read", &|x| sources(&x.inputs));
    }
    if p.sets != first.sets {
        return differs("the grid", &axes);
    }
    if p.strategies != first.strategies {
        return differs("the strategies", &|x| x.strategies.join(","));
    }
    if p.seeds != first.seeds {
        return differs("the seeds", &|x| seeds(&x.seeds));
    }
    if p.grid != first.grid {
        let at = p.grid.iter().zip(&first.grid).position(|(a, b)| a != b);
        return match at {
            Some(i) => differs("the plan", &move |x| {
                format!("run {i} is {}", plan(&x.grid[i]))
            }),
            None => differs("the plan", &|x| format!("{} runs", x.grid.len())),
        };
    }
    if p.shard.count != first.shard.count {
        return differs("how the grid was split", &|x| format!("shard {}", x.shard));
    }
    Ok(())
}

/// Refuses a part whose runs are not the ones its shard makes, each as the
/// plan says.
fn consistent(file: &str, p: &Part) -> Result<(), MergeError> {
    let damaged = |why: String| {
        Err(MergeError::Damaged {
            file: file.to_string(),
            why,
        })
    };
    if p.shard.count == 0 || p.shard.index == 0 || p.shard.index > p.shard.count {
        return damaged(format!("its shard {} is not I/N with 1 ≤ I ≤ N", p.shard));
    }
    for (i, planned) in p.grid.iter().enumerate() {
        if planned.index != i {
            return damaged(format!(
                "its plan's entry {i} says it is run {}",
                planned.index
            ));
        }
    }
    let want: Vec<usize> = (0..p.grid.len()).filter(|&i| p.shard.holds(i)).collect();
    let have: Vec<usize> = p.runs.iter().map(|r| r.index).collect();
    if want != have {
        return damaged(format!(
            "shard {} makes runs {:?} of the plan, the file holds {:?}",
            p.shard, want, have
        ));
    }
    for run in &p.runs {
        let planned = &p.grid[run.index];
        let r = &run.report;
        if r.label() != planned.strategy || r.seed != planned.seed {
            return damaged(format!(
                "run {} should be {}, its report is {} seed {}",
                run.index,
                plan(planned),
                r.label(),
                r.seed
            ));
        }
    }
    Ok(())
}

fn plan(p: &Planned) -> String {
    if p.set.is_empty() {
        format!("{} seed {}", p.strategy, p.seed)
    } else {
        format!("{} seed {} with {}", p.strategy, p.seed, p.set)
    }
}

fn axes(p: &Part) -> String {
    if p.sets.is_empty() {
        return "no --set".to_string();
    }
    let sets: Vec<String> = p
        .sets
        .iter()
        .map(|a| format!("--set {}={}", a.key, a.values.join(",")))
        .collect();
    sets.join(" ")
}

fn source(s: &Source) -> String {
    format!(
        "{} (sha256 {})",
        s.name,
        &s.sha256[..s.sha256.len().min(12)]
    )
}

fn sources(s: &[Source]) -> String {
    if s.is_empty() {
        return "none".to_string();
    }
    s.iter().map(source).collect::<Vec<_>>().join(", ")
}

fn seeds(s: &[u64]) -> String {
    s.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::super::part::{Axis, Command, PartRun, PartWall, sha256_hex};
    use super::*;

    /// A comparison of two strategies over `seeds`, split into `count`
    /// shards; reports carry only their label and seed.
    fn parts(seeds: &[u64], count: u32) -> Vec<(String, Part)> {
        let sts = ["sticky", "store"];
        let grid: Vec<Planned> = seeds
            .iter()
            .flat_map(|&seed| sts.iter().map(move |s| (s, seed)))
            .enumerate()
            .map(|(index, (s, seed))| Planned {
                index,
                set: String::new(),
                strategy: s.to_string(),
                seed,
            })
            .collect();
        (1..=count)
            .map(|index| {
                let shard = Shard { index, count };
                let runs = grid
                    .iter()
                    .filter(|p| shard.holds(p.index))
                    .map(|p| PartRun {
                        index: p.index,
                        report: Report {
                            strategy: p.strategy.clone(),
                            seed: p.seed,
                            ..Report::default()
                        },
                    })
                    .collect();
                let part = Part {
                    schema: PART_SCHEMA.into(),
                    command: Command::Compare,
                    stratus_version: "0.1.0".into(),
                    scenario: Source::of("s", "s.toml", b"[scenario]"),
                    inputs: vec![],
                    sets: vec![],
                    strategies: sts.iter().map(|s| s.to_string()).collect(),
                    seeds: seeds.to_vec(),
                    grid: grid.clone(),
                    shard,
                    runs,
                    wall: PartWall { seconds: 1.5 },
                };
                (format!("p{index}.json"), part)
            })
            .collect()
    }

    #[test]
    fn shards_merge_back_into_plan_order_whatever_order_they_come_in() {
        let mut ps = parts(&[7, 8, 9], 3);
        ps.reverse();
        let m = merge(ps).unwrap();
        let got: Vec<(String, u64)> = m.runs.iter().map(|r| (r.label(), r.seed)).collect();
        assert_eq!(got.len(), 6);
        assert_eq!(got[0], ("sticky".into(), 7));
        assert_eq!(got[5], ("store".into(), 9));
        assert_eq!(m.wall_seconds, 4.5);
        assert!(m.head.runs.is_empty());
    }

    #[test]
    fn a_missing_shard_is_named() {
        let mut ps = parts(&[7, 8, 9], 3);
        ps.remove(1);
        let e = merge(ps).unwrap_err();
        assert!(matches!(e, MergeError::Missing { .. }), "{e}");
        assert!(e.to_string().contains("shard 2/3"), "{e}");
    }

    #[test]
    fn a_duplicate_shard_names_both_files() {
        let mut ps = parts(&[7, 8], 2);
        let mut again = ps[0].clone();
        again.0 = "copy.json".into();
        ps.push(again);
        let e = merge(ps).unwrap_err().to_string();
        assert!(
            e.contains("copy.json") && e.contains("p1.json") && e.contains("1/2"),
            "{e}"
        );
    }

    /// A change to a part, and the words its refusal must name.
    type Case = (fn(&mut Part), &'static str);

    #[test]
    fn parts_of_other_files_seeds_grids_or_versions_are_refused() {
        let cases: Vec<Case> = vec![
            (
                |p| p.scenario.sha256 = sha256_hex(b"other"),
                "the scenario file",
            ),
            (|p| p.seeds = vec![1, 2], "the seeds"),
            (
                |p| {
                    p.sets = vec![Axis {
                        key: "fleet.desired".into(),
                        values: vec!["3".into()],
                    }]
                },
                "the grid",
            ),
            (|p| p.stratus_version = "9.9.9".into(), "Stratus 9.9.9"),
            (|p| p.command = Command::Sweep, "the command"),
            (
                |p| p.inputs = vec![Source::of("t.csv", "t.csv", b"0,1")],
                "trace files",
            ),
        ];
        for (change, says) in cases {
            let mut ps = parts(&[7, 8], 2);
            change(&mut ps[1].1);
            let e = merge(ps).unwrap_err().to_string();
            assert!(e.contains("p2.json") && e.contains(says), "{says}: {e}");
        }
    }

    #[test]
    fn a_part_whose_runs_are_not_its_shards_is_damaged() {
        let mut ps = parts(&[7, 8], 2);
        ps[0].1.runs.pop();
        let e = merge(ps).unwrap_err();
        assert!(matches!(e, MergeError::Damaged { .. }), "{e}");
        let mut ps = parts(&[7, 8], 2);
        ps[1].1.runs[0].report.seed = 99;
        let e = merge(ps).unwrap_err().to_string();
        assert!(e.contains("p2.json") && e.contains("seed 99"), "{e}");
    }
}
