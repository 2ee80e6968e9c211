//! Blocks several families share, named as their reference implementations name them.

use crate::{Act, Ops};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;

/// A `k×k` convolution, padding `(k−1)/2` ("same" for odd kernels, as torchvision's
/// `Conv2dNormActivation` and the ResNet/DenseNet stems pad), optional groups and bias.
pub(crate) fn conv(i: usize, o: usize, k: usize, stride: usize, groups: usize, bias: bool, device: &Device) -> Conv2d {
    conv_padded(i, o, k, stride, (k - 1) / 2, groups, bias, device)
}

/// [`conv`] with explicit symmetric padding (Xception's unpadded stem).
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_padded(i: usize, o: usize, k: usize, stride: usize, pad: usize, groups: usize, bias: bool, device: &Device) -> Conv2d {
    Conv2dConfig::new([i, o], [k, k])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_groups(groups)
        .with_bias(bias)
        .init(device)
}

/// Convolution (no bias) → BatchNorm: torchvision's `Conv2dNormActivation` (`0`, `1`) and timm's
/// `ConvNormAct` (`conv`, `bn`); the activation is the caller's.
#[derive(Module, Debug)]
pub struct ConvBn {
    /// The convolution.
    pub conv: Conv2d,
    /// Its batch norm.
    pub bn: BatchNorm,
}

impl ConvBn {
    /// `k×k`, stride, groups, BatchNorm epsilon.
    #[must_use]
    pub fn new(i: usize, o: usize, k: usize, stride: usize, groups: usize, eps: f64, device: &Device) -> Self {
        Self { conv: conv(i, o, k, stride, groups, false, device), bn: BatchNormConfig::new(o).with_epsilon(eps).init(device) }
    }

    /// Run with the reference's child names and an optional activation.
    pub fn run<O: Ops>(&self, o: &mut O, names: (&str, &str), act: Option<Act>, x: O::T) -> O::T {
        let y = o.conv2d(names.0, &self.conv, x);
        let y = o.batch_norm(names.1, &self.bn, y);
        match act {
            Some(a) => o.act(a, y),
            None => y,
        }
    }
}

/// Squeeze-and-excitation (Hu et al. 2018, arXiv:1709.01507): global pool → 1×1 conv → act →
/// 1×1 conv → gate → rescale. Children are `fc1`/`fc2` (torchvision, timm `SEModule`) or
/// `conv_reduce`/`conv_expand` (timm's EfficientNet-style `SqueezeExcite`), given by the caller.
#[derive(Module, Debug)]
pub struct SqueezeExcite {
    /// Reduce.
    pub fc1: Conv2d,
    /// Expand.
    pub fc2: Conv2d,
}

impl SqueezeExcite {
    /// `channels` → `squeeze` → `channels`, both with bias.
    #[must_use]
    pub fn new(channels: usize, squeeze: usize, device: &Device) -> Self {
        Self { fc1: conv(channels, squeeze, 1, 1, 1, true, device), fc2: conv(squeeze, channels, 1, 1, 1, true, device) }
    }

    /// `x · gate(fc2(act(fc1(mean(x)))))`.
    pub fn run<O: Ops>(&self, o: &mut O, names: (&str, &str), act: Act, gate: Act, x: O::T) -> O::T {
        let s = o.mean_keep(x.clone());
        let s = o.conv2d(names.0, &self.fc1, s);
        let s = o.act(act, s);
        let s = o.conv2d(names.1, &self.fc2, s);
        let s = o.act(gate, s);
        o.mul(x, s)
    }
}

/// torchvision's and timm's `make_divisible`: round to the nearest multiple of `divisor`, never
/// below `divisor` nor more than 10% below `v`.
#[must_use]
pub(crate) fn make_divisible(v: f64, divisor: usize) -> usize {
    let d = divisor as f64;
    let mut n = (((v + d / 2.0) as usize) / divisor * divisor).max(divisor);
    if (n as f64) < 0.9 * v {
        n += divisor;
    }
    n
}
