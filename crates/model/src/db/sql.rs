//! The shop's SQL: the schema, seed data, the statements a commit ships to
//! standbys and replicas, and the reads the pages make.
//!
//! A write is built as a list of statements with every value explicit (the
//! order id included), then applied to the primary; replication applies the
//! very same list to the others. So the copies hold what the primary
//! committed, and the workload is never run twice.

use crate::cart::{COLOURS, Cart, SIZES, price_of, title_of};
use crate::rng::Rng;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// The schema, in SQLite's dialect (the live shop's PostgreSQL path reads
/// the same text, with `INTEGER` widened to `BIGINT`).
pub const SCHEMA: &str = "
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE
);
CREATE TABLE addresses (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    line TEXT NOT NULL,
    city TEXT NOT NULL
);
CREATE INDEX addresses_user ON addresses(user_id);
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    price_cents INTEGER NOT NULL
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    total_cents INTEGER NOT NULL,
    placed_ns INTEGER NOT NULL
);
CREATE INDEX orders_user ON orders(user_id);
CREATE TABLE order_items (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    size TEXT NOT NULL,
    colour TEXT NOT NULL,
    qty INTEGER NOT NULL,
    price_cents INTEGER NOT NULL,
    PRIMARY KEY (order_id, product_id, size, colour)
);
";

const FIRST: [&str; 12] = [
    "Ada", "Bruno", "Chioma", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ines", "Jonas", "Keiko",
    "Luis",
];
const LAST: [&str; 10] = [
    "Okafor", "Silva", "Nakamura", "Novak", "Haddad", "Larsen", "Moreau", "Kowalski", "Reyes",
    "Byrne",
];
const CITIES: [&str; 6] = ["Seattle", "Dublin", "Lagos", "Osaka", "Lyon", "Austin"];
/// Products on the home page.
pub const FEATURED: i64 = 8;

/// The reads the pages make, named so the wire's sizes read the same text.
pub const NEXT_ORDER_ID: &str = "SELECT coalesce(max(id), 0) + 1 FROM orders";
pub const PRODUCT: &str = "SELECT id, title, price_cents FROM products WHERE id = ?1";
pub const FEATURED_PRODUCTS: &str =
    "SELECT id, title, price_cents FROM products WHERE id < ?1 ORDER BY id";
pub const USER: &str = "SELECT name, email FROM users WHERE id = ?1";
pub const ADDRESSES: &str = "SELECT line FROM addresses WHERE user_id = ?1 ORDER BY id";
pub const ORDER_IDS: &str = "SELECT id FROM orders WHERE user_id = ?1 ORDER BY id DESC LIMIT 20";

/// One statement of a committed change, with its values.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub sql: &'static str,
    pub params: Vec<Value>,
}

/// A product row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: i64,
    pub title: String,
    pub price_cents: i64,
}

/// A user and their addresses: the account page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub name: String,
    pub email: String,
    pub addresses: Vec<String>,
}

/// Creates the schema and the seed data: `users` users with one address each
/// and a `catalog`-product catalogue, drawn from `rng`.
pub fn create(conn: &Connection, users: u32, catalog: u32, rng: &mut Rng) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)?;
    let tx = conn.unchecked_transaction()?;
    {
        let mut u = tx.prepare("INSERT INTO users (id, name, email) VALUES (?1, ?2, ?3)")?;
        let mut a =
            tx.prepare("INSERT INTO addresses (user_id, line, city) VALUES (?1, ?2, ?3)")?;
        for id in 1..=i64::from(users) {
            let first = FIRST[rng.below(FIRST.len() as u64) as usize];
            let last = LAST[rng.below(LAST.len() as u64) as usize];
            u.execute(params![
                id,
                format!("{first} {last}"),
                format!(
                    "{}.{}{id}@example.com",
                    first.to_lowercase(),
                    last.to_lowercase()
                )
            ])?;
            let line = format!(
                "{} {} Street",
                1 + rng.below(400),
                LAST[id as usize % LAST.len()]
            );
            a.execute(params![
                id,
                line,
                CITIES[rng.below(CITIES.len() as u64) as usize]
            ])?;
        }
        let mut p =
            tx.prepare("INSERT INTO products (id, title, price_cents) VALUES (?1, ?2, ?3)")?;
        for id in 0..catalog {
            p.execute(params![id, title_of(id), price_of(id)])?;
        }
    }
    tx.commit()
}

/// Applies a committed change, all or nothing.
pub fn apply(conn: &Connection, stmts: &[Stmt]) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    for s in stmts {
        tx.prepare_cached(s.sql)?
            .execute(rusqlite::params_from_iter(s.params.iter()))?;
    }
    tx.commit()
}

/// The statements that record `cart` as a new order of `user`, with the id the
/// primary gives it next.
pub fn order(
    conn: &Connection,
    user: u32,
    cart: &Cart,
    at_ns: u64,
) -> rusqlite::Result<(i64, Vec<Stmt>)> {
    let id: i64 = conn
        .prepare_cached(NEXT_ORDER_ID)?
        .query_row([], |r| r.get(0))?;
    Ok((id, order_stmts(id, user, cart, at_ns)))
}

/// The statements that record `cart` as order `id` of `user`: the engine
/// gives the id ([`NEXT_ORDER_ID`]), this writes the rows.
pub fn order_stmts(id: i64, user: u32, cart: &Cart, at_ns: u64) -> Vec<Stmt> {
    let total: i64 = cart
        .items
        .iter()
        .map(|i| i64::from(i.price_cents) * i64::from(i.qty))
        .sum();
    let mut v = vec![Stmt {
        sql: "INSERT INTO orders (id, user_id, total_cents, placed_ns) VALUES (?1, ?2, ?3, ?4)",
        params: vec![
            Value::Integer(id),
            Value::Integer(user.into()),
            Value::Integer(total),
            Value::Integer(at_ns as i64),
        ],
    }];
    for i in &cart.items {
        v.push(Stmt {
            sql: "INSERT INTO order_items (order_id, product_id, size, colour, qty, price_cents) \
                  VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params: vec![
                Value::Integer(id),
                Value::Integer(i.product.into()),
                Value::Text(SIZES[i.size as usize % SIZES.len()].into()),
                Value::Text(COLOURS[i.colour as usize % COLOURS.len()].into()),
                Value::Integer(i.qty.into()),
                Value::Integer(i.price_cents.into()),
            ],
        });
    }
    v
}

/// The statement that changes `user`'s address.
pub fn address(user: u32, line: &str) -> Vec<Stmt> {
    vec![Stmt {
        sql: "UPDATE addresses SET line = ?1 WHERE user_id = ?2",
        params: vec![Value::Text(line.into()), Value::Integer(user.into())],
    }]
}

pub fn product(conn: &Connection, id: u32) -> rusqlite::Result<Option<Product>> {
    conn.prepare_cached(PRODUCT)?
        .query_row([id], |r| {
            Ok(Product {
                id: r.get(0)?,
                title: r.get(1)?,
                price_cents: r.get(2)?,
            })
        })
        .optional()
}

/// The home page's featured products.
pub fn featured(conn: &Connection) -> rusqlite::Result<Vec<Product>> {
    conn.prepare_cached(FEATURED_PRODUCTS)?
        .query_map([FEATURED], |r| {
            Ok(Product {
                id: r.get(0)?,
                title: r.get(1)?,
                price_cents: r.get(2)?,
            })
        })?
        .collect()
}

pub fn account(conn: &Connection, user: u32) -> rusqlite::Result<Option<Account>> {
    let Some((name, email)) = conn
        .prepare_cached(USER)?
        .query_row([user], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
    else {
        return Ok(None);
    };
    let addresses = conn
        .prepare_cached(ADDRESSES)?
        .query_map([user], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(Account {
        name,
        email,
        addresses,
    }))
}

/// The user's most recent order ids, newest first (the order-history page).
pub fn order_ids(conn: &Connection, user: u32) -> rusqlite::Result<Vec<i64>> {
    conn.prepare_cached(ORDER_IDS)?
        .query_map([user], |r| r.get(0))?
        .collect()
}

/// Rows in one of the shop's tables.
pub fn count(conn: &Connection, table: &str) -> rusqlite::Result<u64> {
    let sql = match table {
        "orders" => "SELECT count(*) FROM orders",
        "order_items" => "SELECT count(*) FROM order_items",
        "users" => "SELECT count(*) FROM users",
        _ => "SELECT count(*) FROM products",
    };
    conn.query_row(sql, [], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cart::Item;
    use crate::rng::Streams;

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        create(&c, 20, 50, &mut Streams::new(1).stream("db")).unwrap();
        c
    }

    #[test]
    fn an_order_replays_on_a_copy_with_the_same_rows() {
        let (p, r) = (db(), db());
        let mut cart = Cart::default();
        cart.add(Item {
            product: 3,
            size: 1,
            colour: 2,
            qty: 2,
            price_cents: price_of(3),
        });
        let (id, stmts) = order(&p, 7, &cart, 99).unwrap();
        apply(&p, &stmts).unwrap();
        assert_eq!(
            order_ids(&r, 7).unwrap(),
            Vec::<i64>::new(),
            "not yet replicated"
        );
        apply(&r, &stmts).unwrap();
        assert_eq!(order_ids(&r, 7).unwrap(), vec![id]);
        assert_eq!(count(&r, "order_items").unwrap(), 1);
        let (next, _) = order(&p, 7, &cart, 100).unwrap();
        assert_eq!(next, id + 1);
    }

    #[test]
    fn reads_see_seed_and_updates() {
        let c = db();
        assert_eq!(featured(&c).unwrap().len(), FEATURED as usize);
        assert_eq!(
            product(&c, 4).unwrap().unwrap().price_cents,
            i64::from(price_of(4))
        );
        assert!(product(&c, 50).unwrap().is_none());
        apply(&c, &address(5, "1 New Road")).unwrap();
        assert_eq!(
            account(&c, 5).unwrap().unwrap().addresses,
            vec!["1 New Road"]
        );
    }
}
