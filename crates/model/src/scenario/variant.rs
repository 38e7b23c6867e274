//! Compare entries: a strategy, optionally with a cookie design, so one
//! `stratus compare` can put an unsigned cookie beside a signed one.
//!
//! `cookie:unsigned`, `cookie:signed`, `cookie:expiring` (signed, with an
//! expiry) and `cookie:versioned` (signed, with an expiry and a server-side
//! version) override the scenario's `[sessions.cookie]` for that run only.

use super::{Scenario, Strategy};
use crate::time::{Dur, MIN};

/// What `cookie:expiring` and `cookie:versioned` use when the scenario sets
/// no `max_age`: the store's default session TTL, so the two designs expire
/// idle carts alike.
pub const DEFAULT_VARIANT_MAX_AGE: Dur = Dur(30 * MIN);

/// A cookie design a compare entry asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieVariant {
    Unsigned,
    Signed,
    Expiring,
    Versioned,
}

impl CookieVariant {
    pub const ALL: [CookieVariant; 4] = [
        CookieVariant::Unsigned,
        CookieVariant::Signed,
        CookieVariant::Expiring,
        CookieVariant::Versioned,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CookieVariant::Unsigned => "unsigned",
            CookieVariant::Signed => "signed",
            CookieVariant::Expiring => "expiring",
            CookieVariant::Versioned => "versioned",
        }
    }
}

/// One column of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub strategy: Strategy,
    pub cookie: Option<CookieVariant>,
    /// One of the scenario's `[[variants]]`, by index.
    pub remedy: Option<u16>,
}

impl Entry {
    pub fn plain(strategy: Strategy) -> Entry {
        Entry {
            strategy,
            cookie: None,
            remedy: None,
        }
    }

    /// `store`, `cookie:unsigned`, …; the error says what was expected.
    pub fn parse(s: &str) -> Result<Entry, String> {
        let s = s.trim();
        let (st, variant) = match s.split_once(':') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let strategy = Strategy::parse(st).ok_or_else(|| {
            format!("unknown strategy {st:?}: expected sticky, cookie, store or durable (cookie may carry :unsigned, :signed, :expiring or :versioned)")
        })?;
        let cookie = match variant {
            None => None,
            Some(v) if strategy == Strategy::Cookie => Some(
                CookieVariant::ALL
                    .into_iter()
                    .find(|c| c.name() == v)
                    .ok_or_else(|| {
                        format!("unknown cookie design {v:?} in {s:?}: expected unsigned, signed, expiring or versioned")
                    })?,
            ),
            Some(_) => {
                return Err(format!(
                    "{s:?}: only cookie takes a design (cookie:unsigned, …): expected {st}"
                ));
            }
        };
        Ok(Entry {
            strategy,
            cookie,
            remedy: None,
        })
    }

    /// `cookie:unsigned`, or the strategy's name.
    pub fn label(&self) -> String {
        match self.cookie {
            Some(c) => format!("{}:{}", self.strategy, c.name()),
            None => self.strategy.name().to_string(),
        }
    }

    /// What a report calls this entry besides its strategy: the variant's
    /// name, or the cookie design.
    pub fn variant(&self, sc: &Scenario) -> Option<String> {
        match (self.remedy, self.cookie) {
            (Some(i), _) => Some(sc.variants[usize::from(i)].name.clone()),
            (None, c) => c.map(|c| c.name().to_string()),
        }
    }

    /// As a report labels this entry's run: `cookie:unsigned`,
    /// `cookie:budget` (a `[[variants]]` name), or the strategy's name.
    pub fn label_in(&self, sc: &Scenario) -> String {
        match self.variant(sc) {
            Some(v) => format!("{}:{v}", self.strategy),
            None => self.strategy.name().to_string(),
        }
    }

    /// The scenario as this entry runs it.
    pub fn apply(&self, sc: &Scenario) -> Scenario {
        let mut sc = match self.remedy {
            Some(i) => (*sc.variants[usize::from(i)].scenario).clone(),
            None => sc.clone(),
        };
        if let Some(v) = self.cookie {
            let c = &mut sc.sessions.cookie;
            let age = c.max_age.unwrap_or(DEFAULT_VARIANT_MAX_AGE);
            match v {
                CookieVariant::Unsigned => {
                    c.signed = false;
                    c.max_age = None;
                    c.versioned = false;
                }
                CookieVariant::Signed => {
                    c.signed = true;
                    c.max_age = None;
                    c.versioned = false;
                }
                CookieVariant::Expiring => {
                    c.signed = true;
                    c.max_age = Some(age);
                    c.versioned = false;
                }
                CookieVariant::Versioned => {
                    c.signed = true;
                    c.max_age = Some(age);
                    c.versioned = true;
                }
            }
        }
        sc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_and_label() {
        assert_eq!(
            Entry::parse("store").unwrap(),
            Entry::plain(Strategy::Store)
        );
        let e = Entry::parse("cookie:versioned").unwrap();
        assert_eq!(e.label(), "cookie:versioned");
        let sc = e.apply(&Scenario::new("t", Dur::from_secs(1)));
        assert!(sc.sessions.cookie.versioned && sc.sessions.cookie.max_age.is_some());
        assert!(Entry::parse("store:unsigned").is_err());
        assert!(Entry::parse("cookie:plain").is_err());
        assert!(Entry::parse("durability").is_err());
    }
}
