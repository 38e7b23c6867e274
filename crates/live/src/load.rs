//! `stratus load`: an open-loop load generator of shoppers against a live
//! shop (or anything that speaks its pages).
//!
//! Shoppers arrive as a Poisson stream at the given rate whatever the server
//! does (open loop). Each follows the model's plan (`workload::Shopper`),
//! keeps a cookie jar as a browser does (a cart cookie over the scenario's
//! `max_bytes` is ignored) and its ground-truth cart, and judges every answer
//! with the same code as the simulation (`Shopper::judge`). Latency runs from
//! each request's intended start, not from when it was sent, so a stalled
//! generator or server cannot hide its own delay (coordinated omission).
//! With `--admin`, every action of the scenario's timeline is posted at its
//! time to the admin API's `POST /admin/actions`, in the form the timeline
//! writes it; `set_arrivals` changes the generator's own rate. The report's
//! events record each action, with the shop's refusal when it has one.
//!
//! With `[workload.retry]` each shopper's client retries as the simulation's
//! does, through the same model code (`retry::Client`): it stops waiting
//! for an attempt after `timeout` and drops the connection (the shop is not
//! told), waits its backoff with the policy's jitter (the run's own
//! `retry_jitter` stream), draws on the shared retry budget, and keeps its
//! own breaker. The per-second series (`offered`, `attempts`, `goodput`)
//! and the report's `retries` section are counted as in the simulation.

use super::capacity::{QUEUE_FULL, QUEUE_TIMEOUT, WorkersReport};
use super::client::Client;
use super::clock::Clock;
use super::jar::Jar;
use super::pages::cart_from_json;
use bytes::Bytes;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE};
use hyper::{Method, Request, StatusCode};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use stratus_model::arrivals::{MAX_RATE, Process, Shape};
use stratus_model::breaker::Breaker;
use stratus_model::db::popularity::Popularity;
use stratus_model::db::{DB_CIRCUIT_OPEN, DB_TIMEOUT, DB_TOO_MANY_CONNECTIONS, DB_UNAVAILABLE};
use stratus_model::metrics::Metrics;
use stratus_model::report::retries::RetriesReport;
use stratus_model::report::{Fault, LogEvent, Report, RunFacts, Wall};
use stratus_model::retry::{self, CIRCUIT_OPEN, CLIENT_TIMEOUT, Heard, Next, Retries, RetryPolicy};
use stratus_model::rng::Streams;
use stratus_model::route;
use stratus_model::scenario::{Action, ActionEntry, Kind, Scenario};
use stratus_model::session::store::{
    SESSION_STORE_CIRCUIT_OPEN, SESSION_STORE_TIMEOUT, SESSION_STORE_UNAVAILABLE,
    SESSION_STORE_UNREACHABLE,
};
use stratus_model::shop::Response as ShopResponse;
use stratus_model::snapshot::Snapshot;
use stratus_model::time::{Dur, SEC};
use stratus_model::workload::Shopper;

/// What `stratus load` is asked to do.
pub struct LoadConfig {
    /// The shop, `http://HOST:PORT`.
    pub url: String,
    /// New shoppers per second, constant; None: the scenario's own
    /// arrivals (its rate, trace or shape).
    pub rate: Option<f64>,
    pub duration: Dur,
    /// Workload, cookie limit and timeline come from here.
    pub scenario: Scenario,
    pub seed: u64,
    /// A request unanswered after this is a failure (`timeout`), unless
    /// the scenario's `[workload.retry]` gives the client a timeout of its
    /// own (then `client_timeout`, as in the simulation).
    pub timeout: Dur,
    /// The admin API (`http://HOST:PORT`) and token, to apply the timeline.
    pub admin: Option<(String, String)>,
}

/// Why a load run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0:?} is not an http:// URL with a host and port, such as http://127.0.0.1:8080")]
    Url(String),
    #[error("--rate must be a positive number of shoppers per second, at most 100000")]
    Rate,
}

/// What the generator shares between shoppers.
struct Run {
    cfg: LoadConfig,
    base: String,
    client: Client,
    clock: Clock,
    metrics: Mutex<Metrics>,
    /// Shoppers holding items, by shopper number: the balancer target their
    /// stickiness cookie names, for carts-at-risk at an AZ kill.
    holding: Mutex<BTreeMap<u64, Option<u32>>>,
    strategy: Mutex<Option<String>>,
    /// When shoppers arrive: `--rate` or the scenario's arrivals, until a
    /// `set_arrivals`. The model's process, so a trace plays as in the
    /// simulation.
    arrival: tokio::sync::watch::Sender<Process>,
    end: u64,
    /// Order-history pages that missed the shopper's own latest order.
    stale_orders: Mutex<u64>,
    /// The clients' retry policy, shared budget and jitter stream
    /// (`[workload.retry]`), as the simulation keeps them.
    retries: Mutex<Retries>,
    /// With a database, which product a product page shows.
    popularity: Option<Popularity>,
}

fn base_url(url: &str) -> Result<String, LoadError> {
    let u: hyper::Uri = url.parse().map_err(|_| LoadError::Url(url.into()))?;
    match (u.scheme_str(), u.authority()) {
        (Some("http"), Some(a)) => Ok(format!("http://{a}")),
        _ => Err(LoadError::Url(url.into())),
    }
}

/// Runs the load and returns its report (the simulation's shape).
pub async fn run(cfg: LoadConfig) -> Result<Report, LoadError> {
    let base = base_url(&cfg.url)?;
    if let Some((a, _)) = &cfg.admin {
        base_url(a)?;
    }
    let w = &cfg.scenario.workload;
    let process = match cfg.rate {
        Some(r) if r > 0.0 && r <= MAX_RATE => Process::new(r, Shape::Constant),
        Some(_) => return Err(LoadError::Rate),
        None => Process::new(w.arrivals_per_second, w.arrivals.clone()),
    };
    let client = Client::new(std::time::Duration::from_nanos(cfg.timeout.0));
    let clock = Clock::new();
    let end = cfg.duration.0;
    let (policy, seed) = (cfg.scenario.workload.retry, cfg.seed);
    let popularity =
        (cfg.scenario.database.as_ref()).map(|_| Popularity::new(w.catalog, w.popularity));
    let run = Arc::new(Run {
        cfg,
        base,
        client,
        clock,
        metrics: Mutex::new(Metrics::default()),
        holding: Mutex::new(BTreeMap::new()),
        strategy: Mutex::new(None),
        arrival: tokio::sync::watch::Sender::new(process),
        end,
        stale_orders: Mutex::new(0),
        retries: Mutex::new(Retries::new(
            policy,
            Streams::new(seed).stream("retry_jitter"),
        )),
        popularity,
    });
    let streams = Streams::new(run.cfg.seed);
    let seconds = tokio::spawn(close_seconds(run.clone()));
    let mut arrivals = streams.stream("arrivals");
    let timeline = tokio::spawn(apply_timeline(run.clone()));
    let mut shoppers = tokio::task::JoinSet::new();
    let mut arrival = run.arrival.subscribe();
    let mut next = arrival.borrow_and_update().next(&mut arrivals, 0);
    let mut n = 0u64;
    loop {
        let wake = next.unwrap_or(end).min(end);
        tokio::select! {
            _ = tokio::time::sleep_until(run.clock.instant(wake)) => {
                let Some(at) = next.filter(|&at| at < end) else { break };
                let mut sh = Shopper::new(streams.indexed("shopper", n), &run.cfg.scenario.workload, 1);
                if let Some(d) = &run.cfg.scenario.database {
                    sh.sign_in(n, d.users);
                }
                shoppers.spawn(shop(run.clone(), n, sh, at));
                n += 1;
                next = arrival.borrow().next(&mut arrivals, at);
                while shoppers.try_join_next().is_some() {}
            }
            Ok(()) = arrival.changed() => {
                // A new rate (set_arrivals): the next gap is drawn afresh
                // from now, as the simulation restarts its arrivals.
                let now = run.clock.now();
                next = arrival.borrow_and_update().next(&mut arrivals, now);
            }
        }
    }
    // Shoppers still browsing at the end are cut off after their request in
    // flight, as a simulated run ends with shoppers mid-visit. That request
    // may finish, so the shop's own counters read below are not left with
    // pages whose caller hung up, but it is not counted (see `shop`).
    let grace = run.clock.instant(end + run.cfg.timeout.0);
    let _ = tokio::time::timeout_at(grace, async {
        while shoppers.join_next().await.is_some() {}
    })
    .await;
    shoppers.abort_all();
    let (log, faults) = timeline.await.unwrap_or_default();
    let _ = seconds.await;
    let mut m = run.metrics.lock().expect("metrics").clone();
    let series = std::mem::take(&mut m.series);
    let strategy = run
        .strategy
        .lock()
        .expect("strategy")
        .clone()
        .unwrap_or_else(|| "unknown".into());
    let wall = run.clock.now() as f64 / SEC as f64;
    let sc = &run.cfg.scenario;
    let mut r = Report::build(RunFacts {
        scenario: &sc.name,
        azs: &sc.region.azs,
        strategy: &strategy,
        seed: run.cfg.seed,
        simulated_ns: end,
        metrics: &m,
        series,
        log,
        faults,
        injected: Vec::new(),
        resticks: 0,
        events: 0,
    });
    if sc.workload.retry != RetryPolicy::none() {
        let series = r.series.as_deref().unwrap_or(&[]);
        r.retries = Some(RetriesReport::of(&m, series));
    }
    if let Some((admin, token)) = &run.cfg.admin {
        // The balancer's own count: the generator cannot see a re-stick.
        let admin = base_url(admin).unwrap_or_else(|_| admin.clone());
        if let Some(state) = admin_state(&run, &admin, token).await {
            r.sessions.resticks = state.lb.resticks;
            // The cache's hits and misses are the server's to count.
            r.cache = state.cache;
        }
        // With `--capacity`: work for callers who left, shedding and the
        // queues' waits are the nodes' to see.
        if let Some(w) = admin_get::<WorkersReport>(&run, &admin, token, "/admin/workers", 5).await
        {
            if let Some(t) = &mut r.retries {
                t.served_abandoned = w.served_abandoned;
                t.shed = w.shed;
            }
            r.queueing = w.queueing;
        }
        r.database = admin_database(&run, &admin, token).await.map(|mut d| {
            // Stale reads are the shoppers' to judge, by their own ground truth.
            d.stats.stale_order_reads = *run.stale_orders.lock().expect("stale");
            d.stale_reads = d.stats.stale_order_reads + d.stats.stale_account_reads;
            d
        });
    }
    r.wall = Wall {
        seconds: wall,
        sim_requests_per_second: m.requests as f64 / wall.max(1e-9),
    };
    Ok(r)
}

/// One shopper's visit, attempt by attempt. What its client does after
/// each attempt (retry after a backoff, the shopper's own retry after
/// thinking, the next page, or leave) is the model's decision
/// (`retry::Client`), the one the simulation's shoppers take.
async fn shop(run: Arc<Run>, n: u64, mut sh: Shopper, arrival: u64) {
    let w = &run.cfg.scenario.workload;
    let f = &run.cfg.scenario.fleet;
    run.metrics.lock().expect("metrics").started += 1;
    let mut jar = Jar::default();
    if sh.extra().user > 0 {
        jar.sign_in(sh.extra().user);
    }
    // The shopper's own client breaker (with `workload.retry.breaker`).
    let mut breaker = Breaker::default();
    let mut intended = arrival;
    let mut repeat = false;
    loop {
        sh.prepare(
            w,
            f.service_time.get(sh.kind).0,
            f.service_distribution,
            repeat,
            run.popularity.as_ref(),
        );
        if intended >= run.end {
            return;
        }
        tokio::time::sleep_until(run.clock.instant(intended)).await;
        // The run ends at `end` (the clock is read under the metrics lock,
        // which the series' last second is closed under): what would happen
        // after it is not the run's, as a simulated run stops at its end.
        let go = run.client(&mut breaker, |c, m| {
            let now = run.clock.now();
            (now < run.end).then(|| c.sending(&sh, now, m))
        });
        let outcome = match go {
            None => return,
            Some(true) => request(&run, &mut sh, &mut jar).await,
            // The open breaker fails the attempt at once, unsent.
            Some(false) => Err(CIRCUIT_OPEN),
        };
        let heard = run.client(&mut breaker, |c, m| {
            let now = run.clock.now();
            if now >= run.end {
                // In flight at the end: not counted, as the simulation ends
                // with such a request unanswered.
                return None;
            }
            let when = (now, now.saturating_sub(intended));
            Some((
                now,
                match &outcome {
                    Ok((r, head_bytes)) => {
                        m.response_bytes += head_bytes;
                        m.responses_ok += 1;
                        m.cookies_ignored += jar.take_ignored();
                        if sh.stale_orders(r) {
                            *run.stale_orders.lock().expect("stale") += 1;
                        }
                        c.heard(&mut sh, w, Heard::Ok(r), when, m)
                    }
                    Err(cause) => c.heard(&mut sh, w, Heard::Failed(cause), when, m),
                },
            ))
        });
        let Some((now, next)) = heard else { return };
        {
            let mut h = run.holding.lock().expect("holding");
            if sh.truth.is_empty() || next == Next::Done {
                h.remove(&n);
            } else {
                h.insert(n, jar.lb_target());
            }
        }
        let Some(wait) = next.wait() else {
            run.metrics.lock().expect("metrics").finished += 1;
            return;
        };
        repeat = next.repeats();
        intended = now + wait;
    }
}

impl Run {
    /// Runs `f` with one shopper's client (the run's shared retry state
    /// and the shopper's breaker) and the run's metrics.
    fn client<R>(
        &self,
        breaker: &mut Breaker,
        f: impl FnOnce(&mut retry::Client, &mut Metrics) -> R,
    ) -> R {
        // Always the retries before the metrics: one order, no deadlock.
        let mut retries = self.retries.lock().expect("retries");
        let mut m = self.metrics.lock().expect("metrics");
        let mut c = retry::Client {
            retries: &mut retries,
            breaker: Some(breaker),
        };
        f(&mut c, &mut m)
    }
}

/// Closes the run's per-second series (`offered`, `attempts`, `goodput`)
/// at each second of the load's clock, as the simulation's tick does.
async fn close_seconds(run: Arc<Run>) {
    let mut t = 1u64;
    while t * SEC <= run.end {
        tokio::time::sleep_until(run.clock.instant(t * SEC)).await;
        run.metrics
            .lock()
            .expect("metrics")
            .second(t as u32, Vec::new());
        t += 1;
    }
}

/// Sends the shopper's current request; the shop's answer and the size of
/// its head, or the cause of the failure as the report counts it.
async fn request(
    run: &Run,
    sh: &mut Shopper,
    jar: &mut Jar,
) -> Result<(ShopResponse, u64), &'static str> {
    let catalog = run.cfg.scenario.workload.catalog.max(1);
    // The page from the shop's one route table; a product page names a
    // product, and the add-to-cart form the item.
    let page = route::of(sh.kind);
    // With a database the product is the model's draw (`prepare`); without
    // one the shop has no catalogue, and the id is only the URL's.
    let id = match (page.takes_id, sh.extra().product) {
        (false, _) => 0,
        (true, Some(p)) => u64::from(p),
        (true, None) => sh.rng.below(u64::from(catalog)),
    };
    let path = page.path_for(id);
    let method = Method::from_bytes(page.method.as_bytes()).expect("a route's method is valid");
    let body = match (sh.kind, sh.item) {
        (Kind::AddToCart, Some(i)) => {
            format!("product={}&size={}&colour={}", i.product, i.size, i.colour)
        }
        _ => String::new(),
    };
    let cookies = jar.header();
    let mut b = Request::builder()
        .method(method.clone())
        .uri(format!("{}{path}", run.base))
        .header(ACCEPT, "application/json");
    if !cookies.is_empty() {
        b = b.header(COOKIE, &cookies);
    }
    if method == Method::POST {
        b = b.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let head = method.as_str().len()
        + path.len()
        + 40
        + run.base.len()
        + if cookies.is_empty() {
            0
        } else {
            8 + cookies.len()
        };
    run.metrics
        .lock()
        .expect("metrics")
        .sent(head as u64, cookies.len() as u64);
    let req = b.body(Bytes::from(body)).map_err(|_| "bad_request")?;
    // The client's own patience (`workload.retry.timeout`), else the
    // generator's. Giving up drops the connection: the shop is not told.
    let (limit, cause) = match run.cfg.scenario.workload.retry.timeout {
        Some(t) => (t.0, CLIENT_TIMEOUT),
        None => (run.cfg.timeout.0, "timeout"),
    };
    let limit = std::time::Duration::from_nanos(limit);
    let resp = match tokio::time::timeout(limit, run.client.send(req)).await {
        Err(_) => return Err(cause),
        Ok(Err(_)) => return Err("connect"),
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    // The response head as it crossed the wire: status line, headers, CRLFs.
    let head_bytes = 17
        + resp
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum::<usize>()
        + 2;
    for v in resp.headers().get_all(SET_COOKIE) {
        if let Ok(v) = v.to_str() {
            jar.set(v, run.cfg.scenario.sessions.cookie.max_bytes as usize);
        }
    }
    let body = resp.into_body();
    if status != StatusCode::OK {
        return Err(status_cause(status, &body));
    }
    let v: Value = serde_json::from_slice(&body).map_err(|_| "bad_response")?;
    if let Some(s) = v.get("strategy").and_then(Value::as_str) {
        let mut st = run.strategy.lock().expect("strategy");
        if st.is_none() {
            *st = Some(s.to_string());
        }
    }
    let cart = match v.get("cart") {
        Some(c) => Some(cart_from_json(c).ok_or("bad_response")?),
        None => None,
    };
    let page = ShopResponse {
        cart,
        badge: v.get("badge").and_then(Value::as_u64).unwrap_or(0) as u32,
        ordered: v.get("ordered").and_then(Value::as_bool).unwrap_or(false),
        order_id: v.get("order_id").and_then(Value::as_i64),
        orders: v
            .get("orders")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_i64).collect()),
        ..Default::default()
    };
    Ok((page, head_bytes as u64))
}

/// The report's cause for an error answer: a node's refusal by its own
/// cause (a full queue, a shed request, a database or session store that
/// did not answer, was full or was cut off by the node's breaker, as the
/// simulation names them), else the status.
fn status_cause(s: StatusCode, body: &[u8]) -> &'static str {
    if s == StatusCode::SERVICE_UNAVAILABLE
        && let Ok(v) = serde_json::from_slice::<Value>(body)
        && let Some(why) = v["error"].as_str()
        && let Some(cause) = [
            QUEUE_FULL,
            QUEUE_TIMEOUT,
            DB_UNAVAILABLE,
            DB_TOO_MANY_CONNECTIONS,
            DB_TIMEOUT,
            DB_CIRCUIT_OPEN,
            SESSION_STORE_UNAVAILABLE,
            SESSION_STORE_UNREACHABLE,
            SESSION_STORE_TIMEOUT,
            SESSION_STORE_CIRCUIT_OPEN,
        ]
        .into_iter()
        .find(|c| why.starts_with(&format!("{c}:")))
    {
        return cause;
    }
    match s.as_u16() {
        502 => "http_502",
        503 => "http_503",
        504 => "http_504",
        500..=599 => "http_5xx",
        _ => "http_4xx",
    }
}

/// Applies the scenario's timeline through the admin API at its times; the
/// report's events and faults.
async fn apply_timeline(run: Arc<Run>) -> (Vec<LogEvent>, Vec<Fault>) {
    let mut log = Vec::new();
    let mut faults = Vec::new();
    let Some((admin, token)) = run.cfg.admin.clone() else {
        return (log, faults);
    };
    let admin = base_url(&admin).unwrap_or(admin);
    let sc = &run.cfg.scenario;
    let mut timeline = sc.timeline.clone();
    timeline.sort_by_key(|t| t.at);
    for t in timeline.iter().filter(|t| t.at.0 < run.end) {
        tokio::time::sleep_until(run.clock.instant(t.at.0)).await;
        let entry = ActionEntry::of(&t.action, &sc.region.azs);
        let at_risk = match &t.action {
            Action::KillAz { az } | Action::FisAzPowerInterruption { az, .. } => {
                at_risk(&run, &admin, &token, &sc.region.azs[*az]).await
            }
            _ => 0,
        };
        let t_s = run.clock.now() as f64 / SEC as f64;
        let outcome = match t.action {
            // The shoppers' rate is the generator's own: applied here.
            Action::SetArrivals { value } => {
                run.arrival.send_modify(|p| p.set_rate(value));
                Ok(format!("{value}/s"))
            }
            _ => {
                let url = format!("{admin}/admin/actions");
                admin_post(&run.client, &url, &token, entry.to_string()).await
            }
        };
        let detail = match &outcome {
            Ok(what) => what.clone(),
            Err(e) => {
                eprintln!("stratus load: {entry} was not applied: {e}");
                format!("{} (not applied: {e})", entry.keys_text())
            }
        };
        log.push(LogEvent {
            t_s,
            kind: t.action.name().into(),
            detail,
        });
        if t.action.is_fault() && outcome.is_ok() {
            faults.push(Fault {
                t_s,
                action: t.action.name().into(),
                carts_at_risk: at_risk,
            });
        }
    }
    (log, faults)
}

/// Posts `body` (JSON) to the admin API; its `ok` answer, or why not.
async fn admin_post(
    client: &Client,
    url: &str,
    token: &str,
    body: String,
) -> Result<String, String> {
    let req = Request::post(url)
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(CONTENT_TYPE, "application/json")
        .body(Bytes::from(body))
        .map_err(|e| e.to_string())?;
    let r = client
        .send(req)
        .await
        .map_err(|e| format!("admin API unreachable: {e}"))?;
    let status = r.status();
    let body = r.into_body();
    let said: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let words = |k: &str| said[k].as_str().map(String::from);
    if status.is_success() {
        Ok(words("ok").unwrap_or_default())
    } else {
        let text = String::from_utf8_lossy(&body).trim().to_string();
        Err(format!("{status}: {}", words("error").unwrap_or(text)))
    }
}

/// A JSON answer from the admin API (`GET {admin}{path}`), or None when it
/// does not come within `secs` or does not read as `T`.
async fn admin_get<T: serde::de::DeserializeOwned>(
    run: &Run,
    admin: &str,
    token: &str,
    path: &str,
    secs: u64,
) -> Option<T> {
    let req = Request::get(format!("{admin}{path}"))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .body(Bytes::new())
        .ok()?;
    let resp = tokio::time::timeout(std::time::Duration::from_secs(secs), run.client.send(req))
        .await
        .ok()?
        .ok()?;
    serde_json::from_slice(resp.body()).ok()
}

/// The shop's typed snapshot, from the admin API.
async fn admin_state(run: &Run, admin: &str, token: &str) -> Option<Snapshot> {
    admin_get(run, admin, token, "/admin/state", 5).await
}

/// The database section as the server counted it (`GET /admin/database`).
async fn admin_database(
    run: &Run,
    admin: &str,
    token: &str,
) -> Option<stratus_model::report::data::DatabaseReport> {
    admin_get::<super::data_report::LiveDatabase>(run, admin, token, "/admin/database", 10)
        .await
        .map(|d| d.report)
}

/// Shoppers holding items whose stickiness cookie names a node in the AZ
/// (the sessions a sticky shop keeps there), from the admin API's state.
async fn at_risk(run: &Run, admin: &str, token: &str, az: &str) -> u64 {
    let Some(state) = admin_state(run, admin, token).await else {
        return 0;
    };
    if !state.lb.sticky {
        return 0;
    }
    let in_az: Vec<u64> = state
        .nodes
        .iter()
        .filter(|n| state.az_name(n.az) == az)
        .map(|n| u64::from(n.id))
        .collect();
    run.holding
        .lock()
        .expect("holding")
        .values()
        .filter(|t| t.is_some_and(|id| in_az.contains(&u64::from(id))))
        .count() as u64
}
