//! The scenario's lists: `[[timeline]]` actions and `[slo]` thresholds, each
//! checked against the rest of the scenario (AZ names, fleet bounds, figures).

use super::file::{Ctx, az_index, rate};
use super::raw::{D, RawAction, RawLimit};
use super::{Action, Place, Scenario, ScenarioError, Timed};
use crate::time::{DURATION_FORM, Dur};
use std::ops::Range;
use toml::Spanned;

pub(super) fn action(
    cx: &Ctx,
    s: &Scenario,
    span: Range<usize>,
    a: RawAction,
) -> Result<Timed, ScenarioError> {
    let at = a.at.as_ref().ok_or_else(|| {
        cx.at(
            span.clone(),
            format!("a [[timeline]] entry has no `at`: expected at = \"10m\" ({DURATION_FORM})"),
        )
    })?;
    let at_d = at.get_ref().0;
    if at_d > s.duration {
        return Err(cx.at(
            at.span(),
            format!(
                "at = {} is after the scenario ends ({}): expected a time within the run",
                at_d, s.duration
            ),
        ));
    }
    let name = a.action.as_ref().ok_or_else(|| {
        cx.at(
            span.clone(),
            format!(
                "a [[timeline]] entry has no `action`: expected one of {}",
                Action::NAMES.join(", ")
            ),
        )
    })?;
    // Which optional keys each action takes; anything else given is an error.
    let (allowed, required): (&[&str], &[&str]) = match name.get_ref().as_str() {
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
        "kill_store_primary" => (&[], &[]),
        "kill_db_primary" => {
            if s.database.is_none() {
                return Err(cx.at(
                    name.span(),
                    "kill_db_primary needs a database: expected a [database] table in the scenario",
                ));
            }
            (&[], &[])
        }
        other => {
            return Err(cx.at(
                name.span(),
                format!(
                    "unknown action {other:?}: expected one of {}",
                    Action::NAMES.join(", ")
                ),
            ));
        }
    };
    let given: [(&str, Option<Range<usize>>); 9] = [
        ("az", a.az.as_ref().map(|v| v.span())),
        ("count", a.count.as_ref().map(|v| v.span())),
        ("value", a.value.as_ref().map(|v| v.span())),
        ("batch", a.batch.as_ref().map(|v| v.span())),
        ("duration", a.duration.as_ref().map(|v| v.span())),
        ("network", a.network.as_ref().map(|v| v.span())),
        ("from", a.from.as_ref().map(|v| v.span())),
        ("to", a.to.as_ref().map(|v| v.span())),
        ("delay", a.delay.as_ref().map(|v| v.span())),
    ];
    let azs = format!("{:?}", s.region.azs);
    let range = format!(
        "a whole number within fleet.min ({}) and fleet.max ({})",
        s.fleet.min, s.fleet.max
    );
    let form = |k: &str| -> String {
        match (k, name.get_ref().as_str()) {
            ("az", _) => format!("az = one of {azs}"),
            ("value", "set_desired") => format!("value = {range}"),
            ("value", _) => "value = shoppers per second, such as 40.0".into(),
            ("count", _) => "count = nodes (default 1)".into(),
            ("batch", _) => "batch = nodes per batch".into(),
            ("duration", "fis_az_power_interruption") => {
                "duration = how long power is out (default \"30m\")".into()
            }
            ("duration", _) => "duration = how long it lasts, such as \"2m\"".into(),
            ("network", _) => {
                "network = how long the AZ's subnets are cut off (default \"2m\")".into()
            }
            ("from" | "to", _) => format!("{k} = \"internet\" or one of {azs}"),
            ("delay", _) => "delay = added one-way delay, such as \"50ms\"".into(),
            _ => k.to_string(),
        }
    };
    let keys = |ks: &[&str]| {
        if ks.is_empty() {
            "only at and action".to_string()
        } else {
            format!(
                "only {}",
                ks.iter().map(|k| form(k)).collect::<Vec<_>>().join(" and ")
            )
        }
    };
    for (k, sp) in &given {
        if let Some(sp) = sp
            && !allowed.contains(k)
        {
            return Err(cx.at(
                sp.clone(),
                format!(
                    "{} does not take `{k}`: expected {}",
                    name.get_ref(),
                    keys(allowed)
                ),
            ));
        }
    }
    for k in required {
        if given.iter().any(|(g, sp)| g == k && sp.is_none()) {
            return Err(cx.at(
                name.span(),
                format!("{} needs `{k}`: expected {}", name.get_ref(), form(k)),
            ));
        }
    }
    let az = match &a.az {
        Some(v) => Some(az_index(cx, s, v)?),
        None => None,
    };
    let action = match name.get_ref().as_str() {
        "kill_az" => Action::KillAz {
            az: az.expect("required"),
        },
        "restore_az" => Action::RestoreAz {
            az: az.expect("required"),
        },
        "kill_node" => Action::KillNode {
            az,
            count: node_count(cx, &a)?,
        },
        "set_desired" => {
            let v = a.value.as_ref().expect("required");
            let n = v.get_ref().0;
            if n.fract() != 0.0 || n < f64::from(s.fleet.min) || n > f64::from(s.fleet.max) {
                return Err(cx.at(v.span(), format!("set_desired value = {n}: expected a whole number within fleet.min ({}) and fleet.max ({})", s.fleet.min, s.fleet.max)));
            }
            Action::SetDesired { value: n as u32 }
        }
        "kill_db_primary" => Action::KillDbPrimary,
        "set_arrivals" => {
            let v = a.value.as_ref().expect("required");
            Action::SetArrivals {
                value: rate(cx, v, "set_arrivals value")?,
            }
        }
        "rolling_deploy" => {
            if let Some(b) = &a.batch
                && *b.get_ref() == 0
            {
                return Err(cx.at(b.span(), "batch is 0: expected at least 1 node per batch"));
            }
            Action::RollingDeploy {
                batch: a.batch.as_ref().map(|b| *b.get_ref()),
            }
        }
        "kill_store_primary" => Action::KillStorePrimary,
        "kill_lb_node" => Action::KillLbNode {
            az: az.expect("required"),
        },
        "hang_node" => Action::HangNode {
            az,
            count: node_count(cx, &a)?,
        },
        "partition_az" => Action::PartitionAz {
            az: az.expect("required"),
            duration: positive(cx, a.duration.as_ref().expect("required"), "duration")?,
        },
        "block_launches" => Action::BlockLaunches {
            az: az.expect("required"),
            duration: a
                .duration
                .as_ref()
                .map(|d| positive(cx, d, "duration"))
                .transpose()?,
        },
        "fis_az_power_interruption" => {
            let duration = match &a.duration {
                Some(d) => positive(cx, d, "duration")?,
                None => crate::time::Dur(30 * crate::time::MIN),
            };
            let network = match &a.network {
                Some(d) => positive(cx, d, "network")?,
                None => crate::time::Dur(2 * crate::time::MIN),
            };
            if network > duration {
                let sp = a.network.as_ref().map_or(name.span(), |n| n.span());
                return Err(cx.at(
                    sp,
                    format!("network = {network} is longer than the outage ({duration}): expected network <= duration"),
                ));
            }
            Action::FisAzPowerInterruption {
                az: az.expect("required"),
                duration,
                network,
            }
        }
        "add_latency" => {
            let from = place(cx, s, a.from.as_ref().expect("required"))?;
            let to = place(cx, s, a.to.as_ref().expect("required"))?;
            if from == to && from == Place::Internet {
                return Err(cx.at(
                    a.to.as_ref().expect("required").span(),
                    "from and to are both \"internet\": expected at least one AZ",
                ));
            }
            Action::AddLatency {
                from,
                to,
                delay: positive(cx, a.delay.as_ref().expect("required"), "delay")?,
                duration: a
                    .duration
                    .as_ref()
                    .map(|d| positive(cx, d, "duration"))
                    .transpose()?,
            }
        }
        _ => unreachable!("checked above"),
    };
    Ok(Timed { at: at_d, action })
}

/// `count` nodes (default 1, never 0).
fn node_count(cx: &Ctx, a: &RawAction) -> Result<u32, ScenarioError> {
    match &a.count {
        Some(c) if *c.get_ref() == 0 => Err(cx.at(c.span(), "count is 0: expected at least 1")),
        Some(c) => Ok(*c.get_ref()),
        None => Ok(1),
    }
}

/// A duration that must be above zero.
fn positive(cx: &Ctx, v: &Spanned<D>, key: &str) -> Result<Dur, ScenarioError> {
    let d = v.get_ref().0;
    if d.0 == 0 {
        return Err(cx.at(
            v.span(),
            format!("{key} is zero: expected a positive duration ({DURATION_FORM})"),
        ));
    }
    Ok(d)
}

/// `"internet"` or an AZ of the region.
fn place(cx: &Ctx, s: &Scenario, v: &Spanned<String>) -> Result<Place, ScenarioError> {
    if v.get_ref() == "internet" {
        return Ok(Place::Internet);
    }
    s.az(v.get_ref()).map(Place::Az).ok_or_else(|| {
        cx.at(
            v.span(),
            format!(
                "{:?} is not a place: expected \"internet\" or one of {:?}",
                v.get_ref(),
                s.region.azs
            ),
        )
    })
}

pub(super) fn threshold(
    cx: &Ctx,
    key: &str,
    v: &Spanned<RawLimit>,
) -> Result<crate::slo::Threshold, ScenarioError> {
    use crate::report::figures::{Unit, find};
    let (figure, bound) = crate::slo::Threshold::parse_key(key).map_err(|m| cx.at(v.span(), m))?;
    let unit = find(figure).expect("parse_key checks").unit;
    let limit = match (*v.get_ref(), unit) {
        (RawLimit::Duration(d), Unit::Ms) => d.as_ms_f64(),
        (RawLimit::Duration(_), _) => {
            return Err(cx.at(
                v.span(),
                format!("{key} takes a number, not a duration: expected {key} = 0"),
            ));
        }
        (RawLimit::Number(n), _) => n,
    };
    if !(limit.is_finite() && limit >= 0.0) {
        return Err(cx.at(
            v.span(),
            format!("{key} = {limit}: expected a limit of 0 or more"),
        ));
    }
    if unit == Unit::Fraction && limit > 1.0 {
        return Err(cx.at(
            v.span(),
            format!("{key} = {limit} is a fraction: expected a number from 0 to 1 (0.01 is 1 %)"),
        ));
    }
    Ok(crate::slo::Threshold {
        figure,
        bound,
        limit,
    })
}
