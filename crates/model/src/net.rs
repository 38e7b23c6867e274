//! The network between places, as both drivers see it: one-way delays (the
//! region's, plus any `add_latency` in force), which AZs are cut off
//! (`partition_az`) and which balancer nodes answer (`kill_lb_node`). The
//! simulation waits the whole delay in virtual time; the live driver, whose
//! loopback already costs the base, waits only what was added.

use crate::scenario::{AzIx, Latency, Place};
use crate::time::SEC;

/// ALB's default idle timeout: how long it waits on a target that accepted
/// a connection and answers nothing before returning 504.
pub const LB_IDLE_TIMEOUT: u64 = 60 * SEC;

/// How long a node waits for a Redis connection (the store, the cache)
/// that does not answer: 2 s, the default connection timeout of Jedis, the
/// most common Java Redis client (redis-py and go-redis have none or 5 s).
/// A session read is on every request's path, so a client is tuned to give
/// up well before the balancer's 10 s.
pub const STORE_CONNECT_TIMEOUT: u64 = 2 * SEC;

#[derive(Clone, Debug)]
pub struct Net {
    lat: Latency,
    azs: usize,
    /// Added one-way delay, `[from][to]` over the AZs and then the internet.
    extra: Vec<u64>,
    /// `add_latency` entries in force, by the index their end refers to.
    adds: Vec<Option<(Place, Place, u64)>>,
    /// Any entry in force: without one, a hop reads no table.
    any_extra: bool,
    /// Cut off from the other AZs and the internet.
    pub partitioned: Vec<bool>,
    /// The balancer's node in each AZ answers.
    pub lb_up: Vec<bool>,
}

impl Net {
    pub fn new(lat: Latency, azs: usize) -> Net {
        Net {
            lat,
            azs,
            extra: vec![0; (azs + 1) * (azs + 1)],
            adds: Vec::new(),
            any_extra: false,
            partitioned: vec![false; azs],
            lb_up: vec![true; azs],
        }
    }

    fn ix(&self, p: Place) -> usize {
        match p {
            Place::Az(a) => a,
            Place::Internet => self.azs,
        }
    }

    /// One-way delay between two AZs.
    pub fn hop(&self, a: AzIx, b: AzIx) -> u64 {
        let base = self.hop_base(a, b);
        if self.any_extra {
            base + self.extra[a * (self.azs + 1) + b]
        } else {
            base
        }
    }

    /// One-way delay between a shopper and the balancer node in `az`.
    pub fn internet(&self, az: AzIx) -> u64 {
        if self.any_extra {
            self.lat.internet.0 + self.extra[self.azs * (self.azs + 1) + az]
        } else {
            self.lat.internet.0
        }
    }

    /// The delay `add_latency` put on top of the region's between two AZs.
    pub fn added_hop(&self, a: AzIx, b: AzIx) -> u64 {
        self.hop(a, b) - self.hop_base(a, b)
    }

    /// The delay `add_latency` put between the shoppers and the balancer
    /// node in `az`.
    pub fn added_internet(&self, az: AzIx) -> u64 {
        self.internet(az) - self.lat.internet.0
    }

    fn hop_base(&self, a: AzIx, b: AzIx) -> u64 {
        if a == b {
            self.lat.same_az.0
        } else {
            self.lat.cross_az.0
        }
    }

    /// Whether a connection from `a` to `b` gets through.
    pub fn reach(&self, a: AzIx, b: AzIx) -> bool {
        a == b || !(self.partitioned[a] || self.partitioned[b])
    }

    /// Whether a shopper can reach the balancer node in `az` (given its AZ has power).
    #[inline]
    pub fn lb_answers(&self, az: AzIx) -> bool {
        self.lb_up[az] && !self.partitioned[az]
    }

    /// Whether the balancer node in `az` takes connections: its AZ has
    /// power, and it is neither killed nor cut off.
    #[inline]
    pub fn answers(&self, alive: &[bool], az: AzIx) -> bool {
        alive[az] && self.lb_answers(az)
    }

    /// The first answering balancer node from `from` on, in AZ order: where
    /// an ideal resolver (one that answers only with live nodes) sends a
    /// shopper whose node stopped answering.
    pub fn next_answering(&self, alive: &[bool], from: AzIx) -> Option<AzIx> {
        let n = alive.len();
        (0..n)
            .map(|k| (from + k) % n)
            .find(|&a| self.answers(alive, a))
    }

    /// The AZs a replacement replica can go to: powered and not cut off.
    pub fn usable(&self, alive: &[bool]) -> Vec<bool> {
        (0..alive.len())
            .map(|a| alive[a] && !self.partitioned[a])
            .collect()
    }

    /// Adds delay both ways between two places; returns the handle its end uses.
    pub fn add_latency(&mut self, from: Place, to: Place, delay: u64) -> usize {
        self.adds.push(Some((from, to, delay)));
        self.rebuild();
        self.adds.len() - 1
    }

    pub fn remove_latency(&mut self, handle: usize) {
        if let Some(slot) = self.adds.get_mut(handle) {
            *slot = None;
        }
        self.rebuild();
    }

    fn rebuild(&mut self) {
        self.extra.iter_mut().for_each(|x| *x = 0);
        self.any_extra = self.adds.iter().any(Option::is_some);
        let n = self.azs + 1;
        for (from, to, d) in self.adds.clone().into_iter().flatten() {
            let (f, t) = (self.ix(from), self.ix(to));
            self.extra[f * n + t] += d;
            if f != t {
                self.extra[t * n + f] += d;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{Dur, MS, US};

    fn net() -> Net {
        Net::new(
            Latency {
                same_az: Dur(125 * US),
                cross_az: Dur(500 * US),
                internet: Dur(10 * MS),
            },
            3,
        )
    }

    #[test]
    fn latency_adds_both_ways_and_comes_off() {
        let mut n = net();
        let h = n.add_latency(Place::Az(0), Place::Az(2), 50 * MS);
        assert_eq!(n.hop(2, 0), 500 * US + 50 * MS);
        assert_eq!(n.hop(0, 1), 500 * US);
        assert_eq!(n.added_hop(0, 2), 50 * MS);
        assert_eq!(n.added_hop(0, 1), 0);
        let i = n.add_latency(Place::Internet, Place::Az(1), 30 * MS);
        assert_eq!(n.internet(1), 40 * MS);
        assert_eq!(n.added_internet(1), 30 * MS);
        n.remove_latency(h);
        assert_eq!(n.hop(0, 2), 500 * US);
        n.remove_latency(i);
        assert_eq!(n.internet(1), 10 * MS);
    }

    #[test]
    fn a_partitioned_az_reaches_only_itself() {
        let mut n = net();
        n.partitioned[1] = true;
        assert!(n.reach(1, 1));
        assert!(!n.reach(0, 1) && !n.reach(1, 2));
        assert!(n.reach(0, 2));
        assert!(!n.lb_answers(1));
        let alive = [true, true, false];
        assert_eq!(n.next_answering(&alive, 1), Some(0));
        assert_eq!(n.usable(&alive), vec![true, false, false]);
    }
}
