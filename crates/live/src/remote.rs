//! Sessions in real Redis servers, through the `redis` crate's client:
//! `--store-url redis://HOST:PORT` (one external server, no failover
//! control) and `--store redis` (the servers Stratus starts, the primary
//! found through Sentinel and found again after a failover: see
//! [`crate::engines::redis`]). The session is fetched before `shop::handle`
//! runs and written back after it (`SET session:<sid> <cart JSON> EX ttl`,
//! or `DEL` for an empty cart).
//!
//! One multiplexed connection carries every node's commands. When it
//! breaks (the server was killed, or answers READONLY because it is a
//! replica now) it is dropped, the command fails as the store being
//! unavailable, and the next command connects again: through Sentinel,
//! to whichever server Sentinel names as the primary then.

use super::pages::{cart_from_json, item_json};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, IntoConnectionInfo, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stratus_model::cart::Cart;
use stratus_model::session::{SessionBackend, Sid, Unavailable};

/// Why the Redis server could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{0:?} is not a redis://HOST:PORT URL")]
    Url(String),
    #[error("redis at {0}: {1}")]
    Io(String, String),
}

/// How long a connection attempt or a command may take before the store
/// counts as unavailable (a killed server on loopback refuses at once; this
/// bounds a hung one).
const TIMEOUT: Duration = Duration::from_secs(1);

/// Where the primary is.
enum Target {
    /// One server (`--store-url`).
    Url(Client),
    /// Whichever server the Sentinels name as the primary of `service`.
    Sentinel(tokio::sync::Mutex<redis::sentinel::SentinelClient>),
}

/// What the client saw, for the engine's report.
#[derive(Default, Debug)]
pub struct Counters {
    /// Writes (SET, DEL) the primary acknowledged.
    pub writes_acked: AtomicU64,
    /// Commands that failed (no answer, or an error answer).
    pub failed: AtomicU64,
    /// Connections opened (the first, then one after each break).
    pub connects: AtomicU64,
}

pub struct RemoteStore {
    target: Arc<Target>,
    ttl_s: u64,
    conn: Mutex<Option<MultiplexedConnection>>,
    /// One connection attempt at a time: the requests that wait take the
    /// connection it makes.
    opening: tokio::sync::Mutex<()>,
    /// Where connections live (their reading task runs there): the serving
    /// runtime, not the node lane that happened to ask first.
    rt: tokio::runtime::Handle,
    pub counters: Arc<Counters>,
}

/// The connection settings: no `CLIENT SETINFO` on connect (the shop's
/// commands are the only ones it sends), RESP2.
fn quiet(ci: redis::ConnectionInfo) -> redis::ConnectionInfo {
    let rs = ci.redis_settings().clone().set_skip_set_lib_name();
    ci.set_redis_settings(rs)
}

impl RemoteStore {
    /// Parses the URL and checks the server answers PING.
    pub async fn connect(url: &str, ttl_s: u64) -> Result<RemoteStore, RemoteError> {
        let bad = || RemoteError::Url(url.into());
        if !url.starts_with("redis://") {
            return Err(bad());
        }
        let ci = url.into_connection_info().map_err(|_| bad())?;
        let client = Client::open(quiet(ci)).map_err(|_| bad())?;
        let s = RemoteStore::new(Target::Url(client), ttl_s, Arc::default());
        s.ping().await.map_err(|e| RemoteError::Io(url.into(), e))?;
        Ok(s)
    }

    /// The primary of `service` as the Sentinels at `sentinels` name it
    /// (each `127.0.0.1:PORT`); checks it answers PING.
    pub async fn sentinel(
        sentinels: &[String],
        service: &str,
        ttl_s: u64,
        counters: Arc<Counters>,
    ) -> Result<RemoteStore, RemoteError> {
        let io = |e: String| RemoteError::Io(format!("the Sentinels {}", sentinels.join(", ")), e);
        let urls: Vec<String> = sentinels.iter().map(|a| format!("redis://{a}")).collect();
        let node = redis::sentinel::SentinelNodeConnectionInfo::default()
            .set_redis_connection_info(
                redis::RedisConnectionInfo::default().set_skip_set_lib_name(),
            );
        let sc = redis::sentinel::SentinelClient::build(
            urls,
            service.to_string(),
            Some(node),
            redis::sentinel::SentinelServerType::Master,
        )
        .map_err(|e| io(e.to_string()))?;
        let s = RemoteStore::new(Target::Sentinel(sc.into()), ttl_s, counters);
        s.ping().await.map_err(io)?;
        Ok(s)
    }

    fn new(target: Target, ttl_s: u64, counters: Arc<Counters>) -> RemoteStore {
        RemoteStore {
            target: Arc::new(target),
            ttl_s: ttl_s.max(1),
            conn: Mutex::new(None),
            opening: tokio::sync::Mutex::new(()),
            rt: tokio::runtime::Handle::current(),
            counters,
        }
    }

    async fn ping(&self) -> Result<(), String> {
        self.call(&redis::cmd("PING")).await.map(|_| ())
    }

    /// The connection to the primary, opened (through Sentinel) if there is none.
    async fn conn(&self) -> Result<MultiplexedConnection, String> {
        if let Some(c) = self.conn.lock().expect("conn lock").clone() {
            return Ok(c);
        }
        let _one = self.opening.lock().await;
        if let Some(c) = self.conn.lock().expect("conn lock").clone() {
            return Ok(c);
        }
        let target = self.target.clone();
        let c = self
            .rt
            .spawn(async move { open(&target).await })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        self.counters.connects.fetch_add(1, Ordering::Relaxed);
        *self.conn.lock().expect("conn lock") = Some(c.clone());
        Ok(c)
    }

    /// One command and its reply; a Redis error reply is an `Err` with
    /// Redis's message. A broken connection is dropped for the next call.
    async fn call(&self, cmd: &redis::Cmd) -> Result<Value, String> {
        let r = match self.conn().await {
            Ok(mut c) => c.send_packed_command(cmd).await.map_err(|e| {
                let broken = e.is_io_error()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
                    || e.is_timeout()
                    || e.is_unrecoverable_error()
                    || e.code() == Some("READONLY");
                if broken {
                    *self.conn.lock().expect("conn lock") = None;
                }
                e.to_string()
            }),
            Err(e) => Err(e),
        };
        if r.is_err() {
            self.counters.failed.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    fn key(sid: Sid) -> Vec<u8> {
        format!("session:{sid:032x}").into_bytes()
    }

    /// `SET key cart EX ttl`, or `DEL key` for an empty cart: the command a
    /// session's write sends.
    fn write_cmd(&self, sid: Sid, cart: &Cart) -> redis::Cmd {
        let key = Self::key(sid);
        if cart.is_empty() {
            let mut c = redis::cmd("DEL");
            c.arg(key);
            return c;
        }
        let v: serde_json::Value = cart.items.iter().map(item_json).collect();
        let mut c = redis::cmd("SET");
        c.arg(key).arg(v.to_string()).arg("EX").arg(self.ttl_s);
        c
    }

    pub async fn get(&self, sid: Sid) -> Result<Option<Cart>, Unavailable> {
        let mut c = redis::cmd("GET");
        c.arg(Self::key(sid));
        match self.call(&c).await {
            Ok(Value::Nil) => Ok(None),
            // A value that is not a cart reads as no session.
            Ok(Value::BulkString(v)) => Ok(serde_json::from_slice(&v)
                .ok()
                .as_ref()
                .and_then(cart_from_json)),
            _ => Err(Unavailable),
        }
    }

    pub async fn put(&self, sid: Sid, cart: &Cart) -> Result<(), Unavailable> {
        match self.call(&self.write_cmd(sid, cart)).await {
            Ok(Value::Okay | Value::SimpleString(_) | Value::Int(_)) => {
                self.counters.writes_acked.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            _ => Err(Unavailable),
        }
    }
}

/// A new connection to the primary (asking the Sentinels where it is).
async fn open(target: &Target) -> redis::RedisResult<MultiplexedConnection> {
    let cfg = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT));
    let client = match target {
        Target::Url(c) => c.clone(),
        Target::Sentinel(s) => s.lock().await.async_get_client().await?,
    };
    client
        .get_multiplexed_async_connection_with_config(&cfg)
        .await
}

/// One session fetched ahead of the handler, and what the handler wrote:
/// the shop's code runs unchanged on it, and the driver writes back.
pub struct Fetched {
    pub sid: Option<Sid>,
    pub cart: Option<Cart>,
    pub write: Option<(Sid, Cart)>,
}

impl SessionBackend for Fetched {
    fn update(
        &mut self,
        sid: Sid,
        f: &mut dyn FnMut(&mut Cart) -> bool,
    ) -> Result<(), Unavailable> {
        let mut cart = if Some(sid) == self.sid {
            self.cart.take().unwrap_or_default()
        } else {
            Cart::default()
        };
        if f(&mut cart) {
            self.write = Some((sid, cart));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::codec;
    use bytes::BytesMut;
    use stratus_model::cart::item;
    use stratus_model::scenario::Kind;
    use stratus_model::shop::{Backend, Request, SessionIn, handle};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// The simulation sizes a store trip by arithmetic (`Cart::json_len`,
    /// `wire::size::resp`) rather than encoding it: it must come to what
    /// this client really writes and reads.
    #[tokio::test]
    async fn the_simulations_sizes_are_what_this_client_sends() {
        use stratus_model::cart::{Item, price_of};
        use stratus_model::wire::size::resp;
        let mut cart = Cart::default();
        for (product, size, colour, qty) in [(0, 0, 0, 1), (7, 2, 3, 12), (1234, 5, 7, 300)] {
            cart.add(Item {
                product,
                size,
                colour,
                qty,
                price_cents: price_of(product),
            });
        }
        let v: serde_json::Value = cart.items.iter().map(item_json).collect();
        let json = v.to_string();
        assert_eq!(json.len(), cart.json_len());
        let store = RemoteStore::new(
            Target::Url(Client::open("redis://127.0.0.1:1").unwrap()),
            1800,
            Arc::default(),
        );
        let sent = |c: redis::Cmd| c.get_packed_command().len() as u64;
        let set = sent(store.write_cmd(0xabc, &cart));
        assert_eq!(set, resp::set(json.len(), 1800));
        let mut get = redis::cmd("GET");
        get.arg(RemoteStore::key(0xabc));
        assert_eq!(sent(get), resp::get());
        assert_eq!(sent(store.write_cmd(0xabc, &Cart::default())), resp::del());
        let mut reply = Vec::new();
        codec::bulk(&mut reply, json.as_bytes());
        assert_eq!(reply.len() as u64, resp::value(Some(json.len())));
    }

    /// A Redis stand-in that answers the commands it reads with `replies`
    /// in turn, a byte per write, so that the client has to put replies
    /// together from pieces. It returns the commands and how many
    /// connections carried them.
    async fn fake_redis(
        replies: Vec<Vec<u8>>,
    ) -> (String, tokio::task::JoinHandle<(Vec<Vec<Vec<u8>>>, usize)>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", l.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut seen, mut conns) = (Vec::new(), 0);
            let mut replies = replies.into_iter().peekable();
            while replies.peek().is_some() {
                let (mut s, _) = l.accept().await.unwrap();
                conns += 1;
                let mut buf = BytesMut::new();
                while replies.peek().is_some() {
                    let Some(args) = codec::split_command(&mut buf).unwrap() else {
                        match s.read_buf(&mut buf).await.unwrap() {
                            0 => break,
                            _ => continue,
                        }
                    };
                    seen.push(args.iter().map(|a| a.to_vec()).collect());
                    for b in replies.next().unwrap() {
                        s.write_all(&[b]).await.unwrap();
                    }
                }
            }
            (seen, conns)
        });
        (url, task)
    }

    #[tokio::test]
    async fn sessions_go_to_redis_as_resp_commands_and_come_back() {
        let mut cart = Cart::default();
        cart.add(item(3));
        let json: serde_json::Value = cart.items.iter().map(item_json).collect();
        let mut stored = Vec::new();
        codec::bulk(&mut stored, json.to_string().as_bytes());
        let replies = [
            &b"+PONG\r\n"[..],
            b"+OK\r\n",
            &stored,
            b":1\r\n",
            b"$-1\r\n",
            b"-ERR boom\r\n",
            b"*1\r\n:1\r\n",
        ];
        let (url, redis) = fake_redis(replies.map(<[u8]>::to_vec).to_vec()).await;
        let store = RemoteStore::connect(&url, 60).await.unwrap();
        store.put(7, &cart).await.unwrap();
        let back = store.get(7).await.unwrap().expect("the stored cart");
        assert_eq!(back.items, cart.items);
        store.put(7, &Cart::default()).await.unwrap();
        assert!(store.get(7).await.unwrap().is_none());
        assert!(store.get(7).await.is_err(), "a Redis error is Unavailable");
        assert!(
            store.get(7).await.is_err(),
            "so is a reply that is not a string"
        );
        let (seen, conns) = redis.await.unwrap();
        let key = format!("session:{:032x}", 7).into_bytes();
        let get = vec![b"GET".to_vec(), key.clone()];
        assert_eq!(
            seen,
            vec![
                vec![b"PING".to_vec()],
                vec![
                    b"SET".to_vec(),
                    key.clone(),
                    json.to_string().into_bytes(),
                    b"EX".to_vec(),
                    b"60".to_vec()
                ],
                get.clone(),
                vec![b"DEL".to_vec(), key],
                get.clone(),
                get.clone(),
                get,
            ]
        );
        assert_eq!(
            conns, 1,
            "replies, errors too, leave the connection in step for reuse"
        );
    }

    #[test]
    fn the_fetched_session_is_what_the_handler_changes() {
        let mut held = Cart::default();
        held.add(item(1));
        let mut one = Fetched {
            sid: Some(9),
            cart: Some(held),
            write: None,
        };
        let req = Request {
            kind: Kind::AddToCart,
            item: Some(item(2)),
            session: SessionIn::Sid(Some(9)),
            user: 0,
            product: None,
            address: None,
        };
        let r = handle(req, Backend::Sid(&mut one), None, &mut || unreachable!()).unwrap();
        assert_eq!(r.cart.unwrap().count(), 2);
        let (sid, cart) = one.write.expect("an add writes back");
        assert_eq!((sid, cart.count()), (9, 2));
        // A page that only reads writes nothing back.
        let mut one = Fetched {
            sid: Some(9),
            cart: Some(cart),
            write: None,
        };
        let req = Request {
            kind: Kind::ViewCart,
            item: None,
            session: SessionIn::Sid(Some(9)),
            user: 0,
            product: None,
            address: None,
        };
        handle(req, Backend::Sid(&mut one), None, &mut || unreachable!()).unwrap();
        assert!(one.write.is_none());
    }
}
