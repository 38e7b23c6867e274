//! The price of a design: what the fleet, the load balancer and the session
//! store cost per hour, from the prices in the scenario's `[cost]` table and
//! what the run really used (node-seconds in service, bytes through the
//! balancer, new connections), so resilience has a figure beside carts lost.

use crate::report::Report;
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
        }
    }
}

/// One LCU buys 25 new connections per second or 1 GB of processed bytes per
/// hour (the two dimensions the model measures; active connections and rule
/// evaluations are not modelled); the larger need is billed.
pub const LCU_NEW_CONNECTIONS_PER_S: f64 = 25.0;
pub const LCU_GB_PER_HOUR: f64 = 1.0;

/// A run's cost, as rates per hour of the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Cost {
    pub currency: &'static str,
    /// App node-hours actually running (launching, in service or draining).
    pub node_hours: f64,
    pub fleet_per_hour: f64,
    pub lb_per_hour: f64,
    pub store_per_hour: f64,
    /// Database instances and cache nodes (0 without a data tier).
    pub data_per_hour: f64,
    pub total_per_hour: f64,
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
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

/// Prices a finished run.
pub fn price(p: &Prices, r: &Report, u: Usage) -> Cost {
    let Usage {
        store_nodes,
        connections,
        node_seconds,
        ..
    } = u;
    let hours = (r.simulated_seconds / 3600.0).max(f64::MIN_POSITIVE);
    let node_hours = node_seconds / 3600.0;
    let bytes = (r.bytes.request_mean * r.requests.total as f64)
        + (r.bytes.response_header_mean * r.requests.ok as f64);
    let gb_per_hour = bytes / 1e9 / hours;
    let conns_per_s = connections as f64 / r.simulated_seconds.max(1e-9);
    let lcus = (gb_per_hour / LCU_GB_PER_HOUR).max(conns_per_s / LCU_NEW_CONNECTIONS_PER_S);
    let fleet = node_hours * p.node_hourly / hours;
    let lb = p.lb_hourly + lcus * p.lcu_hourly;
    let read_units = if u.consistent_reads { 1.0 } else { 0.5 };
    let table = (u.table_writes as f64 * p.table_write_per_million
        + u.table_reads as f64 * read_units * p.table_read_per_million)
        / 1e6;
    let store = f64::from(store_nodes) * p.store_node_hourly + table / hours;
    let data = f64::from(u.db_instances) * p.db_instance_hourly
        + f64::from(u.cache_nodes) * p.store_node_hourly;
    Cost {
        currency: "USD",
        node_hours: round4(node_hours),
        fleet_per_hour: round4(fleet),
        lb_per_hour: round4(lb),
        store_per_hour: round4(store),
        data_per_hour: round4(data),
        total_per_hour: round4(fleet + lb + store + data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_nodes_for_an_hour_cost_six_node_hours() {
        let r = Report {
            simulated_seconds: 3600.0,
            ..Default::default()
        };
        let u = Usage {
            store_nodes: 2,
            node_seconds: 6.0 * 3600.0,
            ..Default::default()
        };
        let c = price(&Prices::default(), &r, u);
        assert_eq!(c.node_hours, 6.0);
        assert!((c.fleet_per_hour - 0.576).abs() < 1e-9);
        assert!((c.store_per_hour - 0.312).abs() < 1e-9);
        assert!((c.lb_per_hour - 0.0225).abs() < 1e-9, "no traffic, no LCU");
        assert!((c.total_per_hour - (0.576 + 0.312 + 0.0225)).abs() < 1e-4);
    }

    #[test]
    fn connections_buy_lcus() {
        let r = Report {
            simulated_seconds: 100.0,
            ..Default::default()
        };
        // 50 new connections a second: 2 LCUs.
        let u = Usage {
            connections: 5_000,
            db_instances: 2,
            cache_nodes: 1,
            ..Default::default()
        };
        let c = price(&Prices::default(), &r, u);
        assert!((c.data_per_hour - (2.0 * 0.171 + 0.156)).abs() < 1e-9);
        assert!((c.lb_per_hour - (0.0225 + 2.0 * 0.008)).abs() < 1e-9);
    }

    #[test]
    fn the_table_is_billed_per_request() {
        let r = Report {
            simulated_seconds: 3600.0,
            ..Default::default()
        };
        let u = Usage {
            table_writes: 2_000_000,
            table_reads: 4_000_000,
            ..Default::default()
        };
        // 2 M writes at $0.625/M and 4 M eventual reads at half of $0.125/M.
        let c = price(&Prices::default(), &r, u);
        assert!((c.store_per_hour - (1.25 + 0.25)).abs() < 1e-9);
    }
}
