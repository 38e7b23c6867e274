//! The configuration files of the Redis servers and their Sentinels, and
//! how the scenario's `failover_after` maps onto Sentinel's settings.
//!
//! Sentinel (https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/)
//! fails a primary over in steps: it is subjectively down after
//! `down-after-milliseconds` without a valid PING reply, objectively down
//! once `quorum` Sentinels agree (they ask each other every second), then
//! one Sentinel is elected leader and sends `REPLICAOF NO ONE` to the best
//! replica, and the failover counts as done when that replica's INFO says
//! it is a primary. The steps after detection take about a second more on
//! loopback (measured by `scripts/redis-e2e.sh`; the README quotes the run),
//! so `down-after-milliseconds` is the scenario's `failover_after` less that
//! second, never below half a second. `failover-timeout` (Sentinel's default:
//! 3 minutes) bounds a failover that stalls and spaces out a retry (twice
//! it); it is three times `failover_after`, at least 10 s, so a retry still
//! falls inside a short run.

use std::fmt::Write;
use std::path::Path;

/// The name the Sentinels monitor the primary under.
pub const SERVICE: &str = "stratus";
/// Sentinels, placed one per AZ round the region.
pub const SENTINELS: usize = 3;
/// Sentinels that must agree the primary is down (a majority of three, as
/// Sentinel's documentation recommends for three Sentinels).
pub const QUORUM: u32 = 2;
/// What Sentinel's agreement, election and promotion add to detection.
pub const AFTER_DETECTION_MS: u64 = 1_000;
const MIN_DOWN_AFTER_MS: u64 = 500;
const MIN_FAILOVER_TIMEOUT_MS: u64 = 10_000;

/// Sentinel's timings for one scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Timings {
    pub down_after_ms: u64,
    pub failover_timeout_ms: u64,
}

impl Timings {
    /// The settings closest to a promotion `failover_after_ns` after the
    /// primary's loss.
    pub fn for_failover_after(failover_after_ns: u64) -> Timings {
        let ms = failover_after_ns / 1_000_000;
        Timings {
            down_after_ms: ms.saturating_sub(AFTER_DETECTION_MS).max(MIN_DOWN_AFTER_MS),
            failover_timeout_ms: (3 * ms).max(MIN_FAILOVER_TIMEOUT_MS),
        }
    }
}

/// A Redis server on loopback `port` keeping its files in `dir`; a
/// replica of the server on `primary` when given. Nothing is saved to disk
/// (an ElastiCache node's data lives in memory; a replacement copies it
/// from the primary), and a replica syncs without writing an RDB file.
pub fn server(port: u16, dir: &Path, primary: Option<u16>) -> String {
    let mut s = format!(
        "port {port}\nbind 127.0.0.1\ndir {}\ndaemonize no\nprotected-mode no\n\
         save \"\"\nappendonly no\nrepl-diskless-sync yes\nrepl-diskless-sync-delay 0\n",
        dir.display()
    );
    if let Some(p) = primary {
        let _ = writeln!(s, "replicaof 127.0.0.1 {p}");
    }
    s
}

/// A Sentinel on loopback `port` monitoring the primary on `primary`.
/// Sentinel rewrites this file as it learns (other Sentinels, replicas, a
/// new primary), so it lives in the Sentinel's own `dir`.
pub fn sentinel(port: u16, dir: &Path, primary: u16, t: Timings) -> String {
    format!(
        "port {port}\nbind 127.0.0.1\ndir {}\ndaemonize no\nprotected-mode no\n\
         sentinel monitor {SERVICE} 127.0.0.1 {primary} {QUORUM}\n\
         sentinel down-after-milliseconds {SERVICE} {}\n\
         sentinel failover-timeout {SERVICE} {}\n\
         sentinel parallel-syncs {SERVICE} 1\n",
        dir.display(),
        t.down_after_ms,
        t.failover_timeout_ms
    )
}

/// The AZ of each Sentinel: one per AZ round the region.
pub fn sentinel_azs(azs: usize) -> Vec<usize> {
    (0..SENTINELS).map(|i| i % azs.max(1)).collect()
}

/// A field of an `INFO` reply (`name:value` lines).
pub fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_model::time::SEC;

    #[test]
    fn sentinel_detects_a_second_before_the_scenarios_promotion() {
        let t = Timings::for_failover_after(15 * SEC);
        assert_eq!(t.down_after_ms, 14_000);
        assert_eq!(t.failover_timeout_ms, 45_000);
        let short = Timings::for_failover_after(SEC);
        assert_eq!(short.down_after_ms, 500, "never below half a second");
        assert_eq!(short.failover_timeout_ms, 10_000);
    }

    #[test]
    fn a_replica_follows_its_primary_and_nothing_is_saved() {
        let p = server(7001, Path::new("/tmp/x/redis-a"), None);
        assert!(p.contains("port 7001\n") && p.contains("dir /tmp/x/redis-a\n"));
        assert!(p.contains("save \"\"\n") && p.contains("appendonly no\n"));
        assert!(!p.contains("replicaof"));
        let r = server(7002, Path::new("/tmp/x/redis-b"), Some(7001));
        assert!(r.ends_with("replicaof 127.0.0.1 7001\n"));
    }

    #[test]
    fn the_sentinels_monitor_the_primary_with_a_quorum_of_two() {
        let t = Timings::for_failover_after(5 * SEC);
        let s = sentinel(26379, Path::new("/tmp/x/sentinel-a"), 7001, t);
        let monitor = s
            .find("sentinel monitor stratus 127.0.0.1 7001 2\n")
            .unwrap();
        // Sentinel refuses a master's settings before its `monitor` line.
        assert!(monitor < s.find("down-after-milliseconds stratus 4000\n").unwrap());
        assert!(s.contains("sentinel failover-timeout stratus 15000\n"));
        assert_eq!(sentinel_azs(3), vec![0, 1, 2]);
        assert_eq!(sentinel_azs(2), vec![0, 1, 0]);
    }

    #[test]
    fn info_fields_are_read_by_name() {
        let info =
            "# Replication\r\nrole:slave\r\nmaster_repl_offset:42\r\nslave_repl_offset:40\r\n";
        assert_eq!(info_field(info, "role"), Some("slave"));
        assert_eq!(info_field(info, "slave_repl_offset"), Some("40"));
        assert_eq!(info_field(info, "master_repl_offset"), Some("42"));
        assert_eq!(info_field(info, "missing"), None);
    }
}
