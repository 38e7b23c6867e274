//! The shop's request handlers: what an app node does with a request, whatever
//! drives it (the simulation engine in stratus-sim, or the live nodes in stratus-live).
//!
//! A handler loads the session from the strategy's backend, applies the page's
//! effect on the cart, saves it, and answers with what the shopper's browser
//! receives: the cart as the server sees it, and any cookie to set.

use crate::cart::{Cart, Item};
use crate::core::Kind;
use crate::db::DbError;
use crate::db::sql::{Account, Product};
use crate::scenario::Strategy;
use crate::session::cookie::{CookieCodec, CookieError};
use crate::session::guard::CookieGuard;
use crate::session::{SessionBackend, Sid, Unavailable};
use crate::time::SimTime;

/// The session part of a request, as the browser sent it.
pub enum SessionIn<'a> {
    /// A session-id cookie (sticky and store), if the browser has one.
    Sid(Option<Sid>),
    /// A cart cookie (cookie strategy), if the browser has one.
    Cookie(Option<&'a [u8]>),
}

/// The shop's data (products, accounts, orders), wherever it is kept.
pub trait Data {
    fn featured(&mut self) -> Result<Vec<Product>, DbError>;
    fn product(&mut self, id: u32) -> Result<Option<Product>, DbError>;
    fn account(&mut self, user: u32) -> Result<Option<Account>, DbError>;
    /// The user's recent order ids, newest first.
    fn orders(&mut self, user: u32) -> Result<Vec<i64>, DbError>;
    /// Records the cart as an order; its id.
    fn place_order(&mut self, user: u32, cart: &Cart) -> Result<i64, DbError>;
    fn change_address(&mut self, user: u32, line: &str) -> Result<(), DbError>;
}

/// Where the handler keeps sessions for this request.
pub enum Backend<'a> {
    Sid(&'a mut dyn SessionBackend),
    Cookie(&'a CookieCodec),
    /// A cart cookie with an expiry and/or a server-side version, checked
    /// by the guard at the given time (replay defence).
    GuardedCookie(&'a CookieCodec, &'a mut CookieGuard, SimTime),
}

impl<'a> SessionIn<'a> {
    /// What the browser sends that names its session under `strategy`: the
    /// cart cookie (cookie) or the session id (the others).
    pub fn of(strategy: Strategy, sid: Option<Sid>, cookie: Option<&'a [u8]>) -> Self {
        match strategy {
            Strategy::Cookie => SessionIn::Cookie(cookie),
            _ => SessionIn::Sid(sid),
        }
    }
}

/// Where one node keeps sessions, each place the driver's own: its memory,
/// the store or table (None when the strategy does not use one), the cookie
/// codec and its guard.
pub struct Places<'a> {
    pub memory: &'a mut dyn SessionBackend,
    pub store: Option<&'a mut dyn SessionBackend>,
    pub codec: &'a CookieCodec,
    pub guard: Option<&'a mut CookieGuard>,
    pub now: SimTime,
}

/// The session backend a node uses under `strategy`: its own memory
/// (sticky), the cart cookie, guarded when the scenario keeps a guard
/// (cookie), or the store or table (store, durable). The one choice the
/// simulation's nodes, its attackers' probes and the live nodes all make.
#[inline]
pub fn backend(strategy: Strategy, p: Places<'_>) -> Backend<'_> {
    match strategy {
        Strategy::Sticky => Backend::Sid(p.memory),
        Strategy::Cookie => Backend::cookie(p.codec, p.guard, p.now),
        Strategy::Store | Strategy::Durable => {
            Backend::Sid(p.store.expect("a store strategy's node is given its store"))
        }
    }
}

impl<'a> Backend<'a> {
    /// The cookie backend every driver uses: guarded (expiry, version) at
    /// `now` when the scenario keeps a guard, plain otherwise.
    pub fn cookie(
        codec: &'a CookieCodec,
        guard: Option<&'a mut CookieGuard>,
        now: SimTime,
    ) -> Self {
        match guard {
            Some(g) => Backend::GuardedCookie(codec, g, now),
            None => Backend::Cookie(codec),
        }
    }
}

/// A shop request.
pub struct Request<'a> {
    pub kind: Kind,
    /// The item an add_to_cart adds.
    pub item: Option<Item>,
    pub session: SessionIn<'a>,
    /// The signed-in user (pages that read or write their data).
    pub user: u32,
    /// The product a product page shows.
    pub product: Option<u32>,
    /// The new address an address change sends.
    pub address: Option<&'a str>,
}

/// Why a request failed at the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The session backend could not be reached.
    SessionUnavailable,
    /// The database (or the instance the read went to) could not serve.
    Database,
}

/// What the server answered.
#[derive(Debug, Default)]
pub struct Response {
    /// The cart as the server holds it, on pages that show it
    /// (add_to_cart, view_cart); for checkout, what was bought.
    pub cart: Option<Cart>,
    /// Pieces in the cart, shown in every page's badge.
    pub badge: u32,
    /// A new session id to set.
    pub set_sid: Option<Sid>,
    /// A new cart cookie value to set.
    pub set_cookie: Option<Vec<u8>>,
    /// The cart cookie sent was refused and treated as no session.
    pub cookie_rejected: Option<CookieError>,
    /// Whether an order was placed.
    pub ordered: bool,
    /// The order placed, as the database numbered it.
    pub order_id: Option<i64>,
    /// Order history: recent order ids, newest first.
    pub orders: Option<Vec<i64>>,
    /// The account page's user and addresses.
    /// Boxed: most responses carry none, and the response sits in every
    /// shopper's outcome slot.
    pub account: Option<Box<Account>>,
    /// Set by the driver: an eventually consistent read answered from a copy
    /// behind the newest write.
    pub stale: bool,
}

/// Handles one request. `new_sid` supplies a session id when one is needed.
/// `data` is None for a shop without a database: its pages touch only the session.
pub fn handle(
    req: Request<'_>,
    backend: Backend<'_>,
    data: Option<&mut dyn Data>,
    new_sid: &mut dyn FnMut() -> Sid,
) -> Result<Response, Failure> {
    let mut resp = Response::default();
    handle_into(req, backend, data, new_sid, &mut resp)?;
    Ok(resp)
}

/// [`handle`], writing the page into `resp` (a default [`Response`]) where
/// the caller keeps it: the simulator decides a response in the slot it
/// delivers it from, so a response is built once and never moved.
pub fn handle_into(
    req: Request<'_>,
    backend: Backend<'_>,
    mut data: Option<&mut dyn Data>,
    new_sid: &mut dyn FnMut() -> Sid,
    resp: &mut Response,
) -> Result<(), Failure> {
    let unavailable = |_: Unavailable| Failure::SessionUnavailable;
    let mut db_failed = false;
    if let Some(d) = data.as_deref_mut() {
        read_page(&req, d, resp).map_err(|_| Failure::Database)?;
    }
    match backend {
        Backend::Sid(store) => {
            let sid = match req.session {
                SessionIn::Sid(Some(s)) => s,
                _ => {
                    let s = new_sid();
                    resp.set_sid = Some(s);
                    s
                }
            };
            // An id the backend does not know is an empty session: what a
            // re-stuck sticky shopper or an expired store session finds.
            let (kind, item, user) = (req.kind, req.item, req.user);
            let served = if kind.changes_cart() {
                store.update(sid, &mut |cart| {
                    if !order(kind, user, cart, &mut data, resp) {
                        db_failed = true;
                        return false;
                    }
                    let changed = apply(kind, item, cart, resp);
                    finish(kind, cart, resp);
                    changed
                })
            } else {
                // Neither `order` nor `apply` acts on this page.
                store.read(sid, &mut |cart| finish(kind, cart, resp))
            };
            served.map_err(unavailable)?;
        }
        Backend::Cookie(codec) => cookie(&req, codec, None, data, new_sid, resp)?,
        Backend::GuardedCookie(codec, guard, now) => {
            cookie(&req, codec, Some((guard, now)), data, new_sid, resp)?
        }
    }
    if db_failed {
        return Err(Failure::Database);
    }
    Ok(())
}

/// The cookie strategy's session: the cart from the cookie the browser sent
/// (refused if it fails verification or the guard), the page's effect, and
/// a new cookie if the cart changed.
fn cookie(
    req: &Request<'_>,
    codec: &CookieCodec,
    mut guard: Option<(&mut CookieGuard, SimTime)>,
    mut data: Option<&mut dyn Data>,
    new_sid: &mut dyn FnMut() -> Sid,
    resp: &mut Response,
) -> Result<(), Failure> {
    let mut meta = None;
    let mut cart = match req.session {
        SessionIn::Cookie(Some(v)) => {
            let checked = codec.decode_with(v).and_then(|(c, m)| match &guard {
                Some((g, now)) => g.check(m.as_ref(), *now).map(|()| (c, m)),
                None => Ok((c, m)),
            });
            match checked {
                Ok((c, m)) => {
                    meta = m;
                    c
                }
                Err(e) => {
                    resp.cookie_rejected = Some(e);
                    Cart::default()
                }
            }
        }
        _ => Cart::default(),
    };
    if !order(req.kind, req.user, &cart, &mut data, resp) {
        return Err(Failure::Database);
    }
    let checkout = req.kind == Kind::Checkout && !cart.is_empty();
    if apply(req.kind, req.item, &mut cart, resp) {
        resp.set_cookie = Some(match &mut guard {
            Some((g, now)) => {
                let m = g.issue(meta, checkout, *now, new_sid);
                codec.encode_with(&cart, Some(&m))
            }
            None => codec.encode(&cart),
        });
    }
    finish(req.kind, &cart, resp);
    Ok(())
}

/// What a page reads or writes in the database, besides the cart.
fn read_page(req: &Request<'_>, d: &mut dyn Data, resp: &mut Response) -> Result<(), DbError> {
    match req.kind {
        Kind::Home => {
            d.featured()?;
        }
        Kind::Product => {
            d.product(req.product.unwrap_or(0))?;
        }
        Kind::AddToCart => {
            // The price comes from the catalogue, not from the browser.
            if let Some(i) = req.item {
                d.product(i.product)?;
            }
        }
        Kind::Account => resp.account = d.account(req.user)?.map(Box::new),
        Kind::Orders => resp.orders = Some(d.orders(req.user)?),
        Kind::Address => d.change_address(req.user, req.address.unwrap_or_default())?,
        Kind::ViewCart | Kind::Checkout => {}
    }
    Ok(())
}

/// At checkout, records a non-empty cart as an order before the session lets
/// go of it; false if the database refused (the cart then stays).
fn order(
    kind: Kind,
    user: u32,
    cart: &Cart,
    data: &mut Option<&mut dyn Data>,
    resp: &mut Response,
) -> bool {
    match data {
        Some(d) if kind == Kind::Checkout && !cart.is_empty() => match d.place_order(user, cart) {
            Ok(id) => {
                resp.order_id = Some(id);
                true
            }
            Err(_) => false,
        },
        _ => true,
    }
}

/// Applies the page's effect on the cart; true if the cart changed (only
/// on a page that [`Kind::changes_cart`]).
fn apply(kind: Kind, item: Option<Item>, cart: &mut Cart, resp: &mut Response) -> bool {
    match kind {
        Kind::AddToCart => match item {
            Some(i) => {
                cart.add(i);
                true
            }
            None => false,
        },
        Kind::Checkout if !cart.is_empty() => {
            resp.cart = Some(std::mem::take(cart));
            resp.ordered = true;
            true
        }
        _ => false,
    }
}

/// What the page shows of the cart: the badge always, the whole cart on the
/// pages that list it.
fn finish(kind: Kind, cart: &Cart, resp: &mut Response) {
    resp.badge = cart.count();
    if matches!(kind, Kind::AddToCart | Kind::ViewCart) {
        resp.cart = Some(cart.clone());
    } else if kind == Kind::Checkout && resp.cart.is_none() {
        resp.cart = Some(Cart::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cart::item;
    use crate::session::MemorySessions;

    #[test]
    fn memory_session_flow() {
        let mut sessions = MemorySessions::default();
        let mut mem = sessions.at(0, crate::time::MIN);
        let mut next = 41u128;
        let mut new_sid = || {
            next += 1;
            next
        };
        let r = handle(
            Request {
                kind: Kind::AddToCart,
                item: Some(item(1)),
                session: SessionIn::Sid(None),
                user: 0,
                product: None,
                address: None,
            },
            Backend::Sid(&mut mem),
            None,
            &mut new_sid,
        )
        .unwrap();
        let sid = r.set_sid.unwrap();
        assert_eq!(r.cart.unwrap().count(), 1);
        let r = handle(
            Request {
                kind: Kind::Checkout,
                item: None,
                session: SessionIn::Sid(Some(sid)),
                user: 0,
                product: None,
                address: None,
            },
            Backend::Sid(&mut mem),
            None,
            &mut new_sid,
        )
        .unwrap();
        assert!(r.ordered);
        assert_eq!(r.cart.unwrap().count(), 1);
        assert!(mem.sessions.map.is_empty(), "checkout empties the session");
    }

    #[test]
    fn cookie_flow_and_rejection() {
        let codec = CookieCodec::new(Some(b"k"));
        let mut never = || unreachable!();
        let r = handle(
            Request {
                kind: Kind::AddToCart,
                item: Some(item(2)),
                session: SessionIn::Cookie(None),
                user: 0,
                product: None,
                address: None,
            },
            Backend::Cookie(&codec),
            None,
            &mut never,
        )
        .unwrap();
        let mut v = r.set_cookie.unwrap();
        let r = handle(
            Request {
                kind: Kind::ViewCart,
                item: None,
                session: SessionIn::Cookie(Some(&v)),
                user: 0,
                product: None,
                address: None,
            },
            Backend::Cookie(&codec),
            None,
            &mut never,
        )
        .unwrap();
        assert_eq!(r.cart.unwrap().count(), 1);
        v[0] ^= 1;
        let r = handle(
            Request {
                kind: Kind::ViewCart,
                item: None,
                session: SessionIn::Cookie(Some(&v)),
                user: 0,
                product: None,
                address: None,
            },
            Backend::Cookie(&codec),
            None,
            &mut never,
        )
        .unwrap();
        assert!(r.cookie_rejected.is_some());
        assert_eq!(r.cart.unwrap().count(), 0);
    }
}
