//! `workload.arrivals`: how the arrival rate moves over the run, as the
//! file writes it, checked, and a trace file read through the caller's
//! reader (the model does no I/O).
//!
//! Exactly one of three forms:
//! - `{ trace = "day.csv", scale = 1.0, interpolate = "step", loop = false, speed = 1.0 }`
//! - `{ diurnal = { peak = 40.0, trough = 4.0, peak_hour = 20, period = "24h" } }`
//! - `{ spike = { start = "10m", length = "2m", factor = 5.0 } }` on top of
//!   `arrivals_per_second`

use super::context::{Ctx, ScenarioError, choice, positive, rate};
use super::values::{D, Num};
use crate::arrivals::{Interpolate, Shape, TraceOptions, parse_trace};
use crate::time::DAY;
use serde::Deserialize;
use serde::de;
use std::fmt;
use toml::Spanned;

const FORMS: &str = "one of { trace = \"day.csv\" }, { diurnal = { peak = 40, trough = 4, peak_hour = 20 } } or { spike = { start = \"10m\", length = \"2m\", factor = 5 } }";

/// `arrivals` as written: a table, or a number a user meant as a rate.
pub(super) struct RawArrivals(Arrivals);

impl<'de> Deserialize<'de> for RawArrivals {
    fn deserialize<De: de::Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = RawArrivals;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a table, {FORMS}")
            }
            fn visit_map<M: de::MapAccess<'de>>(self, m: M) -> Result<RawArrivals, M::Error> {
                Arrivals::deserialize(de::value::MapAccessDeserializer::new(m)).map(RawArrivals)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawArrivals, E> {
                Err(E::custom(format!(
                    "arrivals = {v}: expected a table, {FORMS} (a constant rate is written arrivals_per_second = {v})"
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawArrivals, E> {
                self.visit_f64(v as f64)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Arrivals {
    trace: Option<Spanned<String>>,
    scale: Option<Spanned<Num>>,
    speed: Option<Spanned<Num>>,
    interpolate: Option<Spanned<String>>,
    #[serde(rename = "loop")]
    looped: Option<bool>,
    diurnal: Option<Spanned<RawDiurnal>>,
    spike: Option<Spanned<RawSpike>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDiurnal {
    peak: Spanned<Num>,
    trough: Spanned<Num>,
    peak_hour: Spanned<Num>,
    period: Option<Spanned<D>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpike {
    start: Spanned<D>,
    length: Spanned<D>,
    factor: Spanned<Num>,
}

/// The shape the file asks for. `per_second` is `arrivals_per_second` if
/// written: a spike multiplies it, and a trace or a day, which set their
/// own rates, refuse it.
pub(super) fn shape(
    cx: &Ctx,
    a: Spanned<RawArrivals>,
    per_second: Option<&Spanned<Num>>,
) -> Result<Shape, ScenarioError> {
    let span = a.span();
    let a = a.into_inner().0;
    let trace_keys = a.scale.is_some() || a.speed.is_some() || a.interpolate.is_some();
    let own_rates = a.trace.is_some() || a.diurnal.is_some();
    if let (true, Some(v)) = (own_rates, per_second) {
        let m = "arrivals_per_second and a trace or diurnal arrivals both set the rate: expected one of them (a spike multiplies arrivals_per_second)";
        return Err(cx.at(v.span(), m));
    }
    match (a.trace, a.diurnal, a.spike) {
        (Some(t), None, None) => trace(cx, t, a.scale, a.speed, a.interpolate, a.looped),
        (None, Some(d), None) if !trace_keys && a.looped.is_none() => diurnal(cx, d),
        (None, None, Some(s)) if !trace_keys && a.looped.is_none() => spike(cx, s),
        (None, None, None) => Err(cx.at(span, format!("arrivals has no shape: expected {FORMS}"))),
        _ => Err(cx.at(
            span,
            format!("arrivals mixes shapes or a shape with a trace's keys: expected {FORMS}"),
        )),
    }
}

fn number(cx: &Ctx, v: &Spanned<Num>, key: &str, lo: f64, hi: f64) -> Result<f64, ScenarioError> {
    let x = v.get_ref().0;
    if !(lo..=hi).contains(&x) {
        return Err(cx.at(
            v.span(),
            format!("{key} = {x}: expected a number from {lo} to {hi}"),
        ));
    }
    Ok(x)
}

fn trace(
    cx: &Ctx,
    name: Spanned<String>,
    scale: Option<Spanned<Num>>,
    speed: Option<Spanned<Num>>,
    interpolate: Option<Spanned<String>>,
    looped: Option<bool>,
) -> Result<Shape, ScenarioError> {
    let opts = TraceOptions {
        scale: match &scale {
            Some(v) => number(cx, v, "scale", 0.0, 1_000_000.0)?,
            None => 1.0,
        },
        speed: match &speed {
            Some(v) if v.get_ref().0 > 0.0 => number(cx, v, "speed", 0.0, 1_000_000.0)?,
            Some(v) => return Err(cx.at(v.span(), "speed must be above 0: expected how many times faster the trace plays, such as 24 (a day in an hour)")),
            None => 1.0,
        },
        interpolate: match &interpolate {
            Some(v) => choice(
                cx,
                v,
                "interpolate",
                &[("step", Interpolate::Step), ("linear", Interpolate::Linear)],
            )?,
            None => Interpolate::Step,
        },
        looped: looped.unwrap_or(false),
    };
    let (shown, text) = (cx.read)(name.get_ref())
        .map_err(|why| cx.at(name.span(), format!("trace = {:?}: {why}", name.get_ref())))?;
    let tr = parse_trace(&text, opts).map_err(|e| ScenarioError {
        file: shown,
        line: Some(e.line),
        column: Some(e.column),
        message: e.message,
    })?;
    Ok(Shape::Trace(tr))
}

fn diurnal(cx: &Ctx, d: Spanned<RawDiurnal>) -> Result<Shape, ScenarioError> {
    let d = d.into_inner();
    let peak = rate(cx, &d.peak, "peak")?;
    let trough = rate(cx, &d.trough, "trough")?;
    if trough > peak {
        let m = format!("trough = {trough} is above peak = {peak}: expected trough <= peak");
        return Err(cx.at(d.trough.span(), m));
    }
    let hour = number(cx, &d.peak_hour, "peak_hour", 0.0, 24.0)?;
    let period = match &d.period {
        Some(v) => {
            positive(
                cx,
                v,
                "period",
                " such as \"24h\" (a day) or \"1h\" (a day in an hour)",
            )?
            .0
        }
        None => DAY,
    };
    Ok(Shape::Diurnal {
        peak,
        trough,
        peak_at: (hour / 24.0 * period as f64).round() as u64 % period,
        period,
    })
}

fn spike(cx: &Ctx, s: Spanned<RawSpike>) -> Result<Shape, ScenarioError> {
    let s = s.into_inner();
    let length = positive(cx, &s.length, "length", " such as \"2m\"")?.0;
    Ok(Shape::Spike {
        start: s.start.get_ref().0.0,
        length,
        factor: number(cx, &s.factor, "factor", 0.0, 1_000.0)?,
    })
}
