//! The live shop against real outside tools: curl with a cookie jar,
//! headless Chromium, redis-cli, wrk, and a real redis-server behind
//! `--store-url`. A missing tool skips its test with the reason printed,
//! unless `STRATUS_E2E=1` (as `scripts/live-e2e.sh` sets), where it fails.

// Waits between polls of outside processes (a server coming up, a cart
// answering again): real time, in a test of real processes.
#![allow(clippy::disallowed_methods)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// Whether the tool is here; without it, a skip (or a failure under STRATUS_E2E=1).
fn need(tool: &str) -> bool {
    if on_path(tool) {
        return true;
    }
    if std::env::var("STRATUS_E2E").as_deref() == Ok("1") {
        panic!(
            "{tool} is not installed and STRATUS_E2E=1: run scripts/live-e2e.sh, which installs it"
        );
    }
    eprintln!(
        "skipped: {tool} is not installed (scripts/live-e2e.sh installs it and runs this test)"
    );
    false
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|t| on_path(t))
}

const TOKEN: &str = "e2e-token";

/// A `stratus serve` child on ephemeral ports.
struct Serve {
    child: Child,
    shop: String,
    admin: String,
    resp: Option<u16>,
    lanes: Option<usize>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str]) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args([
            "serve",
            "live-az-outage",
            "--listen",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
            "--token",
            TOKEN,
        ])
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("stratus runs");
    let mut err = BufReader::new(child.stderr.take().expect("piped"));
    let (mut shop, mut admin, mut resp, mut lanes) = (String::new(), String::new(), None, None);
    let mut line = String::new();
    while err.read_line(&mut line).expect("stderr") > 0 {
        let l = line.trim();
        if let Some(u) = l.strip_prefix("shop   ") {
            shop = u.trim_end_matches('/').to_string();
        } else if let Some(u) = l.strip_prefix("admin  ") {
            admin = u.trim_end_matches("/admin/state").to_string();
        } else if let Some(r) = l.strip_prefix("resp   redis-cli -p ") {
            resp = r.split_whitespace().next().and_then(|p| p.parse().ok());
        } else if let Some(n) = l.strip_prefix("lanes  ") {
            lanes = n.split_whitespace().next().and_then(|n| n.parse().ok());
        } else if l == "Ctrl-C stops." {
            break;
        }
        line.clear();
    }
    assert!(!shop.is_empty() && !admin.is_empty(), "serve did not start");
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in err.lines() {});
    Serve {
        child,
        shop,
        admin,
        resp,
        lanes,
    }
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn curl(jar: &Path, args: &[&str]) -> String {
    let j = jar.to_str().unwrap();
    let mut a = vec!["-s", "-c", j, "-b", j, "-H", "Accept: application/json"];
    a.extend_from_slice(args);
    run("curl", &a)
}

/// GET /cart with the jar: (status, JSON).
fn cart(s: &Serve, jar: &Path) -> (u16, serde_json::Value) {
    let out = curl(jar, &["-w", "\n%{http_code}", &format!("{}/cart", s.shop)]);
    let (body, code) = out.rsplit_once('\n').unwrap();
    (
        code.parse().unwrap(),
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("stratus-e2e-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// curl adds to the cart, the admin API kills that AZ, curl reads the cart
/// once the balancer answers again: the lines it still holds.
fn curl_cart_after_az_kill(strategy: &str) -> usize {
    let s = serve(&["--strategy", strategy]);
    let jar = tmp(strategy).join("jar");
    let added = curl(
        &jar,
        &[
            "-d",
            "product=3&size=L&colour=navy",
            &format!("{}/cart/add", s.shop),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&added).expect("JSON");
    assert_eq!(v["cart"].as_array().map(Vec::len), Some(1), "{added}");
    let az = v["az"].as_str().unwrap().to_string();
    // Past the store's 10 ms replication lag first: a kill within it drops
    // the write with the primary, which is store-failover's lesson, not this one.
    std::thread::sleep(Duration::from_millis(100));
    let killed = run(
        "curl",
        &[
            "-s",
            "-X",
            "POST",
            "-H",
            &format!("Authorization: Bearer {TOKEN}"),
            &format!("{}/admin/az/{az}/kill", s.admin),
        ],
    );
    assert!(killed.contains("\"ok\""), "{killed}");
    // Bounded generously: a loaded CI machine may be slow to run the checks.
    for _ in 0..2000 {
        let (code, v) = cart(&s, &jar);
        if code == 200 {
            assert_ne!(v["az"].as_str(), Some(az.as_str()));
            return v["cart"].as_array().map_or(usize::MAX, Vec::len);
        }
        // A dead node's connection times out (504); a store mid-failover 503.
        assert!(code == 504 || code == 503, "{code} {v}");
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the shop never answered after the AZ kill");
}

#[test]
fn curl_cart_is_lost_under_sticky_and_kept_under_store() {
    if !need("curl") {
        return;
    }
    assert_eq!(
        curl_cart_after_az_kill("sticky"),
        0,
        "sticky: the cart died with its node"
    );
    assert_eq!(
        curl_cart_after_az_kill("store"),
        1,
        "store: the cart survived"
    );
}

#[test]
fn headless_chromium_adds_an_item_and_reads_the_cart_page() {
    if !need("curl") {
        return;
    }
    let Some(chrome) = chromium() else {
        need("chromium");
        return;
    };
    let s = serve(&["--strategy", "store"]);
    let dir = tmp("chromium");
    let page = dir.join("add.html");
    // A page that submits the shop's own add-to-cart form, as a click would;
    // the shop redirects to /cart, which Chromium loads with its cookie.
    std::fs::write(
        &page,
        format!(
            "<form method=post action=\"{}/cart/add\"><input name=product value=7><input name=size value=L>\
             <input name=colour value=navy></form><script>document.forms[0].submit()</script>",
            s.shop
        ),
    )
    .unwrap();
    let out = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(["--virtual-time-budget=10000", "--dump-dom"])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("<h1>Your cart</h1>"),
        "not the cart page: {dom}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dom.contains("Cart (1)"), "{dom}");
    assert!(dom.contains("<td>L</td><td>navy</td>"), "{dom}");
}

#[test]
fn redis_cli_round_trips_a_session_key_through_resp() {
    if !need("curl") || !need("redis-cli") {
        return;
    }
    let s = serve(&["--strategy", "store", "--resp", "127.0.0.1:0"]);
    let port = s.resp.expect("--resp printed its port").to_string();
    let jar = tmp("resp").join("jar");
    curl(
        &jar,
        &[
            "-d",
            "product=11&size=S&colour=red",
            &format!("{}/cart/add", s.shop),
        ],
    );
    let sid = std::fs::read_to_string(&jar)
        .unwrap()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 7 && f[5] == "sid").then(|| f[6].to_string())
        });
    let key = format!("session:{}", sid.expect("a sid cookie"));
    let got = run("redis-cli", &["-p", &port, "GET", &key]);
    assert!(
        got.contains("\"product\":11") && got.contains("\"colour\":\"red\""),
        "{got}"
    );
    let ttl: i64 = run("redis-cli", &["-p", &port, "TTL", &key])
        .trim()
        .parse()
        .unwrap();
    assert!(ttl > 0 && ttl <= 1800, "{ttl}");
    let set = run(
        "redis-cli",
        &[
            "-p",
            &port,
            "SET",
            &key,
            r#"[{"product":12,"size":"M","colour":"grey","qty":3,"price_cents":999}]"#,
        ],
    );
    assert_eq!(set.trim(), "OK");
    let (code, v) = cart(&s, &jar);
    assert_eq!(
        (
            code,
            v["cart"][0]["product"].as_u64(),
            v["cart"][0]["qty"].as_u64()
        ),
        (200, Some(12), Some(3)),
        "{v}"
    );
    assert_eq!(run("redis-cli", &["-p", &port, "PING"]).trim(), "PONG");
}

#[test]
fn wrk_runs_against_the_balancer_without_errors() {
    if !need("wrk") {
        return;
    }
    // Three lanes on any machine: connections spread over more lanes than cores.
    let s = serve(&["--lanes", "3"]);
    assert_eq!(s.lanes, Some(3));
    let out = run(
        "wrk",
        &[
            "-t2",
            "-c50",
            "-d2s",
            "--timeout",
            "10s",
            &format!("{}/", s.shop),
        ],
    );
    assert!(out.contains("Requests/sec"), "{out}");
    assert!(!out.contains("Socket errors"), "{out}");
    assert!(!out.contains("Non-2xx"), "{out}");
    let requests: u64 = out
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(requests > 100, "{out}");
}

#[test]
fn store_url_keeps_carts_in_a_real_redis_across_a_restart() {
    if !need("curl") || !need("redis-server") || !need("redis-cli") {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut redis = Command::new("redis-server")
        .args([
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server runs");
    for _ in 0..200 {
        if run("redis-cli", &["-p", &port, "PING"]).trim() == "PONG" {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let url = format!("redis://127.0.0.1:{port}");
    let jar = tmp("store-url").join("jar");
    {
        let s = serve(&["--strategy", "store", "--store-url", &url]);
        curl(&jar, &["-d", "product=21", &format!("{}/cart/add", s.shop)]);
        let keys = run("redis-cli", &["-p", &port, "KEYS", "session:*"]);
        assert_eq!(keys.lines().count(), 1, "{keys}");
    }
    // A new shop process, the same Redis: the cart is still there.
    let s = serve(&["--strategy", "store", "--store-url", &url]);
    let (code, v) = cart(&s, &jar);
    assert_eq!(
        (code, v["cart"][0]["product"].as_u64()),
        (200, Some(21)),
        "{v}"
    );
    let _ = redis.kill();
    let _ = redis.wait();
}

#[test]
fn ctrl_c_stops_serve_cleanly() {
    if !need("kill") {
        return;
    }
    let mut s = serve(&[]);
    let pid = s.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut code = None;
    for _ in 0..200 {
        if let Some(st) = s.child.try_wait().unwrap() {
            code = st.code();
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(code, Some(0));
}
