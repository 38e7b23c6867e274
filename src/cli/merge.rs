//! `stratus merge PART…`: reads the parts a sharded sweep or comparison
//! wrote and prints the report one machine would have printed
//! (`stratus_model::report::merge` checks that they belong together and
//! orders the runs; this reads the files and prints through the same code
//! as the unsharded command).

use super::{CliError, Output, compare, grid, slo_verdict, sweep};
use crate::report::merge::{MergeError, merge as merge_parts};
use crate::report::part::{Command, PART_SCHEMA, Part};
use crate::scenario::ScenarioError;
use std::path::PathBuf;

const EXPECTED: &str = "expected a part written by `stratus sweep … --shard I/N --out PART.json` or `stratus compare … --shard I/N --out PART.json`";

/// A file that is not a usable part: exit 65, like any bad input file.
fn bad(file: &str, at: Option<&serde_json::Error>, message: String) -> CliError {
    let at = at.filter(|e| e.line() > 0);
    CliError::Scenario(ScenarioError {
        file: file.to_string(),
        line: at.map(|e| e.line()),
        column: at.map(|e| e.column()),
        message,
    })
}

/// Reads one part, refusing clearly what is not one.
fn read_part(path: &PathBuf) -> Result<(String, Part), CliError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Runtime(format!("{file}: cannot read the part: {e}")))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| bad(&file, Some(&e), format!("not JSON ({e}): {EXPECTED}")))?;
    match v.get("schema").and_then(|s| s.as_str()) {
        Some(PART_SCHEMA) => {}
        Some(other) => {
            let what = if other.starts_with("stratus.report") || v.get("runs").is_some() {
                "a whole report, not a part"
            } else {
                "not a part"
            };
            return Err(bad(
                &file,
                None,
                format!("{what} (its schema is {other:?}): {EXPECTED}"),
            ));
        }
        None => {
            let what = if v.get("runs").is_some() || v.get("sweep").is_some() {
                "a whole report, not a part"
            } else {
                "not a part (it has no \"schema\")"
            };
            return Err(bad(&file, None, format!("{what}: {EXPECTED}")));
        }
    }
    let part: Part = serde_json::from_str(&text).map_err(|e| {
        bad(
            &file,
            Some(&e),
            format!("a damaged part ({e}); run its shard again"),
        )
    })?;
    Ok((file, part))
}

/// Runs `stratus merge`.
pub(super) fn merge(files: &[PathBuf], output: &Output) -> Result<(), CliError> {
    let parts = files.iter().map(read_part).collect::<Result<Vec<_>, _>>()?;
    let n = parts.len();
    let m = merge_parts(parts).map_err(|e| match e {
        MergeError::Damaged { file, why } => bad(
            &file,
            None,
            format!("a damaged part: {why}; run its shard again"),
        ),
        other => CliError::Usage(other.to_string()),
    })?;
    let head = &m.head;
    eprintln!(
        "stratus: merged {n} part{} of `{} {}`: {} runs; the shards' wall time added up: {:.1} s",
        if n == 1 { "" } else { "s" },
        head.command,
        head.scenario.name,
        m.runs.len(),
        m.wall_seconds
    );
    match head.command {
        Command::Compare => compare::print(
            &m.runs,
            head.strategies.len(),
            head.seeds.len(),
            output,
            None,
        ),
        Command::Sweep => {
            let points = grid::points_of(&head.sets);
            sweep::print(&sweep::labelled(&points, &m.runs), output, None)?;
            slo_verdict(&m.runs)
        }
    }
}
