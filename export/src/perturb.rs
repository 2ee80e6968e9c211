//! Give a model non-trivial BatchNorm running statistics, so a parity check cannot pass by
//! accident when the exporter drops them or confuses them with batch statistics.

use burn::module::{ModuleMapper, Param};
use burn::prelude::*;
use burn::tensor::Distribution;

struct RunningStats {
    path: Vec<String>,
}

impl ModuleMapper for RunningStats {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        match self.path.last().map(String::as_str) {
            Some("running_mean") => param.map(|t| t.random_like(Distribution::Normal(0.0, 0.5))),
            Some("running_var") => param.map(|t| t.random_like(Distribution::Uniform(0.5, 2.0))),
            Some("gamma") => param.map(|t| t.random_like(Distribution::Uniform(0.5, 1.5))),
            Some("beta") => param.map(|t| t.random_like(Distribution::Normal(0.0, 0.2))),
            _ => param,
        }
    }
}

/// Replace every BatchNorm's running mean/var (and affine parameters) with random values.
#[must_use]
pub fn randomize_batch_norm<M: Module>(model: M) -> M {
    model.map(&mut RunningStats { path: Vec::new() })
}
