//! The data tier's messages, sized for the wire: each page's queries and
//! their answers as PostgreSQL simple queries (values written inline), and
//! a commit's statements, which replication ships to the standby and the
//! replicas as the primary ran them.

use super::sql::{self, Account, Product, Stmt};
use crate::wire::size::pg;
use rusqlite::types::Value;

const PRODUCT_COLUMNS: [&str; 3] = ["id", "title", "price_cents"];

fn product_row(p: &Product) -> usize {
    pg::int(p.id) + p.title.len() + pg::int(p.price_cents)
}

/// A query of `sql` with one integer parameter: its request's bytes.
fn query_int(sql: &str, v: i64) -> u64 {
    pg::query(pg::inline(sql, &[pg::int(v)]))
}

/// The home page's products: (request, answer) bytes.
pub fn featured(rows: &[Product]) -> (u64, u64) {
    let ask = query_int(sql::FEATURED_PRODUCTS, sql::FEATURED);
    (
        ask,
        pg::rows(&PRODUCT_COLUMNS, rows.iter().map(product_row)),
    )
}

pub fn product(id: u32, row: Option<&Product>) -> (u64, u64) {
    let ask = query_int(sql::PRODUCT, id.into());
    (
        ask,
        pg::rows(&PRODUCT_COLUMNS, row.into_iter().map(product_row)),
    )
}

/// The account page: the user, then (if found) the addresses.
pub fn account(user: u32, acc: Option<&Account>) -> (u64, u64) {
    let mut ask = query_int(sql::USER, user.into());
    let row = acc.map(|a| a.name.len() + a.email.len());
    let mut answer = pg::rows(&["name", "email"], row.into_iter());
    if let Some(a) = acc {
        ask += query_int(sql::ADDRESSES, user.into());
        answer += pg::rows(&["line"], a.addresses.iter().map(String::len));
    }
    (ask, answer)
}

pub fn order_ids(user: u32, ids: &[i64]) -> (u64, u64) {
    let ask = query_int(sql::ORDER_IDS, user.into());
    (ask, pg::rows(&["id"], ids.iter().map(|&i| pg::int(i))))
}

/// Checkout's look-up of the next order id.
pub fn next_order_id(id: i64) -> (u64, u64) {
    let ask = pg::query(sql::NEXT_ORDER_ID.len());
    (ask, pg::rows(&["?column?"], std::iter::once(pg::int(id))))
}

/// A statement's text with its values written in.
fn text_len(s: &Stmt) -> usize {
    let literals: Vec<usize> = s
        .params
        .iter()
        .map(|v| match v {
            Value::Integer(i) => pg::int(*i),
            Value::Text(t) => pg::text(t),
            _ => "NULL".len(),
        })
        .collect();
    pg::inline(s.sql, &literals)
}

/// What a statement's answer says: `INSERT 0 1` or `UPDATE 1`.
fn tag(s: &Stmt) -> usize {
    if s.sql.starts_with("INSERT") {
        "INSERT 0 1".len()
    } else {
        "UPDATE 1".len()
    }
}

/// A commit from a node: BEGIN, the statements, COMMIT, and their answers.
pub fn commit(stmts: &[Stmt]) -> (u64, u64) {
    let ask = pg::query("BEGIN".len())
        + stmts.iter().map(|s| pg::query(text_len(s))).sum::<u64>()
        + pg::query("COMMIT".len());
    let answer = pg::done("BEGIN".len())
        + stmts.iter().map(|s| pg::done(tag(s))).sum::<u64>()
        + pg::done("COMMIT".len());
    (ask, answer)
}

/// What replication ships a copy for one commit: its statements.
pub fn shipped(stmts: &[Stmt]) -> u64 {
    stmts.iter().map(|s| pg::query(text_len(s))).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_is_sized_with_its_values_written_in() {
        let s = &sql::address(42, "Flat 7, Harbour Road")[0];
        let text = "UPDATE addresses SET line = 'Flat 7, Harbour Road' WHERE user_id = 42";
        assert_eq!(text_len(s), text.len());
        assert_eq!(shipped(std::slice::from_ref(s)), pg::query(text.len()));
        let (ask, answer) = commit(std::slice::from_ref(s));
        assert_eq!(ask, 6 + 5 + 6 + text.len() as u64 + 6 + 6);
        assert_eq!(answer, pg::done(5) + pg::done(8) + pg::done(6));
    }

    #[test]
    fn an_absent_row_still_costs_its_description() {
        let (_, none) = product(3, None);
        let p = Product {
            id: 3,
            title: "Slim Cotton Polo".into(),
            price_cents: 2999,
        };
        let (_, one) = product(3, Some(&p));
        assert_eq!(one - none, 7 + 4 * 3 + (1 + 16 + 4), "one DataRow");
    }
}
