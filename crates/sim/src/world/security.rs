//! Security groups in the request path: every hop is looked up in the
//! precomputed [`Reach`] table, and a denied hop is dropped (counted per
//! source, destination and port), so the caller waits for its connect timeout.
//!
//! Timeouts: the balancer's connection to a node uses
//! `[load_balancer] connect_timeout`; a node's to the database uses
//! `[database] connect_timeout`; a node's to the store or the cache uses
//! [`STORE_CONNECT_TIMEOUT`]; a shopper's to the balancer uses the
//! balancer's `connect_timeout` as a stand-in for the browser's own.

use super::attack::{Attack, Attackers};
use super::{Event, World};
use crate::engine::Queue;
use std::collections::BTreeMap;
use stratus_model::net::STORE_CONNECT_TIMEOUT;
use stratus_model::node::ShopperId;
use stratus_model::report::security::{CookieDesign, Dropped, SecurityReport};
use stratus_model::scenario::{AzIx, Scenario, Strategy};
use stratus_model::security::groups::{Hop, Reach};
use stratus_model::time::SimTime;
use stratus_model::workload::Outcome;

/// The security layer's state in the world.
#[derive(Debug)]
pub struct Security {
    reach: Reach,
    /// Whether every hop is allowed from everywhere: then no check can drop.
    open: bool,
    /// Dropped connections per hop.
    pub drops: BTreeMap<Hop, u64>,
    pub attackers: Attackers,
}

impl Security {
    pub fn new(
        sc: &stratus_model::scenario::Scenario,
        streams: &stratus_model::rng::Streams,
    ) -> Security {
        let reach = Reach::new(&sc.security_groups, sc.region.azs.len());
        Security {
            open: reach.all_open(),
            reach,
            drops: BTreeMap::new(),
            attackers: Attackers::new(sc, streams),
        }
    }

    /// Whether the hop from `src_az` gets through; a drop is counted.
    /// Twice a request: the check inlined where it is made, the count (a
    /// map's insertion, rare) kept out of line.
    #[inline]
    pub fn pass(&mut self, hop: Hop, src_az: AzIx) -> bool {
        if self.open || self.reach.allows(hop, src_az) {
            return true;
        }
        self.dropped(hop);
        false
    }

    #[cold]
    fn dropped(&mut self, hop: Hop) {
        *self.drops.entry(hop).or_default() += 1;
    }
}

impl World {
    /// Checks the node's connections a request needs besides the balancer's
    /// (the store, the database, the cache); if one is dropped, the request
    /// fails with `connect_timeout` after the caller's timeout: true then.
    pub(super) fn backend_dropped(
        &mut self,
        now: SimTime,
        s: ShopperId,
        node_az: AzIx,
        q: &mut Queue<Event>,
    ) -> bool {
        let sh = self.shoppers[s as usize].as_ref().expect("active");
        let (kind, demand, req) = (sh.kind, sh.demand, sh.req);
        let mut wait = None;
        if self.strategy == Strategy::Store && !self.sec.pass(Hop::NodeToStore, node_az) {
            wait = Some(STORE_CONNECT_TIMEOUT);
        }
        if wait.is_none()
            && let (Some(db), Some(cfg)) = (&self.db, &self.sc.database)
            && db.cfg.query_time.get(kind).0 > 0
        {
            if self.cache.is_some() && !self.sec.pass(Hop::NodeToCache, node_az) {
                wait = Some(STORE_CONNECT_TIMEOUT);
            } else if !self.sec.pass(Hop::NodeToDatabase, node_az) {
                wait = Some(cfg.connect_timeout.0);
            }
        }
        let Some(wait) = wait else { return false };
        self.outcomes.set(s, Outcome::Failed("connect_timeout"));
        q.at(now + demand + wait, Event::Done { s, req });
        true
    }
}

/// The report's `security` section for a finished world; None when there is nothing to say
/// (no attackers, no group written in the file, nothing dropped), so a
/// scenario that does not touch security reports as before.
pub fn report(w: &World) -> Option<SecurityReport> {
    let sc: &Scenario = &w.sc;
    let a = &w.sec.attackers;
    let written = sc.security_groups.groups.iter().any(|g| g.line.is_some());
    if !a.enabled() && !written && w.sec.drops.is_empty() {
        return None;
    }
    let dropped = w
        .sec
        .drops
        .iter()
        .map(|(hop, n)| {
            let (from, to, port) = hop.ends();
            Dropped {
                from: from.name().into(),
                to: to.name().into(),
                port,
                connections: *n,
            }
        })
        .collect();
    let attacks = if a.enabled() {
        Attack::ALL
            .iter()
            .map(|k| {
                (
                    k.name().to_string(),
                    a.tally.get(k).copied().unwrap_or_default(),
                )
            })
            .collect()
    } else {
        BTreeMap::new()
    };
    let c = &sc.sessions.cookie;
    Some(SecurityReport {
        dropped,
        attackers: a.enabled().then_some(a.count),
        attacks,
        cookie: (w.strategy == Strategy::Cookie).then(|| CookieDesign {
            signed: c.signed,
            max_age_s: c.max_age.map(|d| d.0 as f64 / 1e9),
            versioned: c.versioned,
        }),
    })
}
