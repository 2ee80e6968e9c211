//! Architecture families, one file each.

pub mod blocks;
pub mod convnext;
pub mod densenet;
pub mod dpn;
pub mod efficientnet;
pub mod mobilenetv3;
pub mod regnet;
pub mod repvgg;
pub mod resnet;
pub mod tresnet;
pub mod xception;

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;

/// A square `k×k` convolution without bias, stride `s`, symmetric padding `p` (the torchvision
/// families put a BatchNorm after every convolution).
pub(crate) fn conv_no_bias(i: usize, o: usize, k: usize, s: usize, p: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([i, o], [k, k])
        .with_stride([s, s])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .with_bias(false)
        .init(device)
}

/// [`conv_no_bias`] with `groups` groups (ResNeXt's grouped 3×3 convolution).
pub(crate) fn conv_grouped(i: usize, o: usize, k: usize, s: usize, p: usize, groups: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([i, o], [k, k])
        .with_stride([s, s])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .with_groups(groups)
        .with_bias(false)
        .init(device)
}
