//! Bad clients against the live listeners: a slowloris (thousands of
//! connections that send half a request head and stall) is closed by the
//! head timeout while real shoppers are served, and a listener at its
//! connection cap leaves a new connection waiting until one closes.

use crate::common;
use crate::common::live::client;
use std::net::SocketAddr;
use std::time::Duration;
use stratus::live::limits::Limits;
use stratus::scenario::Strategy;
use stratus::time::Dur;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Half a request head: a request line and a header, no blank line.
const HALF_HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: slow";

/// How many stalled connections this process can afford: 3,000 (the
/// issue's figure) when the open-file limit leaves room for both ends of
/// each, on loopback, and for the other tests running beside this one.
fn stallers() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse::<usize>().ok())
        })
        .unwrap_or(1024);
    soft.saturating_sub(4000).div_ceil(2).clamp(100, 3000)
}

/// A connection that sent half a head and stalls.
async fn stall(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr)
        .await
        .expect("the listener accepts");
    s.write_all(HALF_HEAD).await.expect("half a head is sent");
    s
}

/// Whether the server has closed `s`: it reads to the end (EOF) or finds
/// the connection reset. The guard only keeps a broken server from hanging
/// the test; it is far longer than any head timeout used here.
async fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut sink = Vec::new();
    match tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut sink)).await {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => e.kind() == std::io::ErrorKind::ConnectionReset,
        Err(_) => false,
    }
}

/// Whether `s` is still open with nothing to read (the server is waiting).
fn still_open(s: &TcpStream) -> bool {
    let mut b = [0u8; 1];
    matches!(s.try_read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_heads_are_closed_while_shoppers_are_served() {
    let n = stallers();
    let limits = Limits {
        head_timeout: Duration::from_secs(5),
        max_conns: Some(n + 1000),
        ..Limits::default()
    };
    let sc = common::live::scenario("slowloris");
    let h = common::live::start_limited(sc.clone(), Strategy::Store, false, limits).await;
    let node = h.cluster.lock().addrs.iter().flatten().next().copied();
    let node = node.expect("a node listens");
    let mut slow = Vec::with_capacity(n + 2);
    for _ in 0..n {
        slow.push(stall(h.shop).await);
    }
    // The admin API and a node hold their clients to the same timeout.
    slow.push(stall(h.admin).await);
    slow.push(stall(node).await);

    let mut shoppers = sc;
    shoppers.workload.think_time = Dur::from_ms(100);
    let r = common::live::load(&h, shoppers, 20.0, 2, 11).await;
    assert!(
        slow.iter().all(still_open),
        "the shoppers ran while every stalled connection was open (the head timeout is longer than the setup and the load)"
    );
    assert!(r.requests.ok > 20, "{:?}", r.requests);
    assert_eq!(r.requests.failed, 0, "{:?}", r.requests.errors);

    let mut closed = 0;
    for s in &mut slow {
        closed += usize::from(closed_by_server(s).await);
    }
    assert_eq!(
        closed,
        n + 2,
        "every stalled connection is closed by the server"
    );
    // And the shop still serves.
    let c = client();
    let r = c
        .get(format!("http://{}/", h.shop).parse().unwrap())
        .await
        .expect("the balancer answers");
    assert!(r.status().is_success(), "{}", r.status());
    h.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_at_its_cap_serves_a_new_connection_once_one_closes() {
    let cap = 4;
    let limits = Limits {
        max_conns: Some(cap),
        ..Limits::default()
    };
    let h = common::live::start_limited(
        common::live::scenario("cap"),
        Strategy::Store,
        false,
        limits,
    )
    .await;
    let mut slow = Vec::new();
    for _ in 0..cap {
        slow.push(stall(h.shop).await);
    }
    // The kernel completes the handshake; the balancer does not accept.
    let mut waiting = TcpStream::connect(h.shop).await.unwrap();
    waiting
        .write_all(b"GET /health HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let early =
        tokio::time::timeout(Duration::from_millis(500), waiting.read_to_end(&mut answer)).await;
    assert!(
        early.is_err(),
        "no answer while the cap is taken: {answer:?}"
    );
    // One stalled client goes away: its slot frees and the waiting
    // connection is accepted and answered.
    drop(slow.pop());
    tokio::time::timeout(Duration::from_secs(30), waiting.read_to_end(&mut answer))
        .await
        .expect("answered once a slot frees")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
    assert!(slow.iter().all(still_open), "the others still hold theirs");
    h.shutdown();
}
