//! The parity gate: ONNX Runtime must reproduce Burn on every output.

use burn::prelude::*;
use burn::tensor::TensorData;
use cxr_core::{ModelCard, ParityTolerance};
use cxr_models::{BurnOps, Model};
use ort::session::Session;
use ort::value::TensorRef;
use rand::SeedableRng;
use serde::Serialize;

/// The comparison of one output.
#[derive(Debug, Clone, Serialize)]
pub struct OutputParity {
    /// Output name.
    pub name: String,
    /// Shape compared (of the last input batch).
    pub shape: Vec<usize>,
    /// Largest |ORT − Burn|.
    pub max_abs_diff: f64,
    /// Largest |ORT − Burn| / (atol + rtol·|Burn|); ≤ 1 passes.
    pub max_tolerance_ratio: f64,
    /// Elements outside the tolerance.
    pub violations: usize,
    /// Elements compared.
    pub elements: usize,
}

/// The gate's result.
#[derive(Debug, Clone, Serialize)]
pub struct ParityReport {
    /// Tolerance applied.
    pub tolerance: ParityTolerance,
    /// Batch sizes run (more than one: the batch axis is dynamic).
    pub batch_sizes: Vec<usize>,
    /// Seed of the synthetic inputs.
    pub seed: u64,
    /// Per output.
    pub outputs: Vec<OutputParity>,
    /// Whether every element passed.
    pub passed: bool,
}

/// Seeded standard-normal inputs `[n, c, s, s]`.
#[must_use]
pub fn synthetic_input(seed: u64, n: usize, c: usize, s: usize) -> Vec<f32> {
    use rand::Rng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n * c * s * s)
        .map(|_| {
            let u1: f32 = rng.random::<f32>().max(1e-7);
            let u2: f32 = rng.random();
            (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
        })
        .collect()
}

fn values<const D: usize>(t: Tensor<D>) -> anyhow::Result<(Vec<usize>, Vec<f32>)> {
    let dims = t.dims().to_vec();
    let v = t.into_data().convert::<f32>().try_to_vec::<f32>().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok((dims, v))
}

/// Burn's outputs (four, or five with `cam`) for `input` (model must be in validation mode, on a plain device).
///
/// # Errors
/// Tensor conversion failures.
pub fn burn_outputs(model: &Model, input: &[f32], shape: [usize; 4]) -> anyhow::Result<Vec<(Vec<usize>, Vec<f32>)>> {
    let x = Tensor::<4>::from_data(TensorData::new(input.to_vec(), shape), &Device::flex());
    let o = model.run_all(&mut BurnOps, x);
    let mut v = vec![values(o.logits)?, values(o.probabilities)?, values(o.embedding)?, values(o.features)?];
    if let Some(cam) = o.cam {
        v.push(values(cam)?);
    }
    Ok(v)
}

/// Run the gate over batches of `batch_sizes` seeded inputs.
///
/// # Errors
/// ORT failures (a graph ORT cannot run fails the gate by error).
pub fn check(model: &Model, session: &mut Session, card: &ModelCard, tol: ParityTolerance, batch_sizes: &[usize], seed: u64) -> anyhow::Result<ParityReport> {
    let c = &card.outputs;
    let mut names = vec![&c.logits, &c.probabilities, &c.embedding, &c.features];
    if c.cam_support != cxr_core::CamSupport::Unsupported {
        names.push(&c.cam);
    }
    let mut acc: Vec<OutputParity> = names
        .iter()
        .map(|n| OutputParity { name: (*n).clone(), shape: vec![], max_abs_diff: 0.0, max_tolerance_ratio: 0.0, violations: 0, elements: 0 })
        .collect();
    let (ch, s) = (card.preprocess.channels as usize, card.preprocess.size as usize);
    for (i, &n) in batch_sizes.iter().enumerate() {
        let input = synthetic_input(seed.wrapping_add(i as u64), n, ch, s);
        let reference = burn_outputs(model, &input, [n, ch, s, s])?;
        let t = TensorRef::from_array_view(([n, ch, s, s], &input[..]))?;
        let outs = session.run(ort::inputs![c.input.as_str() => t])?;
        if reference.len() != names.len() {
            anyhow::bail!("the model has {} outputs, the card promises {}", reference.len(), names.len());
        }
        for ((name, (shape, want)), a) in names.iter().zip(&reference).zip(acc.iter_mut()) {
            let (oshape, got) = outs[name.as_str()].try_extract_tensor::<f32>()?;
            let oshape: Vec<usize> = oshape.iter().map(|&d| d as usize).collect();
            if oshape != *shape {
                anyhow::bail!("output {name}: ONNX Runtime shape {oshape:?} != Burn shape {shape:?}");
            }
            for (&g, &w) in got.iter().zip(want) {
                let (g, w) = (f64::from(g), f64::from(w));
                let diff = (g - w).abs();
                let ratio = diff / (tol.atol + tol.rtol * w.abs());
                a.max_abs_diff = a.max_abs_diff.max(diff);
                a.max_tolerance_ratio = a.max_tolerance_ratio.max(if ratio.is_nan() { f64::INFINITY } else { ratio });
                a.violations += usize::from(!(ratio <= 1.0));
            }
            a.elements += want.len();
            a.shape.clone_from(shape);
        }
    }
    let passed = acc.iter().all(|a| a.violations == 0 && a.elements > 0);
    Ok(ParityReport { tolerance: tol, batch_sizes: batch_sizes.to_vec(), seed, outputs: acc, passed })
}
