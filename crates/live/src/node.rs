//! A live app node: a hyper server on its own loopback port that answers the
//! shop's pages through `shop::handle`, with its sessions in its own memory
//! (sticky), in a signed cookie, or in the shared store.

use super::calls::{self, GaveUp};
use super::capacity::{
    Admitted, CapacityCfg, CapacityStats, Held, QUEUE_FULL, QUEUE_TIMEOUT, Workers,
};
use super::clock::{random_u128, unit};
use super::http::{self, Body0, MAX_BODY_BYTES, cookie, wants_json};
use super::pages::{Served, page_html, page_json};
use super::remote::Fetched;
use super::sessions::NodeSessions;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, SET_COOKIE};
use hyper::{Request, Response, StatusCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use stratus_model::cache::{Cache, Key};
use stratus_model::calls::{CallPolicy, Dep};
use stratus_model::cart::{COLOURS, Item, SIZES, price_of};
use stratus_model::core::AzIx;
use stratus_model::db::access::DataAt;
use stratus_model::db::{DB_CIRCUIT_OPEN, DB_TIMEOUT, DbIx, Visit};
use stratus_model::degrade::Degradations;
use stratus_model::lb::NodeId;
use stratus_model::net::{Net, STORE_CONNECT_TIMEOUT};
use stratus_model::route;
use stratus_model::scenario::{Kind, ServiceTimes, Strategy};
use stratus_model::session::SessionBackend;
use stratus_model::session::cookie::{COOKIE_NAME, CookieCodec};
use stratus_model::session::guard::CookieGuard;
use stratus_model::session::store::{
    SESSION_STORE_CIRCUIT_OPEN, SESSION_STORE_TIMEOUT, SESSION_STORE_UNAVAILABLE,
    SESSION_STORE_UNREACHABLE, Store, StoreAt,
};
use stratus_model::shop::{self, Data, Failure, Places, Request as ShopRequest, SessionIn};
use stratus_model::time::SimTime;
use stratus_model::warmup::{WarmupCurve, service_factor, slowed};

/// The session-id cookie (sticky and store).
pub const SID_COOKIE: &str = "sid";

/// What every node shares: the strategy, the cookie key, the store, the clock.
pub struct Shop {
    pub strategy: Strategy,
    pub codec: CookieCodec,
    pub store: Mutex<Store>,
    pub clock: super::clock::Clock,
    /// `[sessions.memory] timeout`: a node's idle sessions expire after it.
    pub idle: u64,
    pub catalog: u32,
    /// `--store-url` or `--store redis`: sessions in real Redis servers
    /// instead of `store` (which then keeps the topology the control plane
    /// decides on).
    pub remote: Option<super::remote::RemoteStore>,
    /// `--store redis`: the servers and Sentinels Stratus runs.
    pub redis: Option<Arc<super::engines::redis::Redis>>,
    /// The scenario's SQL tier (`[database]`), the model's own `Database`.
    pub db: Option<Mutex<stratus_model::db::Database>>,
    /// `--db postgres` / `--db-url`: the SQL on real servers; `db` then
    /// keeps the topology the control plane decides on.
    pub pg: Option<Arc<super::postgres::Pg>>,
    /// The cache cluster in front of it (`[cache]`), the model's own `Cache`.
    pub cache: Option<Mutex<Cache>>,
    /// The cart cookie's expiry and version checks (`[sessions.cookie]`
    /// `max_age`, `versioned`), shared by every node as in the simulation;
    /// None (no lock on the request path) when the scenario keeps no guard.
    pub guard: Option<Mutex<CookieGuard>>,
    /// Which AZs are cut off, which balancer nodes answer, what delay is
    /// added: the model's `Net`, changed by the timeline's network actions.
    pub net: RwLock<Net>,
    /// Nodes erring or slow on purpose: the control plane's list, copied on
    /// each change (`inject_errors`, `slow_node`, `slow_az`).
    pub degraded: RwLock<Degradations>,
    /// The scenario's service time per page: what a slowed node adds to,
    /// as the simulation's node does.
    pub service_time: ServiceTimes,
    /// `[fleet.calls]`: the nodes' timeouts, retries and breakers.
    pub calls: super::calls::LiveCalls,
    /// `fleet.warmup_curve`: a node new in service is slower at first.
    pub warmup: Option<WarmupCurve>,
    /// The seed data's users (`[database] users`; 0 without a database): a
    /// client may sign in as any of them with `route::USER_COOKIE`.
    pub users: u32,
    /// `serve --capacity`: each node's workers and queue, from `[fleet]`.
    pub capacity: Option<CapacityCfg>,
    /// What the nodes' workers did (with `capacity`).
    pub capacity_stats: Arc<CapacityStats>,
    /// With `capacity` and the in-process database, its instances' workers
    /// and connections: a query takes its time there.
    pub queries: Option<super::queries::Instances>,
}

impl Shop {
    pub fn net(&self) -> std::sync::RwLockReadGuard<'_, Net> {
        self.net.read().expect("net lock")
    }
}

/// What the network between a node and its data cost one request: the
/// delay `add_latency` put on its round trips, and the connect timeouts it
/// sat through across a partition. Slept before the node answers, once the
/// shop's locks are released.
#[derive(Default)]
struct Waited(u64);

/// A 503's words when the page's query found no instance that answers:
/// the simulation's cause first, so `stratus load` counts it by that name.
const DB_DOWN: &str = "db_unavailable: the database is unavailable";
/// What a page says when the session store did not take its session
/// (after the cause: failing over, down, or across a partition).
const STORE_DOWN: &str = "the session store is unavailable (failing over, down or unreachable)";

/// Where a page's query goes, decided as a worker takes the page up.
#[derive(Clone, Copy)]
struct Query {
    visit: Visit,
    /// The instance the page reads from: the visited one, if it answers.
    read: Option<DbIx>,
    /// When the cache was looked at: a page the cache answers reads it at
    /// that time, so a key the look found is still fresh.
    at: SimTime,
}

/// Where page `kind`'s query goes, as the simulation's nodes decide it: the
/// model's `Database::visit` (nowhere when the page has none or the cache
/// holds its `key`, reads on a replica or the primary, writes on the
/// primary), with the cache's round trips' added delay (`Cache::look_timed`)
/// in `waited`. None without a database.
fn plan_query(
    shop: &Shop,
    node_az: AzIx,
    (kind, key): (Kind, Option<Key>),
    waited: &mut Waited,
) -> Option<Query> {
    let mut db = shop.db.as_ref()?.lock().expect("db lock");
    let cache = shop_cache(shop);
    let net = shop.net();
    let at = shop.clock.now();
    let mut look = |c: &Cache, k: Key| {
        let reached = |az| net.reach(node_az, az);
        let (hit, t) = c.look_timed(k, at, reached, |az| net.added_hop(node_az, az));
        waited.0 += t;
        hit
    };
    let visit = db.visit(kind, || {
        cache.as_deref().zip(key).is_some_and(|(c, k)| look(c, k))
    });
    Some(Query {
        visit,
        read: None,
        at,
    })
}

/// The planned query reaches its instance (after `[fleet.calls]`, which
/// retries on its own terms): one that answers counts it and charges the
/// round trips' added delay. Whether the page goes on: as in the
/// simulation, its query fails (counted, and the page with it) when no
/// instance takes it, at once, or when its instance does not answer
/// (`Database::answers`: powered off, or across a partition), after the
/// driver's connect timeout.
fn reach(
    shop: &Shop,
    (node_az, kind): (AzIx, Kind),
    q: &mut Option<Query>,
    waited: &mut Waited,
) -> bool {
    let (Some(db), Some(Query { visit, read, .. })) = (&shop.db, q) else {
        return true;
    };
    let i = match *visit {
        Visit::No => return true,
        Visit::To(i) => Some(i),
        Visit::Nowhere => None,
    };
    let mut db = db.lock().expect("db lock");
    let net = shop.net();
    let answers = i.filter(|&i| db.answers(i, net.reach(node_az, db.instances[i].az)));
    if let Some(i) = answers {
        waited.0 += 2 * net.added_hop(node_az, db.instances[i].az);
        db.instances[i].queries += 1;
        *read = Some(i);
        return true;
    }
    if i.is_some() {
        waited.0 += db.cfg.connect_timeout.0;
    }
    db.stats.failed(kind);
    false
}

/// The page's modelled time has reached `t` (with `--capacity`).
fn reached(held: &mut Option<&mut Held>, t: SimTime) {
    if let Some(h) = held {
        h.reached(t);
    }
}

/// Sleeps `ns` of the page's modelled time: with `--capacity` from where
/// its time has reached, holding its worker until then.
async fn wait_out(held: Option<&mut Held>, ns: u64, clock: &super::clock::Clock) {
    match held {
        Some(h) => {
            h.serve_for(ns, clock).await;
        }
        None if ns > 0 => tokio::time::sleep(std::time::Duration::from_nanos(ns)).await,
        None => {}
    }
}

/// A page that failed (`why`, the simulation's cause first) answers 503
/// after `ns` of its modelled time ([`wait_out`]).
async fn fail_after(
    held: Option<&mut Held>,
    ns: u64,
    clock: &super::clock::Clock,
    as_json: bool,
    why: &str,
) -> Response<Body0> {
    wait_out(held, ns, clock).await;
    http::error(StatusCode::SERVICE_UNAVAILABLE, as_json, why)
}

/// Runs `f` with the shop's data as the page's query found it (`q`):
/// reads on the instance it went to, writes on the primary.
fn with_data<R>(shop: &Shop, q: Option<Query>, f: impl FnOnce(Option<&mut dyn Data>) -> R) -> R {
    let (Some(db), Some(q)) = (&shop.db, q) else {
        return f(None);
    };
    let mut db = db.lock().expect("db lock");
    if let Some(pg) = &shop.pg {
        // The same instances, on real PostgreSQL servers.
        let write = db.writer().ok().and(db.primary());
        drop(db);
        return super::postgres::with_pg(shop, pg, q.read, write, f);
    }
    let mut cache = shop_cache(shop);
    let mut at = DataAt {
        db: &mut db,
        cache: cache.as_deref_mut(),
        // A page the cache answered reads it as the look found it; one that
        // went to an instance reads now, after its query's time.
        now: if q.read.is_some() {
            shop.clock.now()
        } else {
            q.at
        },
        read: q.read,
        // The live shop does not price its traffic (see the README).
        tap: None,
    };
    f(Some(&mut at))
}

/// The cache, locked (PostgreSQL mode has none).
fn shop_cache(shop: &Shop) -> Option<std::sync::MutexGuard<'_, Cache>> {
    (shop.cache.as_ref())
        .filter(|_| shop.pg.is_none())
        .map(|c| c.lock().expect("cache lock"))
}

/// Whether the node in `node_az` reaches the store's primary for `sid`'s
/// shard, and what `add_latency` adds to the round trips (two when the page
/// writes the cart). Across a partition the store client's connection
/// attempt times out.
fn store_path(
    store: &Store,
    net: &Net,
    node_az: AzIx,
    kind: Kind,
    sid: Option<u128>,
    waited: &mut Waited,
) -> bool {
    let shard = sid.map_or(0, |s| store.shard_of(s));
    let Some(primary) = store.primary_az(shard) else {
        return true;
    };
    if !net.reach(node_az, primary) {
        waited.0 += STORE_CONNECT_TIMEOUT;
        return false;
    }
    let trips = if kind.writes() { 2 } else { 1 };
    waited.0 += trips * 2 * net.added_hop(node_az, primary);
    true
}

/// Under `[fleet.calls]`, the node's calls to the store and the database
/// before the page runs: each may be retried or refused by its breaker.
/// Whether it called anything (a call takes real time: timeouts, backoff).
async fn dependencies(
    ctx: &NodeCtx,
    kind: Kind,
    query: Option<Query>,
    sid: Option<u128>,
    waited: &mut Waited,
) -> Result<bool, String> {
    let shop = &*ctx.shop;
    let az = ctx.az_ix;
    let mut called = false;
    if shop.strategy.uses_store()
        && shop.remote.is_none()
        && shop.calls.policy.store != CallPolicy::none()
    {
        called = true;
        // The last failed attempt's cause, as the simulation names it.
        let mut failed = SESSION_STORE_UNAVAILABLE;
        let got = calls::call(shop, ctx, Dep::Store, || {
            let store = shop.store.lock().expect("store lock");
            let shard = sid.map_or(0, |s| store.shard_of(s));
            let mut w = Waited::default();
            if !store_path(&store, &shop.net(), az, kind, sid, &mut w) {
                failed = SESSION_STORE_UNREACHABLE;
                return Err(w.0);
            }
            if store.primary_az(shard).is_none() {
                failed = SESSION_STORE_UNAVAILABLE;
                return Err(0); // refused: no primary during a failover
            }
            waited.0 += w.0;
            Ok(())
        });
        let why = match got.await {
            Ok(()) => None,
            Err(GaveUp::CircuitOpen) => Some((
                SESSION_STORE_CIRCUIT_OPEN,
                "the node's breaker for the session store is open",
            )),
            Err(GaveUp::TimedOut) => Some((
                SESSION_STORE_TIMEOUT,
                "the session store did not answer within the call's timeout",
            )),
            Err(GaveUp::Failed) => Some((failed, STORE_DOWN)),
        };
        if let Some((cause, text)) = why {
            return Err(format!("{cause}: {text}"));
        }
    }
    let Some(db) = &shop.db else {
        return Ok(called);
    };
    if shop.calls.policy.database == CallPolicy::none() {
        return Ok(called);
    }
    // The instance the page's query went to, attempt after attempt; a page
    // no instance takes fails without a call, as in the simulation.
    let Some(Visit::To(i)) = query.map(|q| q.visit) else {
        return Ok(called);
    };
    let got = calls::call(shop, ctx, Dep::Database, || {
        let mut db = db.lock().expect("db lock");
        if db.answers(i, shop.net().reach(az, db.instances[i].az)) {
            Ok(())
        } else {
            // Each attempt that finds no answer fails a query, as simulated.
            db.stats.failed(kind);
            Err(db.cfg.connect_timeout.0)
        }
    });
    match got.await {
        Ok(()) => Ok(true),
        Err(GaveUp::CircuitOpen) => Err(format!(
            "{DB_CIRCUIT_OPEN}: the node's breaker for the database is open"
        )),
        Err(GaveUp::TimedOut) => Err(format!(
            "{DB_TIMEOUT}: the database did not answer within the call's timeout"
        )),
        Err(GaveUp::Failed) => Err(DB_DOWN.to_string()),
    }
}

/// One node's part: who it is and its own memory.
pub struct NodeCtx {
    pub id: NodeId,
    pub az: String,
    pub az_ix: AzIx,
    /// `hang_node`: the application stopped answering; its process (and
    /// port) still runs, so connections are accepted and then wait.
    pub hung: AtomicBool,
    /// When the control plane put it in service (its warm-up counts from here).
    pub in_service_at: Option<SimTime>,
    pub sessions: NodeSessions,
    pub shop: Arc<Shop>,
    /// Its circuit breakers (`[fleet.calls]`).
    pub breakers: std::sync::Mutex<stratus_model::calls::NodeBreakers>,
    /// Its workers and queue (`serve --capacity`); None: every request is
    /// served at once.
    pub workers: Option<Arc<Workers>>,
}

/// The item an add-to-cart form names: product, size and colour by name or
/// index. The price is the catalogue's, never the browser's.
fn form_item(form: &str, catalog: u32) -> Result<Item, String> {
    let pairs = http::form_pairs(form);
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let product: u32 = get("product")
        .ok_or("the form needs a product field")?
        .parse()
        .map_err(|_| "product must be a number")?;
    if product >= catalog {
        return Err(format!(
            "product {product} is not in the catalogue (0 to {})",
            catalog - 1
        ));
    }
    let pick = |k: &str, names: &[&str], default: usize| -> Result<u8, String> {
        match get(k) {
            None => Ok(default as u8),
            Some(v) => names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(v))
                .or_else(|| v.parse::<usize>().ok().filter(|i| *i < names.len()))
                .map(|i| i as u8)
                .ok_or(format!("{k} must be one of {}", names.join(", "))),
        }
    };
    Ok(Item {
        product,
        size: pick("size", &SIZES, 2)?,
        colour: pick("colour", &COLOURS, 0)?,
        qty: 1,
        price_cents: price_of(product),
    })
}

fn parse_sid(v: &str) -> Option<u128> {
    (v.len() == 32)
        .then(|| u128::from_str_radix(v, 16).ok())
        .flatten()
}

pub async fn handle(ctx: Arc<NodeCtx>, req: Request<Incoming>) -> Response<Body0> {
    if ctx.hung.load(Ordering::Relaxed) {
        // Accepted and never answered: the caller's own timeout ends it.
        std::future::pending::<()>().await;
    }
    let as_json = wants_json(req.headers());
    if req.uri().path() == "/health" {
        // A gray failure passes its health checks.
        return http::text(StatusCode::OK, "ok");
    }
    let erring = {
        let d = ctx.shop.degraded.read().expect("degraded lock");
        d.error_chance(ctx.id, ctx.az_ix)
    };
    if erring > 0.0 && unit() < erring {
        return http::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            as_json,
            "injected error (inject_errors)",
        );
    }
    let page = match read_page(&ctx, req, as_json).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let Some(workers) = ctx.workers.clone() else {
        // Without a capacity model a slowed node holds each answer for the
        // slowdown's share of the page's service time, and nothing queues.
        let mean = ctx.shop.service_time.get(page.kind).0 as f64;
        let extra = (mean * (slowdown(&ctx) - 1.0)).max(0.0) as u64;
        return serve_page(&ctx, page, extra, None).await;
    };
    // Spawned, so the page keeps its place and its worker if its caller
    // hangs up (hyper then drops this future): the node does not know.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let stats = ctx.shop.capacity_stats.clone();
    tokio::spawn(async move {
        let (resp, served) = match workers.admit().await {
            Admitted::Full => (
                http::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    as_json,
                    &format!("{QUEUE_FULL}: every worker is busy and the queue is full"),
                ),
                false,
            ),
            Admitted::Shed => (
                http::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    as_json,
                    &format!("{QUEUE_TIMEOUT}: the request waited past fleet.queue_timeout"),
                ),
                false,
            ),
            Admitted::Serve(held) => {
                // The page's drawn service time, stretched as the node
                // stands when a worker picks it up.
                let mean = ctx.shop.service_time.get(page.kind).0;
                let busy = slowed(workers.demand(mean), slowdown(&ctx));
                let mut held = held;
                let resp = serve_page(&ctx, page, busy, Some(&mut held)).await;
                drop(held);
                (resp, true)
            }
        };
        if tx.send(resp).is_err() && served {
            CapacityStats::count(&stats.served_abandoned);
        }
    });
    rx.await.unwrap_or_else(|_| {
        http::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            as_json,
            "the page's task ended without an answer",
        )
    })
}

/// What stretches the node's service times now: gray faults and its
/// warm-up, composed in the model.
fn slowdown(ctx: &NodeCtx) -> f64 {
    let d = ctx.shop.degraded.read().expect("degraded lock");
    let now = ctx.shop.clock.now();
    let node = (ctx.id, ctx.az_ix);
    service_factor(&d, ctx.shop.warmup.as_ref(), node, ctx.in_service_at, now)
}

/// A request for one of the shop's pages, read whole and checked.
struct Page {
    kind: Kind,
    product: Option<u32>,
    item: Option<Item>,
    parts: hyper::http::request::Parts,
    as_json: bool,
}

/// Routes and reads the request (its body is the connection's to read,
/// before any worker takes it); an error answer when it names no page.
async fn read_page(
    ctx: &NodeCtx,
    req: Request<Incoming>,
    as_json: bool,
) -> Result<Page, Response<Body0>> {
    let Some((kind, arg)) = route::route(req.method().as_str(), req.uri().path()) else {
        return Err(http::error(
            StatusCode::NOT_FOUND,
            as_json,
            "no such page: try / (catalogue), /product/ID, /cart, POST /cart/add, POST /checkout, /account, /account/orders, POST /account/address",
        ));
    };
    let product = match arg.map(str::parse::<u32>) {
        Some(Ok(p)) if p < ctx.shop.catalog => Some(p),
        Some(_) => {
            return Err(http::error(
                StatusCode::NOT_FOUND,
                as_json,
                "no such product",
            ));
        }
        None => None,
    };
    let (parts, body) = req.into_parts();
    let body: Bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Err(http::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                as_json,
                "request body over 16 KiB",
            ));
        }
    };
    let item = if kind == Kind::AddToCart {
        let form = parts.uri.query().map(str::to_string).unwrap_or_default()
            + "&"
            + &String::from_utf8_lossy(&body);
        match form_item(&form, ctx.shop.catalog) {
            Ok(i) => Some(i),
            Err(e) => return Err(http::error(StatusCode::BAD_REQUEST, as_json, &e)),
        }
    } else {
        None
    };
    Ok(Page {
        kind,
        product,
        item,
        parts,
        as_json,
    })
}

/// Runs the page through the model's shop and answers it, after `busy` ns
/// more of the node's time (a slowdown's share, or with `--capacity` the
/// page's whole service time).
async fn serve_page(
    ctx: &NodeCtx,
    page: Page,
    busy: u64,
    held: Option<&mut Held>,
) -> Response<Body0> {
    let Page {
        kind,
        product,
        item,
        parts,
        as_json,
    } = page;
    let shop = &ctx.shop;
    let sreq = |session| ShopRequest {
        kind,
        item,
        session,
        user: signed_in(&parts.headers, shop.users),
        product,
        address: None,
    };
    let mut new_sid = random_u128;
    let mut waited = Waited::default();
    let az = ctx.az_ix;
    let strategy = shop.strategy;
    let sid = cookie(&parts.headers, SID_COOKIE).and_then(parse_sid);
    let cart_cookie = cookie(&parts.headers, COOKIE_NAME).map(str::as_bytes);
    let uses_store = strategy.uses_store();
    // A real Redis (`--store-url`) is read before the page runs and written
    // after; the in-process store is first checked for reach.
    let remote = shop.remote.as_ref().filter(|_| uses_store);
    let fetched = match (remote, sid) {
        (Some(rs), Some(s)) => rs.get(s).await.map(|cart| {
            Some(Fetched {
                sid,
                cart,
                write: None,
            })
        }),
        (Some(_), None) => Ok(Some(Fetched {
            sid,
            cart: None,
            write: None,
        })),
        (None, _) => Ok(None),
    };
    // With `--capacity`, the page's modelled time runs on from when its
    // worker was free (`Held`); real waits move it on.
    let mut held = held;
    let key = Key::of_page(kind, product, item, signed_in(&parts.headers, shop.users));
    let mut query = plan_query(shop, az, (kind, key), &mut waited);
    // A page that fails still takes its node's time, as a simulated one
    // fails when its service is done.
    let clock = &shop.clock;
    match dependencies(ctx, kind, query, sid, &mut waited).await {
        Ok(true) => reached(&mut held, clock.now()),
        Ok(false) => {}
        Err(e) => return fail_after(held, waited.0 + busy, clock, as_json, &e).await,
    }
    if !reach(shop, (az, kind), &mut query, &mut waited) {
        return fail_after(held, waited.0 + busy, clock, as_json, DB_DOWN).await;
    }
    // With `--capacity`, the query takes its time at its instance first
    // (the simulation runs the page's SQL when its query ends).
    if let (Some(db), Some(queries), Some(i)) =
        (&shop.db, &shop.queries, query.and_then(|q| q.read))
    {
        match queries.query(db, i, kind).await {
            Ok(end) => reached(&mut held, end),
            Err(cause) => {
                let why = format!("{cause}: the database refused or lost the page's query");
                return fail_after(held, waited.0 + busy, clock, as_json, &why).await;
            }
        }
    }
    if uses_store && remote.is_none() && shop.calls.policy.store == CallPolicy::none() {
        let reached = {
            let store = shop.store.lock().expect("store lock");
            store_path(&store, &shop.net(), az, kind, sid, &mut waited)
        };
        if !reached {
            let why = format!("{SESSION_STORE_UNREACHABLE}: {STORE_DOWN}");
            return fail_after(held, waited.0 + busy, clock, as_json, &why).await;
        }
    }
    let result = match fetched {
        Err(_) => Err(Failure::SessionUnavailable),
        Ok(mut fetched) => {
            let r = {
                let mut mem = ctx.sessions.at(shop.clock.now(), shop.idle);
                let mut store = (uses_store && fetched.is_none())
                    .then(|| shop.store.lock().expect("store lock"));
                // Every live read is strongly consistent: the durable
                // table's eventual reads are the simulation's subject.
                let mut at = store.as_deref_mut().map(|store| StoreAt {
                    store,
                    now: shop.clock.now(),
                    read_at: None,
                    info: Default::default(),
                    tap: None,
                    hint: None,
                });
                let mut guard = (strategy == Strategy::Cookie)
                    .then(|| shop.guard.as_ref().map(|g| g.lock().expect("guard lock")))
                    .flatten();
                let store: Option<&mut dyn SessionBackend> = match (&mut fetched, &mut at) {
                    (Some(f), _) => Some(f),
                    (None, Some(a)) => Some(a),
                    (None, None) => None,
                };
                let backend = shop::backend(
                    strategy,
                    Places {
                        memory: &mut mem,
                        store,
                        codec: &shop.codec,
                        guard: guard.as_deref_mut(),
                        now: shop.clock.now(),
                    },
                );
                let session = SessionIn::of(strategy, sid, cart_cookie);
                with_data(shop, query, |data| {
                    shop::handle(sreq(session), backend, data, &mut new_sid)
                })
            };
            match (r, remote, fetched.and_then(|f| f.write)) {
                (Ok(resp), Some(rs), Some((sid, cart))) => rs
                    .put(sid, &cart)
                    .await
                    .map(|_| resp)
                    .map_err(|_| Failure::SessionUnavailable),
                (r, _, _) => r,
            }
        }
    };
    if remote.is_some() {
        reached(&mut held, shop.clock.now());
    }
    // The page's modelled service time (the live shop's own work is
    // microseconds, so the node's time is the model's).
    waited.0 += busy;
    wait_out(held, waited.0, &shop.clock).await;
    let r = match result {
        Ok(r) => r,
        Err(Failure::SessionUnavailable) => {
            let why = format!("{SESSION_STORE_UNAVAILABLE}: {STORE_DOWN}");
            return http::error(StatusCode::SERVICE_UNAVAILABLE, as_json, &why);
        }
        Err(Failure::Database) => {
            return http::error(StatusCode::SERVICE_UNAVAILABLE, as_json, DB_DOWN);
        }
    };
    let who = Served {
        node: ctx.id,
        az: &ctx.az,
        strategy: shop.strategy.name(),
    };
    let mut resp = if kind == Kind::AddToCart && !as_json {
        // Post/Redirect/Get: the browser reads the cart back from the session,
        // and a reload does not add the item twice.
        let mut r = http::text(StatusCode::SEE_OTHER, "added; see /cart");
        r.headers_mut()
            .insert(hyper::header::LOCATION, HeaderValue::from_static("/cart"));
        r
    } else if as_json {
        http::json(StatusCode::OK, &page_json(kind, &r, &who, product))
    } else {
        http::respond(
            StatusCode::OK,
            "text/html; charset=utf-8",
            page_html(kind, &r, &who, product),
        )
    };
    let h = resp.headers_mut();
    if let Some(sid) = r.set_sid {
        let v = format!("{SID_COOKIE}={sid:032x}; Path=/; HttpOnly; SameSite=Lax");
        h.append(
            SET_COOKIE,
            HeaderValue::from_str(&v).expect("hex is a valid header"),
        );
    }
    if let Some(c) = r.set_cookie {
        // Sent whatever its size: the browser, not the server, drops a cookie
        // over its limit, and the cart then silently stops growing.
        let mut v = Vec::with_capacity(c.len() + 48);
        v.extend_from_slice(COOKIE_NAME.as_bytes());
        v.push(b'=');
        v.extend_from_slice(&c);
        v.extend_from_slice(b"; Path=/; HttpOnly; SameSite=Lax");
        h.append(
            SET_COOKIE,
            HeaderValue::from_bytes(&v).expect("base64url is a valid header"),
        );
    }
    h.insert("x-stratus-node", HeaderValue::from(ctx.id));
    resp
}

/// The user a request is signed in as: the one its `route::USER_COOKIE`
/// names when the seed data has it, else the first (the live shop has no
/// login page).
fn signed_in(headers: &hyper::HeaderMap, users: u32) -> u32 {
    cookie(headers, route::USER_COOKIE)
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|u| (1..=users).contains(u))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_routes() {
        let i = form_item("product=12&size=L&colour=navy", 100).unwrap();
        assert_eq!(
            (i.product, i.size, i.colour, i.price_cents),
            (12, 3, 2, price_of(12))
        );
        assert!(form_item("product=100", 100).is_err());
        assert!(form_item("size=M", 100).is_err());
        assert!(form_item("product=1&colour=mauve", 100).is_err());
        assert_eq!(parse_sid(&format!("{:032x}", 5u128)), Some(5));
        assert_eq!(parse_sid("zz"), None);
    }
}
