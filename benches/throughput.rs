//! Speed, measured (tests never time anything):
//!
//! - `engine/hold`: the classic hold model on the bare event queue (events/s);
//! - `model/az-outage-x10`: the full model on az-outage with ten times the
//!   shoppers (over 5 million requests per run), per strategy, in simulated
//!   requests per wall-second on one core;
//! - `cookie/sign+verify`: encoding, signing and checking a cart cookie, by cart size;
//! - `store/get+set`: the session store's operations.
//!
//! cargo bench --bench throughput

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use std::hint::black_box;
use stratus::cart::{Cart, Item};
use stratus::engine::{Engine, Model, Queue, Unpaced};
use stratus::rng::{Rng, Streams};
use stratus::session::cookie::CookieCodec;
use stratus::session::store::{Store, StoreConfig};
use stratus::time::Dur;
use stratus::{Scenario, Strategy};

/// Each event schedules one more at an exponential distance: the queue's size
/// holds steady at its initial population.
struct Hold {
    rng: Rng,
    mean: f64,
}

impl Model for Hold {
    type Event = u32;
    fn handle(&mut self, _now: u64, ev: u32, q: &mut Queue<u32>) {
        let d = self.rng.exp(self.mean) as u64;
        q.after(d, ev);
    }
}

fn hold(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine/hold");
    const EVENTS: u64 = 1_000_000;
    for population in [1_000u32, 10_000, 100_000] {
        g.throughput(Throughput::Elements(EVENTS));
        g.bench_with_input(
            BenchmarkId::from_parameter(population),
            &population,
            |b, &n| {
                b.iter(|| {
                    let mean = 1e9;
                    let mut e = Engine::new(Hold {
                        rng: Streams::new(1).stream("hold"),
                        mean,
                    });
                    let mut r = Streams::new(2).stream("init");
                    for i in 0..n {
                        e.queue.at(r.exp(mean) as u64, i);
                    }
                    // Run until a million events have been handled.
                    let mut end = 0u64;
                    while e.events < EVENTS {
                        end += 1_000_000_000;
                        e.run_until(end, &mut Unpaced);
                    }
                    black_box(e.events)
                })
            },
        );
    }
    g.finish();
}

/// az-outage with ten times the arrivals: over 5 million requests in 30 minutes.
pub fn az_outage_x10() -> Scenario {
    let text = stratus::bundled::find("az-outage").expect("bundled");
    let mut sc = stratus::parse_scenario("az-outage", text).expect("parses");
    sc.name = "az-outage-x10".into();
    sc.workload.arrivals_per_second *= 10.0;
    sc
}

fn model(c: &mut Criterion) {
    let sc = az_outage_x10();
    let mut g = c.benchmark_group("model/az-outage-x10");
    g.sample_size(10);
    g.warm_up_time(std::time::Duration::from_millis(100));
    g.measurement_time(std::time::Duration::from_secs(20));
    for st in [
        Strategy::Sticky,
        Strategy::Store,
        Strategy::Cookie,
        Strategy::Durable,
    ] {
        let requests = stratus::run(&sc, st, sc.seed).requests.total;
        assert!(requests >= 5_000_000, "{st}: only {requests} requests");
        g.throughput(Throughput::Elements(requests));
        g.bench_function(st.name(), |b| {
            b.iter(|| black_box(stratus::run(&sc, st, sc.seed).requests.total))
        });
    }
    g.finish();
}

fn cart(n: usize) -> Cart {
    let mut r = Streams::new(3).stream("cart");
    let mut c = Cart::default();
    while c.items.len() < n {
        c.add(Item::random(&mut r, 5000));
    }
    c
}

fn cookie(c: &mut Criterion) {
    let codec = CookieCodec::new(Some(b"a 32-byte server key for signing"));
    let mut g = c.benchmark_group("cookie/sign+verify");
    for items in [1usize, 10, 60] {
        let cart = cart(items);
        let bytes = CookieCodec::cookie_len(&codec.encode(&cart)) as u64;
        g.throughput(Throughput::Bytes(bytes));
        g.bench_with_input(BenchmarkId::new("items", items), &cart, |b, cart| {
            b.iter(|| {
                let v = codec.encode(black_box(cart));
                black_box(codec.decode(&v).expect("valid"))
            })
        });
    }
    g.finish();
}

fn store(c: &mut Criterion) {
    let mut g = c.benchmark_group("store/get+set");
    let cart = cart(3);
    for sessions in [1_000u128, 100_000] {
        g.throughput(Throughput::Elements(2));
        g.bench_with_input(
            BenchmarkId::new("sessions", sessions),
            &sessions,
            |b, &n| {
                // The default store: a primary and one replica, 10 ms behind.
                let sc = Scenario::new("store", Dur::from_secs(60));
                let mut s = Store::new(
                    StoreConfig::redis(&sc.sessions.store, 3),
                    Streams::new(1).stream("store"),
                );
                for sid in 0..n {
                    s.set(0, sid, &cart).expect("up");
                }
                let mut sid = 0u128;
                let mut now = 1u64;
                b.iter(|| {
                    sid = (sid + 7919) % n;
                    now += 1_000;
                    let got = s.get(now, sid).expect("up");
                    s.set(now, sid, &cart).expect("up");
                    black_box(got)
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, hold, model, cookie, store);

#[path = "../src/malloc.rs"]
mod malloc;

/// `criterion_main!`'s body, after the allocator setting the `stratus`
/// binary makes: without it, the runs after the first found glibc's mapping
/// threshold raised by the last run's freed buffers, which the command line
/// never does.
fn main() {
    malloc::keep_large_blocks_mapped();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
