//! Actions injected into a run while it ran (a dashboard's key presses), as
//! the report records them under the top-level key `injected`, and back.
//!
//! An entry is the action as every front end writes it
//! ([`ActionEntry`]: `az` by name, durations as text) with the exact time in
//! nanoseconds, so `--replay` can inject the same actions at the same instants.

use crate::scenario::{ActionEntry, Scenario, Timed};
use crate::time::{Dur, SEC, SimTime};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Injected {
    /// When it happened, exactly.
    pub t_ns: u64,
    /// The same, in seconds, for people.
    #[serde(default)]
    pub t_s: f64,
    #[serde(flatten)]
    pub entry: ActionEntry,
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
        Injected {
            t_ns: t.at.0,
            t_s: t.at.0 as f64 / SEC as f64,
            entry: ActionEntry::of(&t.action, azs),
        }
    }

    /// The action this entry records, checked against `sc` as a timeline
    /// entry would be; `index` names the entry in errors.
    pub fn to_timed(&self, sc: &Scenario, index: usize) -> Result<Timed, InjectedError> {
        let err = |message: String| InjectedError {
            index,
            action: self.entry.action.clone(),
            message,
        };
        let action = self.entry.resolve(sc).map_err(|e| err(e.message))?;
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
    use crate::scenario::{Action, Place};

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
