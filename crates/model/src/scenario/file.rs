//! The scenario file: TOML in, a validated [`Scenario`] out, or an error that
//! names the file, line and column and says what was expected.
//!
//! Parsing goes through "raw" mirror types that keep each value's place in the
//! file ([`Spanned`]), so checks that serde cannot make (min ≤ max, an AZ the
//! region lacks) can still point at the offending line.

use super::context::*;
use super::raw::*;
use super::timeline::{action, threshold};
use super::values::Num;
use super::*;
use crate::time::DURATION_FORM;
use toml::Spanned;

/// Reads and validates a scenario. `file` is only used in messages. A trace
/// it names must be one of the bundled ones ([`crate::bundled::TRACES`]);
/// [`parse_scenario_with`] reads others.
pub fn parse_scenario(file: &str, src: &str) -> Result<Scenario, ScenarioError> {
    parse_scenario_with(file, src, &crate::bundled::read_trace)
}

/// Reads and validates a scenario whose traces `read` fetches (the command
/// line reads them beside the scenario file; the model does no I/O).
pub fn parse_scenario_with(file: &str, src: &str, read: Reader) -> Result<Scenario, ScenarioError> {
    let cx = Ctx { file, src, read };
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
    let dur = positive(cx, &duration, "duration", "")?;
    let mut s = Scenario::new(name.get_ref(), dur);
    s.description = sc.description.unwrap_or_default();
    if let Some(seed) = sc.seed {
        s.seed = seed;
    }
    if let Some(st) = sc.strategy {
        s.strategy = strategy(cx, &st)?;
    }
    if let Some(list) = sc.compare {
        for e in list.get_ref() {
            let entry = variant::Entry::parse(e.get_ref()).map_err(|m| cx.at(e.span(), m))?;
            if s.compare.contains(&entry) {
                return Err(cx.at(
                    e.span(),
                    format!(
                        "{} is listed twice in compare: expected each entry once",
                        entry.label()
                    ),
                ));
            }
            s.compare.push(entry);
        }
        if s.compare.is_empty() {
            return Err(cx.at(
                list.span(),
                "compare is empty: expected entries such as [\"sticky\", \"store\"]",
            ));
        }
    }

    if let Some(r) = raw.region {
        region(cx, &mut s, r)?;
    }

    if let Some(lb) = raw.load_balancer {
        load_balancer(cx, &mut s, lb)?;
    }

    if let Some(f) = raw.fleet {
        fleet(cx, &mut s, f)?;
    }

    if let Some(ss) = raw.sessions {
        sessions(cx, &mut s, ss)?;
    }
    if s.sessions.store.primary_az >= s.region.azs.len() {
        s.sessions.store.primary_az = 0;
    }
    if let Some(d) = raw.dns {
        s.dns = Some(super::dns::dns(cx, d)?);
    }

    if let Some(w) = raw.workload {
        workload(cx, &mut s, w)?;
    }

    if let Some(d) = raw.database {
        s.database = Some(super::data::database(cx, &s, d)?);
    }
    if let Some(c) = raw.cache {
        let span = c.span();
        if s.database.is_none() {
            return Err(cx.at(
                span,
                "[cache] without [database]: cache-aside sits in front of a database; expected a [database] table too",
            ));
        }
        s.cache = Some(super::data::cache(cx, &s, c.into_inner())?);
    }

    if let Some(g) = raw.security_groups {
        s.security_groups = super::security::security_groups(cx, g)?;
    }

    for a in raw.timeline.unwrap_or_default() {
        let span = a.span();
        let t = action(cx, &s, span, a.into_inner())?;
        s.timeline.push(t);
    }
    // Stable: same-time actions keep file order.
    s.timeline.sort_by_key(|t| t.at);
    if let Some(c) = raw.cost {
        cost(cx, &mut s, c)?;
    }
    for (key, v) in raw.slo.unwrap_or_default() {
        s.slo.push(threshold(cx, &key, &v)?);
    }
    if let Some(v) = raw.variants {
        s.variants = super::remedies::remedies(cx, v)?;
    }
    Ok(s)
}

/// `[region]`: the AZs and the delays between them.
fn region(cx: &Ctx, s: &mut Scenario, r: RawRegion) -> Result<(), ScenarioError> {
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
        s.sessions.store.replicas = if s.region.azs.len() > 1 {
            vec![1]
        } else {
            Vec::new()
        };
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
    Ok(())
}

/// `[load_balancer]`: algorithm, stickiness, health checks, draining.
fn load_balancer(cx: &Ctx, s: &mut Scenario, lb: RawLb) -> Result<(), ScenarioError> {
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
    if let Some(d) = &lb.stickiness_duration {
        let allowed = " (ALB allows 1s to 7d)";
        c.stickiness_duration = positive(cx, d, "stickiness_duration", allowed)?;
    }
    if let Some(d) = lb.deregistration_delay {
        c.deregistration_delay = d.0;
    }
    if let Some(d) = &lb.connect_timeout {
        c.connect_timeout = positive(cx, d, "connect_timeout", "")?;
    }
    if let Some(on) = lb.cross_zone {
        c.cross_zone = on;
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
                        format!("{key} is 0: expected a count of at least 1 (ALB allows 2 to 10)"),
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
    Ok(())
}

/// `[fleet]`: the auto-scaling group and its nodes.
fn fleet(cx: &Ctx, s: &mut Scenario, f: RawFleet) -> Result<(), ScenarioError> {
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
    if let Some(v) = &f.queue_timeout {
        let more = " (how long a request may wait in a node's queue before it is dropped with a 503), such as \"1s\"";
        c.queue_timeout = Some(positive(cx, v, "fleet.queue_timeout", more)?);
    }
    if let Some(t) = f.calls {
        c.calls = super::calls::calls(cx, t)?;
    }
    if let Some(v) = f.queue_limit {
        c.queue_limit = v;
    }
    let serving = super::serving::RawServing {
        queue_order: f.queue_order,
        lifo_after: f.lifo_after,
        warmup_curve: f.warmup_curve,
    };
    super::serving::serving(cx, c, serving)?;
    if let Some(st) = f.service_time {
        for (k, v) in [
            (Kind::Home, st.home),
            (Kind::Product, st.product),
            (Kind::AddToCart, st.add_to_cart),
            (Kind::ViewCart, st.view_cart),
            (Kind::Checkout, st.checkout),
            (Kind::Account, st.account),
            (Kind::Orders, st.orders),
            (Kind::Address, st.address),
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
    if let Some(t) = f.target_tracking {
        let span = t.span();
        c.target_tracking = Some(super::elastic::target_tracking(cx, span, t.into_inner())?);
    }
    if let Some(v) = &f.health_check_type {
        c.health_check_type = choice(
            cx,
            v,
            "health_check_type",
            &[("ec2", HealthCheckType::Ec2), ("elb", HealthCheckType::Elb)],
        )?;
    }
    if let Some(v) = f.health_check_grace_period {
        c.health_check_grace_period = v.0;
    }
    Ok(())
}

/// `[sessions.*]`: the servers' memory, the cookie, the store and the durable table.
fn sessions(cx: &Ctx, s: &mut Scenario, ss: RawSessions) -> Result<(), ScenarioError> {
    if let Some(v) = ss.memory.and_then(|m| m.timeout) {
        s.sessions.memory.timeout = positive(cx, &v, "timeout", " such as \"30m\"")?;
    }
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
        if let Some(v) = &ck.max_age {
            let example = " such as \"30m\" (or no max_age for a cookie without expiry)";
            s.sessions.cookie.max_age = Some(positive(cx, v, "max_age", example)?);
        }
        if let Some(v) = ck.versioned {
            s.sessions.cookie.versioned = v;
        }
    }
    if let Some(st) = ss.store {
        store(cx, s, st)?;
    }
    if let Some(d) = ss.durable {
        s.sessions.durable = super::elastic::durable(cx, s, d)?;
    }
    Ok(())
}

/// `[workload]`: the shoppers.
fn workload(cx: &Ctx, s: &mut Scenario, w: RawWorkload) -> Result<(), ScenarioError> {
    let c = &mut s.workload;
    if let Some(v) = &w.arrivals_per_second {
        c.arrivals_per_second = rate(cx, v, "arrivals_per_second")?;
    }
    if let Some(a) = w.arrivals {
        c.arrivals = super::arrivals::shape(cx, a, w.arrivals_per_second.as_ref())?;
    }
    if let Some(v) = w.think_time {
        c.think_time = v.0;
    }
    if let Some(v) = &w.pages {
        c.pages = match v.get_ref().0 {
            Pages::Mean(m) if !(m >= 1.0 && m.is_finite()) => {
                return Err(cx.at(
                    v.span(),
                    format!("pages = {m}: expected a mean of at least 1 page, or {{ fixed = N }}"),
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
    for (v, slot, key) in [
        (&w.account, &mut c.account, "account"),
        (&w.address_change, &mut c.address_change, "address_change"),
        (&w.order_history, &mut c.order_history, "order_history"),
    ] {
        if let Some(v) = v {
            *slot = prob(cx, v, key)?;
        }
    }
    if let Some(v) = &w.popularity {
        let x = v.get_ref().0;
        if !(0.0..=4.0).contains(&x) {
            return Err(cx.at(
                v.span(),
                format!("popularity = {x}: expected a Zipf exponent from 0 (uniform) to 4"),
            ));
        }
        c.popularity = x;
    }
    if let Some(v) = &w.attackers {
        c.attackers = prob(cx, v, "attackers")?;
    }
    if let Some(r) = w.retry {
        c.retry = super::retry::retry(cx, r)?;
    }
    Ok(())
}

/// `[cost]`: the prices a design is billed at.
fn cost(cx: &Ctx, s: &mut Scenario, c: RawCost) -> Result<(), ScenarioError> {
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
        (
            &c.db_instance_hourly,
            &mut p.db_instance_hourly,
            "db_instance_hourly",
        ),
        (
            &c.table_write_per_million,
            &mut p.table_write_per_million,
            "table_write_per_million",
        ),
        (
            &c.table_read_per_million,
            &mut p.table_read_per_million,
            "table_read_per_million",
        ),
        (
            &c.cross_az_per_gb,
            &mut p.cross_az_per_gb,
            "cross_az_per_gb",
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
    Ok(())
}

fn strategy(cx: &Ctx, st: &Spanned<String>) -> Result<Strategy, ScenarioError> {
    let v = st.get_ref();
    Strategy::parse(v).ok_or_else(|| {
        cx.at(
            st.span(),
            format!(
                "unknown strategy {v:?}: expected one of \"sticky\", \"cookie\", \"store\", \"durable\""
            ),
        )
    })
}

/// `[sessions.store]`: placement (one replica by name, or `replicas` as a
/// count or a list), replication, failover and cluster mode.
fn store(cx: &Ctx, s: &mut Scenario, st: RawStore) -> Result<(), ScenarioError> {
    if let Some(v) = &st.primary_az {
        s.sessions.store.primary_az = az_index(cx, s, v)?;
    }
    let p = s.sessions.store.primary_az;
    let n = s.region.azs.len();
    s.sessions.store.replicas = match (&st.replica_az, &st.replicas) {
        (Some(a), Some(b)) => {
            let span = a.span().start.max(b.span().start);
            return Err(cx.at(
                span..span + 1,
                "replica_az and replicas both given: expected one of them (replica_az names one AZ, replicas = N or a list names several)",
            ));
        }
        (Some(v), None) if v.get_ref() == "none" => Vec::new(),
        (Some(v), None) => vec![az_index(cx, s, v)?],
        (None, Some(v)) => super::data::placement(
            cx,
            s,
            v,
            "sessions.store.replicas",
            p,
            MAX_STORE_REPLICAS as u32,
        )?,
        // Unset: the first other AZ, so moving the primary never collides
        // with a default the user did not write.
        (None, None) => (0..n).find(|&a| a != p).into_iter().collect(),
    };
    if s.sessions.store.replicas.contains(&p) && n > 1 {
        let span = first_span(&[st.replica_az.as_ref(), st.primary_az.as_ref()]);
        let span = match &st.replicas {
            Some(v) if st.replica_az.is_none() => v.span(),
            _ => span,
        };
        return Err(cx.at(span, "the store's replica is in the same AZ as its primary: expected a different AZ (or replica_az = \"none\")"));
    }
    if let Some(v) = st.replication_lag {
        s.sessions.store.replication_lag = v.0;
    }
    if let Some(v) = &st.lag_distribution {
        s.sessions.store.lag_distribution = choice(
            cx,
            v,
            "lag_distribution",
            &[
                ("constant", ServiceDistribution::Constant),
                ("exponential", ServiceDistribution::Exponential),
            ],
        )?;
    }
    if let Some(v) = st.failover_after {
        s.sessions.store.failover_after = v.0;
    }
    if let Some(v) = st.replica_rebuild {
        s.sessions.store.replica_rebuild = Some(v.0);
    }
    if let Some(v) = &st.shards {
        let k = *v.get_ref();
        if !(1..=500).contains(&k) {
            return Err(cx.at(
                v.span(),
                format!("shards = {k}: expected 1 to 500 shards (ElastiCache's limit)"),
            ));
        }
        s.sessions.store.shards = k;
    }
    if let Some(v) = &st.ttl {
        s.sessions.store.ttl = positive(cx, v, "ttl", "")?;
    }
    Ok(())
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
