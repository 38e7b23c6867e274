//! The admin API, on its own (loopback) address, behind a bearer token
//! printed at start: the faults and operations of the scenario timeline,
//! applied now, and the state as JSON.
//!
//! | method and path | does |
//! | --- | --- |
//! | `GET /admin/state` | the state: AZs, nodes, health, store, events |
//! | `POST /admin/az/NAME/kill` | powers off every node in the AZ (and the store copy there) |
//! | `POST /admin/az/NAME/restore` | the AZ takes launches again |
//! | `POST /admin/capacity/N` | sets the group's desired capacity |
//! | `POST /admin/store/failover` | kills the store's primary; the replica is promoted |
//! | `POST /admin/deploy[/BATCH]` | a rolling deploy, BATCH nodes at a time |

use super::cluster::Cluster;
use super::http::{self, Body0};
use hyper::body::Incoming;
use hyper::header::AUTHORIZATION;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;
use std::sync::Arc;

pub struct Admin {
    pub cluster: Arc<Cluster>,
    pub token: String,
}

fn authorised(req: &Request<Incoming>, token: &str) -> bool {
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

fn fail(status: StatusCode, msg: &str) -> Response<Body0> {
    http::json(status, &json!({ "error": msg }))
}

pub async fn handle(a: Arc<Admin>, req: Request<Incoming>) -> Response<Body0> {
    if !authorised(&req, &a.token) {
        let mut r = fail(
            StatusCode::UNAUTHORIZED,
            "missing or wrong token: send `Authorization: Bearer TOKEN` with the token `stratus serve` printed",
        );
        r.headers_mut().insert(
            "www-authenticate",
            hyper::header::HeaderValue::from_static("Bearer"),
        );
        return r;
    }
    let cl = &a.cluster;
    let path: Vec<&str> = req.uri().path().trim_matches('/').split('/').collect();
    let post = req.method() == Method::POST;
    match (req.method(), path.as_slice()) {
        (&Method::GET, ["admin", "state"]) => http::json(StatusCode::OK, &cl.state()),
        (_, ["admin", "az", name, op @ ("kill" | "restore")]) if post => match cl.az(name) {
            Ok(az) => {
                if *op == "kill" {
                    cl.kill_az(az);
                } else {
                    cl.restore_az(az);
                }
                done(format!("{op} {name}"))
            }
            Err(e) => fail(StatusCode::NOT_FOUND, &e.to_string()),
        },
        (_, ["admin", "capacity", n]) if post => match n.parse() {
            Ok(v) => match cl.set_desired(v) {
                Ok(()) => done(format!("desired capacity {v}")),
                Err(e) => fail(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
            },
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
            match cl.rolling_deploy(batch) {
                Ok(()) => done("rolling deploy started".into()),
                Err(e) => fail(StatusCode::CONFLICT, &e.to_string()),
            }
        }
        (_, ["admin", "store", "failover"]) if post => match cl.kill_store_primary() {
            Ok(()) => done("store primary killed; failover in progress".into()),
            Err(e) => fail(StatusCode::CONFLICT, &e.to_string()),
        },
        (
            _,
            ["admin", "state"]
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
            "no such admin path: GET /admin/state, POST /admin/az/NAME/kill|restore, POST /admin/capacity/N, POST /admin/deploy[/BATCH], POST /admin/store/failover",
        ),
    }
}
