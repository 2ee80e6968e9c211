//! Muon (Keller Jordan, "Muon: an optimizer for hidden layers", 2024; KellerJordan/Muon
//! `muon.py`, `SingleDeviceMuon`), methods.md §2.3.
//!
//! Burn's `Muon` asserts 2-D parameters and starts its SGD-style momentum at g; this one keeps
//! Keller's EMA (`buf₀ = 0`) and flattens convolution filters to (out, in·kh·kw). The
//! orthogonalization runs in f32 (Keller's runs in bf16 on GPU).

use super::state::Slots;
use burn::optim::{LearningRate, Optimizer};
use burn::prelude::*;

/// Quintic Newton–Schulz coefficients (a, b, c).
const NS: (f32, f32, f32) = (3.4445, -4.7750, 2.0315);

/// The Muon rule for one tensor.
#[derive(Clone, Debug)]
pub struct Muon {
    /// EMA coefficient β.
    pub momentum: f32,
    /// Nesterov look-ahead.
    pub nesterov: bool,
    /// Newton–Schulz iterations.
    pub ns_steps: u32,
    /// Decoupled weight decay λ.
    pub weight_decay: f32,
}

/// Approximately orthogonalize a 2-D matrix (the zeroth power of its SVD), as `zeropower_via_newtonschulz5`.
#[must_use]
pub fn newton_schulz(g: Tensor<2>, steps: u32) -> Tensor<2> {
    let [rows, cols] = g.dims();
    let transposed = rows > cols;
    let mut x = if transposed { g.transpose() } else { g };
    let norm = x.clone().powf_scalar(2.0).sum().sqrt().add_scalar(1e-7).reshape([1, 1]);
    x = x / norm;
    let (a, b, c) = NS;
    for _ in 0..steps {
        let am = x.clone().matmul(x.clone().transpose());
        let bm = am.clone().mul_scalar(b) + am.clone().matmul(am).mul_scalar(c);
        x = x.clone().mul_scalar(a) + bm.matmul(x);
    }
    if transposed { x.transpose() } else { x }
}

impl Optimizer for Muon {
    type State<const D: usize> = Slots<D>;

    fn step<const D: usize>(&self, lr: LearningRate, tensor: Tensor<D>, grad: Tensor<D>, state: Option<Self::State<D>>) -> (Tensor<D>, Option<Self::State<D>>) {
        let beta = self.momentum;
        let buf = state.map_or_else(|| grad.zeros_like(), |s| s.tensors[0].clone());
        let buf = super::lerp(buf, grad.clone(), 1.0 - beta);
        let update = if self.nesterov { super::lerp(grad, buf.clone(), beta) } else { buf.clone() };
        let dims = update.dims();
        let (rows, cols) = if D >= 2 { (dims[0], dims[1..].iter().product()) } else { (1, dims.iter().product()) };
        let ortho = newton_schulz(update.reshape([rows, cols]), self.ns_steps).reshape(dims);
        // Keller scales by √max(1, size(−2)/size(−1)) of the unflattened torch gradient: kh/kw
        // for a convolution filter (same layout in Burn), out/in for a matrix, which Burn's
        // Linear stores as (in, out).
        let ratio = match D {
            2 => dims[1] as f32 / dims[0] as f32,
            d if d > 2 => dims[D - 2] as f32 / dims[D - 1] as f32,
            _ => 1.0,
        };
        let scale = ratio.max(1.0).sqrt();
        let lr = lr as f32;
        let decayed = if self.weight_decay == 0.0 { tensor } else { tensor.mul_scalar(1.0 - lr * self.weight_decay) };
        (decayed - ortho.mul_scalar(lr * scale), Some(Slots::new(0, vec![buf])))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.to_device(device)
    }
}
