//! The report's `security` key: connections the security groups dropped, per
//! (source, destination, port), and what the attackers tried and got.

use super::Report;
use crate::figure::thousands;
use crate::security::attack::{Attack, Tally};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Dropped connections of one kind.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Dropped {
    pub from: String,
    pub to: String,
    pub port: u16,
    pub connections: u64,
}

/// The cookie design a cookie run used.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct CookieDesign {
    pub signed: bool,
    /// Seconds a cookie is good for after it is written; absent: no expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age_s: Option<f64>,
    pub versioned: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct SecurityReport {
    pub dropped: Vec<Dropped>,
    /// Shoppers who were attackers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attackers: Option<u64>,
    /// Per attack: attempts, accepted, rejected, undelivered.
    #[serde(default)]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attacks: BTreeMap<String, Tally>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie: Option<CookieDesign>,
}

impl SecurityReport {
    pub fn tally(&self, a: Attack) -> Tally {
        self.attacks.get(a.name()).copied().unwrap_or_default()
    }

    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().map(|d| d.connections).sum()
    }
}

/// The text report's security lines.
pub fn render(o: &mut String, r: &Report) {
    let Some(s) = &r.security else { return };
    o.push('\n');
    let design = s.cookie.as_ref().map(|c| {
        format!(
            " · cookie {}{}{}",
            if c.signed { "signed" } else { "UNSIGNED" },
            c.max_age_s
                .map(|a| format!(", expires after {a} s"))
                .unwrap_or_default(),
            if c.versioned { ", versioned" } else { "" }
        )
    });
    let _ = writeln!(
        o,
        "security{}{}",
        s.attackers
            .map(|n| format!(" · {} attackers", thousands(n)))
            .unwrap_or_default(),
        design.unwrap_or_default()
    );
    for (name, t) in &s.attacks {
        if t.attempts == 0 {
            continue;
        }
        let _ = writeln!(
            o,
            "  {:<16} attempts {:>7}   accepted {:>7}   rejected {:>7}   undelivered {:>5}",
            name,
            thousands(t.attempts),
            thousands(t.accepted),
            thousands(t.rejected),
            thousands(t.undelivered)
        );
    }
    if s.dropped.is_empty() {
        let _ = writeln!(o, "  no connection dropped by a security group");
    }
    for d in &s.dropped {
        let _ = writeln!(
            o,
            "  dropped {} → {}:{}   {}",
            d.from,
            d.to,
            d.port,
            thousands(d.connections)
        );
    }
}
