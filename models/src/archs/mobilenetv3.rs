//! MobileNetV3 (Howard et al., "Searching for MobileNetV3", ICCV 2019, arXiv:1905.02244).
//!
//! Structure and parameter names follow timm's `mobilenetv3_large_100`
//! (`timm/models/mobilenetv3.py`, `_efficientnet_blocks.py`): `conv_stem`, `bn1`,
//! `blocks.{s}.{b}` (depthwise-separable `conv_dw/bn1/conv_pw/bn2`; inverted residual
//! `conv_pw/bn1/conv_dw/bn2/se/conv_pwl/bn3`; the last stage's `conv/bn1`), then the head
//! `conv_head` (1×1 with bias) → hard-swish → `classifier`. SE blocks use ReLU and a hard
//! sigmoid gate (`relu6(x + 3)/6`, ONNX alpha 1/6).
//!
//! The head is not GAP → linear (a 1×1 convolution and hard-swish sit between the pool and the
//! classifier), so the exported card marks `cam` unsupported and `embedding` is the 1280-wide
//! vector the classifier reads.

use super::blocks::{SqueezeExcite, conv, make_divisible};
use crate::{Act, Backbone, Family, FeatureInfo, Ops, Variant};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::prelude::*;

/// One block of the architecture table: kernel, stride, expansion, output channels, SE,
/// hard-swish (else ReLU).
#[derive(Debug, Clone, Copy)]
struct BlockDef(usize, usize, f64, usize, bool, bool);

/// `mobilenetv3_large_100`'s `arch_def`; stage 0 is depthwise-separable.
const LARGE: &[&[BlockDef]] = &[
    &[BlockDef(3, 1, 1.0, 16, false, false)],
    &[BlockDef(3, 2, 4.0, 24, false, false), BlockDef(3, 1, 3.0, 24, false, false)],
    &[BlockDef(5, 2, 3.0, 40, true, false), BlockDef(5, 1, 3.0, 40, true, false), BlockDef(5, 1, 3.0, 40, true, false)],
    &[BlockDef(3, 2, 6.0, 80, false, true), BlockDef(3, 1, 2.5, 80, false, true), BlockDef(3, 1, 2.3, 80, false, true), BlockDef(3, 1, 2.3, 80, false, true)],
    &[BlockDef(3, 1, 6.0, 112, true, true), BlockDef(3, 1, 6.0, 112, true, true)],
    &[BlockDef(5, 2, 6.0, 160, true, true), BlockDef(5, 1, 6.0, 160, true, true), BlockDef(5, 1, 6.0, 160, true, true)],
];

fn bn(c: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(c).init(device)
}

/// Inverted residual (with `conv_pw`) or depthwise-separable (without).
#[derive(Module, Debug)]
pub struct MobileBlock {
    conv_pw: Option<Conv2d>,
    bn_pw: Option<BatchNorm>,
    conv_dw: Conv2d,
    bn_dw: BatchNorm,
    se: Option<SqueezeExcite>,
    conv_pwl: Conv2d,
    bn_pwl: BatchNorm,
    hswish: bool,
    residual: bool,
}

impl MobileBlock {
    fn new(i: usize, d: BlockDef, device: &Device) -> Self {
        let BlockDef(k, stride, e, out, se, hswish) = d;
        let mid = if e == 1.0 { i } else { make_divisible(i as f64 * e, 8) };
        let expand = mid != i;
        Self {
            conv_pw: expand.then(|| conv(i, mid, 1, 1, 1, false, device)),
            bn_pw: expand.then(|| bn(mid, device)),
            conv_dw: conv(mid, mid, k, stride, mid, false, device),
            bn_dw: bn(mid, device),
            se: se.then(|| SqueezeExcite::new(mid, make_divisible(mid as f64 / 4.0, 8), device)),
            conv_pwl: conv(mid, out, 1, 1, 1, false, device),
            bn_pwl: bn(out, device),
            hswish,
            residual: stride == 1 && i == out,
        }
    }

    fn run<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        let act = if self.hswish { Act::HardSwish } else { Act::Relu };
        let mut y = x.clone();
        // Inverted residual names its BNs bn1..bn3 and the projection conv_pwl; the
        // depthwise-separable block has bn1, bn2 and conv_pw.
        let (dw_bn, out_conv, out_bn) = if let (Some(c), Some(b)) = (&self.conv_pw, &self.bn_pw) {
            y = o.conv2d("conv_pw", c, y);
            y = o.batch_norm("bn1", b, y);
            y = o.act(act, y);
            ("bn2", "conv_pwl", "bn3")
        } else {
            ("bn1", "conv_pw", "bn2")
        };
        y = o.conv2d("conv_dw", &self.conv_dw, y);
        y = o.batch_norm(dw_bn, &self.bn_dw, y);
        y = o.act(act, y);
        if let Some(se) = &self.se {
            y = o.scope("se", |o| se.run(o, ("conv_reduce", "conv_expand"), Act::Relu, Act::HardSigmoid, y));
        }
        y = o.conv2d(out_conv, &self.conv_pwl, y);
        y = o.batch_norm(out_bn, &self.bn_pwl, y);
        if self.residual { o.add(y, x) } else { y }
    }
}

/// The last stage's 1×1 conv → BN → hard-swish (timm `ConvBnAct`: `conv`, `bn1`).
#[derive(Module, Debug)]
pub struct ConvBnAct {
    conv: Conv2d,
    bn1: BatchNorm,
}

/// MobileNetV3 backbone and its pre-classifier head.
#[derive(Module, Debug)]
pub struct MobileNetV3 {
    conv_stem: Conv2d,
    bn1: BatchNorm,
    blocks: Vec<Vec<MobileBlock>>,
    last: ConvBnAct,
    conv_head: Conv2d,
    num_features: usize,
    head_features: usize,
}

/// MobileNetV3 hyper-parameters.
#[derive(Config, Debug)]
pub struct MobileNetV3Config {
    /// Input channels.
    #[config(default = 3)]
    pub in_chans: usize,
}

impl MobileNetV3Config {
    /// Initialise `mobilenetv3_large_100`.
    #[must_use]
    pub fn init(&self, device: &Device) -> MobileNetV3 {
        let conv_stem = conv(self.in_chans, 16, 3, 2, 1, false, device);
        let bn1 = bn(16, device);
        let mut c = 16;
        let mut blocks = Vec::new();
        for stage in LARGE {
            let mut s = Vec::new();
            for d in *stage {
                s.push(MobileBlock::new(c, *d, device));
                c = d.3;
            }
            blocks.push(s);
        }
        let last = ConvBnAct { conv: conv(c, 960, 1, 1, 1, false, device), bn1: bn(960, device) };
        MobileNetV3 { conv_stem, bn1, blocks, last, conv_head: conv(960, 1280, 1, 1, 1, true, device), num_features: 960, head_features: 1280 }
    }
}

impl Family for MobileNetV3 {
    fn features<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        let x = o.conv2d("conv_stem", &self.conv_stem, x);
        let x = o.batch_norm("bn1", &self.bn1, x);
        let mut x = o.act(Act::HardSwish, x);
        let n = self.blocks.len();
        o.scope("blocks", |o| {
            for (s, stage) in self.blocks.iter().enumerate() {
                x = o.scope(&s.to_string(), |o| {
                    let mut x = x.clone();
                    for (b, block) in stage.iter().enumerate() {
                        x = o.scope(&b.to_string(), |o| block.run(o, x));
                    }
                    x
                });
            }
            o.scope(&n.to_string(), |o| {
                o.scope("0", |o| {
                    let y = o.conv2d("conv", &self.last.conv, x);
                    let y = o.batch_norm("bn1", &self.last.bn1, y);
                    o.act(Act::HardSwish, y)
                })
            })
        })
    }

    fn info(&self) -> FeatureInfo {
        FeatureInfo { num_features: self.num_features, reduction: 32, head_name: "classifier", embed_dim: self.head_features, cam: cxr_core::CamSupport::Unsupported }
    }

    /// Pool → `conv_head` → hard-swish → flatten.
    fn embed<O: Ops>(&self, o: &mut O, features: O::T) -> O::V {
        let p = o.mean_keep(features);
        let h = o.conv2d("conv_head", &self.conv_head, p);
        let h = o.act(Act::HardSwish, h);
        o.flatten(h)
    }

    fn cam_input<O: Ops>(&self, _o: &mut O, _features: O::T) -> Option<O::T> {
        None
    }
}

/// The registered MobileNetV3 variant.
pub(crate) const VARIANTS: &[Variant] = &[Variant {
    name: "mobilenetv3_large_100",
    family: "mobilenetv3",
    paper: "Howard et al. 2019, arXiv:1905.02244",
    default_size: 224,
    reference_params: 5_483_032,
    reference_gmacs: 0.217,
    build: |c, d| Backbone::MobileNetV3(MobileNetV3Config::new().with_in_chans(c).init(d)),
}];
