//! The shop's view of the data tier at one moment: reads through the cache
//! (cache-aside: look in the cache, on a miss read the database and fill the
//! cache), writes to the primary with the cache entry they change dropped.
//!
//! Both drivers use this: the simulation passes its virtual time, the live
//! mode its own clock reading.

use super::{Database, DbError, DbIx, sql};
use crate::cache::{Cache, Key};
use crate::cart::Cart;
use crate::shop::Data;
use crate::time::SimTime;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub struct DataAt<'a> {
    pub db: &'a mut Database,
    pub cache: Option<&'a mut Cache>,
    pub now: SimTime,
    /// The instance reads go to (chosen when the request was dispatched).
    pub read: Option<DbIx>,
}

impl DataAt<'_> {
    /// Cache-aside: the cached value, or `load` from the read instance and fill.
    fn cached<T: Serialize + DeserializeOwned>(
        &mut self,
        key: Key,
        load: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        if let Some(c) = self.cache.as_deref_mut()
            && let Some(v) = c.get(key, self.now)
            && let Ok(t) = serde_json::from_slice(v)
        {
            return Ok(t);
        }
        let t = self.read_db(load)?;
        if let Some(c) = self.cache.as_deref_mut() {
            c.set(
                key,
                serde_json::to_vec(&t).expect("rows serialise"),
                self.now,
            );
        }
        Ok(t)
    }

    fn read_db<T>(
        &mut self,
        load: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        // No instance chosen: the cache was to answer, but the entry expired
        // or was dropped since; read where a read would go now.
        let i = match self.read {
            Some(i) => i,
            None => self.db.read_target().ok_or(DbError::Unavailable)?,
        };
        let r = self.db.reader(i, self.now).and_then(|c| Ok(load(c)?));
        if r.is_err() {
            self.db.stats.failed_reads += 1;
        }
        r
    }
}

impl Data for DataAt<'_> {
    fn featured(&mut self) -> Result<Vec<sql::Product>, DbError> {
        self.cached(Key::Featured, sql::featured)
    }

    fn product(&mut self, id: u32) -> Result<Option<sql::Product>, DbError> {
        self.cached(Key::Product(id), |c| sql::product(c, id))
    }

    fn account(&mut self, user: u32) -> Result<Option<sql::Account>, DbError> {
        self.cached(Key::Account(user), |c| sql::account(c, user))
    }

    fn orders(&mut self, user: u32) -> Result<Vec<i64>, DbError> {
        // Not cached: order history must show a fresh order at once.
        self.read_db(|c| sql::order_ids(c, user))
    }

    fn place_order(&mut self, user: u32, cart: &Cart) -> Result<i64, DbError> {
        let (id, stmts) = match self.db.writer() {
            Ok(w) => sql::order(w, user, cart, self.now)?,
            Err(e) => {
                self.db.stats.failed_writes += 1;
                return Err(e);
            }
        };
        self.db.commit(self.now, stmts, 1)?;
        Ok(id)
    }

    fn change_address(&mut self, user: u32, line: &str) -> Result<(), DbError> {
        self.db.commit(self.now, sql::address(user, line), 0)?;
        if let Some(c) = self.cache.as_deref_mut() {
            c.invalidate(Key::Account(user));
        }
        Ok(())
    }
}
