//! RepVGG (Ding et al., "RepVGG: Making VGG-style ConvNets Great Again", CVPR 2021,
//! arXiv:2101.03697).
//!
//! Structure and parameter names follow timm's `timm/models/byobnet.py` (`repvgg_b0`):
//! `stem` and `stages.{s}.{b}` are `RepVggBlock`s with `conv_kxk.{conv,bn}`, `conv_1x1.{conv,bn}`
//! and, where input and output match at stride 1, an `identity` BatchNorm; the branches are summed
//! and passed through ReLU; `head.fc`.
//!
//! Training and Burn inference run the multi-branch form. The exported graph is the fused
//! single-branch deploy form (`reparam_conv`, one 3×3 convolution with bias per block, as timm's
//! `reparameterize()` builds it), and the exporter's parity gate checks it against the
//! multi-branch form. Parameter counts and published MACs refer to the training form.

use super::blocks::ConvBn;
use crate::{Backbone, Family, FeatureInfo, Ops, Variant};
use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;

/// RepVGG hyper-parameters.
#[derive(Config, Debug)]
pub struct RepVggConfig {
    /// Blocks per stage.
    pub depths: [usize; 4],
    /// Channels per stage.
    pub widths: [usize; 4],
    /// Stem channels.
    #[config(default = 64)]
    pub stem: usize,
    /// Input channels.
    #[config(default = 3)]
    pub in_chans: usize,
}

/// 3×3-BN + 1×1-BN (+ identity BN) → ReLU.
#[derive(Module, Debug)]
pub struct RepVggBlock {
    identity: Option<BatchNorm>,
    conv_kxk: ConvBn,
    conv_1x1: ConvBn,
    stride: usize,
}

/// RepVGG backbone.
#[derive(Module, Debug)]
pub struct RepVgg {
    stem: RepVggBlock,
    stages: Vec<Vec<RepVggBlock>>,
    num_features: usize,
}

impl RepVggBlock {
    fn new(i: usize, o: usize, stride: usize, device: &Device) -> Self {
        Self {
            identity: (i == o && stride == 1).then(|| BatchNormConfig::new(o).init(device)),
            conv_kxk: ConvBn::new(i, o, 3, stride, 1, 1e-5, device),
            conv_1x1: ConvBn::new(i, o, 1, stride, 1, 1e-5, device),
            stride,
        }
    }

    /// `t = γ/√(σ²+ε)`, `b = β − μ·t` of a BatchNorm.
    fn bn_affine(bn: &BatchNorm) -> (Tensor<1>, Tensor<1>) {
        let t = bn.gamma.val() / (bn.running_var.value() + bn.epsilon).sqrt();
        let b = bn.beta.val() - bn.running_mean.value() * t.clone();
        (t, b)
    }

    /// The single 3×3 convolution equal to the three branches at inference.
    fn fused(&self) -> Conv2d {
        let w3 = self.conv_kxk.conv.weight.val();
        let [o, i, _, _] = w3.dims();
        let device = w3.device();
        let (t3, b3) = Self::bn_affine(&self.conv_kxk.bn);
        let (t1, b1) = Self::bn_affine(&self.conv_1x1.bn);
        let w1 = self.conv_1x1.conv.weight.val().pad((1, 1, 1, 1), burn::tensor::ops::PadMode::Constant(0.0));
        let mut w = w3 * t3.reshape([o, 1, 1, 1]) + w1 * t1.reshape([o, 1, 1, 1]);
        let mut b = b3 + b1;
        if let Some(id) = &self.identity {
            let (ti, bi) = Self::bn_affine(id);
            let mut k = vec![0.0f32; o * i * 9];
            for c in 0..o {
                k[c * i * 9 + c * 9 + 4] = 1.0;
            }
            let k = Tensor::<4>::from_data(burn::tensor::TensorData::new(k, [o, i, 3, 3]), &device);
            w = w + k * ti.reshape([o, 1, 1, 1]);
            b = b + bi;
        }
        let mut conv = Conv2dConfig::new([i, o], [3, 3]).with_stride([self.stride, self.stride]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(&device);
        conv.weight = Param::from_tensor(w);
        conv.bias = Some(Param::from_tensor(b));
        conv
    }

    fn run<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        if o.deploy() {
            let y = o.conv2d("reparam_conv", &self.fused(), x);
            return o.relu(y);
        }
        let names = ("conv", "bn");
        let a = o.scope("conv_kxk", |o| self.conv_kxk.run(o, names, None, x.clone()));
        let b = o.scope("conv_1x1", |o| self.conv_1x1.run(o, names, None, x.clone()));
        let mut y = o.add(a, b);
        if let Some(id) = &self.identity {
            let z = o.batch_norm("identity", id, x);
            y = o.add(y, z);
        }
        o.relu(y)
    }
}

impl RepVggConfig {
    /// Initialise.
    #[must_use]
    pub fn init(&self, device: &Device) -> RepVgg {
        let stem = RepVggBlock::new(self.in_chans, self.stem, 2, device);
        let mut c = self.stem;
        let mut stages = Vec::new();
        for (&n, &w) in self.depths.iter().zip(&self.widths) {
            stages.push((0..n).map(|b| RepVggBlock::new(if b == 0 { c } else { w }, w, if b == 0 { 2 } else { 1 }, device)).collect());
            c = w;
        }
        RepVgg { stem, stages, num_features: c }
    }
}

impl Family for RepVgg {
    fn features<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        let x = o.scope("stem", |o| self.stem.run(o, x));
        o.scope("stages", |o| {
            let mut x = x;
            for (s, blocks) in self.stages.iter().enumerate() {
                x = o.scope(&s.to_string(), |o| {
                    let mut x = x;
                    for (b, block) in blocks.iter().enumerate() {
                        x = o.scope(&b.to_string(), |o| block.run(o, x));
                    }
                    x
                });
            }
            x
        })
    }

    fn info(&self) -> FeatureInfo {
        FeatureInfo::linear_head(self.num_features, 32, "head.fc")
    }
}

/// The registered RepVGG variant (training form).
pub(crate) const VARIANTS: &[Variant] = &[Variant {
    name: "repvgg_b0",
    family: "repvgg",
    paper: "Ding et al. 2021, arXiv:2101.03697",
    default_size: 224,
    reference_params: 15_817_960,
    reference_gmacs: 3.41,
    build: |c, d| Backbone::RepVgg(RepVggConfig::new([4, 6, 16, 1], [64, 128, 256, 1280]).with_in_chans(c).init(d)),
}];
