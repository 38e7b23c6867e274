//! Which product a product page shows: Zipf over the catalogue, so a few
//! products take most of the views (the cache's subject). One table, read
//! by the simulation's shoppers and by `stratus load`'s alike.

use crate::core::Kind;
use crate::rng::Rng;

/// Cumulative product-page popularity over the catalogue.
#[derive(Clone, Debug)]
pub struct Popularity(Vec<f64>);

impl Popularity {
    /// `catalog` products, Zipf exponent `exponent` (0: uniform).
    pub fn new(catalog: u32, exponent: f64) -> Popularity {
        let w: Vec<f64> = (1..=catalog.max(1))
            .map(|k| 1.0 / f64::from(k).powf(exponent))
            .collect();
        let total: f64 = w.iter().sum();
        let mut acc = 0.0;
        Popularity(
            w.iter()
                .map(|x| {
                    acc += x / total;
                    acc
                })
                .collect(),
        )
    }

    /// The product at quantile `u` of the popularity.
    pub fn pick(&self, u: f64) -> u32 {
        self.0.partition_point(|&c| c < u).min(self.0.len() - 1) as u32
    }

    /// The product a shopper's page of `kind` shows, drawn from the
    /// shopper's own stream: one for a product page, none for another.
    pub fn draw(&self, kind: Kind, rng: &mut Rng) -> Option<u32> {
        (kind == Kind::Product).then(|| self.pick(rng.unit()))
    }
}
