//! The figures a run is judged by: one list, read by the comparison tables,
//! the multi-seed summary and the `[slo]` thresholds, so a figure is named and
//! computed in one place.

use super::Report;
pub use super::security::SECURITY_FIGURES;
use super::text::thousands;

/// How a figure is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    /// A fraction, written as a percentage.
    Fraction,
    Ms,
    Bytes,
    Usd,
}

impl Unit {
    /// A mean or an interval's half-width: one decimal more than a single
    /// run's figure needs, thousands grouped.
    pub fn format_stat(self, v: f64) -> String {
        match self {
            Unit::Count | Unit::Bytes => {
                let tenths = (v.abs() * 10.0).round() as u64;
                let sign = if v < 0.0 && tenths > 0 { "-" } else { "" };
                match tenths % 10 {
                    0 => format!("{sign}{}", thousands(tenths / 10)),
                    d => format!("{sign}{}.{d}", thousands(tenths / 10)),
                }
            }
            Unit::Fraction => format!("{:.3} %", v * 100.0),
            Unit::Ms => format!("{v:.2}"),
            Unit::Usd => format!("{v:.3}"),
        }
    }

    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Count | Unit::Bytes if v.fract() == 0.0 && v >= 0.0 => thousands(v as u64),
            Unit::Count | Unit::Bytes => format!("{v:.1}"),
            Unit::Fraction => format!("{:.2} %", v * 100.0),
            Unit::Ms => format!("{v:.2}"),
            Unit::Usd => format!("{v:.3}"),
        }
    }
}

pub struct Figure {
    /// The row label in tables (leading spaces indent a sub-figure).
    pub label: &'static str,
    /// The name in CSV headers, summaries and `[slo]` keys (`KEY_max`, `KEY_min`).
    pub key: &'static str,
    pub unit: Unit,
    pub get: fn(&Report) -> f64,
}

macro_rules! fig {
    ($label:expr, $key:expr, $unit:ident, $get:expr) => {
        Figure {
            label: $label,
            key: $key,
            unit: Unit::$unit,
            get: $get,
        }
    };
}

pub const FIGURES: [Figure; 18] =
    [
        fig!("carts lost", "carts_lost", Count, |r| r.shoppers.carts_lost
            as f64),
        fig!(
            "  items lost",
            "items_lost",
            Count,
            |r| r.shoppers.items_lost as f64
        ),
        fig!(
            "  carts at risk at faults",
            "carts_at_risk",
            Count,
            |r| r.carts_at_risk() as f64
        ),
        fig!("abandoned with items", "abandoned_with_items", Count, |r| r
            .shoppers
            .abandoned_with_items
            as f64),
        fig!(
            "shoppers with items",
            "with_items",
            Count,
            |r| r.shoppers.with_items as f64
        ),
        fig!("checkouts ok", "checkouts_ok", Count, |r| r.checkouts.ok
            as f64),
        fig!(
            "checkouts failed",
            "checkouts_failed",
            Count,
            |r| r.checkouts.failed as f64
        ),
        fig!("requests", "requests", Count, |r| r.requests.total as f64),
        fig!(
            "requests failed",
            "requests_failed",
            Count,
            |r| r.requests.failed as f64
        ),
        fig!("  failure rate", "failure_rate", Fraction, |r| r
            .failure_rate()),
        fig!("latency p50 ms", "p50", Ms, |r| r.latency_ms.all.p50),
        fig!("latency p99 ms", "p99", Ms, |r| r.latency_ms.all.p99),
        fig!("request bytes (mean)", "request_bytes", Bytes, |r| r
            .bytes
            .request_mean
            .round()),
        fig!("cookie bytes (mean)", "cookie_bytes", Bytes, |r| r
            .bytes
            .cookie_mean
            .round()),
        fig!(
            "cookie bytes (max)",
            "cookie_max",
            Bytes,
            |r| r.bytes.cookie_max as f64
        ),
        fig!(
            "response head bytes (mean)",
            "response_head_bytes",
            Bytes,
            |r| r.bytes.response_header_mean.round()
        ),
        fig!(
            "sticky re-sticks",
            "resticks",
            Count,
            |r| r.sessions.resticks as f64
        ),
        fig!("cost per hour (USD)", "cost_per_hour", Usd, |r| r
            .cost
            .total_per_hour),
    ];

/// A data-tier figure: read from the report's `database` section (0 without one).
macro_rules! db_fig {
    ($label:expr, $key:expr, $unit:ident, |$d:ident| $get:expr) => {
        fig!($label, $key, $unit, |r| r
            .database
            .as_ref()
            .map_or(0.0, |$d| $get))
    };
}

/// The data tier's figures: shown when a run has a database.
pub const DATA_FIGURES: [Figure; 8] = [
    db_fig!("db stale reads", "stale_reads", Count, |d| d.stale_reads
        as f64),
    db_fig!(
        "db failed writes",
        "failed_writes",
        Count,
        |d| d.stats.failed_writes as f64
    ),
    db_fig!(
        "orders committed",
        "orders_committed",
        Count,
        |d| d.stats.orders_committed as f64
    ),
    db_fig!(
        "  orders lost",
        "orders_lost",
        Count,
        |d| d.stats.orders_lost as f64
    ),
    db_fig!("db write outage s", "write_outage_s", Count, |d| d
        .write_outage_s),
    db_fig!("primary queries per s", "primary_qps", Count, |d| d
        .primary_queries_per_second),
    db_fig!("replica lag p99 ms", "replica_lag_p99", Ms, |d| d
        .replica_lag_ms
        .p99),
    fig!("cache hit ratio", "cache_hit_ratio", Fraction, |r| r
        .cache
        .as_ref()
        .map_or(0.0, |c| c.hit_ratio)),
];

/// Every figure: the spine's, then the data tier's.
/// The elastic and HA features' figures, each shown when a run has its section.
pub const SCALING_FIGURES: [Figure; 2] = [
    fig!("scaling actions", "scaling_actions", Count, |r| r
        .scaling
        .as_ref()
        .map_or(0.0, |s| s.actions.len() as f64)),
    fig!("peak nodes", "peak_nodes", Count, |r| r
        .scaling
        .as_ref()
        .map_or(0.0, |s| f64::from(s.peak_nodes))),
];
pub const DNS_FIGURES: [Figure; 1] = [fig!(
    "stale DNS answer failures",
    "stale_dns_failures",
    Count,
    |r| r
        .dns
        .as_ref()
        .map_or(0.0, |d| d.stale_answer_failures as f64)
)];
pub const STORE_FIGURES: [Figure; 3] = [
    fig!("store failovers", "store_failovers", Count, |r| r
        .store
        .as_ref()
        .map_or(0.0, |s| s.failovers as f64)),
    fig!(
        "store replicas created",
        "store_replicas_created",
        Count,
        |r| r.store.as_ref().map_or(0.0, |s| s.replicas_created as f64)
    ),
    fig!("stale cart views", "stale_carts", Count, |r| r
        .store
        .as_ref()
        .map_or(0.0, |s| s.stale_carts as f64)),
];

/// Figures shown only when a run has the section they read.
pub struct Group {
    pub figures: &'static [Figure],
    pub present: fn(&Report) -> bool,
}

pub const GROUPS: [Group; 5] = [
    Group {
        figures: &DATA_FIGURES,
        present: |r| r.database.is_some(),
    },
    Group {
        figures: &SECURITY_FIGURES,
        present: |r| r.security.is_some(),
    },
    Group {
        figures: &SCALING_FIGURES,
        present: |r| r.scaling.is_some(),
    },
    Group {
        figures: &DNS_FIGURES,
        present: |r| r.dns.is_some(),
    },
    Group {
        figures: &STORE_FIGURES,
        present: |r| r.store.as_ref().is_some_and(|s| s.kind == "dynamo"),
    },
];

pub fn all() -> impl Iterator<Item = &'static Figure> {
    FIGURES
        .iter()
        .chain(GROUPS.iter().flat_map(|g| g.figures.iter()))
}

/// The optional figures worth a row or column for these runs: a group's if
/// any of the runs has its section.
pub fn extra(runs: &[Report]) -> impl Iterator<Item = &'static Figure> {
    let on: Vec<bool> = GROUPS
        .iter()
        .map(|g| runs.iter().any(|r| (g.present)(r)))
        .collect();
    GROUPS
        .iter()
        .zip(on)
        .filter(|(_, on)| *on)
        .flat_map(|(g, _)| g.figures.iter())
}

/// The figures worth a row for these runs.
pub fn shown(runs: &[Report]) -> impl Iterator<Item = &'static Figure> {
    FIGURES.iter().chain(extra(runs))
}

/// The figure called `key`.
pub fn find(key: &str) -> Option<&'static Figure> {
    all().find(|f| f.key == key)
}

/// Two-sided 95 % Student t quantiles for 1..=30 degrees of freedom.
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// Mean and the half-width of its 95 % confidence interval (Student t over
/// independent seeds); the half-width is 0 for a single value.
pub fn mean_ci(xs: &[f64]) -> (f64, f64) {
    let n = xs.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = T95.get(n - 2).copied().unwrap_or(1.960);
    (mean, t * (var / n as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_found() {
        let every: Vec<&Figure> = all().collect();
        for (i, f) in every.iter().enumerate() {
            assert!(
                every.iter().skip(i + 1).all(|g| g.key != f.key),
                "{}",
                f.key
            );
            assert!(find(f.key).is_some());
        }
    }

    #[test]
    fn confidence_interval_of_known_sample() {
        // 1..=5: mean 3, s = 1.5811, t(4) = 2.776 → half-width 1.963.
        let (m, h) = mean_ci(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!((m - 3.0).abs() < 1e-12);
        assert!((h - 1.963).abs() < 1e-3, "{h}");
        assert_eq!(mean_ci(&[7.0]), (7.0, 0.0));
    }

    #[test]
    fn stats_format() {
        assert_eq!(Unit::Count.format_stat(583023.64), "583,023.6");
        assert_eq!(Unit::Count.format_stat(3922.0), "3,922");
        assert_eq!(Unit::Count.format_stat(0.04), "0");
        assert_eq!(Unit::Fraction.format_stat(0.00169), "0.169 %");
    }

    #[test]
    fn units_format() {
        assert_eq!(Unit::Count.format(1234.0), "1,234");
        assert_eq!(Unit::Count.format(2.5), "2.5");
        assert_eq!(Unit::Fraction.format(0.0123), "1.23 %");
    }
}
