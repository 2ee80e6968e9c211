//! ConvNeXt (Liu et al., "A ConvNet for the 2020s", CVPR 2022, arXiv:2201.03545) and ConvNeXt V2
//! (Woo et al., "ConvNeXt V2: Co-designing and Scaling ConvNets with Masked Autoencoders", CVPR
//! 2023, arXiv:2301.00808).
//!
//! V1 follows torchvision's `torchvision/models/convnext.py` (`features.0.{0,1}` stem,
//! `features.{2s+1}.{b}.block.{0,2,3,5}` and `.layer_scale`, `features.{2s}.{0,1}` downsampling,
//! `classifier.0` LayerNorm2d, `classifier.2` linear); V2 follows timm's
//! `timm/models/convnext.py` (`stem.{0,1}`, `stages.{s}.downsample.{0,1}`,
//! `stages.{s}.blocks.{b}.{conv_dw,norm,mlp.fc1,mlp.grn,mlp.fc2}`, `head.norm`, `head.fc`; GRN
//! instead of layer scale). Stochastic depth is the identity at inference and not applied in
//! training here.
//!
//! The head is GAP → LayerNorm → linear, so the `cam` output applies the classifier to the
//! layer-normalized features at every position (design.md §5): it localises, but its spatial mean
//! is not the logit (the card says `normalized_positions`).

use crate::layers::{ChannelNorm, ChannelScale, Grn};
use crate::{Act, Backbone, Family, FeatureInfo, Ops, Variant};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;

const EPS: f64 = 1e-6;

/// ConvNeXt hyper-parameters.
#[derive(Config, Debug)]
pub struct ConvNeXtConfig {
    /// Blocks per stage.
    pub depths: [usize; 4],
    /// Channels per stage.
    pub dims: [usize; 4],
    /// V2: global response normalization in the MLP, no layer scale, timm's names.
    #[config(default = false)]
    pub v2: bool,
    /// Input channels.
    #[config(default = 3)]
    pub in_chans: usize,
}

/// Depthwise 7×7 → LayerNorm → linear ×4 → GELU → (GRN) → linear → (layer scale) → residual.
#[derive(Module, Debug)]
pub struct ConvNeXtBlock {
    conv_dw: Conv2d,
    norm: ChannelNorm,
    fc1: Linear,
    grn: Option<Grn>,
    fc2: Linear,
    layer_scale: Option<ChannelScale>,
}

/// LayerNorm2d → 2×2 stride-2 convolution.
#[derive(Module, Debug)]
pub struct Downsample {
    norm: ChannelNorm,
    conv: Conv2d,
}

/// ConvNeXt backbone.
#[derive(Module, Debug)]
pub struct ConvNeXt {
    stem_conv: Conv2d,
    stem_norm: ChannelNorm,
    downsamples: Vec<Downsample>,
    stages: Vec<Vec<ConvNeXtBlock>>,
    head_norm: ChannelNorm,
    v2: bool,
    num_features: usize,
}

fn patchify(i: usize, o: usize, k: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([i, o], [k, k]).with_stride([k, k]).with_padding(PaddingConfig2d::Valid).init(device)
}

impl ConvNeXtConfig {
    /// Initialise.
    #[must_use]
    pub fn init(&self, device: &Device) -> ConvNeXt {
        let stem_conv = patchify(self.in_chans, self.dims[0], 4, device);
        let stem_norm = ChannelNorm::new(self.dims[0], EPS, device);
        let mut downsamples = Vec::new();
        let mut stages = Vec::new();
        for (s, (&n, &d)) in self.depths.iter().zip(&self.dims).enumerate() {
            if s > 0 {
                downsamples.push(Downsample { norm: ChannelNorm::new(self.dims[s - 1], EPS, device), conv: patchify(self.dims[s - 1], d, 2, device) });
            }
            let blocks = (0..n)
                .map(|_| ConvNeXtBlock {
                    conv_dw: Conv2dConfig::new([d, d], [7, 7]).with_padding(PaddingConfig2d::Explicit(3, 3, 3, 3)).with_groups(d).init(device),
                    norm: ChannelNorm::new(d, EPS, device),
                    fc1: LinearConfig::new(d, 4 * d).init(device),
                    grn: self.v2.then(|| Grn::new(4 * d, device)),
                    fc2: LinearConfig::new(4 * d, d).init(device),
                    layer_scale: (!self.v2).then(|| ChannelScale::new(d, 1e-6, device)),
                })
                .collect();
            stages.push(blocks);
        }
        let d = self.dims[3];
        ConvNeXt { stem_conv, stem_norm, downsamples, stages, head_norm: ChannelNorm::new(d, EPS, device), v2: self.v2, num_features: d }
    }
}

impl ConvNeXtBlock {
    fn run<O: Ops>(&self, o: &mut O, v2: bool, x: O::T) -> O::T {
        let names: [&str; 5] = if v2 { ["conv_dw", "norm", "mlp.fc1", "mlp.grn", "mlp.fc2"] } else { ["block.0", "block.2", "block.3", "", "block.5"] };
        let y = o.conv2d(names[0], &self.conv_dw, x.clone());
        let y = o.channel_norm(names[1], &self.norm, y);
        let y = o.pointwise_linear(names[2], &self.fc1, y);
        let mut y = o.act(Act::Gelu, y);
        if let Some(g) = &self.grn {
            y = o.grn(names[3], g, y);
        }
        let mut y = o.pointwise_linear(names[4], &self.fc2, y);
        if let Some(ls) = &self.layer_scale {
            y = o.channel_scale("layer_scale", ls, y);
        }
        o.add(y, x)
    }
}

impl Family for ConvNeXt {
    fn features<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        if self.v2 {
            let x = o.scope("stem", |o| {
                let y = o.conv2d("0", &self.stem_conv, x);
                o.channel_norm("1", &self.stem_norm, y)
            });
            o.scope("stages", |o| {
                let mut x = x;
                for (s, blocks) in self.stages.iter().enumerate() {
                    x = o.scope(&s.to_string(), |o| {
                        let mut x = x;
                        if s > 0 {
                            let d = &self.downsamples[s - 1];
                            x = o.scope("downsample", |o| {
                                let y = o.channel_norm("0", &d.norm, x);
                                o.conv2d("1", &d.conv, y)
                            });
                        }
                        o.scope("blocks", |o| {
                            for (b, block) in blocks.iter().enumerate() {
                                x = o.scope(&b.to_string(), |o| block.run(o, true, x.clone()));
                            }
                        });
                        x
                    });
                }
                x
            })
        } else {
            o.scope("features", |o| {
                let mut x = o.scope("0", |o| {
                    let y = o.conv2d("0", &self.stem_conv, x);
                    o.channel_norm("1", &self.stem_norm, y)
                });
                for (s, blocks) in self.stages.iter().enumerate() {
                    if s > 0 {
                        let d = &self.downsamples[s - 1];
                        x = o.scope(&(2 * s).to_string(), |o| {
                            let y = o.channel_norm("0", &d.norm, x);
                            o.conv2d("1", &d.conv, y)
                        });
                    }
                    x = o.scope(&(2 * s + 1).to_string(), |o| {
                        let mut x = x;
                        for (b, block) in blocks.iter().enumerate() {
                            x = o.scope(&b.to_string(), |o| block.run(o, false, x.clone()));
                        }
                        x
                    });
                }
                x
            })
        }
    }

    fn info(&self) -> FeatureInfo {
        let head_name = if self.v2 { "head.fc" } else { "classifier.2" };
        FeatureInfo { num_features: self.num_features, reduction: 32, head_name, embed_dim: self.num_features, cam: cxr_core::CamSupport::NormalizedPositions }
    }

    /// GAP → the head's LayerNorm.
    fn embed<O: Ops>(&self, o: &mut O, features: O::T) -> O::V {
        let p = o.global_avg_pool(features);
        o.vector_norm(if self.v2 { "head.norm" } else { "classifier.0" }, &self.head_norm, p)
    }

    /// The head's LayerNorm at every position.
    fn cam_input<O: Ops>(&self, o: &mut O, features: O::T) -> Option<O::T> {
        Some(o.channel_norm(if self.v2 { "head.norm.cam" } else { "classifier.0.cam" }, &self.head_norm, features))
    }
}

/// The registered ConvNeXt variants.
pub(crate) const VARIANTS: &[Variant] = &[
    Variant {
        name: "convnext_small",
        family: "convnext",
        paper: "Liu et al. 2022, arXiv:2201.03545",
        default_size: 224,
        reference_params: 50_223_688,
        reference_gmacs: 8.684,
        build: |c, d| Backbone::ConvNeXt(ConvNeXtConfig::new([3, 3, 27, 3], [96, 192, 384, 768]).with_in_chans(c).init(d)),
    },
    Variant {
        name: "convnextv2_tiny",
        family: "convnext",
        paper: "Woo et al. 2023, arXiv:2301.00808",
        default_size: 224,
        reference_params: 28_635_496,
        reference_gmacs: 4.47,
        build: |c, d| Backbone::ConvNeXt(ConvNeXtConfig::new([3, 3, 9, 3], [96, 192, 384, 768]).with_v2(true).with_in_chans(c).init(d)),
    },
];
