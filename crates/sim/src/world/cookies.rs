//! The cart cookie each shopper's browser holds (the cookie design), by
//! shopper slot.
//!
//! Only the cookie design sets one, so it is kept apart from the shoppers:
//! in `sticky` and `store` every shopper would otherwise carry an empty
//! 16-byte slot, about 5 % of what an active shopper costs, and the table
//! here stays empty. It grows to the highest slot that ever held a cookie;
//! a shopper who leaves takes its cookie with it.

use stratus_model::node::ShopperId;

#[derive(Default)]
pub(super) struct CartCookies {
    by_slot: Vec<Option<Box<[u8]>>>,
}

impl CartCookies {
    /// The cookie the shopper in slot `s` sends, if its browser holds one.
    pub(super) fn get(&self, s: ShopperId) -> Option<&[u8]> {
        self.by_slot.get(s as usize)?.as_deref()
    }

    /// The browser in slot `s` keeps `value` in place of its cookie.
    pub(super) fn set(&mut self, s: ShopperId, value: Vec<u8>) {
        let i = s as usize;
        if i >= self.by_slot.len() {
            self.by_slot.resize_with(i + 1, || None);
        }
        self.by_slot[i] = Some(value.into_boxed_slice());
    }

    /// The shopper in slot `s` has left: its browser's cookie goes too.
    pub(super) fn forget(&mut self, s: ShopperId) {
        if let Some(c) = self.by_slot.get_mut(s as usize) {
            *c = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_holds_its_cookie_until_its_shopper_leaves() {
        let mut c = CartCookies::default();
        assert_eq!(c.get(3), None);
        c.set(3, b"a.b".to_vec());
        assert_eq!(c.get(3), Some(&b"a.b"[..]));
        assert_eq!(c.get(2), None, "no other slot gets one");
        c.set(3, b"c.d".to_vec());
        assert_eq!(c.get(3), Some(&b"c.d"[..]), "a new cookie replaces the old");
        c.forget(3);
        assert_eq!(c.get(3), None);
        c.forget(9); // a slot that never held one
        assert_eq!(c.get(9), None);
    }

    #[test]
    fn without_cookies_the_table_takes_no_room() {
        let mut c = CartCookies::default();
        for s in 0..1000 {
            assert_eq!(c.get(s), None);
            c.forget(s);
        }
        assert_eq!(c.by_slot.capacity(), 0);
    }
}
