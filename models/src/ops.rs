//! The primitive vocabulary every architecture is written against.

use burn::nn::conv::Conv2d;
use burn::nn::pool::{AvgPool2d, MaxPool2d};
use burn::nn::{BatchNorm, Dropout, Linear};
use crate::layers::{ChannelNorm, ChannelScale, Grn};

/// Elementwise activations (torch's definitions: GELU is the exact erf form, HardSigmoid is
/// `relu6(x + 3) / 6`, i.e. ONNX HardSigmoid with alpha 1/6 — not ONNX's default 0.2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Act {
    /// `max(0, x)`.
    Relu,
    /// `x·σ(x)` (Swish).
    Silu,
    /// `x·Φ(x)` (erf form).
    Gelu,
    /// `x·relu6(x + 3)/6`.
    HardSwish,
    /// `relu6(x + 3)/6`.
    HardSigmoid,
    /// `σ(x)`.
    Sigmoid,
    /// `max(0, x) + slope·min(0, x)`.
    LeakyRelu(f64),
}

/// Primitives over 4-D feature maps (`T`, `[N, C, H, W]`) and 2-D activations (`V`, `[N, D]`).
///
/// `name` arguments are the module's field name in the reference implementation (torchvision),
/// joined with the enclosing [`Ops::scope`]s into the initializer path
/// (`features.denseblock1.denselayer1.conv1`).
pub trait Ops {
    /// A feature map.
    type T: Clone;
    /// A batch of vectors.
    type V: Clone;

    /// Whether this records the deploy graph (re-parameterized blocks fused: RepVGG). Burn runs
    /// the training form; the exporter's parity gate compares the two.
    fn deploy(&self) -> bool {
        false
    }
    /// Run `f` inside a named scope (a submodule).
    fn scope<R>(&mut self, name: &str, f: impl FnOnce(&mut Self) -> R) -> R;
    /// 2-D convolution.
    fn conv2d(&mut self, name: &str, m: &Conv2d, x: Self::T) -> Self::T;
    /// Batch normalization with running statistics (inference form in ONNX).
    fn batch_norm(&mut self, name: &str, m: &BatchNorm, x: Self::T) -> Self::T;
    /// ReLU.
    fn relu(&mut self, x: Self::T) -> Self::T;
    /// Max pooling.
    fn max_pool(&mut self, m: &MaxPool2d, x: Self::T) -> Self::T;
    /// Average pooling.
    fn avg_pool(&mut self, m: &AvgPool2d, x: Self::T) -> Self::T;
    /// Elementwise sum.
    fn add(&mut self, a: Self::T, b: Self::T) -> Self::T;
    /// Concatenation along channels.
    fn concat(&mut self, xs: &[Self::T]) -> Self::T;
    /// Global average pooling to `[N, C]`.
    fn global_avg_pool(&mut self, x: Self::T) -> Self::V;
    /// Dropout (identity at inference and in ONNX).
    fn dropout(&mut self, m: &Dropout, x: Self::V) -> Self::V;
    /// Linear layer (Burn's weight layout `[in, out]`).
    fn linear(&mut self, name: &str, m: &Linear, x: Self::V) -> Self::V;
    /// Sigmoid.
    fn sigmoid(&mut self, x: Self::V) -> Self::V;
    /// An elementwise activation.
    fn act(&mut self, a: Act, x: Self::T) -> Self::T;
    /// Elementwise product with broadcasting (`[N, C, 1, 1]` gates, `[N, C, H, W]` maps).
    fn mul(&mut self, a: Self::T, b: Self::T) -> Self::T;
    /// Global average pool keeping the spatial axes: `[N, C, 1, 1]` (squeeze-and-excitation).
    fn mean_keep(&mut self, x: Self::T) -> Self::T;
    /// `[N, C, 1, 1]` → `[N, C]`.
    fn flatten(&mut self, x: Self::T) -> Self::V;
    /// Layer normalization over channels at every position (ConvNeXt's LayerNorm2d).
    fn channel_norm(&mut self, name: &str, m: &ChannelNorm, x: Self::T) -> Self::T;
    /// Layer normalization of a batch of vectors (ConvNeXt's head norm after pooling).
    fn vector_norm(&mut self, name: &str, m: &ChannelNorm, x: Self::V) -> Self::V;
    /// A linear layer over channels at every position (ConvNeXt's `pwconv`, a 1×1 convolution).
    fn pointwise_linear(&mut self, name: &str, m: &Linear, x: Self::T) -> Self::T;
    /// Per-channel scale (ConvNeXt's layer scale `gamma`).
    fn channel_scale(&mut self, name: &str, m: &ChannelScale, x: Self::T) -> Self::T;
    /// Global response normalization (ConvNeXt V2).
    fn grn(&mut self, name: &str, m: &Grn, x: Self::T) -> Self::T;
    /// Channels `start..end` (DPN's split into residual and dense paths).
    fn slice_channels(&mut self, x: Self::T, start: usize, end: usize) -> Self::T;
    /// Rearrange `block×block` patches into channels (TResNet's stem; ONNX `SpaceToDepth`'s
    /// DCR-free order: channel = (dy·block + dx)·C + c).
    fn space_to_depth(&mut self, x: Self::T, block: usize) -> Self::T;
    /// Fixed depthwise binomial blur with stride 2 after reflect padding (timm's `BlurPool2d`,
    /// filter size 3).
    fn blur_pool(&mut self, channels: usize, x: Self::T) -> Self::T;
    /// Class activation maps: the linear layer's weights applied at every position of `x`
    /// without bias (`[N, D, h, w]` → `[N, K, h, w]`).
    fn class_maps(&mut self, name: &str, m: &Linear, x: Self::T) -> Self::T;
}
