//! [`Ops`] on Burn tensors: what training and inference run.

use crate::layers::{ChannelNorm, ChannelScale, Grn};
use crate::{Act, Ops};
use burn::nn::conv::Conv2d;
use burn::nn::pool::{AvgPool2d, MaxPool2d};
use burn::nn::{BatchNorm, Dropout, Linear};
use burn::prelude::*;
use burn::tensor::activation;

/// Forwards every primitive to the Burn layer; names and scopes are ignored.
#[derive(Debug, Default, Clone, Copy)]
pub struct BurnOps;

impl Ops for BurnOps {
    type T = Tensor<4>;
    type V = Tensor<2>;

    fn scope<R>(&mut self, _name: &str, f: impl FnOnce(&mut Self) -> R) -> R {
        f(self)
    }
    fn conv2d(&mut self, _name: &str, m: &Conv2d, x: Tensor<4>) -> Tensor<4> {
        m.forward(x)
    }
    fn batch_norm(&mut self, _name: &str, m: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
        m.forward(x)
    }
    fn relu(&mut self, x: Tensor<4>) -> Tensor<4> {
        activation::relu(x)
    }
    fn max_pool(&mut self, m: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
        m.forward(x)
    }
    fn avg_pool(&mut self, m: &AvgPool2d, x: Tensor<4>) -> Tensor<4> {
        m.forward(x)
    }
    fn add(&mut self, a: Tensor<4>, b: Tensor<4>) -> Tensor<4> {
        a + b
    }
    fn concat(&mut self, xs: &[Tensor<4>]) -> Tensor<4> {
        Tensor::cat(xs.to_vec(), 1)
    }
    fn global_avg_pool(&mut self, x: Tensor<4>) -> Tensor<2> {
        let [n, c, _, _] = x.dims();
        x.mean_dim(3).mean_dim(2).reshape([n, c])
    }
    fn dropout(&mut self, m: &Dropout, x: Tensor<2>) -> Tensor<2> {
        m.forward(x)
    }
    fn linear(&mut self, _name: &str, m: &Linear, x: Tensor<2>) -> Tensor<2> {
        m.forward(x)
    }
    fn sigmoid(&mut self, x: Tensor<2>) -> Tensor<2> {
        activation::sigmoid(x)
    }
    fn act(&mut self, a: Act, x: Tensor<4>) -> Tensor<4> {
        match a {
            Act::Relu => activation::relu(x),
            Act::Silu => activation::silu(x),
            Act::Gelu => activation::gelu(x),
            Act::HardSwish => activation::hard_swish(x),
            Act::HardSigmoid => activation::hard_sigmoid(x, 1.0 / 6.0, 0.5),
            Act::Sigmoid => activation::sigmoid(x),
            Act::LeakyRelu(slope) => activation::leaky_relu(x, slope),
        }
    }
    fn mul(&mut self, a: Tensor<4>, b: Tensor<4>) -> Tensor<4> {
        a * b
    }
    fn mean_keep(&mut self, x: Tensor<4>) -> Tensor<4> {
        x.mean_dim(3).mean_dim(2)
    }
    fn flatten(&mut self, x: Tensor<4>) -> Tensor<2> {
        let [n, c, h, w] = x.dims();
        x.reshape([n, c * h * w])
    }
    fn channel_norm(&mut self, _name: &str, m: &ChannelNorm, x: Tensor<4>) -> Tensor<4> {
        let c = x.dims()[1];
        standardize_channels(x, m.eps) * m.weight.val().reshape([1, c, 1, 1]) + m.bias.val().reshape([1, c, 1, 1])
    }
    fn vector_norm(&mut self, _name: &str, m: &ChannelNorm, x: Tensor<2>) -> Tensor<2> {
        let c = x.dims()[1];
        standardize_channels(x, m.eps) * m.weight.val().reshape([1, c]) + m.bias.val().reshape([1, c])
    }
    fn pointwise_linear(&mut self, _name: &str, m: &Linear, x: Tensor<4>) -> Tensor<4> {
        m.forward(x.permute([0, 2, 3, 1])).permute([0, 3, 1, 2])
    }
    fn channel_scale(&mut self, _name: &str, m: &ChannelScale, x: Tensor<4>) -> Tensor<4> {
        let c = x.dims()[1];
        x * m.gamma.val().reshape([1, c, 1, 1])
    }
    fn grn(&mut self, _name: &str, m: &Grn, x: Tensor<4>) -> Tensor<4> {
        let c = x.dims()[1];
        let g = x.clone().square().sum_dim(3).sum_dim(2).sqrt(); // [N, C, 1, 1]
        let n = g.clone() / (g.mean_dim(1) + m.eps);
        let w = m.weight.val().reshape([1, c, 1, 1]);
        let b = m.bias.val().reshape([1, c, 1, 1]);
        x.clone() + b + w * (x * n)
    }
    fn slice_channels(&mut self, x: Tensor<4>, start: usize, end: usize) -> Tensor<4> {
        let [n, _, h, w] = x.dims();
        x.slice([0..n, start..end, 0..h, 0..w])
    }
    fn space_to_depth(&mut self, x: Tensor<4>, block: usize) -> Tensor<4> {
        let [n, c, h, w] = x.dims();
        let (hb, wb) = (h / block, w / block);
        x.reshape([n, c, hb, block, wb, block]).permute([0, 3, 5, 1, 2, 4]).reshape([n, c * block * block, hb, wb])
    }
    fn blur_pool(&mut self, channels: usize, x: Tensor<4>) -> Tensor<4> {
        let filt = blur_filter(channels, &x.device());
        let padded = reflect_pad1(x);
        burn::tensor::module::conv2d(padded, filt, None, burn::tensor::ops::ConvOptions::new([2, 2], [0, 0], [1, 1], channels))
    }
    fn class_maps(&mut self, _name: &str, m: &Linear, x: Tensor<4>) -> Tensor<4> {
        let [n, d, h, w] = x.dims();
        let weight = m.weight.val(); // [D, K]
        let k = weight.dims()[1];
        let flat = x.reshape([n, d, h * w]).swap_dims(1, 2); // [N, hw, D]
        let maps = flat.matmul(weight.unsqueeze::<3>()); // [N, hw, K]
        maps.swap_dims(1, 2).reshape([n, k, h, w])
    }
}

/// timm's 3×3 binomial filter `[1, 2, 1]ᵀ[1, 2, 1] / 16`, one copy per channel.
pub(crate) fn blur_filter(channels: usize, device: &Device) -> Tensor<4> {
    let k = [1.0f32, 2.0, 1.0];
    let one: Vec<f32> = (0..9).map(|i| k[i / 3] * k[i % 3] / 16.0).collect();
    let data: Vec<f32> = one.iter().copied().cycle().take(9 * channels).collect();
    Tensor::from_data(burn::tensor::TensorData::new(data, [channels, 1, 3, 3]), device)
}

/// Reflect padding by one on both spatial axes (PyTorch's `F.pad(x, [1]*4, "reflect")`).
fn reflect_pad1(x: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let top = x.clone().slice([0..n, 0..c, 1..2, 0..w]);
    let bottom = x.clone().slice([0..n, 0..c, h - 2..h - 1, 0..w]);
    let x = Tensor::cat(vec![top, x, bottom], 2);
    let left = x.clone().slice([0..n, 0..c, 0..h + 2, 1..2]);
    let right = x.clone().slice([0..n, 0..c, 0..h + 2, w - 2..w - 1]);
    Tensor::cat(vec![left, x, right], 3)
}

/// `(x − mean_c) / √(var_c + eps)` over axis 1 (biased variance, as `F.layer_norm`).
fn standardize_channels<const D: usize>(x: Tensor<D>, eps: f64) -> Tensor<D> {
    let centered = x.clone() - x.mean_dim(1);
    let var = centered.clone().square().mean_dim(1);
    centered / (var + eps).sqrt()
}
