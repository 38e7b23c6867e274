//! `[fleet.calls]`: how a node calls its dependencies, the database and the
//! session store. Each call may have a per-attempt timeout, retries with the
//! clients' backoff and jitter, and a circuit breaker per node and
//! dependency. The decisions are here, once: both drivers ask
//! [`Calls::before`] whether a call goes out and [`Calls::after`] what to do
//! once it has ended.

use crate::breaker::{Breaker, State};
use crate::retry::policy::RetryPolicy;
use crate::rng::Rng;
use crate::time::SimTime;
use serde::{Deserialize, Serialize};

/// What a node calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dep {
    Database,
    Store,
}

impl Dep {
    pub const ALL: [Dep; 2] = [Dep::Database, Dep::Store];

    pub fn name(self) -> &'static str {
        match self {
            Dep::Database => "database",
            Dep::Store => "store",
        }
    }
}

/// One dependency's call policy: the clients' kind of policy, its
/// `timeout` per attempt and its `breaker` per node; `budget` is never set
/// (a node's retries are its own). `CallPolicy::none()`: one attempt, as
/// long as the answer takes, no breaker (a node without `[fleet.calls]`).
pub type CallPolicy = RetryPolicy;

/// `[fleet.calls.database]` and `[fleet.calls.store]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Calls {
    pub database: CallPolicy,
    pub store: CallPolicy,
}

impl Default for Calls {
    fn default() -> Self {
        Calls {
            database: CallPolicy::none(),
            store: CallPolicy::none(),
        }
    }
}

/// A node's breakers, one per dependency.
#[derive(Clone, Debug, Default)]
pub struct NodeBreakers {
    pub database: Breaker,
    pub store: Breaker,
}

impl NodeBreakers {
    pub fn get(&self, d: Dep) -> &Breaker {
        match d {
            Dep::Database => &self.database,
            Dep::Store => &self.store,
        }
    }
    fn get_mut(&mut self, d: Dep) -> &mut Breaker {
        match d {
            Dep::Database => &mut self.database,
            Dep::Store => &mut self.store,
        }
    }
}

/// One dependency's calls over a run, as the report shows them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CallCounts {
    /// Attempts that went out, retries included.
    pub attempts: u64,
    pub retries: u64,
    /// Attempts that failed (an error, no answer, or the timeout).
    pub failed: u64,
    /// Of those, attempts the node stopped waiting for.
    pub timed_out: u64,
    /// Calls an open breaker failed at once, without sending them.
    pub short_circuited: u64,
    /// Breaker changes, summed over nodes.
    pub opened: u64,
    pub half_opened: u64,
    pub closed: u64,
}

impl CallCounts {
    fn changed(&mut self, s: Option<State>) {
        match s {
            Some(State::Open) => self.opened += 1,
            Some(State::HalfOpen) => self.half_opened += 1,
            Some(State::Closed) => self.closed += 1,
            None => {}
        }
    }
}

/// The counts for both dependencies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CallStats {
    pub database: CallCounts,
    pub store: CallCounts,
}

impl CallStats {
    pub fn get_mut(&mut self, d: Dep) -> &mut CallCounts {
        match d {
            Dep::Database => &mut self.database,
            Dep::Store => &mut self.store,
        }
    }
}

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Ok,
    Failed,
    TimedOut,
}

impl Calls {
    pub fn get(&self, d: Dep) -> &CallPolicy {
        match d {
            Dep::Database => &self.database,
            Dep::Store => &self.store,
        }
    }

    /// Whether any dependency has a policy beyond one plain attempt.
    pub fn any(&self) -> bool {
        *self != Calls::default()
    }

    /// Before an attempt: whether the node's breaker lets it out. Counts the
    /// attempt or the short circuit; returns the breaker's change, if any.
    pub fn before(
        &self,
        d: Dep,
        b: &mut NodeBreakers,
        now: SimTime,
        stats: &mut CallStats,
    ) -> (bool, Option<State>) {
        let (ok, change) = match &self.get(d).breaker {
            Some(cfg) => b.get_mut(d).allow(cfg, now),
            None => (true, None),
        };
        let c = stats.get_mut(d);
        c.changed(change);
        if ok {
            c.attempts += 1;
        } else {
            c.short_circuited += 1;
        }
        (ok, change)
    }

    /// An attempt (number `attempt`, 1 for the first) ended. Returns the
    /// wait before the next attempt (None: the call is over) and the
    /// breaker's change. `previous` is the last wait (decorrelated jitter).
    #[allow(clippy::too_many_arguments)]
    pub fn after(
        &self,
        d: Dep,
        b: &mut NodeBreakers,
        now: SimTime,
        ended: Ended,
        (attempt, previous): (u32, u64),
        rng: &mut Rng,
        stats: &mut CallStats,
    ) -> (Option<u64>, Option<State>) {
        let p = self.get(d);
        let ok = ended == Ended::Ok;
        let change = p.breaker.and_then(|cfg| b.get_mut(d).record(&cfg, now, ok));
        let c = stats.get_mut(d);
        c.changed(change);
        if ok {
            return (None, change);
        }
        c.failed += 1;
        if ended == Ended::TimedOut {
            c.timed_out += 1;
        }
        if attempt >= p.max_attempts {
            return (None, change);
        }
        c.retries += 1;
        (Some(p.delay(attempt, previous, rng)), change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::BreakerCfg;
    use crate::time::{Dur, MS, SEC};

    fn calls() -> Calls {
        let database = RetryPolicy {
            max_attempts: 2,
            base: Dur(100 * MS),
            backoff: crate::retry::policy::Backoff::Constant,
            breaker: Some(BreakerCfg {
                failures: 2,
                window: Dur(10 * SEC),
                open_for: Dur(SEC),
                probes: 1,
            }),
            ..RetryPolicy::none()
        };
        Calls {
            database,
            ..Calls::default()
        }
    }

    #[test]
    fn a_failed_attempt_is_retried_until_the_attempts_run_out() {
        let (c, mut b, mut st) = (calls(), NodeBreakers::default(), CallStats::default());
        let mut rng = crate::rng::Streams::new(1).stream("t");
        assert!(c.before(Dep::Database, &mut b, 0, &mut st).0);
        let (wait, ch) = c.after(
            Dep::Database,
            &mut b,
            0,
            Ended::Failed,
            (1, 0),
            &mut rng,
            &mut st,
        );
        assert_eq!((wait, ch), (Some(100 * MS), None));
        let (wait, ch) = c.after(
            Dep::Database,
            &mut b,
            1,
            Ended::TimedOut,
            (2, 0),
            &mut rng,
            &mut st,
        );
        assert_eq!((wait, ch), (None, Some(State::Open)));
        assert_eq!(
            (
                st.database.failed,
                st.database.timed_out,
                st.database.retries
            ),
            (2, 1, 1)
        );
        // Open: the next call fails at once, unsent.
        assert!(!c.before(Dep::Database, &mut b, 2, &mut st).0);
        assert_eq!(st.database.short_circuited, 1);
        // The store has no policy: always let through, never retried.
        assert!(c.before(Dep::Store, &mut b, 2, &mut st).0);
        let (wait, _) = c.after(
            Dep::Store,
            &mut b,
            2,
            Ended::Failed,
            (1, 0),
            &mut rng,
            &mut st,
        );
        assert_eq!(wait, None);
    }
}
