//! What a run is made of: the validated scenario, with every default filled in.
//!
//! The file format lives in [`mod@file`] and its errors in `context`; this
//! module is the typed form the model reads, and the one a program builds by
//! hand (see `examples/`).

pub mod action;
mod arrivals;
mod calls;
mod context;
mod data;
mod dns;
mod elastic;
pub mod file;
mod raw;
mod remedies;
mod retry;
mod security;
mod serving;
mod timeline;
mod values;
pub mod variant;

pub use action::{ActionEntry, EntryError};
pub use context::Reader;
pub use context::ScenarioError;
pub use data::{CacheTier, Database, ReadFrom};
pub use dns::{Dns, DnsClient, DnsHealthCheck, DnsRouting};
pub use elastic::{DurableSessions, HealthCheckType, ScaleMetric, TargetTracking};
pub use file::{parse_scenario, parse_scenario_with};
pub use remedies::{Remedy, put};

pub use crate::core::{AzIx, Kind};
pub use crate::station::{LOGNORMAL_SIGMA, QueueOrder, ServiceDistribution};
use crate::time::{DAY, Dur, MIN, MS, SEC, US};
pub use crate::warmup::{Shape as WarmupShape, WarmupCurve};
use serde::Serialize;
use std::fmt;

/// How a shop keeps its shoppers' carts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// In the node's memory; the load balancer keeps the shopper on that node.
    Sticky,
    /// In a signed cookie on the shopper's side.
    Cookie,
    /// In a Redis-like store, keyed by a random session id.
    Store,
    /// In a DynamoDB-like table: three copies over three AZs, a write
    /// acknowledged once two have it.
    Durable,
}

impl Strategy {
    pub const ALL: [Strategy; 4] = [
        Strategy::Sticky,
        Strategy::Cookie,
        Strategy::Store,
        Strategy::Durable,
    ];
    /// What `compare` runs when neither `--strategies` nor the scenario's
    /// `compare` key says otherwise.
    pub const COMPARED: [Strategy; 3] = [Strategy::Sticky, Strategy::Cookie, Strategy::Store];
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Sticky => "sticky",
            Strategy::Cookie => "cookie",
            Strategy::Store => "store",
            Strategy::Durable => "durable",
        }
    }
    /// Keeps carts server-side under a random session id.
    pub fn server_side(self) -> bool {
        matches!(self, Strategy::Sticky | Strategy::Store | Strategy::Durable)
    }
    /// Keeps carts in the session store or table (`store`, `durable`).
    pub fn uses_store(self) -> bool {
        matches!(self, Strategy::Store | Strategy::Durable)
    }
    /// What the logs call that store: the durable table, or the store.
    pub fn store_word(self) -> &'static str {
        match self {
            Strategy::Durable => "table",
            _ => "store",
        }
    }
    pub fn parse(s: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|x| x.name() == s)
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Region {
    pub azs: Vec<String>,
    pub latency: Latency,
}

/// One-way network delays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latency {
    pub same_az: Dur,
    pub cross_az: Dur,
    pub internet: Dur,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    RoundRobin,
    LeastOutstanding,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stickiness {
    /// On exactly when the strategy is `sticky`.
    Auto,
    On,
    Off,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HealthCheck {
    pub interval: Dur,
    pub timeout: Dur,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LoadBalancer {
    pub algorithm: Algorithm,
    pub stickiness: Stickiness,
    pub stickiness_duration: Dur,
    pub health_check: HealthCheck,
    pub deregistration_delay: Dur,
    pub connect_timeout: Dur,
    /// Whether each balancer node may route to targets in other AZs (ALB:
    /// on, and its own cross-zone traffic is not charged); off, a node
    /// routes only to its own AZ's targets.
    pub cross_zone: bool,
}

/// Mean service time per request kind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ServiceTimes(pub [Dur; 8]);

impl ServiceTimes {
    pub fn get(&self, k: Kind) -> Dur {
        self.0[k.index()]
    }
    pub fn set(&mut self, k: Kind, d: Dur) {
        self.0[k.index()] = d;
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Fleet {
    pub min: u32,
    pub desired: u32,
    pub max: u32,
    pub launch_time: Dur,
    pub workers: u32,
    pub queue_limit: u32,
    /// Load shedding: a request older than this when a worker would pick
    /// it up is dropped with a 503 instead (None: served however old).
    pub queue_timeout: Option<Dur>,
    /// `[fleet.calls]`: timeouts, retries and breakers on the node's calls.
    pub calls: crate::calls::Calls,
    /// Which queued request a free worker takes (FIFO unless written).
    pub queue_order: QueueOrder,
    /// Cold starts: a new node's service times × a factor falling to 1
    /// (None: every node serves at full speed from the start).
    pub warmup_curve: Option<WarmupCurve>,
    pub service_time: ServiceTimes,
    pub service_distribution: ServiceDistribution,
    /// `[fleet.target_tracking]`: None keeps the group at its desired capacity.
    pub target_tracking: Option<TargetTracking>,
    /// Whose verdict replaces an instance: EC2's status checks or the balancer's.
    pub health_check_type: HealthCheckType,
    /// After launch, the time the group ignores the balancer's verdict.
    pub health_check_grace_period: Dur,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CookieSessions {
    pub max_bytes: u32,
    pub signed: bool,
    /// The cookie carries its expiry; a server refuses it after (None: a
    /// session cookie that never expires on the server's side).
    pub max_age: Option<Dur>,
    /// The cookie carries a session id and version, checked against a small
    /// server-side record that checkout bumps (replay defence).
    pub versioned: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StoreSessions {
    pub primary_az: AzIx,
    /// The replicas' AZs (up to five); empty: a lost primary loses every session.
    pub replicas: Vec<AzIx>,
    /// Mean delay before a replica applies a write.
    pub replication_lag: Dur,
    pub lag_distribution: ServiceDistribution,
    /// From the primary's loss to a replica's promotion (detection included).
    pub failover_after: Dur,
    /// From a lost replica (or a promotion) to a replacement in service; None: never.
    pub replica_rebuild: Option<Dur>,
    /// Cluster mode: the 16384 hash slots split over this many shards, each
    /// with its own primary and replicas placed round robin over the AZs.
    pub shards: u32,
    pub ttl: Dur,
}

/// ElastiCache allows up to five replicas per shard.
pub const MAX_STORE_REPLICAS: usize = 5;

/// `[sessions.memory]`: sessions in the app servers' memory (sticky).
#[derive(Clone, Debug, PartialEq)]
pub struct InMemory {
    /// A session nobody used for this long is dropped (servlet default, 30 min).
    pub timeout: Dur,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Sessions {
    pub memory: InMemory,
    pub cookie: CookieSessions,
    pub store: StoreSessions,
    pub durable: DurableSessions,
}

/// How many pages a shopper views.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pages {
    /// Geometric on {1, 2, …} with this mean.
    Mean(f64),
    Fixed(u32),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// The constant rate, or the one a spike multiplies.
    pub arrivals_per_second: f64,
    /// How the rate moves over the run (`workload.arrivals`).
    pub arrivals: crate::arrivals::Shape,
    pub think_time: Dur,
    pub pages: Pages,
    pub add_to_cart: f64,
    pub checkout: f64,
    /// Distinct products in the catalogue.
    pub catalog: u32,
    /// Chance a browsing page view is the account page instead.
    pub account: f64,
    /// Chance an account page view is followed by an address change.
    pub address_change: f64,
    /// Chance a shopper opens order history right after checking out.
    pub order_history: f64,
    /// Zipf exponent of product-page popularity (0: uniform).
    pub popularity: f64,
    /// Share of shoppers who attack the shop as they shop (see `world::attack`).
    pub attackers: f64,
    /// What the client does after a failed or slow attempt (`[workload.retry]`).
    pub retry: crate::retry::policy::RetryPolicy,
}

/// Something the scenario does at a moment of the run.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    KillAz {
        az: AzIx,
    },
    RestoreAz {
        az: AzIx,
    },
    /// Kills `count` in-service nodes (the oldest first), in `az` if given.
    KillNode {
        az: Option<AzIx>,
        count: u32,
    },
    SetDesired {
        value: u32,
    },
    /// Replaces every node, `batch` at a time (default: 10 % of desired, at least one).
    RollingDeploy {
        batch: Option<u32>,
    },
    KillStorePrimary,
    /// The database primary fails (its instance, not its AZ).
    KillDbPrimary,
    SetArrivals {
        value: f64,
    },
    /// The AZ is cut off from the other AZs and the internet for `duration`;
    /// its machines keep running, and keep what is in their memory.
    PartitionAz {
        az: AzIx,
        duration: Dur,
    },
    /// Adds one-way delay between two places, both ways, for `duration`
    /// (None: to the end of the run).
    AddLatency {
        from: Place,
        to: Place,
        delay: Dur,
        duration: Option<Dur>,
    },
    /// Launches in the AZ fail (insufficient capacity) for `duration` (None:
    /// to the end of the run); the group launches in the other AZs instead.
    BlockLaunches {
        az: AzIx,
        duration: Option<Dur>,
    },
    /// AWS FIS's "AZ Availability: Power Interruption": the AZ's instances
    /// stop, launches there fail and its subnets are cut off for `network`;
    /// the database and store fail over if their primaries lived there; after
    /// `duration` power returns and what was stopped restarts.
    FisAzPowerInterruption {
        az: AzIx,
        duration: Dur,
        network: Dur,
    },
    /// The load balancer's node in the AZ dies; DNS stops handing it out
    /// (at once, or once Route 53's health checks notice), but shoppers
    /// that cached it keep trying it until their TTL runs out.
    KillLbNode {
        az: AzIx,
    },
    /// `count` in-service nodes (the oldest first, in `az` if given) stop
    /// answering while their instances keep running: EC2's status checks
    /// still pass, the balancer's health checks do not.
    HangNode {
        az: Option<AzIx>,
        count: u32,
    },
    /// Nodes answer 5xx with chance `p` for `duration` (None: to the end of
    /// the run): `count` in service (the oldest first, in `az` if given), or
    /// without `count` every node in `az`, or without either every node.
    InjectErrors {
        az: Option<AzIx>,
        count: Option<u32>,
        p: f64,
        duration: Option<Dur>,
    },
    /// `count` in-service nodes (the oldest first, in `az` if given) serve
    /// `factor` times slower for `duration`, passing their health checks.
    SlowNode {
        az: Option<AzIx>,
        count: u32,
        factor: f64,
        duration: Option<Dur>,
    },
    /// Every node in the AZ serves `factor` times slower for `duration`.
    SlowAz {
        az: AzIx,
        factor: f64,
        duration: Option<Dur>,
    },
}

/// One end of a network path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    Internet,
    Az(AzIx),
}

impl Place {
    /// As a timeline entry writes it: `"internet"` or the AZ's name.
    pub fn name(self, azs: &[String]) -> String {
        match self {
            Place::Internet => "internet".to_string(),
            Place::Az(a) => azs.get(a).cloned().unwrap_or_default(),
        }
    }
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::KillAz { .. } => "kill_az",
            Action::RestoreAz { .. } => "restore_az",
            Action::KillNode { .. } => "kill_node",
            Action::SetDesired { .. } => "set_desired",
            Action::RollingDeploy { .. } => "rolling_deploy",
            Action::KillStorePrimary => "kill_store_primary",
            Action::KillDbPrimary => "kill_db_primary",
            Action::SetArrivals { .. } => "set_arrivals",
            Action::PartitionAz { .. } => "partition_az",
            Action::AddLatency { .. } => "add_latency",
            Action::BlockLaunches { .. } => "block_launches",
            Action::FisAzPowerInterruption { .. } => "fis_az_power_interruption",
            Action::KillLbNode { .. } => "kill_lb_node",
            Action::HangNode { .. } => "hang_node",
            Action::InjectErrors { .. } => "inject_errors",
            Action::SlowNode { .. } => "slow_node",
            Action::SlowAz { .. } => "slow_az",
        }
    }
    /// Whether the action breaks something whose cost a report charges to
    /// it (carts at risk): a kill, a cut, a hang, a deploy. A scale-in is one
    /// too, but only the group knows whether `set_desired` shrinks it.
    pub fn is_fault(&self) -> bool {
        matches!(
            self,
            Action::KillAz { .. }
                | Action::KillNode { .. }
                | Action::KillStorePrimary
                | Action::KillDbPrimary
                | Action::RollingDeploy { .. }
                | Action::PartitionAz { .. }
                | Action::KillLbNode { .. }
                | Action::HangNode { .. }
                | Action::FisAzPowerInterruption { .. }
        )
    }

    pub const NAMES: [&'static str; 17] = [
        "kill_az",
        "restore_az",
        "kill_node",
        "set_desired",
        "rolling_deploy",
        "kill_store_primary",
        "kill_db_primary",
        "set_arrivals",
        "partition_az",
        "add_latency",
        "block_launches",
        "fis_az_power_interruption",
        "kill_lb_node",
        "hang_node",
        "inject_errors",
        "slow_node",
        "slow_az",
    ];
}

#[derive(Clone, Debug, PartialEq)]
pub struct Timed {
    pub at: Dur,
    pub action: Action,
}

/// A whole scenario, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub duration: Dur,
    pub seed: u64,
    pub strategy: Strategy,
    pub region: Region,
    pub load_balancer: LoadBalancer,
    pub fleet: Fleet,
    pub sessions: Sessions,
    pub workload: Workload,
    pub timeline: Vec<Timed>,
    /// Pass/fail thresholds checked after the run (`[slo]`).
    pub slo: Vec<crate::slo::Threshold>,
    /// Prices for the run's cost (`[cost]`).
    pub prices: crate::cost::Prices,
    /// The SQL tier (`[database]`); without it the shop has no database.
    pub database: Option<Database>,
    /// The cache-aside cluster (`[cache]`), in front of the database.
    pub cache: Option<CacheTier>,
    /// `[dns]`: shoppers cache the balancer's addresses for the TTL, as
    /// Route 53 answers them. None: an ideal resolver that never hands out
    /// a dead balancer node.
    pub dns: Option<Dns>,
    /// `[[variants]]`: named overrides `compare` puts side by side.
    pub variants: Vec<Remedy>,
    /// Every component's security group (`[security_groups]` over the defaults).
    pub security_groups: crate::security::SecurityGroups,
    /// What `stratus compare` runs when `--strategies` is not given (`[scenario]
    /// compare`); empty: sticky, cookie and store.
    pub compare: Vec<variant::Entry>,
}

impl Scenario {
    /// A scenario with every default (the README's table), for building in code.
    pub fn new(name: &str, duration: Dur) -> Scenario {
        Scenario {
            name: name.to_string(),
            description: String::new(),
            duration,
            seed: 1,
            strategy: Strategy::Sticky,
            region: Region {
                azs: vec![
                    "us-east-1a".into(),
                    "us-east-1b".into(),
                    "us-east-1c".into(),
                ],
                latency: Latency {
                    same_az: Dur(125 * US),
                    cross_az: Dur(500 * US),
                    internet: Dur(10 * MS),
                },
            },
            load_balancer: LoadBalancer {
                algorithm: Algorithm::RoundRobin,
                stickiness: Stickiness::Auto,
                stickiness_duration: Dur(DAY),
                health_check: HealthCheck {
                    interval: Dur(30 * SEC),
                    timeout: Dur(5 * SEC),
                    healthy_threshold: 5,
                    unhealthy_threshold: 2,
                },
                deregistration_delay: Dur(300 * SEC),
                connect_timeout: Dur(10 * SEC),
                cross_zone: true,
            },
            fleet: Fleet {
                min: 3,
                desired: 6,
                max: 12,
                launch_time: Dur(90 * SEC),
                workers: 8,
                queue_limit: 256,
                queue_timeout: None,
                calls: crate::calls::Calls::default(),
                queue_order: QueueOrder::Fifo,
                warmup_curve: None,
                service_time: ServiceTimes([
                    Dur(4 * MS),
                    Dur(3 * MS),
                    Dur(5 * MS),
                    Dur(3 * MS),
                    Dur(20 * MS),
                    Dur(4 * MS),
                    Dur(4 * MS),
                    Dur(5 * MS),
                ]),
                service_distribution: ServiceDistribution::Exponential,
                target_tracking: None,
                health_check_type: HealthCheckType::Ec2,
                health_check_grace_period: Dur(300 * SEC),
            },
            sessions: Sessions {
                memory: InMemory {
                    timeout: Dur(crate::session::memory::DEFAULT_IDLE_TIMEOUT),
                },
                cookie: CookieSessions {
                    max_bytes: 4096,
                    signed: true,
                    max_age: None,
                    versioned: false,
                },
                store: StoreSessions {
                    primary_az: 0,
                    replicas: vec![1],
                    replication_lag: Dur(10 * MS),
                    lag_distribution: ServiceDistribution::Constant,
                    failover_after: Dur(15 * SEC),
                    replica_rebuild: Some(Dur(10 * MIN)),
                    shards: 1,
                    ttl: Dur(30 * MIN),
                },
                durable: DurableSessions::default(),
            },
            workload: Workload {
                arrivals_per_second: 20.0,
                arrivals: crate::arrivals::Shape::Constant,
                think_time: Dur(5 * SEC),
                pages: Pages::Mean(12.0),
                add_to_cart: 0.3,
                checkout: 0.5,
                catalog: 5000,
                account: 0.0,
                address_change: 0.0,
                order_history: 0.0,
                popularity: 1.0,
                attackers: 0.0,
                retry: crate::retry::policy::RetryPolicy::none(),
            },
            timeline: Vec::new(),
            slo: Vec::new(),
            prices: crate::cost::Prices::default(),
            database: None,
            cache: None,
            dns: None,
            variants: Vec::new(),
            security_groups: Default::default(),
            compare: Vec::new(),
        }
    }

    /// The AZ index for a name, if the region has it.
    pub fn az(&self, name: &str) -> Option<AzIx> {
        self.region.azs.iter().position(|a| a == name)
    }

    /// Whether the load balancer sticks shoppers to nodes under `strategy`.
    pub fn sticky_lb(&self, strategy: Strategy) -> bool {
        match self.load_balancer.stickiness {
            Stickiness::Auto => strategy == Strategy::Sticky,
            Stickiness::On => true,
            Stickiness::Off => false,
        }
    }
}
