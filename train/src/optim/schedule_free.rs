//! Schedule-Free AdamW (Defazio et al., "The Road Less Scheduled", NeurIPS 2024;
//! facebookresearch/schedule_free, as published on PyPI as `schedulefree` 1.4.1,
//! `adamw_schedulefree.py`). The parameter holds y during training; the state holds z and the
//! second moment. Evaluation and checkpoints use x = lerp(y, z, 1 − 1/β1) ([`to_x`]).
//!
//! methods.md §2.4 transcribes an older commit that folded the bias correction into the
//! learning rate; 1.4.1 divides the second moment by it instead: `ĝ = g / (√(v/(1−β2^(k+1))) + ε)`.

use super::state::Slots;
use burn::optim::{LearningRate, Optimizer};
use burn::prelude::*;

/// The rule for one tensor.
#[derive(Clone, Debug)]
pub struct ScheduleFreeAdamW {
    /// β1 (interpolation between z and x).
    pub beta1: f64,
    /// β2.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Weight decay at y.
    pub weight_decay: f64,
    /// Linear warm-up steps.
    pub warmup_steps: u64,
    /// Averaging power r.
    pub r: f64,
    /// Learning-rate weighting exponent.
    pub weight_lr_power: f64,
    /// Instead of stepping, return x for y (the state is left as it is): how a caller reads the
    /// averaged weights out of the state, see [`super::TrainOptimizer::averaged`].
    pub eval: bool,
}

impl Optimizer for ScheduleFreeAdamW {
    /// `step` = k (0-based steps taken); scalars [lr_max, weight_sum]; tensors [z, v].
    type State<const D: usize> = Slots<D>;

    fn step<const D: usize>(&self, lr: LearningRate, y: Tensor<D>, grad: Tensor<D>, state: Option<Self::State<D>>) -> (Tensor<D>, Option<Self::State<D>>) {
        if self.eval {
            return match state {
                Some(s) => (to_x(y, s.tensors[0].clone(), self.beta1), Some(s)),
                None => (y, None),
            };
        }
        let (k, lr_max, weight_sum, z, v) = match state {
            Some(s) => (s.step, s.scalars[0], s.scalars[1], s.tensors[0].clone(), s.tensors[1].clone()),
            None => (0, -1.0, 0.0, y.clone(), y.zeros_like()),
        };
        let sched = if k < self.warmup_steps { (k + 1) as f64 / self.warmup_steps as f64 } else { 1.0 };
        let bias_correction2 = 1.0 - self.beta2.powi(i32::try_from(k + 1).unwrap_or(i32::MAX));
        let lr = lr * sched;
        let lr_max = lr_max.max(lr);
        let weight = ((k + 1) as f64).powf(self.r) * lr_max.powf(self.weight_lr_power);
        let weight_sum = weight_sum + weight;
        let ckp1 = if weight_sum == 0.0 { 0.0 } else { weight / weight_sum };

        let v = v.mul_scalar(self.beta2) + grad.clone().mul(grad.clone()).mul_scalar(1.0 - self.beta2);
        let denom = v.clone().div_scalar(bias_correction2).sqrt().add_scalar(self.eps);
        let mut g = grad / denom;
        if self.weight_decay != 0.0 {
            g = g + y.clone().mul_scalar(self.weight_decay);
        }
        let y = super::lerp(y, z.clone(), ckp1 as f32);
        let y = y + g.clone().mul_scalar(lr * (self.beta1 * (1.0 - ckp1) - 1.0));
        let z = z - g.mul_scalar(lr);
        (y, Some(Slots { step: k + 1, scalars: vec![lr_max, weight_sum], tensors: vec![z, v] }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.to_device(device)
    }
}

/// The averaged point x from the training point y and z: `lerp(y, z, 1 − 1/β1)` (the
/// optimizer's `eval()`).
#[must_use]
pub fn to_x<const D: usize>(y: Tensor<D>, z: Tensor<D>, beta1: f64) -> Tensor<D> {
    super::lerp(y, z, (1.0 - 1.0 / beta1) as f32)
}
