//! Route 53 as the shop's name server: one record per balancer node (one
//! per AZ), each watched by Route 53 health checkers, and the answers a
//! resolver gets (one address, or a multivalue answer of up to eight).
//!
//! Health checkers. Route 53 checks an endpoint from checkers in eight
//! regions that do not coordinate, and calls it healthy while more than
//! 18 % of them report it healthy; each checker flips its own report after
//! `failure_threshold` results in a row against it. Stratus models one
//! checker per default checker region (how many checkers a region runs is
//! not published), their first requests spread evenly over the interval,
//! so the aggregate flips at a fixed, reproducible moment inside the window
//! the threshold allows, as real uncoordinated checkers do on average. A
//! checker sends its next request `interval` after its last result (the
//! API's definition of the request interval); a request to a node that does
//! not answer fails when Route 53's 4 s HTTP connect limit runs out.
//!
//! The check is of the balancer node's own answer (does it accept a
//! connection), not of the targets behind it: an HTTP check Route 53 sends
//! to a live node that has no healthy target would fail on the 503, which
//! Stratus does not model.

use crate::core::AzIx;
use crate::rng::Rng;
use crate::scenario::{Dns, DnsClient, DnsHealthCheck, DnsRouting};
use crate::time::NEVER;
use crate::time::{SEC, SimTime};

/// The most records one multivalue answer holds (Route 53: "up to eight
/// healthy records").
pub const MAX_RECORDS: usize = 8;

/// Route 53's default health-checker regions (us-east-1, us-west-1,
/// us-west-2, eu-west-1, ap-southeast-1, ap-southeast-2, ap-northeast-1,
/// sa-east-1): one modelled checker each.
pub const CHECKERS: usize = 8;

/// An endpoint is healthy while more than this share (percent) of the
/// checkers report it healthy.
pub const HEALTHY_PERCENT: usize = 18;

/// An HTTP health check fails unless Route 53 connects within 4 s.
pub const CHECK_CONNECT_TIMEOUT: u64 = 4 * SEC;

/// A resolver's answer as a shopper's client holds it: the addresses (AZs of
/// balancer nodes) in the order given, the one in use, and how many of them
/// the request in flight has already tried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    addrs: [u8; MAX_RECORDS],
    len: u8,
    at: u8,
    tried: u8,
}

impl Answer {
    /// No answer yet (the default).
    pub const EMPTY: Answer = Answer {
        addrs: [0; MAX_RECORDS],
        len: 0,
        at: 0,
        tried: 0,
    };

    /// An answer of one address.
    pub fn one(az: AzIx) -> Answer {
        Answer::of(&[az])
    }

    /// An answer of these addresses, in this order (at most eight are kept).
    pub fn of(azs: &[AzIx]) -> Answer {
        let mut a = Answer::default();
        for (slot, &az) in a.addrs.iter_mut().zip(azs) {
            *slot = az as u8;
            a.len += 1;
        }
        a
    }

    /// The addresses, in the answer's order.
    pub fn addrs(&self) -> impl Iterator<Item = AzIx> + '_ {
        self.addrs[..usize::from(self.len)]
            .iter()
            .map(|&a| usize::from(a))
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The address the client connects to.
    pub fn current(&self) -> AzIx {
        usize::from(self.addrs[usize::from(self.at)])
    }

    /// A connection to the current address failed: the next address this
    /// request has not tried, which becomes current (a browser keeps using
    /// the address it got through to); None once every one has failed.
    pub fn try_next(&mut self) -> Option<AzIx> {
        if usize::from(self.tried) + 1 >= self.len() {
            return None;
        }
        self.tried += 1;
        self.at = (self.at + 1) % self.len;
        Some(self.current())
    }

    /// A connection to the current address failed: the address `client`
    /// tries next, or None: the request fails.
    pub fn after_failure(&mut self, client: DnsClient) -> Option<AzIx> {
        match client {
            DnsClient::NextAddress => self.try_next(),
            DnsClient::Pinned => None,
        }
    }

    /// Addresses this request gave up on before the current one.
    pub fn retries(&self) -> u32 {
        u32::from(self.tried)
    }

    /// A new request: every address may be tried again.
    pub fn new_request(&mut self) {
        self.tried = 0;
    }
}

/// One checker's report on one endpoint.
#[derive(Clone, Copy, Debug)]
struct Checker {
    healthy: bool,
    /// Results in a row against `healthy`.
    streak: u32,
}

/// A change of Route 53's verdict on a balancer node's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub t: SimTime,
    pub az: AzIx,
    pub healthy: bool,
    /// When the node last started or stopped answering, before the verdict.
    pub since: SimTime,
}

/// The records, their health checks and Route 53's verdicts.
#[derive(Clone, Debug)]
pub struct Route53 {
    pub cfg: Dns,
    /// Route 53's verdict per AZ's record (a new check starts healthy).
    healthy: Vec<bool>,
    /// Per AZ, per checker.
    checkers: Vec<[Checker; CHECKERS]>,
    /// Per AZ: whether the node answered when last looked, and since when.
    answering: Vec<(bool, SimTime)>,
    /// Every verdict change, in order.
    pub verdicts: Vec<Verdict>,
}

impl Route53 {
    pub fn new(cfg: &Dns, azs: usize) -> Route53 {
        let fresh = Checker {
            healthy: true,
            streak: 0,
        };
        Route53 {
            cfg: *cfg,
            healthy: vec![true; azs],
            checkers: vec![[fresh; CHECKERS]; azs],
            answering: vec![(true, 0); azs],
            verdicts: Vec::new(),
        }
    }

    pub fn checks(&self) -> Option<DnsHealthCheck> {
        self.cfg.health_check
    }

    /// When checker `k` sends its first request: the checkers' first
    /// requests are spread evenly over one interval from the start.
    pub fn first_check(&self, k: usize) -> SimTime {
        self.checks()
            .map_or(0, |h| h.interval.0 * k as u64 / CHECKERS as u64)
    }

    /// Whether the record of `az` is in answers: Route 53's verdict, or,
    /// without health checks, whether its node answers right now.
    pub fn healthy(&self, az: AzIx, answering: bool) -> bool {
        match self.checks() {
            Some(_) => self.healthy[az],
            None => answering,
        }
    }

    /// Notes whether the node of `az` answers at `now`, so a verdict can
    /// say how long after the change it came.
    pub fn watch(&mut self, now: SimTime, az: AzIx, answering: bool) {
        if self.answering[az].0 != answering {
            self.answering[az] = (answering, now);
        }
    }

    /// Checker `k`'s result on `az`'s node at `now`; the new verdict when
    /// the result changed it.
    pub fn result(&mut self, now: SimTime, az: AzIx, k: usize, pass: bool) -> Option<bool> {
        let threshold = self.checks()?.failure_threshold;
        let c = &mut self.checkers[az][k];
        if pass == c.healthy {
            c.streak = 0;
        } else {
            c.streak += 1;
            if c.streak >= threshold {
                *c = Checker {
                    healthy: pass,
                    streak: 0,
                };
            }
        }
        let reporting = self.checkers[az].iter().filter(|c| c.healthy).count();
        let verdict = reporting * 100 > HEALTHY_PERCENT * CHECKERS;
        if verdict == self.healthy[az] {
            return None;
        }
        self.healthy[az] = verdict;
        self.verdicts.push(Verdict {
            t: now,
            az,
            healthy: verdict,
            since: self.answering[az].1,
        });
        Some(verdict)
    }

    /// Whether a client that looked the name up at `resolved_at` (`NEVER`:
    /// not yet) must look it up again at `now`: its TTL has run out.
    pub fn stale(&self, resolved_at: SimTime, now: SimTime) -> bool {
        resolved_at == NEVER || now >= resolved_at + self.cfg.ttl.0
    }

    /// A fresh answer for a client whose own balancer node is `home`, as
    /// `routing` gives it (`rng` is drawn only for a multivalue answer).
    /// None: no balancer node answers.
    pub fn answer(
        &self,
        home: AzIx,
        rng: &mut Rng,
        answering: impl Fn(AzIx) -> bool,
    ) -> Option<Answer> {
        match self.cfg.routing {
            DnsRouting::Single => self.single(home, answering).map(Answer::one),
            DnsRouting::Multivalue => Some(self.multivalue(rng, answering)),
        }
    }

    /// A one-address answer for a shopper whose node is `from`: `from` while
    /// its record is healthy, else the next healthy one in AZ order. With
    /// health checks and none healthy, Route 53 answers as if all were (so
    /// `from`); without checks, None: no balancer node answers.
    pub fn single(&self, from: AzIx, answering: impl Fn(AzIx) -> bool) -> Option<AzIx> {
        let n = self.healthy.len();
        let found = (0..n)
            .map(|k| (from + k) % n)
            .find(|&a| self.healthy(a, answering(a)));
        match (found, self.checks()) {
            (Some(a), _) => Some(a),
            (None, Some(_)) => Some(from),
            (None, None) => None,
        }
    }

    /// A multivalue answer: the healthy records in an order drawn from
    /// `rng`, at most eight (a random eight of more); with none healthy, up
    /// to eight records regardless of health, as Route 53 answers then.
    pub fn multivalue(&self, rng: &mut Rng, answering: impl Fn(AzIx) -> bool) -> Answer {
        let n = self.healthy.len();
        let mut azs: Vec<AzIx> = (0..n).filter(|&a| self.healthy(a, answering(a))).collect();
        if azs.is_empty() {
            azs = (0..n).collect();
        }
        // Fisher–Yates, drawing only as far as the answer holds.
        let keep = azs.len().min(MAX_RECORDS);
        for i in 0..keep.min(azs.len() - 1) {
            let j = i + rng.below((azs.len() - i) as u64) as usize;
            azs.swap(i, j);
        }
        Answer::of(&azs[..keep])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Streams;
    use crate::scenario::DnsRouting;
    use crate::time::Dur;

    fn route53(azs: usize, threshold: u32) -> Route53 {
        let mut cfg = Dns::new(Dur(60 * SEC));
        cfg.routing = DnsRouting::Multivalue;
        cfg.health_check = Some(DnsHealthCheck {
            interval: Dur(30 * SEC),
            failure_threshold: threshold,
        });
        Route53::new(&cfg, azs)
    }

    /// Every checker reports `pass` on `az` once, in checker order; the
    /// verdicts that came of it.
    fn round(r: &mut Route53, now: SimTime, az: AzIx, pass: bool) -> Vec<bool> {
        (0..CHECKERS)
            .filter_map(|k| r.result(now, az, k, pass))
            .collect()
    }

    #[test]
    fn multivalue_answers_hold_at_most_eight_healthy_records() {
        let mut r = route53(12, 1);
        // Records 0, 3 and 5 fail every checker once: unhealthy at threshold 1.
        for az in [0, 3, 5] {
            assert_eq!(round(&mut r, 0, az, false), vec![false]);
        }
        let mut rng = Streams::new(7).stream("t");
        let mut seen = [0u32; 12];
        for _ in 0..2000 {
            let a = r.multivalue(&mut rng, |_| true);
            assert_eq!(a.len(), MAX_RECORDS);
            let addrs: Vec<AzIx> = a.addrs().collect();
            let mut distinct = addrs.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), addrs.len(), "{addrs:?}");
            for az in addrs {
                assert!(![0, 3, 5].contains(&az), "unhealthy {az} answered");
                seen[az] += 1;
            }
        }
        // A random eight of the nine healthy: each shows in about 8/9 of answers.
        for az in [1, 2, 4, 6, 7, 8, 9, 10, 11] {
            assert!((1700..=1850).contains(&seen[az]), "{seen:?}");
        }
    }

    #[test]
    fn with_none_healthy_up_to_eight_records_regardless() {
        let mut r = route53(3, 1);
        for az in 0..3 {
            round(&mut r, 0, az, false);
        }
        let mut rng = Streams::new(1).stream("t");
        let a = r.multivalue(&mut rng, |_| true);
        assert_eq!(a.len(), 3);
        // The single answer stays on the shopper's own node then.
        assert_eq!(r.single(2, |_| false), Some(2));
        let big = route53(10, 1);
        assert_eq!(big.multivalue(&mut rng, |_| true).len(), MAX_RECORDS);
    }

    #[test]
    fn a_record_flips_when_all_but_18_percent_of_checkers_flip() {
        let mut r = route53(2, 3);
        r.watch(5 * SEC, 1, false);
        // Two failures from every checker: no checker has flipped yet.
        assert!(round(&mut r, SEC, 1, false).is_empty());
        assert!(round(&mut r, 2 * SEC, 1, false).is_empty());
        // The third: unhealthy once 7 of 8 flipped (one healthy is 12.5 %).
        let flips: Vec<Option<bool>> = (0..CHECKERS)
            .map(|k| r.result(3 * SEC, 1, k, false))
            .collect();
        assert_eq!(flips.iter().position(Option::is_some), Some(6));
        assert_eq!(r.verdicts[0].since, 5 * SEC);
        assert!(!r.healthy(1, true) && r.healthy(0, false));
        // Back: healthy as soon as two checkers (25 %) passed three in a row.
        for _ in 0..2 {
            assert!(round(&mut r, 4 * SEC, 1, true).is_empty());
        }
        let back: Vec<Option<bool>> = (0..CHECKERS)
            .map(|k| r.result(5 * SEC, 1, k, true))
            .collect();
        assert_eq!(back.iter().position(Option::is_some), Some(1));
        assert_eq!(back[1], Some(true));
    }

    #[test]
    fn a_pass_resets_a_checker_streak() {
        let mut r = route53(1, 2);
        round(&mut r, 0, 0, false);
        round(&mut r, 0, 0, true);
        assert!(round(&mut r, 0, 0, false).is_empty());
        assert_eq!(round(&mut r, 0, 0, false), vec![false]);
    }

    #[test]
    fn without_checks_the_record_follows_the_node_at_once() {
        let r = Route53::new(&Dns::new(Dur(60 * SEC)), 3);
        assert!(r.healthy(1, true) && !r.healthy(1, false));
        assert_eq!(r.single(1, |a| a == 0), Some(0));
        assert_eq!(r.single(1, |_| false), None);
        assert_eq!(r.first_check(5), 0);
    }

    #[test]
    fn the_next_address_cycles_once_through_the_answer() {
        let mut a = Answer::of(&[2, 0, 1]);
        assert_eq!(a.current(), 2);
        assert_eq!(
            (a.try_next(), a.try_next(), a.try_next()),
            (Some(0), Some(1), None)
        );
        assert_eq!(a.retries(), 2);
        a.new_request();
        assert_eq!((a.current(), a.try_next()), (1, Some(2)));
        let mut one = Answer::one(1);
        assert_eq!(one.try_next(), None);
    }
}
