//! Replay defence for cookie sessions: an expiry and a server-side version.
//!
//! A signed cookie proves the server wrote it, not that it is the latest one:
//! a shopper who kept the cookie from before checkout can send it again and
//! get the bought cart back. The guard writes an expiry (`max_age`) and, when
//! versioned, a session id and version into the signed payload, and keeps the
//! current version of each session that ever moved past version 0 in a small
//! server-side record; checkout bumps the version, so every earlier cookie
//! of that session is refused. In the simulation the record is shared by
//! every node and survives every fault (it stands for a row in the database
//! or a key in the store); only sessions that checked out take an entry.

use super::cookie::{CookieError, Meta};
use super::{OrderedMap, Sid};
use crate::time::{Dur, SEC, SimTime};

#[derive(Clone, Debug, Default)]
pub struct CookieGuard {
    max_age: Option<u64>,
    versioned: bool,
    /// Current version per session; absent means 0.
    versions: OrderedMap<Sid, u32>,
}

impl CookieGuard {
    /// None when the cookie carries neither an expiry nor a version: then
    /// cookies are the plain `v1` format.
    pub fn new(max_age: Option<Dur>, versioned: bool) -> Option<CookieGuard> {
        (max_age.is_some() || versioned).then(|| CookieGuard {
            max_age: max_age.map(|d| d.0),
            versioned,
            versions: OrderedMap::default(),
        })
    }

    /// Whether a cookie with `meta` is still good at `now`.
    pub fn check(&self, meta: Option<&Meta>, now: SimTime) -> Result<(), CookieError> {
        let m = meta.ok_or(CookieError::Unguarded)?;
        if self.max_age.is_some() {
            match m.expires_s {
                Some(e) if now <= e.saturating_mul(SEC) => {}
                Some(_) => return Err(CookieError::Expired),
                None => return Err(CookieError::Unguarded),
            }
        }
        if self.versioned {
            let (sid, v) = m.version.ok_or(CookieError::Unguarded)?;
            if v < self.current(sid) {
                return Err(CookieError::Revoked);
            }
        }
        Ok(())
    }

    pub fn current(&self, sid: Sid) -> u32 {
        self.versions.get(&sid).copied().unwrap_or(0)
    }

    /// The meta for a cookie the server writes at `now`: the session of the
    /// cookie it accepted (`prior`), or a new one; after a checkout
    /// (`checkout`), the session's next version.
    pub fn issue(
        &mut self,
        prior: Option<Meta>,
        checkout: bool,
        now: SimTime,
        new_sid: &mut dyn FnMut() -> Sid,
    ) -> Meta {
        let version = self.versioned.then(|| {
            let sid = prior
                .and_then(|m| m.version)
                .map_or_else(&mut *new_sid, |(s, _)| s);
            let mut v = self.current(sid);
            if checkout {
                v += 1;
                self.versions.insert(sid, v);
            }
            (sid, v)
        });
        Meta {
            // Rounded up to the second, as a cookie's Expires is.
            expires_s: self.max_age.map(|a| (now + a).div_ceil(SEC)),
            version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkout_revokes_every_earlier_cookie_and_expiry_holds() {
        let mut g = CookieGuard::new(Some(Dur::from_secs(60)), true).unwrap();
        let mut n = 0u128;
        let mut sid = || {
            n += 1;
            n
        };
        let first = g.issue(None, false, 0, &mut sid);
        assert_eq!(g.check(Some(&first), 10 * SEC), Ok(()));
        let after = g.issue(Some(first), true, 20 * SEC, &mut sid);
        assert_eq!(
            after.version.unwrap().0,
            first.version.unwrap().0,
            "same session"
        );
        assert_eq!(g.check(Some(&first), 21 * SEC), Err(CookieError::Revoked));
        assert_eq!(g.check(Some(&after), 21 * SEC), Ok(()));
        assert_eq!(g.check(Some(&after), 81 * SEC), Err(CookieError::Expired));
        assert_eq!(g.check(None, 0), Err(CookieError::Unguarded));
        assert!(CookieGuard::new(None, false).is_none());
    }
}
