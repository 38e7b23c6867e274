//! The shop's view of the data tier at one moment: reads through the cache
//! (cache-aside: look in the cache, on a miss read the database and fill the
//! cache), writes to the primary with the cache entry they change dropped.
//!
//! Both drivers use this: the simulation passes its virtual time, the live
//! mode its own clock reading. With a [`Tap`], each trip to a cache node or
//! a database instance is counted on the wire, with its sizes.

use super::{Database, DbError, DbIx, Role, sql, wire};
use crate::cache::{Cache, Key};
use crate::cart::Cart;
use crate::shop::Data;
use crate::time::{SEC, SimTime};
use crate::wire::size::memcached;
use crate::wire::{Hop, Tap};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub struct DataAt<'a> {
    pub db: &'a mut Database,
    pub cache: Option<&'a mut Cache>,
    pub now: SimTime,
    /// The instance reads go to (chosen when the request was dispatched).
    pub read: Option<DbIx>,
    /// The node's end of the wire, when its trips are counted.
    pub tap: Option<Tap<'a>>,
}

/// The cache node holding `key`: its AZ, and whether it answers.
fn node(c: &Cache, key: Key) -> (crate::core::AzIx, bool) {
    let n = &c.nodes[c.node_of(key)];
    (n.az, n.alive)
}

impl DataAt<'_> {
    /// Cache-aside: the cached value, or `load` from the read instance and
    /// fill. `size` gives the query's (request, answer) bytes.
    fn cached<T: Serialize + DeserializeOwned>(
        &mut self,
        key: Key,
        load: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
        size: impl FnOnce(&T) -> (u64, u64),
    ) -> Result<T, DbError> {
        let k = key.text_len();
        if let Some(c) = self.cache.as_deref_mut() {
            let (az, alive) = node(c, key);
            let got = c.get(key, self.now);
            if let (Some(t), true) = (self.tap, alive) {
                let answer = got.map_or(memcached::MISS, |v| memcached::hit(k, v.len()));
                t.round_trip(Hop::NodeCache, az, memcached::get(k), answer);
            }
            if let Some(v) = got
                && let Ok(t) = serde_json::from_slice(v)
            {
                return Ok(t);
            }
        }
        let t = self.read_db(load, size)?;
        if let Some(c) = self.cache.as_deref_mut() {
            let v = serde_json::to_vec(&t).expect("rows serialise");
            let (az, alive) = node(c, key);
            if let (Some(tap), true) = (self.tap, alive) {
                let ask = memcached::set(k, c.ttl() / SEC, v.len());
                tap.round_trip(Hop::NodeCache, az, ask, memcached::STORED);
            }
            c.set(key, v, self.now);
        }
        Ok(t)
    }

    fn read_db<T>(
        &mut self,
        load: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
        size: impl FnOnce(&T) -> (u64, u64),
    ) -> Result<T, DbError> {
        // No instance chosen: the cache was to answer, but the entry expired
        // or was dropped since; read where a read would go now.
        let i = match self.read {
            Some(i) => i,
            None => self.db.read_target().ok_or(DbError::Unavailable)?,
        };
        let r = self.db.reader(i, self.now).and_then(|c| Ok(load(c)?));
        match (&r, self.tap) {
            (Err(_), _) => self.db.stats.failed_reads += 1,
            (Ok(v), Some(t)) => {
                let inst = &self.db.instances[i];
                let hop = if inst.role == Role::Primary {
                    Hop::NodeDbPrimary
                } else {
                    Hop::NodeDbReplica
                };
                let (ask, answer) = size(v);
                t.round_trip(hop, inst.az, ask, answer);
            }
            (Ok(_), None) => {}
        }
        r
    }

    /// A commit's trip to the primary (`extra`: the trips before it in the
    /// same transaction), replication counted by the database.
    fn commit(
        &mut self,
        stmts: Vec<sql::Stmt>,
        orders: u64,
        extra: (u64, u64),
    ) -> Result<(), DbError> {
        let sizes = self.tap.map(|_| wire::commit(&stmts));
        let at = self.db.primary().map(|p| self.db.instances[p].az);
        self.db
            .commit_on(self.now, stmts, orders, self.tap.map(|t| t.wire))?;
        if let (Some(t), Some((ask, answer)), Some(az)) = (self.tap, sizes, at) {
            t.round_trip(Hop::NodeDbPrimary, az, ask + extra.0, answer + extra.1);
        }
        Ok(())
    }
}

impl Data for DataAt<'_> {
    fn featured(&mut self) -> Result<Vec<sql::Product>, DbError> {
        self.cached(Key::Featured, sql::featured, |rows| wire::featured(rows))
    }

    fn product(&mut self, id: u32) -> Result<Option<sql::Product>, DbError> {
        let size = move |p: &Option<sql::Product>| wire::product(id, p.as_ref());
        self.cached(Key::Product(id), |c| sql::product(c, id), size)
    }

    fn account(&mut self, user: u32) -> Result<Option<sql::Account>, DbError> {
        let size = move |a: &Option<sql::Account>| wire::account(user, a.as_ref());
        self.cached(Key::Account(user), |c| sql::account(c, user), size)
    }

    fn orders(&mut self, user: u32) -> Result<Vec<i64>, DbError> {
        // Not cached: order history must show a fresh order at once.
        let size = move |ids: &Vec<i64>| wire::order_ids(user, ids);
        self.read_db(|c| sql::order_ids(c, user), size)
    }

    fn place_order(&mut self, user: u32, cart: &Cart) -> Result<i64, DbError> {
        let (id, stmts) = match self.db.writer() {
            Ok(w) => sql::order(w, user, cart, self.now)?,
            Err(e) => {
                self.db.stats.failed_writes += 1;
                return Err(e);
            }
        };
        self.commit(stmts, 1, wire::next_order_id(id))?;
        Ok(id)
    }

    fn change_address(&mut self, user: u32, line: &str) -> Result<(), DbError> {
        self.commit(sql::address(user, line), 0, (0, 0))?;
        if let Some(c) = self.cache.as_deref_mut() {
            let key = Key::Account(user);
            let (az, alive) = node(c, key);
            let held = c.invalidate(key);
            if let (Some(t), true) = (self.tap, alive) {
                let k = key.text_len();
                let answer = if held {
                    memcached::DELETED
                } else {
                    memcached::NOT_FOUND
                };
                t.round_trip(Hop::NodeCache, az, memcached::delete(k), answer);
            }
        }
        Ok(())
    }
}
