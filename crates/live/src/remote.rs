//! `--store-url redis://HOST:PORT`: sessions in a real Redis server, for shops
//! that outgrow one process. A minimal RESP client with a connection pool;
//! the session is fetched before `shop::handle` runs and written back after
//! it (`SET session:<sid> <cart JSON> EX ttl`, or `DEL` for an empty cart).

use super::pages::{cart_from_json, item_json};
use std::sync::Mutex;
use stratus_model::cart::Cart;
use stratus_model::session::{SessionBackend, Sid, Unavailable};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
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
    idle: Mutex<Vec<BufReader<TcpStream>>>,
}

/// A reply, as far as sessions need one.
#[derive(Debug, PartialEq)]
enum Reply {
    Ok,
    Bulk(Option<Vec<u8>>),
    Int(i64),
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

    async fn call(&self, args: &[&[u8]]) -> Result<Reply, String> {
        let pooled = self.idle.lock().expect("pool").pop();
        let mut c = match pooled {
            Some(c) => c,
            None => {
                let s = TcpStream::connect(&self.addr)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = s.set_nodelay(true);
                BufReader::new(s)
            }
        };
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        c.get_mut()
            .write_all(&req)
            .await
            .map_err(|e| e.to_string())?;
        let reply = read_reply(&mut c).await?;
        self.idle.lock().expect("pool").push(c);
        Ok(reply)
    }

    fn key(sid: Sid) -> Vec<u8> {
        format!("session:{sid:032x}").into_bytes()
    }

    pub async fn get(&self, sid: Sid) -> Result<Option<Cart>, Unavailable> {
        match self.call(&[b"GET", &Self::key(sid)]).await {
            Ok(Reply::Bulk(None)) => Ok(None),
            // A value that is not a cart reads as no session.
            Ok(Reply::Bulk(Some(v))) => Ok(serde_json::from_slice(&v)
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
            Ok(Reply::Ok | Reply::Int(_)) => Ok(()),
            _ => Err(Unavailable),
        }
    }
}

async fn read_line(c: &mut BufReader<TcpStream>) -> Result<String, String> {
    let mut line = String::new();
    if c.read_line(&mut line).await.map_err(|e| e.to_string())? == 0 {
        return Err("connection closed".into());
    }
    Ok(line.trim_end().to_string())
}

async fn read_reply(c: &mut BufReader<TcpStream>) -> Result<Reply, String> {
    let line = read_line(c).await?;
    let (tag, rest) = line.split_at(line.len().min(1));
    match tag {
        "+" => Ok(Reply::Ok),
        "-" => Err(rest.to_string()),
        ":" => rest
            .parse()
            .map(Reply::Int)
            .map_err(|_| "bad integer reply".into()),
        "$" => {
            let n: i64 = rest.parse().map_err(|_| "bad bulk length")?;
            if n < 0 {
                return Ok(Reply::Bulk(None));
            }
            let mut v = vec![0u8; n as usize + 2];
            c.read_exact(&mut v).await.map_err(|e| e.to_string())?;
            v.truncate(n as usize);
            Ok(Reply::Bulk(Some(v)))
        }
        _ => Err(format!("unexpected reply {line:?}")),
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
