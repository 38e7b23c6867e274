//! Route 53's health checks on the balancer's nodes (`crate::dns`), run by
//! the control plane so both drivers get the same verdicts at the same
//! times: each checker's request is a timer, its result the network's state
//! at that moment, and a verdict that changes is logged (`dns_unhealthy`,
//! `dns_healthy`, with the AZ).

use super::{ControlPlane, Timer};
use crate::dns::{CHECK_CONNECT_TIMEOUT, CHECKERS};

impl ControlPlane {
    /// Every checker's first request on every node, spread over an interval.
    pub(super) fn start_dns_checks(&mut self) {
        let Some(r53) = self.dns.as_ref().filter(|r| r.checks().is_some()) else {
            return;
        };
        let firsts: Vec<u64> = (0..CHECKERS).map(|k| r53.first_check(k)).collect();
        for az in 0..self.alive.len() as u8 {
            for (k, &at) in firsts.iter().enumerate() {
                let checker = k as u8;
                self.wake(at, Timer::DnsCheck { az, checker });
            }
        }
    }

    /// A checker's request reaches the node: answered at once, or failed
    /// when the connect limit runs out.
    pub(super) fn dns_check(&mut self, az: u8, checker: u8) {
        if self.net.answers(&self.alive, usize::from(az)) {
            self.dns_result(az, checker, true);
        } else {
            let at = self.now + CHECK_CONNECT_TIMEOUT;
            self.wake(at, Timer::DnsCheckFailed { az, checker });
        }
    }

    /// A checker's result: counted, logged if it changed the verdict, and
    /// the checker's next request sent an interval later.
    pub(super) fn dns_result(&mut self, az: u8, checker: u8, pass: bool) {
        let now = self.now;
        let Some(r53) = self.dns.as_mut() else { return };
        let Some(hc) = r53.checks() else { return };
        let changed = r53.result(now, usize::from(az), usize::from(checker), pass);
        if let Some(healthy) = changed {
            let kind = if healthy {
                "dns_healthy"
            } else {
                "dns_unhealthy"
            };
            self.log(kind, self.az_name(usize::from(az)));
        }
        self.wake(now + hc.interval.0, Timer::DnsCheck { az, checker });
    }

    /// Notes which balancer nodes answer after an input, so a verdict can
    /// say how long after its node's change it came.
    pub(super) fn watch_dns(&mut self) {
        let Some(r53) = self.dns.as_mut().filter(|r| r.checks().is_some()) else {
            return;
        };
        for az in 0..self.alive.len() {
            r53.watch(self.now, az, self.net.answers(&self.alive, az));
        }
    }
}
