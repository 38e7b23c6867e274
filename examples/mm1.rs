//! An M/M/1 queue on Stratus's discrete-event engine, for the SimPy
//! comparison (`scripts/simpy_vs_stratus.py`): the same model SimPy runs,
//! customers arriving at rate λ to one server with exponential service.
//!
//! cargo run --release --example mm1 -- [customers] [rho] [seed]
//!
//! Prints one JSON line: customers served, the mean wait in queue (in mean
//! service times) beside the M/M/1 formula ρ/(1-ρ), and wall-clock seconds.

#![allow(clippy::disallowed_methods)] // the wall clock times the run, outside the model

use std::collections::VecDeque;
use stratus_model::rng::{Rng, Streams};
use stratus_sim::engine::{Engine, Model, Queue, Unpaced};

#[derive(Clone, Copy)]
enum Ev {
    Arrival,
    Departure,
}

struct Mm1 {
    arrivals: Rng,
    services: Rng,
    mean_gap: f64,
    mean_service: f64,
    to_arrive: u64,
    waiting: VecDeque<u64>,
    busy: bool,
    served: u64,
    wait_sum: u128,
}

impl Model for Mm1 {
    type Event = Ev;
    fn handle(&mut self, now: u64, ev: Ev, q: &mut Queue<Ev>) {
        match ev {
            Ev::Arrival => {
                if self.to_arrive > 1 {
                    self.to_arrive -= 1;
                    q.after(self.arrivals.exp(self.mean_gap) as u64, Ev::Arrival);
                }
                if self.busy {
                    self.waiting.push_back(now);
                } else {
                    self.busy = true;
                    q.after(self.services.exp(self.mean_service) as u64, Ev::Departure);
                }
            }
            Ev::Departure => {
                self.served += 1;
                match self.waiting.pop_front() {
                    Some(t) => {
                        self.wait_sum += u128::from(now - t);
                        q.after(self.services.exp(self.mean_service) as u64, Ev::Departure);
                    }
                    None => self.busy = false,
                }
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let customers: u64 = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let rho: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0.8);
    let seed: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    let streams = Streams::new(seed);
    let mean_service = 1_000_000.0; // 1 ms in ns
    let start = std::time::Instant::now();
    let mut e = Engine::new(Mm1 {
        arrivals: streams.stream("arrivals"),
        services: streams.stream("services"),
        mean_gap: mean_service / rho,
        mean_service,
        to_arrive: customers,
        waiting: VecDeque::new(),
        busy: false,
        served: 0,
        wait_sum: 0,
    });
    e.queue.at(0, Ev::Arrival);
    e.run_until(u64::MAX, &mut Unpaced);
    let secs = start.elapsed().as_secs_f64();
    let m = &e.model;
    println!(
        "{{\"customers\": {}, \"events\": {}, \"mean_wait\": {:.4}, \"theory\": {:.4}, \"seconds\": {:.4}}}",
        m.served,
        e.events,
        m.wait_sum as f64 / m.served as f64 / mean_service,
        rho / (1.0 - rho),
        secs
    );
}
