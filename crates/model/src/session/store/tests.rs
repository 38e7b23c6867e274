//! The store's unit tests: loss on failover, expiry, promotion, rebuild,
//! synchronous replicas and stale reads, shards by slot.

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

/// Copy `i` of shard 0 as it holds its sessions, in its order:
/// (session, cart, written, version, stored length).
pub(super) fn view(s: &Store, i: usize) -> Vec<(Sid, Cart, SimTime, u64, u32)> {
    let shard = &s.shards[0];
    let mut map = shard.newest.clone();
    let mut log = shard.log.clone();
    log.rewind(&mut map, shard.copies[i].applied);
    map.iter()
        .map(|(k, e)| (k.sid(), e.cart.clone(), e.written, e.version, e.len))
        .collect()
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
    assert_eq!(view(&s, 0).len(), 1);
    assert_eq!(view(&s, 1).len(), 2, "the deletion is on its way");
    // The replica applies the deletion once the stream's lag has passed.
    for c in &mut s.shards[0].copies {
        c.catch_up(200);
    }
    let sids = view(&s, 1).iter().map(|v| v.0).collect::<Vec<_>>();
    assert_eq!(sids, vec![2]);
    s.shards[0].trim();
    assert!(s.shards[0].log.is_empty(), "every copy has every write");
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
        .read(5, 9, Some(2), &mut |c| seen = Some(c.clone()))
        .unwrap();
    assert!(info.stale, "AZ 2's copy has not applied the write yet");
    assert_eq!(seen, Some(Cart::default()));
    let info = s.read(5, 9, Some(1), &mut |_| {}).unwrap();
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

/// One step of a random history.
#[derive(Clone, Debug)]
enum Op {
    /// SET a session to a one-line cart (product 0: an empty cart, DEL).
    Set(u8, u32),
    /// A write whose `f` changes nothing ([`Store::update`]).
    Get(u8),
    /// A page that only shows the cart ([`Store::read`]), from the primary
    /// or, eventually consistent, from the copy in an AZ.
    Read(u8, Option<AzIx>),
    Expire,
    KillPrimary,
    KillAz(AzIx),
    Promote,
    Rebuild,
    Wait(u64),
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        8 => (0..16u8, 0..4u32).prop_map(|(s, p)| Op::Set(s, p)),
        3 => (0..16u8).prop_map(Op::Get),
        5 => (0..16u8, proptest::option::of(0..4usize)).prop_map(|(s, a)| Op::Read(s, a)),
        1 => Just(Op::Expire),
        1 => Just(Op::KillPrimary),
        1 => (0..4usize).prop_map(Op::KillAz),
        2 => Just(Op::Promote),
        2 => Just(Op::Rebuild),
        4 => (0..80u64).prop_map(Op::Wait),
    ]
}

/// What a blow did, comparable.
type Did = (Vec<Sid>, u64, Vec<Wake>, Vec<u16>, u32, Vec<u16>);

fn did(b: Blow) -> Did {
    let l = b.loss;
    (
        l.sids,
        l.writes_lost,
        b.wakes,
        b.primaries,
        b.replicas,
        b.down,
    )
}

/// Runs one step on the store and on the plain model; both answers, as text.
fn step(
    s: &mut Store,
    n: &mut naive::Naive,
    t: SimTime,
    op: &Op,
    alive: &mut [bool],
) -> (String, String) {
    let read = |c: &mut Cart, out: &mut Option<Cart>| {
        *out = Some(c.clone());
        false
    };
    match *op {
        Op::Set(sid, p) => {
            let c = if p == 0 { Cart::default() } else { cart(p) };
            let mut set = |x: &mut Cart| {
                x.clone_from(&c);
                true
            };
            let a = s.update(t, sid.into(), &mut set);
            (
                format!("{a:?}"),
                format!("{:?}", n.update(t, sid.into(), None, &mut set)),
            )
        }
        Op::Get(sid) => {
            let (mut x, mut y) = (None, None);
            let a = s.update(t, sid.into(), &mut |c| read(c, &mut x));
            let b = n.update(t, sid.into(), None, &mut |c| read(c, &mut y));
            (format!("{a:?} {x:?}"), format!("{b:?} {y:?}"))
        }
        Op::Read(sid, at) => {
            let (mut x, mut y) = (None, None);
            let a = s.read(t, sid.into(), at, &mut |c| x = Some(c.clone()));
            let b = n.update(t, sid.into(), at, &mut |c| read(c, &mut y));
            (format!("{a:?} {x:?}"), format!("{b:?} {y:?}"))
        }
        Op::Expire => (format!("{}", s.expire(t, None)), format!("{}", n.expire(t))),
        Op::KillPrimary => (
            format!("{:?}", did(s.kill_primary(t, 0))),
            format!("{:?}", did(n.kill_primary(t))),
        ),
        Op::KillAz(az) => {
            alive[az] = false;
            (
                format!("{:?}", did(s.kill_az(t, az))),
                format!("{:?}", did(n.kill_az(t, az))),
            )
        }
        Op::Promote => (
            format!("{:?}", promote(s, 0)),
            format!("{:?}", n.promote(n.epoch)),
        ),
        Op::Rebuild => (
            format!("{:?}", s.rebuild(0, alive)),
            format!("{:?}", n.rebuild(alive)),
        ),
        Op::Wait(_) => (String::new(), String::new()),
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// The store, which holds each replica as the primary's state at an
    /// earlier write, answers as a store whose every copy holds a map of
    /// its own: the same reads, staleness, losses, promotions and rebuilds,
    /// and each copy the same sessions in the same order, after every step.
    #[test]
    fn replicas_hold_what_copies_of_their_own_would(
        replicas in 0..4usize,
        lag in 0..60u64,
        exponential: bool,
        sync in 0..2usize,
        ttl in 20..400u64,
        rebuild: bool,
        seed: u64,
        ops in proptest::collection::vec(op(), 1..250),
    ) {
        let cfg = StoreConfig {
            api: StoreApi::Resp,
            shards: vec![Placement { primary: 0, replicas: (1..=replicas).collect() }],
            lag,
            lag_distribution: if exponential {
                ServiceDistribution::Exponential
            } else {
                ServiceDistribution::Constant
            },
            sync_replicas: sync,
            failover_after: 30,
            rebuild_after: rebuild.then_some(50),
            ttl,
        };
        let mut s = Store::new(cfg.clone(), Streams::new(seed).stream("store"));
        let mut n = naive::Naive::new(cfg, Streams::new(seed).stream("store"));
        let mut alive = [true; 4];
        let mut t = 0;
        for (k, op) in ops.iter().enumerate() {
            t += 1 + if let Op::Wait(w) = op { *w } else { 0 };
            let (a, b) = step(&mut s, &mut n, t, op, &mut alive);
            proptest::prop_assert_eq!(a, b, "step {}: {:?}", k, op);
            proptest::prop_assert_eq!(s.state(0), n.state);
            proptest::prop_assert_eq!(s.primary_az(0), n.primary_az());
            let copies = n.copies();
            proptest::prop_assert_eq!(s.shards[0].copies.len(), copies.len());
            for (i, (az, applied, rows)) in copies.into_iter().enumerate() {
                let c = &s.shards[0].copies[i];
                proptest::prop_assert_eq!((c.az, c.applied), (az, applied), "copy {}", i);
                proptest::prop_assert_eq!(view(&s, i), rows, "copy {} after step {}: {:?}", i, k, op);
            }
        }
    }
}
