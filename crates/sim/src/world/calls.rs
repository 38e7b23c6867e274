//! A node's calls to its dependencies under `[fleet.calls]`: per-attempt
//! timeouts, retries after a backoff, and a circuit breaker per node and
//! dependency. The decisions are the model's (`stratus_model::calls`); this
//! file times them in virtual time.
//!
//! A database call is followed event by event: its answer (or its failure)
//! reaches the node as `DbEnd`, its timeout as `DbTimeout`, and a retry is
//! sent again (to whichever instance takes the page then) as `DbRetry`. A
//! query the node stopped waiting for still runs on the instance. The
//! store's round trips are timed when the worker picks the request up, as
//! without `[fleet.calls]`: each failed attempt costs its connect timeout
//! (or the call timeout, if shorter) and its backoff, against the store as
//! it stands then; the answer itself is read when the page runs.

use super::{Event, World};
use crate::engine::Queue;
use stratus_model::breaker::State;
use stratus_model::calls::{Dep, Ended};
use stratus_model::db::{DB_CIRCUIT_OPEN, DB_TIMEOUT, DbIx};
use stratus_model::lb::NodeId;
use stratus_model::node::ShopperId;
use stratus_model::session::store::{
    SESSION_STORE_CIRCUIT_OPEN, SESSION_STORE_TIMEOUT, SESSION_STORE_UNREACHABLE,
};
use stratus_model::time::SimTime;
use stratus_model::workload::Outcome;

/// A database call in flight: which attempt, the last backoff, where it went.
#[derive(Clone, Copy, Debug)]
pub(super) struct DbCall {
    node: NodeId,
    attempt: u32,
    wait: u64,
}

/// Why a database attempt failed, as `DbEnd` carries it.
pub(super) const DB_OK: u8 = 0;
pub(super) const DB_UNAVAILABLE: u8 = 1;
pub(super) const DB_FULL: u8 = 2;

fn unreachable(o: &Outcome) -> bool {
    matches!(o, Outcome::Failed(SESSION_STORE_UNREACHABLE))
}

fn reason(code: u8) -> &'static str {
    match code {
        DB_FULL => stratus_model::db::DB_TOO_MANY_CONNECTIONS,
        _ => stratus_model::db::DB_UNAVAILABLE,
    }
}

impl World {
    /// Whether database calls are followed event by event (a timeout,
    /// retries or a breaker is set); otherwise the plain path runs, event
    /// for event as before `[fleet.calls]` existed.
    pub(super) fn db_calls_on(&self) -> bool {
        self.sc.fleet.calls.database != stratus_model::calls::CallPolicy::none()
    }

    fn breaker_changed(&mut self, now: SimTime, node: NodeId, dep: Dep, s: Option<State>) {
        if let Some(s) = s {
            self.note(now, s.event(), format!("node {node} {}", dep.name()));
        }
    }

    /// Asks node `id`'s breaker for `dep` whether a call goes out now.
    fn call_allowed(&mut self, now: SimTime, id: NodeId, dep: Dep) -> bool {
        let i = id as usize;
        if self.breakers.len() <= i {
            self.breakers.resize_with(i + 1, Default::default);
        }
        let calls = self.sc.fleet.calls;
        let (ok, change) = calls.before(dep, &mut self.breakers[i], now, &mut self.call_stats);
        self.breaker_changed(now, id, dep, change);
        ok
    }

    /// An attempt on `dep` by node `id` ended; the wait before the next
    /// attempt, if the call goes on.
    fn call_ended(
        &mut self,
        now: SimTime,
        id: NodeId,
        dep: Dep,
        ended: Ended,
        attempt: (u32, u64),
    ) -> Option<u64> {
        let calls = self.sc.fleet.calls;
        let b = &mut self.breakers[id as usize];
        let (wait, change) = calls.after(
            dep,
            b,
            now,
            ended,
            attempt,
            &mut self.call_jitter,
            &mut self.call_stats,
        );
        self.breaker_changed(now, id, dep, change);
        wait
    }

    /// The node sends the page's query to instance `i` at `at` (its first
    /// attempt), unless its breaker is open.
    pub(super) fn db_call(
        &mut self,
        id: NodeId,
        s: ShopperId,
        req: u32,
        at: SimTime,
        i: DbIx,
        q: &mut Queue<Event>,
    ) {
        if !self.call_allowed(at, id, Dep::Database) {
            return self.db_call_over(s, req, DB_CIRCUIT_OPEN, at, q);
        }
        let call = DbCall {
            node: id,
            attempt: 1,
            wait: 0,
        };
        self.db_calls.insert((s, req), call);
        self.db_send(s, req, at, i, q);
    }

    fn db_send(&mut self, s: ShopperId, req: u32, at: SimTime, i: DbIx, q: &mut Queue<Event>) {
        let call = self.db_calls[&(s, req)];
        let node_az = self.cp.fleet.nodes[call.node as usize].az;
        if let Some(sh) = self.shoppers[s as usize]
            .as_mut()
            .filter(|sh| sh.req == req)
        {
            sh.extra_mut().db_target = Some(i);
        }
        let az = self.db.as_ref().expect("a call needs a database").instances[i].az;
        let inst = i as u8;
        q.at(at + self.hop(node_az, az), Event::AtDb { s, req, inst });
        if let Some(t) = self.sc.fleet.calls.database.timeout {
            let attempt = call.attempt;
            q.at(at + t.0, Event::DbTimeout { s, req, attempt });
        }
    }

    /// The call is over without an answer: the page fails with `why`.
    fn db_call_over(
        &mut self,
        s: ShopperId,
        req: u32,
        why: &'static str,
        now: SimTime,
        q: &mut Queue<Event>,
    ) {
        self.db_calls.remove(&(s, req));
        if let Some((_, _, true)) = self.job(s, req) {
            self.outcomes.set(s, Outcome::Failed(why));
        }
        q.at(now, Event::Done { s, req });
    }

    /// An answer (or a failure) for the call reached its node.
    pub(super) fn on_db_end(
        &mut self,
        now: SimTime,
        s: ShopperId,
        req: u32,
        code: u8,
        q: &mut Queue<Event>,
    ) {
        // Gone: the call already timed out and moved on, or the node died.
        let Some(call) = self.db_calls.get(&(s, req)).copied() else {
            return;
        };
        let ended = if code == DB_OK {
            Ended::Ok
        } else {
            Ended::Failed
        };
        self.db_attempt_ended(now, s, req, call, ended, reason(code), q);
    }

    /// The node's timeout for attempt `attempt` ran out.
    pub(super) fn on_db_timeout(
        &mut self,
        now: SimTime,
        s: ShopperId,
        req: u32,
        attempt: u32,
        q: &mut Queue<Event>,
    ) {
        match self.db_calls.get(&(s, req)).copied() {
            Some(call) if call.attempt == attempt => {
                self.db_attempt_ended(now, s, req, call, Ended::TimedOut, DB_TIMEOUT, q)
            }
            _ => {} // answered in time, or a later attempt is out
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn db_attempt_ended(
        &mut self,
        now: SimTime,
        s: ShopperId,
        req: u32,
        call: DbCall,
        ended: Ended,
        why: &'static str,
        q: &mut Queue<Event>,
    ) {
        if !self.cp.fleet.nodes[call.node as usize].serving_requests() {
            self.db_calls.remove(&(s, req));
            return; // the node died; the shopper was told
        }
        match self.call_ended(
            now,
            call.node,
            Dep::Database,
            ended,
            (call.attempt, call.wait),
        ) {
            _ if ended == Ended::Ok => {
                self.db_calls.remove(&(s, req));
                q.at(now, Event::Done { s, req });
            }
            Some(wait) => {
                let next = DbCall {
                    attempt: call.attempt + 1,
                    wait,
                    ..call
                };
                self.db_calls.insert((s, req), next);
                q.at(now + wait, Event::DbRetry { s, req });
            }
            None => self.db_call_over(s, req, why, now, q),
        }
    }

    /// The node tries the call again, on the instance that takes the page now.
    pub(super) fn on_db_retry(
        &mut self,
        now: SimTime,
        s: ShopperId,
        req: u32,
        q: &mut Queue<Event>,
    ) {
        let Some(call) = self.db_calls.get(&(s, req)).copied() else {
            return;
        };
        let node_up = self.cp.fleet.nodes[call.node as usize].serving_requests();
        let Some((kind, _, _)) = self.job(s, req).filter(|_| node_up) else {
            self.db_calls.remove(&(s, req));
            return;
        };
        if !self.call_allowed(now, call.node, Dep::Database) {
            return self.db_call_over(s, req, DB_CIRCUIT_OPEN, now, q);
        }
        match self
            .db
            .as_mut()
            .expect("a call needs a database")
            .target_for(kind)
        {
            Some(i) => self.db_send(s, req, now, i, q),
            // No instance takes it: refused at once.
            None => self.db_attempt_ended(
                now,
                s,
                req,
                call,
                Ended::Failed,
                stratus_model::db::DB_UNAVAILABLE,
                q,
            ),
        }
    }

    /// The node's round trips to the session store for the page under
    /// `[fleet.calls.store]`, in ns: each attempt the store cannot take
    /// (across a partition, or with no primary for the shard) costs its
    /// wait and backoff before the next; an open breaker fails the page at
    /// once. A store that answers counts as a good call here; a primary
    /// lost between this moment and the page's end fails the page without
    /// counting against the breaker.
    pub(super) fn store_calls(
        &mut self,
        now: SimTime,
        id: NodeId,
        s: ShopperId,
        node_az: usize,
    ) -> u64 {
        let timeout = self.sc.fleet.calls.store.timeout.map(|d| d.0);
        let (mut spent, mut attempt, mut wait) = (0u64, 1u32, 0u64);
        loop {
            if !self.call_allowed(now + spent, id, Dep::Store) {
                self.outcomes
                    .set(s, Outcome::Failed(SESSION_STORE_CIRCUIT_OPEN));
                return spent;
            }
            if unreachable(self.outcomes.get(s)) {
                self.outcomes.set(s, Outcome::Pending); // the retry may get through
            }
            let t = self.session_trips(s, node_az);
            let failed = unreachable(self.outcomes.get(s)) || !self.store_has_primary(s);
            let ended = match timeout {
                Some(d) if t > d => {
                    self.outcomes.set(s, Outcome::Failed(SESSION_STORE_TIMEOUT));
                    spent += d;
                    Ended::TimedOut
                }
                _ if failed => {
                    spent += t;
                    Ended::Failed
                }
                _ => {
                    spent += t;
                    Ended::Ok
                }
            };
            match self.call_ended(now + spent, id, Dep::Store, ended, (attempt, wait)) {
                Some(w) if ended != Ended::Ok => {
                    spent += w;
                    (attempt, wait) = (attempt + 1, w);
                }
                _ => return spent,
            }
        }
    }

    fn store_has_primary(&self, s: ShopperId) -> bool {
        let sid = self.shoppers[s as usize].as_ref().and_then(|sh| sh.sid());
        let shard = sid.map_or(0, |sid| self.store.shard_of(sid));
        self.store.primary_az(shard).is_some()
    }
}
