//! A part of a sharded sweep or comparison (`--shard I/N`): the runs one
//! machine made, with everything `stratus merge` needs to check that parts
//! belong together (the scenario's bytes, the traces it read, the whole grid,
//! the shard, the version) and to rebuild the report one machine would have
//! written.
//!
//! Which runs a shard makes is fixed here and nowhere else: run `i` of the
//! plan (0-based, in the order the unsharded command runs them) belongs to
//! shard `i mod N + 1`. Dealing runs out in turn spreads a grid whose load
//! grows along one axis evenly over the shards.

use super::Report;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// The part file's `schema`.
pub const PART_SCHEMA: &str = "stratus.part/1";

/// One shard of N: `index` counts from 1, as `--shard I/N` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The whole plan as one shard.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Whether run `i` of the plan (0-based) is this shard's.
    pub fn holds(&self, i: usize) -> bool {
        i % self.count as usize == (self.index - 1) as usize
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N` with `1 ≤ I ≤ N`.
    fn from_str(s: &str) -> Result<Shard, String> {
        let form = || {
            format!(
                "{s:?} is not a shard: expected I/N with 1 ≤ I ≤ N, such as 1/3 (the first of three shards)"
            )
        };
        let (i, n) = s.split_once('/').ok_or_else(form)?;
        let index: u32 = i.trim().parse().map_err(|_| form())?;
        let count: u32 = n.trim().parse().map_err(|_| form())?;
        if count == 0 {
            return Err(format!(
                "{s:?}: a grid is split into at least one shard: expected N ≥ 1"
            ));
        }
        if index == 0 || index > count {
            return Err(format!(
                "{s:?}: shards are numbered 1 to {count}: expected 1 ≤ I ≤ {count}"
            ));
        }
        Ok(Shard { index, count })
    }
}

/// A file the runs depend on, by what it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The scenario's `name`, or a trace as the scenario names it.
    pub name: String,
    /// SHA-256 of the file's bytes, in hex.
    pub sha256: String,
    /// Where this shard read it (informational: paths differ between machines).
    pub file: String,
}

impl Source {
    pub fn of(name: &str, file: &str, bytes: &[u8]) -> Source {
        Source {
            name: name.to_string(),
            sha256: sha256_hex(bytes),
            file: file.to_string(),
        }
    }

    /// Same name and bytes; where it was read does not matter.
    pub fn same(&self, other: &Source) -> bool {
        self.name == other.name && self.sha256 == other.sha256
    }
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A `--set KEY=V1,V2,…` axis of a sweep; values as TOML source (`3`,
/// `"10ms"`), so they read back as exactly what was swept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Axis {
    pub key: String,
    pub values: Vec<String>,
}

/// One run of the whole plan, sharded or not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub index: usize,
    /// The grid point (`fleet.desired=3 workload.arrivals_per_second=10`);
    /// empty for a comparison.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub set: String,
    /// The strategy as reports label it (`sticky`, `cookie:unsigned`).
    pub strategy: String,
    pub seed: u64,
}

/// A run this shard made: its place in the plan and its report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartRun {
    pub index: usize,
    pub report: Report,
}

/// Which command the part is a shard of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Sweep,
    Compare,
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Command::Sweep => "sweep",
            Command::Compare => "compare",
        })
    }
}

/// The shard's wall-clock time, the only figure that differs between two
/// machines running the same part.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PartWall {
    pub seconds: f64,
}

/// A partial report: `stratus sweep … --shard I/N` or
/// `stratus compare … --shard I/N` writes one, `stratus merge` reads them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub schema: String,
    pub command: Command,
    pub stratus_version: String,
    pub scenario: Source,
    /// Trace files the scenario (or a grid point) read.
    pub inputs: Vec<Source>,
    /// The sweep's axes; empty for a comparison.
    pub sets: Vec<Axis>,
    /// The strategies (compare entries) in column order.
    pub strategies: Vec<String>,
    /// Every seed the plan runs, in order.
    pub seeds: Vec<u64>,
    /// The whole plan, every shard's runs.
    pub grid: Vec<Planned>,
    pub shard: Shard,
    /// This shard's runs, in plan order.
    pub runs: Vec<PartRun>,
    pub wall: PartWall,
}

impl Part {
    /// The part as pretty JSON, one line at the end.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a part always serialises") + "\n"
    }
}

/// The distinct seeds of a plan, in first-seen order.
pub fn seeds_of(grid: &[Planned]) -> Vec<u64> {
    let mut seeds: Vec<u64> = Vec::new();
    for p in grid {
        if !seeds.contains(&p.seed) {
            seeds.push(p.seed);
        }
    }
    seeds
}

/// Whether a report reads back from its JSON as the same report, so a merge
/// of it prints the bytes one machine would have printed.
pub fn round_trips(r: &Report) -> bool {
    serde_json::to_string(r)
        .ok()
        .and_then(|s| serde_json::from_str::<Report>(&s).ok())
        .is_some_and(|back| back == *r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_refuse_what_is_not_one() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        assert_eq!("1/1".parse::<Shard>(), Ok(Shard::ALL));
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", "-1/3", "1/3/4"] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert!(e.contains("expected"), "{bad}: {e}");
        }
    }

    #[test]
    fn every_run_belongs_to_exactly_one_shard() {
        for count in 1..6u32 {
            for i in 0..40 {
                let owners = (1..=count)
                    .filter(|&index| Shard { index, count }.holds(i))
                    .count();
                assert_eq!(owners, 1, "run {i} of {count} shards");
            }
        }
        let s = Shard { index: 2, count: 3 };
        let mine: Vec<usize> = (0..9).filter(|&i| s.holds(i)).collect();
        assert_eq!(mine, vec![1, 4, 7]);
    }

    #[test]
    fn the_hash_is_sha256() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
