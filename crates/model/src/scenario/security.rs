//! The `[security_groups]` table: groups written in the file replace the
//! default group of the same name (or add one), and each rule keeps its line
//! so `stratus validate`'s audit can point at it.
//!
//! ```toml
//! [security_groups.db]
//! members = ["database"]
//! inbound = [ { port = 5432, from = "app" } ]
//! ```

use super::context::{Ctx, ScenarioError};
use crate::security::{Cidr, Component, Group, PortRange, Rule, SecurityGroups, Source};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;

const PORT_FORM: &str = "a port such as 5432, a range such as \"8000-8080\", or \"all\"";

/// `port = 5432`, `port = "8000-8080"` or `port = "all"`.
#[derive(Clone, Copy, Debug)]
pub(super) struct RawPorts(PortRange);

impl<'de> Deserialize<'de> for RawPorts {
    fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawPorts;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(PORT_FORM)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawPorts, E> {
                u16::try_from(v)
                    .ok()
                    .filter(|p| *p > 0)
                    .map(|p| RawPorts(PortRange::one(p)))
                    .ok_or_else(|| {
                        E::custom(format!("port {v} is out of range: expected 1 to 65535"))
                    })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawPorts, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawPorts, E> {
                if s == "all" {
                    return Ok(RawPorts(PortRange::ALL));
                }
                let bad = || E::custom(format!("bad port range {s:?}: expected {PORT_FORM}"));
                let (a, b) = s.split_once('-').ok_or_else(bad)?;
                let num = |x: &str| {
                    x.trim()
                        .parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0 && x.trim().bytes().all(|c| c.is_ascii_digit()))
                };
                match (num(a), num(b)) {
                    (Some(from), Some(to)) if from <= to => Ok(RawPorts(PortRange { from, to })),
                    _ => Err(bad()),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    port: Option<RawPorts>,
    from: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGroup {
    members: Option<Spanned<Vec<Spanned<String>>>>,
    inbound: Option<Vec<Spanned<RawRule>>>,
}

pub(super) type RawGroups = BTreeMap<String, Spanned<RawGroup>>;

/// A rule's source and where the file wrote it.
type Sourced = (Source, std::ops::Range<usize>);

/// The groups of a scenario: the defaults with the file's groups laid over them.
pub(super) fn security_groups(cx: &Ctx, raw: RawGroups) -> Result<SecurityGroups, ScenarioError> {
    let mut sg = SecurityGroups::default();
    // (group, the file's rules with their `from` spans) for the name check below.
    let mut written: Vec<(String, Vec<Sourced>)> = Vec::new();
    let mut claimed: BTreeMap<Component, String> = BTreeMap::new();
    for (name, g) in raw {
        let span = g.span();
        let g = g.into_inner();
        if name.trim().is_empty() || name.contains(char::is_whitespace) {
            return Err(cx.at(
                span,
                format!(
                    "security group name {name:?}: expected a name without spaces, such as \"db\""
                ),
            ));
        }
        let existing = sg.groups.iter().position(|x| x.name == name);
        let members = match &g.members {
            Some(list) => {
                let mut out = Vec::new();
                for m in list.get_ref() {
                    let c = Component::parse(m.get_ref()).ok_or_else(|| {
                        let names: Vec<&str> = Component::MEMBERS.iter().map(|c| c.name()).collect();
                        cx.at(
                            m.span(),
                            format!(
                                "unknown member {:?} in security group {name:?}: expected one of {}",
                                m.get_ref(),
                                names.join(", ")
                            ),
                        )
                    })?;
                    if let Some(other) = claimed.insert(c, name.clone()) {
                        return Err(cx.at(
                            m.span(),
                            format!(
                                "{c} is a member of security groups {other:?} and {name:?}: expected each component in exactly one group"
                            ),
                        ));
                    }
                    out.push(c);
                }
                out
            }
            None => match existing {
                Some(i) => {
                    let ms = sg.groups[i].members.clone();
                    for &c in &ms {
                        if let Some(other) = claimed.insert(c, name.clone()) {
                            return Err(cx.at(span, format!("{c} is a member of security groups {other:?} and {name:?}: expected each component in exactly one group")));
                        }
                    }
                    ms
                }
                None => {
                    return Err(cx.at(
                        span,
                        format!(
                            "security group {name:?} has no members: expected members = [\"database\"] (load_balancer, nodes, store, database, cache)"
                        ),
                    ));
                }
            },
        };
        let mut rules = Vec::new();
        let mut froms = Vec::new();
        for r in g.inbound.unwrap_or_default() {
            let rspan = r.span();
            let line = cx.line(rspan.start);
            let r = r.into_inner();
            let ports = r.port.ok_or_else(|| {
                cx.at(
                    rspan.clone(),
                    format!("a rule of security group {name:?} has no port: expected port = 5432 ({PORT_FORM})"),
                )
            })?;
            let from = r.from.ok_or_else(|| {
                cx.at(
                    rspan.clone(),
                    format!(
                        "a rule of security group {name:?} has no source: expected from = \"app\" (a group) or from = \"10.0.0.0/16\" (a CIDR block)"
                    ),
                )
            })?;
            let text = from.get_ref().trim();
            let source = if text.contains('/')
                || text.bytes().next().is_some_and(|b| b.is_ascii_digit())
            {
                Source::Cidr(Cidr::parse(text).ok_or_else(|| {
                    cx.at(
                        from.span(),
                        format!("bad CIDR block {text:?}: expected an IPv4 block such as \"10.0.0.0/16\" or \"0.0.0.0/0\""),
                    )
                })?)
            } else {
                Source::Group(text.to_string())
            };
            froms.push((source.clone(), from.span()));
            rules.push(Rule {
                ports: ports.0,
                from: source,
                line: Some(line),
            });
        }
        let group = Group {
            name: name.clone(),
            members,
            inbound: rules,
            line: Some(cx.line(span.start)),
        };
        match existing {
            Some(i) => sg.groups[i] = group,
            None => sg.groups.push(group),
        }
        written.push((name, froms));
    }
    // A component the file moved leaves its default group.
    for g in sg.groups.iter_mut() {
        if g.line.is_none() {
            g.members.retain(|c| !claimed.contains_key(c));
        }
    }
    for (name, froms) in &written {
        for (src, span) in froms {
            if let Source::Group(g) = src
                && sg.group(g).is_none()
            {
                let names: Vec<&str> = sg.groups.iter().map(|g| g.name.as_str()).collect();
                return Err(cx.at(
                    span.clone(),
                    format!(
                        "security group {name:?} allows group {g:?}, which does not exist: expected one of {}",
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    for c in Component::MEMBERS {
        if sg.group_of(c).is_none() {
            return Err(cx.nowhere(
                format!(
                    "{c} is in no security group: expected it in the members of one group (the file's groups took it from its default group)"
                ),
            ));
        }
    }
    Ok(sg)
}
