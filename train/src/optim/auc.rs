//! PESG and PDSCA, the optimizers of LibAUC's AUC losses (Yuan et al., "Large-scale Robust Deep
//! AUC Maximization", ICCV 2021; "Compositional Training for End-to-End Deep AUC Maximization",
//! ICLR 2022; Optimization-AI/LibAUC 2.0.1 `optimizers/pesg.py`, `pdsca.py`), methods.md §2.10
//! and §3.5, SGD mode.
//!
//! Both pull every parameter towards a reference point θ_ref that is reset, once per epoch, to
//! the average of the iterates since the last reset (`update_regularizer`). LibAUC draws the
//! first θ_ref from N(0, 0.01²); here it starts at 0, so that a step does not depend on an RNG
//! no reference can share. The rule learns the epoch from [`Pesg::epoch`] / [`Pdsca::epoch`]
//! and resets a parameter's θ_ref on its first step in a new epoch. The dual variable α is not a
//! parameter: the loss updates it in closed form ([`crate::loss::AucHead::ascend_alpha`]).

use super::state::Slots;
use burn::optim::{LearningRate, Optimizer};
use burn::prelude::*;

/// `clamp(g, −clip, clip) + epoch_decay·(θ − θ_ref) + λ·θ`.
fn direction<const D: usize>(theta: &Tensor<D>, grad: Tensor<D>, reference: &Tensor<D>, clip: f64, epoch_decay: f64, weight_decay: f64) -> Tensor<D> {
    grad.clamp(-clip, clip) + (theta.clone() - reference.clone()).mul_scalar(epoch_decay) + theta.clone().mul_scalar(weight_decay)
}

/// Reference point, running sum of iterates and their count, after the epoch's reset if due.
fn regularizer<const D: usize>(theta: &Tensor<D>, state: Option<&Slots<D>>, epoch: u64) -> (Tensor<D>, Tensor<D>, u64) {
    match state {
        None => (theta.zeros_like(), theta.zeros_like(), 0),
        Some(s) if (s.scalars[0] as u64) < epoch && s.step > 0 => (s.tensors[1].clone().div_scalar(s.step as f64), theta.zeros_like(), 0),
        Some(s) => (s.tensors[0].clone(), s.tensors[1].clone(), s.step),
    }
}

/// PESG in SGD mode.
#[derive(Clone, Debug)]
pub struct Pesg {
    /// Element-wise gradient clip.
    pub clip: f64,
    /// Pull towards θ_ref.
    pub epoch_decay: f64,
    /// λ (coupled).
    pub weight_decay: f64,
    /// μ: `buf ← (1−μ)·buf + μ·d`, LibAUC's form (μ weights the new term), `buf₀ = d`.
    pub momentum: f64,
    /// Current epoch (0-based).
    pub epoch: u64,
}

impl Optimizer for Pesg {
    /// `step` = iterates since the last reset; scalars [epoch]; tensors [θ_ref, Σθ, buf].
    type State<const D: usize> = Slots<D>;

    fn step<const D: usize>(&self, lr: LearningRate, theta: Tensor<D>, grad: Tensor<D>, state: Option<Self::State<D>>) -> (Tensor<D>, Option<Self::State<D>>) {
        let (reference, acc, count) = regularizer(&theta, state.as_ref(), self.epoch);
        let d = direction(&theta, grad, &reference, self.clip, self.epoch_decay, self.weight_decay);
        let buf = match &state {
            Some(s) if self.momentum != 0.0 => s.tensors[2].clone().mul_scalar(1.0 - self.momentum) + d.mul_scalar(self.momentum),
            _ => d,
        };
        let theta = theta - buf.clone().mul_scalar(lr);
        let acc = acc + theta.clone();
        (theta, Some(Slots { step: count + 1, scalars: vec![self.epoch as f64], tensors: vec![reference, acc, buf] }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.to_device(device)
    }
}

/// PDSCA: on cross-entropy steps a step with `lr0` then a moving average of the weights
/// (β1); on AUC steps a moving average of the direction (β2).
#[derive(Clone, Debug)]
pub struct Pdsca {
    /// Element-wise gradient clip.
    pub clip: f64,
    /// Pull towards θ_ref.
    pub epoch_decay: f64,
    /// λ (coupled).
    pub weight_decay: f64,
    /// Weight-averaging coefficient of the CE steps.
    pub beta1: f64,
    /// Direction-averaging coefficient of the AUC steps.
    pub beta2: f64,
    /// Whether this step is an AUC step (else a CE step).
    pub auc_step: bool,
    /// Current epoch (0-based).
    pub epoch: u64,
}

impl Optimizer for Pdsca {
    /// `step` = iterates since the last reset; scalars [epoch, has weight buffer, has direction
    /// buffer]; tensors [θ_ref, Σθ, weight buffer, direction buffer].
    type State<const D: usize> = Slots<D>;

    fn step<const D: usize>(&self, lr: LearningRate, theta: Tensor<D>, grad: Tensor<D>, state: Option<Self::State<D>>) -> (Tensor<D>, Option<Self::State<D>>) {
        let (reference, acc, count) = regularizer(&theta, state.as_ref(), self.epoch);
        let (mut has_w, mut has_m, mut wbuf, mut mbuf) = match &state {
            Some(s) => (s.scalars[1] != 0.0, s.scalars[2] != 0.0, s.tensors[2].clone(), s.tensors[3].clone()),
            None => (false, false, theta.zeros_like(), theta.zeros_like()),
        };
        let d = direction(&theta, grad, &reference, self.clip, self.epoch_decay, self.weight_decay);
        let theta = if self.auc_step {
            mbuf = if has_m { mbuf.mul_scalar(1.0 - self.beta2) + d.mul_scalar(self.beta2) } else { d };
            has_m = true;
            theta - mbuf.clone().mul_scalar(lr)
        } else {
            let stepped = theta - d.mul_scalar(lr);
            wbuf = if has_w { wbuf.mul_scalar(1.0 - self.beta1) + stepped.mul_scalar(self.beta1) } else { stepped };
            has_w = true;
            wbuf.clone()
        };
        let acc = acc + theta.clone();
        let flags = vec![self.epoch as f64, f64::from(u8::from(has_w)), f64::from(u8::from(has_m))];
        (theta, Some(Slots { step: count + 1, scalars: flags, tensors: vec![reference, acc, wbuf, mbuf] }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.to_device(device)
    }
}
