use super::*;
use crate::cart::{Cart, Item, price_of};
use crate::scenario::Database as Cfg;
use crate::time::{MS, SEC};

fn cfg() -> Cfg {
    let mut c = Cfg::new(3);
    c.users = 50;
    c.replicas = vec![2];
    c
}

fn cart() -> Cart {
    let mut c = Cart::default();
    c.add(Item {
        product: 1,
        size: 0,
        colour: 0,
        qty: 1,
        price_cents: price_of(1),
    });
    c
}

fn place(db: &mut Database, now: SimTime, user: u32) -> i64 {
    let (id, stmts) = sql::order(db.writer().unwrap(), user, &cart(), now).unwrap();
    db.commit(now, stmts, 1).unwrap();
    id
}

#[test]
fn replicas_apply_after_their_lag() {
    let mut db = Database::new(&cfg(), 10, 1.0, &Streams::new(3)).unwrap();
    let id = place(&mut db, SEC, 4);
    let r = 2; // primary, standby, replica
    assert_eq!(db.instances[r].role, Role::Replica);
    let c = db.reader(r, SEC).unwrap();
    assert!(
        sql::order_ids(c, 4).unwrap().is_empty(),
        "not there at once"
    );
    let c = db.reader(r, SEC + 60 * SEC).unwrap();
    assert_eq!(sql::order_ids(c, 4).unwrap(), vec![id]);
    let lag = db.lag_us.max();
    assert!(lag > 0 && lag < 60_000_000, "{lag}");
    // The standby had it synchronously.
    assert_eq!(sql::order_ids(&db.instances[1].conn, 4).unwrap(), vec![id]);
}

#[test]
fn lag_distribution_has_its_mean() {
    let mut db = Database::new(&cfg(), 10, 1.0, &Streams::new(3)).unwrap();
    for k in 0..2000 {
        place(&mut db, k * SEC, 1 + (k % 50) as u32);
    }
    db.finish(3000 * SEC);
    let mean_ms = db.lag_us.mean() / 1000.0;
    assert!(
        (mean_ms - 100.0).abs() < 10.0,
        "mean lag {mean_ms} ms, expected ~100"
    );
}

#[test]
fn standby_failover_loses_nothing_replica_failover_loses_the_tail() {
    let mut db = Database::new(&cfg(), 10, 1.0, &Streams::new(3)).unwrap();
    for k in 0..5 {
        place(&mut db, k * MS, 2);
    }
    let wakes = db.kill(0, 10 * MS);
    let Wake::Promote { at, epoch } = wakes[0] else {
        panic!("{wakes:?}")
    };
    assert!(db.writer().is_err(), "no writes while failing over");
    db.promote(at, epoch).unwrap();
    assert_eq!(db.primary(), Some(1));
    assert_eq!(db.orders_in_primary(), 5);
    assert_eq!(db.stats.orders_lost, 0);

    // No standby: the replica is promoted before the last commits reach it.
    let mut c = cfg();
    c.standby_az = None;
    c.replica_lag = crate::time::Dur(10 * SEC);
    let mut db = Database::new(&c, 10, 1.0, &Streams::new(3)).unwrap();
    place(&mut db, 0, 2);
    db.finish(60 * SEC);
    place(&mut db, 61 * SEC, 2);
    place(&mut db, 61 * SEC, 3);
    let wakes = db.kill(0, 61 * SEC);
    let Wake::Promote { epoch, .. } = wakes[0] else {
        panic!()
    };
    db.promote(61 * SEC + 1, epoch).unwrap();
    assert_eq!(db.orders_in_primary(), 1);
    assert_eq!(db.stats.orders_lost, 2);
    assert_eq!(db.stats.orders_committed, 3);
}

#[test]
fn popularity_favours_low_ranks() {
    let db = Database::new(&cfg(), 100, 1.0, &Streams::new(3)).unwrap();
    assert_eq!(db.popularity.pick(0.0), 0);
    assert_eq!(db.popularity.pick(1.0), 99);
    let flat = Database::new(&cfg(), 100, 0.0, &Streams::new(3)).unwrap();
    assert_eq!(flat.popularity.pick(0.5), 49);
    assert!(db.popularity.pick(0.5) < 10);
}
