//! [`Ops`] on Burn tensors: what training and inference run.

use crate::Ops;
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
    fn class_maps(&mut self, _name: &str, m: &Linear, x: Tensor<4>) -> Tensor<4> {
        let [n, d, h, w] = x.dims();
        let weight = m.weight.val(); // [D, K]
        let k = weight.dims()[1];
        let flat = x.reshape([n, d, h * w]).swap_dims(1, 2); // [N, hw, D]
        let maps = flat.matmul(weight.unsqueeze::<3>()); // [N, hw, K]
        maps.swap_dims(1, 2).reshape([n, k, h, w])
    }
}
