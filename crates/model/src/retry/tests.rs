use super::*;
use crate::rng::Streams;

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
