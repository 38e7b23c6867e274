//! The scenario's lists: `[[timeline]]` actions and `[slo]` thresholds, each
//! checked against the rest of the scenario (AZ names, fleet bounds, figures).

use super::context::Ctx;
use super::raw::RawAction;
use super::values::{D, RawLimit};
use super::{Action, ActionEntry, Scenario, ScenarioError, Timed};
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
    let entry = entry_of(&a, name.get_ref());
    // The one check every front end uses; its errors point at the key they
    // are about, or at the action's name.
    let action = entry.resolve(s).map_err(|e| {
        let sp = e.key.and_then(|k| key_span(&a, k)).unwrap_or(name.span());
        cx.at(sp, e.message)
    })?;
    Ok(Timed { at: at_d, action })
}

/// The entry a `[[timeline]]` table writes, without its spans.
fn entry_of(a: &RawAction, name: &str) -> ActionEntry {
    let text = |v: &Option<Spanned<String>>| v.as_ref().map(|v| v.get_ref().clone());
    let dur = |v: &Option<Spanned<D>>| v.as_ref().map(|v| v.get_ref().0);
    ActionEntry {
        action: name.to_string(),
        az: text(&a.az),
        count: a.count.as_ref().map(|v| *v.get_ref()),
        value: a.value.as_ref().map(|v| v.get_ref().0),
        batch: a.batch.as_ref().map(|v| *v.get_ref()),
        duration: dur(&a.duration),
        network: dur(&a.network),
        from: text(&a.from),
        to: text(&a.to),
        delay: dur(&a.delay),
    }
}

/// Where key `k` of the entry stands in the file, when it was written.
fn key_span(a: &RawAction, k: &str) -> Option<Range<usize>> {
    fn sp<T>(v: &Option<Spanned<T>>) -> Option<Range<usize>> {
        v.as_ref().map(|v| v.span())
    }
    match k {
        "az" => sp(&a.az),
        "count" => sp(&a.count),
        "value" => sp(&a.value),
        "batch" => sp(&a.batch),
        "duration" => sp(&a.duration),
        "network" => sp(&a.network),
        "from" => sp(&a.from),
        "to" => sp(&a.to),
        "delay" => sp(&a.delay),
        _ => None,
    }
}

pub(super) fn threshold(
    cx: &Ctx,
    key: &str,
    v: &Spanned<RawLimit>,
) -> Result<crate::slo::Threshold, ScenarioError> {
    use crate::figure::{Unit, find};
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
