//! Security groups: named sets of components with inbound allow rules.
//!
//! As in a VPC, everything not allowed is denied, and a denied connection is
//! not refused but dropped: the caller hears nothing and waits for its
//! connect timeout. A rule allows a port (or a range) from a CIDR block or
//! from the members of another group.
//!
//! Addresses: the region is one VPC, `10.0.0.0/16`; a component in the AZ
//! with index *i* has an address in `10.0.i.0/24`. Shoppers and attackers
//! come from the internet, which only a `/0` block covers (a rule for an
//! office range, say, matches no simulated client).

use crate::core::AzIx;
use std::fmt;

/// The HTTPS port shoppers connect to at the load balancer.
pub const HTTPS: u16 = 443;
/// The HTTP port the balancer forwards to (and health-checks) on the nodes.
pub const HTTP: u16 = 80;
/// PostgreSQL, the case study's SQL engine port (RDS).
pub const POSTGRES: u16 = 5432;
/// Redis (ElastiCache): the session store and the cache.
pub const REDIS: u16 = 6379;

/// Something that opens or accepts connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// Shoppers' and attackers' browsers: a source only, never a member.
    Internet,
    LoadBalancer,
    Nodes,
    Store,
    Database,
    Cache,
}

impl Component {
    /// The components a group can hold.
    pub const MEMBERS: [Component; 5] = [
        Component::LoadBalancer,
        Component::Nodes,
        Component::Store,
        Component::Database,
        Component::Cache,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Component::Internet => "internet",
            Component::LoadBalancer => "load_balancer",
            Component::Nodes => "nodes",
            Component::Store => "store",
            Component::Database => "database",
            Component::Cache => "cache",
        }
    }

    pub fn parse(s: &str) -> Option<Component> {
        Component::MEMBERS.into_iter().find(|c| c.name() == s)
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An IPv4 block such as `10.0.0.0/16` or `0.0.0.0/0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: u32,
    pub prefix: u8,
}

impl Cidr {
    /// The whole internet.
    pub const ANY: Cidr = Cidr { addr: 0, prefix: 0 };

    /// Parses `a.b.c.d/n`; None for anything else (the caller says what was expected).
    pub fn parse(s: &str) -> Option<Cidr> {
        let (ip, prefix) = s.split_once('/')?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
        let mut addr = 0u32;
        let mut parts = 0;
        for p in ip.split('.') {
            // `u8::from_str` takes a leading '+'; an address never has one.
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            addr = (addr << 8) | u32::from(p.parse::<u8>().ok()?);
            parts += 1;
        }
        if parts != 4 {
            return None;
        }
        Some(Cidr {
            addr: addr & Self::mask(prefix),
            prefix,
        })
    }

    fn mask(prefix: u8) -> u32 {
        if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix))
        }
    }

    pub fn contains(&self, ip: u32) -> bool {
        ip & Self::mask(self.prefix) == self.addr
    }

    /// Whether the block takes in the whole internet.
    pub fn is_internet(&self) -> bool {
        self.prefix == 0
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.addr.to_be_bytes();
        write!(f, "{}.{}.{}.{}/{}", a[0], a[1], a[2], a[3], self.prefix)
    }
}

/// The address of a component in AZ `az` (see the module's note).
pub fn address(az: AzIx) -> u32 {
    u32::from_be_bytes([10, 0, (az % 256) as u8, 10])
}

/// Ports a rule opens, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    pub from: u16,
    pub to: u16,
}

impl PortRange {
    pub const ALL: PortRange = PortRange { from: 0, to: 65535 };

    pub fn one(p: u16) -> PortRange {
        PortRange { from: p, to: p }
    }

    pub fn contains(&self, p: u16) -> bool {
        (self.from..=self.to).contains(&p)
    }

    pub fn is_all(&self) -> bool {
        self.from == 0 && self.to == 65535
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            f.write_str("all ports")
        } else if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}-{}", self.from, self.to)
        }
    }
}

/// Where a rule lets connections come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Cidr(Cidr),
    /// The members of the group of this name.
    Group(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Cidr(c) => write!(f, "{c}"),
            Source::Group(g) => write!(f, "group {g:?}"),
        }
    }
}

/// One inbound allow rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub ports: PortRange,
    pub from: Source,
    /// The rule's line in the scenario file; None for a default rule.
    pub line: Option<usize>,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "port {} from {}", self.ports, self.from)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub members: Vec<Component>,
    pub inbound: Vec<Rule>,
    /// The group's table in the scenario file; None for a default group.
    pub line: Option<usize>,
}

/// Every group of the topology. Each member component is in exactly one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityGroups {
    pub groups: Vec<Group>,
}

impl Default for SecurityGroups {
    /// The case study's step 6: each tier open only to the one before it.
    fn default() -> Self {
        let rule = |ports: PortRange, from: Source| Rule {
            ports,
            from,
            line: None,
        };
        let group = |name: &str, members: Vec<Component>, inbound: Vec<Rule>| Group {
            name: name.to_string(),
            members,
            inbound,
            line: None,
        };
        let from_app = || Source::Group("app".into());
        SecurityGroups {
            groups: vec![
                group(
                    "lb",
                    vec![Component::LoadBalancer],
                    vec![
                        rule(PortRange::one(HTTP), Source::Cidr(Cidr::ANY)),
                        rule(PortRange::one(HTTPS), Source::Cidr(Cidr::ANY)),
                    ],
                ),
                group(
                    "app",
                    vec![Component::Nodes],
                    vec![rule(PortRange::one(HTTP), Source::Group("lb".into()))],
                ),
                group(
                    "db",
                    vec![Component::Database],
                    vec![rule(PortRange::one(POSTGRES), from_app())],
                ),
                group(
                    "store",
                    vec![Component::Store],
                    vec![rule(PortRange::one(REDIS), from_app())],
                ),
                group(
                    "cache",
                    vec![Component::Cache],
                    vec![rule(PortRange::one(REDIS), from_app())],
                ),
            ],
        }
    }
}

impl SecurityGroups {
    /// The group a component belongs to.
    pub fn group_of(&self, c: Component) -> Option<&Group> {
        self.groups.iter().find(|g| g.members.contains(&c))
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The rule that lets `src` (in AZ `src_az`) connect to `dst` on `port`;
    /// None: the connection is dropped.
    pub fn allowing(
        &self,
        src: Component,
        src_az: AzIx,
        dst: Component,
        port: u16,
    ) -> Option<&Rule> {
        let g = self.group_of(dst)?;
        g.inbound
            .iter()
            .find(|r| r.ports.contains(port) && self.matches(&r.from, src, src_az))
    }

    pub fn allows(&self, src: Component, src_az: AzIx, dst: Component, port: u16) -> bool {
        self.allowing(src, src_az, dst, port).is_some()
    }

    fn matches(&self, from: &Source, src: Component, src_az: AzIx) -> bool {
        match from {
            Source::Cidr(c) if src == Component::Internet => c.is_internet(),
            Source::Cidr(c) => c.contains(address(src_az)),
            Source::Group(name) => self.group(name).is_some_and(|g| g.members.contains(&src)),
        }
    }
}

/// The connections the simulation makes, each precomputed per source AZ so a
/// request's hops cost a table lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hop {
    /// A shopper (or attacker) to the balancer, HTTPS.
    ClientToLb,
    /// The balancer to a node: requests and health checks, HTTP.
    LbToNode,
    NodeToStore,
    NodeToDatabase,
    NodeToCache,
    /// An attacker straight at the database's port.
    ClientToDatabase,
    /// An attacker straight at the store's port.
    ClientToStore,
}

impl Hop {
    pub const ALL: [Hop; 7] = [
        Hop::ClientToLb,
        Hop::LbToNode,
        Hop::NodeToStore,
        Hop::NodeToDatabase,
        Hop::NodeToCache,
        Hop::ClientToDatabase,
        Hop::ClientToStore,
    ];

    /// (source, destination, port).
    pub fn ends(self) -> (Component, Component, u16) {
        use Component::*;
        match self {
            Hop::ClientToLb => (Internet, LoadBalancer, HTTPS),
            Hop::LbToNode => (LoadBalancer, Nodes, HTTP),
            Hop::NodeToStore => (Nodes, Store, REDIS),
            Hop::NodeToDatabase => (Nodes, Database, POSTGRES),
            Hop::NodeToCache => (Nodes, Cache, REDIS),
            Hop::ClientToDatabase => (Internet, Database, POSTGRES),
            Hop::ClientToStore => (Internet, Store, REDIS),
        }
    }
}

/// Whether each hop is allowed, per source AZ.
#[derive(Clone, Debug)]
pub struct Reach {
    allowed: Vec<[bool; 7]>,
}

impl Reach {
    pub fn new(sg: &SecurityGroups, azs: usize) -> Reach {
        let allowed = (0..azs.max(1))
            .map(|az| {
                Hop::ALL.map(|h| {
                    let (src, dst, port) = h.ends();
                    sg.allows(src, az, dst, port)
                })
            })
            .collect();
        Reach { allowed }
    }

    pub fn allows(&self, hop: Hop, src_az: AzIx) -> bool {
        self.allowed[src_az.min(self.allowed.len() - 1)][hop as usize]
    }

    /// Whether every hop is allowed from every AZ (then no check can drop).
    pub fn all_open(&self) -> bool {
        self.allowed.iter().all(|a| a.iter().all(|&x| x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parses_and_contains() {
        let c = Cidr::parse("10.0.1.0/24").unwrap();
        assert!(c.contains(address(1)));
        assert!(!c.contains(address(2)));
        assert_eq!(c.to_string(), "10.0.1.0/24");
        assert_eq!(
            Cidr::parse("10.0.1.7/16").unwrap().to_string(),
            "10.0.0.0/16"
        );
        for bad in [
            "10.0.0.0",
            "10.0.0/8",
            "10.0.0.256/8",
            "1.2.3.4/33",
            "a.b.c.d/1",
            "+1.2.3.4/8",
            "",
        ] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
        assert!(Cidr::parse("0.0.0.0/0").unwrap().is_internet());
    }

    #[test]
    fn default_rules_allow_every_legitimate_hop_and_no_direct_access() {
        let sg = SecurityGroups::default();
        let reach = Reach::new(&sg, 3);
        for az in 0..3 {
            for h in [
                Hop::ClientToLb,
                Hop::LbToNode,
                Hop::NodeToStore,
                Hop::NodeToDatabase,
                Hop::NodeToCache,
            ] {
                assert!(reach.allows(h, az), "{h:?}");
            }
            assert!(!reach.allows(Hop::ClientToDatabase, az));
            assert!(!reach.allows(Hop::ClientToStore, az));
        }
    }

    #[test]
    fn a_vpc_block_lets_components_in_but_not_the_internet() {
        let mut sg = SecurityGroups::default();
        sg.groups[2].inbound = vec![Rule {
            ports: PortRange::one(POSTGRES),
            from: Source::Cidr(Cidr::parse("10.0.0.0/16").unwrap()),
            line: None,
        }];
        assert!(sg.allows(Component::Nodes, 2, Component::Database, POSTGRES));
        assert!(!sg.allows(Component::Internet, 0, Component::Database, POSTGRES));
        assert!(!sg.allows(Component::Nodes, 2, Component::Database, REDIS));
    }
}
