//! `--store-url redis://HOST:PORT`: sessions in a real Redis server, for shops
//! that outgrow one process. A minimal Redis client with a connection pool,
//! speaking RESP through [`crate::resp::codec`] (the server's own codec);
//! the session is fetched before `shop::handle` runs and written back after
//! it (`SET session:<sid> <cart JSON> EX ttl`, or `DEL` for an empty cart).

use super::pages::{cart_from_json, item_json};
use super::resp::codec::{self, Value};
use bytes::{Buf, BytesMut};
use std::sync::Mutex;
use stratus_model::cart::Cart;
use stratus_model::session::{SessionBackend, Sid, Unavailable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why the Redis server could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{0:?} is not a redis://HOST:PORT URL")]
    Url(String),
    #[error("redis at {0}: {1}")]
    Io(String, String),
}

pub struct RemoteStore {
    addr: String,
    ttl_s: u64,
    idle: Mutex<Vec<Conn>>,
}

/// A connection to Redis and what has been read from it but not decoded.
struct Conn {
    s: TcpStream,
    buf: BytesMut,
}

impl RemoteStore {
    /// Parses the URL and checks the server answers PING.
    pub async fn connect(url: &str, ttl_s: u64) -> Result<RemoteStore, RemoteError> {
        let rest = url
            .strip_prefix("redis://")
            .ok_or_else(|| RemoteError::Url(url.into()))?;
        let addr = rest.trim_end_matches('/').to_string();
        if addr.is_empty() || addr.contains('@') || !addr.contains(':') {
            return Err(RemoteError::Url(url.into()));
        }
        let s = RemoteStore {
            addr,
            ttl_s: ttl_s.max(1),
            idle: Mutex::new(Vec::new()),
        };
        s.call(&[b"PING"])
            .await
            .map_err(|e| RemoteError::Io(s.addr.clone(), e))?;
        Ok(s)
    }

    /// One command and its reply; a Redis error reply is an `Err` with
    /// Redis's message.
    async fn call(&self, args: &[&[u8]]) -> Result<Value, String> {
        let pooled = self.idle.lock().expect("pool").pop();
        let mut c = match pooled {
            Some(c) => c,
            None => self.open().await?,
        };
        let mut req = Vec::new();
        codec::command(&mut req, args);
        c.s.write_all(&req).await.map_err(|e| e.to_string())?;
        let reply = read_reply(&mut c).await?;
        // Bytes past the reply would be answers to requests never sent: a
        // connection that is out of step is not reused.
        if c.buf.is_empty() {
            self.idle.lock().expect("pool").push(c);
        }
        match reply {
            Value::Error(e) => Err(e),
            v => Ok(v),
        }
    }

    async fn open(&self) -> Result<Conn, String> {
        let s = TcpStream::connect(&self.addr)
            .await
            .map_err(|e| e.to_string())?;
        let _ = s.set_nodelay(true);
        Ok(Conn {
            s,
            buf: BytesMut::with_capacity(4096),
        })
    }

    fn key(sid: Sid) -> Vec<u8> {
        format!("session:{sid:032x}").into_bytes()
    }

    pub async fn get(&self, sid: Sid) -> Result<Option<Cart>, Unavailable> {
        match self.call(&[b"GET", &Self::key(sid)]).await {
            Ok(Value::Null) => Ok(None),
            // A value that is not a cart reads as no session.
            Ok(Value::Bulk(v)) => Ok(serde_json::from_slice(&v)
                .ok()
                .as_ref()
                .and_then(cart_from_json)),
            _ => Err(Unavailable),
        }
    }

    pub async fn put(&self, sid: Sid, cart: &Cart) -> Result<(), Unavailable> {
        let key = Self::key(sid);
        let r = if cart.is_empty() {
            self.call(&[b"DEL", &key]).await
        } else {
            let v: serde_json::Value = cart.items.iter().map(item_json).collect();
            let ttl = self.ttl_s.to_string();
            self.call(&[
                b"SET",
                &key,
                v.to_string().as_bytes(),
                b"EX",
                ttl.as_bytes(),
            ])
            .await
        };
        match r {
            Ok(Value::Simple(_) | Value::Int(_)) => Ok(()),
            _ => Err(Unavailable),
        }
    }
}

/// Reads until the buffer holds a whole reply, and takes it off.
async fn read_reply(c: &mut Conn) -> Result<Value, String> {
    loop {
        if let Some((v, used)) = codec::decode(&c.buf).map_err(|e| e.to_string())? {
            c.buf.advance(used);
            return Ok(v);
        }
        if c.s.read_buf(&mut c.buf).await.map_err(|e| e.to_string())? == 0 {
            return Err("connection closed".into());
        }
    }
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
    use stratus_model::cart::item;
    use stratus_model::scenario::Kind;
    use stratus_model::shop::{Backend, Request, SessionIn, handle};
    use tokio::net::TcpListener;

    /// The simulation sizes a store trip by arithmetic (`Cart::json_len`,
    /// `wire::size::resp`) rather than encoding it: it must come to what
    /// this client really writes and reads.
    #[test]
    fn the_simulations_sizes_are_what_this_client_sends() {
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
        let key = RemoteStore::key(0xabc);
        let sent = |args: &[&[u8]]| {
            let mut b = Vec::new();
            codec::command(&mut b, args);
            b.len() as u64
        };
        let set = sent(&[b"SET", &key, json.as_bytes(), b"EX", b"1800"]);
        assert_eq!(set, resp::set(json.len(), 1800));
        assert_eq!(sent(&[b"GET", &key]), resp::get());
        assert_eq!(sent(&[b"DEL", &key]), resp::del());
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
