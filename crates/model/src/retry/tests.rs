use super::*;
use crate::rng::Streams;
use crate::time::{Dur, MS, SEC};

fn policy(backoff: Backoff, jitter: Jitter) -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        backoff,
        jitter,
        base: Dur(100 * MS),
        cap: Dur(SEC),
        ..RetryPolicy::default()
    }
}

#[test]
fn exponential_doubles_to_its_cap_without_jitter() {
    let p = policy(Backoff::Exponential, Jitter::None);
    let mut r = Streams::new(1).stream("x");
    let waits: Vec<u64> = (1..=6).map(|n| p.delay(n, 0, &mut r) / MS).collect();
    assert_eq!(waits, vec![100, 200, 400, 800, 1000, 1000]);
    let c = policy(Backoff::Constant, Jitter::None);
    assert_eq!(c.delay(5, 0, &mut r), 100 * MS);
    assert_eq!(policy(Backoff::None, Jitter::Full).delay(3, 0, &mut r), 0);
}

#[test]
fn jitter_stays_within_its_bounds_and_full_jitter_halves_the_mean() {
    let mut r = Streams::new(2).stream("x");
    let n = 20_000;
    for (jitter, lo, hi) in [
        (Jitter::Full, 0, 400),
        (Jitter::Equal, 200, 400),
        (Jitter::Decorrelated, 100, 900),
    ] {
        let p = policy(Backoff::Exponential, jitter);
        let mut sum = 0u64;
        for _ in 0..n {
            let d = p.delay(3, 300 * MS, &mut r);
            assert!((lo * MS..=hi * MS).contains(&d), "{jitter:?} {d}");
            sum += d;
        }
        let mean = sum as f64 / n as f64 / MS as f64;
        let want = (lo + hi) as f64 / 2.0;
        assert!(
            (mean / want - 1.0).abs() < 0.02,
            "{jitter:?}: {mean} vs {want}"
        );
    }
}

#[test]
fn a_budget_keeps_retries_to_its_share_of_requests() {
    let mut b = Budget::new(0.1);
    let mut allowed = 0;
    for _ in 0..10_000 {
        b.deposit();
        // Every request fails and asks for three retries.
        for _ in 0..3 {
            allowed += u32::from(b.withdraw());
        }
    }
    assert_eq!(allowed, 1_000, "a tenth of the requests");
    assert_eq!(b.denied, 29_000);
}

mod client {
    use super::super::*;
    use crate::breaker::{Breaker, BreakerCfg, State};
    use crate::metrics::Metrics;
    use crate::rng::Streams;
    use crate::scenario::{Pages, Scenario};
    use crate::shop::Response;
    use crate::time::{Dur, MS, SEC};
    use crate::workload::Shopper;

    fn shopper(w: &crate::scenario::Workload) -> Shopper {
        Shopper::new(Streams::new(3).stream("s"), w, 1)
    }

    fn workload() -> crate::scenario::Workload {
        let mut w = Scenario::new("t", Dur(SEC)).workload;
        w.pages = Pages::Fixed(5);
        w.add_to_cart = 0.0;
        w
    }

    /// A failed attempt is retried after the backoff until the attempts are
    /// spent; then the shopper tries the page again after thinking, and
    /// after three failed pages in a row it leaves.
    #[test]
    fn retries_then_the_shoppers_own_retry_then_it_leaves() {
        let w = workload();
        let policy = RetryPolicy {
            max_attempts: 2,
            backoff: Backoff::Constant,
            base: Dur(100 * MS),
            jitter: Jitter::None,
            ..RetryPolicy::default()
        };
        let mut retries = Retries::new(policy, Streams::new(1).stream("j"));
        let (mut sh, mut m) = (shopper(&w), Metrics::default());
        let mut c = Client {
            retries: &mut retries,
            breaker: None,
        };
        let mut seen = Vec::new();
        loop {
            assert!(c.sending(&sh, 0, &mut m));
            let next = c.heard(&mut sh, &w, Heard::Failed(CLIENT_TIMEOUT), (0, 0), &mut m);
            seen.push(std::mem::discriminant(&next));
            match next {
                Next::Retry(wait) => assert_eq!(wait, 100 * MS),
                Next::Again(_) => assert_eq!(sh.extra().attempt, 1, "a fresh request"),
                Next::Done => break,
                Next::Page(_) => panic!("nothing succeeded"),
            }
        }
        let (retry, again) = (
            std::mem::discriminant(&Next::Retry(0)),
            std::mem::discriminant(&Next::Again(0)),
        );
        let done = std::mem::discriminant(&Next::Done);
        assert_eq!(seen, vec![retry, again, retry, again, retry, done]);
        assert_eq!((m.first_attempts, m.retries, m.timed_out), (3, 3, 6));
        assert_eq!(m.failed, 6);
    }

    /// An open breaker refuses the attempt, unsent, and the client does not
    /// retry what it refused; a success closes a half-open breaker.
    #[test]
    fn an_open_breaker_refuses_and_is_not_retried() {
        let w = workload();
        let cfg = BreakerCfg {
            failures: 1,
            window: Dur(10 * SEC),
            open_for: Dur(SEC),
            probes: 1,
        };
        let policy = RetryPolicy {
            max_attempts: 4,
            backoff: Backoff::None,
            breaker: Some(cfg),
            ..RetryPolicy::default()
        };
        let mut retries = Retries::new(policy, Streams::new(1).stream("j"));
        let mut b = Breaker::default();
        let (mut sh, mut m) = (shopper(&w), Metrics::default());
        let mut c = Client {
            retries: &mut retries,
            breaker: Some(&mut b),
        };
        assert!(c.sending(&sh, 0, &mut m));
        let next = c.heard(&mut sh, &w, Heard::Failed("http_503"), (0, 0), &mut m);
        assert_eq!(next, Next::Retry(0));
        assert!(!c.sending(&sh, 0, &mut m), "one failure opened it");
        let next = c.heard(&mut sh, &w, Heard::Failed(CIRCUIT_OPEN), (0, 0), &mut m);
        assert!(matches!(next, Next::Again(_)), "{next:?}");
        // A second later it lets one probe through; a success closes it.
        assert!(c.sending(&sh, SEC, &mut m));
        let ok = Response::default();
        let next = c.heard(&mut sh, &w, Heard::Ok(&ok), (SEC, 0), &mut m);
        assert!(matches!(next, Next::Page(_)), "{next:?}");
        assert_eq!(b.state(), State::Closed);
        assert_eq!((m.first_attempts, m.retries, m.ok), (2, 1, 1));
    }
}
