//! Per-provider parity: the same model on the CPU provider and on another provider, fed the same
//! seeded random inputs; the largest absolute difference per output. The CPU provider is the
//! reference. A provider is "verified" only once such a report exists from a machine that has it
//! (README, "Execution providers").

use cxr_runtime::{EpOptions, Provider};
use ort::value::TensorRef;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::path::Path;

/// Largest |difference| accepted on probabilities (fp32 kernels on different hardware).
pub const TOLERANCE: f32 = 1e-3;
/// With TensorRT fp16 engines.
pub const TOLERANCE_FP16: f32 = 2e-2;

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct ParityReport {
    /// Provider compared.
    pub provider: String,
    /// Provider the session ran on (differs under --ep-fallback).
    pub ran_on: String,
    /// Model SHA-256.
    pub model_sha256: String,
    /// Inputs compared.
    pub inputs: usize,
    /// Per output: name and max |difference|.
    pub per_output: Vec<(String, f32)>,
    /// Over the probabilities.
    pub max_abs_difference: f32,
    /// Tolerance applied.
    pub tolerance: f32,
    /// Whether the probabilities agree within it.
    pub within_tolerance: bool,
}

/// Build both sessions and compare.
///
/// # Errors
/// An unavailable provider (exit 6), integrity refusals, ORT failures.
pub fn parity(model: &Path, expect: Option<&str>, ort_lib: Option<&Path>, ep: &EpOptions, threads: usize, inputs: usize, seed: u64) -> anyhow::Result<ParityReport> {
    let mut gpu = crate::integrity::open(model, expect, ort_lib, ep, threads)?;
    let mut cpu = crate::integrity::open(model, expect, ort_lib, &EpOptions::new(Provider::Cpu), threads)?;
    let card = cpu.card.clone();
    let (ch, s) = (card.preprocess.channels as usize, card.preprocess.size as usize);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut outputs = vec![card.outputs.probabilities.clone(), card.outputs.logits.clone()];
    if card.outputs.features_available {
        outputs.push(card.outputs.embedding.clone());
    }
    let mut worst = vec![0.0f32; outputs.len()];
    for _ in 0..inputs.max(1) {
        let x: Vec<f32> = (0..ch * s * s).map(|_| rng.random_range(-2.0f32..2.0)).collect();
        let run = |m: &mut crate::integrity::OpenModel| -> anyhow::Result<Vec<Vec<f32>>> {
            let outs = m.session.run(ort::inputs![card.outputs.input.as_str() => TensorRef::from_array_view(([1usize, ch, s, s], &x[..]))?])?;
            outputs.iter().map(|n| Ok(outs[n.as_str()].try_extract_tensor::<f32>()?.1.to_vec())).collect()
        };
        let (a, b) = (run(&mut cpu)?, run(&mut gpu)?);
        for (k, (u, v)) in a.iter().zip(&b).enumerate() {
            let d = u.iter().zip(v).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
            worst[k] = worst[k].max(d);
        }
    }
    let tolerance = if ep.provider == Provider::TensorRt && ep.trt_fp16 { TOLERANCE_FP16 } else { TOLERANCE };
    Ok(ParityReport {
        provider: ep.provider.name().into(),
        ran_on: gpu.ran_on.provider.name().into(),
        model_sha256: gpu.verified.sha256.clone(),
        inputs: inputs.max(1),
        per_output: outputs.iter().cloned().zip(worst.iter().copied()).collect(),
        max_abs_difference: worst[0],
        tolerance,
        within_tolerance: worst[0] <= tolerance,
    })
}
