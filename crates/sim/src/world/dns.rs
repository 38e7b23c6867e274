//! The shopper's resolver and client with `[dns]`: which balancer node an
//! attempt connects to. The answer comes from the control plane's Route 53
//! (`stratus_model::dns`) and is kept for the TTL; a connection to a node
//! that does not answer times out, and then the client either tries the
//! answer's next address or fails the request (`dns.client`).

use super::{Event, World};
use crate::engine::Queue;
use stratus_model::node::ShopperId;
use stratus_model::time::SimTime;

impl World {
    /// Picks the balancer node the shopper's attempt, arriving at `now`,
    /// connects to. True: it connected (`entry_az`); false: the request
    /// failed, or the client will try another address (already scheduled).
    pub(super) fn dns_entry(&mut self, now: SimTime, s: ShopperId, q: &mut Queue<Event>) -> bool {
        let dns = self.sc.dns.expect("[dns]");
        let r53 = self
            .cp
            .dns
            .as_ref()
            .expect("the control plane answers [dns]");
        let (alive, net) = (&self.cp.alive, &self.cp.net);
        let answering = |a: usize| net.answers(alive, a);
        let sh = self.shoppers[s as usize].as_mut().expect("active");
        // The answer is cached for its TTL, counted from when the request
        // that resolved it was sent.
        let sent = sh.sent_at;
        if r53.stale(sh.extra().resolved_at, sent) {
            sh.extra_mut().resolved_at = sent;
            // A multivalue answer is drawn from the shopper's own stream.
            let Some(answer) = r53.answer(sh.entry_az(), &mut sh.rng, answering) else {
                let back = net.internet(sh.entry_az());
                self.fail(s, "lb_unreachable", now + back, q);
                return false;
            };
            sh.extra_mut().answer = answer;
            sh.set_entry_az(answer.current());
        }
        let (old, retried) = (sh.entry_az(), sh.extra().answer.retries() > 0);
        if answering(old) {
            self.metrics.dns_recovered += u64::from(retried);
            return true;
        }
        let t = self.sc.load_balancer.connect_timeout.0;
        if let Some(next) = sh.extra_mut().answer.after_failure(dns.client) {
            // The browser gives up on this address when its connect
            // timeout runs out and connects to the next one.
            sh.set_entry_az(next);
            let tried_at = now - net.internet(old);
            let req = sh.req;
            self.metrics.dns_retries += 1;
            q.at(tried_at + t + net.internet(next), Event::AtLb { s, req });
            return false;
        }
        // An address of a dead balancer node, and no other to try: the
        // browser's connection attempt times out.
        self.metrics.stale_dns_failures += 1;
        self.metrics.last_stale_dns_send = Some(sent);
        let back = net.internet(old);
        self.fail(s, "lb_node_unreachable", now + t + back, q);
        false
    }
}
