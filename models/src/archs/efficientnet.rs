//! EfficientNet (Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
//! Networks", ICML 2019, arXiv:1905.11946) and EfficientNetV2 (Tan & Le, ICML 2021,
//! arXiv:2104.00298).
//!
//! Structure and parameter names follow torchvision's `torchvision/models/efficientnet.py`:
//! `features.0.{0,1}` (stem), `features.{s}.{b}.block.{j}` (MBConv: expand, depthwise, SE
//! `fc1`/`fc2`, project; FusedMBConv: fused expand, project), `features.{last}.{0,1}`, and
//! `classifier.1`. Stochastic depth is the identity at inference and is not applied in training
//! here (torchvision trains with a linearly increasing rate up to 0.2).

use super::blocks::{ConvBn, SqueezeExcite, make_divisible};
use crate::{Backbone, Variant, Act, Family, FeatureInfo, Ops};
use burn::prelude::*;

/// One stage of the inverted-residual setting (torchvision's `MBConvConfig`/`FusedMBConvConfig`).
#[derive(Debug, Clone, Copy)]
pub struct StageConfig {
    /// Fused (3×3 expand) rather than depthwise-separable.
    pub fused: bool,
    /// Expansion ratio.
    pub expand: f64,
    /// Kernel size.
    pub kernel: usize,
    /// Stride of the first block.
    pub stride: usize,
    /// Input channels (before width scaling).
    pub input: usize,
    /// Output channels (before width scaling).
    pub output: usize,
    /// Blocks (before depth scaling).
    pub layers: usize,
}

/// EfficientNet hyper-parameters.
#[derive(Debug, Clone)]
pub struct EfficientNetConfig {
    /// Stages.
    pub stages: Vec<StageConfig>,
    /// Width multiplier.
    pub width: f64,
    /// Depth multiplier.
    pub depth: f64,
    /// Channels of the last 1×1 convolution (`None`: 4× the last stage).
    pub last_channel: Option<usize>,
    /// BatchNorm epsilon (1e-5 for B0–B4, 1e-3 for V2).
    pub eps: f64,
    /// Input channels.
    pub in_chans: usize,
}

/// MBConv or FusedMBConv: conv-BN(-SiLU) layers, with an SE before the projection (MBConv).
#[derive(Module, Debug)]
pub struct MbBlock {
    convs: Vec<ConvBn>,
    se: Option<SqueezeExcite>,
    residual: bool,
}

/// EfficientNet backbone.
#[derive(Module, Debug)]
pub struct EfficientNet {
    stem: ConvBn,
    stages: Vec<Vec<MbBlock>>,
    head: ConvBn,
    num_features: usize,
}

impl EfficientNetConfig {
    fn channels(&self, c: usize) -> usize {
        make_divisible(c as f64 * self.width, 8)
    }

    /// Initialise.
    #[must_use]
    pub fn init(&self, device: &Device) -> EfficientNet {
        let first = self.channels(self.stages[0].input);
        let stem = ConvBn::new(self.in_chans, first, 3, 2, 1, self.eps, device);
        let mut stages = Vec::new();
        let mut last = first;
        for s in &self.stages {
            let (cin, cout) = (self.channels(s.input), self.channels(s.output));
            let n = (s.layers as f64 * self.depth).ceil() as usize;
            let blocks = (0..n)
                .map(|b| {
                    let (i, stride) = if b == 0 { (cin, s.stride) } else { (cout, 1) };
                    let mid = make_divisible(i as f64 * s.expand, 8);
                    let mut convs = Vec::new();
                    let mut se = None;
                    if s.fused {
                        if mid == i {
                            convs.push(ConvBn::new(i, cout, s.kernel, stride, 1, self.eps, device));
                        } else {
                            convs.push(ConvBn::new(i, mid, s.kernel, stride, 1, self.eps, device));
                            convs.push(ConvBn::new(mid, cout, 1, 1, 1, self.eps, device));
                        }
                    } else {
                        if mid != i {
                            convs.push(ConvBn::new(i, mid, 1, 1, 1, self.eps, device));
                        }
                        convs.push(ConvBn::new(mid, mid, s.kernel, stride, mid, self.eps, device));
                        se = Some(SqueezeExcite::new(mid, (i / 4).max(1), device));
                        convs.push(ConvBn::new(mid, cout, 1, 1, 1, self.eps, device));
                    }
                    MbBlock { convs, se, residual: stride == 1 && i == cout }
                })
                .collect();
            stages.push(blocks);
            last = cout;
        }
        let d = self.last_channel.unwrap_or(4 * last);
        EfficientNet { stem, stages, head: ConvBn::new(last, d, 1, 1, 1, self.eps, device), num_features: d }
    }
}

impl MbBlock {
    fn run<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        let y = o.scope("block", |o| {
            let mut y = x.clone();
            let mut j = 0;
            let last = self.convs.len() - 1;
            for (c, conv) in self.convs.iter().enumerate() {
                if c == last && let Some(se) = &self.se {
                    y = o.scope(&j.to_string(), |o| se.run(o, ("fc1", "fc2"), Act::Silu, Act::Sigmoid, y));
                    j += 1;
                }
                // SiLU after every convolution but the projection; a lone fused convolution has it.
                let act = (c != last || self.convs.len() == 1).then_some(Act::Silu);
                y = o.scope(&j.to_string(), |o| conv.run(o, ("0", "1"), act, y));
                j += 1;
            }
            y
        });
        if self.residual { o.add(y, x) } else { y }
    }
}

impl Family for EfficientNet {
    fn features<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        o.scope("features", |o| {
            let mut x = o.scope("0", |o| self.stem.run(o, ("0", "1"), Some(Act::Silu), x));
            for (s, blocks) in self.stages.iter().enumerate() {
                x = o.scope(&(s + 1).to_string(), |o| {
                    let mut x = x;
                    for (b, block) in blocks.iter().enumerate() {
                        x = o.scope(&b.to_string(), |o| block.run(o, x));
                    }
                    x
                });
            }
            o.scope(&(self.stages.len() + 1).to_string(), |o| self.head.run(o, ("0", "1"), Some(Act::Silu), x))
        })
    }

    fn info(&self) -> FeatureInfo {
        FeatureInfo::linear_head(self.num_features, 32, "classifier.1")
    }
}

fn b_stages() -> Vec<StageConfig> {
    let s = |expand, kernel, stride, input, output, layers| StageConfig { fused: false, expand, kernel, stride, input, output, layers };
    vec![s(1.0, 3, 1, 32, 16, 1), s(6.0, 3, 2, 16, 24, 2), s(6.0, 5, 2, 24, 40, 2), s(6.0, 3, 2, 40, 80, 3), s(6.0, 5, 1, 80, 112, 3), s(6.0, 5, 2, 112, 192, 4), s(6.0, 3, 1, 192, 320, 1)]
}

/// EfficientNet-B0.
#[must_use]
pub fn efficientnet_b0(in_chans: usize) -> EfficientNetConfig {
    EfficientNetConfig { stages: b_stages(), width: 1.0, depth: 1.0, last_channel: None, eps: 1e-5, in_chans }
}

/// EfficientNet-B4 (width 1.4, depth 1.8).
#[must_use]
pub fn efficientnet_b4(in_chans: usize) -> EfficientNetConfig {
    EfficientNetConfig { stages: b_stages(), width: 1.4, depth: 1.8, last_channel: None, eps: 1e-5, in_chans }
}

/// EfficientNetV2-S.
#[must_use]
pub fn efficientnet_v2_s(in_chans: usize) -> EfficientNetConfig {
    let f = |expand, stride, input, output, layers| StageConfig { fused: true, expand, kernel: 3, stride, input, output, layers };
    let m = |expand, stride, input, output, layers| StageConfig { fused: false, expand, kernel: 3, stride, input, output, layers };
    let stages = vec![f(1.0, 1, 24, 24, 2), f(4.0, 2, 24, 48, 4), f(4.0, 2, 48, 64, 4), m(4.0, 2, 64, 128, 6), m(6.0, 1, 128, 160, 9), m(6.0, 2, 160, 256, 15)];
    EfficientNetConfig { stages, width: 1.0, depth: 1.0, last_channel: Some(1280), eps: 1e-3, in_chans }
}

const TAN: &str = "Tan & Le 2019, arXiv:1905.11946";

/// The registered EfficientNet variants (reference sizes are the weights' evaluation crops).
pub(crate) const VARIANTS: &[Variant] = &[
    Variant { name: "efficientnet_b0", family: "efficientnet", paper: TAN, default_size: 224, reference_params: 5_288_548, reference_gmacs: 0.386, build: |c, d| Backbone::EfficientNet(efficientnet_b0(c).init(d)) },
    Variant { name: "efficientnet_b4", family: "efficientnet", paper: TAN, default_size: 380, reference_params: 19_341_616, reference_gmacs: 4.394, build: |c, d| Backbone::EfficientNet(efficientnet_b4(c).init(d)) },
    Variant {
        name: "efficientnet_v2_s",
        family: "efficientnet",
        paper: "Tan & Le 2021, arXiv:2104.00298",
        default_size: 384,
        reference_params: 21_458_488,
        reference_gmacs: 8.366,
        build: |c, d| Backbone::EfficientNet(efficientnet_v2_s(c).init(d)),
    },
];
