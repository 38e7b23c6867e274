//! Reading a recorded run back: a JSON report (`stratus run … --format json`,
//! or `compare`'s `{"runs": […]}`) names its scenario, strategy and seed and
//! lists the actions injected into it; running those again reproduces it.

use serde_json::Value;
use stratus_model::report::injected::Injected;
use stratus_model::scenario::{Scenario, Strategy, Timed};

/// One recorded run.
#[derive(Clone, Debug, PartialEq)]
pub struct Recording {
    pub scenario: String,
    pub strategy: Strategy,
    pub seed: u64,
    /// The report's `"variant"`: a [[variants]] name or a cookie design.
    pub variant: Option<String>,
    pub injected: Vec<Injected>,
}

/// A file that cannot be replayed, and why.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{file}: {message}")]
pub struct ReplayError {
    pub file: String,
    pub message: String,
}

const EXPECTED: &str = "expected a JSON report written by `stratus run … --format json` (or `compare … --format json`)";

/// The runs a report file holds, in order.
pub fn parse(file: &str, text: &str) -> Result<Vec<Recording>, ReplayError> {
    let err = |message: String| ReplayError {
        file: file.to_string(),
        message,
    };
    let v: Value =
        serde_json::from_str(text).map_err(|e| err(format!("not JSON ({e}): {EXPECTED}")))?;
    let runs: Vec<&Value> = match v.get("runs").and_then(Value::as_array) {
        Some(runs) => runs.iter().collect(),
        None => vec![&v],
    };
    if runs.is_empty() {
        return Err(err(format!("holds no runs: {EXPECTED}")));
    }
    runs.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let at = |m: String| {
                if v.get("runs").is_some() {
                    err(format!("runs[{i}]: {m}"))
                } else {
                    err(m)
                }
            };
            if r.get("schema").and_then(Value::as_str) != Some(stratus_model::report::SCHEMA) {
                return Err(at(format!(
                    "no \"schema\": \"{}\": {EXPECTED}",
                    stratus_model::report::SCHEMA
                )));
            }
            let field = |k: &str| r.get(k).ok_or_else(|| at(format!("no {k:?}: {EXPECTED}")));
            let scenario = field("scenario")?
                .as_str()
                .ok_or_else(|| at("\"scenario\" is not a string".into()))?
                .to_string();
            let st = field("strategy")?.as_str().unwrap_or_default();
            let strategy = Strategy::parse(st)
                .ok_or_else(|| at(format!("strategy {st:?}: expected sticky, cookie or store")))?;
            let seed = field("seed")?
                .as_u64()
                .ok_or_else(|| at("\"seed\" is not a whole number".into()))?;
            let injected = match r.get("injected") {
                None => Vec::new(),
                Some(list) => serde_json::from_value(list.clone())
                    .map_err(|e| at(format!("\"injected\" is malformed ({e})")))?,
            };
            let variant = match r.get("variant") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_str()
                        .ok_or_else(|| at("\"variant\" is not a string".into()))?
                        .to_string(),
                ),
            };
            Ok(Recording {
                scenario,
                strategy,
                seed,
                variant,
                injected,
            })
        })
        .collect()
}

impl Recording {
    /// As a report labels the run: `cookie:budget`, or the strategy.
    pub fn label(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}:{v}", self.strategy),
            None => self.strategy.name().to_string(),
        }
    }

    /// The injected actions, checked against `sc`, which must be the
    /// scenario the recording was made with.
    pub fn actions(&self, file: &str, sc: &Scenario) -> Result<Vec<Timed>, ReplayError> {
        let err = |message: String| ReplayError {
            file: file.to_string(),
            message,
        };
        if self.scenario != sc.name {
            return Err(err(format!(
                "records scenario {:?}, not {:?}: replay it with the scenario it was made with",
                self.scenario, sc.name
            )));
        }
        self.injected
            .iter()
            .enumerate()
            .map(|(i, inj)| inj.to_timed(sc, i).map_err(|e| err(e.to_string())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_model::time::Dur;

    #[test]
    fn reads_a_run_and_a_comparison() {
        let run = r#"{"schema":"stratus.report/1","scenario":"s","strategy":"cookie","seed":9,
            "injected":[{"t_ns":5,"t_s":0.0,"action":"kill_az","az":"us-east-1b"}]}"#;
        let r = parse("f.json", run).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].strategy, r[0].seed), (Strategy::Cookie, 9));
        let sc = Scenario::new("s", Dur::from_secs(60));
        let acts = r[0].actions("f.json", &sc).unwrap();
        assert_eq!(
            acts[0].action,
            stratus_model::scenario::Action::KillAz { az: 1 }
        );
        let cmp = format!(r#"{{"runs":[{run},{run}]}}"#);
        assert_eq!(parse("f.json", &cmp).unwrap().len(), 2);
    }

    #[test]
    fn says_what_is_wrong() {
        let e = |t: &str| parse("f.json", t).unwrap_err().to_string();
        assert!(e("nope").starts_with("f.json: not JSON"));
        assert!(e("{}").contains("no \"schema\""));
        assert!(e(r#"{"runs":[]}"#).contains("holds no runs"));
        let other = r#"{"schema":"stratus.report/1","scenario":"x","strategy":"sticky","seed":1}"#;
        let sc = Scenario::new("s", Dur::from_secs(60));
        let msg = parse("f.json", other).unwrap()[0]
            .actions("f.json", &sc)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("records scenario \"x\""), "{msg}");
    }
}
