//! The few layers Burn does not have in the form the reference implementations use. Parameter
//! names are the reference's (`weight`, `bias`, `gamma`), so state dicts load without renames.

use burn::module::Param;
use burn::prelude::*;

/// Layer normalization over channels (torchvision's `LayerNorm2d`, timm's `LayerNorm2d` and the
/// head `LayerNorm` of ConvNeXt): biased variance, `eps` inside the square root.
#[derive(Module, Debug)]
pub struct ChannelNorm {
    /// Scale `[C]`.
    pub weight: Param<Tensor<1>>,
    /// Shift `[C]`.
    pub bias: Param<Tensor<1>>,
    /// Epsilon.
    pub eps: f64,
}

impl ChannelNorm {
    /// Ones and zeros, as PyTorch initialises them.
    #[must_use]
    pub fn new(channels: usize, eps: f64, device: &Device) -> Self {
        Self {
            weight: Param::from_tensor(Tensor::ones([channels], device)),
            bias: Param::from_tensor(Tensor::zeros([channels], device)),
            eps,
        }
    }
}

/// Per-channel scale (ConvNeXt's layer scale, torchvision's `layer_scale` of shape `[C, 1, 1]`).
#[derive(Module, Debug)]
pub struct ChannelScale {
    /// `[C]`.
    pub gamma: Param<Tensor<1>>,
}

impl ChannelScale {
    /// Every channel scaled by `init` (ConvNeXt: 1e-6).
    #[must_use]
    pub fn new(channels: usize, init: f64, device: &Device) -> Self {
        Self { gamma: Param::from_tensor(Tensor::full([channels], init, device)) }
    }
}

/// Global response normalization (Woo et al. 2023, ConvNeXt V2, arXiv:2301.00808; timm's
/// `GlobalResponseNorm`): `x + bias + weight·(x·n)`, `n = ‖x‖₂,hw / (mean_c ‖x‖₂,hw + eps)`.
#[derive(Module, Debug)]
pub struct Grn {
    /// `[C]`, initialised to zero.
    pub weight: Param<Tensor<1>>,
    /// `[C]`, initialised to zero.
    pub bias: Param<Tensor<1>>,
    /// Epsilon (1e-6).
    pub eps: f64,
}

impl Grn {
    /// Zero weight and bias (the block starts as the identity), as timm initialises it.
    #[must_use]
    pub fn new(channels: usize, device: &Device) -> Self {
        Self { weight: Param::from_tensor(Tensor::zeros([channels], device)), bias: Param::from_tensor(Tensor::zeros([channels], device)), eps: 1e-6 }
    }
}
