//! The cross-AZ bill: the bytes that crossed AZ boundaries, per hop, and
//! what AWS charges for them per hour (the `cross_az` key).
//!
//! AWS prices traffic between AZs of a region at $0.01 per GB in each
//! direction: out of the sender's AZ and into the receiver's, each on the
//! side that pays (EC2 pricing, "Data Transfer within the same AWS
//! Region"). Which sides pay depends on the hop, as each service's pricing
//! page says ([`billed_sides`]): every crossing byte is reported, and only
//! the sides that pay are priced.

use crate::scenario::Strategy;
use crate::wire::{Hop, Wire};
use serde::Serialize;
use std::collections::BTreeMap;

/// How many sides of a crossing byte on `hop` AWS charges under `strategy`.
pub fn billed_sides(hop: Hop, strategy: Strategy) -> u64 {
    let table = strategy == Strategy::Durable;
    match hop {
        // ALB: no charge for its own cross-zone traffic.
        Hop::LbNode => 0,
        // DynamoDB: no charge within the region. ElastiCache: only the EC2
        // instance's side is charged, never the cache node's.
        Hop::NodeStorePrimary | Hop::NodeStoreReplica if table => 0,
        Hop::NodeStorePrimary | Hop::NodeStoreReplica | Hop::NodeCache => 1,
        // Inside the service: ElastiCache and DynamoDB replication.
        Hop::StoreReplication => 0,
        // RDS in a VPC: EC2 regional transfer is charged on both sides.
        Hop::NodeDbPrimary | Hop::NodeDbReplica => 2,
        // RDS: Multi-AZ replication is free, as is replication to a read
        // replica in the same region.
        Hop::DbStandby | Hop::DbReplicas => 0,
    }
}

/// The `cross_az` key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct CrossAz {
    /// Bytes that crossed an AZ boundary, per hop, both ways together.
    pub bytes: BTreeMap<String, u64>,
    pub total_bytes: u64,
    /// Per hour of the run (GB of 10⁹ bytes).
    pub gb_per_hour: f64,
    /// The GB on the bill: each crossing byte once per side that pays.
    pub billed_gb_per_hour: f64,
    pub cost_per_hour_usd: f64,
}

impl CrossAz {
    /// The bill of a run that lasted `secs`, at `per_gb` a side.
    pub fn of(wire: &Wire, strategy: Strategy, secs: f64, per_gb: f64) -> CrossAz {
        let hours = (secs / 3600.0).max(f64::MIN_POSITIVE);
        let per_hour = |bytes: u64| bytes as f64 / 1e9 / hours;
        let billed: u64 = Hop::ALL
            .iter()
            .map(|&h| wire.cross(h) * billed_sides(h, strategy))
            .sum();
        let total = Hop::ALL.iter().map(|&h| wire.cross(h)).sum();
        CrossAz {
            bytes: Hop::ALL
                .iter()
                .map(|&h| (h.key().to_string(), wire.cross(h)))
                .collect(),
            total_bytes: total,
            gb_per_hour: round6(per_hour(total)),
            billed_gb_per_hour: round6(per_hour(billed)),
            cost_per_hour_usd: round6(per_hour(billed) * per_gb),
        }
    }
}

/// Six decimals: a few hundred bytes an hour still show.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sides_that_pay_are_priced() {
        let w = Wire::default();
        w.send(Hop::LbNode, 0, 1, 4_000_000_000);
        w.send(Hop::NodeStorePrimary, 1, 0, 2_000_000_000);
        w.send(Hop::NodeDbPrimary, 1, 2, 1_000_000_000);
        w.send(Hop::NodeDbPrimary, 1, 1, 9_000_000_000);
        // Two hours: 7 GB crossed; billed 2 × 1 (store) + 1 × 2 (database).
        let b = CrossAz::of(&w, Strategy::Store, 7200.0, 0.01);
        assert_eq!(b.total_bytes, 7_000_000_000);
        assert_eq!(b.bytes["lb_node"], 4_000_000_000);
        assert_eq!(b.bytes.len(), Hop::ALL.len());
        assert_eq!(b.gb_per_hour, 3.5);
        assert_eq!(b.billed_gb_per_hour, 2.0);
        assert_eq!(b.cost_per_hour_usd, 0.02);
        let table = CrossAz::of(&w, Strategy::Durable, 7200.0, 0.01);
        assert_eq!(table.billed_gb_per_hour, 1.0, "DynamoDB's side is free");
    }
}
