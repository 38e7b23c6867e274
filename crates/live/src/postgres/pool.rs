//! A small connection pool per PostgreSQL instance: a few tokio-postgres
//! clients, each behind its own lock, opened on first use and dropped when
//! their connection breaks (the next use reconnects, so a restarted
//! instance is found again).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use stratus_model::db::DbError;
use tokio::sync::{Mutex, OwnedMutexGuard};
use tokio_postgres::{Client, Config, NoTls, Row, types::ToSql};

/// Clients per instance: enough for the shop's nodes to query at once
/// without opening a connection per request.
pub const CLIENTS: usize = 8;

pub struct Pool {
    pub config: Config,
    slots: Vec<Arc<Mutex<Option<Client>>>>,
    next: AtomicUsize,
    /// Statements sent (reads and write transactions) and commits made.
    pub queries: AtomicU64,
    pub commits: AtomicU64,
    connect_timeout: Duration,
}

impl Pool {
    pub fn new(config: Config, connect_timeout: Duration) -> Pool {
        Pool {
            config,
            slots: (0..CLIENTS).map(|_| Arc::new(Mutex::new(None))).collect(),
            next: AtomicUsize::new(0),
            queries: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            connect_timeout,
        }
    }

    /// A pool for the instance on loopback `port`, as `user`.
    pub fn local(port: u16, user: &str, connect_timeout: Duration) -> Pool {
        let mut c = Config::new();
        c.host("127.0.0.1")
            .port(port)
            .user(user)
            .dbname("postgres")
            .application_name("stratus")
            .connect_timeout(connect_timeout);
        Pool::new(c, connect_timeout)
    }

    /// The next client in turn, connected.
    pub async fn slot(&self) -> Result<OwnedMutexGuard<Option<Client>>, DbError> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let mut g = self.slots[i].clone().lock_owned().await;
        if g.as_ref().is_none_or(Client::is_closed) {
            let c = tokio::time::timeout(self.connect_timeout, self.config.connect(NoTls))
                .await
                .map_err(|_| DbError::Unavailable)?
                .map_err(|_| DbError::Unavailable)?;
            let (client, conn) = c;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            *g = Some(client);
        }
        Ok(g)
    }

    /// One query's rows.
    pub async fn query(
        &self,
        sql: &str,
        args: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, DbError> {
        let mut g = self.slot().await?;
        self.queries.fetch_add(1, Ordering::Relaxed);
        let r = g
            .as_ref()
            .ok_or(DbError::Unavailable)?
            .query(sql, args)
            .await;
        r.map_err(|e| {
            if e.is_closed() || e.as_db_error().is_none() {
                *g = None;
                DbError::Unavailable
            } else {
                DbError::Sql(e.to_string())
            }
        })
    }

    /// Runs `sql` (several statements, no answer wanted).
    pub async fn batch(&self, sql: &str) -> Result<(), DbError> {
        let mut g = self.slot().await?;
        let r = g
            .as_ref()
            .ok_or(DbError::Unavailable)?
            .batch_execute(sql)
            .await;
        r.map_err(|e| {
            *g = None;
            DbError::Sql(e.to_string())
        })
    }
}
