//! The reference implementation's name of every tensor, read off the forward pass itself.
//!
//! [`NameOps`] runs a model's `run_all` without computing anything and records, for every
//! primitive that reads a parameter, the name `OnnxOps` would give it (the reference's
//! state-dict key) and the Burn parameter it reads. A visitor pass then gives each Burn parameter
//! its module path, so [`torch_names`] pairs every Burn path with its PyTorch key. Export names,
//! weight loading and the golden tests all come from the one forward definition: a block cannot
//! be named one way in the graph and another way in a checkpoint.

use crate::layers::{ChannelNorm, ChannelScale, Grn};
use crate::{Act, Model, Ops};
use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::nn::conv::Conv2d;
use burn::nn::pool::{AvgPool2d, MaxPool2d};
use burn::nn::{BatchNorm, Dropout, Linear};
use burn::prelude::*;
use std::collections::HashMap;

/// How a reference tensor is laid out relative to the Burn parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Same values in the same order (a reshape at most, e.g. `[C, 1, 1]` → `[C]`).
    Same,
    /// A linear weight: PyTorch `[out, in]` (or a 1×1 convolution `[out, in, 1, 1]`), Burn
    /// `[in, out]`.
    Linear,
}

/// One reference tensor and the Burn parameter holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorchName {
    /// The reference's state-dict key.
    pub torch: String,
    /// The Burn module path.
    pub burn: String,
    /// Layout.
    pub layout: Layout,
    /// The Burn parameter's shape.
    pub shape: Vec<usize>,
    /// Whether this is the first convolution's weight (the one an input-channel change alters).
    pub stem: bool,
}

impl TorchName {
    /// The reference tensor's shape.
    #[must_use]
    pub fn torch_shape(&self) -> Vec<usize> {
        match self.layout {
            Layout::Same => self.shape.clone(),
            Layout::Linear => vec![self.shape[1], self.shape[0]],
        }
    }
}

#[derive(Debug, Clone)]
enum Source {
    /// The parameter itself.
    Param(ParamId),
    /// A sibling of the parameter (BatchNorm running statistics share the module of `gamma`).
    Sibling(ParamId, &'static str),
}

/// Records names; computes nothing.
#[derive(Debug, Default)]
struct NameOps {
    path: Vec<String>,
    entries: Vec<(String, Source, Layout, bool)>,
    convs: usize,
}

impl NameOps {
    fn full(&self, name: &str) -> String {
        let mut p = self.path.join(".");
        if !name.is_empty() {
            if !p.is_empty() {
                p.push('.');
            }
            p.push_str(name);
        }
        p
    }
    fn add(&mut self, name: String, src: Source, layout: Layout) {
        self.entries.push((name, src, layout, false));
    }
    fn param<const D: usize>(&mut self, prefix: &str, field: &str, p: &Param<Tensor<D>>, layout: Layout) {
        let name = if field.is_empty() { prefix.to_string() } else { format!("{prefix}.{field}") };
        self.add(name, Source::Param(p.id), layout);
    }
}

impl Ops for NameOps {
    type T = ();
    type V = ();

    fn scope<R>(&mut self, name: &str, f: impl FnOnce(&mut Self) -> R) -> R {
        self.path.push(name.to_string());
        let r = f(self);
        self.path.pop();
        r
    }
    fn conv2d(&mut self, name: &str, m: &Conv2d, _x: ()) {
        let p = self.full(name);
        self.param(&p, "weight", &m.weight, Layout::Same);
        if self.convs == 0
            && let Some(e) = self.entries.last_mut()
        {
            e.3 = true;
        }
        self.convs += 1;
        if let Some(b) = &m.bias {
            self.param(&p, "bias", b, Layout::Same);
        }
    }
    fn batch_norm(&mut self, name: &str, m: &BatchNorm, _x: ()) {
        let p = self.full(name);
        self.param(&p, "weight", &m.gamma, Layout::Same);
        self.param(&p, "bias", &m.beta, Layout::Same);
        self.add(format!("{p}.running_mean"), Source::Sibling(m.gamma.id, "running_mean"), Layout::Same);
        self.add(format!("{p}.running_var"), Source::Sibling(m.gamma.id, "running_var"), Layout::Same);
    }
    fn relu(&mut self, _x: ()) {}
    fn max_pool(&mut self, _m: &MaxPool2d, _x: ()) {}
    fn avg_pool(&mut self, _m: &AvgPool2d, _x: ()) {}
    fn add(&mut self, _a: (), _b: ()) {}
    fn concat(&mut self, _xs: &[()]) {}
    fn global_avg_pool(&mut self, _x: ()) {}
    fn dropout(&mut self, _m: &Dropout, _x: ()) {}
    fn linear(&mut self, name: &str, m: &Linear, _x: ()) {
        let p = self.full(name);
        self.param(&p, "weight", &m.weight, Layout::Linear);
        if let Some(b) = &m.bias {
            self.param(&p, "bias", b, Layout::Same);
        }
    }
    fn sigmoid(&mut self, _x: ()) {}
    fn act(&mut self, _a: Act, _x: ()) {}
    fn mul(&mut self, _a: (), _b: ()) {}
    fn mean_keep(&mut self, _x: ()) {}
    fn flatten(&mut self, _x: ()) {}
    fn channel_norm(&mut self, name: &str, m: &ChannelNorm, _x: ()) {
        let p = self.full(name);
        self.param(&p, "weight", &m.weight, Layout::Same);
        self.param(&p, "bias", &m.bias, Layout::Same);
    }
    fn vector_norm(&mut self, name: &str, m: &ChannelNorm, x: ()) {
        self.channel_norm(name, m, x);
    }
    fn pointwise_linear(&mut self, name: &str, m: &Linear, x: ()) {
        self.linear(name, m, x);
    }
    fn channel_scale(&mut self, name: &str, m: &ChannelScale, _x: ()) {
        let p = self.full(name);
        self.param(&p, "", &m.gamma, Layout::Same);
    }
    fn grn(&mut self, name: &str, m: &Grn, _x: ()) {
        let p = self.full(name);
        self.param(&p, "weight", &m.weight, Layout::Same);
        self.param(&p, "bias", &m.bias, Layout::Same);
    }
    fn slice_channels(&mut self, _x: (), _start: usize, _end: usize) {}
    fn space_to_depth(&mut self, _x: (), _block: usize) {}
    fn blur_pool(&mut self, _channels: usize, _x: ()) {}
    fn class_maps(&mut self, _name: &str, _m: &Linear, _x: ()) {}
}

/// Burn path and shape of every float parameter (running statistics included).
#[derive(Default)]
struct Paths {
    stack: Vec<String>,
    by_id: HashMap<ParamId, (String, Vec<usize>)>,
    by_path: HashMap<String, Vec<usize>>,
}

impl ModuleVisitor for Paths {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.stack.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.stack.pop();
    }
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        let path = self.stack.join(".");
        let shape = p.shape().to_vec();
        self.by_path.insert(path.clone(), shape.clone());
        self.by_id.insert(p.id, (path, shape));
    }
}

/// Every reference tensor of `model` with the Burn parameter that holds it, in forward order;
/// each Burn parameter appears once (under the first name the forward gives it).
#[must_use]
pub fn torch_names(model: &Model) -> Vec<TorchName> {
    let mut rec = NameOps::default();
    let _ = model.run_all(&mut rec, ());
    let mut paths = Paths::default();
    model.visit(&mut paths);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (torch, src, layout, stem) in rec.entries {
        let resolved = match src {
            Source::Param(id) => paths.by_id.get(&id).cloned(),
            Source::Sibling(id, field) => paths.by_id.get(&id).and_then(|(p, _)| {
                let parent = p.rsplit_once('.').map_or("", |(a, _)| a);
                let sib = if parent.is_empty() { field.to_string() } else { format!("{parent}.{field}") };
                paths.by_path.get(&sib).map(|s| (sib, s.clone()))
            }),
        };
        if let Some((burn, shape)) = resolved
            && seen.insert(burn.clone())
        {
            out.push(TorchName { torch, burn, layout, shape, stem });
        }
    }
    out
}
