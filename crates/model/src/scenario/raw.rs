//! The scenario file's raw shape: mirror types that keep each value's place
//! in the file (`Spanned`), built of the value types in `values`. `file`
//! turns them into a checked `Scenario`.

pub(super) use super::values::{D, Num, RawLimit, RawPages, Size};
use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) scenario: Option<Spanned<RawScenario>>,
    pub(super) region: Option<RawRegion>,
    pub(super) load_balancer: Option<RawLb>,
    pub(super) fleet: Option<RawFleet>,
    pub(super) sessions: Option<RawSessions>,
    pub(super) workload: Option<RawWorkload>,
    pub(super) timeline: Option<Vec<Spanned<RawAction>>>,
    pub(super) slo: Option<std::collections::BTreeMap<String, Spanned<RawLimit>>>,
    pub(super) cost: Option<RawCost>,
    pub(super) database: Option<super::data::RawDatabase>,
    pub(super) cache: Option<Spanned<super::data::RawCache>>,
    pub(super) dns: Option<super::dns::RawDns>,
    pub(super) security_groups: Option<super::security::RawGroups>,
    pub(super) variants: Option<Vec<Spanned<super::remedies::RawVariant>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCost {
    pub(super) node_hourly: Option<Spanned<Num>>,
    pub(super) lb_hourly: Option<Spanned<Num>>,
    pub(super) lcu_hourly: Option<Spanned<Num>>,
    pub(super) store_node_hourly: Option<Spanned<Num>>,
    pub(super) db_instance_hourly: Option<Spanned<Num>>,
    pub(super) table_write_per_million: Option<Spanned<Num>>,
    pub(super) table_read_per_million: Option<Spanned<Num>>,
    pub(super) cross_az_per_gb: Option<Spanned<Num>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub(super) name: Option<Spanned<String>>,
    pub(super) description: Option<String>,
    pub(super) duration: Option<Spanned<D>>,
    pub(super) seed: Option<u64>,
    pub(super) strategy: Option<Spanned<String>>,
    pub(super) compare: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegion {
    pub(super) azs: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) latency: Option<RawLatency>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLatency {
    pub(super) same_az: Option<D>,
    pub(super) cross_az: Option<D>,
    pub(super) internet: Option<D>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLb {
    pub(super) algorithm: Option<Spanned<String>>,
    pub(super) stickiness: Option<Spanned<String>>,
    pub(super) stickiness_duration: Option<Spanned<D>>,
    pub(super) health_check: Option<RawHealth>,
    pub(super) deregistration_delay: Option<D>,
    pub(super) connect_timeout: Option<Spanned<D>>,
    pub(super) cross_zone: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHealth {
    pub(super) interval: Option<Spanned<D>>,
    pub(super) timeout: Option<Spanned<D>>,
    pub(super) healthy_threshold: Option<Spanned<u32>>,
    pub(super) unhealthy_threshold: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServiceTimes {
    pub(super) home: Option<D>,
    pub(super) product: Option<D>,
    pub(super) add_to_cart: Option<D>,
    pub(super) view_cart: Option<D>,
    pub(super) checkout: Option<D>,
    pub(super) account: Option<D>,
    pub(super) orders: Option<D>,
    pub(super) address: Option<D>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFleet {
    pub(super) min: Option<Spanned<u32>>,
    pub(super) desired: Option<Spanned<u32>>,
    pub(super) max: Option<Spanned<u32>>,
    pub(super) launch_time: Option<D>,
    pub(super) workers: Option<Spanned<u32>>,
    pub(super) queue_limit: Option<u32>,
    pub(super) queue_timeout: Option<Spanned<D>>,
    pub(super) calls: Option<super::calls::RawCalls>,
    pub(super) queue_order: Option<Spanned<String>>,
    pub(super) lifo_after: Option<Spanned<D>>,
    pub(super) warmup_curve: Option<Spanned<super::serving::RawWarmup>>,
    pub(super) service_time: Option<RawServiceTimes>,
    pub(super) service_distribution: Option<Spanned<String>>,
    pub(super) lognormal_sigma: Option<Spanned<Num>>,
    pub(super) target_tracking: Option<Spanned<super::elastic::RawTargetTracking>>,
    pub(super) health_check_type: Option<Spanned<String>>,
    pub(super) health_check_grace_period: Option<D>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSessions {
    pub(super) memory: Option<RawMemory>,
    pub(super) cookie: Option<RawCookie>,
    pub(super) store: Option<RawStore>,
    pub(super) durable: Option<super::elastic::RawDurable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMemory {
    pub(super) timeout: Option<Spanned<D>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCookie {
    pub(super) max_bytes: Option<Spanned<Size>>,
    pub(super) signed: Option<bool>,
    pub(super) max_age: Option<Spanned<D>>,
    pub(super) versioned: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    pub(super) primary_az: Option<Spanned<String>>,
    pub(super) replica_az: Option<Spanned<String>>,
    pub(super) replicas: Option<Spanned<super::data::RawPlacement>>,
    pub(super) replication_lag: Option<D>,
    pub(super) lag_distribution: Option<Spanned<String>>,
    pub(super) failover_after: Option<D>,
    pub(super) replica_rebuild: Option<D>,
    pub(super) shards: Option<Spanned<u32>>,
    pub(super) ttl: Option<Spanned<D>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorkload {
    pub(super) arrivals_per_second: Option<Spanned<Num>>,
    pub(super) arrivals: Option<Spanned<super::arrivals::RawArrivals>>,
    pub(super) think_time: Option<D>,
    pub(super) pages: Option<Spanned<RawPages>>,
    pub(super) add_to_cart: Option<Spanned<Num>>,
    pub(super) checkout: Option<Spanned<Num>>,
    pub(super) catalog: Option<Spanned<u32>>,
    pub(super) account: Option<Spanned<Num>>,
    pub(super) address_change: Option<Spanned<Num>>,
    pub(super) order_history: Option<Spanned<Num>>,
    pub(super) popularity: Option<Spanned<Num>>,
    pub(super) attackers: Option<Spanned<Num>>,
    pub(super) retry: Option<super::retry::RawRetry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAction {
    pub(super) at: Option<Spanned<D>>,
    pub(super) action: Option<Spanned<String>>,
    pub(super) az: Option<Spanned<String>>,
    pub(super) count: Option<Spanned<u32>>,
    pub(super) value: Option<Spanned<Num>>,
    pub(super) batch: Option<Spanned<u32>>,
    pub(super) duration: Option<Spanned<D>>,
    pub(super) network: Option<Spanned<D>>,
    pub(super) from: Option<Spanned<String>>,
    pub(super) to: Option<Spanned<String>>,
    pub(super) delay: Option<Spanned<D>>,
}
