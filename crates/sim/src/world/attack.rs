//! Attackers: a share of shoppers (`[workload] attackers`) who shop like
//! everyone else and also attack the shop with what their browser holds.
//!
//! - **tamper**: after each item added, the cart cookie with a price cut to
//!   one cent, a quantity multiplied by ten, or one bit flipped; under a
//!   server-side session (only an id in the cookie), the id with one bit flipped.
//! - **forge**: once per attacker, a session made up: a cart cookie written
//!   without the server's key, or a random 128-bit session id.
//! - **replay**: after checkout, a think time later, the cookie (or id) sent
//!   with the checkout, to bring the bought cart back.
//! - **direct_database** / **direct_store**: on arrival, a connection from
//!   the internet straight to the database's port (with `[database]`) and the
//!   store's (under the store strategy).
//!
//! Each probe is a real request: through the security groups, routed by the
//! balancer (with the attacker's stickiness cookie), and answered by
//! `shop::handle` against the run's real session backend and key. A probe is
//! *accepted* when the server shows what the attacker wanted (the altered or
//! forged cart, a session it was never given, the bought cart again),
//! *rejected* when it refuses (a failed signature, an expired or revoked
//! cookie, an unknown session, a dropped connection), and *undelivered* when
//! nothing could answer (no target, a dead node, the store down). Probes are
//! served at once: they take no worker's time, so a few per attacker leave
//! the shop's queues as they are. Outcomes are written per strategy family
//! (the cart on the client, or a session id the server looks up), so a new
//! server-side strategy needs only its backend added in `World::on_probe`.

use super::{Event, World};
use crate::engine::Queue;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use std::collections::BTreeMap;
use stratus_model::cart::{Cart, Item};
use stratus_model::lb::{LbCookie, Route};
use stratus_model::node::ShopperId;
use stratus_model::rng::{Rng, Streams};
use stratus_model::scenario::{AzIx, Kind, Scenario, Strategy};
use stratus_model::security::groups::Hop;
use stratus_model::session::SessionBackend;
use stratus_model::session::Sid;
use stratus_model::session::cookie::CookieCodec;
use stratus_model::session::store::{StoreAt, StoreState};
use stratus_model::shop::{self, Places, Request, Response, SessionIn};
use stratus_model::time::{SimTime, nearest_ns};
use stratus_model::workload::Shopper;

pub use stratus_model::security::attack::{Attack, Tally};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Accepted,
    Rejected,
    Undelivered,
}

/// Where a strategy keeps the cart, which decides what an attacker holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// The cart itself is in the cookie.
    Client,
    /// The cookie holds a session id; the cart is on the server.
    Server,
}

impl Family {
    pub fn of(s: Strategy) -> Family {
        match s {
            Strategy::Cookie => Family::Client,
            _ => Family::Server,
        }
    }
}

#[derive(Debug)]
enum Sent {
    Cookie(Vec<u8>),
    Sid(Sid, Option<LbCookie>),
}

/// What counts as the server accepting the probe.
#[derive(Debug)]
enum Want {
    /// The server shows exactly this cart.
    Cart(Cart),
    /// The server takes the altered cookie as a session.
    Taken,
    /// The server finds a non-empty session for an id it never gave out.
    AnySession,
}

#[derive(Debug)]
struct Probe {
    attack: Attack,
    sent: Sent,
    want: Want,
    entry_az: AzIx,
}

#[derive(Debug)]
struct Attacker {
    rng: Rng,
    forged: bool,
}

/// The attackers of a run and what their probes did.
#[derive(Debug)]
pub struct Attackers {
    share: f64,
    streams: Streams,
    /// Per shopper slot: the attacker, if the shopper in it is one.
    slots: Vec<Option<Attacker>>,
    probes: Vec<Option<Probe>>,
    free: Vec<u32>,
    /// Session ids a probe's handling mints (none should be needed).
    mint: Rng,
    /// Shoppers who were attackers.
    pub count: u64,
    pub tally: BTreeMap<Attack, Tally>,
}

impl Attackers {
    pub fn new(sc: &Scenario, streams: &Streams) -> Attackers {
        Attackers {
            share: sc.workload.attackers,
            streams: *streams,
            slots: Vec::new(),
            probes: Vec::new(),
            free: Vec::new(),
            mint: streams.stream("attack_mint"),
            count: 0,
            tally: BTreeMap::new(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.share > 0.0
    }

    fn count(&mut self, a: Attack, v: Verdict) {
        let t = self.tally.entry(a).or_default();
        t.attempts += 1;
        match v {
            Verdict::Accepted => t.accepted += 1,
            Verdict::Rejected => t.rejected += 1,
            Verdict::Undelivered => t.undelivered += 1,
        }
    }

    fn push(&mut self, at: SimTime, p: Probe, q: &mut Queue<Event>) {
        let id = match self.free.pop() {
            Some(i) => {
                self.probes[i as usize] = Some(p);
                i
            }
            None => {
                self.probes.push(Some(p));
                (self.probes.len() - 1) as u32
            }
        };
        q.at(at, Event::Probe { p: id });
    }

    /// After an attacker's successful response: the probes it prompts.
    /// `sh` is the shopper as it sent the request, and `cookie` the cart
    /// cookie it sent (not yet updated).
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        s: ShopperId,
        (sh, cookie): (&Shopper, Option<&[u8]>),
        r: &Response,
        family: Family,
        at: SimTime,
        think_ns: f64,
        q: &mut Queue<Event>,
    ) {
        let Some(Some(a)) = self.slots.get_mut(s as usize) else {
            return;
        };
        let mut out = Vec::new();
        match sh.kind {
            Kind::AddToCart => {
                let Some(cart) = r.cart.as_ref().filter(|c| !c.is_empty()) else {
                    return;
                };
                let tamper = match family {
                    Family::Client => r
                        .set_cookie
                        .as_ref()
                        .map(|c| &c[..])
                        .or(cookie)
                        .map(|v| tamper_cookie(v, cart, &mut a.rng)),
                    Family::Server => r.set_sid.or(sh.sid()).map(|sid| {
                        let bit = a.rng.below(128);
                        (
                            Sent::Sid(sid ^ (1 << bit), sh.lb_cookie()),
                            Want::AnySession,
                        )
                    }),
                };
                if let Some((sent, want)) = tamper {
                    out.push((at, Attack::Tamper, sent, want));
                }
                if !a.forged {
                    a.forged = true;
                    let (sent, want) = match family {
                        Family::Client => {
                            let mut c = Cart::default();
                            c.add(Item {
                                product: cart.items[0].product,
                                size: 0,
                                colour: 0,
                                qty: 1,
                                price_cents: 1,
                            });
                            // Written without the server's key: no tag.
                            (
                                Sent::Cookie(CookieCodec::new(None).encode(&c)),
                                Want::Cart(c),
                            )
                        }
                        Family::Server => (Sent::Sid(a.rng.u128(), None), Want::AnySession),
                    };
                    out.push((at, Attack::Forge, sent, want));
                }
            }
            Kind::Checkout if r.ordered => {
                let (Some(bought), sent) = (
                    r.cart.clone(),
                    match family {
                        Family::Client => cookie.map(|c| Sent::Cookie(c.to_vec())),
                        Family::Server => sh.sid().map(|sid| Sent::Sid(sid, sh.lb_cookie())),
                    },
                ) else {
                    return;
                };
                if let Some(sent) = sent {
                    let later = at + nearest_ns(a.rng.exp(think_ns));
                    out.push((later, Attack::Replay, sent, Want::Cart(bought)));
                }
            }
            _ => {}
        }
        for (t, attack, sent, want) in out {
            let p = Probe {
                attack,
                sent,
                want,
                entry_az: sh.entry_az(),
            };
            self.push(t, p, q);
        }
    }
}

/// The attacker's edit of its own cart cookie: the payload is only base64,
/// so a price or a quantity can be rewritten and the old tag kept; or one
/// bit anywhere flipped.
fn tamper_cookie(v: &[u8], honest: &Cart, rng: &mut Rng) -> (Sent, Want) {
    let choice = rng.below(3);
    let dot = v.iter().position(|&b| b == b'.');
    let (body, tag) = match dot {
        Some(i) => (&v[..i], Some(&v[i..])),
        None => (v, None),
    };
    if choice < 2
        && let Ok(text) = B64.decode(body).map(String::from_utf8)
        && let Ok(text) = text
    {
        let mut lines: Vec<String> = text.split('|').map(str::to_string).collect();
        if lines.len() > 1 && !honest.items.is_empty() {
            let mut f: Vec<String> = lines[1].splitn(6, ':').map(str::to_string).collect();
            let mut want = honest.clone();
            let first = &mut want.items[0];
            if f.len() == 6 {
                if choice == 0 {
                    f[4] = "1".into();
                    first.price_cents = 1;
                } else {
                    first.qty = first.qty.saturating_mul(10);
                    f[3] = first.qty.to_string();
                }
                lines[1] = f.join(":");
                let mut out = B64.encode(lines.join("|")).into_bytes();
                if let Some(t) = tag {
                    out.extend_from_slice(t);
                }
                return (Sent::Cookie(out), Want::Cart(want));
            }
        }
    }
    let mut out = v.to_vec();
    let i = rng.below(out.len() as u64) as usize;
    out[i] ^= 1 << rng.below(8);
    (Sent::Cookie(out), Want::Taken)
}

impl World {
    /// A new shopper: an attacker or not (drawn from its own stream, so the
    /// draw leaves every other stream as it was), and an attacker's direct
    /// connection attempts.
    pub(super) fn attack_arrival(&mut self, s: ShopperId, seq: u64) {
        let a = &mut self.sec.attackers;
        if !a.enabled() {
            return;
        }
        let i = s as usize;
        if a.slots.len() <= i {
            a.slots.resize_with(i + 1, || None);
        }
        let mut rng = a.streams.indexed("attacker", seq);
        let is = rng.chance(a.share);
        a.slots[i] = is.then_some(Attacker { rng, forged: false });
        if !is {
            return;
        }
        self.sec.attackers.count += 1;
        if let Some(db) = &self.db {
            let v = if !self.sec.pass(Hop::ClientToDatabase, 0) {
                Verdict::Rejected
            } else if db.primary().is_some() {
                Verdict::Accepted
            } else {
                Verdict::Undelivered
            };
            self.sec.attackers.count(Attack::DirectDatabase, v);
        }
        if self.strategy == Strategy::Store {
            let v = if !self.sec.pass(Hop::ClientToStore, 0) {
                Verdict::Rejected
            } else if self.store.overall() == StoreState::Up && self.store.primary_az(0).is_some() {
                Verdict::Accepted
            } else {
                Verdict::Undelivered
            };
            self.sec.attackers.count(Attack::DirectStore, v);
        }
    }

    /// An attacker's probe reaches the balancer.
    pub(super) fn on_probe(&mut self, now: SimTime, p: u32, q: &mut Queue<Event>) {
        let a = &mut self.sec.attackers;
        let Some(probe) = a.probes.get_mut(p as usize).and_then(Option::take) else {
            return;
        };
        a.free.push(p);
        let v = self.deliver(now, &probe, q);
        self.sec.attackers.count(probe.attack, v);
    }

    fn deliver(&mut self, now: SimTime, probe: &Probe, q: &mut Queue<Event>) -> Verdict {
        if !self.sec.pass(Hop::ClientToLb, probe.entry_az) {
            return Verdict::Rejected;
        }
        if !self.cp.alive[probe.entry_az] {
            return Verdict::Undelivered;
        }
        let lb_cookie = match &probe.sent {
            Sent::Sid(_, c) if self.sticky_lb => *c,
            _ => None,
        };
        let node = match self.cp.lb.route_from(probe.entry_az, lb_cookie, now) {
            Route::NoTargets | Route::NoTargetsInZone => return Verdict::Undelivered,
            Route::To { node, .. } => node,
        };
        let v = self.serve_probe(now, node, probe);
        // Answered at once: the balancer lets go of it now.
        self.released(now, node, q);
        v
    }

    fn serve_probe(&mut self, now: SimTime, node: u32, probe: &Probe) -> Verdict {
        if !self.sec.pass(Hop::LbToNode, probe.entry_az) {
            return Verdict::Rejected;
        }
        let n = &self.cp.fleet.nodes[node as usize];
        if !n.serving_requests() {
            return Verdict::Undelivered;
        }
        if self.strategy == Strategy::Store && !self.sec.pass(Hop::NodeToStore, n.az) {
            return Verdict::Undelivered;
        }
        let request = Request {
            kind: Kind::ViewCart,
            item: None,
            session: match &probe.sent {
                Sent::Cookie(v) => SessionIn::Cookie(Some(v)),
                Sent::Sid(sid, _) => SessionIn::Sid(Some(*sid)),
            },
            user: 0,
            product: None,
            address: None,
        };
        let mint = &mut self.sec.attackers.mint;
        let mut new_sid = || mint.u128();
        // The table is reached through its API, not a security group: a
        // probe is an ordinary strongly consistent read.
        // A probe's bytes are not counted on the wire: the bill is the shop's.
        let mut at_store = StoreAt {
            store: &mut self.store,
            now,
            read_at: None,
            info: Default::default(),
            tap: None,
            hint: None,
        };
        let uses_store = self.strategy.uses_store();
        let idle = self.sc.sessions.memory.timeout.0;
        let mut memory = self.cp.fleet.nodes[node as usize].sessions.at(now, idle);
        let backend = shop::backend(
            self.strategy,
            Places {
                memory: &mut memory,
                store: uses_store.then_some(&mut at_store as &mut dyn SessionBackend),
                codec: &self.codec,
                guard: self.guard.as_mut(),
                now,
            },
        );
        match shop::handle(request, backend, None, &mut new_sid) {
            Err(_) => Verdict::Undelivered,
            Ok(r) => judge(&probe.want, &r),
        }
    }
}

fn judge(want: &Want, r: &Response) -> Verdict {
    let ok = match want {
        Want::Cart(c) => r.cookie_rejected.is_none() && r.cart.as_ref() == Some(c),
        Want::Taken => r.cookie_rejected.is_none(),
        Want::AnySession => r.cart.as_ref().is_some_and(|c| !c.is_empty()),
    };
    if ok {
        Verdict::Accepted
    } else {
        Verdict::Rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cart() -> Cart {
        let mut r = Streams::new(5).stream("t");
        let mut c = Cart::default();
        for _ in 0..3 {
            c.add(Item::random(&mut r, 5000));
        }
        c
    }

    /// An edited unsigned cookie decodes to exactly the cart the attacker
    /// wanted; the same edit of a signed one keeps a tag that no longer fits.
    #[test]
    fn edits_reach_the_payload_and_break_the_signature() {
        let c = cart();
        let unsigned = CookieCodec::new(None);
        let signed = CookieCodec::new(Some(b"server key"));
        let mut edits = 0;
        for seed in 0..40 {
            let mut rng = Streams::new(seed).stream("a");
            let (Sent::Cookie(v), want) = tamper_cookie(&unsigned.encode(&c), &c, &mut rng) else {
                unreachable!()
            };
            if let Want::Cart(w) = want {
                edits += 1;
                assert_ne!(w, c);
                assert_eq!(unsigned.decode(&v).unwrap(), w);
            }
            let mut rng = Streams::new(seed).stream("a");
            let (Sent::Cookie(v), _) = tamper_cookie(&signed.encode(&c), &c, &mut rng) else {
                unreachable!()
            };
            assert!(signed.decode(&v).is_err(), "seed {seed}");
        }
        assert!(edits > 10, "{edits}");
    }

    #[test]
    fn judging_reads_what_the_server_showed() {
        let c = cart();
        let shown = Response {
            cart: Some(c.clone()),
            ..Default::default()
        };
        assert_eq!(judge(&Want::Cart(c.clone()), &shown), Verdict::Accepted);
        assert_eq!(judge(&Want::AnySession, &shown), Verdict::Accepted);
        let empty = Response {
            cart: Some(Cart::default()),
            cookie_rejected: Some(stratus_model::session::cookie::CookieError::Signature),
            ..Default::default()
        };
        for w in [Want::Cart(c), Want::Taken, Want::AnySession] {
            assert_eq!(judge(&w, &empty), Verdict::Rejected);
        }
    }
}
