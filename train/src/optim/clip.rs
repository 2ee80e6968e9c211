//! Gradient clipping by L2 norm over all parameters together (the default, as
//! `torch.nn.utils.clip_grad_norm_`) or per tensor.

use super::params::ParamList;
use burn::optim::GradientsParams;
use burn::prelude::*;
use cxr_core::{ClipScope, GradClipConfig};

/// Apply `f` to every gradient of `params`, rank by rank.
pub(crate) fn map_grads(grads: &mut GradientsParams, params: &ParamList, mut f: impl FnMut(&super::params::ParamInfo, GradKind) -> GradKind) {
    for p in &params.0 {
        macro_rules! each {
            ($d:literal, $v:ident) => {
                if let Some(g) = grads.remove::<$d>(p.id) {
                    if let GradKind::$v(g) = f(p, GradKind::$v(g)) {
                        grads.register::<$d>(p.id, g);
                    }
                }
            };
        }
        match p.rank {
            1 => each!(1, R1),
            2 => each!(2, R2),
            3 => each!(3, R3),
            4 => each!(4, R4),
            _ => {}
        }
    }
}

/// A gradient of rank 1 to 4.
pub(crate) enum GradKind {
    R1(Tensor<1>),
    R2(Tensor<2>),
    R3(Tensor<3>),
    R4(Tensor<4>),
}

impl GradKind {
    pub(crate) fn sq_norm(&self) -> f64 {
        fn sq<const D: usize>(t: &Tensor<D>) -> f64 {
            let v: f32 = t.clone().powf_scalar(2.0).sum().into_scalar();
            f64::from(v)
        }
        match self {
            Self::R1(t) => sq(t),
            Self::R2(t) => sq(t),
            Self::R3(t) => sq(t),
            Self::R4(t) => sq(t),
        }
    }

    pub(crate) fn scale(self, s: f64) -> Self {
        match self {
            Self::R1(t) => Self::R1(t.mul_scalar(s)),
            Self::R2(t) => Self::R2(t.mul_scalar(s)),
            Self::R3(t) => Self::R3(t.mul_scalar(s)),
            Self::R4(t) => Self::R4(t.mul_scalar(s)),
        }
    }
}

/// The global L2 norm of the gradients.
#[must_use]
pub fn global_norm(grads: &mut GradientsParams, params: &ParamList) -> f64 {
    let mut total = 0.0;
    map_grads(grads, params, |_, g| {
        total += g.sq_norm();
        g
    });
    total.sqrt()
}

/// Clip in place; returns the norm before clipping (global) or the largest tensor norm.
pub fn clip(grads: &mut GradientsParams, params: &ParamList, config: &GradClipConfig) -> f64 {
    // torch: scale = max_norm / (norm + 1e-6), applied when below 1.
    let factor = |norm: f64| (config.max_norm / (norm + 1e-6)).min(1.0);
    match config.over {
        ClipScope::Global => {
            let norm = global_norm(grads, params);
            let s = factor(norm);
            if s < 1.0 {
                map_grads(grads, params, |_, g| g.scale(s));
            }
            norm
        }
        ClipScope::Tensor => {
            let mut largest = 0.0f64;
            map_grads(grads, params, |_, g| {
                let norm = g.sq_norm().sqrt();
                largest = largest.max(norm);
                let s = factor(norm);
                if s < 1.0 { g.scale(s) } else { g }
            });
            largest
        }
    }
}

/// Zero gradients for every parameter of `params` (on the default flex device).
#[must_use]
pub fn zero_grads(params: &ParamList) -> GradientsParams {
    let mut g = GradientsParams::new();
    let device = Device::flex();
    for p in &params.0 {
        match p.rank {
            1 => g.register::<1>(p.id, Tensor::zeros(p.shape.clone(), &device)),
            2 => g.register::<2>(p.id, Tensor::zeros(p.shape.clone(), &device)),
            3 => g.register::<3>(p.id, Tensor::zeros(p.shape.clone(), &device)),
            4 => g.register::<4>(p.id, Tensor::zeros(p.shape.clone(), &device)),
            _ => {}
        }
    }
    g
}
