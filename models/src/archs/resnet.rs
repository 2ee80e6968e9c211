//! ResNet (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016,
//! arXiv:1512.03385).
//!
//! Structure and parameter names follow torchvision's `torchvision/models/resnet.py`
//! (`conv1`, `bn1`, `layer{1..4}.{i}.{conv1,bn1,conv2,bn2,downsample.0,downsample.1}`, `fc`), so a
//! torchvision state dict maps onto it by name (the `downsample` pair is a struct here, named
//! `downsample.0`/`.1` in the exported graph). Basic blocks (ResNet-18/34) are implemented; the
//! bottleneck variants come with the zoo issue.

use super::conv_no_bias as conv;
use crate::{FeatureInfo, Ops};
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;

/// ResNet hyper-parameters.
#[derive(Config, Debug)]
pub struct ResNetConfig {
    /// Basic blocks per stage.
    pub layers: [usize; 4],
    /// Input channels.
    #[config(default = 3)]
    pub in_chans: usize,
}

/// The projection shortcut (`downsample.0` conv, `downsample.1` BN).
#[derive(Module, Debug)]
pub struct Downsample {
    /// 1×1 strided convolution.
    pub conv: Conv2d,
    /// Its batch norm.
    pub bn: BatchNorm,
}

/// Two 3×3 convolutions with a residual connection.
#[derive(Module, Debug)]
pub struct BasicBlock {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    downsample: Option<Downsample>,
}

impl BasicBlock {
    fn new(i: usize, o: usize, stride: usize, device: &Device) -> Self {
        let downsample = (stride != 1 || i != o).then(|| Downsample {
            conv: conv(i, o, 1, stride, 0, device),
            bn: BatchNormConfig::new(o).init(device),
        });
        Self {
            conv1: conv(i, o, 3, stride, 1, device),
            bn1: BatchNormConfig::new(o).init(device),
            conv2: conv(o, o, 3, 1, 1, device),
            bn2: BatchNormConfig::new(o).init(device),
            downsample,
        }
    }

    fn run<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        let identity = match &self.downsample {
            Some(d) => o.scope("downsample", |o| {
                let y = o.conv2d("0", &d.conv, x.clone());
                o.batch_norm("1", &d.bn, y)
            }),
            None => x.clone(),
        };
        let y = o.conv2d("conv1", &self.conv1, x);
        let y = o.batch_norm("bn1", &self.bn1, y);
        let y = o.relu(y);
        let y = o.conv2d("conv2", &self.conv2, y);
        let y = o.batch_norm("bn2", &self.bn2, y);
        let y = o.add(y, identity);
        o.relu(y)
    }
}

/// ResNet backbone (everything before the pool).
#[derive(Module, Debug)]
pub struct ResNet {
    conv1: Conv2d,
    bn1: BatchNorm,
    maxpool: MaxPool2d,
    layer1: Vec<BasicBlock>,
    layer2: Vec<BasicBlock>,
    layer3: Vec<BasicBlock>,
    layer4: Vec<BasicBlock>,
}

impl ResNetConfig {
    /// Initialise.
    #[must_use]
    pub fn init(&self, device: &Device) -> ResNet {
        let widths = [64, 128, 256, 512];
        let mut in_c = 64;
        let mut stages: Vec<Vec<BasicBlock>> = Vec::new();
        for (s, (&n, &w)) in self.layers.iter().zip(&widths).enumerate() {
            let stride = if s == 0 { 1 } else { 2 };
            let mut blocks = vec![BasicBlock::new(in_c, w, stride, device)];
            blocks.extend((1..n).map(|_| BasicBlock::new(w, w, 1, device)));
            in_c = w;
            stages.push(blocks);
        }
        let mut it = stages.into_iter();
        let mut next = || it.next().unwrap_or_default();
        ResNet {
            conv1: conv(self.in_chans, 64, 7, 2, 3, device),
            bn1: BatchNormConfig::new(64).init(device),
            maxpool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            layer1: next(),
            layer2: next(),
            layer3: next(),
            layer4: next(),
        }
    }
}

impl ResNet {
    /// `[N, 512, H/32, W/32]`.
    pub fn features<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        let x = o.conv2d("conv1", &self.conv1, x);
        let x = o.batch_norm("bn1", &self.bn1, x);
        let x = o.relu(x);
        let mut x = o.max_pool(&self.maxpool, x);
        for (name, layer) in [("layer1", &self.layer1), ("layer2", &self.layer2), ("layer3", &self.layer3), ("layer4", &self.layer4)] {
            x = o.scope(name, |o| {
                let mut x = x;
                for (i, b) in layer.iter().enumerate() {
                    x = o.scope(&i.to_string(), |o| b.run(o, x));
                }
                x
            });
        }
        x
    }

    /// Feature information.
    #[must_use]
    pub fn info(&self) -> FeatureInfo {
        FeatureInfo { num_features: 512, reduction: 32, head_name: "fc" }
    }
}

/// ResNet-18.
#[must_use]
pub fn resnet18(in_chans: usize) -> ResNetConfig {
    ResNetConfig::new([2, 2, 2, 2]).with_in_chans(in_chans)
}

/// ResNet-34.
#[must_use]
pub fn resnet34(in_chans: usize) -> ResNetConfig {
    ResNetConfig::new([3, 4, 6, 3]).with_in_chans(in_chans)
}
