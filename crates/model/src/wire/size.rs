//! What each message weighs on the wire, by protocol: the session store's
//! RESP commands, the durable table's HTTP API calls, the cache's memcached
//! text protocol and the database's PostgreSQL simple queries. Sizes are
//! computed from the values' lengths without encoding anything, since a
//! store or cache trip is sized on every request. (HTTP between browser,
//! balancer and node is sized where the simulation builds its requests.)

use crate::cart::{ITEM_JSON_QUOTES, digits};

fn d(n: usize) -> u64 {
    digits(n as u64) as u64
}

/// `session:` and 32 hex digits: a session's key in the store.
pub const SESSION_KEY: usize = 8 + 32;

/// Redis's protocol, RESP2, as `stratus-live`'s codec writes it.
pub mod resp {
    use super::{SESSION_KEY, d};

    /// `$LEN\r\nDATA\r\n`.
    fn bulk(n: usize) -> u64 {
        1 + d(n) + 2 + n as u64 + 2
    }

    /// A command: an array of bulk strings of these lengths.
    pub fn command(args: &[usize]) -> u64 {
        1 + d(args.len()) + 2 + args.iter().map(|&n| bulk(n)).sum::<u64>()
    }

    /// `GET session:…`.
    pub fn get() -> u64 {
        command(&[3, SESSION_KEY])
    }

    /// The reply to a GET: the value, or the null bulk string `$-1\r\n`.
    pub fn value(len: Option<usize>) -> u64 {
        len.map_or(5, bulk)
    }

    /// `SET session:… VALUE EX TTL`; its reply is [`OK`].
    pub fn set(value: usize, ttl_s: u64) -> u64 {
        command(&[3, SESSION_KEY, value, 2, crate::cart::digits(ttl_s)])
    }

    /// `+OK\r\n`.
    pub const OK: u64 = 5;

    /// `DEL session:…` (an emptied cart); its reply is [`DELETED`].
    pub fn del() -> u64 {
        command(&[3, SESSION_KEY])
    }

    /// `:1\r\n`.
    pub const DELETED: u64 = 4;
}

/// The durable table's API (DynamoDB's JSON over HTTPS). The heads are
/// Stratus's estimate of what an SDK sends: a SigV4 `Authorization`,
/// `X-Amz-Date`, `X-Amz-Target`, `Host`, `Content-Type`, `Content-Length`,
/// `User-Agent`; and back `x-amzn-RequestId`, `x-amz-crc32` and the usual.
pub mod table {
    use super::{ITEM_JSON_QUOTES, SESSION_KEY};

    pub const REQUEST_HEAD: u64 = 600;
    pub const RESPONSE_HEAD: u64 = 200;
    const KEY: &str = r#"{"sid":{"S":""}}"#;
    const ITEM: &str = r#"{"sid":{"S":""},"cart":{"S":""},"expires":{"N":""}}"#;
    const GET: &str = r#"{"TableName":"sessions","Key":}"#;
    const PUT: &str = r#"{"TableName":"sessions","Item":}"#;
    const FOUND: &str = r#"{"Item":}"#;
    /// An empty JSON object: what a put or delete answers, or a get that
    /// found nothing.
    const EMPTY: u64 = 2;
    /// A Unix time in seconds (the item's TTL attribute).
    const EPOCH_DIGITS: usize = 10;

    fn key() -> u64 {
        (KEY.len() + SESSION_KEY - 8) as u64
    }

    /// The item: the session id, the cart's JSON as an escaped string
    /// (`lines` items), its expiry. Also what replication ships.
    pub fn item(value: usize, lines: usize) -> u64 {
        (ITEM.len() + SESSION_KEY - 8 + value + ITEM_JSON_QUOTES * lines + EPOCH_DIGITS) as u64
    }

    /// GetItem (and DeleteItem, the same key).
    pub fn get() -> u64 {
        REQUEST_HEAD + GET.len() as u64 + key()
    }

    /// GetItem's answer: the item (`value` bytes of cart JSON, `lines`
    /// items), or nothing.
    pub fn found(value: Option<(usize, usize)>) -> u64 {
        RESPONSE_HEAD + value.map_or(EMPTY, |(v, lines)| FOUND.len() as u64 + item(v, lines))
    }

    /// PutItem with the item.
    pub fn put(value: usize, lines: usize) -> u64 {
        REQUEST_HEAD + PUT.len() as u64 + item(value, lines)
    }

    /// What PutItem and DeleteItem answer.
    pub fn done() -> u64 {
        RESPONSE_HEAD + EMPTY
    }
}

/// How app nodes talk to the session store: Redis's RESP (`store`) or the
/// table's HTTP API (`durable`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreApi {
    Resp,
    Table,
}

/// A stored session's value, as its messages carry it: the cart's JSON
/// length and its lines (None: no such session, or deleted).
pub type Value = Option<(usize, usize)>;

impl StoreApi {
    /// A read: the request, and the reply carrying the session's value.
    pub fn read(self, v: Value) -> (u64, u64) {
        match self {
            StoreApi::Resp => (resp::get(), resp::value(v.map(|(n, _)| n))),
            StoreApi::Table => (table::get(), table::found(v)),
        }
    }

    /// A write of the value (None: the emptied session is deleted): the
    /// request and its acknowledgement.
    pub fn write(self, v: Value, ttl_s: u64) -> (u64, u64) {
        match (self, v) {
            (StoreApi::Resp, Some((n, _))) => (resp::set(n, ttl_s), resp::OK),
            (StoreApi::Resp, None) => (resp::del(), resp::DELETED),
            (StoreApi::Table, Some((n, lines))) => (table::put(n, lines), table::done()),
            (StoreApi::Table, None) => (table::get(), table::done()),
        }
    }

    /// What the primary (or leader) ships each replica for that write: the
    /// command itself (Redis propagates it), or the item.
    pub fn stream(self, v: Value, ttl_s: u64) -> u64 {
        match (self, v) {
            (StoreApi::Resp, _) => self.write(v, ttl_s).0,
            (StoreApi::Table, Some((n, lines))) => table::item(n, lines),
            (StoreApi::Table, None) => table::get() - table::REQUEST_HEAD,
        }
    }
}

/// memcached's text protocol: the cache cluster is memcached-style.
pub mod memcached {
    use super::d;

    /// `get KEY\r\n`.
    pub fn get(key: usize) -> u64 {
        4 + key as u64 + 2
    }

    /// `VALUE KEY 0 LEN\r\nDATA\r\nEND\r\n`.
    pub fn hit(key: usize, len: usize) -> u64 {
        6 + key as u64 + 3 + d(len) + 2 + len as u64 + 2 + 5
    }

    /// `END\r\n`: a miss.
    pub const MISS: u64 = 5;

    /// `set KEY 0 TTL LEN\r\nDATA\r\n`; its reply is [`STORED`].
    pub fn set(key: usize, ttl_s: u64, len: usize) -> u64 {
        4 + key as u64 + 3 + crate::cart::digits(ttl_s) as u64 + 1 + d(len) + 2 + len as u64 + 2
    }

    /// `STORED\r\n`.
    pub const STORED: u64 = 8;

    /// `delete KEY\r\n`; the reply is [`DELETED`] or [`NOT_FOUND`].
    pub fn delete(key: usize) -> u64 {
        7 + key as u64 + 2
    }

    pub const DELETED: u64 = 9;
    pub const NOT_FOUND: u64 = 11;
}

/// PostgreSQL's simple query protocol (the database's port is 5432).
pub mod pg {
    use super::d;

    /// `Q`, a length, the statement's text and a NUL.
    pub fn query(text: usize) -> u64 {
        6 + text as u64
    }

    /// CommandComplete with a tag of `tag` bytes (`INSERT 0 1`, `SELECT 3`)
    /// and ReadyForQuery: how every statement's answer ends.
    pub fn done(tag: usize) -> u64 {
        (1 + 4 + tag as u64 + 1) + 6
    }

    /// The answer to a SELECT: a RowDescription of `columns`, a DataRow per
    /// row (`rows` gives each row's values' total length), then
    /// CommandComplete (`SELECT n`) and ReadyForQuery.
    pub fn rows(columns: &[&str], rows: impl Iterator<Item = usize>) -> u64 {
        let desc: u64 = 7 + columns.iter().map(|c| c.len() as u64 + 1 + 18).sum::<u64>();
        let per_row = 7 + 4 * columns.len() as u64;
        let (mut bytes, mut n) = (0u64, 0usize);
        for v in rows {
            bytes += per_row + v as u64;
            n += 1;
        }
        desc + bytes + done("SELECT ".len() + d(n) as usize)
    }

    /// The length of `sql` with each `?N` placeholder replaced by a literal
    /// of the given length (`literals[N - 1]`).
    pub fn inline(sql: &str, literals: &[usize]) -> usize {
        let b = sql.as_bytes();
        let (mut len, mut i) = (0, 0);
        while i < b.len() {
            if b[i] == b'?' {
                let end = (i + 1..b.len())
                    .find(|&j| !b[j].is_ascii_digit())
                    .unwrap_or(b.len());
                let n: usize = sql[i + 1..end].parse().unwrap_or(0);
                len += literals.get(n.wrapping_sub(1)).copied().unwrap_or(4);
                i = end;
            } else {
                len += 1;
                i += 1;
            }
        }
        len
    }

    /// An integer literal's length.
    pub fn int(v: i64) -> usize {
        crate::cart::digits(v.unsigned_abs()) + usize::from(v < 0)
    }

    /// A text literal's length: quoted (the shop's texts hold no quote).
    pub fn text(s: &str) -> usize {
        s.len() + 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A RESP command spelled out, as a client writes it.
    fn spelled(args: &[&str]) -> u64 {
        let mut s = format!("*{}\r\n", args.len());
        for a in args {
            s += &format!("${}\r\n{a}\r\n", a.len());
        }
        s.len() as u64
    }

    #[test]
    fn resp_sizes_spell_out() {
        let key = format!("session:{:032x}", 7u128);
        assert_eq!(key.len(), SESSION_KEY);
        assert_eq!(resp::get(), spelled(&["GET", &key]));
        assert_eq!(resp::del(), spelled(&["DEL", &key]));
        assert_eq!(resp::value(None), "$-1\r\n".len() as u64);
        assert_eq!(resp::value(Some(5)), "$5\r\nhello\r\n".len() as u64);
        let v = "x".repeat(123);
        assert_eq!(
            resp::set(123, 1800),
            spelled(&["SET", &key, &v, "EX", "1800"])
        );
    }

    #[test]
    fn memcached_sizes_spell_out() {
        assert_eq!(memcached::get(8), "get featured\r\n".len() as u64);
        let hit = "VALUE featured 0 3\r\nabc\r\nEND\r\n".len() as u64;
        assert_eq!(memcached::hit(8, 3), hit);
        assert_eq!(
            memcached::set(8, 300, 3),
            "set featured 0 300 3\r\nabc\r\n".len() as u64
        );
        assert_eq!(memcached::delete(8), "delete featured\r\n".len() as u64);
    }

    #[test]
    fn pg_inlines_placeholders() {
        let sql = "SELECT id FROM t WHERE a = ?1 AND b = ?2";
        assert_eq!(pg::inline(sql, &[3, 5]), sql.len() - 4 + 8);
        assert_eq!(pg::int(-12), 3);
        assert_eq!(pg::text("ab"), 4);
        // T, one column "id": 7 + 3 + 18; two rows of 1 and 2 bytes; SELECT 2.
        let want = (7 + 3 + 18) + (7 + 4 + 1) + (7 + 4 + 2) + (6 + 8) + 6;
        assert_eq!(pg::rows(&["id"], [1, 2].into_iter()), want);
        assert_eq!(pg::query("SELECT 1".len()), 1 + 4 + 8 + 1);
    }
}
