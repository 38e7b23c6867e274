//! Replica lag, measured on the replicas themselves. Every 50 ms each
//! running replica is asked for the commit time (on the primary) of the
//! last transaction it replayed, `pg_last_xact_replay_timestamp()`. When that
//! changed since the last look, the replica has just applied a commit, and
//! `now() - that time` is how late it applied it: one sample, as the
//! simulation records one per applied change. The WAL it holds unreplayed
//! (`pg_wal_lsn_diff(receive, replay)`) is kept as its largest value.

use super::{Server, pool::Pool};
use hdrhistogram::Histogram;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the replicas are asked.
pub const PERIOD: Duration = Duration::from_millis(50);

const ASK: &str = "SELECT coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), \
     pg_last_wal_replay_lsn()), 0)::float8, \
     coalesce(extract(epoch from now() - pg_last_xact_replay_timestamp()), 0)::float8, \
     coalesce(extract(epoch from pg_last_xact_replay_timestamp()), 0)::float8";

/// The samples so far.
pub struct Lag {
    /// Lag in microseconds, one sample per commit seen applied.
    pub us: Histogram<u64>,
    /// The most WAL a replica held unreplayed, in bytes.
    pub max_bytes: f64,
}

impl Default for Lag {
    fn default() -> Self {
        Lag {
            us: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
            max_bytes: 0.0,
        }
    }
}

/// Samples the servers named `replica-*` until the runtime stops.
pub async fn sample(servers: Arc<Mutex<Vec<Server>>>, lag: Arc<Mutex<Lag>>) {
    let mut pools: Vec<(u16, Pool, f64)> = Vec::new();
    let mut tick = tokio::time::interval(PERIOD);
    loop {
        tick.tick().await;
        let ports: Vec<u16> = servers
            .lock()
            .expect("servers lock")
            .iter()
            .filter(|s| s.name.starts_with("replica") && s.child.is_some())
            .map(|s| s.port)
            .collect();
        for port in ports {
            if !pools.iter().any(|(p, _, _)| *p == port) {
                let pool = Pool::local(port, super::SUPERUSER, Duration::from_secs(1));
                pools.push((port, pool, 0.0));
            }
            let (_, pool, seen) = pools
                .iter_mut()
                .find(|(p, _, _)| *p == port)
                .expect("added");
            let Ok(rows) = pool.query(ASK, &[]).await else {
                continue;
            };
            let Some(r) = rows.first() else { continue };
            let (bytes, age, at): (f64, f64, f64) = (r.get(0), r.get(1), r.get(2));
            let mut l = lag.lock().expect("lag lock");
            l.max_bytes = l.max_bytes.max(bytes);
            // The first look only learns where the replica stands.
            if at != *seen && *seen != 0.0 {
                l.us.saturating_record((age * 1e6).max(1.0) as u64);
            }
            *seen = at;
        }
    }
}
