//! A live node's capacity (`stratus serve --capacity`): `fleet.workers`
//! pages at a time, each holding its worker for its drawn service time,
//! and at most `fleet.queue_limit` waiting, so a live shop saturates as a
//! simulated one does. Who starts, who waits, who is refused and, when a
//! worker frees, who is served next or shed (`fleet.queue_order`,
//! `fleet.queue_timeout`) is the model's `station::Station`, the same
//! station the simulation's nodes run; this file only parks the waiting
//! requests and wakes them.
//!
//! A page is spawned as its own task: hyper drops a request's future when
//! its client hangs up, and a real node does not know its caller left, so
//! the page keeps its place in the queue and its worker until served.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use stratus_model::metrics::Queueing;
use stratus_model::report::QueueStats;
use stratus_model::rng::Rng;
use stratus_model::scenario::Scenario;
use stratus_model::station::{Admit, QueueOrder, ServiceDistribution, Station, Turn, draw_service};
use stratus_model::time::{Dur, SimTime};
use tokio::sync::oneshot;

/// The cause of a node's 503 when its queue is full (the simulation's name),
/// first in the error's words.
pub const QUEUE_FULL: &str = "queue_full";
/// The cause of a node's 503 for a request shed after `fleet.queue_timeout`.
pub const QUEUE_TIMEOUT: &str = "queue_timeout";

/// The fleet's capacity, as the scenario gives it.
#[derive(Clone, Copy, Debug)]
pub struct CapacityCfg {
    pub workers: u32,
    pub queue_limit: u32,
    pub order: QueueOrder,
    pub queue_timeout: Option<Dur>,
    pub distribution: ServiceDistribution,
}

impl CapacityCfg {
    pub fn of(sc: &Scenario) -> CapacityCfg {
        let f = &sc.fleet;
        CapacityCfg {
            workers: f.workers,
            queue_limit: f.queue_limit,
            order: f.queue_order,
            queue_timeout: f.queue_timeout,
            distribution: f.service_distribution,
        }
    }
}

/// What the nodes' workers did, over the run (`GET /admin/workers`).
#[derive(Debug, Default)]
pub struct CapacityStats {
    /// Pages served after their caller had hung up: wasted work.
    pub served_abandoned: AtomicU64,
    /// Requests dropped for waiting past `fleet.queue_timeout`.
    pub shed: AtomicU64,
    /// Requests refused because the queue was full.
    pub queue_full: AtomicU64,
    /// Every node's queue, counted as the simulation's nodes count theirs
    /// (`Metrics::queue`), on the run's clock: the waits and the sojourns
    /// are the modelled ones ([`Held::until`]).
    queue: Mutex<Queueing>,
}

impl CapacityStats {
    pub fn count(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts now, as `GET /admin/workers` answers them: the queue's
    /// time averages are over the server's uptime.
    pub fn read(&self, clock: &super::clock::Clock) -> WorkersReport {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let (mut q, now) = {
            let q = self.queue.lock().expect("queue lock");
            (q.clone(), clock.now())
        };
        q.close(now);
        WorkersReport {
            served_abandoned: get(&self.served_abandoned),
            shed: get(&self.shed),
            queue_full: get(&self.queue_full),
            queueing: QueueStats::of(&q, now),
        }
    }

    /// Counts `f` on the nodes' queue at the clock's now, read under the
    /// queue's lock so the nodes' times reach it in order.
    fn queue(&self, clock: &super::clock::Clock, f: impl FnOnce(&mut Queueing, SimTime)) {
        let mut q = self.queue.lock().expect("queue lock");
        f(&mut q, clock.now());
    }
}

/// `GET /admin/workers`: what the nodes' workers did so far.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkersReport {
    pub served_abandoned: u64,
    pub shed: u64,
    pub queue_full: u64,
    /// The report's `queueing` section, over the server's uptime.
    pub queueing: QueueStats,
}

/// Where a request stands once the node has taken it.
pub enum Admitted {
    /// A worker serves it; the worker is free again when `Held` drops.
    Serve(Held),
    /// The queue was full (503 `queue_full`).
    Full,
    /// It waited past the queue timeout (503 `queue_timeout`).
    Shed,
}

/// One node's workers and queue.
pub struct Workers {
    cfg: CapacityCfg,
    clock: super::clock::Clock,
    /// Where the nodes count what their workers did; None for a database
    /// instance, whose waits and busy time the model's `Database` counts.
    stats: Option<Arc<CapacityStats>>,
    inner: Mutex<Inner>,
}

struct Inner {
    station: Station<u64>,
    next_id: u64,
    /// Queued requests, woken with the time their service starts, or None
    /// when shed.
    parked: BTreeMap<u64, oneshot::Sender<Option<SimTime>>>,
    /// Service-time draws (the node's own seeded stream).
    rng: Rng,
}

impl Workers {
    pub fn new(
        cfg: CapacityCfg,
        clock: super::clock::Clock,
        stats: Option<Arc<CapacityStats>>,
        rng: Rng,
    ) -> Arc<Workers> {
        Arc::new(Workers {
            cfg,
            clock,
            stats,
            inner: Mutex::new(Inner {
                station: Station::default(),
                next_id: 0,
                parked: BTreeMap::new(),
                rng,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("workers lock")
    }

    /// Counts on the nodes' stats, if these workers count there.
    fn count(&self, f: impl FnOnce(&CapacityStats)) {
        if let Some(stats) = &self.stats {
            f(stats);
        }
    }

    /// Counts `f` on the nodes' queue, if these workers count there.
    fn queue(&self, f: impl FnOnce(&mut Queueing, SimTime)) {
        self.count(|s| s.queue(&self.clock, f));
    }

    /// Takes a request: a worker at once, a place in the queue until a
    /// worker takes it (or sheds it), or a refusal.
    pub async fn admit(self: &Arc<Self>) -> Admitted {
        let (id, parked, arrived) = {
            let mut g = self.lock();
            let id = g.next_id;
            g.next_id += 1;
            let now = self.clock.now();
            let admitted = g
                .station
                .admit(id, now, self.cfg.workers, self.cfg.queue_limit);
            if admitted != Admit::Full {
                self.queue(|q, t| q.enter(t));
            }
            match admitted {
                Admit::Start => return Admitted::Serve(self.held(id, now, now)),
                Admit::Full => {
                    self.count(|s| CapacityStats::count(&s.queue_full));
                    return Admitted::Full;
                }
                Admit::Queued => {
                    let (tx, rx) = oneshot::channel();
                    g.parked.insert(id, tx);
                    (id, rx, now)
                }
            }
        };
        match parked.await {
            Ok(Some(start)) => Admitted::Serve(self.held(id, arrived, start)),
            _ => Admitted::Shed,
        }
    }

    fn held(self: &Arc<Self>, id: u64, arrived: SimTime, start: SimTime) -> Held {
        let wait = start.saturating_sub(arrived);
        self.queue(|q, _| q.start(wait));
        Held {
            workers: self.clone(),
            id,
            arrived,
            start,
            reached: start,
            end: None,
        }
    }

    /// Requests at work and waiting now.
    pub fn load(&self) -> (u32, usize) {
        let g = self.lock();
        (g.station.busy, g.station.queue.len())
    }

    /// A service time around `mean_ns` in the fleet's distribution.
    pub fn demand(&self, mean_ns: u64) -> u64 {
        draw_service(&mut self.lock().rng, mean_ns, self.cfg.distribution)
    }

    /// Request `done`, come at `arrived`, left its worker, its service
    /// over at `end`: the model's station picks what the worker does next,
    /// shedding what waited too long on the way.
    fn finished(&self, done: u64, arrived: SimTime, end: Option<SimTime>) {
        let now = self.clock.now();
        let end = end.unwrap_or(now);
        let sojourn = end.saturating_sub(arrived);
        self.queue(|q, t| q.leave(t, sojourn));
        let mut g = self.lock();
        let mut done = done;
        let (order, timeout) = (self.cfg.order, self.cfg.queue_timeout);
        while let Some(turn) = g.station.turn(done, order, now, timeout) {
            let (next, start) = match turn {
                // Its service starts when the last one's ended, or when it
                // came, if later.
                Turn::Serve(next, waited) => (next, Some(end.max(now - waited))),
                Turn::Shed(next) => {
                    self.count(|s| CapacityStats::count(&s.shed));
                    (next, None)
                }
            };
            let woken = g
                .parked
                .remove(&next)
                .is_some_and(|tx| tx.send(start).is_ok());
            if start.is_some() && woken {
                return;
            }
            // It leaves the queue unserved, as a simulated node drops one.
            self.queue(|q, t| q.drop_one(t));
            // Shed, or nobody left to serve (its task is gone): the worker
            // takes the next one.
            done = next;
        }
    }
}

/// A worker busy with one request; dropping it frees the worker.
pub struct Held {
    workers: Arc<Workers>,
    id: u64,
    arrived: SimTime,
    start: SimTime,
    /// How far the page's modelled time has run: its start, then the end
    /// of each real wait on the way.
    reached: SimTime,
    end: Option<SimTime>,
}

impl Held {
    /// When the service started: when the worker was free for it, which
    /// may be a little before it was woken.
    pub fn start(&self) -> SimTime {
        self.start
    }

    /// The service ends at `end` whenever the worker is let go: a timer that
    /// fires late does not delay the next request's start. Without it the
    /// service ends when the worker is let go.
    pub fn until(&mut self, end: SimTime) {
        self.end = Some(end);
    }

    /// The page's modelled time has reached `t`: a real wait (a real
    /// Redis's round trip, a call's timeout or backoff, a query at its
    /// instance) ended then.
    pub fn reached(&mut self, t: SimTime) {
        self.reached = self.reached.max(t);
    }

    /// Serves for `d` more of modelled time, from where it has reached,
    /// and holds the worker until then: a task woken late, or a timer that
    /// fires late (tokio's are a millisecond coarse), delays this
    /// request's answer, not the service of those queued behind it. When
    /// the service ended.
    pub async fn serve_for(&mut self, d: u64, clock: &super::clock::Clock) -> SimTime {
        let end = self.reached + d;
        self.until(end);
        tokio::time::sleep_until(clock.instant(end)).await;
        end
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.workers.finished(self.id, self.arrived, self.end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_model::rng::Streams;

    fn workers(n: u32, limit: u32, timeout: Option<Dur>) -> Arc<Workers> {
        let cfg = CapacityCfg {
            workers: n,
            queue_limit: limit,
            order: QueueOrder::Fifo,
            queue_timeout: timeout,
            distribution: ServiceDistribution::Constant,
        };
        let rng = Streams::new(1).stream("t");
        Workers::new(cfg, Default::default(), Some(Default::default()), rng)
    }

    fn stats(w: &Workers) -> &CapacityStats {
        w.stats.as_deref().expect("node workers count")
    }

    #[tokio::test]
    async fn one_worker_serves_in_turn_and_a_full_queue_refuses() {
        let w = workers(1, 1, None);
        let Admitted::Serve(first) = w.admit().await else {
            panic!("a free worker serves at once")
        };
        let waiter = tokio::spawn({
            let w = w.clone();
            async move { matches!(w.admit().await, Admitted::Serve(_)) }
        });
        tokio::task::yield_now().await;
        while w.lock().station.queue.is_empty() {
            tokio::task::yield_now().await;
        }
        assert!(matches!(w.admit().await, Admitted::Full));
        assert_eq!(stats(&w).queue_full.load(Ordering::Relaxed), 1);
        drop(first);
        assert!(waiter.await.unwrap(), "the queued request is served next");
        assert_eq!(w.lock().station.busy, 0, "and its worker freed after");
    }

    /// One worker: the first request served, a second queued behind it,
    /// whose task answers when its service started.
    async fn one_served_one_queued(w: &Arc<Workers>) -> (Held, tokio::task::JoinHandle<SimTime>) {
        let Admitted::Serve(first) = w.admit().await else {
            panic!("a free worker serves at once")
        };
        let waiter = tokio::spawn({
            let w = w.clone();
            async move {
                match w.admit().await {
                    Admitted::Serve(h) => h.start(),
                    _ => panic!("served"),
                }
            }
        });
        while w.load() != (1, 1) {
            tokio::task::yield_now().await;
        }
        (first, waiter)
    }

    #[tokio::test]
    async fn the_next_service_starts_when_the_last_one_ended_not_when_it_was_let_go() {
        let w = workers(1, 4, None);
        let (mut first, waiter) = one_served_one_queued(&w).await;
        // Its service ends in ten seconds' time on the run's clock, though
        // it lets go now: the next one starts then, not now.
        let end = first.start() + 10_000_000_000;
        first.until(end);
        drop(first);
        assert_eq!(waiter.await.unwrap(), end);
        // The queue counts the modelled wait: the second waited (about)
        // ten seconds, the first none.
        let q = stats(&w).read(&w.clock).queueing;
        assert_eq!(q.node_arrivals, 2);
        assert!((q.wait_mean_ms - 5_000.0).abs() < 50.0, "{q:?}");
    }

    #[tokio::test]
    async fn a_service_runs_on_from_a_real_wait_and_the_next_starts_at_its_end() {
        let w = workers(1, 4, None);
        let (mut first, waiter) = one_served_one_queued(&w).await;
        // A real wait (a call, a query elsewhere) ended 30 ms in; then
        // 20 ms of service. Reaching back in time changes nothing.
        let start = first.start();
        first.reached(start + 30_000_000);
        first.reached(start);
        let end = first.serve_for(20_000_000, &w.clock).await;
        assert_eq!(end, start + 50_000_000);
        assert!(w.clock.now() >= end, "the page's answer waits for its end");
        drop(first);
        assert_eq!(waiter.await.unwrap(), end);
    }

    #[tokio::test]
    async fn a_request_queued_past_the_timeout_is_shed() {
        let w = workers(1, 4, Some(Dur(0)));
        let Admitted::Serve(first) = w.admit().await else {
            panic!("a free worker serves at once")
        };
        let waiter = tokio::spawn({
            let w = w.clone();
            async move { matches!(w.admit().await, Admitted::Shed) }
        });
        while w.lock().station.queue.is_empty() {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        drop(first);
        assert!(waiter.await.unwrap());
        assert_eq!(stats(&w).shed.load(Ordering::Relaxed), 1);
        assert_eq!(w.lock().station.busy, 0);
    }
}
