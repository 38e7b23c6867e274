//! The request-head path every live listener serves: any bytes a client
//! sends, fed to `http::serve_io` (hyper's HTTP/1.1 server as the listeners
//! configure it: the head limit and the head timeout) over an in-memory
//! stream, with a service that runs our own code on what hyper parsed
//! (cookies, the Accept check, query pairs, the body limit). Nothing may
//! panic, and the connection must end once the client's bytes do.
#![no_main]
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use std::convert::Infallible;
use std::sync::OnceLock;
use std::time::Duration;
use stratus::live::http;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

async fn answer(req: Request<Incoming>) -> Result<hyper::Response<http::Body0>, Infallible> {
    let sid = http::cookie(req.headers(), "sid").map(str::len);
    let json = http::wants_json(req.headers());
    let pairs = req.uri().query().map(http::form_pairs);
    let body = Limited::new(req.into_body(), http::MAX_BODY_BYTES)
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_else(|_| Bytes::new());
    let form = http::form_pairs(&String::from_utf8_lossy(&body));
    let msg = format!("{sid:?} {json} {} {}", pairs.map_or(0, |p| p.len()), form.len());
    Ok(http::error(StatusCode::OK, json, &msg))
}

fuzz_target!(|data: &[u8]| {
    runtime().block_on(async {
        let (client, server) = tokio::io::duplex(64 << 10);
        let (mut rx, mut tx) = tokio::io::split(client);
        let svc = hyper::service::service_fn(answer);
        let serve = http::serve_io(server, svc, Duration::from_secs(60));
        let send = async {
            let _ = tx.write_all(data).await;
            let _ = tx.shutdown().await;
        };
        let mut answers = Vec::new();
        let read = rx.read_to_end(&mut answers);
        let ended = tokio::time::timeout(Duration::from_secs(10), async {
            tokio::join!(serve, send, read)
        })
        .await;
        assert!(ended.is_ok(), "the connection outlived its client's bytes");
    });
});
