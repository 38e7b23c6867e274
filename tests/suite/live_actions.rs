//! The one action vocabulary on the live shop: `POST /admin/actions` takes
//! every timeline action in the timeline's own form and applies it or says
//! why the live driver cannot; `stratus load --scenario` sends every action
//! its timeline has; the live log names events as the simulation does.

use crate::common;
use crate::common::live::{C, az_of, call, client, scenario, state_until};
use hyper::{Method, StatusCode};
use serde_json::Value;
use stratus::live::Handle;
use stratus::scenario::{Action, ActionEntry, Strategy, Timed};
use stratus::time::Dur;

async fn start() -> Handle {
    common::live::start(scenario("live-actions"), Strategy::Sticky, false).await
}

async fn post_action(c: &C, h: &Handle, json: &str) -> (StatusCode, Value) {
    call(c, h, Method::POST, "/admin/actions", Some(&h.token), json).await
}

fn kinds(state: &Value) -> Vec<String> {
    state["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_timeline_action_is_applied_or_refused_with_its_reason() {
    let h = start().await;
    let c = client();
    let sc = scenario("live-actions");
    let azs = &sc.region.azs;
    // The one action the shop refuses: the arrival rate is the shoppers'.
    let a = Action::SetArrivals { value: 5.0 };
    let json = ActionEntry::of(&a, azs).to_string();
    let (s, v) = post_action(&c, &h, &json).await;
    assert_eq!(s, StatusCode::NOT_IMPLEMENTED, "{json}: {v}");
    let why = v["error"].as_str().unwrap();
    assert!(
        why.starts_with("set_arrivals is not applied by the live shop: "),
        "{why}"
    );
    // Entries the shared check refuses, as it refuses them in a scenario file.
    for (json, want, words) in [
        (r#"{"action":"kill_az"}"#, 422, "kill_az needs `az`"),
        (
            r#"{"action":"kill_az","az":"mars-1a"}"#,
            422,
            "is not in the region",
        ),
        (r#"{"action":"set_desired","value":99}"#, 422, "fleet.max"),
        (r#"{"action":"kill_db_primary"}"#, 422, "needs a database"),
        (r#"{"action":"explode"}"#, 422, "unknown action"),
        (r#"{"action":"kill_az","zone":"x"}"#, 400, "unknown field"),
        (r#"not json"#, 400, "expected a [[timeline]] entry"),
    ] {
        let (s, v) = post_action(&c, &h, json).await;
        assert_eq!(s.as_u16(), want, "{json}: {v}");
        assert!(v["error"].as_str().unwrap().contains(words), "{json}: {v}");
    }
    // kill_node: the oldest node dies; the balancer finds it unhealthy and
    // the group replaces it; the log names each step as the simulation does.
    let (s, v) = post_action(&c, &h, r#"{"action":"kill_node","count":1}"#).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["ok"].as_str().unwrap().contains("node-0"), "{v}");
    let replaced = |st: &Value| kinds(st).iter().any(|k| k == "target_unhealthy");
    let st = state_until(&c, &h, 200, replaced).await;
    let k = kinds(&st);
    let pos = |name: &str| k.iter().position(|x| x == name).unwrap_or(usize::MAX);
    assert!(pos("kill_node") < pos("node_dead"), "{k:?}");
    assert!(pos("node_dead") < pos("target_unhealthy"), "{k:?}");
    for live_only_name in ["unhealthy", "draining", "terminated", "healthy"] {
        assert!(!k.iter().any(|x| x == live_only_name), "{k:?}");
    }
    // The applied actions, in the same form.
    for a in [
        Action::SetDesired { value: 4 },
        Action::KillAz { az: 2 },
        Action::RestoreAz { az: 2 },
        Action::KillStorePrimary,
    ] {
        let json = ActionEntry::of(&a, azs).to_string();
        let (s, v) = post_action(&c, &h, &json).await;
        assert_eq!(s, StatusCode::OK, "{json}: {v}");
    }
    h.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_applies_every_timeline_action_and_records_each() {
    let h = start().await;
    let mut sc = scenario("live-actions");
    sc.workload.think_time = Dur::from_ms(150);
    let at = |ms: u64, action: Action| Timed {
        at: Dur::from_ms(ms),
        action,
    };
    sc.timeline = vec![
        at(500, Action::KillNode { az: None, count: 1 }),
        at(1000, Action::SetArrivals { value: 0.0 }),
        at(
            1500,
            Action::PartitionAz {
                az: 1,
                duration: Dur::from_secs(1),
            },
        ),
        at(2000, Action::SetDesired { value: 5 }),
    ];
    let r = common::live::load(&h, sc, 40.0, 3, 5).await;
    h.shutdown();
    let ev = |kind: &str| {
        r.events
            .iter()
            .find(|e| e.kind == kind)
            .unwrap_or_else(|| panic!("no {kind} in {:?}", r.events))
    };
    assert!(ev("kill_node").detail.contains("node-0"), "{:?}", r.events);
    assert_eq!(ev("set_arrivals").detail, "0/s");
    assert!(
        ev("partition_az").detail == "partitioned us-east-1b for 1s",
        "{:?}",
        r.events
    );
    assert_eq!(ev("set_desired").detail, "desired capacity 5");
    let faults: Vec<&str> = r.faults.iter().map(|f| f.action.as_str()).collect();
    assert_eq!(faults, ["kill_node", "partition_az"]);
    // With the rate at zero from 1 s, no shopper starts after it: at 40/s
    // over 3 s, about 120 would have; about 40 came before.
    assert!(r.shoppers.started < 80, "{:#?}", r.shoppers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_launches_go_to_the_other_azs_until_the_block_ends() {
    let h = start().await;
    let c = client();
    let block = r#"{"action":"block_launches","az":"us-east-1a","duration":"1s"}"#;
    assert_eq!(post_action(&c, &h, block).await.0, StatusCode::OK);
    let kill = r#"{"action":"kill_node","az":"us-east-1a","count":2}"#;
    let (s, v) = post_action(&c, &h, kill).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let st = call(&c, &h, Method::GET, "/admin/state", Some(&h.token), "")
        .await
        .1;
    let nodes = st["nodes"].as_array().unwrap();
    // Six nodes at start; the two replacements are the newest.
    let new: Vec<&str> = nodes[6..].iter().map(|n| az_of(&st, n)).collect();
    assert_eq!(new.len(), 2, "{st}");
    assert!(new.iter().all(|az| *az != "us-east-1a"), "{new:?}");
    let unblocked = |st: &Value| kinds(st).iter().any(|k| k == "launches_unblocked");
    let st = state_until(&c, &h, 200, unblocked).await;
    assert!(unblocked(&st), "{:?}", kinds(&st));
    h.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_az_is_rebalanced_into_as_the_model_decides() {
    let h = start().await;
    let c = client();
    let kill = r#"{"action":"kill_az","az":"us-east-1c"}"#;
    assert_eq!(post_action(&c, &h, kill).await.0, StatusCode::OK);
    let serving = |st: &Value, az: &str| {
        st["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| az_of(st, n) == az && n["state"] == "inservice" && n["health"] == "healthy")
            .count()
    };
    let per_az = |st: &Value| ["us-east-1a", "us-east-1b", "us-east-1c"].map(|az| serving(st, az));
    let st = state_until(&c, &h, 200, |st| per_az(st) == [3, 3, 0]).await;
    assert_eq!(
        per_az(&st),
        [3, 3, 0],
        "the replacements went to the live AZs"
    );
    let restore = r#"{"action":"restore_az","az":"us-east-1c"}"#;
    assert_eq!(post_action(&c, &h, restore).await.0, StatusCode::OK);
    let st = state_until(&c, &h, 400, |st| per_az(st) == [2, 2, 2]).await;
    h.shutdown();
    assert_eq!(per_az(&st), [2, 2, 2], "{:?}", kinds(&st));
    let k = kinds(&st);
    let pos = |name: &str| k.iter().rposition(|x| x == name).unwrap_or(usize::MAX);
    assert!(pos("restore_az") < pos("az_rebalance"), "{k:?}");
    assert!(pos("az_rebalance") < pos("node_draining"), "{k:?}");
}

/// The gray faults on the live shop: with `inject_errors` at chance 1 on
/// every node, every page is a 500 while health checks pass (no node is
/// marked unhealthy); when its duration ends, pages are served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_errors_answer_500_until_they_end_and_pass_health_checks() {
    let h = start().await;
    let c = client();
    let page = |c: &C| {
        let uri = format!("http://{}/", h.shop);
        let c = c.clone();
        async move { c.get(uri.parse().unwrap()).await.unwrap().status() }
    };
    assert_eq!(page(&c).await, StatusCode::OK);
    let json = r#"{"action":"inject_errors","value":1.0,"duration":"1s"}"#;
    let (s, v) = post_action(&c, &h, json).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["ok"].as_str().unwrap().contains("every node: 5xx 100%"),
        "{v}"
    );
    for _ in 0..5 {
        assert_eq!(page(&c).await, StatusCode::INTERNAL_SERVER_ERROR);
    }
    let ended = |st: &Value| kinds(st).iter().any(|k| k == "degradation_ended");
    let st = state_until(&c, &h, 200, ended).await;
    assert!(ended(&st), "{:?}", kinds(&st));
    assert!(!kinds(&st).iter().any(|k| k == "target_unhealthy"));
    assert_eq!(page(&c).await, StatusCode::OK);
    h.shutdown();
}
