//! Dual Path Networks (Chen et al., "Dual Path Networks", NeurIPS 2017, arXiv:1707.01629).
//!
//! Structure and parameter names follow timm's `timm/models/dpn.py` (`dpn68`, `dpn92`):
//! `features.conv1_1.{conv,bn}` and a max pool, then `features.conv{2..5}_{j}` dual path blocks of
//! pre-activation units (`c1x1_w_s1`/`c1x1_w_s2` projection, `c1x1_a`, grouped `c3x3_b`,
//! `c1x1_c`, each `{bn,conv}` with BatchNorm ε = 1e-3), `features.conv5_bn_ac.bn` → ReLU, and
//! the classifier (a 1×1 convolution in timm, a linear layer here: the same map on the pooled
//! vector).
//!
//! Each block output is `[residual (bw) + new residual, dense path, new dense (inc)]` along
//! channels, carried as one tensor.

use super::blocks::conv;
use crate::{Backbone, Family, FeatureInfo, Ops, Variant};
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;

const EPS: f64 = 1e-3;

fn bn(c: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(c).with_epsilon(EPS).init(device)
}

/// DPN hyper-parameters.
#[derive(Config, Debug)]
pub struct DpnConfig {
    /// DPN-68's small stem (3×3) and bottleneck widths (×1 instead of ×4).
    pub small: bool,
    /// Stem channels.
    pub num_init_features: usize,
    /// Width of the first stage's 3×3 convolution.
    pub k_r: usize,
    /// Groups of the 3×3 convolutions.
    pub groups: usize,
    /// Blocks per stage.
    pub k_sec: [usize; 4],
    /// Dense-path increment per block, per stage.
    pub inc_sec: [usize; 4],
    /// Input channels.
    #[config(default = 3)]
    pub in_chans: usize,
}

/// BN → ReLU → conv.
#[derive(Module, Debug)]
pub struct BnActConv {
    bn: BatchNorm,
    conv: Conv2d,
}

impl BnActConv {
    fn new(i: usize, o: usize, k: usize, stride: usize, groups: usize, device: &Device) -> Self {
        Self { bn: bn(i, device), conv: conv(i, o, k, stride, groups, false, device) }
    }

    fn run<O: Ops>(&self, o: &mut O, name: &str, x: O::T) -> O::T {
        o.scope(name, |o| {
            let y = o.batch_norm("bn", &self.bn, x);
            let y = o.relu(y);
            o.conv2d("conv", &self.conv, y)
        })
    }
}

/// A dual path block.
#[derive(Module, Debug)]
pub struct DualPathBlock {
    proj: Option<BnActConv>,
    c1x1_a: BnActConv,
    c3x3_b: BnActConv,
    c1x1_c: BnActConv,
    num_1x1_c: usize,
    stride: usize,
    /// Channels of the projection (or of the input, which stands in for it) and of `c1x1_c`.
    path_chs: usize,
    new_chs: usize,
}

impl DualPathBlock {
    fn run<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        let c = self.num_1x1_c;
        let xs = match &self.proj {
            Some(p) => p.run(o, if self.stride == 2 { "c1x1_w_s2" } else { "c1x1_w_s1" }, x.clone()),
            None => x.clone(),
        };
        let y = self.c1x1_a.run(o, "c1x1_a", x);
        let y = self.c3x3_b.run(o, "c3x3_b", y);
        let y = self.c1x1_c.run(o, "c1x1_c", y);
        let xs1 = o.slice_channels(xs.clone(), 0, c);
        let xs2 = o.slice_channels(xs, c, self.path_chs);
        let out1 = o.slice_channels(y.clone(), 0, c);
        let out2 = o.slice_channels(y, c, self.new_chs);
        let resid = o.add(xs1, out1);
        o.concat(&[resid, xs2, out2])
    }
}

/// DPN backbone.
#[derive(Module, Debug)]
pub struct Dpn {
    stem_conv: Conv2d,
    stem_bn: BatchNorm,
    pool: MaxPool2d,
    stages: Vec<Vec<DualPathBlock>>,
    final_bn: BatchNorm,
    num_features: usize,
}

impl DpnConfig {
    /// Initialise.
    #[must_use]
    pub fn init(&self, device: &Device) -> Dpn {
        let k = if self.small { 3 } else { 7 };
        let stem_conv = conv(self.in_chans, self.num_init_features, k, 2, 1, false, device);
        let stem_bn = bn(self.num_init_features, device);
        let bw_factor = if self.small { 1 } else { 4 };
        let mut in_chs = self.num_init_features;
        let mut stages = Vec::new();
        for (i, (&depth, &inc)) in self.k_sec.iter().zip(&self.inc_sec).enumerate() {
            let bw_base = 64 << i;
            let bw = bw_base * bw_factor;
            let r = self.k_r * bw_base / 64;
            let mut blocks = Vec::new();
            for j in 0..depth {
                let stride = if i > 0 && j == 0 { 2 } else { 1 };
                blocks.push(DualPathBlock {
                    proj: (j == 0).then(|| BnActConv::new(in_chs, bw + 2 * inc, 1, stride, 1, device)),
                    c1x1_a: BnActConv::new(in_chs, r, 1, 1, 1, device),
                    c3x3_b: BnActConv::new(r, r, 3, stride, self.groups, device),
                    c1x1_c: BnActConv::new(r, bw + inc, 1, 1, 1, device),
                    num_1x1_c: bw,
                    stride,
                    path_chs: if j == 0 { bw + 2 * inc } else { in_chs },
                    new_chs: bw + inc,
                });
                in_chs = if j == 0 { bw + 3 * inc } else { in_chs + inc };
            }
            stages.push(blocks);
        }
        Dpn {
            stem_conv,
            stem_bn,
            pool: MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(),
            stages,
            final_bn: bn(in_chs, device),
            num_features: in_chs,
        }
    }
}

impl Family for Dpn {
    fn features<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        o.scope("features", |o| {
            let x = o.scope("conv1_1", |o| {
                let y = o.conv2d("conv", &self.stem_conv, x);
                let y = o.batch_norm("bn", &self.stem_bn, y);
                o.relu(y)
            });
            let mut x = o.max_pool(&self.pool, x);
            for (i, blocks) in self.stages.iter().enumerate() {
                for (j, block) in blocks.iter().enumerate() {
                    x = o.scope(&format!("conv{}_{}", i + 2, j + 1), |o| block.run(o, x));
                }
            }
            o.scope("conv5_bn_ac", |o| {
                let y = o.batch_norm("bn", &self.final_bn, x);
                o.relu(y)
            })
        })
    }

    fn info(&self) -> FeatureInfo {
        FeatureInfo::linear_head(self.num_features, 32, "classifier")
    }
}

const CHEN: &str = "Chen et al. 2017, arXiv:1707.01629";

/// The registered DPN variants.
pub(crate) const VARIANTS: &[Variant] = &[
    Variant {
        name: "dpn68",
        family: "dpn",
        paper: CHEN,
        default_size: 224,
        reference_params: 12_611_602,
        reference_gmacs: 2.35,
        build: |c, d| Backbone::Dpn(DpnConfig::new(true, 10, 128, 32, [3, 4, 12, 3], [16, 32, 32, 64]).with_in_chans(c).init(d)),
    },
    Variant {
        name: "dpn92",
        family: "dpn",
        paper: CHEN,
        default_size: 224,
        reference_params: 37_668_392,
        reference_gmacs: 6.54,
        build: |c, d| Backbone::Dpn(DpnConfig::new(false, 64, 96, 32, [3, 4, 20, 3], [16, 32, 24, 128]).with_in_chans(c).init(d)),
    },
];
