//! The `[slo]` thresholds checked against a finished run: each threshold's
//! figure read from the report, and whether it held.

use super::Report;
use crate::slo::{Bound, Check, Threshold};

/// Checks every threshold against a run.
pub fn evaluate(thresholds: &[Threshold], r: &Report) -> Vec<Check> {
    thresholds
        .iter()
        .map(|t| {
            let fig = crate::figure::find(t.figure).expect("validated at parse time");
            let actual = fig.get(r);
            let passed = match t.bound {
                Bound::Max => actual <= t.limit,
                Bound::Min => actual >= t.limit,
            };
            Check {
                threshold: t.key(),
                limit: t.limit,
                actual,
                passed,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluation_is_inclusive() {
        let mut r = Report::default();
        r.shoppers.carts_lost = 3;
        let t = |limit, bound| Threshold {
            figure: "carts_lost",
            bound,
            limit,
        };
        let c = evaluate(
            &[t(3.0, Bound::Max), t(2.0, Bound::Max), t(4.0, Bound::Min)],
            &r,
        );
        assert_eq!(
            c.iter().map(|c| c.passed).collect::<Vec<_>>(),
            vec![true, false, false]
        );
        assert_eq!(c[1].threshold, "carts_lost_max");
    }
}
