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
