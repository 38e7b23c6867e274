//! The committed JSON schema (docs/report.schema.json) describes the reports
//! the binary really prints: checked with a small validator for the parts of
//! JSON Schema the file uses (type, const, enum, minimum, required,
//! properties, additionalProperties, items, $ref to $defs).

use serde_json::Value;
use std::process::Command;

fn check(schema: &Value, root: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        return check(&root["$defs"][name], root, v, path, errs);
    }
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let ok = match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "integer" => v.is_u64() || v.is_i64(),
            "number" => v.is_number(),
            other => panic!("schema uses type {other}, which this validator does not know"),
        };
        if !ok {
            errs.push(format!("{path}: expected {t}, got {v}"));
            return;
        }
    }
    if let Some(c) = schema.get("const")
        && c != v
    {
        errs.push(format!("{path}: expected {c}, got {v}"));
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        errs.push(format!("{path}: {v} not in {e:?}"));
    }
    if let (Some(m), Some(x)) = (schema.get("minimum").and_then(Value::as_f64), v.as_f64())
        && x < m
    {
        errs.push(format!("{path}: {x} below {m}"));
    }
    if let Some(obj) = v.as_object() {
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let k = r.as_str().unwrap();
            if !obj.contains_key(k) {
                errs.push(format!("{path}: missing {k}"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, val) in obj {
            let p = format!("{path}.{k}");
            match props.and_then(|ps| ps.get(k)) {
                Some(s) => check(s, root, val, &p, errs),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => errs.push(format!("{p}: not in the schema")),
                    Some(s @ Value::Object(_)) => check(s, root, val, &p, errs),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            check(items, root, x, &format!("{path}[{i}]"), errs);
        }
    }
}

fn schema() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/report.schema.json"
    ))
    .expect("docs/report.schema.json");
    serde_json::from_str(&text).expect("the schema is JSON")
}

fn report(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("runs");
    serde_json::from_slice(&out.stdout).expect("json on stdout")
}

#[test]
fn reports_match_the_committed_schema() {
    let s = schema();
    let mut errs = Vec::new();
    // What the binary prints, with and without its options.
    for args in [
        &["run", "az-outage", "--format", "json", "--series"][..],
        &[
            "run",
            "az-outage",
            "--format",
            "json",
            "--strategy",
            "durable",
        ],
        &[
            "run",
            "tests/fixtures/az-outage-slo.toml",
            "--format",
            "json",
        ],
        &["run", "tests/fixtures/db-calls.toml", "--format", "json"],
    ] {
        check(&s, &s, &report(args), &args.join(" "), &mut errs);
    }
    // Each part of the data tier, the store's failover, DNS and the cookie's
    // overflow: the reports the determinism test hashes (the same
    // `Report::to_json` the binary prints, here with the series kept).
    for name in [
        "store-failover",
        "db-failover",
        "cache-aside",
        "flash-sale",
        "dns-ttl",
        "cookie-overflow",
        "open-database",
    ] {
        let sc = crate::common::bundled(name);
        let r = crate::common::bundled_report(name, sc.strategy);
        let v: Value = serde_json::from_str(&r.to_json()).expect("a report is JSON");
        check(&s, &s, &v, name, &mut errs);
    }
    for args in [
        &["compare", "scale-in", "--format", "json"][..],
        &[
            "compare",
            "tamper",
            "--strategies",
            "cookie:unsigned,cookie:versioned",
            "--format",
            "json",
        ],
    ] {
        let compare = report(args);
        for (i, r) in compare["runs"].as_array().expect("runs").iter().enumerate() {
            check(
                &s,
                &s,
                r,
                &format!("{} runs[{i}]", args.join(" ")),
                &mut errs,
            );
        }
    }
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

#[test]
fn the_validator_catches_a_wrong_report() {
    let s = schema();
    let mut r = report(&["run", "steady-state", "--format", "json"]);
    r["shoppers"]["carts_lost"] = Value::from("many");
    r["extra"] = Value::from(1);
    r.as_object_mut().unwrap().remove("wall");
    let mut errs = Vec::new();
    check(&s, &s, &r, "r", &mut errs);
    assert_eq!(errs.len(), 3, "{errs:?}");
}

#[test]
fn a_report_with_injected_actions_matches_the_schema() {
    use stratus::scenario::Action;
    let text = stratus::bundled::find("scale-in").unwrap();
    let sc = stratus::parse_scenario("scale-in", text).unwrap();
    let mut sim = stratus::sim::Sim::new(&sc, stratus::Strategy::Store, 2);
    sim.step_to(100 * stratus::time::SEC);
    sim.inject(Action::KillAz { az: 1 }).unwrap();
    sim.inject(Action::SetDesired { value: 7 }).unwrap();
    sim.inject(Action::KillStorePrimary).unwrap();
    sim.step_to(sc.duration.0);
    let file = std::env::temp_dir().join(format!("stratus-schema-{}.json", std::process::id()));
    std::fs::write(&file, sim.finish().to_json()).unwrap();
    let r = report(&[
        "run",
        "scale-in",
        "--replay",
        file.to_str().unwrap(),
        "--format",
        "json",
        "--series",
    ]);
    std::fs::remove_file(&file).ok();
    assert_eq!(r["injected"].as_array().map(Vec::len), Some(3));
    let s = schema();
    let mut errs = Vec::new();
    check(&s, &s, &r, "replay", &mut errs);
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}
