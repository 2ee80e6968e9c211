//! Xception (Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017,
//! arXiv:1610.02357).
//!
//! Structure and parameter names follow timm's `legacy_xception` (`timm/models/xception.py`):
//! `conv1`/`bn1`, `conv2`/`bn2` (unpadded), `block{1..12}` with `skip`/`skipbn` and a `rep`
//! sequence whose indices count its ReLUs and pool too (`rep.{i}.conv1` depthwise,
//! `rep.{i}.pointwise`, `rep.{i+1}` BatchNorm), then `conv3`/`bn3`, `conv4`/`bn4` separable
//! convolutions and `fc`.

use super::blocks::conv_padded;
use crate::{Backbone, Family, FeatureInfo, Ops, Variant};
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;

fn bn(c: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(c).init(device)
}

/// Depthwise 3×3 (`conv1`) → pointwise 1×1 (`pointwise`), no bias, then its BatchNorm.
#[derive(Module, Debug)]
pub struct SeparableConv {
    conv1: Conv2d,
    pointwise: Conv2d,
    bn: BatchNorm,
}

impl SeparableConv {
    fn new(i: usize, o: usize, device: &Device) -> Self {
        Self { conv1: conv_padded(i, i, 3, 1, 1, i, false, device), pointwise: conv_padded(i, o, 1, 1, 0, 1, false, device), bn: bn(o, device) }
    }
}

/// `[ReLU] sep BN (ReLU sep BN)… [MaxPool]` plus a projection or identity shortcut.
#[derive(Module, Debug)]
pub struct XceptionBlock {
    skip: Option<Conv2d>,
    skipbn: Option<BatchNorm>,
    seps: Vec<SeparableConv>,
    pool: Option<MaxPool2d>,
    start_with_relu: bool,
}

impl XceptionBlock {
    fn new(i: usize, o: usize, reps: usize, stride: usize, start_with_relu: bool, grow_first: bool, device: &Device) -> Self {
        let project = o != i || stride != 1;
        let skip = project.then(|| conv_padded(i, o, 1, stride, 0, 1, false, device));
        let skipbn = project.then(|| bn(o, device));
        let mut seps = Vec::new();
        let mut c = i;
        if grow_first {
            seps.push(SeparableConv::new(i, o, device));
            c = o;
        }
        for _ in 0..reps - 1 {
            seps.push(SeparableConv::new(c, c, device));
        }
        if !grow_first {
            seps.push(SeparableConv::new(i, o, device));
        }
        let pool = (stride != 1).then(|| MaxPool2dConfig::new([3, 3]).with_strides([stride, stride]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init());
        Self { skip, skipbn, seps, pool, start_with_relu }
    }

    fn run<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        let shortcut = match (&self.skip, &self.skipbn) {
            (Some(c), Some(b)) => {
                let s = o.conv2d("skip", c, x.clone());
                o.batch_norm("skipbn", b, s)
            }
            _ => x.clone(),
        };
        let mut idx = 0;
        let y = o.scope("rep", |o| {
            let mut y = x;
            for (k, sep) in self.seps.iter().enumerate() {
                if k > 0 || self.start_with_relu {
                    y = o.relu(y);
                    idx += 1;
                }
                y = o.scope(&idx.to_string(), |o| {
                    let y = o.conv2d("conv1", &sep.conv1, y);
                    o.conv2d("pointwise", &sep.pointwise, y)
                });
                y = o.batch_norm(&(idx + 1).to_string(), &sep.bn, y);
                idx += 2;
            }
            if let Some(p) = &self.pool {
                y = o.max_pool(p, y);
            }
            y
        });
        o.add(y, shortcut)
    }
}

/// Xception backbone.
#[derive(Module, Debug)]
pub struct Xception {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    blocks: Vec<XceptionBlock>,
    conv3: SeparableConv,
    conv4: SeparableConv,
}

/// Xception hyper-parameters.
#[derive(Config, Debug)]
pub struct XceptionConfig {
    /// Input channels.
    #[config(default = 3)]
    pub in_chans: usize,
}

impl XceptionConfig {
    /// Initialise.
    #[must_use]
    pub fn init(&self, device: &Device) -> Xception {
        let (conv1, bn1) = (conv_padded(self.in_chans, 32, 3, 2, 0, 1, false, device), bn(32, device));
        let (conv2, bn2) = (conv_padded(32, 64, 3, 1, 0, 1, false, device), bn(64, device));
        let mut blocks = vec![
            XceptionBlock::new(64, 128, 2, 2, false, true, device),
            XceptionBlock::new(128, 256, 2, 2, true, true, device),
            XceptionBlock::new(256, 728, 2, 2, true, true, device),
        ];
        blocks.extend((0..8).map(|_| XceptionBlock::new(728, 728, 3, 1, true, true, device)));
        blocks.push(XceptionBlock::new(728, 1024, 2, 2, true, false, device));
        Xception { conv1, bn1, conv2, bn2, blocks, conv3: SeparableConv::new(1024, 1536, device), conv4: SeparableConv::new(1536, 2048, device) }
    }
}

impl Family for Xception {
    fn features<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        let x = o.conv2d("conv1", &self.conv1, x);
        let x = o.batch_norm("bn1", &self.bn1, x);
        let x = o.relu(x);
        let x = o.conv2d("conv2", &self.conv2, x);
        let x = o.batch_norm("bn2", &self.bn2, x);
        let mut x = o.relu(x);
        for (b, block) in self.blocks.iter().enumerate() {
            x = o.scope(&format!("block{}", b + 1), |o| block.run(o, x));
        }
        for (name, bn_name, sep) in [("conv3", "bn3", &self.conv3), ("conv4", "bn4", &self.conv4)] {
            x = o.scope(name, |o| {
                let y = o.conv2d("conv1", &sep.conv1, x);
                o.conv2d("pointwise", &sep.pointwise, y)
            });
            x = o.batch_norm(bn_name, &sep.bn, x);
            x = o.relu(x);
        }
        x
    }

    fn info(&self) -> FeatureInfo {
        FeatureInfo::linear_head(2048, 32, "fc")
    }
}

/// The registered Xception variant.
pub(crate) const VARIANTS: &[Variant] = &[Variant {
    name: "legacy_xception",
    family: "xception",
    paper: "Chollet 2017, arXiv:1610.02357",
    default_size: 299,
    reference_params: 22_855_952,
    reference_gmacs: 8.40,
    build: |c, d| Backbone::Xception(XceptionConfig::new().with_in_chans(c).init(d)),
}];
