//! SAM (Foret et al., "Sharpness-Aware Minimization", ICLR 2021; davda54/sam) and ASAM (Kwon et
//! al., "ASAM: Adaptive Sharpness-Aware Minimization", ICML 2021; SamsungLabs/ASAM `asam.py`),
//! methods.md §2.9: the ascent half of the step. The loop takes the gradient at the returned
//! point and gives it to the base rule at the original point.
//!
//! The perturbed copy has its own BatchNorm running statistics, so the second forward pass does
//! not update the model's: its statistics come from the first pass only.

use super::params::ParamList;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;
use cxr_core::OptimizerConfig;
use std::collections::HashSet;

/// The ascent rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sharpness {
    /// e = ρ·g/(‖g‖ + 1e−12).
    Sam {
        /// ρ.
        rho: f64,
    },
    /// T = |θ| + η for weights (torch's `weight` parameters: filters, matrices and BatchNorm
    /// γ), 1 for biases; e = ρ·T²⊙g/(‖T⊙g‖ + 1e−16).
    Asam {
        /// ρ.
        rho: f64,
        /// η.
        eta: f64,
    },
}

impl Sharpness {
    /// The ascent rule of an optimizer config, if it has one.
    #[must_use]
    pub fn of(config: &OptimizerConfig) -> Option<Self> {
        match config {
            OptimizerConfig::Sam { rho, .. } => Some(Self::Sam { rho: *rho }),
            OptimizerConfig::Asam { rho, eta, .. } => Some(Self::Asam { rho: *rho, eta: *eta }),
            _ => None,
        }
    }
}

fn weight_like(path: &str) -> bool {
    path.ends_with("weight") || path.ends_with("gamma")
}

struct Walk<'a> {
    path: Vec<String>,
    grads: &'a GradientsParams,
    trainable: &'a HashSet<ParamId>,
    rule: Sharpness,
    /// Σ‖T⊙g‖² while measuring; the scale ρ/n while moving.
    sum: f64,
    scale: Option<f64>,
}

impl Walk<'_> {
    /// T ⊙ g (measuring) or e (moving) for one tensor.
    fn term<const D: usize>(&self, theta: &Tensor<D>, g: Tensor<D>, power: i32) -> Tensor<D> {
        match self.rule {
            Sharpness::Asam { eta, .. } if weight_like(&self.path.join(".")) => {
                let t = theta.clone().abs().add_scalar(eta);
                if power == 2 { g * t.clone() * t } else { g * t }
            }
            _ => g,
        }
    }
}

impl ModuleVisitor for Walk<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let (true, Some(g)) = (self.trainable.contains(&param.id), self.grads.get::<D>(param.id)) {
            let tg = self.term(&param.val(), g, 1);
            let s: f32 = tg.powf_scalar(2.0).sum().into_scalar();
            self.sum += f64::from(s);
        }
    }
}

impl ModuleMapper for Walk<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, theta, mapper) = param.consume();
        let moved = match (self.trainable.contains(&id), self.grads.get::<D>(id), self.scale) {
            (true, Some(g), Some(s)) => {
                let e = self.term(&theta, g.to_device(&theta.device()), 2).mul_scalar(s);
                theta + e
            }
            _ => theta,
        };
        Param::from_mapped_value(id, moved, mapper)
    }
}

/// The model at θ + e for the gradient `grads` taken at θ: same parameter ids, its own
/// BatchNorm statistics, on the autodiff device, ready for the second forward/backward pass.
#[must_use]
pub fn perturbed<M: Module>(model: &M, grads: &GradientsParams, params: &ParamList, rule: Sharpness) -> M {
    let trainable: HashSet<ParamId> = params.0.iter().map(|p| p.id).collect();
    // The inference copy owns fresh running-statistics cells (synced with the first pass).
    let copy = model.valid();
    let mut walk = Walk { path: Vec::new(), grads, trainable: &trainable, rule, sum: 0.0, scale: None };
    copy.visit(&mut walk);
    let n = walk.sum.sqrt();
    walk.scale = Some(match rule {
        Sharpness::Sam { rho } => rho / (n + 1e-12),
        Sharpness::Asam { rho, .. } => rho / (n + 1e-16),
    });
    walk.path.clear();
    copy.map(&mut walk).train()
}
