//! `stratus serve` and `stratus load`: the live mode's command line.

use super::{CliError, Format, emit, load, strategy, variant};
use crate::live::{self, Config, load::LoadConfig};
use crate::report::{table, text};
use crate::time::{Dur, parse_duration};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// A scenario file or bundled name whose fleet, AZs, health check,
    /// stickiness, cookie and store settings the live shop uses.
    #[arg(default_value = "steady-state")]
    pub file: String,
    /// sticky | cookie | store (default: the scenario's own).
    #[arg(long)]
    pub strategy: Option<String>,
    /// Where the load balancer listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where the admin API listens (keep it on loopback).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub admin: SocketAddr,
    /// The admin API's bearer token (default: a random one, printed at start).
    #[arg(long, env = "STRATUS_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Also serve the session store over the Redis protocol here, for
    /// redis-cli and redis-benchmark (such as 127.0.0.1:6380).
    #[arg(long)]
    pub resp: Option<SocketAddr>,
    /// Keep store sessions in a real Redis server instead of in process
    /// (redis://HOST:PORT; needs --strategy store).
    #[arg(long, value_name = "redis://HOST:PORT")]
    pub store_url: Option<String>,
    /// Where store sessions live (with --strategy store): in-process (the
    /// model's store) or redis (redis-server as the scenario's primary and
    /// replicas, one per AZ it names, and three Sentinels that fail it
    /// over; needs the Debian package redis-server).
    #[arg(long, default_value = "in-process", value_parser = ["in-process", "redis"], conflicts_with = "store_url")]
    pub store: String,
    /// Show the live shop in a terminal dashboard read from the admin API,
    /// with keys that kill and restore AZs, fail the store over, deploy and
    /// scale; q stops the server.
    #[arg(long)]
    pub tui: bool,
    /// With a scenario that has [database]: write its instances as SQLite
    /// files here when the server stops; with --db postgres, keep the
    /// servers' data directories here (default: a temporary folder,
    /// removed at the end).
    #[arg(long)]
    pub db_dir: Option<PathBuf>,
    /// Where the scenario's [database] runs: in-process (the model's SQLite
    /// copies) or postgres (a primary, a synchronous standby and the read
    /// replicas as real PostgreSQL servers on loopback; needs the Debian
    /// package postgresql).
    #[arg(long, default_value = "in-process", value_parser = ["in-process", "postgres"])]
    pub db: String,
    /// Keep the shop's SQL in an existing PostgreSQL primary
    /// (postgres://USER@HOST:PORT/DB): no failover control.
    #[arg(long, value_name = "postgres://…", conflicts_with = "db")]
    pub db_url: Option<String>,
    /// Single-threaded runtimes serving the balancer and the nodes (default:
    /// two per core). Each request stays on one.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub lanes: Option<u16>,
    /// Close a connection that has not sent a whole request head within
    /// this (on the balancer, the nodes and the admin API; also how long an
    /// idle keep-alive connection stays open). nginx's client_header_timeout.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub head_timeout: String,
    /// Open connections per listener; more wait in the kernel's backlog
    /// (default: what the open-file limit holds, HAProxy's rule: the limit,
    /// raised to its hard value, less 256, over 3 fds a connection).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_conns: Option<u32>,
    /// Idle keep-alive connections the balancer keeps per node and lane;
    /// the least recently used beyond it are closed (nginx's upstream keepalive).
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub upstream_keepalive: usize,
    /// How long the balancer keeps an idle connection to a node (nginx's
    /// upstream keepalive_timeout; ALB's idle timeout).
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub upstream_idle: String,
    /// Give each node the scenario's fleet.workers, each page holding one
    /// for its drawn service time (stretched by slow_node, slow_az and
    /// warm-up), and a queue of fleet.queue_limit (then 503 queue_full),
    /// ordered by fleet.queue_order and shed by fleet.queue_timeout, as the
    /// simulation's nodes. Off by default: the shop then answers as fast as
    /// it can (the throughput benchmark's setting).
    #[arg(long)]
    pub capacity: bool,
    /// Serve one of the file's [[variants]] (by name) instead of the file as written.
    #[arg(long, value_name = "NAME")]
    pub variant: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// The shop's address, such as http://127.0.0.1:8080
    pub url: String,
    /// New shoppers per second (Poisson arrivals, open loop); without it,
    /// the scenario's own arrivals (its rate, trace or shape).
    #[arg(long)]
    pub rate: Option<f64>,
    /// How long to send load, such as 30s or 5m.
    #[arg(long)]
    pub duration: String,
    /// The scenario whose workload (pages, think time, add-to-cart and
    /// checkout chances), cookie limit and timeline the shoppers follow.
    #[arg(long, default_value = "steady-state")]
    pub scenario: String,
    /// Overrides the scenario's mean think time, such as 500ms.
    #[arg(long)]
    pub think: Option<String>,
    /// Overrides the scenario's seed (the shoppers' plans).
    #[arg(long)]
    pub seed: Option<u64>,
    /// A request unanswered after this fails as a timeout (the scenario's
    /// [workload.retry] timeout, when it has one, takes its place).
    #[arg(long, default_value = "10s")]
    pub timeout: String,
    /// The admin API (http://HOST:PORT): apply the scenario's timeline there.
    #[arg(long)]
    pub admin: Option<String>,
    /// The admin API's token.
    #[arg(long, env = "STRATUS_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Report format (default: from --out's extension, else text).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the report here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Include the per-second series (offered, attempts, goodput, failures,
    /// latency) in JSON, or print it instead of the run's row (CSV).
    #[arg(long)]
    pub series: bool,
    /// Follow one of the scenario's [[variants]] (by name): its workload,
    /// retry policy and timeline.
    #[arg(long, value_name = "NAME")]
    pub variant: Option<String>,
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))
}

fn duration(flag: &str, s: &str) -> Result<Dur, CliError> {
    parse_duration(s).map_err(|e| CliError::Usage(format!("{flag} {s:?}: {e}")))
}

pub fn serve(a: ServeArgs) -> Result<(), CliError> {
    let sc = variant(load(&a.file)?, a.variant.as_deref())?;
    let limits = limits(&a)?;
    let open_files = live::limits::raise_open_files();
    if a.db_dir.is_some() && sc.database.is_none() {
        return Err(CliError::Usage(format!(
            "--db-dir writes the database, and {} has no [database] table: add one, or drop --db-dir",
            sc.name
        )));
    }
    let st = a
        .strategy
        .map(|s| strategy(&s))
        .transpose()?
        .unwrap_or(sc.strategy);
    if let Some(n) = a.lanes {
        live::lanes::set_count(n.into());
    }
    let rt = runtime()?;
    rt.block_on(async move {
        let name = sc.name.clone();
        let (nodes, azs) = (sc.fleet.desired, sc.region.azs.len());
        let h = live::start(Config {
            scenario: sc,
            strategy: st,
            listen: a.listen,
            admin: a.admin,
            token: a.token,
            resp: a.resp,
            store_url: a.store_url.clone(),
            store_redis: a.store == "redis",
            db: db_engine(&a.db, &a.db_url, &a.db_dir),
            limits,
            capacity: a.capacity,
        })
        .await
        .map_err(|e| CliError::Runtime(e.to_string()))?;
        // Polled once before saying Ctrl-C works, so the handler is in place
        // (a signal before it would kill the process instead of stopping it).
        let stop = tokio::signal::ctrl_c();
        tokio::pin!(stop);
        let early = tokio::select! {
            biased;
            r = &mut stop => Some(r),
            _ = std::future::ready(()) => None,
        };
        eprintln!("stratus serve: {name}, sessions {st}, {nodes} nodes in {azs} AZs");
        eprintln!("  shop   http://{}/", h.shop);
        eprintln!("  admin  http://{}/admin/state", h.admin);
        // The token in the fragment: a browser never sends it to a server.
        eprintln!("  web    http://{}/#token={}", h.admin, h.token);
        eprintln!("  token  {}", h.token);
        eprintln!("  lanes  {} (single-threaded runtimes; --lanes)", h.lanes);
        eprintln!(
            "  conns  {} per listener (--max-conns; default from the open-file limit, {open_files})",
            limits.conns()
        );
        if let Some(r) = h.resp {
            eprintln!(
                "  resp   redis-cli -p {} (sessions are keys session:<sid>)",
                r.port()
            );
        }
        eprintln!(
            "  e.g.   curl -H 'Authorization: Bearer {}' -X POST http://{}/admin/az/{}/kill",
            h.token,
            h.admin,
            h.cluster
                .sc
                .region
                .azs
                .get(1)
                .or(h.cluster.sc.region.azs.first())
                .map_or("", |s| s.as_str())
        );
        if let Some(u) = &a.store_url {
            eprintln!("  store  sessions in {u}");
        }
        if let Some(r) = &h.cluster.shop.redis {
            eprintln!(
                "  store  sessions on redis-server, Sentinels at {} (GET /admin/store; files in {})",
                r.sentinel_addrs().join(", "),
                r.base().display()
            );
        }
        use std::io::IsTerminal;
        if a.tui && early.is_none() && std::io::stdout().is_terminal() {
            let (addr, token) = (h.admin, h.token.clone());
            let dash =
                tokio::task::spawn_blocking(move || crate::tui::live_dash::run(addr, &token));
            let r = tokio::select! {
                r = dash => r.map_err(|e| CliError::Runtime(format!("the dashboard stopped: {e}")))?
                    .map_err(|e| CliError::Runtime(format!("the dashboard's terminal: {e}"))),
                _ = &mut stop => Ok(()),
            };
            crate::tui::term::restore();
            eprintln!("stratus serve: stopping (listeners closed, nodes powered off)");
            export_db(&h, a.db_dir.as_deref())?;
            h.shutdown();
            return r;
        }
        if a.tui {
            eprintln!("stratus serve: stdout is not a terminal; serving without the dashboard");
        }
        eprintln!("Ctrl-C stops.");
        match early {
            Some(r) => r,
            None => stop.await,
        }
        .map_err(|e| CliError::Runtime(format!("cannot wait for Ctrl-C: {e}")))?;
        eprintln!("stratus serve: stopping (listeners closed, nodes powered off)");
        export_db(&h, a.db_dir.as_deref())?;
        h.shutdown();
        Ok(())
    })
}

/// The listeners' limits from `serve`'s flags.
fn limits(a: &ServeArgs) -> Result<live::limits::Limits, CliError> {
    let wall = |flag: &str, s: &str| -> Result<std::time::Duration, CliError> {
        match duration(flag, s)? {
            Dur(0) => Err(CliError::Usage(format!(
                "{flag} {s:?}: must be longer than zero (such as 60s)"
            ))),
            d => Ok(std::time::Duration::from_nanos(d.0)),
        }
    };
    Ok(live::limits::Limits {
        head_timeout: wall("--head-timeout", &a.head_timeout)?,
        max_conns: a.max_conns.map(|n| n as usize),
        upstream_keepalive: a.upstream_keepalive,
        upstream_idle: wall("--upstream-idle", &a.upstream_idle)?,
    })
}

/// `--db`, `--db-url` and `--db-dir` as the engine the shop's SQL runs on.
fn db_engine(db: &str, url: &Option<String>, dir: &Option<PathBuf>) -> live::postgres::Engine {
    use live::postgres::Engine;
    match (url, db) {
        (Some(u), _) => Engine::Url(u.clone()),
        (None, "postgres") => Engine::Postgres { dir: dir.clone() },
        _ => Engine::InProcess,
    }
}

/// `--db-dir`: the database instances as SQLite files, named by role
/// (on PostgreSQL the servers' own data directories are there already).
fn export_db(h: &live::Handle, dir: Option<&std::path::Path>) -> Result<(), CliError> {
    let (Some(dir), Some(db), None) = (dir, &h.cluster.shop.db, &h.cluster.shop.pg) else {
        return Ok(());
    };
    let db = db.lock().expect("db lock");
    let files = db
        .export(dir)
        .map_err(|e| CliError::Runtime(format!("--db-dir {}: {e}", dir.display())))?;
    eprintln!(
        "stratus serve: wrote {} to {}",
        files.join(", "),
        dir.display()
    );
    Ok(())
}

pub fn load_cmd(a: LoadArgs) -> Result<(), CliError> {
    let mut sc = variant(load(&a.scenario)?, a.variant.as_deref())?;
    if let Some(t) = &a.think {
        sc.workload.think_time = duration("--think", t)?;
    }
    let admin = match (a.admin, a.token) {
        (Some(u), Some(t)) => Some((u, t)),
        (Some(_), None) => {
            return Err(CliError::Usage(
                "--admin needs --token (or STRATUS_ADMIN_TOKEN): the token `stratus serve` printed"
                    .into(),
            ));
        }
        (None, _) => None,
    };
    let cfg = LoadConfig {
        url: a.url,
        rate: a.rate,
        duration: duration("--duration", &a.duration)?,
        seed: a.seed.unwrap_or(sc.seed),
        timeout: duration("--timeout", &a.timeout)?,
        scenario: sc,
        admin,
    };
    if cfg.duration.0 == 0 {
        return Err(CliError::Usage(
            "--duration must be longer than zero".into(),
        ));
    }
    let rt = runtime()?;
    let mut r = rt
        .block_on(live::load::run(cfg))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let fmt = super::pick_format(a.format, &a.out);
    if !a.series && matches!(fmt, Format::Json) {
        r.series = None;
    }
    let out = match fmt {
        Format::Csv if a.series => table::series_csv(&r),
        Format::Text => text::render(&r),
        Format::Json => r.to_json() + "\n",
        Format::Csv => table::csv(std::slice::from_ref(&r)),
        Format::Markdown => table::markdown(std::slice::from_ref(&r)),
        Format::Html => crate::report::html::report(std::slice::from_ref(&r), 1, ""),
    };
    emit(&out, &a.out)
}
