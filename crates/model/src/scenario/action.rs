//! One vocabulary for actions. A `[[timeline]]` entry, the admin API's
//! `POST /admin/actions`, a dashboard's key and the report's `injected`
//! record all write an action the same way, as an [`ActionEntry`]
//! (`{"action":"kill_az","az":"us-east-1b"}`, durations as `"2m"`), and one
//! check, [`ActionEntry::resolve`], turns it into the model's [`Action`]
//! against a scenario, so every front end accepts and refuses the same things
//! with the same words.

use super::{Action, Place, Scenario};
use crate::time::{DURATION_FORM, Dur, MIN, parse_duration};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An action as people and programs write it: AZs by name, durations as text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionEntry {
    /// One of [`Action::NAMES`].
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub az: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "text")]
    pub duration: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "text")]
    pub network: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "text")]
    pub delay: Option<Dur>,
}

/// Why an entry is not an action this scenario can take.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EntryError {
    /// The key the message is about, when it was written; None: the entry as
    /// a whole (its `action`), as when a required key is missing.
    pub key: Option<&'static str>,
    pub message: String,
}

/// The keys an entry may carry besides `action`, in the order they are checked.
pub const KEYS: [&str; 9] = [
    "az", "count", "value", "batch", "duration", "network", "from", "to", "delay",
];

/// A FIS power interruption's defaults, as AWS's scenario library sets them.
const FIS_DURATION: Dur = Dur(30 * MIN);
const FIS_NETWORK: Dur = Dur(2 * MIN);

impl ActionEntry {
    /// The entry that writes `a`, with AZs named as in `azs`.
    pub fn of(a: &Action, azs: &[String]) -> ActionEntry {
        let name = |z: usize| azs.get(z).cloned();
        let mut e = ActionEntry {
            action: a.name().to_string(),
            ..ActionEntry::default()
        };
        match a {
            Action::KillAz { az } | Action::RestoreAz { az } | Action::KillLbNode { az } => {
                e.az = name(*az)
            }
            Action::PartitionAz { az, duration } => {
                e.az = name(*az);
                e.duration = Some(*duration);
            }
            Action::BlockLaunches { az, duration } => {
                e.az = name(*az);
                e.duration = *duration;
            }
            Action::FisAzPowerInterruption {
                az,
                duration,
                network,
            } => {
                e.az = name(*az);
                e.duration = Some(*duration);
                e.network = Some(*network);
            }
            Action::AddLatency {
                from,
                to,
                delay,
                duration,
            } => {
                e.from = Some(from.name(azs));
                e.to = Some(to.name(azs));
                e.delay = Some(*delay);
                e.duration = *duration;
            }
            Action::KillNode { az, count } | Action::HangNode { az, count } => {
                e.az = az.and_then(name);
                e.count = Some(*count);
            }
            Action::InjectErrors {
                az,
                count,
                p,
                duration,
            } => {
                e.az = az.and_then(name);
                e.count = *count;
                e.value = Some(*p);
                e.duration = *duration;
            }
            Action::SlowNode {
                az,
                count,
                factor,
                duration,
            } => {
                e.az = az.and_then(name);
                e.count = Some(*count);
                e.value = Some(*factor);
                e.duration = *duration;
            }
            Action::SlowAz {
                az,
                factor,
                duration,
            } => {
                e.az = name(*az);
                e.value = Some(*factor);
                e.duration = *duration;
            }
            Action::SetDesired { value } => e.value = Some(f64::from(*value)),
            Action::RollingDeploy { batch } => e.batch = *batch,
            Action::KillStorePrimary | Action::KillDbPrimary => {}
            Action::SetArrivals { value } => e.value = Some(*value),
        }
        e
    }

    /// Which keys were written, in [`KEYS`] order.
    pub fn given(&self) -> [(&'static str, bool); 9] {
        let g = [
            self.az.is_some(),
            self.count.is_some(),
            self.value.is_some(),
            self.batch.is_some(),
            self.duration.is_some(),
            self.network.is_some(),
            self.from.is_some(),
            self.to.is_some(),
            self.delay.is_some(),
        ];
        std::array::from_fn(|i| (KEYS[i], g[i]))
    }

    /// The written keys as words, in [`KEYS`] order (`us-east-1b count 2
    /// duration 2m`): an AZ by its name alone, the others after their key.
    pub fn keys_text(&self) -> String {
        let d = |k: &str, v: Option<Dur>| v.map(|v| format!("{k} {v}"));
        let words = [
            self.az.clone(),
            self.count.map(|c| format!("count {c}")),
            self.value.map(|v| format!("value {v}")),
            self.batch.map(|b| format!("batch {b}")),
            d("duration", self.duration),
            d("network", self.network),
            self.from.as_ref().map(|f| format!("from {f}")),
            self.to.as_ref().map(|t| format!("to {t}")),
            d("delay", self.delay),
        ];
        words.into_iter().flatten().collect::<Vec<_>>().join(" ")
    }

    /// The action this entry writes, checked against `sc`: the one check
    /// every front end uses.
    pub fn resolve(&self, sc: &Scenario) -> Result<Action, EntryError> {
        let shape = Shape::of(self, sc)?;
        shape.check_keys(self, sc)?;
        Build { e: self, sc }.action()
    }
}

/// Which keys an action takes and which it needs.
struct Shape {
    allowed: &'static [&'static str],
    required: &'static [&'static str],
}

fn whole(message: String) -> EntryError {
    EntryError { key: None, message }
}

fn at(key: &'static str, message: String) -> EntryError {
    EntryError {
        key: Some(key),
        message,
    }
}

impl Shape {
    fn of(e: &ActionEntry, sc: &Scenario) -> Result<Shape, EntryError> {
        let (allowed, required): (&[&str], &[&str]) = match e.action.as_str() {
            "kill_az" | "restore_az" | "kill_lb_node" => (&["az"], &["az"]),
            "kill_node" | "hang_node" => (&["az", "count"], &[]),
            "partition_az" => (&["az", "duration"], &["az", "duration"]),
            "block_launches" => (&["az", "duration"], &["az"]),
            "fis_az_power_interruption" => (&["az", "duration", "network"], &["az"]),
            "add_latency" => (
                &["from", "to", "delay", "duration"],
                &["from", "to", "delay"],
            ),
            "set_desired" | "set_arrivals" => (&["value"], &["value"]),
            "rolling_deploy" => (&["batch"], &[]),
            "inject_errors" | "slow_node" => (&["az", "count", "value", "duration"], &["value"]),
            "slow_az" => (&["az", "value", "duration"], &["az", "value"]),
            "kill_store_primary" => (&[], &[]),
            "kill_db_primary" if sc.database.is_none() => {
                return Err(whole(
                    "kill_db_primary needs a database: expected a [database] table in the scenario"
                        .into(),
                ));
            }
            "kill_db_primary" => (&[], &[]),
            other => {
                return Err(whole(format!(
                    "unknown action {other:?}: expected one of {}",
                    Action::NAMES.join(", ")
                )));
            }
        };
        Ok(Shape { allowed, required })
    }

    /// Every written key is one the action takes, and every key it needs is written.
    fn check_keys(&self, e: &ActionEntry, sc: &Scenario) -> Result<(), EntryError> {
        let given = e.given();
        for (k, written) in given {
            if written && !self.allowed.contains(&k) {
                return Err(at(
                    k,
                    format!(
                        "{} does not take `{k}`: expected {}",
                        e.action,
                        self.listed(e, sc)
                    ),
                ));
            }
        }
        for k in self.required {
            if given.iter().any(|(g, written)| g == k && !written) {
                return Err(whole(format!(
                    "{} needs `{k}`: expected {}",
                    e.action,
                    form(k, &e.action, sc)
                )));
            }
        }
        Ok(())
    }

    fn listed(&self, e: &ActionEntry, sc: &Scenario) -> String {
        if self.allowed.is_empty() {
            return "only at and action".to_string();
        }
        let forms: Vec<String> = self
            .allowed
            .iter()
            .map(|k| form(k, &e.action, sc))
            .collect();
        format!("only {}", forms.join(" and "))
    }
}

/// How key `k` of action `name` is written, for messages.
fn form(k: &str, name: &str, sc: &Scenario) -> String {
    let azs = format!("{:?}", sc.region.azs);
    match (k, name) {
        ("az", _) => format!("az = one of {azs}"),
        ("value", "set_desired") => format!(
            "value = a whole number within fleet.min ({}) and fleet.max ({})",
            sc.fleet.min, sc.fleet.max
        ),
        ("value", "inject_errors") => {
            "value = the chance a request is answered 5xx, above 0 and at most 1".into()
        }
        ("value", "slow_node" | "slow_az") => {
            "value = the factor on service times, at least 1, such as 10".into()
        }
        ("value", _) => "value = shoppers per second, such as 40.0".into(),
        ("count", _) => "count = nodes (default 1)".into(),
        ("batch", _) => "batch = nodes per batch".into(),
        ("duration", "fis_az_power_interruption") => {
            "duration = how long power is out (default \"30m\")".into()
        }
        ("duration", _) => "duration = how long it lasts, such as \"2m\"".into(),
        ("network", _) => "network = how long the AZ's subnets are cut off (default \"2m\")".into(),
        ("from" | "to", _) => format!("{k} = \"internet\" or one of {azs}"),
        ("delay", _) => "delay = added one-way delay, such as \"50ms\"".into(),
        _ => k.to_string(),
    }
}

/// Builds the action once its keys are known to fit.
struct Build<'a> {
    e: &'a ActionEntry,
    sc: &'a Scenario,
}

impl Build<'_> {
    fn action(&self) -> Result<Action, EntryError> {
        let e = self.e;
        Ok(match e.action.as_str() {
            "kill_az" => Action::KillAz { az: self.az()? },
            "restore_az" => Action::RestoreAz { az: self.az()? },
            "kill_lb_node" => Action::KillLbNode { az: self.az()? },
            "kill_node" => Action::KillNode {
                az: self.some_az()?,
                count: self.count()?,
            },
            "hang_node" => Action::HangNode {
                az: self.some_az()?,
                count: self.count()?,
            },
            "set_desired" => Action::SetDesired {
                value: self.desired()?,
            },
            "set_arrivals" => Action::SetArrivals {
                value: self.arrivals()?,
            },
            "rolling_deploy" => Action::RollingDeploy {
                batch: self.batch()?,
            },
            "kill_store_primary" => Action::KillStorePrimary,
            "kill_db_primary" => Action::KillDbPrimary,
            "partition_az" => Action::PartitionAz {
                az: self.az()?,
                duration: positive("duration", e.duration)?.expect("required"),
            },
            "block_launches" => Action::BlockLaunches {
                az: self.az()?,
                duration: positive("duration", e.duration)?,
            },
            "fis_az_power_interruption" => self.fis()?,
            "inject_errors" => Action::InjectErrors {
                az: self.some_az()?,
                count: self.e.count.map(|_| self.count()).transpose()?,
                p: self.chance()?,
                duration: positive("duration", e.duration)?,
            },
            "slow_node" => Action::SlowNode {
                az: self.some_az()?,
                count: self.count()?,
                factor: self.factor()?,
                duration: positive("duration", e.duration)?,
            },
            "slow_az" => Action::SlowAz {
                az: self.az()?,
                factor: self.factor()?,
                duration: positive("duration", e.duration)?,
            },
            "add_latency" => self.latency()?,
            other => unreachable!("Shape::of refuses {other}"),
        })
    }

    fn az(&self) -> Result<usize, EntryError> {
        let name = self.e.az.as_deref().expect("checked as required");
        self.sc.az(name).ok_or_else(|| {
            at(
                "az",
                format!(
                    "AZ {name:?} is not in the region: expected one of {:?}",
                    self.sc.region.azs
                ),
            )
        })
    }

    fn some_az(&self) -> Result<Option<usize>, EntryError> {
        self.e.az.as_ref().map(|_| self.az()).transpose()
    }

    /// `count` nodes (default 1, never 0).
    fn count(&self) -> Result<u32, EntryError> {
        match self.e.count {
            Some(0) => Err(at("count", "count is 0: expected at least 1".into())),
            Some(c) => Ok(c),
            None => Ok(1),
        }
    }

    fn desired(&self) -> Result<u32, EntryError> {
        let n = self.e.value.expect("checked as required");
        let (lo, hi) = (self.sc.fleet.min, self.sc.fleet.max);
        if n.fract() != 0.0 || n < f64::from(lo) || n > f64::from(hi) {
            return Err(at(
                "value",
                format!(
                    "set_desired value = {n}: expected a whole number within fleet.min ({lo}) and fleet.max ({hi})"
                ),
            ));
        }
        Ok(n as u32)
    }

    fn arrivals(&self) -> Result<f64, EntryError> {
        let r = self.e.value.expect("checked as required");
        if !(0.0..=super::context::MAX_ARRIVALS_PER_SECOND).contains(&r) {
            return Err(at(
                "value",
                format!(
                    "set_arrivals value = {r}: expected a rate from 0 to 100000 shoppers per second"
                ),
            ));
        }
        Ok(r)
    }

    /// `value` as a chance of an error: above 0, at most 1.
    fn chance(&self) -> Result<f64, EntryError> {
        let p = self.e.value.expect("checked as required");
        if !(p > 0.0 && p <= 1.0) {
            return Err(at(
                "value",
                format!(
                    "{} value = {p}: expected a chance above 0 and at most 1, such as 0.2",
                    self.e.action
                ),
            ));
        }
        Ok(p)
    }

    /// `value` as a slowdown: at least 1, at most 1000.
    fn factor(&self) -> Result<f64, EntryError> {
        let k = self.e.value.expect("checked as required");
        if !(1.0..=1000.0).contains(&k) {
            return Err(at(
                "value",
                format!(
                    "{} value = {k}: expected a factor on service times from 1 to 1000, such as 10",
                    self.e.action
                ),
            ));
        }
        Ok(k)
    }

    fn batch(&self) -> Result<Option<u32>, EntryError> {
        match self.e.batch {
            Some(0) => Err(at(
                "batch",
                "batch is 0: expected at least 1 node per batch".into(),
            )),
            b => Ok(b),
        }
    }

    fn fis(&self) -> Result<Action, EntryError> {
        let duration = positive("duration", self.e.duration)?.unwrap_or(FIS_DURATION);
        let network = positive("network", self.e.network)?.unwrap_or(FIS_NETWORK);
        if network > duration {
            return Err(at(
                "network",
                format!(
                    "network = {network} is longer than the outage ({duration}): expected network <= duration"
                ),
            ));
        }
        Ok(Action::FisAzPowerInterruption {
            az: self.az()?,
            duration,
            network,
        })
    }

    fn latency(&self) -> Result<Action, EntryError> {
        let from = self.place("from", self.e.from.as_deref())?;
        let to = self.place("to", self.e.to.as_deref())?;
        if from == to && from == Place::Internet {
            return Err(at(
                "to",
                "from and to are both \"internet\": expected at least one AZ".into(),
            ));
        }
        Ok(Action::AddLatency {
            from,
            to,
            delay: positive("delay", self.e.delay)?.expect("required"),
            duration: positive("duration", self.e.duration)?,
        })
    }

    /// `"internet"` or an AZ of the region.
    fn place(&self, key: &'static str, v: Option<&str>) -> Result<Place, EntryError> {
        let v = v.expect("checked as required");
        if v == "internet" {
            return Ok(Place::Internet);
        }
        self.sc.az(v).map(Place::Az).ok_or_else(|| {
            at(
                key,
                format!(
                    "{v:?} is not a place: expected \"internet\" or one of {:?}",
                    self.sc.region.azs
                ),
            )
        })
    }
}

/// A duration, when written, that must be above zero.
fn positive(key: &'static str, d: Option<Dur>) -> Result<Option<Dur>, EntryError> {
    match d {
        Some(Dur(0)) => Err(at(
            key,
            format!("{key} is zero: expected a positive duration ({DURATION_FORM})"),
        )),
        d => Ok(d),
    }
}

impl fmt::Display for ActionEntry {
    /// The entry as JSON, as the admin API takes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

/// Durations written as text (`"2m"`), as in a scenario file.
mod text {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Option<Dur>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&d.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Dur>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            parse_duration(&t)
                .map_err(|e| serde::de::Error::custom(format!("{e}: expected {DURATION_FORM}")))
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_scenario;

    fn scenario() -> Scenario {
        let text = crate::bundled::find("fis-az-power").expect("bundled");
        parse_scenario("fis-az-power", text).expect("parses")
    }

    fn every_action() -> Vec<Action> {
        vec![
            Action::KillAz { az: 2 },
            Action::RestoreAz { az: 1 },
            Action::KillNode {
                az: Some(0),
                count: 2,
            },
            Action::KillNode { az: None, count: 1 },
            Action::SetDesired { value: 5 },
            Action::RollingDeploy { batch: Some(2) },
            Action::RollingDeploy { batch: None },
            Action::KillStorePrimary,
            Action::KillDbPrimary,
            Action::SetArrivals { value: 12.5 },
            Action::PartitionAz {
                az: 1,
                duration: Dur::from_secs(90),
            },
            Action::AddLatency {
                from: Place::Internet,
                to: Place::Az(2),
                delay: Dur(1_500_000),
                duration: None,
            },
            Action::BlockLaunches {
                az: 0,
                duration: Some(Dur::from_secs(600)),
            },
            Action::FisAzPowerInterruption {
                az: 1,
                duration: Dur::from_secs(1800),
                network: Dur::from_secs(120),
            },
            Action::KillLbNode { az: 0 },
            Action::HangNode { az: None, count: 3 },
            Action::InjectErrors {
                az: None,
                count: None,
                p: 0.25,
                duration: Some(Dur::from_secs(60)),
            },
            Action::InjectErrors {
                az: Some(1),
                count: Some(2),
                p: 1.0,
                duration: None,
            },
            Action::SlowNode {
                az: None,
                count: 1,
                factor: 20.0,
                duration: Some(Dur::from_secs(300)),
            },
            Action::SlowAz {
                az: 2,
                factor: 4.0,
                duration: None,
            },
        ]
    }

    #[test]
    fn every_action_round_trips_through_its_json_entry() {
        let sc = scenario();
        for a in every_action() {
            let json = ActionEntry::of(&a, &sc.region.azs).to_string();
            let back: ActionEntry = serde_json::from_str(&json).expect(&json);
            assert_eq!(back.resolve(&sc), Ok(a.clone()), "{json}");
        }
    }

    #[test]
    fn the_admin_form_names_the_az_and_writes_durations_as_text() {
        let sc = scenario();
        let e = ActionEntry::of(
            &Action::PartitionAz {
                az: 1,
                duration: Dur::from_secs(120),
            },
            &sc.region.azs,
        );
        assert_eq!(
            e.to_string(),
            r#"{"action":"partition_az","az":"us-east-1b","duration":"2m"}"#
        );
    }

    #[test]
    fn wrong_entries_name_the_key_and_the_expected_form() {
        let sc = scenario();
        let cases: [(&str, Option<&str>, &str); 6] = [
            (r#"{"action":"nap"}"#, None, "unknown action \"nap\""),
            (r#"{"action":"kill_az"}"#, None, "kill_az needs `az`"),
            (
                r#"{"action":"kill_az","az":"mars-1a"}"#,
                Some("az"),
                "is not in the region",
            ),
            (
                r#"{"action":"kill_store_primary","count":2}"#,
                Some("count"),
                "does not take `count`",
            ),
            (
                r#"{"action":"set_desired","value":2.5}"#,
                Some("value"),
                "expected a whole number",
            ),
            (
                r#"{"action":"partition_az","az":"us-east-1a","duration":"0s"}"#,
                Some("duration"),
                "duration is zero",
            ),
        ];
        for (json, key, words) in cases {
            let e: ActionEntry = serde_json::from_str(json).expect(json);
            let err = e.resolve(&sc).expect_err(json);
            assert_eq!(err.key, key, "{json}");
            assert!(err.message.contains(words), "{json}: {}", err.message);
        }
    }

    #[test]
    fn unknown_keys_and_bad_durations_are_refused_by_the_form() {
        for json in [
            r#"{"action":"kill_az","zone":"us-east-1a"}"#,
            r#"{"action":"partition_az","az":"us-east-1a","duration":"soon"}"#,
        ] {
            assert!(serde_json::from_str::<ActionEntry>(json).is_err(), "{json}");
        }
    }
}
