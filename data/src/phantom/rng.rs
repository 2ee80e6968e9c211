//! Per-item RNG streams and the few distributions the generator needs.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A reproducible stream for item `index` of `stream` under `seed` (ChaCha8 is portable across
/// platforms and rand versions' value-stability policy).
pub(crate) fn stream(seed: u64, stream: &str, index: u64) -> ChaCha8Rng {
    let h = blake3::hash(format!("{seed}\0{stream}\0{index}").as_bytes());
    ChaCha8Rng::from_seed(*h.as_bytes())
}

pub(crate) fn uniform(rng: &mut impl Rng, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * rng.random::<f32>()
}

pub(crate) fn chance(rng: &mut impl Rng, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// Standard normal by Box–Muller.
pub(crate) fn normal(rng: &mut impl Rng) -> f32 {
    let u1 = rng.random::<f32>().max(1e-7);
    let u2 = rng.random::<f32>();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}
