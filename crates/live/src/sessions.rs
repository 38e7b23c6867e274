//! Sticky sessions in a live node's memory: a concurrent map the node's
//! connections share. Behind the same [`SessionBackend`] trait as the model's
//! `MemorySessions`, so `shop::handle` is the code that changes carts.

use dashmap::DashMap;
use stratus_model::cart::Cart;
use stratus_model::session::memory::SWEEP_EVERY;
use stratus_model::session::{Held, SessionBackend, Sid, Unavailable};
use stratus_model::time::SimTime;

/// One node's sessions; dropped with the node.
#[derive(Default, Debug)]
pub struct NodeSessions {
    map: DashMap<Sid, Held>,
}

impl NodeSessions {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The sessions as a request at `now` sees them, under timeout `idle`
    /// (the model's rule: [`Held::serve`]).
    pub fn at(&self, now: SimTime, idle: u64) -> NodeSessionsAt<'_> {
        NodeSessionsAt {
            sessions: self,
            now,
            idle,
        }
    }

    /// Frees every session idle past `idle` at `now`; how many.
    pub fn expire(&self, now: SimTime, idle: u64) -> usize {
        let before = self.map.len();
        self.map.retain(|_, h| !h.expired(now, idle));
        before.saturating_sub(self.map.len())
    }
}

/// Frees the node's expired sessions once a model sweep period, for as long
/// as the node serves (the caller drops this future with the node).
pub async fn sweep(ctx: std::sync::Arc<super::node::NodeCtx>, idle: u64) {
    let mut tick = tokio::time::interval(std::time::Duration::from_nanos(SWEEP_EVERY));
    tick.tick().await;
    loop {
        tick.tick().await;
        ctx.sessions.expire(ctx.shop.clock.now(), idle);
    }
}

/// A node's sessions bound to a moment, as one request sees them.
pub struct NodeSessionsAt<'a> {
    sessions: &'a NodeSessions,
    now: SimTime,
    idle: u64,
}

impl SessionBackend for NodeSessionsAt<'_> {
    fn update(
        &mut self,
        sid: Sid,
        f: &mut dyn FnMut(&mut Cart) -> bool,
    ) -> Result<(), Unavailable> {
        // The entry's shard lock is held for the update, so two requests of one
        // session (a double click) do not lose each other's item.
        let map = &self.sessions.map;
        let mut entry = map.entry(sid).or_insert_with(|| Held::new(self.now));
        let keep = entry.serve(self.now, self.idle, f);
        drop(entry);
        if !keep {
            map.remove_if(&sid, |_, h| h.cart.is_empty());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_model::cart::item;

    #[test]
    fn empty_sessions_are_not_kept() {
        let s = NodeSessions::default();
        let mut b = s.at(0, 60_000_000_000);
        b.update(1, &mut |_| false).unwrap();
        assert!(s.is_empty());
        b.update(2, &mut |c| {
            c.add(item(3));
            true
        })
        .unwrap();
        assert_eq!(s.len(), 1);
        b.update(2, &mut |c| {
            c.items.clear();
            true
        })
        .unwrap();
        assert!(s.is_empty());
    }

    #[test]
    fn idle_sessions_expire_by_the_models_rule() {
        let min = 60_000_000_000u64;
        let s = NodeSessions::default();
        let add = &mut |c: &mut Cart| {
            c.add(item(3));
            true
        };
        s.at(0, min).update(1, add).unwrap();
        s.at(0, min).update(2, add).unwrap();
        s.at(50_000_000_000, min).update(2, &mut |_| false).unwrap();
        assert_eq!(s.expire(90_000_000_000, min), 1);
        assert_eq!(s.len(), 1);
        // A request after the timeout finds the cart gone.
        let mut seen = usize::MAX;
        s.at(200_000_000_000, min)
            .update(2, &mut |c| {
                seen = c.items.len();
                false
            })
            .unwrap();
        assert_eq!(seen, 0);
        assert!(s.is_empty());
    }
}
