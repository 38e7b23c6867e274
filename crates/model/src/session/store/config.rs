//! How a store is built: its shards' placement over AZs, its API, its
//! replication and failover timings, for `store` (Redis) and `durable`
//! (DynamoDB).

use crate::core::AzIx;
use crate::station::ServiceDistribution;
use crate::wire::size::StoreApi;

/// Where a shard's copies live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub primary: AzIx,
    pub replicas: Vec<AzIx>,
}

/// How the store is built and behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreConfig {
    /// How nodes talk to it, which sizes its messages.
    pub api: StoreApi,
    pub shards: Vec<Placement>,
    /// Mean replication delay to an asynchronous replica.
    pub lag: u64,
    pub lag_distribution: ServiceDistribution,
    /// Replicas that apply a write before it is acknowledged.
    pub sync_replicas: usize,
    pub failover_after: u64,
    pub rebuild_after: Option<u64>,
    pub ttl: u64,
}

impl StoreConfig {
    /// `store`: the scenario's placement, with shard `k`'s copies shifted
    /// `k` AZs round the region so primaries spread.
    pub fn redis(st: &crate::scenario::StoreSessions, azs: usize) -> StoreConfig {
        let shards = (0..st.shards as usize)
            .map(|k| Placement {
                primary: (st.primary_az + k) % azs,
                replicas: st.replicas.iter().map(|&r| (r + k) % azs).collect(),
            })
            .collect();
        StoreConfig {
            api: StoreApi::Resp,
            shards,
            lag: st.replication_lag.0,
            lag_distribution: st.lag_distribution,
            sync_replicas: 0,
            failover_after: st.failover_after.0,
            rebuild_after: st.replica_rebuild.map(|d| d.0),
            ttl: st.ttl.0,
        }
    }

    /// `durable`: one partition led from each copy's AZ (keys spread over
    /// the leaders by hash), the other copies its replicas; one replica
    /// acknowledges synchronously.
    pub fn dynamo(d: &crate::scenario::DurableSessions, azs: usize) -> StoreConfig {
        let copies = d.copies(azs);
        let shards = (0..copies.len())
            .map(|k| Placement {
                primary: copies[k],
                replicas: (1..copies.len())
                    .map(|j| copies[(k + j) % copies.len()])
                    .collect(),
            })
            .collect();
        StoreConfig {
            api: StoreApi::Table,
            shards,
            lag: d.replication_lag.0,
            lag_distribution: ServiceDistribution::Exponential,
            sync_replicas: 1,
            failover_after: d.failover_after.0,
            rebuild_after: Some(10 * crate::time::MIN),
            ttl: d.ttl.0,
        }
    }
}
