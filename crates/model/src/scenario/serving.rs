//! `[fleet]` keys for how a node takes its work: `queue_order` (FIFO, LIFO
//! or adaptive LIFO, with `lifo_after`) and `warmup_curve` (cold starts).

use super::Fleet;
use super::context::{Ctx, ScenarioError, choice, positive};
use super::values::{D, Num};
use crate::station::QueueOrder;
use crate::time::{Dur, MS};
use crate::warmup::{Shape, WarmupCurve};
use serde::Deserialize;
use toml::Spanned;

/// Adaptive LIFO's default limit: the interval of CoDel, which Facebook's
/// adaptive LIFO is paired with ("Fail at Scale"). Stratus's choice.
pub const LIFO_AFTER: Dur = Dur(100 * MS);

/// The largest warm-up multiplier: as for `slow_node`'s factor.
const MAX_MULTIPLIER: f64 = 1000.0;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWarmup {
    multiplier: Option<Spanned<Num>>,
    duration: Option<Spanned<D>>,
    shape: Option<Spanned<String>>,
    start_cold: Option<bool>,
}

/// The keys of `[fleet]` this module reads.
pub(super) struct RawServing {
    pub(super) queue_order: Option<Spanned<String>>,
    pub(super) lifo_after: Option<Spanned<D>>,
    pub(super) warmup_curve: Option<Spanned<RawWarmup>>,
}

pub(super) fn serving(cx: &Ctx, c: &mut Fleet, r: RawServing) -> Result<(), ScenarioError> {
    let after = match &r.lifo_after {
        Some(v) => positive(cx, v, "fleet.lifo_after", " such as \"100ms\"")?,
        None => LIFO_AFTER,
    };
    if let Some(v) = &r.queue_order {
        let options = [
            ("fifo", QueueOrder::Fifo),
            ("lifo", QueueOrder::Lifo),
            ("adaptive", QueueOrder::Adaptive(after)),
        ];
        c.queue_order = choice(cx, v, "fleet.queue_order", &options)?;
    }
    if let Some(v) = &r.lifo_after
        && !matches!(c.queue_order, QueueOrder::Adaptive(_))
    {
        return Err(cx.at(
            v.span(),
            "fleet.lifo_after is only read with queue_order = \"adaptive\": expected queue_order = \"adaptive\" beside it, or no lifo_after",
        ));
    }
    if let Some(w) = r.warmup_curve {
        let span = w.span();
        c.warmup_curve = Some(warmup(cx, span, w.into_inner())?);
    }
    Ok(())
}

fn warmup(
    cx: &Ctx,
    span: std::ops::Range<usize>,
    w: RawWarmup,
) -> Result<WarmupCurve, ScenarioError> {
    let form = "expected warmup_curve = { multiplier = 3.0, duration = \"3m\" } (shape and start_cold optional)";
    let Some(m) = &w.multiplier else {
        return Err(cx.at(
            span,
            format!("fleet.warmup_curve needs a multiplier: {form}"),
        ));
    };
    let multiplier = m.get_ref().0;
    if !(1.0..=MAX_MULTIPLIER).contains(&multiplier) {
        return Err(cx.at(
            m.span(),
            format!(
                "fleet.warmup_curve.multiplier = {multiplier}: expected the factor on a new node's service times, from 1 (no warm-up) to {MAX_MULTIPLIER}, such as 3.0"
            ),
        ));
    }
    let Some(d) = &w.duration else {
        return Err(cx.at(span, format!("fleet.warmup_curve needs a duration: {form}")));
    };
    let duration = positive(cx, d, "fleet.warmup_curve.duration", " such as \"3m\"")?;
    let shape = match &w.shape {
        Some(v) => {
            let options = [
                ("linear", Shape::Linear),
                ("exponential", Shape::Exponential),
                ("step", Shape::Step),
            ];
            choice(cx, v, "fleet.warmup_curve.shape", &options)?
        }
        None => Shape::Linear,
    };
    Ok(WarmupCurve {
        multiplier,
        duration,
        shape,
        start_cold: w.start_cold.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_scenario;
    use crate::time::{MIN, SEC};

    const HEAD: &str = "[scenario]\nname = \"x\"\nduration = \"1m\"\n[fleet]\n";

    fn parse(t: &str) -> Result<Fleet, String> {
        parse_scenario("t.toml", &format!("{HEAD}{t}"))
            .map(|s| s.fleet)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_fifo_and_no_warm_up() {
        let f = parse("").unwrap();
        assert_eq!(f.queue_order, QueueOrder::Fifo);
        assert_eq!(f.warmup_curve, None);
    }

    #[test]
    fn orders_and_curves_read_as_written() {
        assert_eq!(
            parse("queue_order = \"lifo\"").unwrap().queue_order,
            QueueOrder::Lifo
        );
        let f = parse("queue_order = \"adaptive\"").unwrap();
        assert_eq!(f.queue_order, QueueOrder::Adaptive(LIFO_AFTER));
        let f = parse("queue_order = \"adaptive\"\nlifo_after = \"2s\"").unwrap();
        assert_eq!(f.queue_order, QueueOrder::Adaptive(Dur(2 * SEC)));
        let f = parse("warmup_curve = { multiplier = 3, duration = \"3m\", shape = \"step\", start_cold = true }").unwrap();
        let want = WarmupCurve {
            multiplier: 3.0,
            duration: Dur(3 * MIN),
            shape: Shape::Step,
            start_cold: true,
        };
        assert_eq!(f.warmup_curve, Some(want));
    }

    #[test]
    fn wrong_values_name_their_place_and_form() {
        let e = parse("queue_order = \"random\"").unwrap_err();
        assert!(
            e.starts_with("t.toml:5:15:") && e.contains("\"adaptive\""),
            "{e}"
        );
        let e = parse("lifo_after = \"1s\"").unwrap_err();
        assert!(e.contains("only read with queue_order"), "{e}");
        let e = parse("warmup_curve = { multiplier = 0.5, duration = \"1m\" }").unwrap_err();
        assert!(e.contains("from 1 (no warm-up)"), "{e}");
        let e = parse("warmup_curve = { multiplier = 2 }").unwrap_err();
        assert!(
            e.starts_with("t.toml:5:16:") && e.contains("needs a duration"),
            "{e}"
        );
        let e = parse("warmup_curve = { multiplier = 2, duration = \"1m\", shape = \"s\" }")
            .unwrap_err();
        assert!(e.contains("\"exponential\""), "{e}");
    }
}
