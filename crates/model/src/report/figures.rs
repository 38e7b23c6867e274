//! The figures a run is judged by, computed from a report: each figure of
//! the catalogue (`crate::figure`, where it is named once) gets its value
//! here by an exhaustive match on its id, and the optional tables are shown
//! when a run has the section they read. Read by the comparison tables, the
//! multi-seed summary and the `[slo]` checks.

use super::Report;
pub use crate::figure::{
    DATA_FIGURES, DNS_FIGURES, FIGURES, Figure, Id, RETRY_FIGURES, SCALING_FIGURES,
    SECURITY_FIGURES, STORE_FIGURES, Unit, all, find,
};
use crate::security::attack::{Attack, Tally};

impl Figure {
    /// This figure's value in `r` (0 when `r` lacks the section it reads).
    pub fn get(&self, r: &Report) -> f64 {
        use Id::*;
        let db = |f: fn(&super::data::DatabaseReport) -> f64| r.database.as_ref().map_or(0.0, f);
        let retries =
            |f: fn(&super::retries::RetriesReport) -> f64| r.retries.as_ref().map_or(0.0, f);
        let tally =
            |a: Attack| -> Tally { r.security.as_ref().map(|s| s.tally(a)).unwrap_or_default() };
        match self.id {
            CartsLost => r.shoppers.carts_lost as f64,
            ItemsLost => r.shoppers.items_lost as f64,
            CartsAtRisk => r.carts_at_risk() as f64,
            AbandonedWithItems => r.shoppers.abandoned_with_items as f64,
            WithItems => r.shoppers.with_items as f64,
            CheckoutsOk => r.checkouts.ok as f64,
            CheckoutsFailed => r.checkouts.failed as f64,
            Requests => r.requests.total as f64,
            RequestsFailed => r.requests.failed as f64,
            FailureRate => r.failure_rate(),
            P50 => r.latency_ms.all.p50,
            P99 => r.latency_ms.all.p99,
            RequestBytes => r.bytes.request_mean.round(),
            CookieBytes => r.bytes.cookie_mean.round(),
            CookieMax => r.bytes.cookie_max as f64,
            ResponseHeadBytes => r.bytes.response_header_mean.round(),
            Resticks => r.sessions.resticks as f64,
            CostPerHour => r.cost.total_per_hour,
            CrossAzGb => r.cross_az.gb_per_hour,
            CrossAzBilledGb => r.cross_az.billed_gb_per_hour,
            CrossAzCost => r.cross_az.cost_per_hour_usd,
            StaleReads => db(|d| d.stale_reads as f64),
            FailedWrites => db(|d| d.stats.failed_writes as f64),
            OrdersCommitted => db(|d| d.stats.orders_committed as f64),
            OrdersLost => db(|d| d.stats.orders_lost as f64),
            WriteOutage => db(|d| d.write_outage_s),
            PrimaryQps => db(|d| d.primary_queries_per_second),
            ReplicaLagP99 => db(|d| d.replica_lag_ms.p99),
            CacheHitRatio => r.cache.as_ref().map_or(0.0, |c| c.hit_ratio),
            TamperAttempts => tally(Attack::Tamper).attempts as f64,
            TamperAccepted => tally(Attack::Tamper).accepted as f64,
            ReplayAttempts => tally(Attack::Replay).attempts as f64,
            ReplayAccepted => tally(Attack::Replay).accepted as f64,
            ForgeAttempts => tally(Attack::Forge).attempts as f64,
            ForgeAccepted => tally(Attack::Forge).accepted as f64,
            DirectDatabaseAttempts => tally(Attack::DirectDatabase).attempts as f64,
            DirectDatabaseAccepted => tally(Attack::DirectDatabase).accepted as f64,
            DirectStoreAttempts => tally(Attack::DirectStore).attempts as f64,
            DirectStoreAccepted => tally(Attack::DirectStore).accepted as f64,
            ConnectionsDropped => r.security.as_ref().map_or(0, |s| s.dropped_total()) as f64,
            ScalingActions => r.scaling.as_ref().map_or(0.0, |s| s.actions.len() as f64),
            PeakNodes => r.scaling.as_ref().map_or(0.0, |s| f64::from(s.peak_nodes)),
            StaleDnsFailures => r
                .dns
                .as_ref()
                .map_or(0.0, |d| d.stale_answer_failures as f64),
            NextAddressRetries => r
                .dns
                .as_ref()
                .and_then(|d| d.route53.as_ref())
                .map_or(0.0, |r| r.next_address_retries as f64),
            StoreFailovers => r.store.as_ref().map_or(0.0, |s| s.failovers as f64),
            StoreReplicasCreated => r.store.as_ref().map_or(0.0, |s| s.replicas_created as f64),
            StaleCarts => r.store.as_ref().map_or(0.0, |s| s.stale_carts as f64),
            AttemptsPerRequest => retries(|t| t.attempts_per_request),
            GoodputShare => retries(|t| t.goodput_share),
            GoodputShareLast5m => retries(|t| t.goodput_share_last_5m),
            ServedAbandoned => retries(|t| t.served_abandoned as f64),
        }
    }
}

/// Figures shown only when a run has the section they read.
pub struct Group {
    pub figures: &'static [Figure],
    pub present: fn(&Report) -> bool,
}

pub const GROUPS: [Group; 6] = [
    Group {
        figures: DATA_FIGURES,
        present: |r| r.database.is_some(),
    },
    Group {
        figures: SECURITY_FIGURES,
        present: |r| r.security.is_some(),
    },
    Group {
        figures: SCALING_FIGURES,
        present: |r| r.scaling.is_some(),
    },
    Group {
        figures: DNS_FIGURES,
        present: |r| r.dns.is_some(),
    },
    Group {
        figures: STORE_FIGURES,
        present: |r| r.store.as_ref().is_some_and(|s| s.kind == "dynamo"),
    },
    Group {
        figures: RETRY_FIGURES,
        present: |r| r.retries.is_some(),
    },
];

/// Whether `r` has the section figure `f` reads (the spine's figures: always).
pub fn has(f: &Figure, r: &Report) -> bool {
    GROUPS
        .iter()
        .find(|g| g.figures.iter().any(|x| x.id == f.id))
        .is_none_or(|g| (g.present)(r))
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

/// Whether two sets of seeds' means differ beyond chance: Welch's two-sided
/// 95 % test (the t quantile at the Welch–Satterthwaite degrees of
/// freedom). None unless both sides hold at least two values.
pub fn differs(xs: &[f64], ys: &[f64]) -> Option<bool> {
    if xs.len() < 2 || ys.len() < 2 {
        return None;
    }
    let stats = |v: &[f64]| {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var / n)
    };
    let ((mx, ax), (my, ay)) = (stats(xs), stats(ys));
    let se2 = ax + ay;
    if se2 == 0.0 {
        return Some(mx != my);
    }
    let dof =
        se2.powi(2) / (ax.powi(2) / (xs.len() - 1) as f64 + ay.powi(2) / (ys.len() - 1) as f64);
    let k = (dof.floor() as usize).max(1);
    let t = T95.get(k - 1).copied().unwrap_or(1.960);
    Some((my - mx).abs() > t * se2.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welch_tells_a_shift_from_noise() {
        let a = [10.0, 11.0, 9.0, 10.5, 9.5];
        assert_eq!(differs(&a, &[10.2, 10.8, 9.1, 10.4, 9.9]), Some(false));
        assert_eq!(differs(&a, &[20.0, 21.0, 19.0, 20.5, 19.5]), Some(true));
        assert_eq!(differs(&a, &[10.0]), None, "one seed: no interval");
        assert_eq!(differs(&[1.0, 1.0], &[1.0, 1.0]), Some(false));
        assert_eq!(differs(&[1.0, 1.0], &[2.0, 2.0]), Some(true));
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
    fn every_figure_reads_its_section_and_is_zero_without_it() {
        let r = Report::default();
        for f in all() {
            assert_eq!(f.get(&r), 0.0, "{}", f.key);
        }
        // The GROUPS list the catalogue's optional tables in its order.
        for (g, t) in GROUPS.iter().zip(crate::figure::OPTIONAL) {
            assert!(std::ptr::eq(g.figures, t));
        }
    }
}
