//! The client's idle keep-alive connections, kept per lane and key and
//! bounded as nginx bounds an upstream's `keepalive` cache: the balancer's
//! connections to its nodes, and [`super::Client`]'s to any host.

use super::Connection;
use crate::lanes;
use dashmap::DashMap;
use std::collections::VecDeque;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Idle keep-alive connections by lane and key (a node, a `host:port`).
/// Each lane keeps its own, as each worker of an event-loop proxy does, so
/// a connection is only ever used on the lane whose reactor drives it;
/// off the lanes all callers share one set.
///
/// Bounded as nginx's upstream `keepalive` bounds its cache: at most `keep`
/// idle connections per lane and key (beyond it the least recently used is
/// closed), each closed once idle for `idle_timeout`. The `_at` methods take
/// the time, so the bounds are tested without waiting.
pub struct Pool<K> {
    idle: DashMap<(Option<usize>, K), VecDeque<Idle>>,
    keep: usize,
    idle_timeout: Duration,
}

/// A connection in the pool and when it went idle.
struct Idle {
    conn: Connection,
    since: Instant,
}

impl Idle {
    /// Still worth reusing at `now`: open, and not idle past the timeout.
    fn fresh(&self, now: Instant, timeout: Duration) -> bool {
        now.saturating_duration_since(self.since) < timeout && self.conn.reusable()
    }
}

impl<K: Hash + Eq> Default for Pool<K> {
    fn default() -> Self {
        Pool::new(
            crate::limits::UPSTREAM_KEEPALIVE,
            crate::limits::UPSTREAM_IDLE,
        )
    }
}

impl<K: Hash + Eq> Pool<K> {
    /// A pool keeping at most `keep` idle connections per lane and key,
    /// each for at most `idle_timeout`.
    pub fn new(keep: usize, idle_timeout: Duration) -> Self {
        Pool {
            idle: DashMap::new(),
            keep,
            idle_timeout,
        }
    }

    /// An idle connection to `key` this lane opened, still open.
    pub fn checkout(&self, key: K) -> Option<Connection> {
        self.checkout_at(key, crate::clock::wall())
    }

    /// [`Pool::checkout`] at `now`: the most recently used connection that
    /// is still fresh; staler ones met on the way are closed.
    pub fn checkout_at(&self, key: K, now: Instant) -> Option<Connection> {
        let mut idle = self.idle.get_mut(&(lanes::current(), key))?;
        while let Some(c) = idle.pop_back() {
            if c.fresh(now, self.idle_timeout) {
                return Some(c.conn);
            }
        }
        None
    }

    pub fn checkin(&self, key: K, c: Connection) {
        self.checkin_at(key, c, crate::clock::wall());
    }

    /// [`Pool::checkin`] at `now`; past the cap, the least recently used
    /// idle connection is closed.
    pub fn checkin_at(&self, key: K, conn: Connection, now: Instant) {
        let mut idle = self.idle.entry((lanes::current(), key)).or_default();
        idle.push_back(Idle { conn, since: now });
        while idle.len() > self.keep {
            idle.pop_front();
        }
    }

    /// Closes this lane's connections that their servers closed: a dead or
    /// retired node's would otherwise hold their sockets for good, as node
    /// ids are never reused. Worth calling when a fresh connection opens, a
    /// sign that traffic has moved.
    pub fn sweep(&self) {
        let lane = lanes::current();
        self.sweep_where(crate::clock::wall(), |l| l == lane);
    }

    /// Closes every lane's connections that are closed or idle past the
    /// timeout at `now`, as nginx's keepalive timer does; a periodic sweep
    /// of this returns the sockets of a quiet balancer to the system.
    pub fn sweep_all_at(&self, now: Instant) {
        self.sweep_where(now, |_| true);
    }

    fn sweep_where(&self, now: Instant, lane: impl Fn(Option<usize>) -> bool) {
        self.idle.retain(|(l, _), idle| {
            if lane(*l) {
                idle.retain(|c| c.fresh(now, self.idle_timeout));
            }
            !idle.is_empty()
        });
    }

    /// How many idle connections this lane holds.
    pub fn idle(&self) -> usize {
        let lane = lanes::current();
        self.idle
            .iter()
            .filter(|e| e.key().0 == lane)
            .map(|e| e.value().len())
            .sum()
    }

    /// How many idle connections this lane holds to `key`.
    pub fn idle_to(&self, key: K) -> usize {
        self.idle
            .get(&(lanes::current(), key))
            .map_or(0, |v| v.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// The pool holds `keep` idle connections per key at most, closing the
    /// least recently used beyond it, and closes any idle past its timeout;
    /// the time is passed in, so nothing here waits for it.
    #[tokio::test]
    async fn the_pool_is_bounded_and_closes_idle_connections() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let pool = Pool::<u8>::new(3, Duration::from_secs(60));
        let t0 = crate::clock::wall();
        let sec = |n: u64| t0 + Duration::from_secs(n);
        let mut served = Vec::new();
        for i in 0..10 {
            let c = Connection::connect(addr, Duration::from_secs(1))
                .await
                .unwrap();
            served.push(l.accept().await.unwrap().0);
            pool.checkin_at(1, c, sec(i));
            assert!(pool.idle_to(1) <= 3, "never more than the cap");
        }
        assert_eq!(pool.idle_to(1), 3);
        // The seven least recently used were closed: their servers read EOF.
        let mut buf = [0u8; 1];
        for s in &mut served[..7] {
            assert_eq!(s.read(&mut buf).await.unwrap(), 0);
        }
        // At 68 s the connections idle since 7 s and 8 s are past the 60 s
        // timeout; the one idle since 9 s is kept.
        pool.sweep_all_at(sec(68));
        assert_eq!(pool.idle_to(1), 1);
        for s in &mut served[7..9] {
            assert_eq!(s.read(&mut buf).await.unwrap(), 0);
        }
        // A checkout past its timeout finds none, and closes it.
        assert!(pool.checkout_at(1, sec(70)).is_none());
        assert_eq!(pool.idle_to(1), 0);
        assert_eq!(served[9].read(&mut buf).await.unwrap(), 0);
        // Within the timeout a connection is handed out again.
        let c = Connection::connect(addr, Duration::from_secs(1))
            .await
            .unwrap();
        let _s = l.accept().await.unwrap();
        pool.checkin_at(2, c, sec(100));
        assert!(pool.checkout_at(2, sec(159)).is_some());
    }
}
