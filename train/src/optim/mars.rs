//! MARS-AdamW (Yuan et al., "MARS: Unleashing the Power of Variance Reduction for Training
//! Large Models", 2024; AGI-Arena/MARS `mars.py`, `update_fn`, `is_approx`), methods.md §2.8.
//!
//! The reference applies MARS to 2-D gradients only, so a CNN's convolutions would fall through
//! to its 1-D AdamW; here every ≥2-D weight, convolution filters included, takes the MARS rule
//! (the reference's `optimize_1d` route for them) and 1-D parameters take the reference's 1-D
//! AdamW with β (0.9, 0.95).

use super::state::Slots;
use burn::optim::{LearningRate, Optimizer};
use burn::prelude::*;

/// β of the 1-D AdamW half.
const BETAS_1D: (f64, f64) = (0.9, 0.95);

/// The rule for one tensor.
#[derive(Clone, Debug)]
pub struct Mars {
    /// β1.
    pub beta1: f64,
    /// β2.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Variance-reduction scale γ.
    pub gamma: f64,
    /// Weight decay λ (inside the step: `θ ← θ − lr·(λθ + m/denom)`).
    pub weight_decay: f64,
}

fn powi(b: f64, t: u64) -> f64 {
    b.powi(i32::try_from(t).unwrap_or(i32::MAX))
}

impl Optimizer for Mars {
    /// `step` = t; tensors [m, v, g_last] (g_last only for the MARS rule).
    type State<const D: usize> = Slots<D>;

    fn step<const D: usize>(&self, lr: LearningRate, theta: Tensor<D>, grad: Tensor<D>, state: Option<Self::State<D>>) -> (Tensor<D>, Option<Self::State<D>>) {
        let t = state.as_ref().map_or(0, |s| s.step) + 1;
        let (m, v, last) = match state {
            Some(s) => (s.tensors[0].clone(), s.tensors[1].clone(), s.tensors.get(2).cloned()),
            None => (grad.zeros_like(), grad.zeros_like(), None),
        };
        let mars = D >= 2;
        let (b1, b2, c) = if mars {
            let last = last.unwrap_or_else(|| grad.zeros_like());
            let c = (grad.clone() - last).mul_scalar(self.gamma * (self.beta1 / (1.0 - self.beta1))) + grad.clone();
            let norm: f32 = c.clone().powf_scalar(2.0).sum().sqrt().into_scalar();
            let c = if norm > 1.0 { c.div_scalar(norm) } else { c };
            (self.beta1, self.beta2, c)
        } else {
            (BETAS_1D.0, BETAS_1D.1, grad.clone())
        };
        let m = m.mul_scalar(b1) + c.clone().mul_scalar(1.0 - b1);
        let v = v.mul_scalar(b2) + c.clone().mul(c).mul_scalar(1.0 - b2);
        let denom = v.clone().sqrt().div_scalar((1.0 - powi(b2, t)).sqrt()).add_scalar(self.eps).mul_scalar(1.0 - powi(b1, t));
        let update = (theta.clone().mul_scalar(self.weight_decay) + m.clone() / denom).mul_scalar(-lr);
        let mut tensors = vec![m, v];
        if mars {
            tensors.push(grad);
        }
        (theta + update, Some(Slots::new(t, tensors)))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.to_device(device)
    }
}
