//! The shop's data on PostgreSQL: the model's [`Data`] trait answered by
//! real queries through tokio-postgres, with the model's own SQL text
//! (`stratus_model::db::sql`, SQLite's `?1` placeholders written as `$1`).
//!
//! The shop's handler is synchronous (one model, two drivers), so each call
//! hands its query to the cluster's client runtime and waits for the answer
//! (at most the scenario's `connect_timeout`), as the in-process database's
//! lock made a node wait before.

use super::{Pg, Pool};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use stratus_model::cart::Cart;
use stratus_model::db::sql::{self, Account, Product};
use stratus_model::db::{DbError, DbIx};
use stratus_model::shop::Data;
use tokio_postgres::types::ToSql;

/// SQLite's statement text in PostgreSQL's dialect: `?N` placeholders become
/// `$N`, and `INTEGER` columns `BIGINT` (SQLite's integers are 64-bit).
pub fn dialect(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out.replace("INTEGER", "BIGINT")
}

/// A model statement's values as PostgreSQL parameters.
fn params(v: &[rusqlite::types::Value]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    use rusqlite::types::Value;
    v.iter()
        .map(|p| -> Box<dyn ToSql + Sync + Send> {
            match p {
                Value::Integer(i) => Box::new(*i),
                Value::Text(t) => Box::new(t.clone()),
                Value::Real(f) => Box::new(*f),
                Value::Null | Value::Blob(_) => Box::new(Option::<i64>::None),
            }
        })
        .collect()
}

fn refs(p: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    p.iter().map(|b| &**b as &(dyn ToSql + Sync)).collect()
}

fn sql_err(e: tokio_postgres::Error) -> DbError {
    if e.is_closed() || e.as_db_error().is_none() {
        DbError::Unavailable
    } else {
        DbError::Sql(e.to_string())
    }
}

fn product_row(r: &tokio_postgres::Row) -> Product {
    Product {
        id: r.get(0),
        title: r.get(1),
        price_cents: r.get(2),
    }
}

/// One request's view of the PostgreSQL cluster: reads at the instance the
/// model chose, writes at the model's primary (None: no primary takes
/// writes now).
pub struct PgData<'a> {
    pub pg: &'a Pg,
    pub read: Option<DbIx>,
    pub write: Option<DbIx>,
    pub now_ns: u64,
}

impl PgData<'_> {
    /// Runs `fut` on the client runtime and waits for it.
    fn block<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, DbError>> + Send + 'static,
    ) -> Result<T, DbError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.pg.rt().spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv_timeout(self.pg.timeout)
            .unwrap_or(Err(DbError::Unavailable))
    }

    fn reader(&self) -> Result<Arc<Pool>, DbError> {
        let p = self.read.and_then(|i| self.pg.pool(i));
        let p = p.ok_or(DbError::Unavailable);
        if p.is_err() {
            self.pg.stats.failed_reads.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    /// Rows of `sql` with one integer parameter, at the read instance.
    fn rows<T: Send + 'static>(
        &self,
        sql: &'static str,
        arg: i64,
        map: fn(&tokio_postgres::Row) -> T,
    ) -> Result<Vec<T>, DbError> {
        let pool = self.reader()?;
        let stats = self.pg.stats.clone();
        self.block(async move {
            let r = pool
                .query(&dialect(sql), &[&arg])
                .await
                .map(|rows| rows.iter().map(map).collect());
            if r.is_err() {
                stats.failed_reads.fetch_add(1, Ordering::Relaxed);
            }
            r
        })
    }

    /// Commits `stmts` at the primary in one transaction. With `order`,
    /// the next order id is taken under a table lock first and the
    /// statements are built for it.
    fn commit(&self, build: Build) -> Result<i64, DbError> {
        let stats = self.pg.stats.clone();
        let Some(pool) = self.write.and_then(|i| self.pg.pool(i)) else {
            stats.failed_writes.fetch_add(1, Ordering::Relaxed);
            return Err(DbError::Unavailable);
        };
        self.block(async move {
            let r = pool.transact(build, &stats).await;
            if r.is_err() {
                stats.failed_writes.fetch_add(1, Ordering::Relaxed);
            }
            r
        })
    }
}

/// What a write transaction commits.
pub enum Build {
    Order { user: u32, cart: Cart, at_ns: u64 },
    Stmts(Vec<sql::Stmt>),
}

impl Pool {
    /// One write transaction; the order id it wrote (0 for other writes).
    async fn transact(&self, build: Build, stats: &super::Stats) -> Result<i64, DbError> {
        let mut slot = self.slot().await?;
        let r = async {
            let client = slot.as_mut().ok_or(DbError::Unavailable)?;
            let tx = client.transaction().await.map_err(sql_err)?;
            let (id, stmts) = match build {
                Build::Order { user, cart, at_ns } => {
                    // Two checkouts must not take the same id: the primary
                    // numbers orders one at a time, as SQLite's lock did.
                    tx.batch_execute("LOCK TABLE orders IN SHARE ROW EXCLUSIVE MODE")
                        .await
                        .map_err(sql_err)?;
                    let row = tx
                        .query_one(&dialect(sql::NEXT_ORDER_ID), &[])
                        .await
                        .map_err(sql_err)?;
                    let id: i64 = row.get(0);
                    (id, sql::order_stmts(id, user, &cart, at_ns))
                }
                Build::Stmts(s) => (0, s),
            };
            for s in &stmts {
                let p = params(&s.params);
                tx.execute(&dialect(s.sql), &refs(&p))
                    .await
                    .map_err(sql_err)?;
            }
            // A COMMIT whose answer never came (the primary died while the
            // standby acknowledged) may or may not have happened: counted
            // apart, since the shopper was told it failed.
            tx.commit().await.map_err(|e| {
                stats.in_doubt.fetch_add(1, Ordering::Relaxed);
                sql_err(e)
            })?;
            Ok(id)
        }
        .await;
        self.queries.fetch_add(1, Ordering::Relaxed);
        match &r {
            Ok(_) => {
                self.commits.fetch_add(1, Ordering::Relaxed);
            }
            Err(DbError::Unavailable) => *slot = None,
            Err(_) => {}
        }
        r
    }
}

impl Data for PgData<'_> {
    fn featured(&mut self) -> Result<Vec<Product>, DbError> {
        self.rows(sql::FEATURED_PRODUCTS, sql::FEATURED, product_row)
    }

    fn product(&mut self, id: u32) -> Result<Option<Product>, DbError> {
        Ok(self
            .rows(sql::PRODUCT, id.into(), product_row)?
            .into_iter()
            .next())
    }

    fn account(&mut self, user: u32) -> Result<Option<Account>, DbError> {
        let who = self.rows(sql::USER, user.into(), |r| {
            (r.get::<_, String>(0), r.get::<_, String>(1))
        })?;
        let Some((name, email)) = who.into_iter().next() else {
            return Ok(None);
        };
        let addresses = self.rows(sql::ADDRESSES, user.into(), |r| r.get(0))?;
        Ok(Some(Account {
            name,
            email,
            addresses,
        }))
    }

    fn orders(&mut self, user: u32) -> Result<Vec<i64>, DbError> {
        self.rows(sql::ORDER_IDS, user.into(), |r| r.get(0))
    }

    fn place_order(&mut self, user: u32, cart: &Cart) -> Result<i64, DbError> {
        let id = self.commit(Build::Order {
            user,
            cart: cart.clone(),
            at_ns: self.now_ns,
        })?;
        self.pg.stats.orders.fetch_add(1, Ordering::Relaxed);
        Ok(id)
    }

    fn change_address(&mut self, user: u32, line: &str) -> Result<(), DbError> {
        self.commit(Build::Stmts(sql::address(user, line)))
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_sql_reads_in_postgres_dialect() {
        assert_eq!(
            dialect(sql::PRODUCT),
            "SELECT id, title, price_cents FROM products WHERE id = $1"
        );
        assert_eq!(
            dialect("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT); ?10 ?"),
            "CREATE TABLE t (id BIGINT PRIMARY KEY, x TEXT); $10 ?"
        );
    }
}
