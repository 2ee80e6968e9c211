//! RegNetY (Radosavovic et al., "Designing Network Design Spaces", CVPR 2020, arXiv:2003.13678).
//!
//! Structure and parameter names follow timm's `timm/models/regnet.py` (`stem.{conv,bn}`,
//! `s{1..4}.b{1..n}.{conv1,conv2,conv3}.{conv,bn}`, `se.fc1`/`se.fc2` between `conv2` and
//! `conv3`, `downsample.{conv,bn}`, `head.fc`). The stage widths, depths and group counts are
//! the ones timm's `regnety_040` generates from its (w0, wa, wm, depth, group width) parameters;
//! the SE width is a quarter of the block's input channels.

use super::blocks::{ConvBn, SqueezeExcite};
use crate::{Act, Backbone, Family, FeatureInfo, Ops, Variant};
use burn::prelude::*;

/// RegNet hyper-parameters.
#[derive(Config, Debug)]
pub struct RegNetConfig {
    /// Blocks per stage.
    pub depths: [usize; 4],
    /// Channels per stage.
    pub widths: [usize; 4],
    /// Groups of each stage's 3×3 convolution.
    pub groups: [usize; 4],
    /// Stem channels.
    #[config(default = 32)]
    pub stem: usize,
    /// SE width as a fraction of the block's input channels.
    #[config(default = 0.25)]
    pub se_ratio: f64,
    /// Input channels.
    #[config(default = 3)]
    pub in_chans: usize,
}

/// 1×1 → grouped 3×3 (strided) → SE → 1×1, residual, ReLU.
#[derive(Module, Debug)]
pub struct RegBlock {
    conv1: ConvBn,
    conv2: ConvBn,
    se: SqueezeExcite,
    conv3: ConvBn,
    downsample: Option<ConvBn>,
}

/// RegNetY backbone.
#[derive(Module, Debug)]
pub struct RegNet {
    stem: ConvBn,
    stages: Vec<Vec<RegBlock>>,
    num_features: usize,
}

impl RegNetConfig {
    /// Initialise.
    #[must_use]
    pub fn init(&self, device: &Device) -> RegNet {
        let stem = ConvBn::new(self.in_chans, self.stem, 3, 2, 1, 1e-5, device);
        let mut c = self.stem;
        let mut stages = Vec::new();
        for s in 0..4 {
            let (w, g) = (self.widths[s], self.groups[s]);
            let blocks = (0..self.depths[s])
                .map(|b| {
                    let (i, stride) = if b == 0 { (c, 2) } else { (w, 1) };
                    RegBlock {
                        conv1: ConvBn::new(i, w, 1, 1, 1, 1e-5, device),
                        conv2: ConvBn::new(w, w, 3, stride, g, 1e-5, device),
                        se: SqueezeExcite::new(w, (i as f64 * self.se_ratio).round() as usize, device),
                        conv3: ConvBn::new(w, w, 1, 1, 1, 1e-5, device),
                        downsample: (stride != 1 || i != w).then(|| ConvBn::new(i, w, 1, stride, 1, 1e-5, device)),
                    }
                })
                .collect();
            stages.push(blocks);
            c = w;
        }
        RegNet { stem, stages, num_features: c }
    }
}

impl RegBlock {
    fn run<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        let names = ("conv", "bn");
        let shortcut = match &self.downsample {
            Some(d) => o.scope("downsample", |o| d.run(o, names, None, x.clone())),
            None => x.clone(),
        };
        let y = o.scope("conv1", |o| self.conv1.run(o, names, Some(Act::Relu), x));
        let y = o.scope("conv2", |o| self.conv2.run(o, names, Some(Act::Relu), y));
        let y = o.scope("se", |o| self.se.run(o, ("fc1", "fc2"), Act::Relu, Act::Sigmoid, y));
        let y = o.scope("conv3", |o| self.conv3.run(o, names, None, y));
        let y = o.add(y, shortcut);
        o.relu(y)
    }
}

impl Family for RegNet {
    fn features<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        let mut x = o.scope("stem", |o| self.stem.run(o, ("conv", "bn"), Some(Act::Relu), x));
        for (s, blocks) in self.stages.iter().enumerate() {
            x = o.scope(&format!("s{}", s + 1), |o| {
                let mut x = x;
                for (b, block) in blocks.iter().enumerate() {
                    x = o.scope(&format!("b{}", b + 1), |o| block.run(o, x));
                }
                x
            });
        }
        x
    }

    fn info(&self) -> FeatureInfo {
        FeatureInfo::linear_head(self.num_features, 32, "head.fc")
    }
}

/// The registered RegNet variant.
pub(crate) const VARIANTS: &[Variant] = &[Variant {
    name: "regnety_040",
    family: "regnet",
    paper: "Radosavovic et al. 2020, arXiv:2003.13678",
    default_size: 224,
    reference_params: 20_646_656,
    reference_gmacs: 4.00,
    build: |c, d| Backbone::RegNet(RegNetConfig::new([2, 6, 12, 2], [128, 192, 512, 1088], [2, 3, 8, 17]).with_in_chans(c).init(d)),
}];
