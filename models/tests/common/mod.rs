//! The closed-form fill shared by the golden and weight-loading tests (the same functions as
//! `scripts/golden_reference.py`).
#![allow(dead_code)]

use cxr_models::Model;
use cxr_models::names::torch_names;
use cxr_models::weights::StateDict;

pub(crate) fn fnv1a(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// splitmix64 of (seed, index) → [0, 1), as `uniform` in the script.
pub(crate) fn uniform(seed: u32, i: u64) -> f64 {
    let mut z = u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i.wrapping_mul(0xBF58_476D_1CE4_E5B9)).wrapping_add(1);
    z ^= z >> 30;
    z = z.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^= z >> 27;
    z = z.wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The fill function of `scripts/golden_reference.py`, over the reference tensor's shape.
pub(crate) fn fill(name: &str, shape: &[usize], gain: f64) -> Vec<f32> {
    let n: usize = shape.iter().product();
    let fan_in = if shape.is_empty() || shape[0] == 0 { 1 } else { n / shape[0] };
    let seed = fnv1a(name);
    (0..n)
        .map(|i| {
            let u = uniform(seed, i as u64);
            let s = 2.0 * u - 1.0;
            let v = if name.ends_with("running_var") {
                1.0 + 0.25 * u
            } else if name.ends_with("running_mean") {
                0.01 * s
            } else if shape.len() <= 1 && name.ends_with("weight") {
                1.0 + 0.1 * s
            } else if name.ends_with("bias") {
                0.01 * s
            } else {
                s * (3.0 * gain / fan_in as f64).sqrt()
            };
            v as f32
        })
        .collect()
}

pub(crate) fn image(batch: usize, size: usize) -> Vec<f32> {
    let seed = fnv1a("input");
    (0..batch * 3 * size * size).map(|i| (2.0 * uniform(seed, i as u64) - 1.0) as f32).collect()
}

/// A reference-named state dict for `model`, every tensor filled.
pub(crate) fn state_dict_for(model: &Model, gain: f64) -> StateDict {
    torch_names(model)
        .into_iter()
        .map(|n| {
            let shape = n.torch_shape();
            let values = fill(&n.torch, &shape, gain);
            (n.torch, (shape, values))
        })
        .collect()
}
