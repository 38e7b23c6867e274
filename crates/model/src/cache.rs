//! The cache cluster (ElastiCache-like, in the memcached style): nodes in AZs,
//! keys spread over them by hash, values with a TTL, no replication. A node
//! lost with its AZ takes its keys with it; a request whose key lives on a
//! dead node goes to the database.

use crate::core::AzIx;
use crate::session::OrderedMap;
use crate::time::SimTime;

/// What the shop caches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Featured,
    Product(u32),
    Account(u32),
}

impl Key {
    /// The key a page of `kind` reads through the cache, if it reads one
    /// (what `shop::handle` asks its data for): the product page's
    /// `product`, the added `item`'s product, the signed-in `user`'s account.
    pub fn of_page(
        kind: crate::core::Kind,
        product: Option<u32>,
        item: Option<crate::cart::Item>,
        user: u32,
    ) -> Option<Key> {
        use crate::core::Kind;
        match kind {
            Kind::Home => Some(Key::Featured),
            Kind::Product => product.map(Key::Product),
            Kind::AddToCart => item.map(|i| Key::Product(i.product)),
            Kind::Account => Some(Key::Account(user)),
            _ => None,
        }
    }

    /// The key's length as the nodes name it (`featured`, `product:12`,
    /// `account:7`).
    pub fn text_len(self) -> usize {
        use crate::cart::digits;
        match self {
            Key::Featured => "featured".len(),
            Key::Product(p) => "product:".len() + digits(p.into()),
            Key::Account(u) => "account:".len() + digits(u.into()),
        }
    }

    /// Spreads keys over nodes (a fixed mix, so placement is reproducible).
    fn slot(self, nodes: usize) -> usize {
        let x = match self {
            Key::Featured => 0x9e37_79b9_7f4a_7c15,
            Key::Product(p) => 1 ^ (u64::from(p) << 8),
            Key::Account(u) => 2 ^ (u64::from(u) << 8),
        };
        let h = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        ((h ^ (h >> 33)) % nodes as u64) as usize
    }
}

#[derive(Debug)]
pub struct CacheNode {
    pub az: AzIx,
    pub alive: bool,
    map: OrderedMap<Key, (Vec<u8>, SimTime)>,
}

/// Counters the report shows under `cache`.
#[derive(Debug, Default, Clone)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub sets: u64,
    pub invalidations: u64,
    /// Keys dropped when their node died.
    pub keys_lost: u64,
    /// Lookups whose node was dead.
    pub unavailable: u64,
}

#[derive(Debug)]
pub struct Cache {
    pub nodes: Vec<CacheNode>,
    ttl: u64,
    /// A node's time for one operation (`[cache] op_time`).
    op_time: u64,
    pub stats: CacheStats,
}

impl Cache {
    pub fn new(azs: &[AzIx], ttl: u64, op_time: u64) -> Cache {
        Cache {
            nodes: azs
                .iter()
                .map(|&az| CacheNode {
                    az,
                    alive: true,
                    map: OrderedMap::default(),
                })
                .collect(),
            ttl,
            op_time,
            stats: CacheStats::default(),
        }
    }

    /// How long a filled entry lives, in nanoseconds.
    pub fn ttl(&self) -> u64 {
        self.ttl
    }

    /// The node holding `key`.
    pub fn node_of(&self, key: Key) -> usize {
        key.slot(self.nodes.len())
    }

    /// What a node finds for `key` at `now` when it looks before querying
    /// the database (both drivers): None when the key's node is dead or
    /// not `reached` (given its AZ: across a partition). Counts nothing.
    pub fn look(&self, key: Key, now: SimTime, reached: impl FnOnce(AzIx) -> bool) -> Option<bool> {
        let az = self.nodes[self.node_of(key)].az;
        if reached(az) {
            self.peek(key, now)
        } else {
            None
        }
    }

    /// What a node's look for `key` at `now` finds, and how long its round
    /// trips take given the one-way `hop` to an AZ (both drivers): a hit is
    /// one round trip and the node's operation, a miss two (the look, then
    /// the fill once the database has answered), and a node that is dead
    /// or not `reached` refuses the connection, one round trip's worth.
    /// Counts nothing.
    pub fn look_timed(
        &self,
        key: Key,
        now: SimTime,
        reached: impl FnOnce(AzIx) -> bool,
        hop: impl FnOnce(AzIx) -> u64,
    ) -> (bool, u64) {
        let trip = 2 * hop(self.nodes[self.node_of(key)].az);
        let rtt = trip + self.op_time;
        match self.look(key, now, reached) {
            Some(true) => (true, rtt),
            Some(false) => (false, 2 * rtt),
            None => (false, trip),
        }
    }

    /// Whether `key` would hit at `now` (None: its node is dead). Counts nothing.
    pub fn peek(&self, key: Key, now: SimTime) -> Option<bool> {
        let n = &self.nodes[self.node_of(key)];
        n.alive
            .then(|| n.map.get(&key).is_some_and(|(_, exp)| *exp > now))
    }

    /// The cached value, if fresh; counts a hit or a miss.
    pub fn get(&mut self, key: Key, now: SimTime) -> Option<&[u8]> {
        let i = self.node_of(key);
        let n = &mut self.nodes[i];
        if !n.alive {
            self.stats.unavailable += 1;
            return None;
        }
        match n.map.get(&key) {
            Some((v, exp)) if *exp > now => {
                self.stats.hits += 1;
                Some(v)
            }
            _ => {
                self.stats.misses += 1;
                None
            }
        }
    }

    /// Stores `value` for the TTL (cache-aside fills after a miss).
    pub fn set(&mut self, key: Key, value: Vec<u8>, now: SimTime) {
        let i = self.node_of(key);
        let ttl = self.ttl;
        let n = &mut self.nodes[i];
        if n.alive {
            n.map.insert(key, (value, now + ttl));
            self.stats.sets += 1;
        }
    }

    /// Drops `key` after a write changed what it holds; whether it was there.
    pub fn invalidate(&mut self, key: Key) -> bool {
        let i = self.node_of(key);
        let held = self.nodes[i].map.swap_remove(&key).is_some();
        if held {
            self.stats.invalidations += 1;
        }
        held
    }

    /// Nodes in `az` lose power and everything they held.
    pub fn kill_az(&mut self, az: AzIx) {
        for n in self.nodes.iter_mut().filter(|n| n.az == az && n.alive) {
            n.alive = false;
            self.stats.keys_lost += n.map.len() as u64;
            n.map = OrderedMap::default();
        }
    }

    /// Nodes in `az` come back, empty.
    pub fn restore_az(&mut self, az: AzIx) {
        for n in self.nodes.iter_mut().filter(|n| n.az == az) {
            n.alive = true;
        }
    }

    /// Cached keys across live nodes.
    pub fn keys(&self) -> usize {
        self.nodes.iter().map(|n| n.map.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_invalidation_and_az_loss() {
        let mut c = Cache::new(&[0, 1], 100, 0);
        let k = Key::Product(7);
        assert!(c.get(k, 0).is_none());
        c.set(k, b"v".to_vec(), 0);
        assert_eq!(c.peek(k, 50), Some(true));
        assert_eq!(c.get(k, 50), Some(&b"v"[..]));
        assert!(c.get(k, 100).is_none(), "expired at the TTL");
        c.set(k, b"v".to_vec(), 100);
        c.invalidate(k);
        assert!(c.get(k, 101).is_none());
        for p in 0..100 {
            c.set(Key::Product(p), vec![1], 200);
        }
        let on_a = c.nodes[0].map.len() as u64;
        assert!(on_a > 20 && on_a < 80, "keys spread over nodes: {on_a}");
        c.kill_az(0);
        assert_eq!(c.stats.keys_lost, on_a);
        let dead = (0..100).find(|&p| c.node_of(Key::Product(p)) == 0).unwrap();
        assert_eq!(c.peek(Key::Product(dead), 201), None);
        assert_eq!(c.keys() as u64, 100 - on_a);
    }

    #[test]
    fn a_look_costs_one_round_trip_on_a_hit_two_on_a_miss() {
        let mut c = Cache::new(&[0, 1], 100, 7);
        let (k, hop) = (Key::Product(3), |az: AzIx| 10 + az as u64);
        let trip = 2 * hop(c.nodes[c.node_of(k)].az);
        let yes = |_| true;
        assert_eq!(c.look_timed(k, 0, yes, hop), (false, 2 * (trip + 7)));
        c.set(k, vec![1], 0);
        assert_eq!(c.look_timed(k, 50, yes, hop), (true, trip + 7));
        // Across a partition, or dead: refused, one round trip's worth.
        assert_eq!(c.look_timed(k, 50, |_| false, hop), (false, trip));
        c.kill_az(c.nodes[c.node_of(k)].az);
        assert_eq!(c.look_timed(k, 50, yes, hop), (false, trip));
        assert_eq!(
            (c.stats.hits, c.stats.misses),
            (0, 0),
            "a look counts nothing"
        );
    }
}
