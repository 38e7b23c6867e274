//! The figures a run is judged by, named once: each figure's id, its row
//! label, its key (CSV headers, summaries, `[slo]` keys, `--plot-figure`)
//! and its unit. The scenario reads `[slo]` keys against this list; the
//! report reads each figure's value (`report::figures`, by the id), so the
//! catalogue sits below both and neither imports the other through it.

/// How a figure is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    /// A fraction, written as a percentage.
    Fraction,
    Ms,
    Bytes,
    Usd,
    /// Gigabytes (10⁹ bytes), per hour.
    Gb,
    /// A plain ratio such as attempts per request, two decimals.
    Ratio,
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
            Unit::Gb => format!("{v:.4}"),
            Unit::Ratio => format!("{v:.3}"),
        }
    }

    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Count | Unit::Bytes if v.fract() == 0.0 && v >= 0.0 => thousands(v as u64),
            Unit::Count | Unit::Bytes => format!("{v:.1}"),
            Unit::Fraction => format!("{:.2} %", v * 100.0),
            Unit::Ms => format!("{v:.2}"),
            Unit::Usd => format!("{v:.3}"),
            Unit::Gb => format!("{v:.3}"),
            Unit::Ratio => format!("{v:.2}"),
        }
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[derive(Debug)]
pub struct Figure {
    pub id: Id,
    /// The row label in tables (leading spaces indent a sub-figure).
    pub label: &'static str,
    /// The name in CSV headers, summaries and `[slo]` keys (`KEY_max`, `KEY_min`).
    pub key: &'static str,
    pub unit: Unit,
}

/// Declares the ids and the tables in one go, so a figure is listed once.
macro_rules! catalogue {
    ($( $(#[$doc:meta])* $table:ident { $( $id:ident : $label:literal, $key:literal, $unit:ident; )* } )*) => {
        /// Which figure: the report computes each by an exhaustive match.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Id { $($($id,)*)* }
        $(
            $(#[$doc])*
            pub const $table: &[Figure] = &[
                $( Figure { id: Id::$id, label: $label, key: $key, unit: Unit::$unit }, )*
            ];
        )*
    };
}

catalogue! {
    /// The spine: every run has these.
    FIGURES {
        CartsLost: "carts lost", "carts_lost", Count;
        ItemsLost: "  items lost", "items_lost", Count;
        CartsAtRisk: "  carts at risk at faults", "carts_at_risk", Count;
        AbandonedWithItems: "abandoned with items", "abandoned_with_items", Count;
        WithItems: "shoppers with items", "with_items", Count;
        CheckoutsOk: "checkouts ok", "checkouts_ok", Count;
        CheckoutsFailed: "checkouts failed", "checkouts_failed", Count;
        Requests: "requests", "requests", Count;
        RequestsFailed: "requests failed", "requests_failed", Count;
        FailureRate: "  failure rate", "failure_rate", Fraction;
        P50: "latency p50 ms", "p50", Ms;
        P99: "latency p99 ms", "p99", Ms;
        RequestBytes: "request bytes (mean)", "request_bytes", Bytes;
        CookieBytes: "cookie bytes (mean)", "cookie_bytes", Bytes;
        CookieMax: "cookie bytes (max)", "cookie_max", Bytes;
        ResponseHeadBytes: "response head bytes (mean)", "response_head_bytes", Bytes;
        Resticks: "sticky re-sticks", "resticks", Count;
        CostPerHour: "cost per hour (USD)", "cost_per_hour", Usd;
        CrossAzGb: "cross-AZ GB per hour", "cross_az_gb_per_hour", Gb;
        CrossAzBilledGb: "  billed GB per hour", "cross_az_billed_gb_per_hour", Gb;
        CrossAzCost: "cross-AZ USD per hour", "cross_az_cost_per_hour", Usd;
    }
    /// The data tier's figures: shown when a run has a database.
    DATA_FIGURES {
        StaleReads: "db stale reads", "stale_reads", Count;
        FailedWrites: "db failed writes", "failed_writes", Count;
        OrdersCommitted: "orders committed", "orders_committed", Count;
        OrdersLost: "  orders lost", "orders_lost", Count;
        WriteOutage: "db write outage s", "write_outage_s", Count;
        PrimaryQps: "primary queries per s", "primary_qps", Count;
        ReplicaLagP99: "replica lag p99 ms", "replica_lag_p99", Ms;
        CacheHitRatio: "cache hit ratio", "cache_hit_ratio", Fraction;
    }
    /// The security figures: shown when a run has a `security` section.
    SECURITY_FIGURES {
        TamperAttempts: "tamper attempts", "tamper_attempts", Count;
        TamperAccepted: "  accepted", "tamper_accepted", Count;
        ReplayAttempts: "replay attempts", "replay_attempts", Count;
        ReplayAccepted: "  accepted", "replay_accepted", Count;
        ForgeAttempts: "forge attempts", "forge_attempts", Count;
        ForgeAccepted: "  accepted", "forge_accepted", Count;
        DirectDatabaseAttempts: "direct db attempts", "direct_database_attempts", Count;
        DirectDatabaseAccepted: "  accepted", "direct_database_accepted", Count;
        DirectStoreAttempts: "direct store attempts", "direct_store_attempts", Count;
        DirectStoreAccepted: "  accepted", "direct_store_accepted", Count;
        ConnectionsDropped: "connections dropped", "connections_dropped", Count;
    }
    /// The elastic and HA features' figures, each shown when a run has its section.
    SCALING_FIGURES {
        ScalingActions: "scaling actions", "scaling_actions", Count;
        PeakNodes: "peak nodes", "peak_nodes", Count;
    }
    DNS_FIGURES {
        StaleDnsFailures: "stale DNS answer failures", "stale_dns_failures", Count;
        NextAddressRetries: "next-address retries", "dns_next_address_retries", Count;
    }
    /// Client retries' figures: shown when a run has a `retries` section.
    RETRY_FIGURES {
        AttemptsPerRequest: "attempts per request", "attempts_per_request", Ratio;
        GoodputShare: "goodput share", "goodput_share", Fraction;
        GoodputShareLast5m: "  over the last 5 min", "goodput_share_last_5m", Fraction;
        ServedAbandoned: "served after caller left", "served_abandoned", Count;
    }
    STORE_FIGURES {
        StoreFailovers: "store failovers", "store_failovers", Count;
        StoreReplicasCreated: "store replicas created", "store_replicas_created", Count;
        StaleCarts: "stale cart views", "stale_carts", Count;
    }
}

/// The optional tables, in the order the report shows them.
pub const OPTIONAL: [&[Figure]; 6] = [
    DATA_FIGURES,
    SECURITY_FIGURES,
    SCALING_FIGURES,
    DNS_FIGURES,
    STORE_FIGURES,
    RETRY_FIGURES,
];

/// Every figure: the spine's, then the optional ones.
pub fn all() -> impl Iterator<Item = &'static Figure> {
    FIGURES.iter().chain(OPTIONAL.iter().flat_map(|t| t.iter()))
}

/// Which way a figure gets better, for a diff against a baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
    /// What the workload or the attackers did, not how the design fared:
    /// any change counts against a bound.
    Neither,
}

impl Id {
    /// Which way this figure gets better.
    pub fn better(self) -> Better {
        use Id::*;
        match self {
            CheckoutsOk | OrdersCommitted | CacheHitRatio | GoodputShare | GoodputShareLast5m => {
                Better::Higher
            }
            WithItems
            | Requests
            | TamperAttempts
            | ReplayAttempts
            | ForgeAttempts
            | DirectDatabaseAttempts
            | DirectStoreAttempts
            | ScalingActions
            | PeakNodes
            | PrimaryQps
            | StoreReplicasCreated => Better::Neither,
            CartsLost
            | ItemsLost
            | CartsAtRisk
            | AbandonedWithItems
            | CheckoutsFailed
            | RequestsFailed
            | FailureRate
            | P50
            | P99
            | RequestBytes
            | CookieBytes
            | CookieMax
            | ResponseHeadBytes
            | Resticks
            | CostPerHour
            | CrossAzGb
            | CrossAzBilledGb
            | CrossAzCost
            | StaleReads
            | FailedWrites
            | OrdersLost
            | WriteOutage
            | ReplicaLagP99
            | TamperAccepted
            | ReplayAccepted
            | ForgeAccepted
            | DirectDatabaseAccepted
            | DirectStoreAccepted
            | ConnectionsDropped
            | StaleDnsFailures
            | NextAddressRetries
            | StoreFailovers
            | StaleCarts
            | AttemptsPerRequest
            | ServedAbandoned => Better::Lower,
        }
    }
}

/// The figure called `key`.
pub fn find(key: &str) -> Option<&'static Figure> {
    all().find(|f| f.key == key)
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
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
