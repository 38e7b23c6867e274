//! Live mode: the same architecture serving real HTTP on loopback, to real
//! clients (DESIGN.md's second driver). What the cloud decides (power, the
//! network's state, the group's launches, scale-in, replacements, deploys
//! and rebalancing, the balancer's registrations and health verdicts,
//! draining, the store's and database's failovers) is the model's control
//! plane, `stratus_model::control::ControlPlane`, the same state machine the
//! simulation runs; the shop's request handling, the cookie codec and its
//! guard, the store, the database and the cache are the model's code too,
//! and actions are checked by the model's `ActionEntry::resolve`. This crate
//! gives them sockets and a wall clock: it executes the control plane's
//! effects (a listener opened or closed, a node hung, a timer for each
//! wake-up) and feeds it real health checks and released requests
//! (`tests/suite/parity.rs` holds the two drivers to the same steps). The control
//! plane polls nothing (the replicas' apply loop below ticks every 50 ms).
//!
//! - [`proxy`]: the load balancer (a hyper server) and its health checks
//! - [`resolver`]: with `[dns]`, the balancer node a request comes in
//!   through, from the control plane's Route 53 answer
//! - [`node`]: an app node (a hyper server per node, on its own port), and
//!   [`capacity`], its workers and queue with `--capacity`
//! - [`cluster`]: the control plane's live driver: its inputs, and its
//!   effects on the node servers
//! - [`actions`]: the timeline's actions, checked and handed to it
//! - [`series`] and [`observe`]: the per-second series through the
//!   balancer, and the typed snapshot `GET /admin/state` serves
//! - [`admin`]: the admin API behind a bearer token
//! - [`dashboard`]: the web dashboard on the admin address, and its event stream
//! - [`resp`]: the store over the Redis protocol, and [`resp::codec`], its
//!   RESP codec; [`remote`]: sessions in real Redis servers, through the
//!   `redis` crate's client (with Sentinel for [`engines::redis`])
//! - [`engines`]: the real engines' processes: Redis with Sentinel
//!   (`--store redis`, reported by [`store_report`]); PostgreSQL is [`postgres`]
//! - [`load`]: the open-loop load generator with ground-truth carts
//! - [`client`]: the one HTTP/1.1 client: the balancer's upstream side and
//!   health checks, the load generator's and the terminal dashboard's

pub mod actions;
pub mod admin;
pub mod calls;
pub mod capacity;
pub mod client;
pub mod clock;
pub mod cluster;
pub mod dashboard;
pub mod data_report;
pub mod engines;
pub mod http;
pub mod jar;
pub mod lanes;
pub mod limits;
pub mod load;
pub mod node;
pub mod observe;
pub mod pages;
pub mod postgres;
pub mod proxy;
pub mod queries;
pub mod remote;
pub mod resolver;
pub mod resp;
pub mod series;
pub mod sessions;
pub mod store_report;
pub mod upstream;

use hyper::service::service_fn;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use stratus_model::cache::Cache;
use stratus_model::scenario::{QueueOrder, Scenario, Strategy};
use stratus_model::session::cookie::CookieCodec;
use stratus_model::session::guard::CookieGuard;
use stratus_model::session::store::{Store, StoreConfig};
use tokio::net::TcpListener;
use tokio::task::AbortHandle;

/// What `stratus serve` is asked to run.
pub struct Config {
    pub scenario: Scenario,
    pub strategy: Strategy,
    pub listen: SocketAddr,
    pub admin: SocketAddr,
    /// The admin token; None: a random one.
    pub token: Option<String>,
    /// Also serve the session store over the Redis protocol here.
    pub resp: Option<SocketAddr>,
    /// Keep `store` sessions in this Redis server (`redis://HOST:PORT`).
    pub store_url: Option<String>,
    /// Keep `store` sessions on Redis servers Stratus starts, placed as the
    /// scenario's store, with three Sentinels (`--store redis`).
    pub store_redis: bool,
    /// Where the scenario's `[database]` lives: in process (the model's
    /// SQLite copies), on PostgreSQL servers Stratus starts, or at a URL.
    pub db: postgres::Engine,
    /// Head timeout, connection caps and the upstream pool's bounds.
    pub limits: limits::Limits,
    /// Give each node the scenario's workers and queue (`--capacity`):
    /// pages hold a worker for their service time, and the rest wait.
    pub capacity: bool,
}

/// A running live shop.
pub struct Handle {
    pub shop: SocketAddr,
    pub admin: SocketAddr,
    pub token: String,
    /// Where the store answers the Redis protocol, if asked.
    pub resp: Option<SocketAddr>,
    /// How many lanes serve the balancer and the nodes.
    pub lanes: usize,
    pub cluster: Arc<cluster::Cluster>,
    tasks: Vec<AbortHandle>,
}

impl Handle {
    /// Stops accepting, closes every connection and powers the nodes off.
    pub fn shutdown(self) {
        for t in &self.tasks {
            t.abort();
        }
        self.cluster.shutdown();
        if let Some(pg) = &self.cluster.shop.pg {
            pg.stop();
        }
        if let Some(r) = &self.cluster.shop.redis {
            r.stop();
        }
    }
}

/// Why the live shop could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "cannot listen on {0}: {1} (is another program using the port? pick another with --listen/--admin)"
    )]
    Bind(SocketAddr, std::io::Error),
    #[error("cannot start the app nodes: {0}")]
    Nodes(std::io::Error),
    #[error("--store-url: {0} (start redis-server, or check the URL)")]
    Remote(remote::RemoteError),
    #[error("--store-url keeps store sessions in Redis: use it with --strategy store")]
    RemoteNeedsStore,
    #[error(
        "--store redis keeps store sessions on Redis servers: use it with --strategy store (and without --store-url)"
    )]
    RedisNeedsStore,
    #[error(
        "--store redis runs one shard (a primary and its replicas, as ElastiCache with cluster mode off), and the scenario has sessions.store.shards = {0}: drop shards, or run it in the simulation"
    )]
    RedisShards(u32),
    #[error("--store redis: {0}")]
    Redis(engines::redis::EngineError),
    #[error("cannot build the scenario's database: {0}")]
    Database(stratus_model::db::DbError),
    #[error(
        "fleet.{0} orders or sheds a node's queue, and without --capacity a live node has none (a request waits in the kernel's and tokio's accept queues, first come first served): serve with --capacity, or without {0}"
    )]
    QueueOrder(&'static str),
    #[error("--db postgres: {0}")]
    Postgres(postgres::PgError),
    #[error(
        "--db postgres and --db-url run the scenario's [database], and it has none: add one, or drop the flag"
    )]
    PgNeedsDatabase,
}

/// The replicas' apply loop: every 50 ms each instance applies the commits
/// whose drawn lag has passed, as the model's lazy catch-up would when read.
async fn replicate(shop: Arc<node::Shop>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
    loop {
        tick.tick().await;
        let now = shop.clock.now();
        if let Some(db) = &shop.db {
            let mut db = db.lock().expect("db lock");
            for i in 0..db.instances.len() {
                // A dead or retired instance answers Unavailable: nothing to apply.
                let _ = db.reader(i, now);
            }
        }
    }
}

/// The in-process store's active expiry, once a sweep period, as the
/// simulation runs it (`Store::expire`).
async fn expire_store(shop: Arc<node::Shop>) {
    let every = stratus_model::session::memory::SWEEP_EVERY;
    let mut tick = tokio::time::interval(std::time::Duration::from_nanos(every));
    tick.tick().await;
    loop {
        tick.tick().await;
        let now = shop.clock.now();
        shop.store.lock().expect("store lock").expire(now, None);
    }
}

/// `--store redis`: the scenario's store as Redis servers and Sentinels
/// (off the async threads: starting them waits on the processes).
async fn start_redis(
    sc: &Scenario,
    clock: clock::Clock,
) -> Result<Arc<engines::redis::Redis>, ServeError> {
    let st = &sc.sessions.store;
    if st.shards > 1 {
        return Err(ServeError::RedisShards(st.shards));
    }
    let (azs, primary, replicas) = (sc.region.azs.clone(), st.primary_az, st.replicas.clone());
    let after = st.failover_after.0;
    let r = tokio::task::spawn_blocking(move || {
        engines::redis::Redis::start(&azs, primary, &replicas, after, clock)
    })
    .await
    .map_err(|e| ServeError::Redis(engines::redis::EngineError::Setup(e.to_string())))?
    .map_err(ServeError::Redis)?;
    Ok(Arc::new(r))
}

/// Starts the nodes, the balancer, its health checks and the admin API on
/// the current tokio runtime.
pub async fn start(cfg: Config) -> Result<Handle, ServeError> {
    let sc = cfg.scenario;
    if cfg.store_url.is_some() && cfg.strategy != Strategy::Store {
        return Err(ServeError::RemoteNeedsStore);
    }
    if cfg.store_redis && (cfg.strategy != Strategy::Store || cfg.store_url.is_some()) {
        return Err(ServeError::RedisNeedsStore);
    }
    if !cfg.capacity {
        match sc.fleet.queue_order {
            QueueOrder::Fifo => {}
            QueueOrder::Lifo => return Err(ServeError::QueueOrder("queue_order = \"lifo\"")),
            QueueOrder::Adaptive(_) => {
                return Err(ServeError::QueueOrder("queue_order = \"adaptive\""));
            }
        }
        if sc.fleet.queue_timeout.is_some() {
            return Err(ServeError::QueueOrder("queue_timeout"));
        }
    }
    let st = &sc.sessions.store;
    let key = clock::random_u128().to_le_bytes();
    let clock = clock::Clock::new();
    let ttl_s = st.ttl.0.div_ceil(stratus_model::time::SEC);
    let redis = match cfg.store_redis {
        true => Some(start_redis(&sc, clock).await?),
        false => None,
    };
    let remote = match (&cfg.store_url, &redis) {
        (Some(u), _) => Some(
            remote::RemoteStore::connect(u, ttl_s)
                .await
                .map_err(ServeError::Remote)?,
        ),
        (None, Some(r)) => Some(
            remote::RemoteStore::sentinel(
                &r.sentinel_addrs(),
                engines::redis::conf::SERVICE,
                ttl_s,
                r.counters.clone(),
            )
            .await
            .map_err(|e| ServeError::Redis(engines::redis::EngineError::Setup(e.to_string())))?,
        ),
        (None, None) => None,
    };
    let db = match &sc.database {
        Some(d) => Some(
            stratus_model::db::Database::new(
                d,
                sc.workload.catalog,
                sc.workload.popularity,
                &stratus_model::rng::Streams::new(sc.seed),
            )
            .map_err(ServeError::Database)?,
        ),
        None => None,
    };
    let (db, pg) = postgres::start_for(cfg.db.clone(), db, &sc).await?;
    // Real PostgreSQL servers take their own time.
    let queries = (sc.database.as_ref())
        .filter(|_| cfg.capacity && pg.is_none())
        .map(|d| queries::Instances::new(d, clock));
    let shop = Arc::new(node::Shop {
        strategy: cfg.strategy,
        codec: CookieCodec::new(sc.sessions.cookie.signed.then_some(&key[..])),
        idle: sc.sessions.memory.timeout.0,
        store: Mutex::new(Store::new(
            match cfg.strategy {
                Strategy::Durable => StoreConfig::dynamo(&sc.sessions.durable, sc.region.azs.len()),
                _ => StoreConfig::redis(st, sc.region.azs.len()),
            },
            stratus_model::rng::Streams::new(sc.seed).stream("store_lag"),
        )),
        clock,
        catalog: sc.workload.catalog.max(1),
        users: sc.database.as_ref().map_or(0, |d| d.users),
        remote,
        redis: redis.clone(),
        db: db.map(Mutex::new),
        pg,
        // A cache operation's modelled time is slept with `--capacity`, as a
        // query's is; without it the shop answers at loopback speed.
        cache: sc.cache.as_ref().map(|c| {
            let op_time = if cfg.capacity { c.op_time.0 } else { 0 };
            Mutex::new(Cache::new(&c.nodes, c.ttl.0, op_time))
        }),
        guard: CookieGuard::new(sc.sessions.cookie.max_age, sc.sessions.cookie.versioned)
            .map(Mutex::new),
        net: std::sync::RwLock::new(stratus_model::net::Net::new(
            sc.region.latency,
            sc.region.azs.len(),
        )),
        degraded: Default::default(),
        service_time: sc.fleet.service_time,
        calls: calls::LiveCalls::new(
            sc.fleet.calls,
            stratus_model::rng::Streams::new(sc.seed).stream("call_jitter"),
        ),
        warmup: sc.fleet.warmup_curve,
        capacity: cfg.capacity.then(|| capacity::CapacityCfg::of(&sc)),
        capacity_stats: Default::default(),
        queries,
    });
    let lb_listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| ServeError::Bind(cfg.listen, e))?;
    let admin_listener = TcpListener::bind(cfg.admin)
        .await
        .map_err(|e| ServeError::Bind(cfg.admin, e))?;
    let shop_addr = lb_listener
        .local_addr()
        .map_err(|e| ServeError::Bind(cfg.listen, e))?;
    let admin_addr = admin_listener
        .local_addr()
        .map_err(|e| ServeError::Bind(cfg.admin, e))?;
    let resp = match cfg.resp {
        Some(a) => {
            let l = TcpListener::bind(a)
                .await
                .map_err(|e| ServeError::Bind(a, e))?;
            let bound = l.local_addr().map_err(|e| ServeError::Bind(a, e))?;
            Some((l, bound))
        }
        None => None,
    };
    // Started before any connection arrives, so none waits on a thread spawn.
    let lanes = lanes::count();
    let cluster = cluster::Cluster::new(sc, shop.clone(), cfg.limits);
    cluster.start_fleet().map_err(ServeError::Nodes)?;
    let token = cfg
        .token
        .unwrap_or_else(|| format!("{:032x}", clock::random_u128()));
    let proxy = proxy::Proxy::new(cluster.clone(), &cfg.limits);
    let sweeper = tokio::spawn(proxy.clone().keepalive_loop(cfg.limits)).abort_handle();
    let lb_svc = service_fn(move |req| {
        let p = proxy.clone();
        async move { Ok::<_, std::convert::Infallible>(proxy::handle(p, req).await) }
    });
    let adm = Arc::new(admin::Admin {
        cluster: cluster.clone(),
        token: token.clone(),
    });
    let admin_svc = service_fn(move |req| {
        let a = adm.clone();
        async move { Ok::<_, std::convert::Infallible>(dashboard::handle(a, req).await) }
    });
    use http::{Place, accept_loop};
    let mut tasks = vec![
        tokio::spawn(accept_loop(
            lb_listener,
            lb_svc,
            false,
            Place::Spread,
            cfg.limits,
        ))
        .abort_handle(),
        tokio::spawn(accept_loop(
            admin_listener,
            admin_svc,
            false,
            Place::Here,
            cfg.limits,
        ))
        .abort_handle(),
        tokio::spawn(proxy::health_loop(cluster.clone())).abort_handle(),
        sweeper,
    ];
    if shop.db.is_some() {
        tasks.push(tokio::spawn(replicate(shop.clone())).abort_handle());
    }
    if cfg.strategy.uses_store() {
        tasks.push(tokio::spawn(expire_store(shop.clone())).abort_handle());
    }
    if let Some(r) = redis {
        tasks.push(tokio::spawn(engines::redis::watch::run(r)).abort_handle());
    }
    let resp_addr = resp.map(|(l, bound)| {
        tasks.push(tokio::spawn(resp::serve(l, resp::Resp::new(shop))).abort_handle());
        bound
    });
    Ok(Handle {
        shop: shop_addr,
        admin: admin_addr,
        token,
        resp: resp_addr,
        lanes,
        cluster,
        tasks,
    })
}
