//! Target tracking, as EC2 Auto Scaling runs a policy: the metric is averaged
//! over each period into one datapoint; enough datapoints in a row above the
//! target (the policy's high alarm) scale out, more of them below it (the low
//! alarm) scale in.
//!
//! - New capacity is `ceil(capacity × metric / target)`, where `capacity`
//!   counts the nodes whose load the metric measured (for CPU, in-service
//!   nodes past warm-up; for requests per target, every in-service target):
//!   scale-out rounds up. CPU cannot read above 100 %, so a saturated group
//!   at a 50 % target can only double per step; requests per target sees
//!   the whole surge at once.
//! - Scale-in waits for more datapoints (15 against 3 by default), rounds up
//!   too (it removes fewer nodes), and not within the cooldown of the last
//!   scale-in.
//! - Nodes still warming up add capacity but not to the metric, so a policy
//!   does not scale out again for load they are about to take.

use crate::scenario::{ScaleMetric, TargetTracking};
use crate::time::{SEC, SimTime};
use serde::Serialize;

/// One change of desired capacity the policy made.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Scaling {
    pub t_s: f64,
    pub from: u32,
    pub to: u32,
    /// The datapoint that triggered it.
    pub metric: f64,
}

#[derive(Debug)]
pub struct Tracker {
    pub cfg: TargetTracking,
    /// Sum of this period's one-second samples, and their count.
    sum: f64,
    samples: u32,
    /// Requests routed this period (requests per target).
    requests: u64,
    /// Sum over this period's seconds of targets in service.
    target_seconds: u64,
    above: u32,
    below: u32,
    last_scale_in: Option<SimTime>,
    /// Every datapoint: (period end in seconds, value).
    pub datapoints: Vec<(u32, f64)>,
    pub actions: Vec<Scaling>,
}

impl Tracker {
    pub fn new(cfg: TargetTracking) -> Tracker {
        Tracker {
            cfg,
            sum: 0.0,
            samples: 0,
            requests: 0,
            target_seconds: 0,
            above: 0,
            below: 0,
            last_scale_in: None,
            datapoints: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// A request was routed to a target.
    pub fn routed(&mut self) {
        self.requests += 1;
    }

    /// One second's view of the warm nodes: busy workers, total workers, and
    /// targets in service.
    pub fn second(&mut self, busy: u64, workers: u64, targets: u64) {
        if workers > 0 {
            self.sum += 100.0 * busy as f64 / workers as f64;
            self.samples += 1;
        }
        self.target_seconds += targets;
    }

    /// Whether `now` ends a period.
    pub fn period_ends(&self, now: SimTime) -> bool {
        now > 0 && now.is_multiple_of(self.cfg.period.0)
    }

    /// Closes the period ending at `now`: records its datapoint and returns
    /// the new desired capacity if the policy acts. `capacity` counts the
    /// nodes the metric measured; `desired` is the group's current setting.
    pub fn close(
        &mut self,
        now: SimTime,
        capacity: u32,
        desired: u32,
        min: u32,
        max: u32,
    ) -> Option<u32> {
        let period_s = self.cfg.period.0 / SEC;
        let value = match self.cfg.metric {
            ScaleMetric::Cpu => (self.samples > 0).then(|| self.sum / f64::from(self.samples)),
            ScaleMetric::RequestsPerTarget => (self.target_seconds > 0).then(|| {
                let mean_targets = self.target_seconds as f64 / period_s as f64;
                self.requests as f64 / mean_targets * 60.0 / period_s as f64
            }),
        };
        self.sum = 0.0;
        self.samples = 0;
        self.requests = 0;
        self.target_seconds = 0;
        // No warm node measured: no datapoint, and the alarms hold their count.
        let value = value?;
        self.datapoints.push(((now / SEC) as u32, value));
        let t = self.cfg.target;
        if value > t {
            self.above += 1;
            self.below = 0;
        } else if value < t {
            self.below += 1;
            self.above = 0;
        } else {
            self.above = 0;
            self.below = 0;
        }
        let want = ((f64::from(capacity) * value / t).ceil() as u32).clamp(min, max);
        let out = self.above >= self.cfg.scale_out_datapoints && want > desired;
        let cooled = self
            .last_scale_in
            .is_none_or(|at| now >= at + self.cfg.cooldown.0);
        let scale_in = !self.cfg.disable_scale_in
            && self.below >= self.cfg.scale_in_datapoints
            && cooled
            && want < desired;
        if !(out || scale_in) {
            return None;
        }
        if scale_in {
            self.last_scale_in = Some(now);
            self.below = 0;
        }
        self.actions.push(Scaling {
            t_s: now as f64 / SEC as f64,
            from: desired,
            to: want,
            metric: value,
        });
        Some(want)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Dur;

    fn tracker() -> Tracker {
        let mut c = TargetTracking::new(ScaleMetric::Cpu, 50.0);
        c.period = Dur::from_secs(10);
        c.scale_out_datapoints = 2;
        c.scale_in_datapoints = 3;
        c.cooldown = Dur::from_secs(100);
        Tracker::new(c)
    }

    fn period(t: &mut Tracker, busy: u64, end_s: u64, warm: u32, desired: u32) -> Option<u32> {
        for _ in 0..10 {
            t.second(busy, 80, 10);
        }
        t.close(end_s * SEC, warm, desired, 2, 20)
    }

    #[test]
    fn scales_out_after_enough_datapoints_rounding_up() {
        let mut t = tracker();
        assert_eq!(period(&mut t, 80, 10, 10, 10), None, "one datapoint above");
        // 100 % busy against 50 %: twice the warm nodes.
        assert_eq!(period(&mut t, 80, 20, 10, 10), Some(20));
        // 55 % on 10 warm nodes: ceil(11) = 11, below the 20 already set.
        assert_eq!(period(&mut t, 44, 30, 10, 20), None);
    }

    #[test]
    fn scales_in_slowly_and_not_within_the_cooldown() {
        let mut t = tracker();
        assert_eq!(period(&mut t, 20, 10, 10, 10), None);
        assert_eq!(period(&mut t, 20, 20, 10, 10), None);
        // 25 % on 10 nodes: 5.
        assert_eq!(period(&mut t, 20, 30, 10, 10), Some(5));
        for end in [40, 50, 60] {
            assert_eq!(period(&mut t, 8, end, 5, 5), None, "cooling down");
        }
        assert_eq!(period(&mut t, 8, 130, 5, 5), Some(2), "clamped to min");
    }

    #[test]
    fn requests_per_target_is_per_minute() {
        let mut c = TargetTracking::new(ScaleMetric::RequestsPerTarget, 600.0);
        c.period = Dur::from_secs(60);
        c.scale_out_datapoints = 1;
        let mut t = Tracker::new(c);
        for _ in 0..60 {
            t.second(0, 0, 4);
        }
        for _ in 0..4800 {
            t.routed();
        }
        // 4800 requests over 4 targets in a minute: 1200 per target, twice the target.
        assert_eq!(t.close(60 * SEC, 4, 4, 1, 10), Some(8));
        assert_eq!(t.datapoints, vec![(60, 1200.0)]);
    }
}
