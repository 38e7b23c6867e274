//! The security audit `stratus validate` prints: rules wider than least
//! privilege, components nothing can reach, and tiers that cannot reach what
//! they need. It reads the rules only; nothing runs.

use super::groups::{Component, Group, Hop, Reach, Rule, SecurityGroups, Source, address};
use crate::scenario::Scenario;
use std::fmt;

/// One thing the audit found, with the line of the rule (or group) it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// None: a default rule or group, which has no line.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Finding {
    /// `file:line: message`, or `file: message` for a default rule.
    pub fn render(&self, file: &str) -> String {
        match self.line {
            Some(l) => format!("{file}:{l}: {}", self.message),
            None => format!("{file}: {}", self.message),
        }
    }
}

/// The components the scenario's topology has: the store is always there
/// (a comparison runs the store strategy), the database and the cache only
/// with their tables.
pub fn present(sc: &Scenario) -> Vec<Component> {
    let mut v = vec![Component::LoadBalancer, Component::Nodes, Component::Store];
    if sc.database.is_some() {
        v.push(Component::Database);
    }
    if sc.cache.is_some() {
        v.push(Component::Cache);
    }
    v
}

fn describe(g: &Group, r: &Rule) -> String {
    let whose = if g.line.is_some() { "" } else { "default " };
    format!("{whose}security group {:?} rule `{r}`", g.name)
}

/// Everything the audit finds in `sc`, in group and rule order.
pub fn audit(sc: &Scenario) -> Vec<Finding> {
    let sg = &sc.security_groups;
    let here = present(sc);
    let mut out = Vec::new();
    let lb_group = sg.group_of(Component::LoadBalancer).map(|g| g.name.clone());
    for g in &sg.groups {
        let members: Vec<Component> = g
            .members
            .iter()
            .copied()
            .filter(|c| here.contains(c))
            .collect();
        if members.is_empty() {
            continue;
        }
        let names: Vec<&str> = members.iter().map(|c| c.name()).collect();
        let what = names.join(" and ");
        let data = members
            .iter()
            .any(|c| matches!(c, Component::Database | Component::Store | Component::Cache));
        let nodes = members.contains(&Component::Nodes);
        for r in &g.inbound {
            let from_internet = matches!(&r.from, Source::Cidr(c) if c.is_internet());
            let from_lb = matches!(&r.from, Source::Group(n) if Some(n) == lb_group.as_ref());
            let mut wide = |why: String| {
                out.push(Finding {
                    line: r.line,
                    message: format!("{} {why}", describe(g, r)),
                });
            };
            if data && from_internet {
                wide(format!(
                    "opens the {what} to the internet: expected only the nodes' group as a source"
                ));
            } else if data && from_lb {
                wide(format!(
                    "opens the {what} to the load balancer's group: expected only the nodes' group as a source"
                ));
            } else if nodes && from_internet {
                wide(
                    "opens the nodes to the internet: expected only the load balancer's group as a source"
                        .into(),
                );
            }
            if r.ports.is_all() && !members.contains(&Component::LoadBalancer) {
                wide(format!(
                    "opens every port of the {what}: expected only the port it serves"
                ));
            }
        }
        if !g.inbound.iter().any(|r| reaches_anything(sg, r)) {
            out.push(Finding {
                line: g.line,
                message: format!(
                    "nothing can reach the {what}: security group {:?} has no rule that any source matches",
                    g.name
                ),
            });
        }
    }
    let reach = Reach::new(sg, sc.region.azs.len());
    for hop in [
        Hop::ClientToLb,
        Hop::LbToNode,
        Hop::NodeToStore,
        Hop::NodeToDatabase,
        Hop::NodeToCache,
    ] {
        let (src, dst, port) = hop.ends();
        if !here.contains(&dst) {
            continue;
        }
        let blocked: Vec<&str> = (0..sc.region.azs.len())
            .filter(|&az| !reach.allows(hop, az))
            .map(|az| sc.region.azs[az].as_str())
            .collect();
        if blocked.is_empty() {
            continue;
        }
        let g = sg.group_of(dst);
        let whence = if src == Component::Internet || blocked.len() == sc.region.azs.len() {
            String::new()
        } else {
            format!(" from {}", blocked.join(", "))
        };
        out.push(Finding {
            line: g.and_then(|g| g.line),
            message: format!(
                "the {src} cannot reach the {dst} on port {port}{whence}: security group {:?} has no rule allowing it; its connections would be dropped",
                g.map_or("", |g| g.name.as_str())
            ),
        });
    }
    out
}

/// Whether any simulated source could match the rule.
fn reaches_anything(sg: &SecurityGroups, r: &Rule) -> bool {
    match &r.from {
        Source::Cidr(c) => c.is_internet() || (0..256).any(|az| c.contains(address(az))),
        Source::Group(n) => sg.group(n).is_some_and(|g| !g.members.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::{Cidr, PortRange};
    use crate::time::Dur;

    fn sc() -> Scenario {
        let mut s = Scenario::new("t", Dur::from_secs(1));
        s.database = Some(crate::scenario::Database::new(3));
        s
    }

    #[test]
    fn the_default_rules_pass() {
        assert_eq!(audit(&sc()), vec![]);
    }

    #[test]
    fn a_database_open_to_the_internet_is_named_with_its_line() {
        let mut s = sc();
        let db = s
            .security_groups
            .groups
            .iter_mut()
            .find(|g| g.name == "db")
            .unwrap();
        db.line = Some(40);
        db.inbound.push(Rule {
            ports: PortRange::one(5432),
            from: Source::Cidr(Cidr::ANY),
            line: Some(42),
        });
        let f = audit(&s);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].line, Some(42));
        assert!(f[0].message.contains("to the internet"), "{}", f[0]);
    }

    #[test]
    fn a_blocked_tier_and_an_unreachable_component_are_found() {
        let mut s = sc();
        let db = s
            .security_groups
            .groups
            .iter_mut()
            .find(|g| g.name == "db")
            .unwrap();
        db.inbound.clear();
        let f = audit(&s);
        assert!(
            f.iter()
                .any(|x| x.message.starts_with("nothing can reach the database")),
            "{f:?}"
        );
        assert!(
            f.iter().any(|x| x
                .message
                .contains("nodes cannot reach the database on port 5432")),
            "{f:?}"
        );
    }
}
