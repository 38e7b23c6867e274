//! Lanes: one single-threaded runtime per core, each serving its share of
//! the shop's connections, as an event-loop proxy's workers do. A balancer
//! connection, the upstream connections it opens and the nodes' side of
//! those all run on one lane, so a request crosses no thread on its way to a
//! node and back (on two cores that was worth a tenth of the balancer's
//! throughput: README, "Live benchmark").
//!
//! The node learns which lane opened a connection from its source port,
//! which the balancer marks before connecting. Connections from anyone else
//! (a browser, wrk aimed at a node, the health checks) are not marked and
//! stay on the caller's multi-threaded runtime, where work stealing suits an
//! unknown client best.
//!
//! How many: twice the cores by default. On the benchmark's two cores,
//! shared with wrk, two lanes per core served 3 to 15 % more than one in
//! four alternating rounds; with one per core every wrk wake-up preempted a
//! busy lane. `stratus serve --lanes N` sets it.
//!
//! The lanes live as long as the process: their threads idle when no server
//! runs, and tasks on them belong to the accept loops that spawned them, so
//! aborting a listener still resets every connection it accepted.

use dashmap::DashMap;
use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::runtime::Handle;

struct Lanes {
    handles: Vec<Handle>,
    next: AtomicUsize,
    /// Source port of a balancer's upstream connection → its lane.
    origin: DashMap<u16, usize>,
}

thread_local! {
    static LANE: Cell<Option<usize>> = const { Cell::new(None) };
}

static LANES: OnceLock<Lanes> = OnceLock::new();
/// The count asked for before the lanes start (0: the default).
static WANTED: AtomicUsize = AtomicUsize::new(0);

/// Asks for `n` lanes; heeded only before the first server starts them.
pub fn set_count(n: usize) {
    WANTED.store(n.max(1), Ordering::Relaxed);
}

/// The default: two per core.
pub fn default_count() -> usize {
    2 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn lanes() -> &'static Lanes {
    LANES.get_or_init(|| {
        let n = match WANTED.load(Ordering::Relaxed) {
            0 => default_count(),
            n => n,
        };
        let handles = (0..n).map(start).collect();
        Lanes {
            handles,
            next: AtomicUsize::new(0),
            origin: DashMap::new(),
        }
    })
}

/// Starts lane `i` on its own thread and returns its handle.
fn start(i: usize) -> Handle {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(format!("stratus-lane-{i}"))
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                // Without a lane the caller's runtime serves (see `spread`).
                Err(_) => return,
            };
            LANE.with(|l| l.set(Some(i)));
            if tx.send(rt.handle().clone()).is_ok() {
                rt.block_on(std::future::pending::<()>());
            }
        })
        .ok()
        .and_then(|_| rx.recv().ok())
        .unwrap_or_else(Handle::current)
}

/// How many lanes run (starting them if they have not started).
pub fn count() -> usize {
    lanes().handles.len()
}

/// The lane this code runs on, if it runs on one.
pub fn current() -> Option<usize> {
    LANE.with(|l| l.get())
}

/// The next lane in turn, for a client's connection to the balancer.
pub fn spread() -> Handle {
    let l = lanes();
    let i = l.next.fetch_add(1, Ordering::Relaxed) % l.handles.len();
    l.handles[i].clone()
}

/// The lane that opened the connection from `peer_port`, if the balancer
/// opened it from a lane.
pub fn by_origin(peer_port: u16) -> Option<Handle> {
    let l = LANES.get()?;
    l.origin
        .remove(&peer_port)
        .map(|(_, i)| l.handles[i].clone())
}

/// Records that this lane is about to connect from `local_port`; true if
/// it did (the caller then owes an [`unmark`]).
pub fn mark(local_port: u16) -> bool {
    match current() {
        Some(i) => {
            lanes().origin.insert(local_port, i);
            true
        }
        None => false,
    }
}

/// Forgets the mark of a connection from `local_port` that no node took: it
/// was refused, timed out, or closed unaccepted (a killed AZ's nodes drop
/// their backlog). Without it every failed attempt left its port in the
/// map for good, up to the whole ephemeral range (#17: the soak's 502s
/// during each AZ kill). A closing connection is unmarked while its port is
/// still bound; a refused one has released it already, and should another
/// lane take the port in between, that connection is served off the lanes:
/// correct, only slower.
pub fn unmark(local_port: u16) {
    if let Some(l) = LANES.get() {
        l.origin.remove(&local_port);
    }
}

/// How many marks wait for a node to accept their connection.
pub fn pending() -> usize {
    LANES.get().map_or(0, |l| l.origin.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::Upstream;
    use std::time::Duration;

    /// Accepts one connection and says which lane serves it, as a node does.
    async fn served_on(listener: &tokio::net::TcpListener) -> Option<usize> {
        let (s, peer) = listener.accept().await.unwrap();
        let lane = by_origin(peer.port())?;
        let std = s.into_std().unwrap();
        lane.spawn(async move {
            let _s = tokio::net::TcpStream::from_std(std).unwrap();
            current()
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_connection_opened_from_a_lane_is_served_on_that_lane() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        for _ in 0..count() {
            let from = spread()
                .spawn(async move {
                    let up = Upstream::connect(addr, Duration::from_secs(1))
                        .await
                        .unwrap();
                    (current(), up)
                })
                .await
                .unwrap();
            assert!(from.0.is_some(), "spawned on a lane");
            assert_eq!(served_on(&listener).await, from.0);
        }
        // Opened off the lanes (a browser, nginx, a health check): no lane.
        let _plain = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (_, peer) = listener.accept().await.unwrap();
        assert!(by_origin(peer.port()).is_none());
        assert_eq!(current(), None);
    }

    #[tokio::test]
    async fn connections_no_node_took_leave_no_mark() {
        // A port nobody listens on: each attempt is refused.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        // A listener that never accepts: connections wait in its backlog.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent_addr = silent.local_addr().unwrap();
        let before = pending();
        for _ in 0..40 {
            spread()
                .spawn(async move {
                    let refused = Upstream::connect(closed, Duration::from_secs(1)).await;
                    assert!(refused.is_err());
                    let waiting = Upstream::connect(silent_addr, Duration::from_secs(1)).await;
                    drop(waiting.unwrap());
                })
                .await
                .unwrap();
        }
        // Other tests' connections may hold a mark or two meanwhile; these
        // 80 would all still be here if failures and closes kept theirs.
        assert!(
            pending() < before + 10,
            "{} marks left",
            pending().saturating_sub(before)
        );
    }
}
