//! Sticky sessions in a live node's memory: a concurrent map the node's
//! connections share. Behind the same [`SessionBackend`] trait as the model's
//! `MemorySessions`, so `shop::handle` is the code that changes carts.

use dashmap::DashMap;
use stratus_model::cart::Cart;
use stratus_model::session::{SessionBackend, Sid, Unavailable};

/// One node's sessions; dropped with the node.
#[derive(Default, Debug)]
pub struct NodeSessions {
    map: DashMap<Sid, Cart>,
}

impl NodeSessions {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl SessionBackend for &NodeSessions {
    fn update(
        &mut self,
        sid: Sid,
        f: &mut dyn FnMut(&mut Cart) -> bool,
    ) -> Result<(), Unavailable> {
        // The entry's shard lock is held for the update, so two requests of one
        // session (a double click) do not lose each other's item.
        let mut entry = self.map.entry(sid).or_default();
        let changed = f(entry.value_mut());
        let empty = entry.value().is_empty();
        drop(entry);
        if empty || !changed {
            self.map.remove_if(&sid, |_, c| c.is_empty());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_model::cart::{Item, price_of};

    #[test]
    fn empty_sessions_are_not_kept() {
        let s = NodeSessions::default();
        let mut b = &s;
        b.update(1, &mut |_| false).unwrap();
        assert!(s.is_empty());
        b.update(2, &mut |c| {
            c.add(Item {
                product: 3,
                size: 0,
                colour: 0,
                qty: 1,
                price_cents: price_of(3),
            });
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
}
