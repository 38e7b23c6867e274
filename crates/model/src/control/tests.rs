//! The control plane on its own: inputs in, effects out, no driver.

use super::*;
use crate::rng::Streams;
use crate::session::store::StoreConfig;

fn scenario() -> Scenario {
    let text = crate::bundled::find("az-outage").expect("bundled");
    let mut sc = crate::parse_scenario("az-outage.toml", text).expect("parses");
    sc.timeline.clear();
    sc
}

fn store(sc: &Scenario) -> Store {
    let cfg = StoreConfig::redis(&sc.sessions.store, sc.region.azs.len());
    Store::new(cfg, Streams::new(1).stream("store_lag"))
}

/// Hands `input` to `cp` at `now` with a data tier of just `store`.
fn handle(cp: &mut ControlPlane, now: SimTime, input: Input, store: &mut Store) -> Vec<Effect> {
    let mut tier = Data {
        store,
        db: None,
        cache: None,
    };
    let mut out = Vec::new();
    cp.handle(now, input, &mut tier, &mut out);
    out
}

fn kinds(effects: &[Effect]) -> Vec<&'static str> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Log { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect()
}

#[test]
fn the_starting_fleet_serves_at_once_with_its_checks_spread_over_the_interval() {
    let sc = scenario();
    let mut cp = ControlPlane::new(&sc, Strategy::Sticky);
    let mut out = Vec::new();
    cp.start(&mut out);
    let checks: Vec<SimTime> = out
        .iter()
        .map(|e| match e {
            Effect::Serve { check_at, .. } => *check_at,
            other => panic!("only Serve at the start, got {other:?}"),
        })
        .collect();
    assert_eq!(checks.len(), sc.fleet.desired as usize);
    assert_eq!(checks[0], 0);
    assert!(checks.windows(2).all(|w| w[0] < w[1]));
    assert!(*checks.last().unwrap() < sc.load_balancer.health_check.interval.0);
}

#[test]
fn an_az_dies_in_order_charged_before_freed_and_the_group_launches_elsewhere() {
    let sc = scenario();
    let mut st = store(&sc);
    let mut cp = ControlPlane::new(&sc, Strategy::Sticky);
    cp.start(&mut Vec::new());
    let now = 10 * SEC;
    let out = handle(
        &mut cp,
        now,
        Input::Action(&Action::KillAz { az: 1 }),
        &mut st,
    );
    assert_eq!(kinds(&out)[0], "kill_az");
    // Each of the AZ's nodes: its carts counted, then its memory freed.
    let dead: Vec<NodeId> = cp
        .fleet
        .nodes
        .iter()
        .filter(|n| n.az == 1)
        .map(|n| n.id)
        .collect();
    assert!(!dead.is_empty());
    for id in &dead {
        let charged = out
            .iter()
            .position(|e| matches!(e, Effect::Charge { fault: 0, node } if node == id));
        let stopped = out
            .iter()
            .position(|e| matches!(e, Effect::Stop { node, state: NodeState::Dead } if node == id));
        assert!(charged.unwrap() < stopped.unwrap(), "{out:?}");
    }
    // Replacements boot for the launch time, none in the dead AZ.
    let launched: Vec<NodeId> = out
        .iter()
        .filter_map(|e| match e {
            Effect::Wake {
                at,
                timer: Timer::Launched { node },
            } => {
                assert_eq!(*at, now + sc.fleet.launch_time.0);
                Some(*node)
            }
            _ => None,
        })
        .collect();
    assert_eq!(launched.len(), dead.len());
    assert!(
        launched
            .iter()
            .all(|&id| cp.fleet.nodes[id as usize].az != 1)
    );
    assert_eq!(cp.faults.len(), 1);
    assert!(!cp.alive[1] && !cp.net.lb_up[1]);
    // Booted, a replacement registers and its checks start at once.
    let up = handle(
        &mut cp,
        now + 60 * SEC,
        Input::Timer(Timer::Launched { node: launched[0] }),
        &mut st,
    );
    assert!(
        matches!(up[0], Effect::Serve { node, check_at } if node == launched[0] && check_at == now + 60 * SEC)
    );
    assert_eq!(kinds(&up), ["node_in_service"]);
}

#[test]
fn a_draining_node_terminates_with_its_last_request_not_before() {
    let mut sc = scenario();
    sc.fleet.min = 1;
    let mut st = store(&sc);
    let mut cp = ControlPlane::new(&sc, Strategy::Store);
    cp.start(&mut Vec::new());
    // Two requests on the node scale-in will pick.
    let desired = cp.fleet.desired;
    cp.fleet.desired -= 1;
    let victim = cp.fleet.scale_in_victims(cp.alive.len())[0];
    cp.fleet.desired += 1;
    let stuck = crate::lb::LbCookie {
        node: victim,
        expires: SimTime::MAX,
    };
    for _ in 0..2 {
        cp.lb.route(Some(stuck), 0);
    }
    let set = Action::SetDesired { value: desired - 1 };
    let out = handle(&mut cp, SEC, Input::Action(&set), &mut st);
    assert_eq!(kinds(&out), ["set_desired", "node_draining"]);
    let out = handle(&mut cp, 2 * SEC, Input::Released { node: victim }, &mut st);
    assert!(out.is_empty(), "one request still on it: {out:?}");
    let out = handle(&mut cp, 3 * SEC, Input::Released { node: victim }, &mut st);
    assert_eq!(kinds(&out), ["node_terminated"]);
    // Its deregistration deadline finds it gone: nothing more.
    let late = Input::Timer(Timer::DrainDeadline { node: victim });
    assert!(handle(&mut cp, 400 * SEC, late, &mut st).is_empty());
}

#[test]
fn a_store_failover_drops_then_promotes_when_its_timer_comes() {
    let sc = scenario();
    let mut st = store(&sc);
    let mut cp = ControlPlane::new(&sc, Strategy::Store);
    cp.start(&mut Vec::new());
    let out = handle(
        &mut cp,
        SEC,
        Input::Action(&Action::KillStorePrimary),
        &mut st,
    );
    assert!(
        matches!(out[1], Effect::StoreLoss { fault: 0, .. }),
        "{out:?}"
    );
    assert_eq!(kinds(&out), ["kill_store_primary", "store_primary_lost"]);
    let Some(&Effect::Wake { at, timer }) = out.last() else {
        panic!("a promotion to wait for: {out:?}")
    };
    assert!(matches!(timer, Timer::StorePromote { .. }));
    let out = handle(&mut cp, at, Input::Timer(timer), &mut st);
    assert_eq!(kinds(&out), ["store_promoted"]);
    assert!(st.primary_az(0).is_some());
}
