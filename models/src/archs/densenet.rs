//! DenseNet (Huang et al., "Densely Connected Convolutional Networks", CVPR 2017,
//! arXiv:1608.06993).
//!
//! Structure and parameter names follow torchvision's `torchvision/models/densenet.py`
//! (`features.conv0/norm0/pool0`, `features.denseblock{b}.denselayer{l}.{norm1,conv1,norm2,conv2}`,
//! `features.transition{t}.{norm,conv,pool}`, `features.norm5`, `classifier`). As in torchvision,
//! the features the head pools are `relu(norm5(...))`.

use super::blocks::conv;
use crate::{Backbone, Variant, Family, FeatureInfo, Ops};
use burn::nn::conv::Conv2d;
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;

/// DenseNet hyper-parameters.
#[derive(Config, Debug)]
pub struct DenseNetConfig {
    /// Channels each dense layer adds.
    pub growth_rate: usize,
    /// Dense layers per block.
    pub block_config: [usize; 4],
    /// Channels after the stem.
    pub num_init_features: usize,
    /// Bottleneck width multiplier.
    #[config(default = 4)]
    pub bn_size: usize,
    /// Input channels.
    #[config(default = 3)]
    pub in_chans: usize,
}

/// BN-ReLU-Conv1×1-BN-ReLU-Conv3×3 producing `growth_rate` new channels.
#[derive(Module, Debug)]
pub struct DenseLayer {
    norm1: BatchNorm,
    conv1: Conv2d,
    norm2: BatchNorm,
    conv2: Conv2d,
}

/// BN-ReLU-Conv1×1-AvgPool2 between blocks.
#[derive(Module, Debug)]
pub struct Transition {
    norm: BatchNorm,
    conv: Conv2d,
    pool: AvgPool2d,
}

/// DenseNet backbone.
#[derive(Module, Debug)]
pub struct DenseNet {
    conv0: Conv2d,
    norm0: BatchNorm,
    pool0: MaxPool2d,
    blocks: Vec<Vec<DenseLayer>>,
    transitions: Vec<Transition>,
    norm5: BatchNorm,
    num_features: usize,
}

impl DenseNetConfig {
    /// Initialise.
    #[must_use]
    pub fn init(&self, device: &Device) -> DenseNet {
        let mut c = self.num_init_features;
        let mut blocks = Vec::new();
        let mut transitions = Vec::new();
        for (b, &n) in self.block_config.iter().enumerate() {
            let layers = (0..n)
                .map(|l| {
                    let i = c + l * self.growth_rate;
                    let mid = self.bn_size * self.growth_rate;
                    DenseLayer {
                        norm1: BatchNormConfig::new(i).init(device),
                        conv1: conv(i, mid, 1, 1, 1, false, device),
                        norm2: BatchNormConfig::new(mid).init(device),
                        conv2: conv(mid, self.growth_rate, 3, 1, 1, false, device),
                    }
                })
                .collect();
            blocks.push(layers);
            c += n * self.growth_rate;
            if b + 1 < self.block_config.len() {
                transitions.push(Transition {
                    norm: BatchNormConfig::new(c).init(device),
                    conv: conv(c, c / 2, 1, 1, 1, false, device),
                    pool: AvgPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
                });
                c /= 2;
            }
        }
        DenseNet {
            conv0: conv(self.in_chans, self.num_init_features, 7, 2, 1, false, device),
            norm0: BatchNormConfig::new(self.num_init_features).init(device),
            pool0: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            blocks,
            transitions,
            norm5: BatchNormConfig::new(c).init(device),
            num_features: c,
        }
    }
}

impl DenseLayer {
    fn run<O: Ops>(&self, o: &mut O, inputs: &[O::T]) -> O::T {
        let x = if inputs.len() == 1 { inputs[0].clone() } else { o.concat(inputs) };
        let y = o.batch_norm("norm1", &self.norm1, x);
        let y = o.relu(y);
        let y = o.conv2d("conv1", &self.conv1, y);
        let y = o.batch_norm("norm2", &self.norm2, y);
        let y = o.relu(y);
        o.conv2d("conv2", &self.conv2, y)
    }
}

impl Family for DenseNet {
    /// `[N, D, H/32, W/32]`.
    fn features<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        o.scope("features", |o| {
            let x = o.conv2d("conv0", &self.conv0, x);
            let x = o.batch_norm("norm0", &self.norm0, x);
            let x = o.relu(x);
            let mut x = o.max_pool(&self.pool0, x);
            for (b, layers) in self.blocks.iter().enumerate() {
                x = o.scope(&format!("denseblock{}", b + 1), |o| {
                    let mut feats = vec![x];
                    for (l, layer) in layers.iter().enumerate() {
                        let new = o.scope(&format!("denselayer{}", l + 1), |o| layer.run(o, &feats));
                        feats.push(new);
                    }
                    o.concat(&feats)
                });
                if let Some(t) = self.transitions.get(b) {
                    x = o.scope(&format!("transition{}", b + 1), |o| {
                        let y = o.batch_norm("norm", &t.norm, x);
                        let y = o.relu(y);
                        let y = o.conv2d("conv", &t.conv, y);
                        o.avg_pool(&t.pool, y)
                    });
                }
            }
            let x = o.batch_norm("norm5", &self.norm5, x);
            o.relu(x)
        })
    }

    /// Feature information.
    fn info(&self) -> FeatureInfo {
        FeatureInfo::linear_head(self.num_features, 32, "classifier")
    }
}

/// DenseNet-121.
#[must_use]
pub fn densenet121(in_chans: usize) -> DenseNetConfig {
    DenseNetConfig::new(32, [6, 12, 24, 16], 64).with_in_chans(in_chans)
}

/// DenseNet-161.
#[must_use]
pub fn densenet161(in_chans: usize) -> DenseNetConfig {
    DenseNetConfig::new(48, [6, 12, 36, 24], 96).with_in_chans(in_chans)
}

const HUANG: &str = "Huang et al. 2017, arXiv:1608.06993";

/// The registered DenseNet variants.
pub(crate) const VARIANTS: &[Variant] = &[
    Variant { name: "densenet121", family: "densenet", paper: HUANG, default_size: 224, reference_params: 7_978_856, reference_gmacs: 2.834, build: |c, d| Backbone::DenseNet(densenet121(c).init(d)) },
    Variant { name: "densenet161", family: "densenet", paper: HUANG, default_size: 224, reference_params: 28_681_000, reference_gmacs: 7.728, build: |c, d| Backbone::DenseNet(densenet161(c).init(d)) },
];
