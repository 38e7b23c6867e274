//! The integration suite, one test binary: the harness spreads every test
//! over the cores at once, where one binary per file ran the files one after
//! another (the suite took 8 minutes on 2 cores, mostly waiting on one slow
//! file while the other core idled).

mod common;

mod actions;
mod arrivals;
mod bad_input;
mod calls;
mod cli;
mod crates;
mod cross_az;
mod data;
mod determinism;
mod diff;
mod dns;
mod elastic;
mod live;
mod live_actions;
mod live_network;
mod live_retry;
mod live_scenario;
mod live_tools;
mod parity;
mod properties;
mod retries;
mod scenarios;
mod schema;
mod security;
mod sessions;
mod shard;
mod slowloris;
mod theory;
mod tour;
mod tui;
mod web;
mod web_sim;
