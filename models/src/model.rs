//! A complete classifier: a backbone from the zoo plus the shared head.

use crate::archs::{densenet::DenseNet, resnet::ResNet};
use crate::{BurnOps, ClassifierHead, Ops};
use burn::prelude::*;

/// What a backbone promises about its last feature map (timm's `feature_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureInfo {
    /// Channels of the last feature map (D).
    pub num_features: usize,
    /// Input side / feature-map side.
    pub reduction: usize,
    /// The reference implementation's classifier name (initializer prefix).
    pub head_name: &'static str,
}

/// Every registered backbone family. An enum (not a trait object) because Burn's `Module` has
/// generic methods and the optimizer needs one concrete module type.
#[derive(Module, Debug)]
pub enum Backbone {
    /// ResNet family.
    ResNet(ResNet),
    /// DenseNet family.
    DenseNet(DenseNet),
}

impl Backbone {
    /// Spatial features `[N, D, h, w]` (after the final activation, what the pool sees).
    pub fn features<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        match self {
            Self::ResNet(m) => m.features(o, x),
            Self::DenseNet(m) => m.features(o, x),
        }
    }

    /// Feature information.
    #[must_use]
    pub fn info(&self) -> FeatureInfo {
        match self {
            Self::ResNet(m) => m.info(),
            Self::DenseNet(m) => m.info(),
        }
    }
}

/// All outputs of the exported graph.
#[derive(Debug, Clone)]
pub struct Outputs<O: Ops> {
    /// `[N, K]`.
    pub logits: O::V,
    /// `[N, K]`, sigmoid of the logits.
    pub probabilities: O::V,
    /// `[N, D]`.
    pub embedding: O::V,
    /// `[N, D, h, w]`.
    pub features: O::T,
    /// `[N, K, h, w]`.
    pub cam: O::T,
}

/// Backbone + head.
#[derive(Module, Debug)]
pub struct Model {
    /// Feature extractor.
    pub backbone: Backbone,
    /// GAP → dropout → linear.
    pub head: ClassifierHead,
}

impl Model {
    /// Logits only (the training path; no CAM work).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut o = BurnOps;
        let f = self.backbone.features(&mut o, x);
        self.head.run(&mut o, self.backbone.info().head_name, f).1
    }

    /// Every output, through any [`Ops`]: Burn tensors for the parity reference, ONNX nodes for
    /// export. Written once.
    pub fn run_all<O: Ops>(&self, o: &mut O, x: O::T) -> Outputs<O> {
        let head_name = self.backbone.info().head_name;
        let features = self.backbone.features(o, x);
        let (embedding, logits) = self.head.run(o, head_name, features.clone());
        let probabilities = o.sigmoid(logits.clone());
        let cam = o.class_maps(head_name, &self.head.fc, features.clone());
        Outputs { logits, probabilities, embedding, features, cam }
    }

    /// Number of output labels.
    #[must_use]
    pub fn num_classes(&self) -> usize {
        self.head.fc.weight.dims()[1]
    }
}
