//! `[[variants]]`: named sets of key overrides, so one `stratus compare`
//! puts remedies side by side ("immediate retries" beside "backoff and
//! jitter" beside "a retry budget"). Each variant is the file with its keys
//! written in and read back through the same parser and checks, so a
//! variant can never be a scenario a file could not hold. `stratus sweep
//! --set` writes its grid points the same way ([`put`]).

use super::Scenario;
use super::context::{Ctx, ScenarioError};
use super::file::parse_scenario_with;
use serde::Deserialize;
use toml::Spanned;

/// A named variant of the scenario, ready to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Remedy {
    pub name: String,
    pub scenario: Box<Scenario>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVariant {
    name: Spanned<String>,
    set: Option<Spanned<toml::Table>>,
}

/// Writes `v` at the dotted `path` of `t`, making tables on the way.
pub fn put(t: &mut toml::Table, path: &str, v: toml::Value) -> Result<(), String> {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().ok_or_else(|| format!("{path}: empty key"))?;
    let mut cur = t;
    for p in parts {
        let entry = cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry
            .as_table_mut()
            .ok_or_else(|| format!("{path}: `{p}` is not a table in the scenario"))?;
    }
    cur.insert(last.to_string(), v);
    Ok(())
}

/// Every `[[variants]]` entry as a checked scenario.
pub(super) fn remedies(
    cx: &Ctx,
    raw: Vec<Spanned<RawVariant>>,
) -> Result<Vec<Remedy>, ScenarioError> {
    let mut base: toml::Table = toml::from_str(cx.src).map_err(|e| cx.nowhere(e.to_string()))?;
    base.remove("variants");
    let mut out: Vec<Remedy> = Vec::new();
    for v in raw {
        let span = v.span();
        let v = v.into_inner();
        let name = v.name.get_ref().trim().to_string();
        if name.is_empty() || out.iter().any(|r| r.name == name) {
            return Err(cx.at(
                v.name.span(),
                format!("variant name {name:?}: expected a name of its own, given once"),
            ));
        }
        let mut t = base.clone();
        let at = v.set.as_ref().map_or(v.name.span(), |s| s.span());
        for (k, val) in v.set.iter().flat_map(|s| s.get_ref()) {
            put(&mut t, k, val.clone()).map_err(|m| cx.at(at.clone(), m))?;
        }
        let text = toml::to_string(&t).map_err(|e| cx.at(span.clone(), e.to_string()))?;
        let label = format!("{} (variant {name:?})", cx.file);
        let sc = parse_scenario_with(&label, &text, cx.read).map_err(|e| {
            // The generated text's positions mean nothing to the reader:
            // point at the variant instead.
            cx.at(at.clone(), format!("variant {name:?}: {}", e.message))
        })?;
        out.push(Remedy {
            name,
            scenario: Box::new(sc),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::scenario::parse_scenario;

    const HEAD: &str = "[scenario]\nname = \"x\"\nduration = \"1m\"\n[fleet]\ndesired = 4\n";

    #[test]
    fn each_variant_is_the_file_with_its_keys_written_in() {
        let text = format!(
            "{HEAD}[[variants]]\nname = \"as is\"\n[[variants]]\nname = \"more\"\nset = {{ \"fleet.desired\" = 6, \"workload.retry.budget\" = 0.1 }}\n"
        );
        let sc = parse_scenario("t.toml", &text).unwrap();
        assert_eq!(sc.variants.len(), 2);
        assert_eq!(sc.variants[0].scenario.fleet.desired, 4);
        assert_eq!(sc.variants[1].scenario.fleet.desired, 6);
        assert_eq!(sc.variants[1].scenario.workload.retry.budget, Some(0.1));
        assert!(sc.variants[1].scenario.variants.is_empty());
    }

    #[test]
    fn a_bad_variant_is_named_where_it_is_written() {
        let text = format!(
            "{HEAD}[[variants]]\nname = \"broken\"\nset = {{ \"fleet.desired\" = \"many\" }}\n"
        );
        let e = parse_scenario("t.toml", &text).unwrap_err().to_string();
        assert!(
            e.starts_with("t.toml:8:7:") && e.contains("variant \"broken\""),
            "{e}"
        );
        let twice = format!("{HEAD}[[variants]]\nname = \"a\"\n[[variants]]\nname = \"a\"\n");
        let e = parse_scenario("t.toml", &twice).unwrap_err().to_string();
        assert!(e.contains("given once"), "{e}");
    }
}
