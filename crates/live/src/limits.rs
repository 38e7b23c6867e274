//! What a live listener holds a client to, so a slow or greedy one cannot
//! take the shop down: how long a request head may take to arrive, how many
//! connections a listener keeps open at once, and how many idle keep-alive
//! connections the balancer keeps to each node, and for how long. The
//! timeouts and the upstream pool follow nginx, the connection cap follows
//! HAProxy (sized from the open-file limit), where ALB documents nothing
//! (README, "Holding under load and bad clients").

use std::time::Duration;
use stratus_model::net::LB_IDLE_TIMEOUT;

/// nginx's `client_header_timeout` default: a client that has not sent a
/// whole request head 60 s after the server started waiting for one is
/// closed. ALB documents no head timeout, only its 60 s idle timeout.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(60);

/// File descriptors kept back from the connection cap for everything else
/// the process opens: listeners, the admin API, the engines' connections,
/// logs (HAProxy likewise reserves its listeners' and checks' sockets
/// before it sizes `maxconn`).
pub const RESERVED_FDS: u64 = 256;

/// File descriptors one balancer connection may need: its own, and both
/// ends of the upstream connection to a node, which live in this process
/// too (HAProxy counts two per proxied connection, its client's and its
/// server's).
pub const FDS_PER_CONN: u64 = 3;

/// HAProxy's floor when the open-file limit leaves little room.
pub const MIN_CONNS: usize = 100;

/// Idle keep-alive connections the balancer keeps per node and lane (an
/// nginx `keepalive 32;` in the upstream block, kept per worker as nginx
/// keeps it). nginx has no default: without the directive it keeps none.
pub const UPSTREAM_KEEPALIVE: usize = 32;

/// How long an idle upstream connection is kept: nginx's upstream
/// `keepalive_timeout` default, 60 s, which is also ALB's idle timeout on
/// its connections to targets.
pub const UPSTREAM_IDLE: Duration = Duration::from_nanos(LB_IDLE_TIMEOUT);

/// The limits of one running shop (`stratus serve`'s flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// A request head must arrive whole within this (hyper's
    /// `header_read_timeout`; its timer runs whenever the server waits for
    /// a head, so it also closes a keep-alive connection idle this long).
    pub head_timeout: Duration,
    /// Open connections per listener; None: what the open-file limit
    /// allows ([`conns_for`]).
    pub max_conns: Option<usize>,
    /// Idle upstream connections kept per node and lane.
    pub upstream_keepalive: usize,
    /// An idle upstream connection is closed after this.
    pub upstream_idle: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            head_timeout: HEAD_TIMEOUT,
            max_conns: None,
            upstream_keepalive: UPSTREAM_KEEPALIVE,
            upstream_idle: UPSTREAM_IDLE,
        }
    }
}

impl Limits {
    /// The connection cap a listener applies.
    pub fn conns(&self) -> usize {
        self.max_conns
            .unwrap_or_else(|| conns_for(open_files()))
            .max(1)
    }

    /// How often the balancer looks for upstream connections idle past
    /// their timeout: often enough that one is closed at most a quarter of
    /// the timeout late, and at most once a second.
    pub fn sweep_every(&self) -> Duration {
        (self.upstream_idle / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
    }
}

/// The default cap for an open-file limit of `nofile`: HAProxy's rule
/// (with no `maxconn` set, the most connections the limit can hold after
/// its reserve, and never under 100), each connection counted at
/// [`FDS_PER_CONN`]. Every listener gets it, as HAProxy's frontends default
/// to the global `maxconn`.
pub fn conns_for(nofile: u64) -> usize {
    let room = nofile.saturating_sub(RESERVED_FDS) / FDS_PER_CONN;
    usize::try_from(room).unwrap_or(usize::MAX).max(MIN_CONNS)
}

/// The process's open-file limits (soft, hard), if the kernel tells.
fn nofile() -> Option<libc::rlimit> {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given and nothing else.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) } == 0).then_some(l)
}

/// The process's open-file limit now (its soft limit); `RLIM_INFINITY`
/// counts as a million.
pub fn open_files() -> u64 {
    match nofile() {
        None => 1024,
        Some(l) if l.rlim_cur == libc::RLIM_INFINITY => 1 << 20,
        Some(l) => l.rlim_cur,
    }
}

/// Raises the soft open-file limit to the hard one, as the Go runtime does
/// for every program since Go 1.19 and nginx's `worker_rlimit_nofile` does
/// when set: the soft limit (often 1,024) is a compatibility default for
/// `select`, which nothing here uses. Returns the limit in force after.
pub fn raise_open_files() -> u64 {
    if let Some(l) = nofile().filter(|l| l.rlim_cur < l.rlim_max) {
        let raised = libc::rlimit {
            rlim_cur: l.rlim_max,
            rlim_max: l.rlim_max,
        };
        // SAFETY: setrlimit reads only the struct given. A refusal leaves
        // the soft limit as it was, which `open_files` then reports.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) };
    }
    open_files()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_nginx_and_caps_are_never_zero() {
        let l = Limits::default();
        assert_eq!(l.head_timeout, Duration::from_secs(60));
        assert_eq!(l.upstream_idle, Duration::from_secs(60));
        assert_eq!(l.conns(), conns_for(open_files()));
        // 20,000 open files: (20,000 - 256) / 3.
        assert_eq!(conns_for(20_000), 6_581);
        assert_eq!(conns_for(1_024), 256);
        assert_eq!(conns_for(300), MIN_CONNS);
        assert!(conns_for(u64::MAX) > 1_000_000);
        let zero = Limits {
            max_conns: Some(0),
            upstream_idle: Duration::ZERO,
            ..l
        };
        assert_eq!(zero.conns(), 1);
        assert_eq!(zero.sweep_every(), Duration::from_millis(10));
        assert_eq!(l.sweep_every(), Duration::from_secs(1));
    }
}
