//! Gray failures injected on purpose: nodes that answer 5xx with a chance
//! (`inject_errors`) or serve slower (`slow_node`, `slow_az`: a GC pause, a
//! noisy neighbour), for a while. The control plane keeps the list; a
//! driver asks it, per request, what a node suffers now. A slow or erring
//! node still passes its health checks, which is what makes these faults
//! gray.

use crate::core::{AzIx, NodeId};

/// Which nodes an entry harms.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    All,
    Az(AzIx),
    Nodes(Vec<NodeId>),
}

/// What an entry does to the nodes it names.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Harm {
    /// Answers 5xx with this chance, without doing the work.
    Errors(f64),
    /// Service time multiplied by this factor.
    Slow(f64),
}

#[derive(Clone, Debug, PartialEq)]
struct Entry {
    handle: u16,
    target: Target,
    harm: Harm,
}

/// The injected faults in force.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Degradations {
    entries: Vec<Entry>,
    next: u16,
}

impl Target {
    fn covers(&self, node: NodeId, az: AzIx) -> bool {
        match self {
            Target::All => true,
            Target::Az(a) => *a == az,
            Target::Nodes(ids) => ids.contains(&node),
        }
    }
}

impl Degradations {
    /// Adds an entry; its handle ends it.
    pub fn add(&mut self, target: Target, harm: Harm) -> u16 {
        let handle = self.next;
        self.next = self.next.wrapping_add(1);
        self.entries.push(Entry {
            handle,
            target,
            harm,
        });
        handle
    }

    pub fn remove(&mut self, handle: u16) {
        self.entries.retain(|e| e.handle != handle);
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The chance a request at `node` (in `az`) is answered with an error:
    /// entries act independently, so chances combine as 1 − Π(1 − p).
    /// Asked on every request: with no entry (most of a run) the answer,
    /// 0, is given where it is asked.
    #[inline]
    pub fn error_chance(&self, node: NodeId, az: AzIx) -> f64 {
        if self.entries.is_empty() {
            return 0.0;
        }
        self.error_chance_of(node, az)
    }

    fn error_chance_of(&self, node: NodeId, az: AzIx) -> f64 {
        let ok: f64 = self
            .entries
            .iter()
            .filter(|e| e.target.covers(node, az))
            .filter_map(|e| match e.harm {
                Harm::Errors(p) => Some(1.0 - p),
                Harm::Slow(_) => None,
            })
            .product();
        1.0 - ok
    }

    /// The factor on `node`'s service times: entries multiply. Asked on
    /// every request: with no entry the answer, 1, is given where it is
    /// asked.
    #[inline]
    pub fn slowdown(&self, node: NodeId, az: AzIx) -> f64 {
        if self.entries.is_empty() {
            return 1.0;
        }
        self.slowdown_of(node, az)
    }

    fn slowdown_of(&self, node: NodeId, az: AzIx) -> f64 {
        self.entries
            .iter()
            .filter(|e| e.target.covers(node, az))
            .filter_map(|e| match e.harm {
                Harm::Slow(k) => Some(k),
                Harm::Errors(_) => None,
            })
            .product()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_combine_and_end_by_handle() {
        let mut d = Degradations::default();
        let a = d.add(Target::All, Harm::Errors(0.5));
        let b = d.add(Target::Az(1), Harm::Errors(0.5));
        let c = d.add(Target::Nodes(vec![7]), Harm::Slow(3.0));
        d.add(Target::Az(1), Harm::Slow(2.0));
        assert_eq!(d.error_chance(0, 0), 0.5);
        assert_eq!(d.error_chance(0, 1), 0.75);
        assert_eq!(d.slowdown(7, 1), 6.0);
        assert_eq!(d.slowdown(7, 0), 3.0);
        assert_eq!(d.slowdown(3, 0), 1.0);
        d.remove(a);
        d.remove(b);
        d.remove(c);
        assert_eq!(d.error_chance(0, 1), 0.0);
        assert_eq!(d.slowdown(7, 1), 2.0);
        assert!(!d.is_empty());
    }
}
