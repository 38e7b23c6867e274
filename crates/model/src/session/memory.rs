//! Sessions in an app server's memory (the sticky strategy), with the idle
//! timeout every servlet container and web framework applies: a session
//! nobody used for `[sessions.memory] timeout` is gone. A request that comes
//! back later finds an empty cart, and a periodic sweep frees the memory of
//! shoppers who left without checking out, as Tomcat's background expiry
//! does (once a minute by default), so a day-long run holds only what is
//! alive.

use super::{OrderedMap, SessionBackend, Sid, SidKey, Unavailable, find_hinted, remember};
use crate::cart::Cart;
use crate::time::{MIN, SEC, SimTime};

/// The Java Servlet specification's and Tomcat's default session timeout.
pub const DEFAULT_IDLE_TIMEOUT: u64 = 30 * MIN;

/// How often a server frees its expired sessions: Tomcat checks every
/// `backgroundProcessorDelay` (10 s) × `processExpiresFrequency` (6).
pub const SWEEP_EVERY: u64 = 60 * SEC;

/// A cart in a server's memory and when its session was last used.
#[derive(Clone, Debug)]
pub struct Held {
    pub cart: Cart,
    pub used: SimTime,
}

impl Held {
    pub fn new(now: SimTime) -> Held {
        Held {
            cart: Cart::default(),
            used: now,
        }
    }

    /// Whether a server whose sessions time out after `idle` has dropped
    /// this one by `now`.
    pub fn expired(&self, now: SimTime, idle: u64) -> bool {
        now.saturating_sub(self.used) > idle
    }

    /// Serves one request's `f` at `now`: an expired session reads as a new,
    /// empty one; any use restarts the idle clock. Whether the session is
    /// still worth keeping (an empty cart is not).
    pub fn serve(&mut self, now: SimTime, idle: u64, f: &mut dyn FnMut(&mut Cart) -> bool) -> bool {
        if self.expired(now, idle) {
            self.cart = Cart::default();
        }
        self.used = now;
        f(&mut self.cart);
        !self.cart.is_empty()
    }
}

/// Sessions in one app node's memory: gone when the node goes.
#[derive(Default, Debug)]
pub struct MemorySessions {
    pub map: OrderedMap<SidKey, Held>,
}

impl MemorySessions {
    /// The sessions as a request at `now` sees them, under timeout `idle`.
    pub fn at(&mut self, now: SimTime, idle: u64) -> MemoryAt<'_> {
        MemoryAt {
            sessions: self,
            now,
            idle,
            hint: None,
        }
    }

    /// The entry at position `at`, whosever it is: what a request whose
    /// shopper remembers `at` reads first (the simulator fetches it ahead).
    pub fn entry_at(&self, at: u32) -> Option<(&SidKey, &Held)> {
        self.map.get_index(at as usize)
    }

    /// Whether the node holds session `sid` (expired or not).
    pub fn holds(&self, sid: Sid) -> bool {
        self.map.contains_key(&SidKey::from(sid))
    }

    /// Frees every session idle past `idle` at `now`; how many.
    pub fn expire(&mut self, now: SimTime, idle: u64) -> usize {
        let before = self.map.len();
        self.map.retain(|_, h| !h.expired(now, idle));
        before - self.map.len()
    }
}

/// A node's sessions bound to a moment, as one request sees them.
pub struct MemoryAt<'a> {
    pub sessions: &'a mut MemorySessions,
    pub now: SimTime,
    pub idle: u64,
    /// Where the session was last seen in the map, kept by the caller.
    hint: Option<&'a mut u32>,
}

impl<'a> MemoryAt<'a> {
    /// Looks the session up at the position `hint` remembers first, and
    /// leaves there where it now is ([`find_hinted`]): with a few hundred
    /// thousand sessions a node, the hash probe is two cache misses before
    /// the session's own.
    pub fn hinted(mut self, hint: Option<&'a mut u32>) -> MemoryAt<'a> {
        self.hint = hint;
        self
    }
}

impl SessionBackend for MemoryAt<'_> {
    fn update(
        &mut self,
        sid: Sid,
        f: &mut dyn FnMut(&mut Cart) -> bool,
    ) -> Result<(), Unavailable> {
        let map = &mut self.sessions.map;
        let sid = SidKey::from(sid);
        match find_hinted(map, sid, self.hint.as_deref().copied()) {
            Some(i) => {
                let (_, h) = map.get_index_mut(i).expect("just found");
                if h.serve(self.now, self.idle, f) {
                    remember(&mut self.hint, i);
                } else {
                    map.swap_remove_index(i);
                }
            }
            None => {
                let mut h = Held::new(self.now);
                if h.serve(self.now, self.idle, f) {
                    let (i, _) = map.insert_full(sid, h);
                    remember(&mut self.hint, i);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cart::item;

    fn add(c: &mut Cart) -> bool {
        c.add(item(3));
        true
    }

    #[test]
    fn a_held_session_packs_without_padding() {
        // The map's entry is (hash, key, value): with an 8-byte-aligned key
        // it is 88 bytes; a u128 key would pad it to 96.
        assert_eq!(std::mem::align_of::<SidKey>(), 8);
        assert!(std::mem::size_of::<Held>() <= 64);
        assert_eq!(std::mem::size_of::<(u64, SidKey, Held)>(), 88);
    }

    #[test]
    fn a_hint_finds_the_session_and_a_wrong_one_is_only_slower() {
        let mut s = MemorySessions::default();
        let (mut h1, mut h2) = (u32::MAX, u32::MAX);
        s.at(0, MIN)
            .hinted(Some(&mut h1))
            .update(1, &mut add)
            .unwrap();
        s.at(0, MIN)
            .hinted(Some(&mut h2))
            .update(2, &mut add)
            .unwrap();
        assert_eq!((h1, h2), (0, 1));
        // Session 1 leaves (an emptied cart): 2 moves into its place, so
        // 2's hint is stale, and 1's now names session 2.
        s.at(0, MIN)
            .hinted(Some(&mut h1))
            .update(1, &mut |c| {
                c.items.clear();
                true
            })
            .unwrap();
        let count = |s: &mut MemorySessions, sid, hint: &mut u32| {
            let mut n = 0;
            s.at(0, MIN)
                .hinted(Some(hint))
                .update(sid, &mut |c| {
                    n = c.items.len();
                    false
                })
                .unwrap();
            n
        };
        assert_eq!(count(&mut s, 2, &mut h2), 1, "a stale hint still finds it");
        assert_eq!(h2, 0, "and is corrected");
        let mut wrong = 0;
        assert_eq!(
            count(&mut s, 1, &mut wrong),
            0,
            "a hint naming another session"
        );
        assert!(!s.holds(1) && s.holds(2));
        let mut far = 1_000;
        assert_eq!(count(&mut s, 2, &mut far), 1, "a hint past the end");
    }

    #[test]
    fn an_idle_session_expires_and_a_used_one_does_not() {
        let mut s = MemorySessions::default();
        s.at(0, MIN).update(1, &mut add).unwrap();
        s.at(0, MIN).update(2, &mut add).unwrap();
        // Session 2 is used at 50 s, so at 90 s only session 1 is past a minute.
        s.at(50 * SEC, MIN).update(2, &mut |_| false).unwrap();
        assert_eq!(s.expire(90 * SEC, MIN), 1);
        assert!(s.holds(2) && !s.holds(1));
    }

    #[test]
    fn a_request_after_the_timeout_finds_an_empty_cart() {
        let mut s = MemorySessions::default();
        s.at(0, MIN).update(1, &mut add).unwrap();
        let mut seen = usize::MAX;
        s.at(MIN + 1, MIN)
            .update(1, &mut |c| {
                seen = c.items.len();
                false
            })
            .unwrap();
        assert_eq!(seen, 0);
        assert!(
            s.map.is_empty(),
            "an expired session read and left empty is dropped"
        );
        // At exactly the timeout it is still there.
        s.at(0, MIN).update(1, &mut add).unwrap();
        s.at(MIN, MIN)
            .update(1, &mut |c| {
                seen = c.items.len();
                false
            })
            .unwrap();
        assert_eq!(seen, 1);
    }
}
