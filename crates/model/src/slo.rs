//! Thresholds: a scenario's `[slo]` table, checked against a finished run.
//!
//! Like k6's thresholds, they are pass/fail criteria evaluated once the run is
//! over; any failed threshold makes `stratus run` and `stratus compare` exit 3,
//! after the report is printed. A key is a figure's name with `_max` or `_min`
//! (`carts_lost_max = 0`, `p99_max = "500ms"`, `failure_rate_max = 0.01`); the
//! figures are the ones the comparison table shows (`report::figures`).

use crate::figure as figures;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    Max,
    Min,
}

/// One threshold: `figure` must stay at or below (Max) or at or above (Min) `limit`.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    pub figure: &'static str,
    pub bound: Bound,
    pub limit: f64,
}

impl Threshold {
    /// The key as written in the file.
    pub fn key(&self) -> String {
        match self.bound {
            Bound::Max => format!("{}_max", self.figure),
            Bound::Min => format!("{}_min", self.figure),
        }
    }

    /// Reads a key such as `carts_lost_max`; Err lists what is accepted.
    pub fn parse_key(key: &str) -> Result<(&'static str, Bound), String> {
        let split = key
            .strip_suffix("_max")
            .map(|f| (f, Bound::Max))
            .or_else(|| key.strip_suffix("_min").map(|f| (f, Bound::Min)));
        match split.and_then(|(f, b)| figures::find(f).map(|fig| (fig.key, b))) {
            Some(x) => Ok(x),
            None => {
                let names: Vec<&str> = figures::all().map(|f| f.key).collect();
                Err(format!(
                    "unknown [slo] key `{key}`: expected FIGURE_max or FIGURE_min, with FIGURE one of {}",
                    names.join(", ")
                ))
            }
        }
    }
}

/// The outcome of one threshold on one run.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Check {
    pub threshold: String,
    pub limit: f64,
    pub actual: f64,
    pub passed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_bad_ones_list_the_figures() {
        assert_eq!(
            Threshold::parse_key("carts_lost_max"),
            Ok(("carts_lost", Bound::Max))
        );
        assert_eq!(
            Threshold::parse_key("checkouts_ok_min"),
            Ok(("checkouts_ok", Bound::Min))
        );
        let e = Threshold::parse_key("carts_lots_max").unwrap_err();
        assert!(e.contains("carts_lost") && e.contains("expected"), "{e}");
        assert!(Threshold::parse_key("p99").is_err());
    }
}
