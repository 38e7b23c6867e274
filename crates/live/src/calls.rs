//! A live node's calls to the database and the session store under
//! `[fleet.calls]`: the model's policy (`stratus_model::calls`) decides
//! whether an attempt goes out and what follows a failed one; this file
//! sleeps the waits on the live clock.
//!
//! An attempt is a reachability check against the data tier as it stands
//! (the instance or store primary is up and on this side of any partition),
//! made before the page runs, as the simulation checks when a worker picks
//! the request up. A failed attempt costs its connect timeout (or the call
//! timeout, if shorter) and then its backoff.

use super::node::{NodeCtx, Shop};
use std::sync::Mutex;
use std::time::Duration;
use stratus_model::breaker::State;
use stratus_model::calls::{CallStats, Calls, Dep, Ended, NodeBreakers};
use stratus_model::report::LogEvent;
use stratus_model::rng::Rng;
use stratus_model::time::SEC;

/// The shop's side of `[fleet.calls]`: the policy, the counts, the jitter
/// stream, and breaker changes not yet in the cluster's log.
pub struct LiveCalls {
    pub policy: Calls,
    pub stats: Mutex<CallStats>,
    jitter: Mutex<Rng>,
    pub changes: Mutex<Vec<LogEvent>>,
}

/// Why a call gave up: the page's 503 says which.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GaveUp {
    /// The node's breaker was open: it did not call.
    CircuitOpen,
    /// The last attempt failed.
    Failed,
    /// The last attempt outlasted the call's timeout.
    TimedOut,
}

impl LiveCalls {
    pub fn new(policy: Calls, jitter: Rng) -> LiveCalls {
        LiveCalls {
            policy,
            stats: Mutex::default(),
            jitter: Mutex::new(jitter),
            changes: Mutex::default(),
        }
    }

    fn note(&self, t: u64, node: u32, dep: Dep, s: Option<State>) {
        let Some(s) = s else { return };
        let kind = s.event();
        let t_s = ((t as f64 / SEC as f64) * 1000.0).round() / 1000.0;
        let detail = format!("node {node} {}", dep.name());
        eprintln!("[{t_s:8.3}s] {kind} {detail}");
        self.changes.lock().expect("changes lock").push(LogEvent {
            t_s,
            kind: kind.into(),
            detail,
        });
    }
}

/// Node `ctx` calls `dep`: `attempt` says whether the dependency takes the
/// call now, or what a refused attempt costs (ns). Retries after the
/// policy's backoff while attempts are left; an open breaker refuses at once.
pub async fn call(
    shop: &Shop,
    ctx: &NodeCtx,
    dep: Dep,
    mut attempt: impl FnMut() -> Result<(), u64>,
) -> Result<(), GaveUp> {
    let calls = &shop.calls;
    let policy = calls.policy.get(dep);
    let (mut n, mut previous) = (1u32, 0u64);
    loop {
        let now = shop.clock.now();
        let (ok, change) = {
            let mut b = ctx.breakers.lock().expect("breakers lock");
            let mut st = calls.stats.lock().expect("stats lock");
            calls.policy.before(dep, &mut b, now, &mut st)
        };
        calls.note(now, ctx.id, dep, change);
        if !ok {
            return Err(GaveUp::CircuitOpen);
        }
        let ended = match attempt() {
            Ok(()) => Ended::Ok,
            Err(cost) => match policy.timeout {
                Some(t) if t.0 < cost => {
                    sleep(t.0).await;
                    Ended::TimedOut
                }
                _ => {
                    sleep(cost).await;
                    Ended::Failed
                }
            },
        };
        let now = shop.clock.now();
        let (wait, change) = {
            let mut b = ctx.breakers.lock().expect("breakers lock");
            let mut st = calls.stats.lock().expect("stats lock");
            let mut rng = calls.jitter.lock().expect("jitter lock");
            calls
                .policy
                .after(dep, &mut b, now, ended, (n, previous), &mut rng, &mut st)
        };
        calls.note(now, ctx.id, dep, change);
        match (ended, wait) {
            (Ended::Ok, _) => return Ok(()),
            (_, Some(w)) => {
                sleep(w).await;
                (n, previous) = (n + 1, w);
            }
            (Ended::TimedOut, None) => return Err(GaveUp::TimedOut),
            (_, None) => return Err(GaveUp::Failed),
        }
    }
}

async fn sleep(ns: u64) {
    if ns > 0 {
        tokio::time::sleep(Duration::from_nanos(ns)).await;
    }
}

/// A fresh node's breakers, all closed.
pub fn breakers() -> Mutex<NodeBreakers> {
    Mutex::default()
}
