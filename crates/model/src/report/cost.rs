//! A run's bill: the prices of the scenario's `[cost]` table applied to
//! what the run really used (node-seconds in service, bytes through the
//! balancer, new connections, the store's and the data tier's instances).

use super::Report;
use crate::cost::{Cost, LCU_GB_PER_HOUR, LCU_NEW_CONNECTIONS_PER_S, Prices, Usage};

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
        cross_az_per_hour: 0.0,
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
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
