//! TResNet (Ridnik et al., "TResNet: High Performance GPU-Dedicated Architecture", WACV 2021,
//! arXiv:2003.13630).
//!
//! Structure and parameter names follow timm's `timm/models/tresnet.py` (`tresnet_m`, timm
//! 1.0, which replaces the paper's in-place ABN by BatchNorm + leaky ReLU): `body.s2d` (space to
//! depth, 4), `body.conv1.{conv,bn}`, `body.layer{1..4}.{i}` (basic blocks in layers 1–2,
//! bottlenecks in 3–4; `conv{1,2,3}.{conv,bn}`, anti-aliased stride 2 by a blur pool after the
//! activation, `se.fc1`/`se.fc2` in layers 1–3, `downsample.1.{conv,bn}` after a 2×2 average
//! pool), `head.fc`.

use super::blocks::{ConvBn, SqueezeExcite};
use crate::{Act, Backbone, Family, FeatureInfo, Ops, Variant};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig};
use burn::prelude::*;

const BLOCK_SLOPE: f64 = 1e-3;
const STEM_SLOPE: f64 = 1e-2;

/// TResNet hyper-parameters.
#[derive(Config, Debug)]
pub struct TResNetConfig {
    /// Blocks per stage.
    pub layers: [usize; 4],
    /// Input channels.
    #[config(default = 3)]
    pub in_chans: usize,
}

/// Average pool → 1×1 conv-BN (`downsample.0`, `downsample.1`).
#[derive(Module, Debug)]
pub struct Downsample {
    pool: Option<AvgPool2d>,
    conv: ConvBn,
}

/// Basic (`conv3` absent) or bottleneck block.
#[derive(Module, Debug)]
pub struct TBlock {
    downsample: Option<Downsample>,
    conv1: ConvBn,
    conv2: ConvBn,
    conv3: Option<ConvBn>,
    se: Option<SqueezeExcite>,
    /// Channels of the blurred convolution (stride 2 blocks), 0 otherwise.
    blur: usize,
}

/// TResNet backbone.
#[derive(Module, Debug)]
pub struct TResNet {
    conv1: ConvBn,
    layers: Vec<Vec<TBlock>>,
    num_features: usize,
}

impl TResNetConfig {
    /// Initialise `tresnet_m`'s widths (64, 128, 256, 512 planes).
    #[must_use]
    pub fn init(&self, device: &Device) -> TResNet {
        let planes = 64;
        let conv1 = ConvBn::new(self.in_chans * 16, planes, 3, 1, 1, 1e-5, device);
        let mut inplanes = planes;
        let mut layers = Vec::new();
        for (s, &n) in self.layers.iter().enumerate() {
            let p = planes << s;
            let bottleneck = s >= 2;
            let out = if bottleneck { p * 4 } else { p };
            let stride = if s == 0 { 1 } else { 2 };
            let use_se = s < 3;
            let mut blocks = Vec::new();
            for i in 0..n {
                let st = if i == 0 { stride } else { 1 };
                let downsample = (i == 0 && (stride != 1 || inplanes != out)).then(|| Downsample {
                    pool: (stride == 2).then(|| AvgPool2dConfig::new([2, 2]).with_strides([2, 2]).with_ceil_mode(true).with_count_include_pad(false).init()),
                    conv: ConvBn::new(inplanes, out, 1, 1, 1, 1e-5, device),
                });
                let block = if bottleneck {
                    TBlock {
                        downsample,
                        conv1: ConvBn::new(inplanes, p, 1, 1, 1, 1e-5, device),
                        conv2: ConvBn::new(p, p, 3, 1, 1, 1e-5, device),
                        conv3: Some(ConvBn::new(p, out, 1, 1, 1, 1e-5, device)),
                        se: use_se.then(|| SqueezeExcite::new(p, (out / 8).max(64), device)),
                        blur: if st == 2 { p } else { 0 },
                    }
                } else {
                    TBlock {
                        downsample,
                        conv1: ConvBn::new(inplanes, p, 3, 1, 1, 1e-5, device),
                        conv2: ConvBn::new(p, p, 3, 1, 1, 1e-5, device),
                        conv3: None,
                        se: use_se.then(|| SqueezeExcite::new(p, (p / 4).max(64), device)),
                        blur: if st == 2 { p } else { 0 },
                    }
                };
                blocks.push(block);
                inplanes = out;
            }
            layers.push(blocks);
        }
        TResNet { conv1, layers, num_features: inplanes }
    }
}

impl TBlock {
    /// Conv-BN-leaky ReLU, then the blur pool where this unit carries the block's stride.
    fn unit<O: Ops>(&self, o: &mut O, name: &str, c: &ConvBn, strided: bool, x: O::T) -> O::T {
        o.scope(name, |o| {
            let y = c.run(o, ("conv", "bn"), Some(Act::LeakyRelu(BLOCK_SLOPE)), x);
            if strided && self.blur > 0 { o.scope("aa", |o| o.blur_pool(self.blur, y)) } else { y }
        })
    }

    fn run<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        let shortcut = match &self.downsample {
            Some(d) => o.scope("downsample", |o| {
                let y = match &d.pool {
                    Some(p) => o.avg_pool(p, x.clone()),
                    None => x.clone(),
                };
                o.scope("1", |o| d.conv.run(o, ("conv", "bn"), None, y))
            }),
            None => x.clone(),
        };
        let y = match &self.conv3 {
            Some(c3) => {
                let y = self.unit(o, "conv1", &self.conv1, false, x);
                let mut y = self.unit(o, "conv2", &self.conv2, true, y);
                if let Some(se) = &self.se {
                    y = o.scope("se", |o| se.run(o, ("fc1", "fc2"), Act::Relu, Act::Sigmoid, y));
                }
                o.scope("conv3", |o| c3.run(o, ("conv", "bn"), None, y))
            }
            None => {
                let y = self.unit(o, "conv1", &self.conv1, true, x);
                let mut y = o.scope("conv2", |o| self.conv2.run(o, ("conv", "bn"), None, y));
                if let Some(se) = &self.se {
                    y = o.scope("se", |o| se.run(o, ("fc1", "fc2"), Act::Relu, Act::Sigmoid, y));
                }
                y
            }
        };
        let y = o.add(y, shortcut);
        o.relu(y)
    }
}

impl Family for TResNet {
    fn features<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        o.scope("body", |o| {
            let x = o.space_to_depth(x, 4);
            let mut x = o.scope("conv1", |o| self.conv1.run(o, ("conv", "bn"), Some(Act::LeakyRelu(STEM_SLOPE)), x));
            for (s, blocks) in self.layers.iter().enumerate() {
                x = o.scope(&format!("layer{}", s + 1), |o| {
                    let mut x = x;
                    for (i, b) in blocks.iter().enumerate() {
                        x = o.scope(&i.to_string(), |o| b.run(o, x));
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

/// The registered TResNet variant.
pub(crate) const VARIANTS: &[Variant] = &[Variant {
    name: "tresnet_m",
    family: "tresnet",
    paper: "Ridnik et al. 2021, arXiv:2003.13630",
    default_size: 224,
    reference_params: 31_389_032,
    reference_gmacs: 5.75,
    build: |c, d| Backbone::TResNet(TResNetConfig::new([3, 4, 11, 3]).with_in_chans(c).init(d)),
}];
