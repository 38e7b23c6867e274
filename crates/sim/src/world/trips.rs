//! The request path's session phase: the round trips a worker waits on the
//! session store or table for a page, and where a durable read goes.

use super::World;
use stratus_model::net::STORE_CONNECT_TIMEOUT;
use stratus_model::scenario::Strategy;

impl World {
    /// Time a worker waits on the session store or table for the page: a
    /// read, and for a page that changes the cart a write (which, for the
    /// durable table, also waits for the replica that acknowledges it).
    /// Also decides where a durable eventually consistent read goes.
    pub(super) fn session_trips(
        &mut self,
        s: stratus_model::node::ShopperId,
        node_az: usize,
    ) -> u64 {
        let sh = self.shoppers[s as usize].as_ref().expect("active");
        let writes = sh.kind.changes_cart();
        let shard = sh.sid().map_or(0, |sid| self.store.shard_of(sid));
        let primary = self.store.primary_az(shard);
        let rtt = |w: &World, az: Option<usize>| match az {
            Some(a) => 2 * w.hop(node_az, a),
            None => 2 * w.sc.region.latency.cross_az.0,
        };
        let eventual = self.strategy == Strategy::Durable
            && !self.sc.sessions.durable.consistent_reads
            && !writes;
        let read_at = if eventual {
            self.store.read_az(shard, node_az)
        } else {
            None
        };
        let target = read_at.or(primary);
        if target.is_some_and(|a| !self.cp.net.reach(node_az, a)) {
            // Across a partition: the client's connection attempt times out.
            self.outcomes.set(
                s,
                stratus_model::workload::Outcome::Failed(
                    stratus_model::session::store::SESSION_STORE_UNREACHABLE,
                ),
            );
            return STORE_CONNECT_TIMEOUT;
        }
        let mut t = rtt(self, target);
        if writes {
            t += rtt(self, primary);
            if let (Some(p), Some(r)) = (primary, self.store.sync_az(shard)) {
                t += 2 * self.hop(p, r);
            }
        }
        self.shoppers[s as usize]
            .as_mut()
            .expect("active")
            .update_extra(|x| x.store_read_at = read_at.map(|a| a as u8));
        t
    }
}
