//! The scenario's lists: `[[timeline]]` actions and `[slo]` thresholds, each
//! checked against the rest of the scenario (AZ names, fleet bounds, figures).

use super::file::{Ctx, az_index, rate};
use super::raw::{RawAction, RawLimit};
use super::{Action, Scenario, ScenarioError, Timed};
use crate::time::DURATION_FORM;
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
        "kill_az" | "restore_az" => (&["az"], &["az"]),
        "kill_node" => (&["az", "count"], &[]),
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
    let given: [(&str, Option<Range<usize>>); 4] = [
        ("az", a.az.as_ref().map(|v| v.span())),
        ("count", a.count.as_ref().map(|v| v.span())),
        ("value", a.value.as_ref().map(|v| v.span())),
        ("batch", a.batch.as_ref().map(|v| v.span())),
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
            ("count", _) => "count = nodes to kill (default 1)".into(),
            ("batch", _) => "batch = nodes per batch".into(),
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
        "kill_node" => {
            let count = a.count.as_ref().map(|c| *c.get_ref()).unwrap_or(1);
            if count == 0 {
                return Err(cx.at(
                    a.count.as_ref().expect("given").span(),
                    "count is 0: expected at least 1",
                ));
            }
            Action::KillNode { az, count }
        }
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
        _ => unreachable!("checked above"),
    };
    Ok(Timed { at: at_d, action })
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
