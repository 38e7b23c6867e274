//! Validation against queueing theory: one node with c workers, Poisson
//! arrivals, exponential service, zero latency and one request per shopper is
//! an M/M/c queue, so the mean wait must match Erlang C, and L = λW must hold.

use stratus::scenario::{Kind, Pages, Scenario, ServiceDistribution, Strategy};
use stratus::time::{Dur, MS, SEC};

const WORKERS: u32 = 4;
const SERVICE_MS: u64 = 10;

/// Erlang C: the probability an arrival waits, for c servers and offered load a.
fn erlang_c(c: u32, a: f64) -> f64 {
    let rho = a / f64::from(c);
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    let top = term / (1.0 - rho);
    top / (sum + top)
}

/// Mean wait in queue of M/M/c, in ms.
fn wq_ms(c: u32, rho: f64, service_ms: f64) -> f64 {
    let a = rho * f64::from(c);
    erlang_c(c, a) * service_ms / (f64::from(c) * (1.0 - rho))
}

fn mmc(rho: f64, requests: f64) -> Scenario {
    let lambda = rho * f64::from(WORKERS) / (SERVICE_MS as f64 / 1e3);
    let secs = (requests / lambda * 1.02).ceil() as u64;
    let mut sc = Scenario::new("mmc", Dur(secs * SEC));
    sc.region.azs = vec!["az".into()];
    let zero = Dur(0);
    sc.region.latency.same_az = zero;
    sc.region.latency.cross_az = zero;
    sc.region.latency.internet = zero;
    sc.sessions.store.replicas = Vec::new();
    sc.fleet.min = 1;
    sc.fleet.desired = 1;
    sc.fleet.max = 1;
    sc.fleet.workers = WORKERS;
    sc.fleet.queue_limit = u32::MAX;
    sc.fleet.service_time.set(Kind::Home, Dur(SERVICE_MS * MS));
    sc.fleet.service_distribution = ServiceDistribution::Exponential;
    sc.workload.arrivals_per_second = lambda;
    sc.workload.pages = Pages::Fixed(1);
    sc.workload.add_to_cart = 0.0;
    sc.workload.checkout = 0.0;
    sc
}

/// `requests` is chosen per utilisation so the 3 % bound is over three
/// standard errors of the estimate (the wait's autocorrelation grows steeply
/// near saturation: about 3.5 % at 1.2 million requests and rho 0.95).
fn check(rho: f64, requests: f64, seed: u64) {
    let sc = mmc(rho, requests);
    let r = stratus::run(&sc, Strategy::Cookie, seed);
    let q = &r.queueing;
    assert!(
        q.node_arrivals >= 1_000_000,
        "only {} requests",
        q.node_arrivals
    );
    assert_eq!(r.requests.failed, 0);
    let theory = wq_ms(WORKERS, rho, SERVICE_MS as f64);
    let err = (q.wait_mean_ms - theory).abs() / theory;
    eprintln!(
        "rho {rho} seed {seed}: Wq sim {:.4} ms, Erlang C {:.4} ms, error {:.2} %",
        q.wait_mean_ms,
        theory,
        err * 100.0
    );
    assert!(
        err < 0.03,
        "rho {rho}: mean wait {:.4} ms vs Erlang C {:.4} ms ({:.2} % off)",
        q.wait_mean_ms,
        theory,
        err * 100.0
    );
    // Little's law: L = λ W, with λ and W measured.
    let little = q.arrival_rate_per_s * q.sojourn_mean_ms / 1e3;
    let lerr = (q.in_system_mean - little).abs() / little;
    assert!(
        lerr < 0.02,
        "rho {rho}: L {:.4} vs λW {:.4} ({:.2} % off)",
        q.in_system_mean,
        little,
        lerr * 100.0
    );
    // Utilisation: busy workers = λ S.
    let busy = q.in_system_mean - q.arrival_rate_per_s * q.wait_mean_ms / 1e3;
    assert!(
        (busy / (rho * f64::from(WORKERS)) - 1.0).abs() < 0.01,
        "busy {busy}"
    );
}

#[test]
fn erlang_c_formula_matches_known_values() {
    // M/M/1: P(wait) = rho.
    assert!((erlang_c(1, 0.8) - 0.8).abs() < 1e-12);
    // c = 2, a = 1 (rho 0.5): C = 1/3.
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn mmc_wait_matches_erlang_c_at_rho_050() {
    check(0.5, 1.2e6, 11);
}

#[test]
fn mmc_wait_matches_erlang_c_at_rho_080() {
    check(0.8, 4e6, 12);
}

#[test]
fn mmc_wait_matches_erlang_c_at_rho_095() {
    check(0.95, 16e6, 13);
}
