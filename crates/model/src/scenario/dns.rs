//! `[dns]`: how the shop's name is answered and how shoppers' clients use the
//! answer. Route 53's values and limits (health-check interval 30 s or 10 s,
//! failure threshold 1 to 10, default 3; multivalue answers of up to eight
//! records) are checked here, with file, line and column when one is wrong.

use super::context::{Ctx, ScenarioError, choice};
use super::values::D;
use crate::time::{Dur, SEC};
use serde::Deserialize;
use toml::Spanned;

/// The shop's DNS record: one address per balancer node (one per AZ).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dns {
    /// How long a shopper's resolver keeps an answer.
    pub ttl: Dur,
    pub routing: DnsRouting,
    /// Route 53 health checks on each balancer node's address. None: the
    /// answer follows the balancer's own view of its nodes at once (what
    /// Stratus modelled before Route 53's checks; see the README).
    pub health_check: Option<DnsHealthCheck>,
    pub client: DnsClient,
}

/// How many records one answer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsRouting {
    /// One address per answer: the shopper's own balancer node while it is
    /// healthy, else the next healthy one in AZ order.
    Single,
    /// Route 53's multivalue answer: up to eight healthy records in an
    /// order drawn per answer.
    Multivalue,
}

/// What a shopper's client does when it cannot connect to an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsClient {
    /// Tries the answer's next address, as browsers do; the request fails
    /// only when every address has timed out.
    NextAddress,
    /// Keeps to one address until the answer's TTL runs out, as many SDKs
    /// and `InetAddress`-caching clients do.
    Pinned,
}

/// A Route 53 health check of an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsHealthCheck {
    /// Between a checker's result and its next request: 30 s (standard) or
    /// 10 s (fast), the only two Route 53 offers.
    pub interval: Dur,
    /// Consecutive results against the current status that change it.
    pub failure_threshold: u32,
}

impl Default for DnsHealthCheck {
    fn default() -> Self {
        DnsHealthCheck {
            interval: Dur(30 * SEC),
            failure_threshold: 3,
        }
    }
}

impl Dns {
    /// `[dns]` with only a TTL: one address per answer, no Route 53 checks.
    pub fn new(ttl: Dur) -> Dns {
        Dns {
            ttl,
            routing: DnsRouting::Single,
            health_check: None,
            client: DnsClient::NextAddress,
        }
    }

    /// Route 53's health checks or multivalue answers are in play; without
    /// either the model (and the report) is what `[dns] ttl` alone gave.
    pub fn route53(&self) -> bool {
        self.health_check.is_some() || self.routing == DnsRouting::Multivalue
    }
}

impl DnsRouting {
    pub fn name(self) -> &'static str {
        match self {
            DnsRouting::Single => "single",
            DnsRouting::Multivalue => "multivalue",
        }
    }
}

impl DnsClient {
    pub fn name(self) -> &'static str {
        match self {
            DnsClient::NextAddress => "next_address",
            DnsClient::Pinned => "pinned",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDns {
    ttl: Option<Spanned<D>>,
    routing: Option<Spanned<String>>,
    health_check: Option<Spanned<RawDnsHealth>>,
    client: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDnsHealth {
    interval: Option<Spanned<D>>,
    failure_threshold: Option<Spanned<u32>>,
}

pub(super) fn dns(cx: &Ctx, r: RawDns) -> Result<Dns, ScenarioError> {
    let mut d = Dns::new(Dur(60 * SEC));
    if let Some(v) = &r.ttl {
        let t = v.get_ref().0;
        if t.0 % SEC != 0 || t.0 > 2 * 86_400 * SEC {
            return Err(cx.at(
                v.span(),
                format!(
                    "dns.ttl = {t}: expected whole seconds from \"0s\" to \"2d\", such as \"60s\""
                ),
            ));
        }
        d.ttl = t;
    }
    if let Some(v) = &r.routing {
        let options = [
            ("single", DnsRouting::Single),
            ("multivalue", DnsRouting::Multivalue),
        ];
        d.routing = choice(cx, v, "dns.routing", &options)?;
    }
    if let Some(v) = &r.client {
        let options = [
            ("next_address", DnsClient::NextAddress),
            ("pinned", DnsClient::Pinned),
        ];
        d.client = choice(cx, v, "dns.client", &options)?;
    }
    d.health_check = match r.health_check {
        Some(h) => Some(health_check(cx, h.into_inner())?),
        // Multivalue answers are Route 53's health-checked records.
        None if d.routing == DnsRouting::Multivalue => Some(DnsHealthCheck::default()),
        None => None,
    };
    Ok(d)
}

fn health_check(cx: &Ctx, r: RawDnsHealth) -> Result<DnsHealthCheck, ScenarioError> {
    let mut h = DnsHealthCheck::default();
    if let Some(v) = &r.interval {
        let i = v.get_ref().0;
        if i.0 != 30 * SEC && i.0 != 10 * SEC {
            return Err(cx.at(
                v.span(),
                format!(
                    "dns.health_check.interval = {i}: expected \"30s\" (standard) or \"10s\" (fast), the two intervals Route 53 offers"
                ),
            ));
        }
        h.interval = i;
    }
    if let Some(v) = &r.failure_threshold {
        let n = *v.get_ref();
        if !(1..=10).contains(&n) {
            return Err(cx.at(
                v.span(),
                format!(
                    "dns.health_check.failure_threshold = {n}: expected a whole number of checks from 1 to 10, as Route 53 allows"
                ),
            ));
        }
        h.failure_threshold = n;
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_scenario;

    const HEAD: &str = "[scenario]\nname = \"x\"\nduration = \"1m\"\n";

    fn parse(dns: &str) -> Result<Dns, String> {
        parse_scenario("t.toml", &format!("{HEAD}[dns]\n{dns}"))
            .map(|s| s.dns.expect("[dns]"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_ttl_alone_keeps_the_single_answer_without_checks() {
        let d = parse("ttl = \"60s\"\n").unwrap();
        assert_eq!(d, Dns::new(Dur(60 * SEC)));
        assert!(!d.route53());
    }

    #[test]
    fn multivalue_brings_route53_default_checks() {
        let d = parse("routing = \"multivalue\"\nclient = \"pinned\"\n").unwrap();
        assert_eq!(d.health_check, Some(DnsHealthCheck::default()));
        assert_eq!(d.health_check.unwrap().interval, Dur(30 * SEC));
        assert_eq!(d.client, DnsClient::Pinned);
        let fast = parse("health_check = { interval = \"10s\", failure_threshold = 1 }\n").unwrap();
        assert_eq!(fast.routing, DnsRouting::Single);
        assert_eq!(
            fast.health_check,
            Some(DnsHealthCheck {
                interval: Dur(10 * SEC),
                failure_threshold: 1
            })
        );
    }

    #[test]
    fn route53_limits_are_refused_where_written() {
        let e = parse("health_check = { interval = \"20s\" }\n").unwrap_err();
        assert!(
            e.starts_with("t.toml:5:29:") && e.contains("\"10s\" (fast)"),
            "{e}"
        );
        let e = parse("health_check = { failure_threshold = 11 }\n").unwrap_err();
        assert!(e.contains("from 1 to 10"), "{e}");
        let e = parse("client = \"sticky\"\n").unwrap_err();
        assert!(e.contains("\"next_address\", \"pinned\""), "{e}");
        let e = parse("routing = \"weighted\"\n").unwrap_err();
        assert!(e.contains("\"single\", \"multivalue\""), "{e}");
    }
}
