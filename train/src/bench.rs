//! `cxr-train bench`: forward and forward+backward throughput of one architecture on `flex`
//! (synthetic input, 3 channels, the shared nine labels), the figures BENCHMARKS.md puts next
//! to PyTorch's for the same architecture (`scripts/bench_zoo.sh`).

use crate::loss::masked_bce_with_logits;
use burn::prelude::*;
use burn::tensor::Distribution;
use std::time::Instant;

/// One architecture's throughput.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ZooBench {
    /// Architecture.
    pub arch: String,
    /// Input side.
    pub size: usize,
    /// Batch size.
    pub batch: usize,
    /// Timed iterations per mode (after the warm-up ones).
    pub iters: usize,
    /// Inference (`valid()` model): images per second, median iteration.
    pub forward_images_per_s: f64,
    /// Training step without the optimizer: forward (BatchNorm in training mode), BCE loss,
    /// backward; images per second, median iteration.
    pub forward_backward_images_per_s: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Time `iters` iterations of each mode after `warmup` untimed ones.
///
/// # Errors
/// An unknown architecture or an input size it cannot take.
pub fn bench_arch(arch: &str, size: usize, batch: usize, iters: usize, warmup: usize) -> anyhow::Result<ZooBench> {
    cxr_models::check_input_size(arch, size as u32)?;
    let k = cxr_core::SHARED9.len();
    let plain = Device::flex();
    plain.seed(1);
    let model = cxr_models::build(arch, k, 3, 0.0, &plain)?.valid();
    let x = Tensor::<4>::random([batch, 3, size, size], Distribution::Normal(0.0, 1.0), &plain);
    let mut fwd = Vec::new();
    for i in 0..warmup + iters {
        let t = Instant::now();
        let _: Vec<f32> = model.forward(x.clone()).into_data().try_to_vec().map_err(|e| anyhow::anyhow!("{e:?}"))?;
        if i >= warmup {
            fwd.push(batch as f64 / t.elapsed().as_secs_f64());
        }
    }
    drop(model);
    let ad = Device::flex().autodiff();
    ad.seed(1);
    let model = cxr_models::build(arch, k, 3, 0.0, &ad)?;
    let x = Tensor::<4>::random([batch, 3, size, size], Distribution::Normal(0.0, 1.0), &ad);
    let y = Tensor::<2>::zeros([batch, k], &ad);
    let m = Tensor::<2>::ones([batch, k], &ad);
    let mut train = Vec::new();
    for i in 0..warmup + iters {
        let t = Instant::now();
        let loss = masked_bce_with_logits(model.forward(x.clone()), y.clone(), m.clone());
        let grads = loss.backward();
        drop(grads);
        if i >= warmup {
            train.push(batch as f64 / t.elapsed().as_secs_f64());
        }
    }
    Ok(ZooBench { arch: arch.to_string(), size, batch, iters, forward_images_per_s: median(fwd), forward_backward_images_per_s: median(train) })
}
