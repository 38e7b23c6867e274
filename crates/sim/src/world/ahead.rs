//! What the world asks the CPU to fetch before it reads it.
//!
//! With hundreds of thousands of shoppers, what a request touches first is
//! cold: the shopper's record when it comes back from thinking, and its
//! session (in a node's memory, the store, or the cookie it sends) when its
//! service ends. Each fetch starts one event early (the engine names the
//! next event), so the wait overlaps other work. The session is asked for
//! twice: when its service starts, which brings it at least into the
//! shared cache, and again one event before the service ends, because
//! a service of milliseconds is thousands of events and the first fetch
//! has usually left the core's own caches by then.
//! Only hints: nothing here changes a value, so a run's results cannot
//! depend on it.

use super::{Event, World};
use crate::prefetch::{prefetch, prefetch_slice};
use stratus_model::lb::NodeId;
use stratus_model::node::ShopperId;
use stratus_model::workload::Shopper;

impl World {
    /// Fetches what handling `next` will read first: its shopper and the
    /// shopper's outcome index; for a request about to finish, its session
    /// and the request its worker takes next from the node's queue, which
    /// waited there long enough to go cold.
    pub(super) fn fetch_ahead(&self, next: &Event) {
        let (Event::AtLb { s, .. }
        | Event::AtNode { s, .. }
        | Event::Done { s, .. }
        | Event::AtClient { s, .. }) = next
        else {
            return;
        };
        let Some(slot) = self.shoppers.get(*s as usize) else {
            return;
        };
        prefetch(slot);
        self.outcomes.prefetch(*s);
        let (Event::Done { .. }, Some(sh)) = (next, slot) else {
            return;
        };
        if let Some(id) = sh.node()
            && let Some(node) = self.cp.fleet.nodes.get(id as usize)
        {
            self.fetch_session(id, *s, sh);
            // FIFO takes the front, LIFO the back.
            let queue = &node.station.queue;
            for &((waiting, _), _) in queue.front().into_iter().chain(queue.back()) {
                if let Some(w) = self.shoppers.get(waiting as usize) {
                    prefetch(w);
                    self.outcomes.prefetch(waiting);
                }
            }
        }
    }

    /// Fetches the session `sh`'s request on node `id` reads when its
    /// service ends: the entry where the shopper last found it (in the
    /// store's primary or the node's memory; whosever it is now, the
    /// request checks), or the cookie it sent.
    pub(super) fn fetch_session(&self, id: NodeId, s: ShopperId, sh: &Shopper) {
        if let Some(cookie) = self.cookies.get(s) {
            prefetch_slice(cookie);
        }
        if sh.session_at == u32::MAX {
            return;
        }
        if self.strategy.uses_store() {
            if let Some(sid) = sh.sid()
                && let Some((key, entry)) = self.store.primary_entry_at(sid, sh.session_at)
            {
                prefetch(key);
                prefetch(entry);
            }
        } else if let Some(node) = self.cp.fleet.nodes.get(id as usize)
            && let Some((key, held)) = node.sessions.entry_at(sh.session_at)
        {
            prefetch(key);
            prefetch(held);
        }
    }
}
