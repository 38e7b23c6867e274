//! Shoppers: their plan through the shop, and the ground-truth cart each keeps.
//!
//! A shopper arrives (Poisson), opens the home page, browses product pages,
//! adds items with the given chance per page view, views the cart if it holds
//! anything, and checks out with the given chance. Between requests it thinks
//! (exponential). A failed request is retried after the think time; three
//! failures in a row and it leaves. Each shopper draws from its own random
//! stream, so the i-th shopper makes the same choices under every strategy.

use crate::cart::{Cart, Item};
use crate::core::Kind;
use crate::core::{AzIx, NodeId};
use crate::db::popularity::Popularity;
use crate::dns::Answer;
use crate::lb::LbCookie;
use crate::metrics::Metrics;
use crate::rng::Rng;
use crate::scenario::{Pages, Workload};
use crate::session::Sid;
use crate::shop::Response;
use crate::station::ServiceDistribution;
use crate::station::draw_service;
use crate::time::{NEVER, SimTime, nearest_ns};

/// Failures in a row after which a shopper gives up (CONTRACT.md).
pub const MAX_FAILURES: u8 = 3;

/// No node: a fleet never numbers a node this high.
const NO_NODE: NodeId = NodeId::MAX;

/// How a request ended, as the shopper's browser saw it.
#[derive(Debug, Default)]
pub enum Outcome {
    #[default]
    Pending,
    Ok(Response),
    Failed(&'static str),
}

/// One shopper in the shop: its random stream, its plan, its ground-truth
/// cart, what its browser holds and the request in flight.
///
/// A run keeps one per active shopper, a million of them in a big one
/// (issue #18), so the layout is watched (a test holds its size): fields
/// that would be an `Option` of a 16-byte or 8-byte value are kept as the
/// value and a flag, read through accessors, and the state only some
/// scenarios use lives in [`Extra`], allocated on its first write.
#[derive(Debug)]
pub struct Shopper {
    pub rng: Rng,
    pages_left: u32,
    /// The request being made (or retried).
    pub kind: Kind,
    pub item: Option<Item>,
    /// Service demand of the current request at the node, drawn with it.
    pub demand: u64,
    pub truth: Cart,
    pub had_items: bool,
    pub lost: bool,
    pub fails: u8,
    /// The session id the shop set, when `has_sid` ([`Shopper::sid`]).
    sid: Sid,
    has_sid: bool,
    /// The balancer's stickiness cookie, when `has_lb_cookie`
    /// ([`Shopper::lb_cookie`]): the node it names and when it expires.
    lb_node: NodeId,
    lb_expires: SimTime,
    has_lb_cookie: bool,
    /// The AZ of the balancer node its DNS answer points at
    /// ([`Shopper::entry_az`]; AZ indices fit a byte, as in [`Answer`]).
    entry_az: u8,
    /// Counts requests, so a wake-up for an earlier request is ignored.
    pub req: u32,
    pub sent_at: SimTime,
    /// The request's size as the browser sent it (line and headers).
    pub sent_bytes: u32,
    /// The node serving the request, or `NO_NODE` ([`Shopper::node`]).
    node: NodeId,
    /// Where the node's session map held this shopper's session when it
    /// last served it: a guess the map checks against the session id before
    /// trusting it ([`crate::session::MemoryAt::hinted`]), so a request
    /// reaches its session with one memory access instead of a hash probe.
    /// Simulator bookkeeping, like `node`: nothing a browser holds.
    pub session_at: u32,
    /// The balancer still counts this request outstanding on `node`.
    pub lb_held: bool,
    pub arrived_node: SimTime,
    /// The data tier's, DNS's and client retries' state: None until first
    /// written, which reads as [`Extra::DEFAULT`] ([`Shopper::extra`]).
    extra: Option<Box<Extra>>,
}

/// The part of a shopper only scenarios with a database, `[dns]` or
/// `[workload.retry]` use. A shopper of a scenario without them never
/// allocates it: it reads as [`Extra::DEFAULT`], the values every shopper
/// starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extra {
    /// The user this shopper signs in as (pages with data).
    pub user: u32,
    /// The product the current product page shows (drawn when the shop has a database).
    pub product: Option<u32>,
    /// The last order placed, as the shop numbered it: order history must show it.
    pub last_order: Option<i64>,
    /// The number of the address change this shopper last made: the account
    /// page must show it (or a newer one).
    pub address: Option<u64>,
    /// The number of the address change in flight.
    pub address_write: u64,
    /// The database instance the current request's query went to.
    pub db_target: Option<usize>,
    /// The AZ of the table copy an eventually consistent read goes to.
    pub store_read_at: Option<u8>,
    /// When its resolver last looked the shop up (with `[dns]`); `NEVER` before.
    pub resolved_at: SimTime,
    /// What the resolver answered then (with `[dns]`); `entry_az` is its
    /// address in use.
    pub answer: Answer,
    /// Which attempt at the current request this is (1: the first), with
    /// `[workload.retry]`.
    pub attempt: u32,
    /// The wait before the latest retry (decorrelated jitter grows from it).
    pub backoff: u64,
}

impl Extra {
    /// A new shopper's values.
    pub const DEFAULT: Extra = Extra {
        user: 0,
        product: None,
        last_order: None,
        address: None,
        address_write: 0,
        db_target: None,
        store_read_at: None,
        resolved_at: NEVER,
        answer: Answer::EMPTY,
        attempt: 1,
        backoff: 0,
    };
}

impl Default for Extra {
    fn default() -> Self {
        Extra::DEFAULT
    }
}

impl Shopper {
    pub fn new(mut rng: Rng, w: &Workload, azs: usize) -> Self {
        let pages = match w.pages {
            Pages::Mean(m) => rng.geometric(m),
            Pages::Fixed(n) => n,
        };
        let entry_az = rng.below(azs as u64) as usize;
        let mut sh = Shopper {
            rng,
            pages_left: pages,
            kind: Kind::Home,
            item: None,
            demand: 0,
            truth: Cart::default(),
            had_items: false,
            lost: false,
            fails: 0,
            sid: 0,
            has_sid: false,
            lb_node: 0,
            lb_expires: 0,
            has_lb_cookie: false,
            entry_az: 0,
            req: 0,
            sent_at: 0,
            sent_bytes: 0,
            node: NO_NODE,
            session_at: u32::MAX,
            lb_held: false,
            arrived_node: 0,
            extra: None,
        };
        sh.set_entry_az(entry_az);
        sh
    }

    /// The node serving the current request, once the balancer routed it.
    pub fn node(&self) -> Option<NodeId> {
        (self.node != NO_NODE).then_some(self.node)
    }

    pub fn set_node(&mut self, node: Option<NodeId>) {
        debug_assert_ne!(node, Some(NO_NODE));
        self.node = node.unwrap_or(NO_NODE);
    }

    /// The session id the shop gave this shopper, if any.
    pub fn sid(&self) -> Option<Sid> {
        self.has_sid.then_some(self.sid)
    }

    pub fn set_sid(&mut self, sid: Sid) {
        self.sid = sid;
        self.has_sid = true;
    }

    /// The balancer's stickiness cookie, if the browser holds one.
    pub fn lb_cookie(&self) -> Option<LbCookie> {
        self.has_lb_cookie.then_some(LbCookie {
            node: self.lb_node,
            expires: self.lb_expires,
        })
    }

    pub fn set_lb_cookie(&mut self, c: LbCookie) {
        self.lb_node = c.node;
        self.lb_expires = c.expires;
        self.has_lb_cookie = true;
    }

    /// The AZ of the balancer node the shopper's requests enter by.
    pub fn entry_az(&self) -> AzIx {
        usize::from(self.entry_az)
    }

    pub fn set_entry_az(&mut self, az: AzIx) {
        self.entry_az = u8::try_from(az).expect("an AZ index fits a byte");
    }

    /// The data tier's, DNS's and retries' state, to read.
    pub fn extra(&self) -> &Extra {
        self.extra.as_deref().unwrap_or(&Extra::DEFAULT)
    }

    /// The same, to write: allocated on first use.
    pub fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Default::default)
    }

    /// Changes the same by `f`, allocating it only when the change departs
    /// from the defaults: resets on every request cost a plain scenario's
    /// shopper nothing.
    #[inline]
    pub fn update_extra(&mut self, f: impl FnOnce(&mut Extra)) {
        match &mut self.extra {
            Some(x) => f(x),
            None => {
                let mut x = Extra::DEFAULT;
                f(&mut x);
                if x != Extra::DEFAULT {
                    self.extra = Some(Box::new(x));
                }
            }
        }
    }

    /// Puts fields back to a new shopper's values with `f`: only an
    /// allocated part needs it, since an unallocated one reads as those
    /// values already. The per-request resets go through here, so a plain
    /// scenario's request neither builds nor compares an `Extra`.
    #[inline]
    pub fn reset_extra(&mut self, f: impl Fn(&mut Extra)) {
        debug_assert!(
            {
                let mut x = Extra::DEFAULT;
                f(&mut x);
                x == Extra::DEFAULT
            },
            "reset_extra is for resets to the starting values"
        );
        if let Some(x) = &mut self.extra {
            f(x);
        }
    }

    /// The next request starts at its first attempt.
    pub fn new_attempts(&mut self) {
        self.reset_extra(|x| x.attempt = 1);
    }

    /// Draws `p` from the shopper's stream only when it can happen, so
    /// scenarios without the data tier's pages keep their streams as before.
    fn maybe(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.chance(p)
    }

    /// Signs the `seq`-th shopper in as one of the seed data's `users`, the
    /// same one in both drivers.
    pub fn sign_in(&mut self, seq: u64, users: u32) {
        self.extra_mut().user = 1 + (seq % u64::from(users.max(1))) as u32;
    }

    /// Think time before the next request, in ns.
    pub fn think(&mut self, w: &Workload) -> u64 {
        nearest_ns(self.rng.exp(w.think_time.0 as f64))
    }

    /// Decides the request after a successful `self.kind`; None: leave.
    pub fn next(&mut self, w: &Workload) -> Option<Kind> {
        // Draw both chances every time, so each shopper's stream advances the
        // same way whatever the server answered.
        let add = self.rng.chance(w.add_to_cart);
        let buy = self.rng.chance(w.checkout);
        let account = self.maybe(w.account);
        let address = self.maybe(w.address_change);
        let history = self.maybe(w.order_history);
        let next = match self.kind {
            Kind::Home | Kind::Product | Kind::Account => {
                self.pages_left = self.pages_left.saturating_sub(1);
                if self.kind == Kind::Account && address {
                    Some(Kind::Address)
                } else if add {
                    Some(Kind::AddToCart)
                } else if account && self.pages_left > 0 {
                    Some(Kind::Account)
                } else {
                    self.after_browsing()
                }
            }
            Kind::AddToCart | Kind::Address => self.after_browsing(),
            Kind::ViewCart => (buy && !self.truth.is_empty()).then_some(Kind::Checkout),
            Kind::Checkout => {
                (history && self.extra().last_order.is_some()).then_some(Kind::Orders)
            }
            Kind::Orders => None,
        };
        if let Some(k) = next {
            self.kind = k;
        }
        next
    }

    /// The shopper's own ground truth about orders, in both drivers: a
    /// checkout's order is remembered; an order-history page that misses it
    /// is a stale read (true).
    pub fn stale_orders(&mut self, r: &Response) -> bool {
        match self.kind {
            Kind::Checkout if r.order_id.is_some() => {
                self.extra_mut().last_order = r.order_id;
                false
            }
            Kind::Orders => {
                matches!((self.extra().last_order, &r.orders), (Some(o), Some(list)) if !list.contains(&o))
            }
            _ => false,
        }
    }

    fn after_browsing(&self) -> Option<Kind> {
        if self.pages_left > 0 {
            Some(Kind::Product)
        } else if !self.truth.is_empty() {
            // Every shopper holding items looks at the cart, so no loss goes unseen.
            Some(Kind::ViewCart)
        } else {
            None
        }
    }

    /// A request failed: true if the shopper retries it, false if it gives up
    /// (three failures in a row, CONTRACT.md), counting the cart it abandons.
    pub fn failed(&mut self, m: &mut Metrics) -> bool {
        self.fails += 1;
        if self.fails < MAX_FAILURES {
            return true;
        }
        if !self.truth.is_empty() {
            m.abandoned_with_items += 1;
        }
        if self.kind == Kind::Checkout {
            m.checkouts_failed += 1;
        }
        false
    }

    /// A successful answer to the current request, judged against the
    /// shopper's ground truth: an item added counts, and a cart shown without
    /// an item the shopper added and has not bought is a lost cart (once per
    /// shopper; `items_lost` counts the missing pieces). Both drivers judge
    /// with this, so a live loss means what a simulated one does.
    pub fn judge(&mut self, r: &Response, m: &mut Metrics) {
        self.fails = 0;
        if self.kind == Kind::AddToCart {
            self.truth.add(self.item.expect("add has an item"));
            if !self.had_items {
                self.had_items = true;
                m.with_items += 1;
            }
        }
        if let Some(server) = &r.cart
            && r.stale
        {
            // An eventually consistent read from a copy behind the newest
            // write: the items are not gone, this copy has not heard of them
            // yet. The shopper keeps what it knows.
            if self.truth.missing_from(server) > 0 {
                m.stale_carts += 1;
            }
        } else if let Some(server) = &r.cart {
            let missing = self.truth.missing_from(server);
            if missing > 0 {
                m.items_lost += u64::from(missing);
                if !self.lost {
                    self.lost = true;
                    m.carts_lost += 1;
                }
            }
            // The shopper now knows the cart as the server shows it.
            self.truth.clone_from(server);
        }
        if self.kind == Kind::Checkout {
            if r.ordered {
                m.checkouts_ok += 1;
            } else {
                m.checkouts_failed += 1; // nothing left to buy
            }
            self.truth = Default::default();
        }
    }

    /// Prepares the current request's service demand and, unless it is a
    /// retry (which asks for the same again), its item and, with a
    /// database's `popularity`, the product a product page shows.
    pub fn prepare(
        &mut self,
        w: &Workload,
        mean_ns: u64,
        dist: ServiceDistribution,
        retry: bool,
        popularity: Option<&Popularity>,
    ) {
        if !retry {
            self.item =
                (self.kind == Kind::AddToCart).then(|| Item::random(&mut self.rng, w.catalog));
        }
        self.demand = draw_service(&mut self.rng, mean_ns, dist);
        if let Some(p) = popularity.filter(|_| !retry) {
            let product = p.draw(self.kind, &mut self.rng);
            self.update_extra(|x| x.product = product);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Streams;
    use crate::scenario::Scenario;
    use crate::time::Dur;

    #[test]
    fn plan_ends_with_view_cart_when_holding_items() {
        let mut w = Scenario::new("t", Dur::from_secs(1)).workload;
        w.pages = Pages::Fixed(2);
        w.add_to_cart = 1.0;
        w.checkout = 1.0;
        let mut s = Shopper::new(Streams::new(1).stream("s"), &w, 3);
        let mut kinds = vec![s.kind];
        while let Some(k) = s.next(&w) {
            if k == Kind::AddToCart {
                s.prepare(&w, 1, ServiceDistribution::Constant, false, None);
                s.truth.add(s.item.unwrap());
            }
            kinds.push(k);
        }
        assert_eq!(
            kinds,
            vec![
                Kind::Home,
                Kind::AddToCart,
                Kind::Product,
                Kind::AddToCart,
                Kind::ViewCart,
                Kind::Checkout
            ]
        );
    }

    /// Issue #18: a run holds one shopper per active shopper, a million in
    /// a big run. 336 bytes before the layout was packed, 192 before the
    /// cart cookie moved to the simulator's own table; keep it at 176.
    #[test]
    fn a_shopper_stays_small() {
        assert!(size_of::<Shopper>() <= 176, "{}", size_of::<Shopper>());
        // The world's table of optional shoppers costs nothing more.
        assert_eq!(size_of::<Option<Shopper>>(), size_of::<Shopper>());
    }

    /// The state a plain scenario never writes is not allocated, and reads
    /// as a new shopper's.
    #[test]
    fn extra_is_allocated_only_when_written() {
        let w = Scenario::new("t", Dur::from_secs(1)).workload;
        let mut s = Shopper::new(Streams::new(1).stream("s"), &w, 3);
        s.reset_extra(|x| x.db_target = None);
        s.reset_extra(|x| x.answer.new_request());
        s.new_attempts();
        assert!(s.extra.is_none());
        assert_eq!((s.extra().attempt, s.extra().resolved_at), (1, NEVER));
        s.update_extra(|x| x.store_read_at = Some(2));
        assert_eq!(s.extra().store_read_at, Some(2));
        assert!(s.extra.is_some());
    }

    #[test]
    fn lognormal_keeps_its_mean() {
        let mut r = Streams::new(2).stream("x");
        let n = 200_000;
        let d = ServiceDistribution::Lognormal { sigma: 0.5 };
        let m = (0..n)
            .map(|_| draw_service(&mut r, 1_000_000, d) as f64)
            .sum::<f64>()
            / n as f64;
        assert!((m / 1e6 - 1.0).abs() < 0.01, "{m}");
    }
}
