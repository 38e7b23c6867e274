//! The price of a design, as data: the prices of the scenario's `[cost]`
//! table, what a run used, and the bill per hour that `report::cost::price`
//! makes of them, so resilience has a figure beside carts lost.

use serde::Serialize;

/// Prices in USD. Defaults: AWS on-demand list prices in us-east-1 (see the
/// README for their sources); override them in `[cost]` for another region,
/// instance size or a discount.
#[derive(Clone, Debug, PartialEq)]
pub struct Prices {
    /// One app node per hour (EC2 m5.large, Linux).
    pub node_hourly: f64,
    /// The load balancer per hour (ALB).
    pub lb_hourly: f64,
    /// One load balancer capacity unit per hour (ALB LCU).
    pub lcu_hourly: f64,
    /// One session store node per hour (ElastiCache cache.m5.large); cache
    /// nodes (`[cache]`) are priced the same.
    pub store_node_hourly: f64,
    /// One database instance per hour (RDS for MySQL db.m5.large, single-AZ;
    /// a Multi-AZ standby and each read replica are billed as instances).
    pub db_instance_hourly: f64,
    /// The durable table, on demand: per million write request units (an
    /// item up to 1 KB) and read request units (up to 4 KB, strongly
    /// consistent; an eventually consistent read costs half of one).
    pub table_write_per_million: f64,
    pub table_read_per_million: f64,
    /// A GB crossing AZs within the region, charged on each side that pays
    /// (EC2 pricing, "Data Transfer within the same AWS Region": $0.01 per
    /// GB in each direction); which sides pay is per hop
    /// (`report::cross_az::billed_sides`).
    pub cross_az_per_gb: f64,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            node_hourly: 0.096,
            lb_hourly: 0.0225,
            lcu_hourly: 0.008,
            store_node_hourly: 0.156,
            db_instance_hourly: 0.171,
            table_write_per_million: 0.625,
            table_read_per_million: 0.125,
            cross_az_per_gb: 0.01,
        }
    }
}

/// One LCU buys 25 new connections per second or 1 GB of processed bytes per
/// hour (the two dimensions the model measures; active connections and rule
/// evaluations are not modelled); the larger need is billed.
pub const LCU_NEW_CONNECTIONS_PER_S: f64 = 25.0;
pub const LCU_GB_PER_HOUR: f64 = 1.0;

/// A run's cost, as rates per hour of the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Cost {
    /// Prices are in US dollars only: a report read back says so.
    #[serde(skip_deserializing, default = "usd")]
    pub currency: &'static str,
    /// App node-hours actually running (launching, in service or draining).
    pub node_hours: f64,
    pub fleet_per_hour: f64,
    pub lb_per_hour: f64,
    pub store_per_hour: f64,
    /// Database instances and cache nodes (0 without a data tier).
    pub data_per_hour: f64,
    /// Instances, the balancer and the table: what the design runs on.
    pub total_per_hour: f64,
    /// Traffic between AZs, beside the total (the `cross_az` key's
    /// `cost_per_hour_usd`, where its bytes are).
    #[serde(default)]
    pub cross_az_per_hour: f64,
}

fn usd() -> &'static str {
    "USD"
}

/// What a run used, besides the report's own figures.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// The session store's size for the strategy (primary plus replica for
    /// `store`, none otherwise).
    pub store_nodes: u32,
    /// New client connections (one per shopper's visit).
    pub connections: u64,
    /// App node-seconds running.
    pub node_seconds: f64,
    /// Database instances (primary, standby, replicas) and cache nodes.
    pub db_instances: u32,
    pub cache_nodes: u32,
    /// The durable table's writes and reads, and whether reads are strongly consistent.
    pub table_writes: u64,
    pub table_reads: u64,
    pub consistent_reads: bool,
}
