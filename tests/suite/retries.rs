//! Client retries against theory and against the wasted work they cause.

use stratus::retry::{Backoff, RetryPolicy};
use stratus::scenario::{Action, Kind, Pages, Scenario, Strategy, Timed};
use stratus::time::{Dur, MS, SEC};

/// One AZ, two nodes far from busy, one page per shopper, no latency.
fn quiet(secs: u64) -> Scenario {
    let mut sc = Scenario::new("retries", Dur(secs * SEC));
    sc.region.azs = vec!["az".into()];
    sc.region.latency.same_az = Dur(0);
    sc.region.latency.cross_az = Dur(0);
    sc.region.latency.internet = Dur(0);
    sc.sessions.store.replicas = Vec::new();
    sc.fleet.min = 2;
    sc.fleet.desired = 2;
    sc.fleet.max = 2;
    sc.fleet.service_time.set(Kind::Home, Dur(2 * MS));
    sc.workload.arrivals_per_second = 200.0;
    sc.workload.pages = Pages::Fixed(1);
    sc.workload.add_to_cart = 0.0;
    sc.workload.checkout = 0.0;
    sc
}

fn errors_everywhere(sc: &mut Scenario, p: f64) {
    sc.timeline.push(Timed {
        at: Dur(0),
        action: Action::InjectErrors {
            az: None,
            count: None,
            p,
            duration: None,
        },
    });
}

/// With every attempt failing independently with chance p and k retries,
/// a request takes 1 + p + … + p^k = (1 − p^(k+1)) / (1 − p) attempts.
#[test]
fn attempts_per_request_match_the_geometric_sum() {
    for (p, k) in [(0.1, 1), (0.3, 2), (0.5, 3), (0.7, 4), (0.9, 2)] {
        let mut sc = quiet(200);
        errors_everywhere(&mut sc, p);
        sc.workload.retry = RetryPolicy {
            max_attempts: k + 1,
            backoff: Backoff::None,
            ..RetryPolicy::default()
        };
        let r = stratus::run(&sc, Strategy::Cookie, 11);
        let t = r.retries.expect("a retries section");
        assert!(t.requests > 30_000, "{} requests", t.requests);
        let measured = t.attempts as f64 / t.requests as f64;
        let theory = (1.0 - p.powi(k as i32 + 1)) / (1.0 - p);
        let err = (measured / theory - 1.0).abs();
        eprintln!("p {p} k {k}: {measured:.4} attempts per request, theory {theory:.4}");
        assert!(err < 0.02, "p {p} k {k}: {measured} vs {theory}");
        assert_eq!(
            r.requests.errors.get("injected_error"),
            Some(&r.requests.failed)
        );
    }
}

/// A node slowed past the client's timeout still serves what it queued:
/// the caller has gone, the work is done anyway, and a retry doubles it.
#[test]
fn timed_out_attempts_are_still_served() {
    let mut sc = quiet(60);
    sc.timeline.push(Timed {
        at: Dur(10 * SEC),
        action: Action::SlowNode {
            az: None,
            count: 2,
            factor: 200.0,
            duration: Some(Dur(10 * SEC)),
        },
    });
    sc.workload.retry = RetryPolicy {
        max_attempts: 3,
        timeout: Some(Dur(200 * MS)),
        backoff: Backoff::None,
        ..RetryPolicy::default()
    };
    let r = stratus::run(&sc, Strategy::Cookie, 3);
    let t = r.retries.expect("a retries section");
    assert!(t.timed_out > 100, "{t:?}");
    assert!(t.served_abandoned > 100, "{t:?}");
    assert!(t.retries >= t.timed_out.min(t.requests), "{t:?}");
    assert_eq!(r.requests.errors.get("client_timeout"), Some(&t.timed_out));
    // Without retries nothing is amplified, and the run reports no section.
    let mut plain = sc.clone();
    plain.workload.retry = RetryPolicy::none();
    assert!(stratus::run(&plain, Strategy::Cookie, 3).retries.is_none());
}

/// A budget of 10 % holds retries to a tenth of requests, however many fail.
#[test]
fn a_budget_caps_the_amplification() {
    let mut sc = quiet(120);
    errors_everywhere(&mut sc, 0.9);
    sc.workload.retry = RetryPolicy {
        max_attempts: 4,
        backoff: Backoff::None,
        budget: Some(0.1),
        ..RetryPolicy::default()
    };
    let r = stratus::run(&sc, Strategy::Cookie, 5);
    let t = r.retries.expect("a retries section");
    assert!(t.retries as f64 <= 0.1 * t.requests as f64 + 10.0, "{t:?}");
    assert!(t.retries_denied > t.retries, "{t:?}");
    assert!(t.attempts_per_request < 1.11, "{t:?}");
}

/// The bundled retry storm: with immediate retries the shop stays down long
/// after its 60 s trigger; a retry budget, load shedding and a client
/// circuit breaker bring it back.
/// Backoff with jitter alone does not (every shopper still retries), and the
/// test holds that too, so a change that quietly "fixes" it is noticed.
#[test]
fn the_retry_storm_outlives_its_trigger_unless_a_remedy_holds() {
    let text = stratus::bundled::find("retry-storm").expect("bundled");
    let sc = stratus::parse_scenario("retry-storm", text).expect("parses");
    let tail = |name: &str| {
        let v = sc.variants.iter().find(|v| v.name == name).expect(name);
        let r = stratus::run(&v.scenario, Strategy::Cookie, sc.seed);
        let t = r.retries.expect("a retries section");
        eprintln!("{name}: {t:?}");
        t
    };
    let storm = tail("immediate");
    assert!(storm.goodput_share_last_5m < 0.5, "{storm:?}");
    assert!(storm.attempts_per_request > 2.0, "{storm:?}");
    assert!(storm.served_abandoned > storm.goodput / 2, "{storm:?}");
    for remedy in ["budget", "shedding", "breaker"] {
        let t = tail(remedy);
        assert!(t.goodput_share_last_5m > 0.95, "{remedy}: {t:?}");
    }
    assert!(tail("backoff").goodput_share_last_5m < 0.5);
}
