//! The SQL tier: an RDS-like primary, a synchronous Multi-AZ standby and
//! asynchronous read replicas, each a real SQLite database.
//!
//! Commits go to the primary and, before they are acknowledged, to the
//! standby. Every commit is kept in a change log; each replica applies it when
//! its drawn lag has passed (lazily, the next time anyone touches the replica,
//! like the session store's stream). Failover promotes the standby, which has
//! every acknowledged commit; without one it promotes the most advanced live
//! replica, and the commits it never received are lost, counted.
//!
//! SQL here is the truth of the data; how long queries take in simulated time
//! is the world's business (each instance is a [`Station`]).
//!
//! Here: the tier, its instances and commits; `fault` the losses, the
//! failover and the standby's replacement.

pub mod access;
mod fault;
pub mod popularity;
pub mod sql;
pub mod wire;

use crate::core::AzIx;
use crate::core::ShopperId;
use crate::rng::{Rng, Streams};
use crate::scenario::ReadFrom;
use crate::station::Station;
use crate::station::draw_service;
use crate::time::SimTime;
use crate::wire::{Hop, Wire};
use hdrhistogram::Histogram;
use popularity::Popularity;
use rusqlite::Connection;
use sql::Stmt;
use std::collections::VecDeque;
use std::path::Path;

pub use fault::{Promotion, Wake};

/// How long a replica keeps one drawn lag.
pub const LAG_PERIOD: u64 = crate::time::SEC;

/// Why a page's query failed: its instance did not answer or none takes it.
pub const DB_UNAVAILABLE: &str = "db_unavailable";
/// Why a page's query was refused: the instance held `max_connections`.
pub const DB_TOO_MANY_CONNECTIONS: &str = "db_too_many_connections";
/// Why a page failed under `[fleet.calls]`: its last attempt outlasted the
/// call's timeout.
pub const DB_TIMEOUT: &str = "db_timeout";
/// Why a page failed under `[fleet.calls]`: the node's breaker for the
/// database was open, so it did not call.
pub const DB_CIRCUIT_OPEN: &str = "db_circuit_open";

/// Index of an instance in [`Database::instances`].
pub type DbIx = usize;

/// Where a page's query goes ([`Database::visit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visit {
    /// Nowhere: no query, or the cache answered.
    No,
    To(DbIx),
    /// The page needs the database and no instance takes it.
    Nowhere,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Primary,
    Standby,
    Replica,
    /// A former primary, replaced by a promotion.
    Retired,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Standby => "standby",
            Role::Replica => "replica",
            Role::Retired => "retired",
        }
    }
}

pub struct Instance {
    /// Named at creation (`primary`, `standby`, `replica-1`, `standby-2` …).
    pub name: String,
    pub role: Role,
    pub az: AzIx,
    pub alive: bool,
    conn: Connection,
    /// Log entries applied.
    applied: usize,
    /// When each log entry after `applied` reaches this copy.
    due: VecDeque<SimTime>,
    /// The replica's current lag and when it is drawn again.
    lag: (u64, SimTime),
    /// Queries by shopper and request number: a shopper whose node died may
    /// have moved on while its query still waits here.
    pub station: Station<(ShopperId, u32)>,
    service: Rng,
    pub queries: u64,
    pub commits: u64,
    /// Worker time spent on queries, and time queries waited for a worker.
    pub busy_ns: u64,
    pub waited_ns: u64,
}

/// A committed change, as shipped to the copies.
struct Change {
    at: SimTime,
    stmts: Vec<Stmt>,
    orders: u64,
}

/// Whether the tier takes writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbState {
    Up,
    /// The primary is lost; a promotion is due at `until`.
    FailingOver {
        until: SimTime,
    },
    /// No primary and nothing to promote.
    Down,
}

/// Why the tier could not serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    #[error("the database instance is unreachable")]
    Unavailable,
    #[error("SQLite: {0}")]
    Sql(String),
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError::Sql(e.to_string())
    }
}

/// Counters the report shows under `database`.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DbStats {
    /// Order history without the order the shopper just placed.
    pub stale_order_reads: u64,
    /// The account page with an address older than the one the shopper set.
    pub stale_account_reads: u64,
    pub failed_writes: u64,
    pub failed_reads: u64,
    pub orders_committed: u64,
    pub orders_lost: u64,
    pub commits_lost: u64,
    pub failovers: u64,
    /// Time without a primary taking writes (the report shows seconds).
    #[serde(skip)]
    pub write_outage_ns: u64,
}

impl DbStats {
    /// A page's query failed before it ran (its instance dead, or full).
    pub fn failed(&mut self, kind: crate::core::Kind) {
        if kind.writes() {
            self.failed_writes += 1;
        } else {
            self.failed_reads += 1;
        }
    }
}

pub struct Database {
    pub cfg: crate::scenario::Database,
    pub instances: Vec<Instance>,
    log: Vec<Change>,
    primary: Option<DbIx>,
    pub state: DbState,
    /// Bumped on each failover and standby loss, so stale wake-ups are ignored.
    pub epoch: u32,
    down_since: Option<SimTime>,
    rr: usize,
    lag: Rng,
    streams: Streams,
    /// Replica lag of each applied change, in microseconds.
    pub lag_us: Histogram<u64>,
    pub stats: DbStats,
    /// Which product a product page shows.
    pub popularity: Popularity,
}

impl Database {
    /// Creates every instance with the seed data; `catalog` products, Zipf
    /// exponent `popularity` for product pages.
    pub fn new(
        cfg: &crate::scenario::Database,
        catalog: u32,
        popularity: f64,
        streams: &Streams,
    ) -> Result<Database, DbError> {
        let primary = Connection::open_in_memory()?;
        sql::create(&primary, cfg.users, catalog, &mut streams.stream("db_seed"))?;
        let mut db = Database {
            cfg: cfg.clone(),
            instances: Vec::new(),
            log: Vec::new(),
            primary: Some(0),
            state: DbState::Up,
            epoch: 0,
            down_since: None,
            rr: 0,
            lag: streams.stream("db_lag"),
            streams: *streams,
            // Bounded, so saturating_record clamps rather than drops: up to an hour.
            lag_us: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
            stats: DbStats::default(),
            popularity: Popularity::new(catalog, popularity),
        };
        db.push("primary".into(), Role::Primary, cfg.primary_az, primary);
        if let Some(az) = cfg.standby_az {
            db.copy("standby".into(), Role::Standby, az)?;
        }
        for (i, &az) in cfg.replicas.iter().enumerate() {
            db.copy(format!("replica-{}", i + 1), Role::Replica, az)?;
        }
        Ok(db)
    }

    fn push(&mut self, name: String, role: Role, az: AzIx, conn: Connection) {
        let i = self.instances.len() as u64;
        self.instances.push(Instance {
            name,
            role,
            az,
            alive: true,
            conn,
            applied: self.log.len(),
            due: VecDeque::new(),
            lag: (0, 0),
            station: Station::default(),
            service: self.streams.indexed("db_service", i),
            queries: 0,
            commits: 0,
            busy_ns: 0,
            waited_ns: 0,
        });
    }

    /// A new instance holding a copy of the primary's data (SQLite's backup API).
    fn copy(&mut self, name: String, role: Role, az: AzIx) -> Result<DbIx, DbError> {
        let p = self.primary.ok_or(DbError::Unavailable)?;
        let mut conn = Connection::open_in_memory()?;
        rusqlite::backup::Backup::new(&self.instances[p].conn, &mut conn)?.run_to_completion(
            1 << 16,
            std::time::Duration::ZERO,
            None,
        )?;
        self.push(name, role, az, conn);
        Ok(self.instances.len() - 1)
    }

    pub fn primary(&self) -> Option<DbIx> {
        self.primary
    }

    pub fn standby(&self) -> Option<DbIx> {
        self.instances.iter().position(|i| i.role == Role::Standby)
    }

    /// Whether instance `i` answers a query from a node, `reached` being
    /// whether packets cross between their AZs. One that does not (powered
    /// off, or across a partition) sends nothing back, so the driver's
    /// connection attempt fails after `connect_timeout`, in both drivers.
    pub fn answers(&self, i: DbIx, reached: bool) -> bool {
        reached && self.instances[i].alive
    }

    /// Where page `kind`'s query goes, decided when a node starts the page
    /// (both drivers): nowhere for a page without a query (`query_time` 0:
    /// `view_cart`) or one the cache answers (`cached`, asked only then:
    /// the driver looks and charges its trips), else the instance
    /// `target_for` picks now.
    pub fn visit(&mut self, kind: crate::core::Kind, cached: impl FnOnce() -> bool) -> Visit {
        if self.cfg.query_time.get(kind).0 == 0 || cached() {
            return Visit::No;
        }
        self.target_for(kind).map_or(Visit::Nowhere, Visit::To)
    }

    /// The instance a page of `kind` goes to now: the primary for a page
    /// that writes, else where reads go. Both drivers ask here.
    pub fn target_for(&mut self, kind: crate::core::Kind) -> Option<DbIx> {
        if kind.writes() {
            self.primary()
        } else {
            self.read_target()
        }
    }

    /// The instance a read goes to now.
    pub fn read_target(&mut self) -> Option<DbIx> {
        if self.cfg.read_from == ReadFrom::Replicas {
            // On every read: count and pick without collecting.
            let live = |x: &&Instance| x.role == Role::Replica && x.alive;
            let n = self.instances.iter().filter(live).count();
            if n > 0 {
                self.rr = self.rr.wrapping_add(1);
                let k = self.rr % n;
                return self
                    .instances
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| live(x))
                    .nth(k)
                    .map(|(i, _)| i);
            }
        }
        self.primary
    }

    /// Instance `i` starts a query with mean `mean_ns` after it waited
    /// `waited` for a worker; returns how long the query takes.
    pub fn service(&mut self, i: DbIx, mean_ns: u64, waited: u64) -> u64 {
        let inst = &mut self.instances[i];
        let t = draw_service(
            &mut inst.service,
            mean_ns,
            crate::station::ServiceDistribution::Exponential,
        );
        inst.busy_ns += t;
        inst.waited_ns += waited;
        t
    }

    /// Applies every change that has reached instance `i` by `now`.
    fn catch_up(&mut self, i: DbIx, now: SimTime) -> Result<(), DbError> {
        let inst = &mut self.instances[i];
        while inst.due.front().is_some_and(|&t| t <= now) {
            let t = inst.due.pop_front().expect("front");
            let c = &self.log[inst.applied];
            sql::apply(&inst.conn, &c.stmts)?;
            inst.applied += 1;
            self.lag_us.saturating_record((t - c.at) / 1_000);
        }
        Ok(())
    }

    /// A live instance's connection for a read at `now`, caught up to `now`.
    pub fn reader(&mut self, i: DbIx, now: SimTime) -> Result<&Connection, DbError> {
        if !self
            .instances
            .get(i)
            .is_some_and(|x| x.alive && x.role != Role::Retired)
        {
            return Err(DbError::Unavailable);
        }
        self.catch_up(i, now)?;
        Ok(&self.instances[i].conn)
    }

    /// The primary's connection, if it takes writes now.
    pub fn writer(&self) -> Result<&Connection, DbError> {
        match (self.state, self.primary) {
            (DbState::Up, Some(p)) if self.instances[p].alive => Ok(&self.instances[p].conn),
            _ => Err(DbError::Unavailable),
        }
    }

    /// Commits `stmts` (holding `orders` new orders) on the primary and the
    /// standby, and ships them to the replicas.
    pub fn commit(&mut self, now: SimTime, stmts: Vec<Stmt>, orders: u64) -> Result<(), DbError> {
        self.commit_on(now, stmts, orders, None)
    }

    /// [`Database::commit`], with what replication ships each live copy
    /// counted on `wire`.
    pub fn commit_on(
        &mut self,
        now: SimTime,
        stmts: Vec<Stmt>,
        orders: u64,
        wire: Option<&Wire>,
    ) -> Result<(), DbError> {
        let p = match self.writer() {
            Ok(_) => self.primary.expect("writer"),
            Err(e) => {
                self.stats.failed_writes += 1;
                return Err(e);
            }
        };
        sql::apply(&self.instances[p].conn, &stmts)?;
        self.instances[p].commits += 1;
        self.instances[p].applied += 1;
        self.stats.orders_committed += orders;
        let mean = self.cfg.replica_lag.0;
        let dist = self.cfg.replica_lag_distribution;
        for i in 0..self.instances.len() {
            let inst = &mut self.instances[i];
            match inst.role {
                // Synchronous: applied before the commit is acknowledged. A
                // dead standby catches up when it returns.
                Role::Standby if inst.alive && inst.due.is_empty() => {
                    sql::apply(&inst.conn, &stmts)?;
                    inst.applied += 1;
                }
                Role::Standby => inst.due.push_back(now),
                Role::Replica => {
                    // A replica's lag drifts: drawn afresh each second rather
                    // than per change, since changes apply in commit order and
                    // independent draws would make each wait for the slowest
                    // before it.
                    if now >= inst.lag.1 {
                        inst.lag = (draw_service(&mut self.lag, mean, dist), now + LAG_PERIOD);
                    }
                    let t = now + inst.lag.0;
                    let t = t.max(inst.due.back().copied().unwrap_or(0));
                    inst.due.push_back(t);
                }
                Role::Primary | Role::Retired => {}
            }
        }
        if let Some(w) = wire {
            self.ship(p, &stmts, w);
        }
        self.log.push(Change {
            at: now,
            stmts,
            orders,
        });
        Ok(())
    }

    /// Counts one commit's statements going from primary `p` to each live
    /// standby and replica. (A copy that was down receives them when it
    /// returns; that catch-up is not counted.)
    fn ship(&self, p: DbIx, stmts: &[Stmt], w: &Wire) {
        let bytes = wire::shipped(stmts);
        let from = self.instances[p].az;
        for inst in self.instances.iter().filter(|i| i.alive) {
            let hop = match inst.role {
                Role::Standby => Hop::DbStandby,
                Role::Replica => Hop::DbReplicas,
                Role::Primary | Role::Retired => continue,
            };
            w.send(hop, from, inst.az, bytes);
        }
    }

    /// Ends the run at `now`: copies catch up on what has reached them, and an
    /// outage still open is counted to the end.
    pub fn finish(&mut self, now: SimTime) {
        for i in 0..self.instances.len() {
            if self.instances[i].alive {
                let _ = self.catch_up(i, now);
            }
        }
        if let Some(t) = self.down_since.take() {
            self.stats.write_outage_ns += now - t;
        }
    }

    /// Orders held by the current primary (or by no one).
    pub fn orders_in_primary(&self) -> u64 {
        self.primary
            .and_then(|p| sql::count(&self.instances[p].conn, "orders").ok())
            .unwrap_or(0)
    }

    /// Writes each instance to `dir` as a SQLite file named by its final role:
    /// `primary.db`, `standby.db`, `replica-N.db`; retired ones as `retired-N.db`.
    pub fn export(&self, dir: &Path) -> Result<Vec<String>, DbError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| DbError::Sql(format!("{}: {e}", dir.display())))?;
        let mut names = Vec::new();
        let (mut replicas, mut retired) = (0, 0);
        for inst in &self.instances {
            let file = match inst.role {
                Role::Primary => "primary.db".to_string(),
                Role::Standby => "standby.db".to_string(),
                Role::Replica => {
                    replicas += 1;
                    format!("replica-{replicas}.db")
                }
                Role::Retired => {
                    retired += 1;
                    format!("retired-{retired}.db")
                }
            };
            let path = dir.join(&file);
            let _ = std::fs::remove_file(&path);
            inst.conn.backup(rusqlite::MAIN_DB, &path, None)?;
            names.push(file);
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests;
