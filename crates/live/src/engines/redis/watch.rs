//! What the servers and Sentinels say, sampled every 20 ms: which server
//! the Sentinels name as the primary (a change is Sentinel's promotion,
//! reported with its time), and the replication window.
//!
//! The window is measured, not drawn. Each sample reads the count of
//! writes the primary has acknowledged to the shop, then the primary's
//! `master_repl_offset`, then each replica's `slave_repl_offset`
//! (`INFO replication`). A replica at or past the primary's offset holds
//! every write counted before it: those writes are safe on it. When the
//! primary is killed, the writes acknowledged after the last sample that
//! found a surviving replica caught up are the ones inside the replication
//! window: they may be lost, and no more can be (a bound, to within one
//! sample). The shoppers' ground truth counts what was really lost.

use super::{EngineError, Redis, conf};
use hdrhistogram::Histogram;
use redis::aio::MultiplexedConnection;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// How often the servers are asked.
pub const PERIOD: Duration = Duration::from_millis(20);

/// A promotion Sentinel carried out.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Promotion {
    /// Seconds since the server started, when the watcher first saw it.
    pub t_s: f64,
    pub server: String,
    pub az: String,
    pub port: u16,
    /// The primary before it.
    pub from: String,
}

/// A primary killed, and the writes inside its replication window.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Kill {
    pub t_s: f64,
    pub server: String,
    /// Writes the primary had acknowledged by then.
    pub writes_acked: u64,
    /// Of those, the ones a surviving replica was last seen to hold.
    pub writes_replicated: u64,
    /// The difference: acknowledged, maybe never replicated.
    pub window_writes: u64,
    /// From that last sample to the kill.
    pub window_ms: f64,
}

/// What the watcher has seen.
pub struct Seen {
    /// The primary's port, as the Sentinels name it (checked with INFO).
    pub master: Option<u16>,
    pub promotions: Vec<Promotion>,
    pub kills: Vec<Kill>,
    /// Each replica's distance behind the primary, in bytes, per sample.
    pub lag_bytes: Histogram<u64>,
    /// Per replica port: (writes acknowledged, time) of the last sample
    /// that found it caught up.
    confirmed: BTreeMap<u16, (u64, u64)>,
    /// A kill to finalise: (time, server, surviving replicas' ports).
    pending: Option<(u64, String, Vec<u16>)>,
}

impl Default for Seen {
    fn default() -> Self {
        Seen {
            master: None,
            promotions: Vec::new(),
            kills: Vec::new(),
            lag_bytes: Histogram::new_with_bounds(1, 1 << 40, 3).expect("valid bounds"),
            confirmed: BTreeMap::new(),
            pending: None,
        }
    }
}

/// Notes that the primary was just killed (called by `reconcile`); the
/// window is closed on the next sample, once replies already on their way
/// have been counted.
pub fn master_killed(r: &Redis, server: String, survivors: Vec<u16>) {
    let now = r.clock.now();
    r.seen.lock().expect("seen").pending = Some((now, server, survivors));
}

fn secs(ns: u64) -> f64 {
    (ns as f64 / 1e6).round() / 1e3
}

/// Waits (blocking) until every Sentinel sees the other two and every
/// replica: a failover needs the quorum to talk.
#[allow(clippy::disallowed_methods)] // a wait on real processes: wall clock
pub fn wait_ready(r: &Redis) -> Result<(), EngineError> {
    let replicas = r.servers.lock().expect("servers").len() - 1;
    let ports: Vec<u16> = r
        .sentinels
        .lock()
        .expect("s")
        .iter()
        .map(|s| s.port)
        .collect();
    let until = std::time::Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while std::time::Instant::now() < until {
        let ready = ports.iter().all(|&p| {
            let info = sync_info(p, "sentinel").unwrap_or_default();
            last = format!("127.0.0.1:{p}: {}", info.lines().last().unwrap_or(""));
            let others = conf::SENTINELS - 1;
            info.contains("status=ok")
                && info.contains(&format!("slaves={replicas},"))
                && info.contains(&format!("sentinels={}", others + 1))
        });
        if ready {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(EngineError::Setup(format!(
        "the Sentinels did not all see the primary, {replicas} replicas and each other within 30 s \
         (last: {last}); see the logs in {}",
        r.base().display()
    )))
}

fn sync_info(port: u16, section: &str) -> Option<String> {
    let c = redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
    let mut c = c.get_connection_with_timeout(Duration::from_secs(1)).ok()?;
    redis::cmd("INFO").arg(section).query(&mut c).ok()
}

/// Connections to the servers and Sentinels, by port, opened on demand.
#[derive(Default)]
struct Conns(BTreeMap<u16, MultiplexedConnection>);

impl Conns {
    async fn query<T: redis::FromRedisValue>(&mut self, port: u16, cmd: &redis::Cmd) -> Option<T> {
        if let std::collections::btree_map::Entry::Vacant(e) = self.0.entry(port) {
            let c = redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
            let cfg = redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Some(Duration::from_millis(500)))
                .set_response_timeout(Some(Duration::from_millis(500)));
            let c = c
                .get_multiplexed_async_connection_with_config(&cfg)
                .await
                .ok()?;
            e.insert(c);
        }
        let c = self.0.get_mut(&port)?;
        match cmd.query_async(c).await {
            Ok(v) => Some(v),
            Err(_) => {
                self.0.remove(&port);
                None
            }
        }
    }

    async fn replication(&mut self, port: u16) -> Option<String> {
        self.query(port, redis::cmd("INFO").arg("replication"))
            .await
    }
}

/// Samples until the runtime stops.
pub async fn run(r: Arc<Redis>) {
    let mut conns = Conns::default();
    let mut tick = tokio::time::interval(PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        follow_sentinels(&r, &mut conns).await;
        sample_window(&r, &mut conns).await;
    }
}

/// Asks each running Sentinel for the primary; a new one that its own INFO
/// confirms is Sentinel's promotion (a Sentinel restarted with an old
/// view may still name a server that is a replica now).
async fn follow_sentinels(r: &Redis, conns: &mut Conns) {
    let sentinels: Vec<u16> = {
        let s = r.sentinels.lock().expect("sentinels");
        s.iter()
            .filter(|s| s.child.is_some())
            .map(|s| s.port)
            .collect()
    };
    let ask = redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg(conf::SERVICE)
        .clone();
    let known = r.seen.lock().expect("seen").master;
    for p in sentinels {
        let Some((_, port)) = conns.query::<(String, u16)>(p, &ask).await else {
            continue;
        };
        if Some(port) == known {
            continue;
        }
        let role = conns.replication(port).await;
        if role.as_deref().and_then(|i| conf::info_field(i, "role")) != Some("master") {
            continue;
        }
        let (name, az, from) = {
            let s = r.servers.lock().expect("servers");
            let name_of = |p: Option<u16>| {
                s.iter()
                    .find(|s| Some(s.port) == p)
                    .map_or_else(|| "?".to_string(), |s| s.name.clone())
            };
            let az = s
                .iter()
                .find(|s| s.port == port)
                .map_or("?", |s| r.az_name(s.az));
            (name_of(Some(port)), az.to_string(), name_of(known))
        };
        let t_s = secs(r.clock.now());
        eprintln!(
            "[{t_s:8.3}s] sentinel_promoted {name} ({az}, 127.0.0.1:{port}) is the primary; it was {from}"
        );
        let mut seen = r.seen.lock().expect("seen");
        seen.master = Some(port);
        seen.promotions.push(Promotion {
            t_s,
            server: name,
            az,
            port,
            from,
        });
        return;
    }
}

/// One sample of the replication window (see the module's doc).
async fn sample_window(r: &Redis, conns: &mut Conns) {
    let acked = r.counters.writes_acked.load(Relaxed);
    let now = r.clock.now();
    finish_kill(r, acked);
    let Some(master) = r.seen.lock().expect("seen").master else {
        return;
    };
    let replicas: Vec<u16> = {
        let s = r.servers.lock().expect("servers");
        let running = s.iter().filter(|s| s.child.is_some());
        running.map(|s| s.port).filter(|&p| p != master).collect()
    };
    let Some(info) = conns.replication(master).await else {
        return;
    };
    let offset = |i: &str, f: &str| conf::info_field(i, f).and_then(|v| v.parse::<u64>().ok());
    let Some(m) = offset(&info, "master_repl_offset") else {
        return;
    };
    for p in replicas {
        let Some(info) = conns.replication(p).await else {
            continue;
        };
        let linked = conf::info_field(&info, "master_link_status") == Some("up");
        let Some(rep) = offset(&info, "slave_repl_offset").filter(|_| linked) else {
            continue;
        };
        let mut seen = r.seen.lock().expect("seen");
        seen.lag_bytes
            .saturating_record(m.saturating_sub(rep).max(1));
        if rep >= m {
            seen.confirmed.insert(p, (acked, now));
        }
    }
}

/// Closes a kill's window: the writes acknowledged by now (the primary is
/// dead: only replies already on their way were still being counted)
/// against what the least-caught-up survivor was last seen holding.
fn finish_kill(r: &Redis, acked: u64) {
    let mut seen = r.seen.lock().expect("seen");
    let Some((at, server, survivors)) = seen.pending.take() else {
        return;
    };
    let (held, when) = survivors
        .iter()
        .map(|p| seen.confirmed.get(p).copied().unwrap_or((0, 0)))
        .min()
        .unwrap_or((0, 0));
    let k = Kill {
        t_s: secs(at),
        server,
        writes_acked: acked,
        writes_replicated: held.min(acked),
        window_writes: acked.saturating_sub(held),
        window_ms: (at.saturating_sub(when) as f64 / 1e3).round() / 1e3,
    };
    eprintln!(
        "[{:8.3}s] redis_window {} killed with {} writes acknowledged, {} of them seen on every surviving replica: {} inside the replication window ({} ms)",
        k.t_s, k.server, k.writes_acked, k.writes_replicated, k.window_writes, k.window_ms
    );
    seen.kills.push(k);
    seen.confirmed.clear();
}
