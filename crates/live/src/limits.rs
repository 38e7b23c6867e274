//! What a live listener holds a client to, so a slow or greedy one cannot
//! take the shop down: how long a request head may take to arrive, how many
//! connections a listener keeps open at once, and how many idle keep-alive
//! connections the balancer keeps to each node, and for how long. The
//! defaults follow nginx, the reference event-loop proxy, where ALB
//! documents nothing (README, "Limits").

use std::time::Duration;
use stratus_model::net::LB_IDLE_TIMEOUT;

/// nginx's `client_header_timeout` default: a client that has not sent a
/// whole request head 60 s after the server started waiting for one is
/// closed. ALB documents no head timeout, only its 60 s idle timeout.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(60);

/// nginx's `worker_connections` default: 512 open connections per worker
/// process. A lane is Stratus's worker (see [`super::lanes`]), so a
/// listener's cap is this times the lanes. ALB documents no per-listener
/// connection cap (it scales out instead).
pub const CONNS_PER_LANE: usize = 512;

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
    /// Open connections per listener; None: [`CONNS_PER_LANE`] per lane.
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
            .unwrap_or_else(|| CONNS_PER_LANE * super::lanes::count())
            .max(1)
    }

    /// How often the balancer looks for upstream connections idle past
    /// their timeout: often enough that one is closed at most a quarter of
    /// the timeout late, and at most once a second.
    pub fn sweep_every(&self) -> Duration {
        (self.upstream_idle / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_nginx_and_caps_are_never_zero() {
        let l = Limits::default();
        assert_eq!(l.head_timeout, Duration::from_secs(60));
        assert_eq!(l.upstream_idle, Duration::from_secs(60));
        assert_eq!(l.conns() % CONNS_PER_LANE, 0);
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
