//! Bytes on the wire between the architecture's parts, counted per hop and
//! split by whether they crossed an AZ boundary: what the cross-AZ bill
//! (`report::cross_az`) prices.
//!
//! Every part that sends a message the model has a size for (an HTTP
//! request or response head, a store or cache command and its reply, a SQL
//! statement and its rows, a replication stream's entry) tells a [`Wire`]
//! which hop it used and between which AZs. The tally is an observer: it
//! changes nothing the model decides. Its counters sit in cells so the
//! session store's and the data tier's adapters, alive at once during one
//! request, can both hold it.

pub mod size;

use crate::core::AzIx;
use std::cell::{Cell, RefCell};

/// The hops bytes travel, each counted both ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Hop {
    /// Balancer node ↔ app node: requests and response heads.
    LbNode,
    /// App node ↔ the session store's primary (or the table's leader).
    NodeStorePrimary,
    /// App node ↔ a table copy answering an eventually consistent read.
    NodeStoreReplica,
    /// Store primary (table leader) → its replicas: the write stream.
    StoreReplication,
    /// App node ↔ the database primary (writes, and reads sent there).
    NodeDbPrimary,
    /// App node ↔ a read replica.
    NodeDbReplica,
    /// Database primary → its Multi-AZ standby (synchronous).
    DbStandby,
    /// Database primary → its read replicas (asynchronous).
    DbReplicas,
    /// App node ↔ a cache node.
    NodeCache,
}

pub const HOPS: usize = 9;

impl Hop {
    pub const ALL: [Hop; HOPS] = [
        Hop::LbNode,
        Hop::NodeStorePrimary,
        Hop::NodeStoreReplica,
        Hop::StoreReplication,
        Hop::NodeDbPrimary,
        Hop::NodeDbReplica,
        Hop::DbStandby,
        Hop::DbReplicas,
        Hop::NodeCache,
    ];

    /// The hop's key in the report.
    pub fn key(self) -> &'static str {
        match self {
            Hop::LbNode => "lb_node",
            Hop::NodeStorePrimary => "node_store_primary",
            Hop::NodeStoreReplica => "node_store_replica",
            Hop::StoreReplication => "store_replication",
            Hop::NodeDbPrimary => "node_db_primary",
            Hop::NodeDbReplica => "node_db_replica",
            Hop::DbStandby => "db_standby",
            Hop::DbReplicas => "db_replicas",
            Hop::NodeCache => "node_cache",
        }
    }

    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One message, as a trace records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    pub hop: Hop,
    pub from: AzIx,
    pub to: AzIx,
    pub bytes: u64,
}

/// The tally: bytes per hop, all of them and those that crossed AZs, and,
/// when asked for, every message (a test's independent count).
#[derive(Debug, Default)]
pub struct Wire {
    all: [Cell<u64>; HOPS],
    cross: [Cell<u64>; HOPS],
    /// Off unless asked for: a send then costs one check.
    trace: Option<RefCell<Vec<Sent>>>,
}

impl Wire {
    /// `bytes` went from `from` to `to` over `hop`. Inlined: it runs
    /// several times a request, mostly with the hop known where it is called.
    #[inline]
    pub fn send(&self, hop: Hop, from: AzIx, to: AzIx, bytes: u64) {
        let i = hop.index();
        self.all[i].set(self.all[i].get() + bytes);
        if from != to {
            self.cross[i].set(self.cross[i].get() + bytes);
        }
        if let Some(t) = &self.trace {
            t.borrow_mut().push(Sent {
                hop,
                from,
                to,
                bytes,
            });
        }
    }

    /// Bytes over `hop` that crossed an AZ boundary.
    pub fn cross(&self, hop: Hop) -> u64 {
        self.cross[hop.index()].get()
    }

    /// Every byte over `hop`, crossing or not.
    pub fn all(&self, hop: Hop) -> u64 {
        self.all[hop.index()].get()
    }

    /// Starts keeping every message from now on.
    pub fn record(&mut self) {
        self.trace.get_or_insert_with(Default::default);
    }

    /// The messages kept since [`Wire::record`].
    pub fn trace(&self) -> Vec<Sent> {
        self.trace
            .as_ref()
            .map_or_else(Vec::new, |t| t.borrow().clone())
    }
}

/// A node's end of the wire for one request: where the node is, and the
/// tally its round trips go to.
#[derive(Clone, Copy, Debug)]
pub struct Tap<'a> {
    pub wire: &'a Wire,
    pub az: AzIx,
}

impl Tap<'_> {
    /// A round trip over `hop` to `peer`: `request` bytes there, `reply` back.
    #[inline]
    pub fn round_trip(&self, hop: Hop, peer: AzIx, request: u64, reply: u64) {
        self.wire.send(hop, self.az, peer, request);
        self.wire.send(hop, peer, self.az, reply);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bytes_between_two_azs_cross() {
        let mut w = Wire::default();
        w.record();
        w.send(Hop::LbNode, 0, 0, 100);
        w.send(Hop::LbNode, 0, 1, 40);
        Tap { wire: &w, az: 2 }.round_trip(Hop::NodeCache, 1, 7, 9);
        assert_eq!((w.all(Hop::LbNode), w.cross(Hop::LbNode)), (140, 40));
        assert_eq!(w.cross(Hop::NodeCache), 16);
        assert_eq!(w.trace().len(), 4);
        for (i, h) in Hop::ALL.iter().enumerate() {
            assert_eq!(h.index(), i, "ALL is in index order");
        }
    }
}
