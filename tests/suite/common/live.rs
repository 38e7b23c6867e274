//! Helpers shared by the live-mode tests: a fleet with health checks fast
//! enough for a test, the server started on ephemeral ports, and calls to
//! its admin API.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::AUTHORIZATION;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use stratus::live::{self, Config, Handle};
use stratus::scenario::{Scenario, Strategy};
use stratus::time::Dur;

pub type C = Client<HttpConnector, Full<Bytes>>;

/// `sc` with 100 ms health checks, 200 ms launches, draining and store failover.
pub fn fast(mut sc: Scenario) -> Scenario {
    let hc = &mut sc.load_balancer.health_check;
    hc.interval = Dur::from_ms(100);
    hc.timeout = Dur::from_ms(50);
    hc.healthy_threshold = 2;
    hc.unhealthy_threshold = 2;
    sc.fleet.launch_time = Dur::from_ms(200);
    sc.load_balancer.deregistration_delay = Dur::from_ms(200);
    sc.sessions.store.failover_after = Dur::from_ms(200);
    // A request to a powered-off node waits this out before its 504.
    sc.load_balancer.connect_timeout = Dur::from_ms(500);
    sc
}

/// A ten-second scenario of the defaults, made fast.
pub fn scenario(name: &str) -> Scenario {
    fast(Scenario::new(name, Dur::from_secs(10)))
}

/// The live shop on ephemeral loopback ports (RESP too when `resp`).
pub async fn start(sc: Scenario, strategy: Strategy, resp: bool) -> Handle {
    start_limited(sc, strategy, resp, Default::default()).await
}

/// [`start`] with its listeners held to `limits`.
pub async fn start_limited(
    sc: Scenario,
    strategy: Strategy,
    resp: bool,
    limits: live::limits::Limits,
) -> Handle {
    start_with(sc, strategy, resp, limits, false).await
}

/// The live shop with each node's workers and queue (`serve --capacity`).
pub async fn start_capacity(sc: Scenario, strategy: Strategy) -> Handle {
    start_with(sc, strategy, false, Default::default(), true).await
}

async fn start_with(
    sc: Scenario,
    strategy: Strategy,
    resp: bool,
    limits: live::limits::Limits,
    capacity: bool,
) -> Handle {
    live::start(Config {
        scenario: sc,
        strategy,
        listen: "127.0.0.1:0".parse().unwrap(),
        admin: "127.0.0.1:0".parse().unwrap(),
        token: None,
        resp: resp.then(|| "127.0.0.1:0".parse().unwrap()),
        store_url: None,
        store_redis: false,
        db: Default::default(),
        limits,
        capacity,
    })
    .await
    .expect("the live shop starts")
}

pub fn client() -> C {
    Client::builder(TokioExecutor::new()).build_http()
}

/// One admin call with `token` (None: without one); the status and JSON.
pub async fn call(
    c: &C,
    h: &Handle,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let mut b = Request::builder()
        .method(method)
        .uri(format!("http://{}{path}", h.admin));
    if let Some(t) = token {
        b = b.header(AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = b.body(Full::new(Bytes::from(body.to_string()))).unwrap();
    let r = c.request(req).await.expect("the admin API answers");
    let s = r.status();
    let body = r.into_body().collect().await.unwrap().to_bytes();
    (s, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Polls `/admin/state` every 25 ms until `done` holds or `tries` polls
/// have passed; the last state read.
pub async fn state_until(c: &C, h: &Handle, tries: usize, done: impl Fn(&Value) -> bool) -> Value {
    let mut st = Value::Null;
    for _ in 0..tries {
        st = call(c, h, Method::GET, "/admin/state", Some(&h.token), "")
            .await
            .1;
        if done(&st) {
            break;
        }
        // Real health checks run on their own clock; the test waits for them.
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    st
}

/// `stratus load` against `h` for `secs` seconds at `rate` shoppers per
/// second, applying `sc`'s timeline through the admin API.
pub async fn load(h: &Handle, sc: Scenario, rate: f64, secs: u64, seed: u64) -> stratus::Report {
    live::load::run(live::load::LoadConfig {
        url: format!("http://{}", h.shop),
        rate: Some(rate),
        duration: Dur::from_secs(secs),
        scenario: sc,
        seed,
        timeout: Dur::from_secs(5),
        admin: Some((format!("http://{}", h.admin), h.token.clone())),
    })
    .await
    .expect("the load runs")
}

/// The name of the AZ a snapshot's node or instance (`thing["az"]`, an
/// index into `azs`) stands in.
pub fn az_of<'a>(st: &'a Value, thing: &Value) -> &'a str {
    let i = thing["az"].as_u64().expect("an AZ index") as usize;
    st["azs"][i]["name"].as_str().expect("an AZ name")
}

/// The AZ of the live primary among a snapshot's `store` or `databases`.
pub fn primary_az<'a>(st: &'a Value, list: &str) -> Option<&'a str> {
    let p = st[list]
        .as_array()?
        .iter()
        .find(|i| i["role"] == "primary" && i["alive"] == true)?;
    Some(az_of(st, p))
}
