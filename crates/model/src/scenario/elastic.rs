//! The elastic and highly available parts of a scenario: target tracking
//! (`[fleet.target_tracking]`) and the DynamoDB-like session table
//! (`[sessions.durable]`), with their AWS defaults and their checks. DNS
//! (`[dns]`) has its own module, `dns`.

use super::context::{Ctx, ScenarioError, az_index, positive};
use super::values::{D, Num};
use super::{AzIx, Scenario};
use crate::time::{Dur, MIN, MS, SEC};
use serde::Deserialize;
use toml::Spanned;

/// What target tracking holds at its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleMetric {
    /// Average CPU: the busy fraction of the workers of nodes past warm-up, in percent.
    Cpu,
    /// ALBRequestCountPerTarget: requests routed per in-service target per minute.
    RequestsPerTarget,
}

/// A target tracking scaling policy, as EC2 Auto Scaling runs one.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetTracking {
    pub metric: ScaleMetric,
    pub target: f64,
    /// The metric's period: one datapoint per period.
    pub period: Dur,
    /// Consecutive datapoints above the target before scaling out (the
    /// policy's high alarm: 3 of 3 one-minute datapoints).
    pub scale_out_datapoints: u32,
    /// Consecutive datapoints below the target before scaling in (the low
    /// alarm: 15 of 15).
    pub scale_in_datapoints: u32,
    /// A new instance's metrics join the group's average only after this.
    pub warmup: Dur,
    /// After a scale-in, no further scale-in for this long.
    pub cooldown: Dur,
    pub disable_scale_in: bool,
}

impl TargetTracking {
    pub fn new(metric: ScaleMetric, target: f64) -> TargetTracking {
        TargetTracking {
            metric,
            target,
            period: Dur(60 * SEC),
            scale_out_datapoints: 3,
            scale_in_datapoints: 15,
            warmup: Dur(300 * SEC),
            cooldown: Dur(300 * SEC),
            disable_scale_in: false,
        }
    }
}

/// Whose verdict makes the group replace an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthCheckType {
    /// EC2 status checks only: a stopped instance is replaced, a hung
    /// application on a running one never is.
    Ec2,
    /// Also the load balancer's: an unhealthy target is replaced once the
    /// grace period after its launch has passed.
    Elb,
}

/// The `durable` strategy's table: DynamoDB-like, three copies in three AZs.
#[derive(Clone, Debug, PartialEq)]
pub struct DurableSessions {
    /// The AZs holding a copy; empty: the region's first three.
    pub azs: Vec<AzIx>,
    /// Mean delay before the copy outside the write quorum applies a write.
    pub replication_lag: Dur,
    /// Reads go to the key's leader, never stale, at the price of its round trip.
    pub consistent_reads: bool,
    /// From a leader's loss to a new leader taking writes.
    pub failover_after: Dur,
    pub ttl: Dur,
}

impl Default for DurableSessions {
    fn default() -> Self {
        DurableSessions {
            azs: Vec::new(),
            replication_lag: Dur(100 * MS),
            consistent_reads: false,
            failover_after: Dur(3 * SEC),
            ttl: Dur(30 * MIN),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTargetTracking {
    metric: Option<Spanned<String>>,
    target: Option<Spanned<Num>>,
    period: Option<Spanned<D>>,
    scale_out_datapoints: Option<Spanned<u32>>,
    scale_in_datapoints: Option<Spanned<u32>>,
    warmup: Option<D>,
    cooldown: Option<D>,
    disable_scale_in: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDurable {
    azs: Option<Spanned<Vec<Spanned<String>>>>,
    replication_lag: Option<D>,
    consistent_reads: Option<bool>,
    failover_after: Option<D>,
    ttl: Option<Spanned<D>>,
}

pub(super) fn target_tracking(
    cx: &Ctx,
    span: std::ops::Range<usize>,
    r: RawTargetTracking,
) -> Result<TargetTracking, ScenarioError> {
    let metric = match &r.metric {
        Some(v) => super::context::choice(
            cx,
            v,
            "metric",
            &[
                ("cpu", ScaleMetric::Cpu),
                ("requests_per_target", ScaleMetric::RequestsPerTarget),
            ],
        )?,
        None => ScaleMetric::Cpu,
    };
    let target = match (&r.target, metric) {
        (Some(v), _) => {
            let t = v.get_ref().0;
            let ok = t.is_finite()
                && t > 0.0
                && (metric == ScaleMetric::RequestsPerTarget || t <= 100.0);
            if !ok {
                let form = match metric {
                    ScaleMetric::Cpu => "a CPU percentage above 0 and at most 100, such as 50",
                    ScaleMetric::RequestsPerTarget => {
                        "requests per target per minute above 0, such as 1000"
                    }
                };
                return Err(cx.at(v.span(), format!("target = {t}: expected {form}")));
            }
            t
        }
        (None, ScaleMetric::Cpu) => 50.0,
        (None, ScaleMetric::RequestsPerTarget) => {
            return Err(cx.at(
                span,
                "metric = \"requests_per_target\" needs a target: expected target = requests per target per minute, such as 1000",
            ));
        }
    };
    let mut t = TargetTracking::new(metric, target);
    if let Some(v) = &r.period {
        let p = v.get_ref().0;
        if p.0 < SEC || p.0 % SEC != 0 {
            return Err(cx.at(
                v.span(),
                format!("period = {p}: expected a whole number of seconds, at least \"1s\" (CloudWatch's finest is 10s; \"60s\" is the default)"),
            ));
        }
        t.period = p;
    }
    for (v, slot, key) in [
        (
            &r.scale_out_datapoints,
            &mut t.scale_out_datapoints,
            "scale_out_datapoints",
        ),
        (
            &r.scale_in_datapoints,
            &mut t.scale_in_datapoints,
            "scale_in_datapoints",
        ),
    ] {
        if let Some(v) = v {
            let n = *v.get_ref();
            if !(1..=1440).contains(&n) {
                return Err(cx.at(
                    v.span(),
                    format!("{key} = {n}: expected a whole number of periods from 1 to 1440"),
                ));
            }
            *slot = n;
        }
    }
    if let Some(v) = r.warmup {
        t.warmup = v.0;
    }
    if let Some(v) = r.cooldown {
        t.cooldown = v.0;
    }
    if let Some(v) = r.disable_scale_in {
        t.disable_scale_in = v;
    }
    Ok(t)
}

pub(super) fn durable(
    cx: &Ctx,
    s: &Scenario,
    r: RawDurable,
) -> Result<DurableSessions, ScenarioError> {
    let mut d = DurableSessions::default();
    if let Some(list) = &r.azs {
        let mut azs = Vec::new();
        for a in list.get_ref() {
            let i = az_index(cx, s, a)?;
            if azs.contains(&i) {
                return Err(cx.at(
                    a.span(),
                    format!(
                        "AZ {:?} holds two copies: expected distinct AZs",
                        a.get_ref()
                    ),
                ));
            }
            azs.push(i);
        }
        if azs.len() != 3 {
            return Err(cx.at(
                list.span(),
                format!(
                    "durable.azs lists {}: expected exactly three AZs (a copy in each)",
                    azs.len()
                ),
            ));
        }
        d.azs = azs;
    }
    if let Some(v) = r.replication_lag {
        d.replication_lag = v.0;
    }
    if let Some(v) = r.consistent_reads {
        d.consistent_reads = v;
    }
    if let Some(v) = r.failover_after {
        d.failover_after = v.0;
    }
    if let Some(v) = &r.ttl {
        d.ttl = positive(cx, v, "ttl", "")?;
    }
    Ok(d)
}

impl DurableSessions {
    /// The AZs of the three copies (fewer in a region with fewer AZs).
    pub fn copies(&self, region_azs: usize) -> Vec<AzIx> {
        if self.azs.is_empty() {
            (0..region_azs.min(3)).collect()
        } else {
            self.azs.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::{ScaleMetric, parse_scenario};

    const HEAD: &str = "[scenario]\nname = \"x\"\nduration = \"1m\"\n";

    #[test]
    fn target_tracking_defaults_follow_aws() {
        let s = parse_scenario(
            "t.toml",
            &format!("{HEAD}[fleet.target_tracking]\n[dns]\n[sessions.durable]\n"),
        )
        .unwrap();
        let t = s.fleet.target_tracking.unwrap();
        assert_eq!(t.metric, ScaleMetric::Cpu);
        assert_eq!(t.target, 50.0);
        assert_eq!((t.scale_out_datapoints, t.scale_in_datapoints), (3, 15));
        assert_eq!(s.dns.unwrap().ttl.0, 60 * crate::time::SEC);
        assert_eq!(s.sessions.durable.copies(3), vec![0, 1, 2]);
    }

    #[test]
    fn requests_per_target_needs_a_target() {
        let e = parse_scenario(
            "t.toml",
            &format!("{HEAD}[fleet.target_tracking]\nmetric = \"requests_per_target\"\n"),
        )
        .unwrap_err();
        assert!(e.message.contains("needs a target"), "{e}");
    }
}
