//! The primitive vocabulary every architecture is written against.

use burn::nn::conv::Conv2d;
use burn::nn::pool::{AvgPool2d, MaxPool2d};
use burn::nn::{BatchNorm, Dropout, Linear};

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
    /// Class activation maps: the linear layer's weights applied at every position of `x`
    /// without bias (`[N, D, h, w]` → `[N, K, h, w]`).
    fn class_maps(&mut self, name: &str, m: &Linear, x: Self::T) -> Self::T;
}
