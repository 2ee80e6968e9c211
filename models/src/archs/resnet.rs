//! ResNet (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016,
//! arXiv:1512.03385).
//!
//! Structure and parameter names follow torchvision's `torchvision/models/resnet.py`
//! (`conv1`, `bn1`, `layer{1..4}.{i}.{conv1,bn1,conv2,bn2,downsample.0,downsample.1}`, `fc`), so a
//! torchvision state dict maps onto it by name (the `downsample` pair is a struct here, named
//! `downsample.0`/`.1` in the exported graph). Basic blocks (ResNet-18/34) and bottleneck blocks
//! (ResNet-50/101; ResNeXt, Xie et al. 2017, arXiv:1611.05431, as grouped 3×3 convolutions with
//! torchvision's `groups`/`width_per_group`; the stride sits on the 3×3 convolution, "ResNet
//! v1.5", as in torchvision). SE-ResNet (Hu et al. 2018, arXiv:1709.01507) follows timm's
//! `seresnet50`, the same names plus `se.fc1`/`se.fc2` after `bn3`.

use super::blocks::{SqueezeExcite, make_divisible};
use super::blocks::conv;
use crate::{Act, Backbone, Family, FeatureInfo, Ops, Variant};
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;

/// ResNet hyper-parameters.
#[derive(Config, Debug)]
pub struct ResNetConfig {
    /// Blocks per stage.
    pub layers: [usize; 4],
    /// Bottleneck blocks (1×1, 3×3, 1×1, expansion 4) instead of basic blocks.
    #[config(default = false)]
    pub bottleneck: bool,
    /// Groups of the bottleneck's 3×3 convolution (ResNeXt cardinality).
    #[config(default = 1)]
    pub groups: usize,
    /// Channels per group of the bottleneck's 3×3 convolution at the first stage's width 64.
    #[config(default = 64)]
    pub width_per_group: usize,
    /// Squeeze-and-excitation after the last BN of every block (timm's `seresnet*`: `se.fc1`,
    /// `se.fc2`, reduction 16).
    #[config(default = false)]
    pub se: bool,
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

/// A residual block: two 3×3 convolutions (basic), or 1×1 → 3×3 (strided, grouped) → 1×1
/// (bottleneck, `conv3`/`bn3` present).
#[derive(Module, Debug)]
pub struct Block {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    conv3: Option<Conv2d>,
    bn3: Option<BatchNorm>,
    se: Option<SqueezeExcite>,
    downsample: Option<Downsample>,
}

fn bn(c: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(c).init(device)
}

fn downsample(i: usize, o: usize, stride: usize, device: &Device) -> Option<Downsample> {
    (stride != 1 || i != o).then(|| Downsample { conv: conv(i, o, 1, stride, 1, false, device), bn: bn(o, device) })
}

impl Block {
    // The shortcut is initialised first: seeded runs keep the weights they had before the
    // bottleneck variants existed.
    fn basic(i: usize, o: usize, stride: usize, device: &Device) -> Self {
        let downsample = downsample(i, o, stride, device);
        Self {
            conv1: conv(i, o, 3, stride, 1, false, device),
            bn1: bn(o, device),
            conv2: conv(o, o, 3, 1, 1, false, device),
            bn2: bn(o, device),
            conv3: None,
            bn3: None,
            se: None,
            downsample,
        }
    }

    /// torchvision's `Bottleneck`: width = planes·(width_per_group/64)·groups, output planes·4.
    fn bottleneck(i: usize, planes: usize, stride: usize, groups: usize, width_per_group: usize, se: bool, device: &Device) -> Self {
        let width = planes * width_per_group / 64 * groups;
        let o = planes * 4;
        let downsample = downsample(i, o, stride, device);
        Self {
            conv1: conv(i, width, 1, 1, 1, false, device),
            bn1: bn(width, device),
            conv2: conv(width, width, 3, stride, groups, false, device),
            bn2: bn(width, device),
            conv3: Some(conv(width, o, 1, 1, 1, false, device)),
            bn3: Some(bn(o, device)),
            se: se.then(|| SqueezeExcite::new(o, make_divisible(o as f64 / 16.0, 8), device)),
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
        let mut y = o.batch_norm("bn2", &self.bn2, y);
        if let (Some(c3), Some(b3)) = (&self.conv3, &self.bn3) {
            y = o.relu(y);
            y = o.conv2d("conv3", c3, y);
            y = o.batch_norm("bn3", b3, y);
        }
        if let Some(se) = &self.se {
            y = o.scope("se", |o| se.run(o, ("fc1", "fc2"), Act::Relu, Act::Sigmoid, y));
        }
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
    layer1: Vec<Block>,
    layer2: Vec<Block>,
    layer3: Vec<Block>,
    layer4: Vec<Block>,
    num_features: usize,
}

impl ResNetConfig {
    /// Initialise.
    #[must_use]
    pub fn init(&self, device: &Device) -> ResNet {
        let planes = [64, 128, 256, 512];
        let mut in_c = 64;
        let mut stages: Vec<Vec<Block>> = Vec::new();
        let block = |i: usize, p: usize, stride: usize| {
            if self.bottleneck { Block::bottleneck(i, p, stride, self.groups, self.width_per_group, self.se, device) } else { Block::basic(i, p, stride, device) }
        };
        for (s, (&n, &p)) in self.layers.iter().zip(&planes).enumerate() {
            let stride = if s == 0 { 1 } else { 2 };
            let mut blocks = vec![block(in_c, p, stride)];
            // From the config, not the weights: touching a lazily initialised parameter here
            // would change the order of the seeded initialisation.
            in_c = if self.bottleneck { p * 4 } else { p };
            blocks.extend((1..n).map(|_| block(in_c, p, 1)));
            stages.push(blocks);
        }
        let mut it = stages.into_iter();
        let mut next = || it.next().unwrap_or_default();
        ResNet {
            conv1: conv(self.in_chans, 64, 7, 2, 1, false, device),
            bn1: BatchNormConfig::new(64).init(device),
            maxpool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            layer1: next(),
            layer2: next(),
            layer3: next(),
            layer4: next(),
            num_features: in_c,
        }
    }
}

impl Family for ResNet {
    /// `[N, D, H/32, W/32]` (D = 512 basic, 2048 bottleneck).
    fn features<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
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
    fn info(&self) -> FeatureInfo {
        FeatureInfo::linear_head(self.num_features, 32, "fc")
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

/// ResNet-50.
#[must_use]
pub fn resnet50(in_chans: usize) -> ResNetConfig {
    ResNetConfig::new([3, 4, 6, 3]).with_bottleneck(true).with_in_chans(in_chans)
}

/// ResNet-101.
#[must_use]
pub fn resnet101(in_chans: usize) -> ResNetConfig {
    ResNetConfig::new([3, 4, 23, 3]).with_bottleneck(true).with_in_chans(in_chans)
}

/// ResNeXt-101 32×8d.
#[must_use]
pub fn resnext101_32x8d(in_chans: usize) -> ResNetConfig {
    ResNetConfig::new([3, 4, 23, 3]).with_bottleneck(true).with_groups(32).with_width_per_group(8).with_in_chans(in_chans)
}

const HE: &str = "He et al. 2016, arXiv:1512.03385";

/// The registered ResNet variants.
pub(crate) const VARIANTS: &[Variant] = &[
    Variant { name: "resnet18", family: "resnet", paper: HE, default_size: 224, reference_params: 11_689_512, reference_gmacs: 1.814, build: |c, d| Backbone::ResNet(resnet18(c).init(d)) },
    Variant { name: "resnet34", family: "resnet", paper: HE, default_size: 224, reference_params: 21_797_672, reference_gmacs: 3.664, build: |c, d| Backbone::ResNet(resnet34(c).init(d)) },
    Variant { name: "resnet50", family: "resnet", paper: HE, default_size: 224, reference_params: 25_557_032, reference_gmacs: 4.089, build: |c, d| Backbone::ResNet(resnet50(c).init(d)) },
    Variant { name: "resnet101", family: "resnet", paper: HE, default_size: 224, reference_params: 44_549_160, reference_gmacs: 7.801, build: |c, d| Backbone::ResNet(resnet101(c).init(d)) },
    Variant {
        name: "resnext101_32x8d",
        family: "resnet",
        paper: "Xie et al. 2017, arXiv:1611.05431",
        default_size: 224,
        reference_params: 88_791_336,
        reference_gmacs: 16.414,
        build: |c, d| Backbone::ResNet(resnext101_32x8d(c).init(d)),
    },
    Variant {
        name: "seresnet50",
        family: "resnet",
        paper: "Hu et al. 2018, arXiv:1709.01507",
        default_size: 224,
        reference_params: 28_088_024,
        reference_gmacs: 4.11,
        build: |c, d| Backbone::ResNet(resnet50(c).with_se(true).init(d)),
    },
];
