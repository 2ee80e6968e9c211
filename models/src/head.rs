//! The classifier head every architecture shares: global average pool → dropout → linear.

use crate::Ops;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;

/// Dropout → linear over the pooled embedding (timm's `ClassifierHead`; the pooling is the
/// backbone's [`crate::Backbone::embed`]). Where the embedding is the plain GAP of the features,
/// the `cam` output is exact: Grad-CAM's channel weights are the linear weights divided by `h·w`.
#[derive(Module, Debug)]
pub struct ClassifierHead {
    /// Dropout before the classifier.
    pub dropout: Dropout,
    /// The classifier.
    pub fc: Linear,
}

impl ClassifierHead {
    /// A head from `num_features` to `num_classes`.
    #[must_use]
    pub fn new(num_features: usize, num_classes: usize, dropout: f64, device: &Device) -> Self {
        Self {
            dropout: DropoutConfig::new(dropout).init(),
            fc: LinearConfig::new(num_features, num_classes).init(device),
        }
    }

    /// Logits `[N, K]` from the pooled embedding; `name` is the reference's classifier name
    /// (`fc` for ResNet, `classifier` for DenseNet).
    pub fn run<O: Ops>(&self, o: &mut O, name: &str, embedding: O::V) -> O::V {
        let dropped = o.dropout(&self.dropout, embedding);
        o.linear(name, &self.fc, dropped)
    }

    /// Replace the classifier with a fresh one for `num_classes` (timm's `reset_classifier`).
    pub fn reset_classifier(&mut self, num_classes: usize, device: &Device) {
        let d = self.fc.weight.dims()[0];
        self.fc = LinearConfig::new(d, num_classes).init(device);
    }
}
