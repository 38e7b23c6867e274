//! DNS as Route 53 answers it, checked against what its documentation
//! implies on real runs of `dns-ttl`: a dead balancer node leaves the
//! answers inside the window its health check's interval and failure
//! threshold allow, and rejoins after as many passes; pinned clients fail until that detection plus the TTL;
//! clients that try the next address pay a connect timeout and fail
//! nothing; and runs repeat byte for byte.

use crate::common;
use crate::common::{bundled, events, json_outside_wall, run};
use stratus::Report;
use stratus::dns::CHECK_CONNECT_TIMEOUT;
use stratus::scenario::{Action, DnsClient, DnsHealthCheck, DnsRouting, Scenario};
use stratus::time::{Dur, SEC};

/// When `dns-ttl` kills us-east-1b's balancer node.
const KILL_S: f64 = 600.0;

fn dns_ttl(client: DnsClient, interval_s: u64, threshold: u32) -> Scenario {
    let mut sc = bundled("dns-ttl");
    let dns = sc.dns.as_mut().expect("[dns]");
    dns.client = client;
    dns.health_check = Some(DnsHealthCheck {
        interval: Dur::from_secs(interval_s),
        failure_threshold: threshold,
    });
    sc
}

/// When the dead node's record left the answers, from the run's events.
fn left_at(r: &Report) -> f64 {
    let e = events(r, "dns_unhealthy");
    assert_eq!(e.len(), 1, "one verdict: {e:?}");
    assert_eq!(e[0].detail, "us-east-1b");
    e[0].t_s
}

#[test]
fn a_dead_node_leaves_the_answers_within_its_threshold_window() {
    let check = CHECK_CONNECT_TIMEOUT as f64 / SEC as f64;
    for (interval, threshold) in [(30, 3), (10, 3), (30, 1), (10, 10)] {
        let sc = dns_ttl(DnsClient::Pinned, interval, threshold);
        let r = run(&sc, sc.strategy);
        assert_eq!(events(&r, "kill_lb_node")[0].t_s, KILL_S);
        let after = left_at(&r) - KILL_S;
        // A checker's first failing request goes out within an interval of
        // the death; each failure takes the 4 s connect limit, and the next
        // request goes an interval after it.
        let (i, n) = (interval as f64, f64::from(threshold));
        let (low, high) = ((n - 1.0) * i + n * check, n * i + n * check);
        assert!(
            after >= low && after < high,
            "{interval} s × {threshold}: left {after} s after the death, expected [{low}, {high})"
        );
        let verdict = &r.dns.as_ref().unwrap().route53.as_ref().unwrap().verdicts[0];
        assert!(!verdict.healthy && (verdict.after_s - after).abs() < 1e-6);
    }
}

#[test]
fn a_node_back_rejoins_after_as_many_passes() {
    let mut sc = dns_ttl(DnsClient::NextAddress, 30, 3);
    sc.timeline.clear();
    common::at(&mut sc, 300, Action::KillAz { az: 1 });
    common::at(&mut sc, 500, Action::RestoreAz { az: 1 });
    let r = run(&sc, sc.strategy);
    let verdicts = &r.dns.as_ref().unwrap().route53.as_ref().unwrap().verdicts;
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
    assert!(!verdicts[0].healthy && verdicts[1].healthy);
    // A pass is answered at once: three in a row from two checkers of
    // eight (over 18 %), the first within an interval of the return.
    let back = events(&r, "dns_healthy")[0].t_s - 500.0;
    assert!((60.0..90.0).contains(&back), "rejoined {back} s after");
    assert!((verdicts[1].after_s - back).abs() < 1e-6);
}

#[test]
fn pinned_clients_fail_until_detection_plus_the_ttl() {
    let sc = dns_ttl(DnsClient::Pinned, 30, 3);
    let ttl = sc.dns.unwrap().ttl.0 as f64 / SEC as f64;
    let r = run(&sc, sc.strategy);
    let left = left_at(&r);
    let dns = r.dns.as_ref().unwrap();
    assert!(dns.stale_answer_failures > 0);
    assert_eq!(
        r.requests.errors.get("lb_node_unreachable").copied(),
        Some(dns.stale_answer_failures)
    );
    // Answers handed out before the verdict keep failing after it, for at
    // most a TTL; the first failure-free moment is bounded by interval ×
    // threshold (plus the checks' connect limits) plus the TTL.
    let last = dns.last_stale_answer_sent_s.unwrap();
    assert!(
        last > left && last <= left + ttl,
        "last {last}, left {left}"
    );
    assert!(last <= KILL_S + 3.0 * (30.0 + 4.0) + ttl);
    let r53 = dns.route53.as_ref().unwrap();
    assert_eq!(
        (r53.next_address_retries, r53.next_address_recoveries),
        (0, 0)
    );
}

#[test]
fn next_address_clients_pay_a_timeout_and_fail_nothing() {
    let pinned = dns_ttl(DnsClient::Pinned, 30, 3);
    let next = dns_ttl(DnsClient::NextAddress, 30, 3);
    let (p, n) = (run(&pinned, pinned.strategy), run(&next, next.strategy));
    assert!(!n.requests.errors.contains_key("lb_node_unreachable"));
    assert_eq!(n.requests.failed, 0);
    let r53 = n.dns.as_ref().unwrap().route53.as_ref().unwrap();
    assert!(r53.next_address_retries > 0);
    // Every retried request got through on another address; each waited
    // out the connect timeout first.
    assert!(r53.next_address_recoveries > 0);
    assert!(r53.next_address_recoveries <= r53.next_address_retries);
    let timeout_ms = next.load_balancer.connect_timeout.0 as f64 / 1e6;
    assert!(n.latency_ms.all.max >= timeout_ms);
    assert!(p.requests.failed > 0);
    assert_eq!(
        left_at(&p),
        left_at(&n),
        "the checks do not depend on clients"
    );
}

#[test]
fn with_every_node_dead_next_address_tries_each_and_fails() {
    let mut sc = dns_ttl(DnsClient::NextAddress, 10, 1);
    for az in [0, 2] {
        common::at(&mut sc, 600, stratus::scenario::Action::KillLbNode { az });
    }
    let r = run(&sc, sc.strategy);
    assert_eq!(events(&r, "dns_unhealthy").len(), 3);
    // Route 53 answers with all three unhealthy records then; each try
    // costs three connect timeouts and fails.
    assert!(
        r.requests
            .errors
            .get("lb_node_unreachable")
            .copied()
            .unwrap_or(0)
            > 0
    );
    assert!(r.latency_ms.all.max >= 3.0 * 10_000.0);
}

#[test]
fn a_ttl_alone_keeps_the_single_answer_and_its_report() {
    let sc = bundled("fis-az-power");
    let dns = sc.dns.unwrap();
    assert_eq!((dns.routing, dns.health_check), (DnsRouting::Single, None));
    let r = common::bundled_report("fis-az-power", sc.strategy);
    let d = r.dns.as_ref().unwrap();
    assert!(d.route53.is_none());
    assert!(events(&r, "dns_unhealthy").is_empty());
    assert!(!r.to_json().contains("route53"));
}

#[test]
fn dns_ttl_repeats_byte_for_byte_under_each_client() {
    for client in [DnsClient::Pinned, DnsClient::NextAddress] {
        let sc = dns_ttl(client, 30, 3);
        let a = json_outside_wall(&run(&sc, sc.strategy));
        let b = json_outside_wall(&run(&sc, sc.strategy));
        assert!(a == b, "{client:?}: two runs of the same seed differ");
    }
}
