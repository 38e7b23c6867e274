//! The scenarios shipped under `scenarios/`, compiled in so `stratus run
//! az-outage` works from any directory.

/// (name, file text), in the order `stratus list` shows them.
pub const BUNDLED: &[(&str, &str)] = &[
    (
        "steady-state",
        include_str!("../../../scenarios/steady-state.toml"),
    ),
    (
        "az-outage",
        include_str!("../../../scenarios/az-outage.toml"),
    ),
    ("scale-in", include_str!("../../../scenarios/scale-in.toml")),
    (
        "rolling-deploy",
        include_str!("../../../scenarios/rolling-deploy.toml"),
    ),
    (
        "cookie-overflow",
        include_str!("../../../scenarios/cookie-overflow.toml"),
    ),
    (
        "store-failover",
        include_str!("../../../scenarios/store-failover.toml"),
    ),
    (
        "db-failover",
        include_str!("../../../scenarios/db-failover.toml"),
    ),
    (
        "replica-lag",
        include_str!("../../../scenarios/replica-lag.toml"),
    ),
    (
        "read-scaling",
        include_str!("../../../scenarios/read-scaling.toml"),
    ),
    (
        "cache-aside",
        include_str!("../../../scenarios/cache-aside.toml"),
    ),
    (
        "flash-sale",
        include_str!("../../../scenarios/flash-sale.toml"),
    ),
    (
        "fis-az-power",
        include_str!("../../../scenarios/fis-az-power.toml"),
    ),
    ("dns-ttl", include_str!("../../../scenarios/dns-ttl.toml")),
    (
        "az-rebalance",
        include_str!("../../../scenarios/az-rebalance.toml"),
    ),
    (
        "tour-sessions",
        include_str!("../../../scenarios/tour-sessions.toml"),
    ),
    ("tamper", include_str!("../../../scenarios/tamper.toml")),
    (
        "open-database",
        include_str!("../../../scenarios/open-database.toml"),
    ),
    (
        "live-az-outage",
        include_str!("../../../scenarios/live-az-outage.toml"),
    ),
    (
        "daily-peak",
        include_str!("../../../scenarios/daily-peak.toml"),
    ),
    (
        "retry-storm",
        include_str!("../../../scenarios/retry-storm.toml"),
    ),
    (
        "cold-start",
        include_str!("../../../scenarios/cold-start.toml"),
    ),
    (
        "gray-failure",
        include_str!("../../../scenarios/gray-failure.toml"),
    ),
];

/// The traces the bundled scenarios play, by the name they are written as.
pub const TRACES: &[(&str, &str)] = &[(
    "daily-peak.csv",
    include_str!("../../../scenarios/daily-peak.csv"),
)];

/// A bundled trace by the name a scenario writes: the reader of
/// [`crate::parse_scenario`], which reads no file.
pub fn read_trace(name: &str) -> Result<(String, String), String> {
    TRACES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, t)| (format!("scenarios/{n}"), (*t).to_string()))
        .ok_or_else(|| {
            let names: Vec<&str> = TRACES.iter().map(|(n, _)| *n).collect();
            format!(
                "no bundled trace by that name: expected a file beside the scenario (read by the command line) or one of {}",
                names.join(", ")
            )
        })
}

/// The text of a bundled scenario, by name (with or without `.toml`).
pub fn find(name: &str) -> Option<&'static str> {
    let name = name.strip_suffix(".toml").unwrap_or(name);
    let name = name.strip_prefix("scenarios/").unwrap_or(name);
    BUNDLED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The lesson comment block at the top of a scenario file.
pub fn lesson(text: &str) -> String {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| l.trim_start_matches('#').trim())
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_string()
}
