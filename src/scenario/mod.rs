//! What a run is made of: the validated scenario, with every default filled in.
//!
//! The file format (and its errors) lives in [`file`]; this module is the typed
//! form the model reads, and the one a program builds by hand (see `examples/`).

mod data;
pub mod file;
mod raw;
mod security;
mod timeline;
pub mod variant;

pub use data::{CacheTier, Database, ReadFrom};
pub use file::{ScenarioError, parse_scenario};

use crate::time::{DAY, Dur, MIN, MS, SEC, US};
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
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [Strategy::Sticky, Strategy::Cookie, Strategy::Store];
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Sticky => "sticky",
            Strategy::Cookie => "cookie",
            Strategy::Store => "store",
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

/// The names the contract reserves for strategies this build does not have yet.
pub const PLANNED_STRATEGIES: [&str; 1] = ["durable"];

/// An index into [`Region::azs`].
pub type AzIx = usize;

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
}

/// The request kinds a shopper makes. The last three (the account page, order
/// history and an address change) only happen when the workload asks for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Home,
    Product,
    AddToCart,
    ViewCart,
    Checkout,
    Account,
    Orders,
    Address,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Home,
        Kind::Product,
        Kind::AddToCart,
        Kind::ViewCart,
        Kind::Checkout,
        Kind::Account,
        Kind::Orders,
        Kind::Address,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Kind::Home => "home",
            Kind::Product => "product",
            Kind::AddToCart => "add_to_cart",
            Kind::ViewCart => "view_cart",
            Kind::Checkout => "checkout",
            Kind::Account => "account",
            Kind::Orders => "orders",
            Kind::Address => "address",
        }
    }
    /// Pages that write to the database.
    pub fn writes(self) -> bool {
        matches!(self, Kind::Checkout | Kind::Address)
    }
    pub fn index(self) -> usize {
        self as usize
    }
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

/// The shape of service times around their mean.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ServiceDistribution {
    Exponential,
    Constant,
    /// Lognormal with the given mean and shape σ of the underlying normal.
    Lognormal {
        sigma: f64,
    },
}

/// Lognormal's default σ: a coefficient of variation of about 0.53, the order
/// seen for web request service times; documented in the README.
pub const LOGNORMAL_SIGMA: f64 = 0.5;

#[derive(Clone, Debug, PartialEq)]
pub struct Fleet {
    pub min: u32,
    pub desired: u32,
    pub max: u32,
    pub launch_time: Dur,
    pub workers: u32,
    pub queue_limit: u32,
    pub service_time: ServiceTimes,
    pub service_distribution: ServiceDistribution,
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
    /// None: no replica, so a lost primary loses every session.
    pub replica_az: Option<AzIx>,
    pub replication_lag: Dur,
    pub failover_after: Dur,
    pub ttl: Dur,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Sessions {
    pub cookie: CookieSessions,
    pub store: StoreSessions,
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
    pub arrivals_per_second: f64,
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
        }
    }
    pub const NAMES: [&'static str; 8] = [
        "kill_az",
        "restore_az",
        "kill_node",
        "set_desired",
        "rolling_deploy",
        "kill_store_primary",
        "kill_db_primary",
        "set_arrivals",
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
    /// Every component's security group (`[security_groups]` over the defaults).
    pub security_groups: crate::security::SecurityGroups,
    /// What `stratus compare` runs when `--strategies` is not given (`[scenario] compare`).
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
            },
            fleet: Fleet {
                min: 3,
                desired: 6,
                max: 12,
                launch_time: Dur(90 * SEC),
                workers: 8,
                queue_limit: 256,
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
            },
            sessions: Sessions {
                cookie: CookieSessions {
                    max_bytes: 4096,
                    signed: true,
                    max_age: None,
                    versioned: false,
                },
                store: StoreSessions {
                    primary_az: 0,
                    replica_az: Some(1),
                    replication_lag: Dur(10 * MS),
                    failover_after: Dur(15 * SEC),
                    ttl: Dur(30 * MIN),
                },
            },
            workload: Workload {
                arrivals_per_second: 20.0,
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
            },
            timeline: Vec::new(),
            slo: Vec::new(),
            prices: crate::cost::Prices::default(),
            database: None,
            cache: None,
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
