//! The store over the Redis protocol (RESP2), so redis-cli and
//! redis-benchmark can talk to the live shop's session store.
//!
//! Keys `session:<32 hex digits>` are the shop's sessions in the model's
//! `Store` (the one the nodes use): GET shows the cart as JSON, SET writes
//! one, and they expire after the scenario's `sessions.store.ttl`. Every
//! other key lives in a plain keyspace with Redis's own expiry rules, which
//! is what redis-benchmark exercises. Commands: PING, ECHO, GET, SET with
//! EX/PX/NX/XX, DEL, EXISTS, EXPIRE, TTL, PTTL, DBSIZE, INFO, CONFIG GET,
//! COMMAND, QUIT. Pipelining: every complete command in a read is answered in
//! one write. A malformed frame gets `-ERR Protocol error` and the connection
//! is closed, as Redis does. Frames are read and written by [`codec`], the
//! RESP codec that the Redis client in [`crate::remote`] uses too.

use super::node::Shop;
use super::pages::{cart_from_json, item_json};
use bytes::{Bytes, BytesMut};
use dashmap::DashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use stratus_model::cart::Cart;
use stratus_model::session::store::StoreState;
use stratus_model::time::{MS, SEC};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

pub mod codec;
use codec::{array, bulk, error, int, null, simple};

const SESSION_PREFIX: &[u8] = b"session:";

struct Val {
    data: Bytes,
    /// Absolute expiry in server nanoseconds.
    expires: Option<u64>,
}

/// What the RESP server serves: the shop's store and its own keyspace.
pub struct Resp {
    shop: Arc<Shop>,
    keys: DashMap<Bytes, Val>,
    commands: AtomicU64,
    clients: AtomicU64,
}

impl Resp {
    pub fn new(shop: Arc<Shop>) -> Arc<Resp> {
        Arc::new(Resp {
            shop,
            keys: DashMap::new(),
            commands: AtomicU64::new(0),
            clients: AtomicU64::new(0),
        })
    }
}

/// Accepts Redis clients until aborted.
pub async fn serve(listener: TcpListener, r: Arc<Resp>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            acc = listener.accept() => {
                if let Ok((s, _)) = acc {
                    let _ = s.set_nodelay(true);
                    conns.spawn(conn(s, r.clone()));
                } else {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn conn(mut s: TcpStream, r: Arc<Resp>) {
    r.clients.fetch_add(1, Ordering::Relaxed);
    let mut buf = BytesMut::with_capacity(16 << 10);
    let mut out = Vec::with_capacity(16 << 10);
    while matches!(s.read_buf(&mut buf).await, Ok(n) if n > 0) {
        let open = answer(&r, &mut buf, &mut out);
        let sent = out.is_empty() || s.write_all(&out).await.is_ok();
        if !(sent && open) {
            break;
        }
        out.clear();
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(16 << 10);
        }
    }
    r.clients.fetch_sub(1, Ordering::Relaxed);
}

/// Answers every complete command in `buf` into `out`, leaving a partial
/// one for the next read; false once the connection is to close after `out`
/// is written (QUIT, or a malformed frame, after which Redis hangs up).
fn answer(r: &Resp, buf: &mut BytesMut, out: &mut Vec<u8>) -> bool {
    loop {
        match codec::split_command(buf) {
            Ok(Some(args)) if args.is_empty() => {}
            Ok(Some(args)) => {
                if exec(r, &args, out) {
                    return false;
                }
            }
            Ok(None) => return true,
            Err(e) => {
                error(out, &format!("ERR Protocol error: {e}"));
                return false;
            }
        }
    }
}

fn wrong_args(out: &mut Vec<u8>, cmd: &str) {
    error(
        out,
        &format!("ERR wrong number of arguments for '{cmd}' command"),
    );
}

/// A session key's id, if the key names one.
fn session_id(key: &[u8]) -> Option<u128> {
    let hex = key.strip_prefix(SESSION_PREFIX)?;
    (hex.len() == 32)
        .then(|| u128::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok())
        .flatten()
}

const UNAVAILABLE: &str = "TRYAGAIN the session store's primary is failing over or down";

/// Runs one command; true if the client asked to quit.
fn exec(r: &Resp, args: &[Bytes], out: &mut Vec<u8>) -> bool {
    r.commands.fetch_add(1, Ordering::Relaxed);
    let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
    let now = r.shop.clock.now();
    let n = args.len();
    match name.as_str() {
        "PING" => match n {
            1 => simple(out, "PONG"),
            2 => bulk(out, &args[1]),
            _ => wrong_args(out, "ping"),
        },
        "ECHO" if n == 2 => bulk(out, &args[1]),
        "QUIT" => {
            simple(out, "OK");
            return true;
        }
        "GET" if n == 2 => get(r, &args[1], now, out),
        "SET" if n >= 3 => set(r, args, now, out),
        "DEL" | "EXISTS" if n >= 2 => {
            let del = name == "DEL";
            let mut count = 0;
            for k in &args[1..] {
                match session_id(k) {
                    Some(sid) => {
                        let mut st = r.shop.store.lock().expect("store lock");
                        match st.get(now, sid) {
                            Ok(Some(_)) => {
                                count += 1;
                                if del && st.set(now, sid, &Cart::default()).is_err() {
                                    error(out, UNAVAILABLE);
                                    return false;
                                }
                            }
                            Ok(None) => {}
                            Err(_) => {
                                error(out, UNAVAILABLE);
                                return false;
                            }
                        }
                    }
                    None => {
                        let live = live_val(r, k, now);
                        if live {
                            count += 1;
                            if del {
                                r.keys.remove(k);
                            }
                        }
                    }
                }
            }
            int(out, count);
        }
        "EXPIRE" | "PEXPIRE" if n == 3 => {
            let Ok(t) = std::str::from_utf8(&args[2]).unwrap_or("x").parse::<i64>() else {
                error(out, "ERR value is not an integer or out of range");
                return false;
            };
            if session_id(&args[1]).is_some() {
                error(
                    out,
                    "ERR session keys expire after the scenario's sessions.store.ttl; EXPIRE applies to other keys",
                );
                return false;
            }
            let unit = if name == "EXPIRE" { SEC } else { MS };
            match r.keys.get_mut(&args[1]) {
                Some(mut v) if v.expires.is_none_or(|e| e > now) => {
                    if t <= 0 {
                        drop(v);
                        r.keys.remove(&args[1]);
                    } else {
                        v.expires = Some(now + (t as u64).saturating_mul(unit));
                    }
                    int(out, 1);
                }
                _ => int(out, 0),
            }
        }
        "TTL" | "PTTL" if n == 2 => {
            let unit = if name == "TTL" { SEC } else { MS };
            let left = match session_id(&args[1]) {
                Some(sid) => match r.shop.store.lock().expect("store lock").ttl_left(now, sid) {
                    Ok(l) => l.map(Some),
                    Err(_) => {
                        error(out, UNAVAILABLE);
                        return false;
                    }
                },
                None => r
                    .keys
                    .get(&args[1])
                    .filter(|v| v.expires.is_none_or(|e| e > now))
                    .map(|v| v.expires.map(|e| e - now)),
            };
            match left {
                None => int(out, -2),
                Some(None) => int(out, -1),
                Some(Some(ns)) => int(out, ns.div_ceil(unit) as i64),
            }
        }
        "DBSIZE" if n == 1 => int(out, r.keys.len() as i64),
        "INFO" => {
            let state = match r.shop.store.lock().expect("store lock").overall() {
                StoreState::Up => "up",
                StoreState::FailingOver { .. } => "failing_over",
                StoreState::Down => "down",
            };
            let text = format!(
                "# Server\r\nredis_version:7.0.0\r\nstratus_version:{}\r\nuptime_in_seconds:{}\r\n\r\n# Clients\r\nconnected_clients:{}\r\n\r\n# Stats\r\ntotal_commands_processed:{}\r\n\r\n# Replication\r\nrole:master\r\nstratus_session_store:{}\r\n\r\n# Keyspace\r\ndb0:keys={},expires=0\r\n",
                env!("CARGO_PKG_VERSION"),
                now / SEC,
                r.clients.load(Ordering::Relaxed),
                r.commands.load(Ordering::Relaxed),
                state,
                r.keys.len()
            );
            bulk(out, text.as_bytes());
        }
        // redis-benchmark and redis-cli ask these at start; an empty answer
        // is what a server without the setting gives.
        "CONFIG" if n == 3 && args[1].eq_ignore_ascii_case(b"GET") => {
            // No persistence: `save ""` and `appendonly no`, as Redis reports them.
            let value: &[u8] = if args[2].eq_ignore_ascii_case(b"appendonly") {
                b"no"
            } else {
                b""
            };
            array(out, 2);
            bulk(out, &args[2]);
            bulk(out, value);
        }
        "COMMAND" => array(out, 0),
        "SELECT" if n == 2 && &args[1][..] == b"0" => simple(out, "OK"),
        "ECHO" | "GET" | "SET" | "DEL" | "EXISTS" | "EXPIRE" | "PEXPIRE" | "TTL" | "PTTL"
        | "DBSIZE" | "SELECT" => wrong_args(out, &name.to_ascii_lowercase()),
        _ => {
            let shown: String = String::from_utf8_lossy(&args[0]).chars().take(64).collect();
            error(
                out,
                &format!("ERR unknown command '{shown}', with args beginning with: "),
            );
        }
    }
    false
}

/// Whether a plain key exists now (an expired one is removed, as Redis's lazy expiry does).
fn live_val(r: &Resp, k: &Bytes, now: u64) -> bool {
    let expired = match r.keys.get(k) {
        None => return false,
        Some(v) => v.expires.is_some_and(|e| e <= now),
    };
    if expired {
        r.keys
            .remove_if(k, |_, v| v.expires.is_some_and(|e| e <= now));
    }
    !expired
}

fn get(r: &Resp, k: &Bytes, now: u64, out: &mut Vec<u8>) {
    if let Some(sid) = session_id(k) {
        match r.shop.store.lock().expect("store lock").get(now, sid) {
            Ok(Some(cart)) => {
                let v: serde_json::Value = cart.items.iter().map(item_json).collect();
                bulk(out, v.to_string().as_bytes());
            }
            Ok(None) => null(out),
            Err(_) => error(out, UNAVAILABLE),
        }
        return;
    }
    match r.keys.get(k) {
        Some(v) if v.expires.is_none_or(|e| e > now) => bulk(out, &v.data),
        Some(v) => {
            drop(v);
            r.keys
                .remove_if(k, |_, v| v.expires.is_some_and(|e| e <= now));
            null(out);
        }
        None => null(out),
    }
}

fn set(r: &Resp, args: &[Bytes], now: u64, out: &mut Vec<u8>) {
    let (mut expires, mut nx, mut xx) = (None, false, false);
    let mut i = 3;
    while i < args.len() {
        let opt = String::from_utf8_lossy(&args[i]).to_ascii_uppercase();
        match opt.as_str() {
            "NX" => nx = true,
            "XX" => xx = true,
            "EX" | "PX" if i + 1 < args.len() => {
                let t = std::str::from_utf8(&args[i + 1])
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok());
                match t {
                    Some(t) if t > 0 => {
                        let unit = if opt == "EX" { SEC } else { MS };
                        expires = Some(now + (t as u64).saturating_mul(unit));
                    }
                    _ => return error(out, "ERR invalid expire time in 'set' command"),
                }
                i += 1;
            }
            _ => return error(out, "ERR syntax error"),
        }
        i += 1;
    }
    if nx && xx {
        return error(out, "ERR syntax error");
    }
    let (k, v) = (&args[1], &args[2]);
    if let Some(sid) = session_id(k) {
        if expires.is_some() {
            return error(
                out,
                "ERR session keys expire after the scenario's sessions.store.ttl; SET them without EX/PX",
            );
        }
        let Some(cart) = serde_json::from_slice(v)
            .ok()
            .as_ref()
            .and_then(cart_from_json)
        else {
            return error(
                out,
                "ERR a session value is a cart as JSON, as GET shows it: [{\"product\":1,\"size\":\"M\",\"colour\":\"navy\",\"qty\":1,\"price_cents\":1999}]",
            );
        };
        let mut st = r.shop.store.lock().expect("store lock");
        let exists = match st.get(now, sid) {
            Ok(e) => e.is_some(),
            Err(_) => return error(out, UNAVAILABLE),
        };
        if (nx && exists) || (xx && !exists) {
            return null(out);
        }
        match st.set(now, sid, &cart) {
            Ok(()) => simple(out, "OK"),
            Err(_) => error(out, UNAVAILABLE),
        }
        return;
    }
    if nx || xx {
        let exists = live_val(r, k, now);
        if (nx && exists) || (xx && !exists) {
            return null(out);
        }
    }
    r.keys.insert(
        k.clone(),
        Val {
            data: v.clone(),
            expires,
        },
    );
    simple(out, "OK");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_keys_name_a_sid() {
        assert_eq!(
            session_id(format!("session:{:032x}", 9u128).as_bytes()),
            Some(9)
        );
        assert_eq!(session_id(b"session:xyz"), None);
        assert_eq!(
            session_id(format!("session:{:031x}", 9u128).as_bytes()),
            None
        );
    }
}
