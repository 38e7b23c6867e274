//! The browser pages without a browser: the HTML report is escaped, fetches
//! nothing and shows the JSON report's figures; the dashboard's page and
//! event stream are served on the admin address, and bad input to them gets
//! a clear 4xx. (scripts/web-e2e.sh drives both pages in headless Chromium.)

use crate::common;
use crate::common::live::{C, call, client, scenario};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::AUTHORIZATION;
use hyper::{Method, Request, StatusCode};
use serde_json::Value;
use stratus::Strategy;
use stratus::report::html;

/// The text of each `<td>` in the row of figure `key`, by run label.
fn cells(page: &str, key: &str) -> Vec<(String, String)> {
    let row = page
        .split(&format!("<tr data-figure=\"{key}\""))
        .nth(1)
        .expect("the figure's row")
        .split("</tr>")
        .next()
        .unwrap();
    row.split("<td data-run=\"")
        .skip(1)
        .map(|c| {
            let (run, rest) = c.split_once("\">").unwrap();
            (
                run.to_string(),
                rest.split("</td>").next().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_compare_report_page_shows_the_json_figures_and_fetches_nothing() {
    let text = stratus::bundled::find("az-outage").unwrap();
    let sc = stratus::parse_scenario("az-outage", text).unwrap();
    let runs: Vec<_> = Strategy::COMPARED
        .iter()
        .map(|&st| stratus::run(&sc, st, sc.seed))
        .collect();
    let page = html::report(&runs, runs.len(), text);
    let json: Value =
        serde_json::from_str(&serde_json::json!({ "runs": runs }).to_string()).unwrap();
    let got = cells(&page, "carts_lost");
    assert_eq!(got.len(), 3);
    for (i, (run, cell)) in got.iter().enumerate() {
        let want = &json["runs"][i];
        assert_eq!(run, want["strategy"].as_str().unwrap());
        assert_eq!(
            cell.replace(',', "").parse::<u64>().unwrap(),
            want["shoppers"]["carts_lost"].as_u64().unwrap(),
            "{run}"
        );
    }
    assert!(got[0].1 != "0", "sticky loses carts in az-outage: {got:?}");
    // Self-contained: nothing to fetch, and a policy forbidding it.
    let lower = page.to_lowercase();
    for bad in ["src=", "href=", "<link", "@import", "url("] {
        assert!(!lower.contains(bad), "the page has {bad}");
    }
    assert!(page.contains("content=\"default-src 'none'"));
    // The lesson, the plots with their fault marker, the log, the file.
    assert!(page.contains("sticky lost "));
    assert!(page.contains("<svg") && page.contains(">kill_az"));
    assert!(page.contains("<table class=\"log\" id=\"event-log\">"));
    assert!(page.contains("name = &quot;az-outage&quot;"));
}

async fn get(c: &C, url: &str, token: Option<&str>) -> hyper::Response<hyper::body::Incoming> {
    let mut b = Request::builder().uri(url);
    if let Some(t) = token {
        b = b.header(AUTHORIZATION, format!("Bearer {t}"));
    }
    c.request(b.body(Full::new(Bytes::new())).unwrap())
        .await
        .expect("the admin address answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_page_and_its_stream_are_served_and_guarded() {
    let h = common::live::start(scenario("web"), Strategy::Sticky, false).await;
    let c = client();
    let base = format!("http://{}", h.admin);
    // The page: public (no data in it), not cached, no referrer.
    let r = get(&c, &format!("{base}/"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let hd = r.headers();
    assert_eq!(hd["referrer-policy"], "no-referrer");
    assert_eq!(hd["cache-control"], "no-store");
    assert!(
        hd["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = r.into_body().collect().await.unwrap().to_bytes();
    let page = String::from_utf8(body.to_vec()).unwrap();
    assert!(page.contains("history.replaceState") && page.contains("/admin/events"));
    // The stream: the token, or 401.
    for t in [None, Some("wrong")] {
        let r = get(&c, &format!("{base}/admin/events"), t).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{t:?}");
    }
    let r = get(&c, &format!("{base}/admin/events"), Some(&h.token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let mut body = r.into_body();
    let mut got = String::new();
    while !got.contains("\n\n") {
        let frame = body.frame().await.expect("a frame").unwrap();
        let data = frame.into_data().unwrap();
        got.push_str(std::str::from_utf8(&data).unwrap());
    }
    let json = got
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .expect("a data line");
    let snap: Value = serde_json::from_str(json).unwrap();
    assert_eq!(snap["azs"].as_array().unwrap().len(), 3, "{snap}");
    drop(body);
    // Bad input: a clear 4xx with the reason, and the server goes on.
    for (method, path, token, json, want, words) in [
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
            None,
            "{}",
            401,
            "wrong token",
        ),
        (
            Method::POST,
            "/admin/actions",
            Some(h.token.as_str()),
            "{not json",
            400,
            "expected a [[timeline]] entry",
        ),
        (
            Method::POST,
            "/admin/actions",
            Some(h.token.as_str()),
            r#"{"action":"explode"}"#,
            422,
            "unknown action",
        ),
        (
            Method::POST,
            "/admin/actions",
            Some(h.token.as_str()),
            r#"{"action":"kill_az","az":"mars-1a"}"#,
            422,
            "is not in the region",
        ),
        (
            Method::POST,
            "/",
            Some(h.token.as_str()),
            "",
            405,
            "wrong method",
        ),
        (
            Method::POST,
            "/admin/events",
            Some(h.token.as_str()),
            "",
            405,
            "wrong method",
        ),
        (
            Method::GET,
            "/nope",
            Some(h.token.as_str()),
            "",
            404,
            "no such admin path",
        ),
    ] {
        let (s, v) = call(&c, &h, method.clone(), path, token, json).await;
        assert_eq!(s.as_u16(), want, "{method} {path} {json}: {v}");
        let msg = v["error"].as_str().unwrap_or_default();
        assert!(msg.contains(words), "{method} {path} {json}: {msg}");
    }
    let (s, v) = call(&c, &h, Method::GET, "/admin/state", Some(&h.token), "").await;
    assert_eq!(s, StatusCode::OK, "still serving: {v}");
    h.shutdown();
}
