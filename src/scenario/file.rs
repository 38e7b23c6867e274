//! The scenario file: TOML in, a validated [`Scenario`] out, or an error that
//! names the file, line and column and says what was expected.
//!
//! Parsing goes through "raw" mirror types that keep each value's place in the
//! file ([`Spanned`]), so checks that serde cannot make (min ≤ max, an AZ the
//! region lacks) can still point at the offending line.

use super::*;
use crate::time::{DURATION_FORM, SIZE_FORM, parse_duration, parse_size};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::ops::Range;
use toml::Spanned;

/// A scenario file that could not be used. Shown as `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ScenarioError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl ScenarioError {
    fn render(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{}:{}: {}", self.file, l, c, self.message),
            _ => format!("{}: {}", self.file, self.message),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[start..].chars().count() + 1)
}

struct Ctx<'a> {
    file: &'a str,
    src: &'a str,
}

impl Ctx<'_> {
    fn at(&self, span: Range<usize>, message: impl Into<String>) -> ScenarioError {
        let (l, c) = line_col(self.src, span.start);
        ScenarioError {
            file: self.file.to_string(),
            line: Some(l),
            column: Some(c),
            message: message.into(),
        }
    }
    fn nowhere(&self, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: self.file.to_string(),
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

// ---- value types that know their own expected form --------------------------

/// The three ways TOML hands over a number, each made an f64 and passed to `$make`.
macro_rules! visit_numbers {
    ($value:ty, $make:expr) => {
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<$value, E> {
            Ok($make(v as f64))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<$value, E> {
            Ok($make(v as f64))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<$value, E> {
            Ok($make(v))
        }
    };
}

/// A duration written as a string.
#[derive(Clone, Copy, Debug)]
struct D(Dur);

impl<'de> Deserialize<'de> for D {
    fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = D;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(DURATION_FORM)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<D, E> {
                parse_duration(s).map(D).map_err(|e| E::custom(e.0))
            }
        }
        d.deserialize_any(V)
    }
}

/// A size in bytes: an integer or a string with a unit.
#[derive(Clone, Copy, Debug)]
struct Size(u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(SIZE_FORM)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Size, E> {
                parse_size(s).map(Size).map_err(|e| E::custom(e.0))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v)
                    .map(Size)
                    .map_err(|_| E::custom(format!("bad size {v}: expected {SIZE_FORM}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                Ok(Size(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A number written as an integer or a float.
#[derive(Clone, Copy, Debug)]
struct Num(f64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            visit_numbers!(Num, Num);
        }
        d.deserialize_any(V)
    }
}

/// `pages = 12` (a mean) or `pages = { fixed = 1 }`.
#[derive(Clone, Copy, Debug)]
struct RawPages(Pages);

impl<'de> Deserialize<'de> for RawPages {
    fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawPages;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mean number of pages (such as 12) or { fixed = N }")
            }
            visit_numbers!(RawPages, |m| RawPages(Pages::Mean(m)));
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RawPages, A::Error> {
                let mut fixed = None;
                while let Some(k) = m.next_key::<String>()? {
                    if k != "fixed" {
                        return Err(de::Error::custom(format!(
                            "unknown key `{k}` in pages: expected {{ fixed = N }}"
                        )));
                    }
                    fixed = Some(m.next_value::<u32>()?);
                }
                fixed
                    .map(|n| RawPages(Pages::Fixed(n)))
                    .ok_or_else(|| de::Error::custom("expected { fixed = N }"))
            }
        }
        d.deserialize_any(V)
    }
}

// ---- the file's tables ------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    scenario: Option<Spanned<RawScenario>>,
    region: Option<RawRegion>,
    load_balancer: Option<RawLb>,
    fleet: Option<RawFleet>,
    sessions: Option<RawSessions>,
    workload: Option<RawWorkload>,
    timeline: Option<Vec<Spanned<RawAction>>>,
    slo: Option<std::collections::BTreeMap<String, Spanned<RawLimit>>>,
    cost: Option<RawCost>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCost {
    node_hourly: Option<Spanned<Num>>,
    lb_hourly: Option<Spanned<Num>>,
    lcu_hourly: Option<Spanned<Num>>,
    store_node_hourly: Option<Spanned<Num>>,
}

/// A threshold's limit: a number, or a duration for the latency figures.
#[derive(Clone, Copy, Debug)]
enum RawLimit {
    Number(f64),
    Duration(Dur),
}

impl<'de> Deserialize<'de> for RawLimit {
    fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawLimit;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, or a duration such as \"500ms\" for p50 and p99")
            }
            visit_numbers!(RawLimit, RawLimit::Number);
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawLimit, E> {
                parse_duration(s)
                    .map(RawLimit::Duration)
                    .map_err(|e| E::custom(e.0))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Option<Spanned<String>>,
    description: Option<String>,
    duration: Option<Spanned<D>>,
    seed: Option<u64>,
    strategy: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegion {
    azs: Option<Spanned<Vec<Spanned<String>>>>,
    latency: Option<RawLatency>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLatency {
    same_az: Option<D>,
    cross_az: Option<D>,
    internet: Option<D>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLb {
    algorithm: Option<Spanned<String>>,
    stickiness: Option<Spanned<String>>,
    stickiness_duration: Option<Spanned<D>>,
    health_check: Option<RawHealth>,
    deregistration_delay: Option<D>,
    connect_timeout: Option<Spanned<D>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHealth {
    interval: Option<Spanned<D>>,
    timeout: Option<Spanned<D>>,
    healthy_threshold: Option<Spanned<u32>>,
    unhealthy_threshold: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServiceTimes {
    home: Option<D>,
    product: Option<D>,
    add_to_cart: Option<D>,
    view_cart: Option<D>,
    checkout: Option<D>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFleet {
    min: Option<Spanned<u32>>,
    desired: Option<Spanned<u32>>,
    max: Option<Spanned<u32>>,
    launch_time: Option<D>,
    workers: Option<Spanned<u32>>,
    queue_limit: Option<u32>,
    service_time: Option<RawServiceTimes>,
    service_distribution: Option<Spanned<String>>,
    lognormal_sigma: Option<Spanned<Num>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSessions {
    cookie: Option<RawCookie>,
    store: Option<RawStore>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCookie {
    max_bytes: Option<Spanned<Size>>,
    signed: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    primary_az: Option<Spanned<String>>,
    replica_az: Option<Spanned<String>>,
    replication_lag: Option<D>,
    failover_after: Option<D>,
    ttl: Option<Spanned<D>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkload {
    arrivals_per_second: Option<Spanned<Num>>,
    think_time: Option<D>,
    pages: Option<Spanned<RawPages>>,
    add_to_cart: Option<Spanned<Num>>,
    checkout: Option<Spanned<Num>>,
    catalog: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    at: Option<Spanned<D>>,
    action: Option<Spanned<String>>,
    az: Option<Spanned<String>>,
    count: Option<Spanned<u32>>,
    value: Option<Spanned<Num>>,
    batch: Option<Spanned<u32>>,
}

/// Rewrites serde's and the TOML parser's words into the file's own terms:
/// no Rust type names, and the offending key named where the parser does not.
fn humanize(msg: &str, text: Option<&str>) -> String {
    let mut m = msg.to_string();
    for (from, to) in [
        ("expected u32", "expected a whole number such as 8"),
        ("expected u64", "expected a whole number such as 7"),
        (
            "expected a sequence",
            "expected an array (for the timeline: [[timeline]] entries)",
        ),
        ("invalid type: map", "invalid type: table"),
        ("invalid type: sequence", "invalid type: array"),
        ("wanted string or table", "expected a string"),
    ] {
        m = m.replace(from, to);
    }
    if let Some(i) = m.find("expected struct Raw") {
        // `expected struct RawHealth` → `expected a table`
        let end = m[i..].find([',', ';']).map_or(m.len(), |e| i + e);
        m.replace_range(
            i..end,
            "expected a table of keys (see the README's scenario keys)",
        );
    }
    if m.starts_with("duplicate key") {
        let key = text
            .map(|t| {
                t.trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .trim()
            })
            .unwrap_or("");
        return format!("`{key}` is defined twice: expected each key and table once");
    }
    if !m.contains("expected") {
        m = format!(
            "{m}; expected TOML (key = value lines under [table] headers, see the README's scenario keys)"
        );
    }
    m
}

/// Reads and validates a scenario. `file` is only used in messages.
pub fn parse_scenario(file: &str, src: &str) -> Result<Scenario, ScenarioError> {
    let cx = Ctx { file, src };
    if src.trim().is_empty() {
        return Err(cx.nowhere(
            "the file is empty: expected a TOML scenario with at least a [scenario] table \
             holding name and duration",
        ));
    }
    let raw: RawFile = toml::from_str(src).map_err(|e| {
        let msg = humanize(e.message().trim(), e.span().map(|sp| &src[sp]));
        match e.span() {
            Some(sp) => cx.at(sp, msg),
            None => cx.nowhere(msg),
        }
    })?;
    build(&cx, raw)
}

/// Where the first of these keys stands in the file (the start, if none was written).
fn first_span<T>(keys: &[Option<&Spanned<T>>]) -> Range<usize> {
    keys.iter().flatten().next().map_or(0..0, |v| v.span())
}

/// The most shoppers per second a run accepts: beyond it a 30-minute run
/// would hold more shoppers than memory, and the mistake is likelier a typo.
pub const MAX_ARRIVALS_PER_SECOND: f64 = 100_000.0;

fn rate(cx: &Ctx, v: &Spanned<Num>, key: &str) -> Result<f64, ScenarioError> {
    let r = v.get_ref().0;
    if !(0.0..=MAX_ARRIVALS_PER_SECOND).contains(&r) {
        return Err(cx.at(
            v.span(),
            format!("{key} = {r}: expected a rate from 0 to 100000 shoppers per second"),
        ));
    }
    Ok(r)
}

fn prob(cx: &Ctx, v: &Spanned<Num>, key: &str) -> Result<f64, ScenarioError> {
    let p = v.get_ref().0;
    if !(0.0..=1.0).contains(&p) || p.is_nan() {
        return Err(cx.at(
            v.span(),
            format!("{key} = {p} is not a probability: expected a number from 0 to 1"),
        ));
    }
    Ok(p)
}

fn build(cx: &Ctx, raw: RawFile) -> Result<Scenario, ScenarioError> {
    let Some(sc) = raw.scenario else {
        return Err(cx.nowhere(
            "missing table [scenario]: expected [scenario] with name = \"…\" and duration = \"30m\"",
        ));
    };
    let sc_span = sc.span();
    let sc = sc.into_inner();
    let name = sc.name.ok_or_else(|| {
        cx.at(
            sc_span.clone(),
            "[scenario] has no name: expected name = \"my-scenario\"",
        )
    })?;
    if name.get_ref().trim().is_empty() {
        return Err(cx.at(name.span(), "name is empty: expected a non-empty string"));
    }
    let duration = sc.duration.ok_or_else(|| {
        cx.at(
            sc_span,
            format!("[scenario] has no duration: expected duration = \"30m\" ({DURATION_FORM})"),
        )
    })?;
    let dur = duration.get_ref().0;
    if dur.0 == 0 {
        return Err(cx.at(
            duration.span(),
            "duration is zero: expected a positive duration",
        ));
    }
    let mut s = Scenario::new(name.get_ref(), dur);
    s.description = sc.description.unwrap_or_default();
    if let Some(seed) = sc.seed {
        s.seed = seed;
    }
    if let Some(st) = sc.strategy {
        s.strategy = strategy(cx, &st)?;
    }

    if let Some(r) = raw.region {
        if let Some(azs) = r.azs {
            if azs.get_ref().is_empty() {
                return Err(cx.at(azs.span(), "azs is empty: expected at least one AZ name"));
            }
            let mut names: Vec<String> = Vec::new();
            for a in azs.get_ref() {
                if a.get_ref().trim().is_empty() {
                    return Err(cx.at(a.span(), "an AZ name is empty: expected a name"));
                }
                if names.contains(a.get_ref()) {
                    return Err(cx.at(
                        a.span(),
                        format!(
                            "AZ {:?} is listed twice: expected distinct names",
                            a.get_ref()
                        ),
                    ));
                }
                names.push(a.get_ref().clone());
            }
            s.region.azs = names;
            // Default store placement follows the region's own AZs.
            s.sessions.store.replica_az = (s.region.azs.len() > 1).then_some(1);
        }
        if let Some(l) = r.latency {
            let lat = &mut s.region.latency;
            if let Some(v) = l.same_az {
                lat.same_az = v.0;
            }
            if let Some(v) = l.cross_az {
                lat.cross_az = v.0;
            }
            if let Some(v) = l.internet {
                lat.internet = v.0;
            }
        }
    }

    if let Some(lb) = raw.load_balancer {
        let c = &mut s.load_balancer;
        if let Some(a) = &lb.algorithm {
            c.algorithm = choice(
                cx,
                a,
                "algorithm",
                &[
                    ("round_robin", Algorithm::RoundRobin),
                    ("least_outstanding", Algorithm::LeastOutstanding),
                ],
            )?;
        }
        if let Some(st) = &lb.stickiness {
            c.stickiness = choice(
                cx,
                st,
                "stickiness",
                &[
                    ("auto", Stickiness::Auto),
                    ("on", Stickiness::On),
                    ("off", Stickiness::Off),
                ],
            )?;
        }
        if let Some(d) = lb.stickiness_duration {
            if d.get_ref().0.0 == 0 {
                return Err(cx.at(d.span(), "stickiness_duration is zero: expected a positive duration (ALB allows 1s to 7d)"));
            }
            c.stickiness_duration = d.get_ref().0;
        }
        if let Some(d) = lb.deregistration_delay {
            c.deregistration_delay = d.0;
        }
        if let Some(d) = lb.connect_timeout {
            if d.get_ref().0.0 == 0 {
                return Err(cx.at(
                    d.span(),
                    "connect_timeout is zero: expected a positive duration",
                ));
            }
            c.connect_timeout = d.get_ref().0;
        }
        if let Some(h) = lb.health_check {
            let hc = &mut c.health_check;
            if let Some(v) = &h.interval {
                hc.interval = v.get_ref().0;
            }
            if let Some(v) = &h.timeout {
                hc.timeout = v.get_ref().0;
            }
            for (v, slot, key) in [
                (
                    &h.healthy_threshold,
                    &mut hc.healthy_threshold,
                    "healthy_threshold",
                ),
                (
                    &h.unhealthy_threshold,
                    &mut hc.unhealthy_threshold,
                    "unhealthy_threshold",
                ),
            ] {
                if let Some(v) = v {
                    if *v.get_ref() == 0 {
                        return Err(cx.at(
                            v.span(),
                            format!(
                                "{key} is 0: expected a count of at least 1 (ALB allows 2 to 10)"
                            ),
                        ));
                    }
                    *slot = *v.get_ref();
                }
            }
            if hc.interval.0 == 0 || hc.timeout >= hc.interval {
                let span = first_span(&[h.timeout.as_ref(), h.interval.as_ref()]);
                return Err(cx.at(
                    span,
                    format!(
                        "health_check timeout ({}) must be shorter than its interval ({}): expected timeout < interval",
                        hc.timeout, hc.interval
                    ),
                ));
            }
        }
    }

    if let Some(f) = raw.fleet {
        let c = &mut s.fleet;
        if let Some(v) = &f.min {
            c.min = *v.get_ref();
        }
        if let Some(v) = &f.max {
            c.max = *v.get_ref();
        }
        if let Some(v) = &f.desired {
            c.desired = *v.get_ref();
        } else {
            c.desired = c.desired.clamp(c.min.min(c.max), c.max.max(c.min));
        }
        if c.min > c.max {
            let span = first_span(&[f.min.as_ref(), f.max.as_ref()]);
            return Err(cx.at(
                span,
                format!(
                    "fleet.min ({}) is greater than fleet.max ({}): expected min <= desired <= max",
                    c.min, c.max
                ),
            ));
        }
        if c.desired < c.min || c.desired > c.max {
            let span = first_span(&[f.desired.as_ref(), f.min.as_ref(), f.max.as_ref()]);
            return Err(cx.at(span, format!("fleet.desired ({}) is outside min ({}) and max ({}): expected min <= desired <= max", c.desired, c.min, c.max)));
        }
        if c.max == 0 {
            let span = first_span(&[f.max.as_ref()]);
            return Err(cx.at(span, "fleet.max is 0: expected at least one node"));
        }
        if let Some(v) = f.launch_time {
            c.launch_time = v.0;
        }
        if let Some(v) = &f.workers {
            if *v.get_ref() == 0 {
                return Err(cx.at(
                    v.span(),
                    "workers is 0: expected at least 1 concurrent request per node",
                ));
            }
            c.workers = *v.get_ref();
        }
        if let Some(v) = f.queue_limit {
            c.queue_limit = v;
        }
        if let Some(st) = f.service_time {
            for (k, v) in [
                (Kind::Home, st.home),
                (Kind::Product, st.product),
                (Kind::AddToCart, st.add_to_cart),
                (Kind::ViewCart, st.view_cart),
                (Kind::Checkout, st.checkout),
            ] {
                if let Some(d) = v {
                    c.service_time.set(k, d.0);
                }
            }
        }
        let sigma = match &f.lognormal_sigma {
            Some(v) if !(v.get_ref().0 > 0.0 && v.get_ref().0 <= 4.0) => {
                return Err(cx.at(
                    v.span(),
                    "lognormal_sigma must be above 0 and at most 4: expected a number such as 0.5",
                ));
            }
            Some(v) => v.get_ref().0,
            None => LOGNORMAL_SIGMA,
        };
        if let Some(d) = &f.service_distribution {
            c.service_distribution = choice(
                cx,
                d,
                "service_distribution",
                &[
                    ("exponential", ServiceDistribution::Exponential),
                    ("constant", ServiceDistribution::Constant),
                    ("lognormal", ServiceDistribution::Lognormal { sigma }),
                ],
            )?;
        }
    }

    if let Some(ss) = raw.sessions {
        if let Some(ck) = ss.cookie {
            if let Some(v) = ck.max_bytes {
                let b = v.get_ref().0;
                if !(64..=1 << 20).contains(&b) {
                    return Err(cx.at(v.span(), format!("max_bytes = {b} is out of range: expected 64 B to 1 MiB (browsers allow 4096)")));
                }
                s.sessions.cookie.max_bytes = b as u32;
            }
            if let Some(v) = ck.signed {
                s.sessions.cookie.signed = v;
            }
        }
        if let Some(st) = ss.store {
            let az_of = |v: &Spanned<String>, s: &Scenario| {
                s.az(v.get_ref()).ok_or_else(|| {
                    cx.at(
                        v.span(),
                        format!(
                            "AZ {:?} is not in the region: expected one of {:?}",
                            v.get_ref(),
                            s.region.azs
                        ),
                    )
                })
            };
            if let Some(v) = &st.primary_az {
                s.sessions.store.primary_az = az_of(v, &s)?;
            }
            match &st.replica_az {
                Some(v) => {
                    s.sessions.store.replica_az = if v.get_ref() == "none" {
                        None
                    } else {
                        Some(az_of(v, &s)?)
                    };
                }
                None => {
                    // Unset: the first other AZ, so moving the primary never
                    // collides with a default the user did not write.
                    let p = s.sessions.store.primary_az;
                    s.sessions.store.replica_az = (0..s.region.azs.len()).find(|&a| a != p);
                }
            }
            if s.sessions.store.replica_az == Some(s.sessions.store.primary_az) {
                let span = first_span(&[st.replica_az.as_ref(), st.primary_az.as_ref()]);
                return Err(cx.at(span, "the store's replica is in the same AZ as its primary: expected a different AZ (or replica_az = \"none\")"));
            }
            if let Some(v) = st.replication_lag {
                s.sessions.store.replication_lag = v.0;
            }
            if let Some(v) = st.failover_after {
                s.sessions.store.failover_after = v.0;
            }
            if let Some(v) = st.ttl {
                if v.get_ref().0.0 == 0 {
                    return Err(cx.at(v.span(), "ttl is zero: expected a positive duration"));
                }
                s.sessions.store.ttl = v.get_ref().0;
            }
        }
    }
    if s.sessions.store.primary_az >= s.region.azs.len() {
        s.sessions.store.primary_az = 0;
    }

    if let Some(w) = raw.workload {
        let c = &mut s.workload;
        if let Some(v) = &w.arrivals_per_second {
            c.arrivals_per_second = rate(cx, v, "arrivals_per_second")?;
        }
        if let Some(v) = w.think_time {
            c.think_time = v.0;
        }
        if let Some(v) = &w.pages {
            c.pages = match v.get_ref().0 {
                Pages::Mean(m) if !(m >= 1.0 && m.is_finite()) => {
                    return Err(cx.at(
                        v.span(),
                        format!(
                            "pages = {m}: expected a mean of at least 1 page, or {{ fixed = N }}"
                        ),
                    ));
                }
                Pages::Fixed(0) => {
                    return Err(cx.at(v.span(), "pages = { fixed = 0 }: expected at least 1 page"));
                }
                p => p,
            };
        }
        if let Some(v) = &w.add_to_cart {
            c.add_to_cart = prob(cx, v, "add_to_cart")?;
        }
        if let Some(v) = &w.checkout {
            c.checkout = prob(cx, v, "checkout")?;
        }
        if let Some(v) = &w.catalog {
            if *v.get_ref() == 0 {
                return Err(cx.at(v.span(), "catalog is 0: expected at least one product"));
            }
            c.catalog = *v.get_ref();
        }
    }

    for a in raw.timeline.unwrap_or_default() {
        let span = a.span();
        let t = action(cx, &s, span, a.into_inner())?;
        s.timeline.push(t);
    }
    // Stable: same-time actions keep file order.
    s.timeline.sort_by_key(|t| t.at);
    if let Some(c) = raw.cost {
        let p = &mut s.prices;
        for (v, slot, key) in [
            (&c.node_hourly, &mut p.node_hourly, "node_hourly"),
            (&c.lb_hourly, &mut p.lb_hourly, "lb_hourly"),
            (&c.lcu_hourly, &mut p.lcu_hourly, "lcu_hourly"),
            (
                &c.store_node_hourly,
                &mut p.store_node_hourly,
                "store_node_hourly",
            ),
        ] {
            if let Some(v) = v {
                let x = v.get_ref().0;
                if !(x.is_finite() && x >= 0.0) {
                    return Err(cx.at(
                        v.span(),
                        format!("{key} = {x}: expected a price in USD of 0 or more"),
                    ));
                }
                *slot = x;
            }
        }
    }
    for (key, v) in raw.slo.unwrap_or_default() {
        s.slo.push(threshold(cx, &key, &v)?);
    }
    Ok(s)
}

fn threshold(
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

/// One of a fixed set of words.
fn choice<T: Copy>(
    cx: &Ctx,
    v: &Spanned<String>,
    key: &str,
    options: &[(&str, T)],
) -> Result<T, ScenarioError> {
    options
        .iter()
        .find(|(n, _)| n == v.get_ref())
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let names: Vec<String> = options.iter().map(|(n, _)| format!("{n:?}")).collect();
            cx.at(
                v.span(),
                format!(
                    "unknown {key} {:?}: expected one of {}",
                    v.get_ref(),
                    names.join(", ")
                ),
            )
        })
}

fn strategy(cx: &Ctx, st: &Spanned<String>) -> Result<Strategy, ScenarioError> {
    let v = st.get_ref();
    Strategy::parse(v).ok_or_else(|| {
        let note = if PLANNED_STRATEGIES.contains(&v.as_str()) {
            " (durable is planned but not built yet)"
        } else {
            ""
        };
        cx.at(
            st.span(),
            format!(
                "unknown strategy {v:?}{note}: expected one of \"sticky\", \"cookie\", \"store\""
            ),
        )
    })
}

fn action(
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
        Some(v) => Some(s.az(v.get_ref()).ok_or_else(|| {
            cx.at(
                v.span(),
                format!(
                    "AZ {:?} is not in the region: expected one of {:?}",
                    v.get_ref(),
                    s.region.azs
                ),
            )
        })?),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> ScenarioError {
        parse_scenario("t.toml", src).unwrap_err()
    }

    #[test]
    fn minimal_file_gets_defaults() {
        let s = parse_scenario("t.toml", "[scenario]\nname = \"x\"\nduration = \"1m\"\n").unwrap();
        assert_eq!(s.duration, Dur::from_secs(60));
        assert_eq!(s.load_balancer.health_check.interval, Dur::from_secs(30));
        assert_eq!(s.sessions.cookie.max_bytes, 4096);
    }

    #[test]
    fn unknown_key_points_at_its_line() {
        let e = err("[scenario]\nname = \"x\"\nduration = \"1m\"\nbogus = 1\n");
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("bogus"), "{e}");
    }

    #[test]
    fn bad_duration_says_the_form() {
        let e = err("[scenario]\nname = \"x\"\nduration = \"ten minutes\"\n");
        assert_eq!((e.line, e.column), (Some(3), Some(12)), "{e}");
        assert!(e.message.contains("expected a duration"), "{e}");
    }

    #[test]
    fn timeline_az_must_exist() {
        let e = err(
            "[scenario]\nname = \"x\"\nduration = \"1m\"\n[[timeline]]\nat = \"1s\"\naction = \"kill_az\"\naz = \"mars-1a\"\n",
        );
        assert_eq!(e.line, Some(7), "{e}");
        assert!(e.message.contains("not in the region"), "{e}");
    }
}
