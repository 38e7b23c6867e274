//! The data tier's scenario tables: `[database]` (an RDS-like primary, Multi-AZ
//! standby and read replicas) and `[cache]` (an ElastiCache-like cache-aside
//! cluster), their defaults and their checks.

use super::context::{Ctx, ScenarioError, az_index, first_span, positive};
use super::values::D;
use super::{AzIx, Kind, Scenario, ServiceDistribution, ServiceTimes};
use crate::time::{Dur, MIN, MS, SEC, US};
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use std::fmt;
use toml::Spanned;

/// Where reads go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFrom {
    Primary,
    /// Round robin over live replicas; the primary when none is alive.
    Replicas,
}

/// RDS allows up to 15 read replicas per source instance.
pub const MAX_REPLICAS: u32 = 15;

#[derive(Clone, Debug, PartialEq)]
pub struct Database {
    pub primary_az: AzIx,
    /// The Multi-AZ standby; None: a single-AZ instance.
    pub standby_az: Option<AzIx>,
    pub replicas: Vec<AzIx>,
    pub read_from: ReadFrom,
    /// Mean delay before a replica applies a commit.
    pub replica_lag: Dur,
    pub replica_lag_distribution: ServiceDistribution,
    /// From the primary's loss to the promoted instance taking writes.
    pub failover_time: Dur,
    /// From a promotion (or the standby's loss) to a new standby in service.
    pub standby_rebuild: Dur,
    /// Queries an instance runs at once (its vCPUs).
    pub workers: u32,
    /// Queries an instance holds at once, running and waiting; beyond it, refused.
    pub max_connections: u32,
    /// How long an app node waits on an instance that does not answer.
    pub connect_timeout: Dur,
    /// Time an instance spends on each page's queries (zero: the page has none).
    pub query_time: ServiceTimes,
    /// Registered users in the seed data.
    pub users: u32,
}

impl Database {
    /// The defaults of the README's table, for a region of `azs` zones.
    pub fn new(azs: usize) -> Database {
        Database {
            primary_az: 0,
            standby_az: (azs > 1).then_some(1),
            replicas: Vec::new(),
            read_from: ReadFrom::Replicas,
            replica_lag: Dur(100 * MS),
            replica_lag_distribution: ServiceDistribution::Exponential,
            failover_time: Dur(60 * SEC),
            standby_rebuild: Dur(10 * MIN),
            workers: 2,
            max_connections: 683,
            connect_timeout: Dur(5 * SEC),
            query_time: ServiceTimes([
                Dur(2 * MS),
                Dur(MS),
                Dur(MS),
                Dur(0),
                Dur(8 * MS),
                Dur(1500 * US),
                Dur(3 * MS),
                Dur(3 * MS),
            ]),
            users: 10_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CacheTier {
    /// The AZ of each cache node; keys are spread over the nodes by hash.
    pub nodes: Vec<AzIx>,
    pub ttl: Dur,
    /// Time a cache node spends on a get or a set.
    pub op_time: Dur,
}

/// `replicas = 2` (spread over the AZs after the primary's) or a list of AZs.
pub(super) enum RawPlacement {
    Count(u32),
    Azs(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for RawPlacement {
    fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawPlacement;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a count such as 2, or a list of AZ names such as [\"us-east-1b\"]")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawPlacement, E> {
                u32::try_from(v)
                    .map(RawPlacement::Count)
                    .map_err(|_| E::custom(format!("{v} is not a count: expected a whole number of 0 or more, or a list of AZ names")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawPlacement, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawPlacement, A::Error> {
                let mut v = Vec::new();
                while let Some(az) = seq.next_element::<Spanned<String>>()? {
                    v.push(az);
                }
                Ok(RawPlacement::Azs(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    primary_az: Option<Spanned<String>>,
    standby_az: Option<Spanned<String>>,
    replicas: Option<Spanned<RawPlacement>>,
    read_from: Option<Spanned<String>>,
    replica_lag: Option<D>,
    replica_lag_distribution: Option<Spanned<String>>,
    failover_time: Option<D>,
    standby_rebuild: Option<D>,
    workers: Option<Spanned<u32>>,
    max_connections: Option<Spanned<u32>>,
    connect_timeout: Option<Spanned<D>>,
    query_time: Option<RawQueryTimes>,
    users: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueryTimes {
    home: Option<D>,
    product: Option<D>,
    add_to_cart: Option<D>,
    checkout: Option<D>,
    account: Option<D>,
    orders: Option<D>,
    address: Option<D>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCache {
    nodes: Option<Spanned<RawPlacement>>,
    ttl: Option<Spanned<D>>,
    op_time: Option<D>,
}

/// AZs for `n` instances spread round robin over the region, starting after `first`.
pub(super) fn spread(n: u32, first: AzIx, azs: usize) -> Vec<AzIx> {
    (0..n as usize).map(|i| (first + 1 + i) % azs).collect()
}

pub(super) fn placement(
    cx: &Ctx,
    s: &Scenario,
    v: &Spanned<RawPlacement>,
    key: &str,
    first: AzIx,
    max: u32,
) -> Result<Vec<AzIx>, ScenarioError> {
    let azs = match v.get_ref() {
        RawPlacement::Count(n) => spread(*n, first, s.region.azs.len()),
        RawPlacement::Azs(list) => list
            .iter()
            .map(|a| az_index(cx, s, a))
            .collect::<Result<_, _>>()?,
    };
    if azs.len() as u32 > max {
        return Err(cx.at(
            v.span(),
            format!("{key}: {} is too many: expected at most {max}", azs.len()),
        ));
    }
    Ok(azs)
}

pub(super) fn database(cx: &Ctx, s: &Scenario, r: RawDatabase) -> Result<Database, ScenarioError> {
    let mut d = Database::new(s.region.azs.len());
    if let Some(v) = &r.primary_az {
        d.primary_az = az_index(cx, s, v)?;
    }
    d.standby_az = match &r.standby_az {
        Some(v) if v.get_ref() == "none" => None,
        Some(v) => Some(az_index(cx, s, v)?),
        // Unset: the first other AZ, as RDS picks one for a Multi-AZ instance.
        None => (0..s.region.azs.len()).find(|&a| a != d.primary_az),
    };
    if d.standby_az == Some(d.primary_az) {
        let span = first_span(&[r.standby_az.as_ref(), r.primary_az.as_ref()]);
        return Err(cx.at(span, "the database standby is in the same AZ as its primary: expected a different AZ (or standby_az = \"none\")"));
    }
    if let Some(v) = &r.replicas {
        d.replicas = placement(cx, s, v, "replicas", d.primary_az, MAX_REPLICAS)?;
    }
    if let Some(v) = &r.read_from {
        d.read_from = super::context::choice(
            cx,
            v,
            "read_from",
            &[
                ("primary", ReadFrom::Primary),
                ("replicas", ReadFrom::Replicas),
            ],
        )?;
    }
    if let Some(v) = r.replica_lag {
        d.replica_lag = v.0;
    }
    if let Some(v) = &r.replica_lag_distribution {
        d.replica_lag_distribution = super::context::choice(
            cx,
            v,
            "replica_lag_distribution",
            &[
                ("exponential", ServiceDistribution::Exponential),
                ("constant", ServiceDistribution::Constant),
                (
                    "lognormal",
                    ServiceDistribution::Lognormal {
                        sigma: super::LOGNORMAL_SIGMA,
                    },
                ),
            ],
        )?;
    }
    if let Some(v) = r.failover_time {
        d.failover_time = v.0;
    }
    if let Some(v) = r.standby_rebuild {
        d.standby_rebuild = v.0;
    }
    for (v, slot, key) in [
        (&r.workers, &mut d.workers, "workers"),
        (
            &r.max_connections,
            &mut d.max_connections,
            "max_connections",
        ),
        (&r.users, &mut d.users, "users"),
    ] {
        if let Some(v) = v {
            let n = *v.get_ref();
            if n == 0 || n > 1_000_000 {
                return Err(cx.at(
                    v.span(),
                    format!("database.{key} = {n}: expected a whole number from 1 to 1000000"),
                ));
            }
            *slot = n;
        }
    }
    if d.max_connections < d.workers {
        let span = first_span(&[r.max_connections.as_ref(), r.workers.as_ref()]);
        return Err(cx.at(
            span,
            format!(
                "database.max_connections ({}) is below workers ({}): expected max_connections >= workers",
                d.max_connections, d.workers
            ),
        ));
    }
    if let Some(v) = &r.connect_timeout {
        d.connect_timeout = positive(cx, v, "connect_timeout", "")?;
    }
    if let Some(q) = r.query_time {
        for (k, v) in [
            (Kind::Home, q.home),
            (Kind::Product, q.product),
            (Kind::AddToCart, q.add_to_cart),
            (Kind::Checkout, q.checkout),
            (Kind::Account, q.account),
            (Kind::Orders, q.orders),
            (Kind::Address, q.address),
        ] {
            if let Some(v) = v {
                d.query_time.set(k, v.0);
            }
        }
    }
    Ok(d)
}

pub(super) fn cache(cx: &Ctx, s: &Scenario, r: RawCache) -> Result<CacheTier, ScenarioError> {
    let azs = s.region.azs.len();
    let mut c = CacheTier {
        nodes: spread(2.min(azs as u32), azs - 1, azs),
        ttl: Dur(5 * MIN),
        op_time: Dur(100 * US),
    };
    if let Some(v) = &r.nodes {
        c.nodes = placement(cx, s, v, "cache.nodes", azs - 1, 500)?;
        if c.nodes.is_empty() {
            return Err(cx.at(
                v.span(),
                "cache.nodes is empty: expected at least one node (or no [cache] table)",
            ));
        }
    }
    if let Some(v) = &r.ttl {
        c.ttl = positive(cx, v, "cache.ttl", "")?;
    }
    if let Some(v) = r.op_time {
        c.op_time = v.0;
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use crate::scenario::parse_scenario;

    const HEAD: &str = "[scenario]\nname = \"x\"\nduration = \"1m\"\n";

    #[test]
    fn defaults_place_standby_and_replicas_after_the_primary() {
        let s = parse_scenario(
            "t.toml",
            &format!("{HEAD}[database]\nprimary_az = \"us-east-1b\"\nreplicas = 2\n[cache]\n"),
        )
        .unwrap();
        let d = s.database.unwrap();
        assert_eq!(d.primary_az, 1);
        assert_eq!(d.standby_az, Some(0));
        assert_eq!(d.replicas, vec![2, 0]);
        assert_eq!(s.cache.unwrap().nodes, vec![0, 1]);
    }

    #[test]
    fn cache_needs_a_database() {
        let e = parse_scenario("t.toml", &format!("{HEAD}[cache]\nttl = \"1m\"\n")).unwrap_err();
        assert!(e.message.contains("[database]"), "{e}");
    }
}
