//! The admin API, on its own (loopback) address, behind a bearer token
//! printed at start: the scenario timeline's actions, applied now, and the
//! typed snapshot as JSON. The older paths below are shorthands for the same
//! actions.
//!
//! | method and path | does |
//! | --- | --- |
//! | `GET /admin/state[?rows=N&events=N&faults=N]` | the typed snapshot (`stratus_model::snapshot::Snapshot`) the dashboards draw; with a cursor, only what is new |
//! | `GET /admin/database` | the report's `database` section now (`--db postgres`: measured on the servers), with `engine` and `commits_in_doubt` |
//! | `GET /admin/store` | `--store redis`: the servers and Sentinels, the primary, Sentinel's promotions, each killed primary's replication window, the replicas' lag in bytes |
//! | `GET /admin/workers` | `--capacity`: requests the nodes served after their caller hung up (`served_abandoned`), shed past `fleet.queue_timeout`, refused with a full queue, and the nodes' queues (`queueing`, the report's section) |
//! | `POST /admin/actions` | any timeline action, as JSON without `at`: `{"action":"kill_az","az":"us-east-1b"}`; applied (`set_arrivals`, the shoppers' own, is refused with the reason) |
//! | `POST /admin/az/NAME/kill` | powers off every node in the AZ (and the store copy there) |
//! | `POST /admin/az/NAME/restore` | the AZ takes launches again |
//! | `POST /admin/capacity/N` | sets the group's desired capacity |
//! | `POST /admin/store/failover` | kills the store's primary; the replica is promoted |
//! | `POST /admin/deploy[/BATCH]` | a rolling deploy, BATCH nodes at a time |

use super::cluster::{Cluster, OpError};
use super::http::{self, Body0};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::AUTHORIZATION;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;
use std::sync::Arc;
use stratus_model::scenario::{Action, ActionEntry};
use stratus_model::snapshot::Cursor;

pub struct Admin {
    pub cluster: Arc<Cluster>,
    pub token: String,
}

/// Whether the request carries the token (also the dashboard stream's check).
pub(crate) fn authorised(req: &Request<Incoming>, token: &str) -> bool {
    let Some(v) = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(given) = v.strip_prefix("Bearer ") else {
        return false;
    };
    // Compared in constant time, so the token cannot be found byte by byte.
    given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |a, (x, y)| a | (x ^ y))
            == 0
}

fn done(what: String) -> Response<Body0> {
    http::json(StatusCode::OK, &json!({ "ok": what }))
}

pub(crate) fn fail(status: StatusCode, msg: &str) -> Response<Body0> {
    http::json(status, &json!({ "error": msg }))
}

pub async fn handle(a: Arc<Admin>, req: Request<Incoming>) -> Response<Body0> {
    if !authorised(&req, &a.token) {
        return unauthorised();
    }
    let cl = &a.cluster;
    let path: Vec<String> = req
        .uri()
        .path()
        .trim_matches('/')
        .split('/')
        .map(String::from)
        .collect();
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let post = req.method() == Method::POST;
    match (req.method().clone(), path.as_slice()) {
        (Method::GET, ["admin", "state"]) => {
            let cursor = cursor(req.uri().query().unwrap_or(""));
            http::json(StatusCode::OK, &cl.snapshot(cursor))
        }
        (Method::GET, ["admin", "database"]) => match cl.database_report().await {
            Some(r) => http::json(StatusCode::OK, &r),
            None => fail(StatusCode::NOT_FOUND, "the scenario has no [database]"),
        },
        (Method::GET, ["admin", "store"]) => match cl.store_report() {
            Some(r) => http::json(StatusCode::OK, &r),
            None => fail(
                StatusCode::NOT_FOUND,
                "the store runs in process (or at --store-url): GET /admin/store reports the servers of serve --store redis",
            ),
        },
        (Method::GET, ["admin", "workers"]) => match cl.shop.capacity {
            Some(_) => http::json(StatusCode::OK, &cl.shop.capacity_stats.read(&cl.shop.clock)),
            None => fail(
                StatusCode::NOT_FOUND,
                "the nodes have no workers to count: serve with --capacity",
            ),
        },
        (_, ["admin", "actions"]) if post => match read_entry(req).await {
            Ok(entry) => answer(cl.apply_entry(&entry)),
            Err(r) => r,
        },
        (_, ["admin", "az", name, op @ ("kill" | "restore")]) if post => match cl.az(name) {
            Ok(az) if *op == "kill" => answer(cl.apply(&Action::KillAz { az })),
            Ok(az) => answer(cl.apply(&Action::RestoreAz { az })),
            Err(e) => fail(StatusCode::NOT_FOUND, &e.to_string()),
        },
        (_, ["admin", "capacity", n]) if post => match n.parse() {
            Ok(value) => answer(cl.apply(&Action::SetDesired { value })),
            Err(_) => fail(
                StatusCode::BAD_REQUEST,
                "capacity must be a whole number: POST /admin/capacity/6",
            ),
        },
        (_, ["admin", "deploy", rest @ ..]) if post && rest.len() <= 1 => {
            let batch = match rest.first().map(|b| b.parse::<u32>()) {
                None => None,
                Some(Ok(b)) if b > 0 => Some(b),
                Some(_) => {
                    return fail(
                        StatusCode::BAD_REQUEST,
                        "the batch must be a positive whole number: POST /admin/deploy/2",
                    );
                }
            };
            answer(cl.apply(&Action::RollingDeploy { batch }))
        }
        (_, ["admin", "store", "failover"]) if post => answer(cl.apply(&Action::KillStorePrimary)),
        (
            _,
            ["admin", "state"]
            | ["admin", "actions"]
            | ["admin", "az", _, "kill" | "restore"]
            | ["admin", "capacity", _]
            | ["admin", "store", "failover"]
            | ["admin", "deploy"]
            | ["admin", "deploy", _],
        ) => fail(
            StatusCode::METHOD_NOT_ALLOWED,
            "wrong method: GET /admin/state; every other admin path takes POST",
        ),
        _ => fail(
            StatusCode::NOT_FOUND,
            "no such admin path: GET /admin/state, /admin/database, /admin/store, /admin/workers, POST /admin/actions (a timeline entry as JSON, without `at`), and the shorthands POST /admin/az/NAME/kill|restore, /admin/capacity/N, /admin/deploy[/BATCH], /admin/store/failover",
        ),
    }
}

/// 401, saying which token to send.
pub(crate) fn unauthorised() -> Response<Body0> {
    let mut r = fail(
        StatusCode::UNAUTHORIZED,
        "missing or wrong token: send `Authorization: Bearer TOKEN` with the token stratus printed at start (`stratus serve`, or `--web`)",
    );
    r.headers_mut().insert(
        "www-authenticate",
        hyper::header::HeaderValue::from_static("Bearer"),
    );
    r
}

/// The largest action body read: an entry is a few dozen bytes.
const MAX_ACTION_BYTES: usize = 4096;

/// The body of `POST /admin/actions`: one timeline entry without `at`.
pub(crate) async fn read_entry(req: Request<Incoming>) -> Result<ActionEntry, Response<Body0>> {
    read_json(
        req,
        "a [[timeline]] entry as JSON without `at`, such as {\"action\":\"kill_az\",\"az\":\"us-east-1b\"}",
    )
    .await
}

/// A small JSON body of type `T`; 413 past a few KiB, 400 (saying what was
/// `expected`) when it does not read as `T`.
pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
    req: Request<Incoming>,
    expected: &str,
) -> Result<T, Response<Body0>> {
    let body = Limited::new(req.into_body(), MAX_ACTION_BYTES)
        .collect()
        .await
        .map_err(|_| {
            fail(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is too large: expected {expected}"),
            )
        })?
        .to_bytes();
    serde_json::from_slice(&body).map_err(|e| {
        fail(
            StatusCode::BAD_REQUEST,
            &format!("{e}: expected {expected}"),
        )
    })
}

/// An action's outcome as the admin API answers it.
fn answer(r: Result<String, OpError>) -> Response<Body0> {
    match r {
        Ok(what) => done(what),
        Err(e) => {
            let status = match e {
                OpError::UnknownAz(..) => StatusCode::NOT_FOUND,
                OpError::Capacity(..) | OpError::Action(_) => StatusCode::UNPROCESSABLE_ENTITY,
                OpError::NoPrimary | OpError::Deploying => StatusCode::CONFLICT,
                OpError::NotLive { .. } => StatusCode::NOT_IMPLEMENTED,
            };
            fail(status, &e.to_string())
        }
    }
}

/// `?rows=N&events=N&faults=N`: what the observer has read already (a
/// snapshot's own `cursor`); absent or unreadable parts count from 0.
fn cursor(query: &str) -> Cursor {
    let mut c = Cursor::default();
    for (k, v) in query.split('&').filter_map(|kv| kv.split_once('=')) {
        let n = v.parse().unwrap_or(0);
        match k {
            "rows" => c.rows = n,
            "events" => c.events = n,
            "faults" => c.faults = n,
            _ => {}
        }
    }
    c
}
