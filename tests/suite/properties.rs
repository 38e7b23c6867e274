//! Invariants over many generated inputs (proptest): the cookie codec and the
//! store strategy's promise under a single AZ's loss.

use proptest::prelude::*;
use stratus::cart::{Cart, Item, price_of};
use stratus::scenario::{Action, Scenario, Strategy as Design, Timed};
use stratus::session::cookie::CookieCodec;
use stratus::time::Dur;

fn cart_strategy(max_lines: usize) -> impl Strategy<Value = Cart> {
    prop::collection::vec((0u32..5000, 0u8..6, 0u8..8, 1u16..5), 0..max_lines).prop_map(|lines| {
        let mut c = Cart::default();
        for (product, size, colour, qty) in lines {
            c.add(Item {
                product,
                size,
                colour,
                qty,
                price_cents: price_of(product),
            });
        }
        c
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every cart whose cookie fits the browser's limit comes back intact.
    #[test]
    fn cookie_round_trips_every_cart_that_fits(cart in cart_strategy(80), signed in any::<bool>()) {
        let codec = CookieCodec::new(signed.then_some(&b"a server key of some length"[..]));
        let v = codec.encode(&cart);
        prop_assume!(CookieCodec::cookie_len(&v) <= 4096);
        prop_assert_eq!(codec.decode(&v).unwrap(), cart);
    }

    /// Any change to any byte of a signed cookie is refused.
    #[test]
    fn signed_cookie_rejects_every_mutation(cart in cart_strategy(20), at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let codec = CookieCodec::new(Some(b"k"));
        let mut v = codec.encode(&cart);
        let i = at.index(v.len());
        v[i] ^= flip;
        prop_assert!(codec.decode(&v).is_err(), "accepted a cookie changed at byte {}", i);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// With a replica, losing any one AZ that does not hold the store's primary
    /// costs the store strategy no cart, whenever it happens.
    #[test]
    fn store_loses_no_cart_to_one_non_primary_az(seed in 0u64..1_000, az in 1usize..3, at_s in 30u64..270) {
        let mut sc = Scenario::new("prop", Dur::from_secs(300));
        sc.workload.arrivals_per_second = 10.0;
        sc.load_balancer.health_check.interval = Dur::from_secs(10);
        sc.timeline.push(Timed { at: Dur::from_secs(at_s), action: Action::KillAz { az } });
        let r = stratus::run(&sc, Design::Store, seed);
        prop_assert_eq!(r.shoppers.carts_lost, 0);
        prop_assert_eq!(r.carts_at_risk(), 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// Under the default security groups, no attacker's direct connection to
    /// the database or the store ever gets through, and no attack on a
    /// server-side session is ever accepted.
    #[test]
    fn default_groups_stop_every_direct_connection(seed in 0u64..1_000, share in 0.05f64..0.5) {
        let mut sc = Scenario::new("prop", Dur::from_secs(120));
        sc.workload.arrivals_per_second = 10.0;
        sc.workload.attackers = share;
        sc.database = Some(stratus::scenario::Database::new(3));
        let r = stratus::run(&sc, Design::Store, seed);
        let s = r.security.expect("attackers report");
        prop_assert!(s.attackers.unwrap_or(0) > 0);
        for (name, t) in &s.attacks {
            prop_assert_eq!(t.accepted, 0, "{} accepted", name);
        }
        let direct = s.tally(stratus::world::attack::Attack::DirectDatabase);
        prop_assert_eq!(direct.rejected, direct.attempts);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A cookie with an expiry and a version round-trips, and any change to
    /// any byte of its signed form is refused.
    #[test]
    fn guarded_cookie_round_trips_and_rejects_every_mutation(
        cart in cart_strategy(12),
        expires in prop::option::of(0u64..10_000_000),
        version in prop::option::of((any::<u128>(), any::<u32>())),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        use stratus::session::cookie::Meta;
        let codec = CookieCodec::new(Some(b"k"));
        let meta = Meta { expires_s: expires, version };
        let mut v = codec.encode_with(&cart, Some(&meta));
        prop_assert_eq!(codec.decode_with(&v).unwrap(), (cart, Some(meta)));
        let i = at.index(v.len());
        v[i] ^= flip;
        prop_assert!(codec.decode_with(&v).is_err(), "accepted a cookie changed at byte {}", i);
    }
}
