//! `stratus serve --db postgres`: the scenario's `[database]` on real
//! PostgreSQL servers. Stratus starts a primary, a synchronous standby
//! (`synchronous_standby_names`, so a commit waits for it, as RDS Multi-AZ
//! does) and the asynchronous read replicas (`pg_basebackup -R`), each on
//! its own loopback port and data directory, each in the AZ the scenario
//! names. The control plane decides (which instances an AZ's loss takes,
//! when the standby is promoted, where a new standby goes: the model's
//! `Database`, exactly as in the simulation); [`Pg::reconcile`] executes its
//! decisions on the servers: SIGKILL for an instance that died,
//! `pg_promote()` for the new primary, replicas re-pointed at it.
//!
//! - [`proc`]: binaries, the server user, starting and killing processes
//! - [`cluster`]: creating the instances and executing the decisions
//! - [`pool`]: a few tokio-postgres clients per instance
//! - [`data`]: the model's `Data` trait answered by real queries
//! - [`lag`]: replica lag, measured on the replicas

pub mod cluster;
pub mod data;
pub mod lag;
pub mod pool;
pub mod proc;

use pool::Pool;
use std::path::PathBuf;
use std::process::Child;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use stratus_model::db::DbIx;

/// The database superuser `initdb` creates (trust authentication, loopback only).
pub const SUPERUSER: &str = "stratus";

/// Why the PostgreSQL cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("{0}")]
    Setup(String),
    #[error("--db-url {0}: {1}")]
    Url(String, String),
}

/// Where the shop's SQL lives.
#[derive(Clone, Debug, Default)]
pub enum Engine {
    /// The model's own SQLite copies, in process.
    #[default]
    InProcess,
    /// A PostgreSQL cluster Stratus starts, its data under `dir` (kept) or
    /// a temporary folder (removed at the end).
    Postgres { dir: Option<PathBuf> },
    /// An existing primary (`postgres://…`): no failover control.
    Url(String),
}

/// What the queries did, counted by the driver.
#[derive(Default)]
pub struct Stats {
    pub orders: AtomicU64,
    pub failed_reads: AtomicU64,
    pub failed_writes: AtomicU64,
    /// COMMITs sent whose answer never came.
    pub in_doubt: AtomicU64,
}

/// One server: its name, port, data directory and process.
pub struct Server {
    pub name: String,
    pub port: u16,
    pub dir: PathBuf,
    pub child: Option<Child>,
}

/// The running cluster (or the external primary).
pub struct Pg {
    /// By the model's instance index.
    pools: RwLock<Vec<Arc<Pool>>>,
    /// By the model's instance index; empty for `--db-url`.
    pub servers: Arc<Mutex<Vec<Server>>>,
    /// The instance the servers have as primary, and the standby the
    /// primary waits for (its name), as last executed.
    pub applied: Mutex<cluster::Applied>,
    pub stats: Arc<Stats>,
    pub lag: Arc<Mutex<lag::Lag>>,
    /// How long a node waits for an answer.
    pub timeout: Duration,
    rt: Option<tokio::runtime::Runtime>,
    setup: Option<cluster::Setup>,
    /// Removed at the end (a temporary folder), or kept (`--db-dir`).
    base: Option<PathBuf>,
}

impl Pg {
    /// The runtime the clients' connections run on: their own, so a node
    /// waiting for an answer never holds up the connection it waits on.
    pub fn rt(&self) -> &tokio::runtime::Handle {
        self.rt.as_ref().expect("runtime until drop").handle()
    }

    /// Instance `i`'s pool (the one pool of an external primary).
    pub fn pool(&self, i: DbIx) -> Option<Arc<Pool>> {
        let pools = self.pools.read().expect("pools lock");
        if self.setup.is_none() {
            return pools.first().cloned();
        }
        pools.get(i).cloned()
    }

    /// Stops every server (SIGKILL to its process group, then reaped) and
    /// removes the temporary data directory. Called on shutdown and on drop.
    pub fn stop(&self) {
        let mut servers = self.servers.lock().expect("servers lock");
        for s in servers.iter_mut() {
            if let Some(mut c) = s.child.take() {
                proc::kill(&mut c);
            }
        }
        if let Some(b) = &self.base {
            let _ = std::fs::remove_dir_all(b);
        }
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        self.stop();
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Pg {
    /// The report's `database` section for this engine: the model's
    /// (instances, roles, failovers, write outage) with what the servers
    /// measured in place of what the model draws: orders committed, failed
    /// queries, replica lag, the orders the primary holds (`count(*)`).
    pub async fn report(
        &self,
        mut r: stratus_model::report::data::DatabaseReport,
    ) -> stratus_model::report::data::DatabaseReport {
        use std::sync::atomic::Ordering::Relaxed;
        let s = &self.stats;
        r.stats.orders_committed = s.orders.load(Relaxed);
        // The model counted the queries that reached no server (no instance
        // answered: powered off, or across a partition); the servers count
        // those that failed on them.
        r.stats.failed_reads += s.failed_reads.load(Relaxed);
        r.stats.failed_writes += s.failed_writes.load(Relaxed);
        {
            let l = self.lag.lock().expect("lag lock");
            let ms = |us: u64| (us as f64 / 1000.0 * 1000.0).round() / 1000.0;
            r.replica_lag_ms = stratus_model::report::data::LagMs {
                p50: ms(l.us.value_at_quantile(0.5)),
                p99: ms(l.us.value_at_quantile(0.99)),
                max: ms(l.us.max()),
                applied: l.us.len(),
            };
        }
        for (i, inst) in r.instances.iter_mut().enumerate() {
            if let Some(p) = self.pool(i) {
                inst.queries = p.queries.load(Relaxed);
                inst.commits = p.commits.load(Relaxed);
            }
        }
        let primary = self.applied.lock().expect("applied").primary;
        if let Some(pool) = primary.and_then(|p| self.pool(p)) {
            let n = self
                .rt()
                .spawn(async move { pool.query("SELECT count(*) FROM orders", &[]).await })
                .await;
            if let Ok(Ok(rows)) = n {
                r.orders_in_primary = rows.first().map_or(0, |x| x.get::<_, i64>(0) as u64);
            }
        }
        r
    }

    /// COMMITs whose answer never came (the shopper was told they failed;
    /// the promoted primary may hold them).
    pub fn in_doubt(&self) -> u64 {
        self.stats
            .in_doubt
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Starts `engine` for the scenario's database `db` (off the async
/// threads: a cluster takes seconds, and its setup waits on its own runtime).
pub async fn start_for(
    engine: Engine,
    db: Option<stratus_model::db::Database>,
    sc: &stratus_model::scenario::Scenario,
) -> Result<(Option<stratus_model::db::Database>, Option<Arc<Pg>>), crate::ServeError> {
    if matches!(engine, Engine::InProcess) {
        return Ok((db, None));
    }
    let Some(db) = db else {
        return Err(crate::ServeError::PgNeedsDatabase);
    };
    let (catalog, seed) = (sc.workload.catalog, sc.seed);
    let (r, db) = tokio::task::spawn_blocking(move || {
        let r = Pg::start(&engine, &db, catalog, seed);
        (r, db)
    })
    .await
    .map_err(|e| crate::ServeError::Postgres(PgError::Setup(e.to_string())))?;
    let pg = r.map_err(crate::ServeError::Postgres)?;
    Ok((Some(db), Some(Arc::new(pg))))
}

/// A node's data for one request on PostgreSQL: reads where the model
/// sends them, writes to the model's primary while it takes writes.
pub fn with_pg<R>(
    shop: &crate::node::Shop,
    pg: &Pg,
    read: Option<stratus_model::db::DbIx>,
    write: Option<stratus_model::db::DbIx>,
    f: impl FnOnce(Option<&mut dyn stratus_model::shop::Data>) -> R,
) -> R {
    let mut d = data::PgData {
        pg,
        read,
        write,
        now_ns: shop.clock.now(),
    };
    f(Some(&mut d))
}
