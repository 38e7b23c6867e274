//! Actions injected into a run while it ran (a dashboard's key presses), as
//! the report records them under the top-level key `injected`, and back.
//!
//! An entry names its action and keys as a `[[timeline]]` entry does (`az` by
//! name, `value`, `count`, `batch`), with the exact time in nanoseconds, so
//! `--replay` can inject the same actions at the same instants.

use crate::scenario::{Action, Place, Scenario, Timed};
use crate::time::{Dur, SEC, SimTime};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Injected {
    /// When it happened, exactly.
    pub t_ns: u64,
    /// The same, in seconds, for people.
    #[serde(default)]
    pub t_s: f64,
    /// As in `[[timeline]]`: kill_az, restore_az, kill_node, set_desired, …
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub az: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
    /// How long a timed fault lasts, in nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ns: Option<u64>,
    /// A FIS power interruption's network cut, in nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_ns: Option<u64>,
    /// add_latency's places ("internet" or an AZ) and delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ns: Option<u64>,
}

/// An `injected` entry that does not describe an action this scenario can take.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("injected action {index} ({action}): {message}")]
pub struct InjectedError {
    pub index: usize,
    pub action: String,
    pub message: String,
}

impl Injected {
    /// The record of `t`, with AZs named as in `azs`.
    pub fn of(t: &Timed, azs: &[String]) -> Injected {
        let name = |a: usize| azs.get(a).cloned();
        let mut i = Injected {
            t_ns: t.at.0,
            t_s: t.at.0 as f64 / SEC as f64,
            action: t.action.name().to_string(),
            az: None,
            count: None,
            value: None,
            batch: None,
            duration_ns: None,
            network_ns: None,
            from: None,
            to: None,
            delay_ns: None,
        };
        match &t.action {
            Action::KillAz { az } | Action::RestoreAz { az } | Action::KillLbNode { az } => {
                i.az = name(*az)
            }
            Action::PartitionAz { az, duration } => {
                i.az = name(*az);
                i.duration_ns = Some(duration.0);
            }
            Action::BlockLaunches { az, duration } => {
                i.az = name(*az);
                i.duration_ns = duration.map(|d| d.0);
            }
            Action::FisAzPowerInterruption {
                az,
                duration,
                network,
            } => {
                i.az = name(*az);
                i.duration_ns = Some(duration.0);
                i.network_ns = Some(network.0);
            }
            Action::AddLatency {
                from,
                to,
                delay,
                duration,
            } => {
                i.from = Some(from.name(azs));
                i.to = Some(to.name(azs));
                i.delay_ns = Some(delay.0);
                i.duration_ns = duration.map(|d| d.0);
            }
            Action::KillNode { az, count } | Action::HangNode { az, count } => {
                i.az = az.and_then(name);
                i.count = Some(*count);
            }
            Action::SetDesired { value } => i.value = Some(f64::from(*value)),
            Action::RollingDeploy { batch } => i.batch = *batch,
            Action::KillStorePrimary | Action::KillDbPrimary => {}
            Action::SetArrivals { value } => i.value = Some(*value),
        }
        i
    }

    /// The action this entry records, checked against `sc` as a timeline
    /// entry would be; `index` names the entry in errors.
    pub fn to_timed(&self, sc: &Scenario, index: usize) -> Result<Timed, InjectedError> {
        let err = |message: String| InjectedError {
            index,
            action: self.action.clone(),
            message,
        };
        let az = || -> Result<usize, InjectedError> {
            let name = self
                .az
                .as_deref()
                .ok_or_else(|| err("no `az`: expected the name of an AZ".into()))?;
            sc.az(name).ok_or_else(|| {
                err(format!(
                    "AZ {name:?} is not in the scenario's region: expected one of {:?}",
                    sc.region.azs
                ))
            })
        };
        let value = || {
            self.value
                .ok_or_else(|| err("no `value`: expected a number".into()))
        };
        let nanos = |v: Option<u64>, key: &str| {
            v.filter(|&n| n > 0).map(Dur).ok_or_else(|| {
                err(format!(
                    "no `{key}`: expected a positive number of nanoseconds"
                ))
            })
        };
        let place = |v: &Option<String>, key: &str| -> Result<Place, InjectedError> {
            match v.as_deref() {
                Some("internet") => Ok(Place::Internet),
                Some(n) => sc.az(n).map(Place::Az).ok_or_else(|| {
                    err(format!(
                        "{key} {n:?}: expected \"internet\" or one of {:?}",
                        sc.region.azs
                    ))
                }),
                None => Err(err(format!("no `{key}`: expected \"internet\" or an AZ"))),
            }
        };
        let action = match self.action.as_str() {
            "kill_az" => Action::KillAz { az: az()? },
            "restore_az" => Action::RestoreAz { az: az()? },
            "kill_node" => Action::KillNode {
                az: if self.az.is_some() { Some(az()?) } else { None },
                count: self.count.unwrap_or(1),
            },
            "hang_node" => Action::HangNode {
                az: if self.az.is_some() { Some(az()?) } else { None },
                count: self.count.unwrap_or(1),
            },
            "kill_lb_node" => Action::KillLbNode { az: az()? },
            "partition_az" => Action::PartitionAz {
                az: az()?,
                duration: nanos(self.duration_ns, "duration_ns")?,
            },
            "block_launches" => Action::BlockLaunches {
                az: az()?,
                duration: self.duration_ns.map(Dur),
            },
            "fis_az_power_interruption" => Action::FisAzPowerInterruption {
                az: az()?,
                duration: nanos(self.duration_ns, "duration_ns")?,
                network: nanos(self.network_ns, "network_ns")?,
            },
            "add_latency" => Action::AddLatency {
                from: place(&self.from, "from")?,
                to: place(&self.to, "to")?,
                delay: nanos(self.delay_ns, "delay_ns")?,
                duration: self.duration_ns.map(Dur),
            },
            "set_desired" => {
                let v = value()?;
                let (lo, hi) = (sc.fleet.min, sc.fleet.max);
                if v.fract() != 0.0 || v < f64::from(lo) || v > f64::from(hi) {
                    return Err(err(format!(
                        "value {v}: expected a whole number within fleet.min ({lo}) and fleet.max ({hi})"
                    )));
                }
                Action::SetDesired { value: v as u32 }
            }
            "rolling_deploy" => Action::RollingDeploy { batch: self.batch },
            "kill_store_primary" => Action::KillStorePrimary,
            "kill_db_primary" => Action::KillDbPrimary,
            "set_arrivals" => {
                let v = value()?;
                if !(0.0..=100_000.0).contains(&v) {
                    return Err(err(format!(
                        "value {v}: expected shoppers per second from 0 to 100,000"
                    )));
                }
                Action::SetArrivals { value: v }
            }
            other => {
                return Err(err(format!(
                    "unknown action {other:?}: expected one of {}",
                    Action::NAMES.join(", ")
                )));
            }
        };
        if self.t_ns > sc.duration.0 {
            return Err(err(format!(
                "t_ns {} is after the scenario ends ({}): expected a time within the run",
                self.t_ns, sc.duration
            )));
        }
        Ok(Timed {
            at: Dur(self.t_ns as SimTime),
            action,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_through_json() {
        let sc = Scenario::new("t", Dur::from_secs(600));
        let actions = [
            Action::KillAz { az: 2 },
            Action::RestoreAz { az: 0 },
            Action::KillNode {
                az: Some(1),
                count: 2,
            },
            Action::KillNode { az: None, count: 1 },
            Action::SetDesired { value: 7 },
            Action::RollingDeploy { batch: None },
            Action::RollingDeploy { batch: Some(3) },
            Action::KillStorePrimary,
            Action::SetArrivals { value: 12.5 },
            Action::KillLbNode { az: 1 },
            Action::HangNode { az: None, count: 2 },
            Action::PartitionAz {
                az: 0,
                duration: Dur::from_secs(120),
            },
            Action::BlockLaunches {
                az: 2,
                duration: None,
            },
            Action::FisAzPowerInterruption {
                az: 1,
                duration: Dur::from_secs(1800),
                network: Dur::from_secs(120),
            },
            Action::AddLatency {
                from: Place::Internet,
                to: Place::Az(2),
                delay: Dur(50_000_000),
                duration: Some(Dur::from_secs(60)),
            },
        ];
        for (i, action) in actions.into_iter().enumerate() {
            let t = Timed {
                at: Dur(123_456_789_012),
                action,
            };
            let json = serde_json::to_string(&Injected::of(&t, &sc.region.azs)).unwrap();
            let back: Injected = serde_json::from_str(&json).unwrap();
            assert_eq!(back.to_timed(&sc, i).unwrap(), t, "{json}");
        }
    }

    #[test]
    fn a_wrong_entry_says_what_is_wrong() {
        let sc = Scenario::new("t", Dur::from_secs(600));
        let bad = |json: &str| {
            let i: Injected = serde_json::from_str(json).unwrap();
            i.to_timed(&sc, 0).unwrap_err().message
        };
        assert!(bad(r#"{"t_ns":1,"action":"kill_az","az":"mars-1a"}"#).contains("not in the"));
        assert!(bad(r#"{"t_ns":1,"action":"set_desired","value":99}"#).contains("fleet.max (12)"));
        assert!(bad(r#"{"t_ns":1,"action":"explode"}"#).contains("unknown action"));
        assert!(bad(r#"{"t_ns":700000000000,"action":"kill_store_primary"}"#).contains("after"));
    }
}
