//! Where a shopper's cart lives between requests, per strategy.
//!
//! `sticky` keeps it in the node's memory ([`MemorySessions`]); `store` in the
//! Redis-like [`store::Store`]; `cookie` on the shopper's side ([`cookie`]).
//! Sid-keyed backends share one trait so the shop's request handlers
//! (`crate::shop`) are written once for every driver.

pub mod cookie;
pub mod guard;
pub mod memory;
pub mod store;

pub use memory::{Held, MemoryAt, MemorySessions};

use crate::cart::Cart;
use indexmap::IndexMap;
use rustc_hash::FxBuildHasher;

/// A 128-bit session id.
pub type Sid = u128;

/// A session id as the key of a map of sessions: two halves, so an entry
/// aligns to 8 bytes rather than `u128`'s 16, which left 8 bytes of padding
/// in every session a node or a store copy held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SidKey([u64; 2]);

impl From<Sid> for SidKey {
    fn from(sid: Sid) -> SidKey {
        SidKey([sid as u64, (sid >> 64) as u64])
    }
}

impl SidKey {
    pub fn sid(self) -> Sid {
        u128::from(self.0[0]) | (u128::from(self.0[1]) << 64)
    }
}

/// Where `sid` sits in `map`: at `hint` if the entry there is `sid`'s (a
/// position the caller remembered from the last request, so a lookup costs
/// one memory access instead of a hash probe's two cache misses first),
/// else wherever the probe finds it. A stale guess only costs the probe.
pub fn find_hinted<V>(
    map: &OrderedMap<SidKey, V>,
    sid: SidKey,
    hint: Option<u32>,
) -> Option<usize> {
    at_hint(map, sid, hint).or_else(|| map.get_index_of(&sid))
}

/// `hint`, if the entry there is `sid`'s; None without probing otherwise.
fn at_hint<V>(map: &OrderedMap<SidKey, V>, sid: SidKey, hint: Option<u32>) -> Option<usize> {
    hint.map(|i| i as usize)
        .filter(|&i| map.get_index(i).is_some_and(|(k, _)| *k == sid))
}

/// Stores where a session now sits, for [`find_hinted`] next time.
pub fn remember(hint: &mut Option<&mut u32>, at: usize) {
    if let Some(h) = hint.as_deref_mut() {
        *h = u32::try_from(at).unwrap_or(u32::MAX);
    }
}

/// The backend could not be reached (a store mid-failover, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("session backend unavailable")]
pub struct Unavailable;

/// A sid-keyed session backend.
pub trait SessionBackend {
    /// Runs `f` on the session's cart (an empty cart if the backend has no such
    /// session); when `f` returns true the cart changed and is stored, and an
    /// empty cart deletes the session. A node's memory runs it in place, so a
    /// page that only reads the cart copies nothing; the store runs it on a
    /// copy, because until a write reaches the replicas they hold the cart it
    /// replaced.
    fn update(&mut self, sid: Sid, f: &mut dyn FnMut(&mut Cart) -> bool)
    -> Result<(), Unavailable>;

    /// Shows `f` the session's cart (an empty cart if the backend has no
    /// such session): [`SessionBackend::update`] with an `f` that changes
    /// nothing, which a backend may serve without a copy. The store reads
    /// its entry where it lies.
    fn read(&mut self, sid: Sid, f: &mut dyn FnMut(&Cart)) -> Result<(), Unavailable> {
        self.update(sid, &mut |cart| {
            f(cart);
            false
        })
    }
}

/// Insertion-ordered hash map with a fixed hasher: O(1) lookups, and any
/// iteration is deterministic, unlike `std::collections::HashMap`.
pub type OrderedMap<K, V> = IndexMap<K, V, FxBuildHasher>;
