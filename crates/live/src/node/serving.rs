//! One page's path through a live node, as the simulation's node takes it:
//! its query planned (`plan_query`), the node's calls under `[fleet.calls]`
//! (`dependencies`), its database instance and the session store reached
//! (`reach`, `store_path`), the model's shop run on the sessions and data,
//! and the answer. What each step decides is the model's; this file spends
//! the time the model says it takes (`Waited`, `Held`) and names a failure
//! by the simulation's cause.

use super::{NodeCtx, Page, SID_COOKIE, Shop, parse_sid};
use crate::calls::{self, GaveUp};
use crate::capacity::Held;
use crate::clock::random_u128;
use crate::http::{self, Body0, cookie};
use crate::pages::{Served, page_html, page_json};
use crate::remote::Fetched;
use hyper::header::{HeaderValue, SET_COOKIE};
use hyper::{Response, StatusCode};
use stratus_model::cache::{Cache, Key};
use stratus_model::calls::{CallPolicy, Dep};
use stratus_model::cart::Cart;
use stratus_model::core::AzIx;
use stratus_model::db::access::DataAt;
use stratus_model::db::{DB_CIRCUIT_OPEN, DB_TIMEOUT, DB_UNAVAILABLE, DbIx, Visit};
use stratus_model::net::{Net, STORE_CONNECT_TIMEOUT};
use stratus_model::scenario::{Kind, Strategy};
use stratus_model::session::cookie::COOKIE_NAME;
use stratus_model::session::store::{
    SESSION_STORE_CIRCUIT_OPEN, SESSION_STORE_TIMEOUT, SESSION_STORE_UNAVAILABLE,
    SESSION_STORE_UNREACHABLE, Store, StoreAt,
};
use stratus_model::session::{SessionBackend, Unavailable};
use stratus_model::shop::{self, Data, Failure, Places, Request as ShopRequest, SessionIn};
use stratus_model::time::SimTime;

/// What the network between a node and its data cost one request: the
/// delay `add_latency` put on its round trips, and the connect timeouts it
/// sat through across a partition. Slept before the node answers, once the
/// shop's locks are released.
#[derive(Default)]
struct Waited(u64);

/// A 503's words when the page's query found no instance that answers:
/// the simulation's cause first, so `stratus load` counts it by that name.
fn db_down() -> String {
    format!("{DB_UNAVAILABLE}: the database is unavailable")
}

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
async fn wait_out(held: Option<&mut Held>, ns: u64, clock: &crate::clock::Clock) {
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
    clock: &crate::clock::Clock,
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
        return crate::postgres::with_pg(shop, pg, q.read, write, f);
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
        Err(GaveUp::Failed) => Err(db_down()),
    }
}

/// Runs the page through the model's shop and answers it, after `busy` ns
/// more of the node's time (a slowdown's share, or with `--capacity` the
/// page's whole service time).
pub(super) async fn serve_page(
    ctx: &NodeCtx,
    page: Page,
    busy: u64,
    mut held: Option<&mut Held>,
) -> Response<Body0> {
    let shop = &ctx.shop;
    let as_json = page.as_json;
    let mut waited = Waited::default();
    let sid = cookie(&page.parts.headers, SID_COOKIE).and_then(parse_sid);
    // A real Redis (`--store-url`) is read before the page runs and written
    // after; the in-process store is first checked for reach.
    let remote = shop.remote.as_ref().filter(|_| shop.strategy.uses_store());
    let fetched = match remote {
        Some(rs) => fetch(rs, sid).await.map(Some),
        None => Ok(None),
    };
    // A page that fails still takes its node's time, as a simulated one
    // fails when its service is done.
    let query = match ready(ctx, &page, sid, &mut held, &mut waited).await {
        Ok(q) => q,
        Err(why) => return fail_after(held, waited.0 + busy, &shop.clock, as_json, &why).await,
    };
    let result = match fetched {
        Err(Unavailable) => Err(Failure::SessionUnavailable),
        Ok(fetched) => run_shop(ctx, &page, sid, query, fetched).await,
    };
    if remote.is_some() {
        reached(&mut held, shop.clock.now());
    }
    // The page's modelled service time (the live shop's own work is
    // microseconds, so the node's time is the model's).
    waited.0 += busy;
    wait_out(held, waited.0, &shop.clock).await;
    match result {
        Ok(r) => answer(ctx, &page, &r),
        Err(Failure::SessionUnavailable) => {
            let why = format!("{SESSION_STORE_UNAVAILABLE}: {STORE_DOWN}");
            http::error(StatusCode::SERVICE_UNAVAILABLE, as_json, &why)
        }
        Err(Failure::Database) => http::error(StatusCode::SERVICE_UNAVAILABLE, as_json, &db_down()),
    }
}

/// The session `sid` names, read from a real Redis ahead of the page.
async fn fetch(rs: &crate::remote::RemoteStore, sid: Option<u128>) -> Result<Fetched, Unavailable> {
    let cart = match sid {
        Some(s) => rs.get(s).await?,
        None => None,
    };
    Ok(Fetched {
        sid,
        cart,
        write: None,
    })
}

/// What must hold before the page runs, in the simulation's order: its
/// query planned, the node's calls made, its instance reached and the
/// query's time taken there (with `--capacity`), the store's primary
/// reached. The page's query, or why the page fails (the cause first).
async fn ready(
    ctx: &NodeCtx,
    page: &Page,
    sid: Option<u128>,
    held: &mut Option<&mut Held>,
    waited: &mut Waited,
) -> Result<Option<Query>, String> {
    let (shop, az, kind) = (&*ctx.shop, ctx.az_ix, page.kind);
    let key = Key::of_page(kind, page.product, page.item, page.user);
    let mut query = plan_query(shop, az, (kind, key), waited);
    // With `--capacity`, the page's modelled time runs on from when its
    // worker was free (`Held`); real waits move it on.
    if dependencies(ctx, kind, query, sid, waited).await? {
        reached(held, shop.clock.now());
    }
    if !reach(shop, (az, kind), &mut query, waited) {
        return Err(db_down());
    }
    // With `--capacity`, the query takes its time at its instance first
    // (the simulation runs the page's SQL when its query ends).
    if let (Some(db), Some(queries), Some(i)) =
        (&shop.db, &shop.queries, query.and_then(|q| q.read))
    {
        let end = queries
            .query(db, i, kind)
            .await
            .map_err(|cause| format!("{cause}: the database refused or lost the page's query"))?;
        reached(held, end);
    }
    let in_process = shop.strategy.uses_store() && shop.remote.is_none();
    if in_process && shop.calls.policy.store == CallPolicy::none() {
        let store = shop.store.lock().expect("store lock");
        if !store_path(&store, &shop.net(), az, kind, sid, waited) {
            return Err(format!("{SESSION_STORE_UNREACHABLE}: {STORE_DOWN}"));
        }
    }
    Ok(query)
}

/// Runs the model's shop on the page: its sessions where the strategy keeps
/// them (the node's memory, the cookie, the in-process store, or the cart
/// `fetched` from a real Redis, written back after), its data where the
/// query went.
async fn run_shop(
    ctx: &NodeCtx,
    page: &Page,
    sid: Option<u128>,
    query: Option<Query>,
    mut fetched: Option<Fetched>,
) -> Result<shop::Response, Failure> {
    let shop = &*ctx.shop;
    let strategy = shop.strategy;
    let r = {
        let mut mem = ctx.sessions.at(shop.clock.now(), shop.idle);
        let mut store = (strategy.uses_store() && fetched.is_none())
            .then(|| shop.store.lock().expect("store lock"));
        // Every live read is strongly consistent: the durable table's
        // eventual reads are the simulation's subject.
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
        let cart_cookie = cookie(&page.parts.headers, COOKIE_NAME).map(str::as_bytes);
        let req = ShopRequest {
            kind: page.kind,
            item: page.item,
            session: SessionIn::of(strategy, sid, cart_cookie),
            user: page.user,
            product: page.product,
            address: None,
        };
        let mut new_sid = random_u128;
        with_data(shop, query, |data| {
            shop::handle(req, backend, data, &mut new_sid)
        })
    };
    match (r, &shop.remote, fetched.and_then(|f| f.write)) {
        (Ok(resp), Some(rs), Some((sid, cart))) => put(rs, sid, &cart).await.map(|_| resp),
        (r, _, _) => r,
    }
}

/// Writes the cart the page changed back to the real Redis.
async fn put(rs: &crate::remote::RemoteStore, sid: u128, cart: &Cart) -> Result<(), Failure> {
    rs.put(sid, cart)
        .await
        .map_err(|_| Failure::SessionUnavailable)
}

/// The page the shop served, as HTML, JSON or a redirect, with the cookies
/// it sets and the node that served it.
fn answer(ctx: &NodeCtx, page: &Page, r: &shop::Response) -> Response<Body0> {
    let (kind, product) = (page.kind, page.product);
    let who = Served {
        node: ctx.id,
        az: &ctx.az,
        strategy: ctx.shop.strategy.name(),
    };
    let mut resp = if kind == Kind::AddToCart && !page.as_json {
        // Post/Redirect/Get: the browser reads the cart back from the session,
        // and a reload does not add the item twice.
        let mut r = http::text(StatusCode::SEE_OTHER, "added; see /cart");
        r.headers_mut()
            .insert(hyper::header::LOCATION, HeaderValue::from_static("/cart"));
        r
    } else if page.as_json {
        http::json(StatusCode::OK, &page_json(kind, r, &who, product))
    } else {
        http::respond(
            StatusCode::OK,
            "text/html; charset=utf-8",
            page_html(kind, r, &who, product),
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
    if let Some(c) = &r.set_cookie {
        // Sent whatever its size: the browser, not the server, drops a cookie
        // over its limit, and the cart then silently stops growing.
        let mut v = Vec::with_capacity(c.len() + 48);
        v.extend_from_slice(COOKIE_NAME.as_bytes());
        v.push(b'=');
        v.extend_from_slice(c);
        v.extend_from_slice(b"; Path=/; HttpOnly; SameSite=Lax");
        h.append(
            SET_COOKIE,
            HeaderValue::from_bytes(&v).expect("base64url is a valid header"),
        );
    }
    h.insert("x-stratus-node", HeaderValue::from(ctx.id));
    resp
}
