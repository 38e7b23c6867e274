//! The grid a sweep runs: each `--set KEY=V1,V2,…` parsed, every
//! combination of the values written into a copy of the scenario file and
//! read back through the same parser and checks as any scenario. `stratus
//! sweep`, its shards and `stratus merge` all read the grid from here.

use super::CliError;
use crate::report::part::Axis;
use crate::scenario::{Scenario, ScenarioError, parse_scenario_with as parse, put};

/// One grid point: the values set, in --set order.
pub type Point = Vec<(String, toml::Value)>;

/// A value as the user typed it: TOML if it parses as a TOML value
/// (`3`, `2.5`, `true`, `"10ms"`), else a bare string (`10ms`).
fn value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

fn parse_set(arg: &str) -> Result<(String, Vec<toml::Value>), CliError> {
    let (key, values) = arg.split_once('=').ok_or_else(|| {
        CliError::Usage(format!(
            "--set {arg}: expected KEY=V1,V2,… such as fleet.desired=3,6,9"
        ))
    })?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(CliError::Usage(format!(
            "--set {arg}: expected a dotted key path such as fleet.desired"
        )));
    }
    let values: Vec<toml::Value> = values
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(value)
        .collect();
    if values.is_empty() {
        return Err(CliError::Usage(format!(
            "--set {arg}: expected at least one value after ="
        )));
    }
    Ok((key.to_string(), values))
}

/// Every combination of the --set values applied to the scenario text, parsed
/// and checked.
pub fn grid(file: &str, text: &str, sets: &[String]) -> Result<Vec<(Point, Scenario)>, CliError> {
    grid_reading(file, text, sets, &|name| super::read_beside(file, name))
}

/// [`grid`], reading the traces the scenario names through `read`.
pub fn grid_reading(
    file: &str,
    text: &str,
    sets: &[String],
    read: crate::scenario::Reader,
) -> Result<Vec<(Point, Scenario)>, CliError> {
    let base: toml::Table = toml::from_str(text).map_err(|_| match parse(file, text, &read) {
        Err(e) => CliError::Scenario(e),
        Ok(_) => CliError::Runtime(format!("{file}: cannot be read as a TOML table")),
    })?;
    parse(file, text, &read)?; // the base itself must be valid
    let sets = sets
        .iter()
        .map(|s| parse_set(s))
        .collect::<Result<Vec<_>, _>>()?;
    points(&sets)
        .into_iter()
        .map(|p| {
            let mut t = base.clone();
            let label = describe(&p);
            for (k, v) in &p {
                put(&mut t, k, v.clone()).map_err(|m| CliError::Usage(format!("--set {m}")))?;
            }
            let variant = toml::to_string(&t).map_err(|e| CliError::Runtime(e.to_string()))?;
            let sc = parse(&format!("{file} with {label}"), &variant, &read).map_err(|e| {
                // Positions in the generated text mean nothing to the user.
                CliError::Scenario(ScenarioError {
                    line: None,
                    column: None,
                    ..e
                })
            })?;
            Ok((p, sc))
        })
        .collect()
}

/// Every combination of the axes' values, the last axis varying fastest.
pub fn points(sets: &[(String, Vec<toml::Value>)]) -> Vec<Point> {
    let mut points: Vec<Point> = vec![Vec::new()];
    for (key, values) in sets {
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push((key.clone(), v.clone()));
                    q
                })
            })
            .collect();
    }
    points
}

/// The `--set` arguments as a part records them, values as TOML source.
pub fn axes(sets: &[String]) -> Result<Vec<Axis>, CliError> {
    sets.iter()
        .map(|s| {
            let (key, values) = parse_set(s)?;
            Ok(Axis {
                key,
                values: values.iter().map(|v| v.to_string()).collect(),
            })
        })
        .collect()
}

/// The grid points of recorded axes (see [`axes`]).
pub fn points_of(axes: &[Axis]) -> Vec<Point> {
    let sets: Vec<(String, Vec<toml::Value>)> = axes
        .iter()
        .map(|a| (a.key.clone(), a.values.iter().map(|v| value(v)).collect()))
        .collect();
    points(&sets)
}

pub(super) fn describe(p: &Point) -> String {
    p.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str =
        "[scenario]\nname = \"s\"\nduration = \"1m\"\n[fleet]\nmin = 1\ndesired = 3\nmax = 9\n";

    #[test]
    fn values_parse_as_toml_or_strings() {
        assert_eq!(value("3"), toml::Value::Integer(3));
        assert_eq!(value("2.5"), toml::Value::Float(2.5));
        assert_eq!(value("10ms"), toml::Value::String("10ms".into()));
        assert_eq!(value("\"10ms\""), toml::Value::String("10ms".into()));
    }

    #[test]
    fn the_grid_is_the_product_and_each_point_is_checked() {
        let g = grid(
            "s.toml",
            BASE,
            &[
                "fleet.desired=3,6".into(),
                "workload.arrivals_per_second=5,10,20".into(),
            ],
        )
        .unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(g[5].1.fleet.desired, 6);
        assert_eq!(g[5].1.workload.arrivals_per_second, 20.0);
        let bad = grid("s.toml", BASE, &["fleet.desired=12".into()]).unwrap_err();
        assert!(matches!(bad, CliError::Scenario(_)), "{bad}");
        assert!(bad.to_string().contains("fleet.desired=12"), "{bad}");
        let typo = grid("s.toml", BASE, &["fleet.desird=3".into()]).unwrap_err();
        assert!(typo.to_string().contains("desird"), "{typo}");
    }
}
