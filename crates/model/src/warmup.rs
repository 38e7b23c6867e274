//! Cold starts (`fleet.warmup_curve`): a node fresh in service serves
//! slower until its caches, connection pools and JIT-compiled code are
//! warm. Its service times are multiplied by a factor that starts at the
//! curve's `multiplier` and falls to 1 over `duration`, counted from the
//! moment it entered service. The starting fleet is warm unless the curve
//! says `start_cold`. Both drivers ask [`service_factor`] for a node's whole
//! slowdown, this curve composed with the gray faults' (`slow_node`,
//! `slow_az`).

use crate::core::{AzIx, NodeId};
use crate::degrade::Degradations;
use crate::time::{Dur, SimTime};

/// How the factor falls from the multiplier to 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A straight line: halfway through, halfway down.
    Linear,
    /// Geometric: `multiplier^(1 − age/duration)`, so the factor halves (or
    /// thirds) at equal steps of age. Most of the cost is early, as when a
    /// JIT compiles the hot paths first.
    Exponential,
    /// The whole multiplier until `duration`, then warm at once (a cache
    /// filled by a loader before it is switched on).
    Step,
}

/// A node's warm-up, as written in `[fleet] warmup_curve`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WarmupCurve {
    /// The factor on service times when the node enters service (≥ 1).
    pub multiplier: f64,
    /// Age at which the node is warm.
    pub duration: Dur,
    pub shape: Shape,
    /// The nodes present at t = 0 start cold too (default: warm, as a run
    /// starts from a fleet that has been serving).
    pub start_cold: bool,
}

impl WarmupCurve {
    /// The factor on service times at `age` past entering service.
    pub fn factor(&self, age: u64) -> f64 {
        let d = self.duration.0;
        if age >= d || self.multiplier <= 1.0 {
            return 1.0;
        }
        let left = 1.0 - age as f64 / d as f64;
        match self.shape {
            Shape::Linear => 1.0 + (self.multiplier - 1.0) * left,
            Shape::Exponential => self.multiplier.powf(left),
            Shape::Step => self.multiplier,
        }
    }

    /// The factor for a node that entered service at `in_service_at`
    /// (`Some(0)`: the starting fleet), at `now`.
    pub fn factor_at(&self, in_service_at: Option<SimTime>, now: SimTime) -> f64 {
        match in_service_at {
            Some(0) if !self.start_cold => 1.0,
            Some(t) => self.factor(now.saturating_sub(t)),
            None => 1.0,
        }
    }
}

/// Everything that stretches node `node`'s service times at `now`: the
/// gray faults on it, times its warm-up. Exactly 1.0 when neither applies,
/// so a run without them draws and serves exactly as before.
pub fn service_factor(
    degraded: &Degradations,
    curve: Option<&WarmupCurve>,
    (node, az): (NodeId, AzIx),
    in_service_at: Option<SimTime>,
    now: SimTime,
) -> f64 {
    let warm = curve.map_or(1.0, |c| c.factor_at(in_service_at, now));
    degraded.slowdown(node, az) * warm
}

/// A service demand stretched by a node's [`service_factor`] (1: as
/// drawn, to the nanosecond). Both drivers' nodes stretch their pages so.
pub fn slowed(demand: u64, factor: f64) -> u64 {
    if factor == 1.0 {
        demand
    } else {
        (demand as f64 * factor) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::degrade::{Harm, Target};
    use crate::time::SEC;

    fn curve(shape: Shape) -> WarmupCurve {
        WarmupCurve {
            multiplier: 4.0,
            duration: Dur(100 * SEC),
            shape,
            start_cold: false,
        }
    }

    #[test]
    fn each_shape_starts_at_the_multiplier_and_ends_at_one() {
        for shape in [Shape::Linear, Shape::Exponential, Shape::Step] {
            let c = curve(shape);
            assert_eq!(c.factor(0), 4.0, "{shape:?}");
            assert_eq!(c.factor(100 * SEC), 1.0, "{shape:?}");
            assert_eq!(c.factor(500 * SEC), 1.0, "{shape:?}");
        }
        assert_eq!(curve(Shape::Linear).factor(50 * SEC), 2.5);
        assert_eq!(curve(Shape::Exponential).factor(50 * SEC), 2.0);
        assert_eq!(curve(Shape::Step).factor(99 * SEC), 4.0);
        // Falling all the way, never below 1.
        let c = curve(Shape::Exponential);
        let f: Vec<f64> = (0..=10).map(|i| c.factor(i * 10 * SEC)).collect();
        assert!(f.windows(2).all(|w| w[1] < w[0]), "{f:?}");
    }

    #[test]
    fn the_starting_fleet_is_warm_unless_the_curve_says_cold() {
        let mut c = curve(Shape::Linear);
        assert_eq!(c.factor_at(Some(0), 10 * SEC), 1.0);
        assert_eq!(c.factor_at(Some(10 * SEC), 10 * SEC), 4.0);
        assert_eq!(c.factor_at(None, 10 * SEC), 1.0, "not in service");
        c.start_cold = true;
        assert_eq!(c.factor_at(Some(0), 0), 4.0);
    }

    #[test]
    fn warm_up_composes_with_gray_faults() {
        let mut d = Degradations::default();
        d.add(Target::Nodes(vec![3]), Harm::Slow(10.0));
        let c = curve(Shape::Linear);
        let at = |node, since| service_factor(&d, Some(&c), (node, 0), since, 200 * SEC);
        assert_eq!(at(3, Some(200 * SEC)), 40.0);
        assert_eq!(at(3, Some(0)), 10.0);
        assert_eq!(at(4, Some(150 * SEC)), 2.5);
        assert_eq!(service_factor(&d, None, (4, 0), Some(200 * SEC), 0), 1.0);
    }
}
