//! `stratus run FILE --web` and `stratus compare FILE --web` without a
//! browser: the page's event stream, read with an HTTP client, ends with the
//! runs' reports, and their carts lost (and every other figure) are the
//! batch run's; an action posted to the page is applied to the running
//! simulation; bad input gets a clear 4xx. (scripts/web-e2e.sh reads the
//! same figures off the page in headless Chromium.)

use crate::common::{bundled, json_outside_wall};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::AUTHORIZATION;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use stratus::{Report, Strategy};

type C = Client<HttpConnector, Full<Bytes>>;

/// A `stratus … --web --web-exit` child: its page's address and token from
/// stderr, its stdout (the report) read as it comes. Killed if a test fails.
struct Web {
    child: Child,
    base: String,
    token: String,
    out: Option<JoinHandle<String>>,
}

impl Drop for Web {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn web(args: &[&str]) -> Web {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args(args)
        .args(["--web", "--web-exit", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("stratus runs");
    let mut stdout = child.stdout.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).expect("stdout");
        s
    });
    let mut err = BufReader::new(child.stderr.take().expect("piped"));
    let mut line = String::new();
    let mut url = None;
    while err.read_line(&mut line).expect("stderr") > 0 {
        if let Some(u) = line.trim().strip_prefix("web ") {
            url = Some(u.trim().to_string());
            break;
        }
        line.clear();
    }
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    let url = url.unwrap_or_else(|| panic!("no web line on stderr; last: {line}"));
    let (base, token) = url.split_once("/#token=").expect("a token in the fragment");
    Web {
        child,
        base: base.to_string(),
        token: token.to_string(),
        out: Some(out),
    }
}

impl Web {
    /// Waits for the child to leave: its exit code and stdout.
    fn wait(mut self) -> (Option<i32>, String) {
        let code = self.child.wait().expect("wait").code();
        (code, self.out.take().unwrap().join().unwrap())
    }

    async fn call(
        &self,
        c: &C,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> (StatusCode, Value) {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(t) = token {
            b = b.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        let r = c
            .request(b.body(Full::new(Bytes::from(body.to_string()))).unwrap())
            .await
            .expect("the page's address answers");
        let s = r.status();
        let body = r.into_body().collect().await.unwrap().to_bytes();
        (s, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// Reads the event stream until the `final` event: every snapshot's
    /// strategy in the order seen, each run's last snapshot, the final event.
    async fn stream_to_the_end(&self, c: &C) -> (Vec<String>, Vec<Value>, Value) {
        let req = Request::builder()
            .uri(format!("{}/admin/events", self.base))
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let r = c.request(req).await.expect("the stream answers");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "text/event-stream");
        let mut body = r.into_body();
        let (mut seen, mut last): (Vec<String>, Vec<Value>) = (vec![], vec![]);
        let mut buf = String::new();
        loop {
            let frame = body
                .frame()
                .await
                .expect("the stream goes on to the end")
                .unwrap();
            buf.push_str(std::str::from_utf8(&frame.into_data().unwrap()).unwrap());
            while let Some(i) = buf.find("\n\n") {
                let ev: String = buf.drain(..i + 2).collect();
                let kind = ev.lines().find_map(|l| l.strip_prefix("event: ")).unwrap();
                let data = ev.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
                let v: Value = serde_json::from_str(data).unwrap();
                match kind {
                    "final" => return (seen, last, v),
                    "snapshot" => {
                        let st = v["strategy"].as_str().unwrap().to_string();
                        match seen.iter().position(|s| *s == st) {
                            Some(i) => last[i] = v,
                            None => {
                                seen.push(st);
                                last.push(v);
                            }
                        }
                    }
                    "play" => assert!(v["speed"].as_f64().unwrap() >= 1.0, "{v}"),
                    other => panic!("unexpected event {other}: {v}"),
                }
            }
        }
    }
}

fn client() -> C {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A final event's runs as reports.
fn reports(fin: &Value) -> Vec<Report> {
    serde_json::from_value(fin["runs"].clone()).expect("the final event holds reports")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_web_ends_with_the_batch_reports_carts_lost() {
    let w = web(&["run", "az-outage", "--speed", "10000"]);
    let c = client();
    let (seen, last, fin) = w.stream_to_the_end(&c).await;
    assert_eq!(seen, ["sticky"]);
    let page = reports(&fin);
    let batch = stratus::run(&bundled("az-outage"), Strategy::Sticky, 7);
    assert!(
        batch.shoppers.carts_lost > 0,
        "sticky loses carts in az-outage"
    );
    assert_eq!(page[0].shoppers.carts_lost, batch.shoppers.carts_lost);
    assert_eq!(
        last[0]["totals"]["carts_lost"].as_u64(),
        Some(batch.shoppers.carts_lost),
        "the last snapshot's running count is the report's"
    );
    assert!(fin["lesson"].as_str().unwrap().starts_with("sticky lost "));
    // The page's report, and the one printed, are the batch run's, whole.
    let mut b = batch.clone();
    b.series = None;
    assert_eq!(json_outside_wall(&page[0]), json_outside_wall(&b));
    let (code, out) = w.wait();
    assert_eq!(code, Some(0));
    let printed: Report = serde_json::from_str(&out).expect("the printed JSON report");
    assert_eq!(json_outside_wall(&printed), json_outside_wall(&b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_web_has_a_column_per_strategy_ending_with_the_json_figures() {
    let w = web(&["compare", "az-outage", "--speed", "10000"]);
    let c = client();
    let (seen, _, fin) = w.stream_to_the_end(&c).await;
    assert_eq!(seen, ["sticky", "cookie", "store"]);
    let page = reports(&fin);
    let (code, out) = w.wait();
    assert_eq!(code, Some(0));
    let printed: Value = serde_json::from_str(&out).expect("the printed JSON comparison");
    let sc = bundled("az-outage");
    for (i, st) in Strategy::COMPARED.iter().enumerate() {
        let batch = stratus::run(&sc, *st, sc.seed);
        assert_eq!(page[i].strategy, st.name());
        assert_eq!(
            page[i].shoppers.carts_lost, batch.shoppers.carts_lost,
            "{st}"
        );
        assert_eq!(
            printed["runs"][i]["shoppers"]["carts_lost"].as_u64(),
            Some(batch.shoppers.carts_lost),
            "{st}"
        );
    }
    assert!(page[0].shoppers.carts_lost > 0 && page[1].shoppers.carts_lost == 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_from_the_page_goes_into_the_running_simulation() {
    // At ×1 the run is still at its start when the kill arrives; then faster
    // and faster to the end.
    let w = web(&["run", "steady-state", "--speed", "1"]);
    let c = client();
    let token = Some(w.token.as_str());
    let (s, v) = w
        .call(
            &c,
            Method::POST,
            "/admin/play",
            token,
            r#"{"play":"pause"}"#,
        )
        .await;
    assert_eq!(
        (s, v["ok"].as_str()),
        (StatusCode::OK, Some("paused at ×1"))
    );
    let (s, v) = w
        .call(
            &c,
            Method::POST,
            "/admin/actions",
            token,
            r#"{"action":"kill_az","az":"us-east-1b"}"#,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["ok"]
            .as_str()
            .unwrap()
            .starts_with("injected kill_az us-east-1b at "),
        "{v}"
    );
    let (s, v) = w
        .call(
            &c,
            Method::POST,
            "/admin/play",
            token,
            r#"{"play":"resume"}"#,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for _ in 0..14 {
        let (s, _) = w
            .call(
                &c,
                Method::POST,
                "/admin/play",
                token,
                r#"{"play":"faster"}"#,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let (_, _, fin) = w.stream_to_the_end(&c).await;
    let r = &reports(&fin)[0];
    assert_eq!(r.injected.len(), 1, "{:?}", r.injected);
    assert!(
        r.events
            .iter()
            .any(|e| e.kind == "kill_az" && e.detail == "us-east-1b")
    );
    // Once over, the page may look but not act.
    let (s, v) = w
        .call(
            &c,
            Method::POST,
            "/admin/actions",
            token,
            r#"{"action":"rolling_deploy"}"#,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["error"].as_str().unwrap().contains("the run is over"));
    let (code, out) = w.wait();
    assert_eq!(code, Some(0));
    assert!(out.contains("\"injected\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_to_the_simulation_page_gets_a_clear_4xx() {
    let w = web(&["run", "steady-state", "--speed", "1"]);
    let c = client();
    let good = Some(w.token.as_str());
    let (s, _) = w.call(&c, Method::GET, "/", None, "").await;
    assert_eq!(s, StatusCode::OK, "the page is public");
    for (method, path, token, body, want, words) in [
        (Method::GET, "/admin/events", None, "", 401, "wrong token"),
        (
            Method::GET,
            "/admin/events",
            Some("wrong"),
            "",
            401,
            "wrong token",
        ),
        (
            Method::POST,
            "/admin/actions",
            Some("wrong"),
            "{}",
            401,
            "wrong token",
        ),
        (
            Method::POST,
            "/admin/actions",
            good,
            "{not json",
            400,
            "expected a [[timeline]] entry",
        ),
        (
            Method::POST,
            "/admin/actions",
            good,
            r#"{"action":"explode"}"#,
            422,
            "unknown action",
        ),
        (
            Method::POST,
            "/admin/actions",
            good,
            r#"{"action":"kill_az","az":"mars-1a"}"#,
            422,
            "is not in the region",
        ),
        (
            Method::POST,
            "/admin/play",
            good,
            r#"{"play":"warp"}"#,
            400,
            "faster, slower, pause or resume",
        ),
        (
            Method::POST,
            "/admin/play",
            good,
            "[]",
            400,
            "faster, slower, pause or resume",
        ),
        (Method::GET, "/admin/play", good, "", 405, "wrong method"),
        (Method::POST, "/admin/events", good, "", 405, "wrong method"),
        (Method::GET, "/nope", good, "", 404, "no such path"),
    ] {
        let (s, v) = w.call(&c, method.clone(), path, token, body).await;
        assert_eq!(s.as_u16(), want, "{method} {path} {body}: {v}");
        let msg = v["error"].as_str().unwrap_or_default();
        assert!(msg.contains(words), "{method} {path} {body}: {msg}");
    }
    let (s, v) = w.call(&c, Method::GET, "/admin/state", good, "").await;
    assert_eq!(s, StatusCode::OK, "still serving: {v}");
    assert_eq!(v["strategy"], "sticky");
    assert_eq!(v["azs"].as_array().unwrap().len(), 3);
    // No page will see the end of this run: the test stops it (Drop).
}

#[test]
fn web_options_are_checked() {
    let bad = |args: &[&str], says: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_stratus"))
            .args(args)
            .output()
            .expect("stratus runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    };
    bad(&["run", "az-outage", "--web", "--tui"], "pick one");
    bad(&["run", "az-outage", "--web-exit"], "--web");
    bad(&["run", "az-outage", "--web", "--db-dir", "x"], "--db-dir");
    bad(
        &["compare", "az-outage", "--web", "--seeds", "2"],
        "--web plays one seed",
    );
    bad(
        &[
            "compare",
            "az-outage",
            "--web",
            "--strategies",
            "cookie,cookie:unsigned",
        ],
        "--web races plain strategies",
    );
    bad(&["run", "az-outage", "--web", "not-an-address"], "invalid");
}
