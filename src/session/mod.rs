//! Where a shopper's cart lives between requests, per strategy.
//!
//! `sticky` keeps it in the node's memory ([`MemorySessions`]); `store` in the
//! Redis-like [`store::Store`]; `cookie` on the shopper's side ([`cookie`]).
//! Sid-keyed backends share one trait so the shop's request handlers
//! (`crate::shop`) are written once for every driver.

pub mod cookie;
pub mod store;

use crate::cart::Cart;
use indexmap::IndexMap;
use rustc_hash::FxBuildHasher;

/// A 128-bit session id.
pub type Sid = u128;

/// The backend could not be reached (a store mid-failover, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("session backend unavailable")]
pub struct Unavailable;

/// A sid-keyed session backend.
pub trait SessionBackend {
    /// The cart for `sid`, None if the backend has no such session.
    fn load(&mut self, sid: Sid) -> Result<Option<Cart>, Unavailable>;
    /// Stores the cart (an empty cart deletes the session).
    fn save(&mut self, sid: Sid, cart: &Cart) -> Result<(), Unavailable>;
}

/// Insertion-ordered hash map with a fixed hasher: O(1) lookups, and any
/// iteration is deterministic, unlike `std::collections::HashMap`.
pub type OrderedMap<K, V> = IndexMap<K, V, FxBuildHasher>;

/// Sessions in one app node's memory: gone when the node goes.
#[derive(Default, Debug)]
pub struct MemorySessions {
    pub map: OrderedMap<Sid, Cart>,
}

impl SessionBackend for MemorySessions {
    fn load(&mut self, sid: Sid) -> Result<Option<Cart>, Unavailable> {
        Ok(self.map.get(&sid).cloned())
    }
    fn save(&mut self, sid: Sid, cart: &Cart) -> Result<(), Unavailable> {
        if cart.is_empty() {
            self.map.swap_remove(&sid);
        } else {
            match self.map.get_mut(&sid) {
                Some(c) => c.clone_from(cart),
                None => {
                    self.map.insert(sid, cart.clone());
                }
            }
        }
        Ok(())
    }
}
