//! A live app node: a hyper server on its own loopback port that answers the
//! shop's pages through `shop::handle`, with its sessions in its own memory
//! (sticky), in a signed cookie, or in the shared store.
//!
//! Here: what a node is and shares, reading a request into a page, and
//! its workers' queue (`serve --capacity`); the page's way through the
//! node, from its query to its answer, is `serving`.

use super::capacity::{Admitted, CapacityCfg, CapacityStats, QUEUE_FULL, QUEUE_TIMEOUT, Workers};
use super::clock::unit;
use super::http::{self, Body0, MAX_BODY_BYTES, cookie, wants_json};
use super::sessions::NodeSessions;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use stratus_model::cache::Cache;
use stratus_model::cart::{COLOURS, Item, SIZES, price_of};
use stratus_model::core::AzIx;
use stratus_model::degrade::Degradations;
use stratus_model::lb::NodeId;
use stratus_model::net::Net;
use stratus_model::route;
use stratus_model::scenario::{Kind, ServiceTimes, Strategy};
use stratus_model::session::cookie::CookieCodec;
use stratus_model::session::guard::CookieGuard;
use stratus_model::session::store::Store;
use stratus_model::time::SimTime;
use stratus_model::warmup::{WarmupCurve, service_factor, slowed};

mod serving;

use serving::serve_page;

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
    /// The signed-in user ([`signed_in`]), read once for the cache key
    /// and the shop.
    user: u32,
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
        user: signed_in(&parts.headers, ctx.shop.users),
        parts,
        as_json,
    })
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
