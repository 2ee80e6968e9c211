//! `cxr-train bench`: forward and forward+backward throughput of one architecture on `flex`
//! (synthetic input, 3 channels, the shared nine labels), the figures BENCHMARKS.md puts next
//! to PyTorch's for the same architecture (`scripts/bench_zoo.sh`).

use crate::loss::masked_bce_with_logits;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{AvgPool2d, MaxPool2d};
use burn::nn::{BatchNorm, Dropout, Linear};
use burn::prelude::*;
use burn::tensor::Distribution;
use cxr_models::layers::{ChannelNorm, ChannelScale, Grn};
use cxr_models::{Act, BurnOps, Ops};
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

/// Forward time per primitive kind (`cxr-train bench --profile`): every primitive runs through
/// Burn and is waited for before the next starts, so the shares say where an inference's time
/// goes (at the cost of the overlap a free-running forward would have).
#[derive(Default)]
struct Profile {
    times: std::collections::BTreeMap<&'static str, (f64, usize)>,
}

impl Profile {
    fn done<const D: usize>(&mut self, kind: &'static str, t: Instant, y: &Tensor<D>) {
        // Reading one element forces the result.
        let one: Vec<f32> = y.clone().flatten::<1>(0, D - 1).slice(0..1).into_data().try_to_vec().unwrap_or_default();
        std::hint::black_box(one);
        let e = self.times.entry(kind).or_default();
        e.0 += t.elapsed().as_secs_f64();
        e.1 += 1;
    }
}

fn conv_kind(m: &Conv2d) -> &'static str {
    let [_, per_group, _, _] = m.weight.dims();
    let groups = m.groups;
    if groups > 1 && per_group == 1 {
        "conv depthwise"
    } else if groups > 1 {
        "conv grouped"
    } else if m.kernel_size == [1, 1] {
        "conv 1x1"
    } else {
        "conv kxk"
    }
}

impl Ops for Profile {
    type T = Tensor<4>;
    type V = Tensor<2>;
    fn scope<R>(&mut self, _name: &str, f: impl FnOnce(&mut Self) -> R) -> R {
        f(self)
    }
    fn conv2d(&mut self, _name: &str, m: &Conv2d, x: Tensor<4>) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.conv2d(_name, m, x);
        self.done(conv_kind(m), t, &y);
        y
    }
    fn batch_norm(&mut self, name: &str, m: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.batch_norm(name, m, x);
        self.done("batch norm", t, &y);
        y
    }
    fn relu(&mut self, x: Tensor<4>) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.relu(x);
        self.done("activation relu", t, &y);
        y
    }
    fn max_pool(&mut self, m: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.max_pool(m, x);
        self.done("pooling", t, &y);
        y
    }
    fn avg_pool(&mut self, m: &AvgPool2d, x: Tensor<4>) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.avg_pool(m, x);
        self.done("pooling", t, &y);
        y
    }
    fn add(&mut self, a: Tensor<4>, b: Tensor<4>) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.add(a, b);
        self.done("add, mul", t, &y);
        y
    }
    fn concat(&mut self, xs: &[Tensor<4>]) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.concat(xs);
        self.done("concat, slice", t, &y);
        y
    }
    fn global_avg_pool(&mut self, x: Tensor<4>) -> Tensor<2> {
        let t = Instant::now();
        let y = BurnOps.global_avg_pool(x);
        self.done("pooling", t, &y);
        y
    }
    fn dropout(&mut self, m: &Dropout, x: Tensor<2>) -> Tensor<2> {
        let t = Instant::now();
        let y = BurnOps.dropout(m, x);
        self.done("head", t, &y);
        y
    }
    fn linear(&mut self, name: &str, m: &Linear, x: Tensor<2>) -> Tensor<2> {
        let t = Instant::now();
        let y = BurnOps.linear(name, m, x);
        self.done("head", t, &y);
        y
    }
    fn sigmoid(&mut self, x: Tensor<2>) -> Tensor<2> {
        let t = Instant::now();
        let y = BurnOps.sigmoid(x);
        self.done("head", t, &y);
        y
    }
    fn act(&mut self, a: Act, x: Tensor<4>) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.act(a, x);
        let kind = match a {
            Act::Relu | Act::LeakyRelu(_) => "activation relu",
            Act::Silu => "activation silu",
            Act::Gelu => "activation gelu",
            Act::HardSwish | Act::HardSigmoid => "activation hard",
            Act::Sigmoid => "activation sigmoid",
        };
        self.done(kind, t, &y);
        y
    }
    fn mul(&mut self, a: Tensor<4>, b: Tensor<4>) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.mul(a, b);
        self.done("add, mul", t, &y);
        y
    }
    fn mean_keep(&mut self, x: Tensor<4>) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.mean_keep(x);
        self.done("pooling", t, &y);
        y
    }
    fn flatten(&mut self, x: Tensor<4>) -> Tensor<2> {
        let t = Instant::now();
        let y = BurnOps.flatten(x);
        self.done("head", t, &y);
        y
    }
    fn channel_norm(&mut self, name: &str, m: &ChannelNorm, x: Tensor<4>) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.channel_norm(name, m, x);
        self.done("layer norm, GRN", t, &y);
        y
    }
    fn vector_norm(&mut self, name: &str, m: &ChannelNorm, x: Tensor<2>) -> Tensor<2> {
        let t = Instant::now();
        let y = BurnOps.vector_norm(name, m, x);
        self.done("head", t, &y);
        y
    }
    fn pointwise_linear(&mut self, name: &str, m: &Linear, x: Tensor<4>) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.pointwise_linear(name, m, x);
        self.done("pointwise linear", t, &y);
        y
    }
    fn channel_scale(&mut self, name: &str, m: &ChannelScale, x: Tensor<4>) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.channel_scale(name, m, x);
        self.done("add, mul", t, &y);
        y
    }
    fn grn(&mut self, name: &str, m: &Grn, x: Tensor<4>) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.grn(name, m, x);
        self.done("layer norm, GRN", t, &y);
        y
    }
    fn slice_channels(&mut self, x: Tensor<4>, s: usize, e: usize) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.slice_channels(x, s, e);
        self.done("concat, slice", t, &y);
        y
    }
    fn space_to_depth(&mut self, x: Tensor<4>, b: usize) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.space_to_depth(x, b);
        self.done("space to depth, blur", t, &y);
        y
    }
    fn blur_pool(&mut self, c: usize, x: Tensor<4>) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.blur_pool(c, x);
        self.done("space to depth, blur", t, &y);
        y
    }
    fn class_maps(&mut self, name: &str, m: &Linear, x: Tensor<4>) -> Tensor<4> {
        let t = Instant::now();
        let y = BurnOps.class_maps(name, m, x);
        self.done("head", t, &y);
        y
    }
}

/// One primitive kind's share of a profiled forward.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProfileRow {
    /// Primitive kind.
    pub kind: String,
    /// Calls per forward.
    pub calls: usize,
    /// Seconds per forward (median of the timed iterations' totals is not kept; mean here).
    pub seconds: f64,
    /// Share of the profiled forward.
    pub share: f64,
}

/// Profile `iters` forwards (after one warm-up) by primitive kind.
///
/// # Errors
/// An unknown architecture or an input size it cannot take.
pub fn profile_forward(arch: &str, size: usize, batch: usize, iters: usize) -> anyhow::Result<Vec<ProfileRow>> {
    cxr_models::check_input_size(arch, size as u32)?;
    let device = Device::flex();
    device.seed(1);
    let model = cxr_models::build(arch, cxr_core::SHARED9.len(), 3, 0.0, &device)?.valid();
    let x = Tensor::<4>::random([batch, 3, size, size], Distribution::Normal(0.0, 1.0), &device);
    let mut p = Profile::default();
    let _ = model.run_all(&mut p, x.clone());
    p.times.clear();
    for _ in 0..iters.max(1) {
        let _ = model.run_all(&mut p, x.clone());
    }
    let total: f64 = p.times.values().map(|v| v.0).sum();
    let n = iters.max(1) as f64;
    let mut rows: Vec<ProfileRow> = p.times.into_iter().map(|(k, (s, c))| ProfileRow { kind: k.to_string(), calls: c / iters.max(1), seconds: s / n, share: s / total }).collect();
    rows.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
    Ok(rows)
}

/// One optimizer's training-step cost (`cxr-train bench --optimizers`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct OptimBench {
    /// Optimizer name (with its loss where it needs one).
    pub optimizer: String,
    /// Median seconds of a whole step: forward, loss, backward (twice for SAM/ASAM), the rule.
    pub seconds_per_step: f64,
    /// That over AdamW's, when AdamW was measured in the same run.
    pub relative_to_adamw: Option<f64>,
}

/// The `[train]` extra that selects optimizer `name` with its defaults (PESG and PDSCA with the
/// loss they need).
fn optimizer_toml(name: &str) -> String {
    match name {
        "pesg" => "[train.optimizer]\nname = \"pesg\"\n[train.loss]\nname = \"auc_m\"\n".into(),
        "pdsca" => "[train.optimizer]\nname = \"pdsca\"\n[train.loss]\nname = \"compositional_auc\"\n".into(),
        other => format!("[train.optimizer]\nname = \"{other}\"\n"),
    }
}

/// Time a whole training step of `arch` under each optimizer (synthetic 3-channel input, the
/// nine shared labels, random 0/1 targets), `iters` timed steps after `warmup`.
///
/// # Errors
/// An unknown architecture, size or optimizer name.
pub fn bench_optimizers(arch: &str, size: usize, batch: usize, iters: usize, warmup: usize, names: &[String]) -> anyhow::Result<Vec<OptimBench>> {
    cxr_models::check_input_size(arch, size as u32)?;
    let mut out: Vec<OptimBench> = Vec::new();
    for name in names {
        let toml = format!("[model]\narch = \"{arch}\"\nin_chans = 3\nimage_size = {size}\n[train]\nepochs = 1\nbatch_size = {batch}\nlr = 0.001\n{}", optimizer_toml(name));
        let run = cxr_core::RawConfig::from_toml(&toml)?.resolve(|_| Ok(()), "bench")?;
        let ad = Device::flex().autodiff();
        ad.seed(1);
        let model = cxr_models::build(arch, run.labels.len(), 3, 0.0, &ad)?;
        let mut learner = crate::learner::Learner::new(&run, model, &ad)?;
        let k = run.labels.len();
        let x = Tensor::<4>::random([batch, 3, size, size], Distribution::Normal(0.0, 1.0), &ad);
        let y = Tensor::<2>::random([batch, k], Distribution::Bernoulli(0.3), &ad);
        let m = Tensor::<2>::ones([batch, k], &ad);
        let micro = [(x, y, m)];
        let mut times = Vec::new();
        for i in 0..warmup + iters {
            let t = Instant::now();
            learner.step(&micro, crate::schedule::At { step: i as u64, total_steps: (warmup + iters) as u64, epoch: 0 }).map_err(|e| anyhow::anyhow!("{name}: loss {}", e.value))?;
            if i >= warmup {
                times.push(t.elapsed().as_secs_f64());
            }
        }
        out.push(OptimBench { optimizer: name.clone(), seconds_per_step: median(times), relative_to_adamw: None });
    }
    if let Some(base) = out.iter().find(|b| b.optimizer == "adamw").map(|b| b.seconds_per_step) {
        for b in &mut out {
            b.relative_to_adamw = Some(b.seconds_per_step / base);
        }
    }
    Ok(out)
}
