//! The store's unit tests: loss on failover, expiry, promotion, rebuild,
//! replicas applying writes where the primary holds them, shards by slot.

use super::*;
use crate::cart::{Item, price_of};
use crate::rng::Streams;
use crate::station::ServiceDistribution;
use crate::wire::size::StoreApi;

fn cart(p: u32) -> Cart {
    let mut c = Cart::default();
    c.add(Item {
        product: p,
        size: 0,
        colour: 0,
        qty: 1,
        price_cents: price_of(p),
    });
    c
}

fn store(primary: AzIx, replicas: &[AzIx], lag: u64, ttl: u64) -> Store {
    Store::new(
        StoreConfig {
            api: StoreApi::Resp,
            shards: vec![Placement {
                primary,
                replicas: replicas.to_vec(),
            }],
            lag,
            lag_distribution: ServiceDistribution::Constant,
            sync_replicas: 0,
            failover_after: 100,
            rebuild_after: None,
            ttl,
        },
        Streams::new(1).stream("store"),
    )
}

fn promote(s: &mut Store, k: usize) -> Option<Option<AzIx>> {
    let e = s.shards[k].epoch;
    s.promote(k, e)
}

#[test]
fn unreplicated_writes_are_lost_on_failover() {
    let mut s = store(0, &[1], 10, 1_000_000);
    s.set(0, 1, &cart(1)).unwrap();
    s.set(20, 2, &cart(2)).unwrap(); // reaches replica at 30
    let blow = s.kill_primary(25, 0);
    assert_eq!(blow.loss.sids, vec![2]);
    assert_eq!(s.get(50, 1), Err(Unavailable));
    assert_eq!(promote(&mut s, 0), Some(Some(1)));
    assert_eq!(s.get(130, 1).unwrap(), Some(cart(1)));
    assert_eq!(s.get(130, 2).unwrap(), None);
}

#[test]
fn zero_lag_loses_nothing() {
    let mut s = store(0, &[1], 0, 1_000_000);
    s.set(5, 1, &cart(1)).unwrap();
    let blow = s.kill_primary(5, 0);
    assert!(blow.loss.sids.is_empty());
    assert!(promote(&mut s, 0).is_some());
    assert_eq!(s.get(7, 1).unwrap(), Some(cart(1)));
}

#[test]
fn ttl_expires_on_access() {
    let mut s = store(0, &[], 0, 100);
    s.set(0, 1, &cart(1)).unwrap();
    assert!(s.get(100, 1).unwrap().is_some());
    assert!(s.get(101, 1).unwrap().is_none());
}

#[test]
fn active_expiry_frees_every_copy() {
    let mut s = store(0, &[1], 10, 100);
    s.set(0, 1, &cart(1)).unwrap();
    s.set(50, 2, &cart(1)).unwrap();
    // At 120 only session 1 is past its TTL.
    assert_eq!(s.expire(120, None), 1);
    assert_eq!(s.shards[0].copies[0].map.len(), 1);
    // The replica applies the deletion once the stream's lag has passed.
    for c in &mut s.shards[0].copies {
        c.catch_up(200);
    }
    let keys = |c: &Copy| c.map.keys().map(|k| k.sid()).collect::<Vec<_>>();
    assert_eq!(keys(&s.shards[0].copies[1]), vec![2]);
}

/// A replica applies each write at the position the primary used, and
/// ends up holding what the primary holds, in the primary's order, expiry
/// included.
#[test]
fn replicas_apply_writes_where_the_primary_holds_them() {
    let mut s = store(0, &[1, 2], 10, 10_000);
    let mut x: u64 = 99;
    let mut t = 0;
    let contents = |c: &Copy| {
        let mut v: Vec<(Sid, Cart)> = c
            .map
            .iter()
            .map(|(k, e)| (k.sid(), e.cart.clone()))
            .collect();
        v.sort_by_key(|e| e.0);
        v
    };
    for round in 0..2 {
        for _ in 0..3_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let sid = Sid::from((x >> 33) % 200);
            t += 3;
            // A third of the writes empty the cart, which deletes it.
            let c = if (x >> 20).is_multiple_of(3) {
                Cart::default()
            } else {
                cart((x >> 40) as u32 % 50)
            };
            s.set(t, sid, &c).unwrap();
        }
        t += 100;
        for c in &mut s.shards[0].copies {
            c.catch_up(t);
        }
        let keys = |c: &Copy| c.map.keys().copied().collect::<Vec<_>>();
        let copies = &s.shards[0].copies;
        assert!(copies[0].map.len() > 50);
        for c in &copies[1..] {
            assert!(keys(c) == keys(&copies[0]), "a replica's order differs");
            assert!(
                contents(c) == contents(&copies[0]),
                "a replica's sessions differ"
            );
        }
        // Expire the older sessions: the primary deletes them one by one,
        // as its replicas do, so the next round starts from one order.
        t += 10_000 - 2_000;
        assert!(s.expire(t, None) > 0);
    }
}

#[test]
fn no_replica_means_everything_is_lost() {
    let mut s = store(0, &[], 0, 100);
    s.set(0, 7, &cart(1)).unwrap();
    let blow = s.kill_primary(1, 0);
    assert_eq!(blow.loss.sids, vec![7]);
    assert_eq!(s.state(0), StoreState::Down);
}

#[test]
fn the_least_lagged_replica_is_promoted() {
    let mut s = store(0, &[1, 2], 10, 1_000_000);
    s.set(0, 1, &cart(1)).unwrap();
    // Replica in AZ 2 is cut off from the stream: only AZ 1's copy gets write 2.
    s.shards[0].copies[2].stream.clear();
    s.set(20, 2, &cart(2)).unwrap();
    s.shards[0].copies[2].stream.clear();
    let blow = s.kill_primary(40, 0);
    assert!(blow.loss.sids.is_empty(), "AZ 1's copy had everything");
    assert_eq!(promote(&mut s, 0), Some(Some(1)));
    assert_eq!(s.get(200, 2).unwrap(), Some(cart(2)));
}

#[test]
fn a_replacement_replica_is_a_full_copy() {
    let mut s = store(0, &[1], 0, 1_000_000);
    s.set(0, 1, &cart(1)).unwrap();
    let blow = s.kill_az(5, 1);
    assert_eq!(blow.replicas, 1);
    assert_eq!(
        s.rebuild(0, &[true, false, false]),
        None,
        "no AZ without a copy"
    );
    assert_eq!(s.rebuild(0, &[true, false, true]), Some(2));
    assert_eq!(s.rebuild(0, &[true, false, true]), None, "whole again");
    s.kill_primary(10, 0);
    assert_eq!(promote(&mut s, 0), Some(Some(2)));
    assert_eq!(s.get(20, 1).unwrap(), Some(cart(1)));
}

#[test]
fn a_synchronous_replica_makes_failover_lossless_and_reads_can_be_stale() {
    let mut s = Store::new(
        StoreConfig {
            api: StoreApi::Resp,
            shards: vec![Placement {
                primary: 0,
                replicas: vec![1, 2],
            }],
            lag: 1_000,
            lag_distribution: ServiceDistribution::Constant,
            sync_replicas: 1,
            failover_after: 10,
            rebuild_after: None,
            ttl: 1_000_000,
        },
        Streams::new(1).stream("store"),
    );
    s.set(0, 9, &cart(3)).unwrap();
    let mut seen = None;
    let info = s
        .update(5, 9, Some(2), &mut |c| {
            seen = Some(c.clone());
            false
        })
        .unwrap();
    assert!(info.stale, "AZ 2's copy has not applied the write yet");
    assert_eq!(seen, Some(Cart::default()));
    let info = s.update(5, 9, Some(1), &mut |_| false).unwrap();
    assert!(!info.stale, "AZ 1 acknowledged the write");
    let blow = s.kill_az(6, 0);
    assert!(blow.loss.sids.is_empty());
    assert_eq!(promote(&mut s, 0), Some(Some(1)));
    assert_eq!(s.get(20, 9).unwrap(), Some(cart(3)));
}

#[test]
fn sessions_spread_over_shards_by_slot() {
    let mut cfg = store(0, &[], 0, 1).cfg;
    cfg.shards = (0..3)
        .map(|k| Placement {
            primary: k,
            replicas: vec![],
        })
        .collect();
    let s = Store::new(cfg, Streams::new(1).stream("store"));
    let mut counts = [0u32; 3];
    for sid in 0..3000u128 {
        counts[s.shard_of(sid * 0x9e37_79b9_7f4a_7c15)] += 1;
    }
    assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
    assert_eq!(crc16(b"123456789"), 0x31c3, "the XModem check value");
}

/// The table-driven CRC is the bit-by-bit one: on every byte value alone
/// and on session ids' bytes.
#[test]
fn the_crc_table_matches_the_bitwise_crc() {
    fn bitwise(bytes: &[u8]) -> u16 {
        let mut crc: u16 = 0;
        for &b in bytes {
            crc ^= u16::from(b) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
            }
        }
        crc
    }
    for b in 0..=255u8 {
        assert_eq!(crc16(&[b]), bitwise(&[b]), "{b}");
    }
    for sid in 0..1000u128 {
        let bytes = sid
            .wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
            .to_le_bytes();
        assert_eq!(crc16(&bytes), bitwise(&bytes));
    }
}
