//! The classifier head every architecture shares: global average pool → dropout → linear.

use crate::Ops;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;

/// GAP → dropout → linear (timm's `ClassifierHead`). The GAP→linear form is what makes the
/// `cam` output exact: Grad-CAM's channel weights are the linear weights divided by `h·w`.
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

    /// Pooled embedding `[N, D]` and logits `[N, K]`; `name` is the reference's classifier name
    /// (`fc` for ResNet, `classifier` for DenseNet).
    pub fn run<O: Ops>(&self, o: &mut O, name: &str, features: O::T) -> (O::V, O::V) {
        let embedding = o.global_avg_pool(features);
        let dropped = o.dropout(&self.dropout, embedding.clone());
        let logits = o.linear(name, &self.fc, dropped);
        (embedding, logits)
    }

    /// Replace the classifier with a fresh one for `num_classes` (timm's `reset_classifier`).
    pub fn reset_classifier(&mut self, num_classes: usize, device: &Device) {
        let d = self.fc.weight.dims()[0];
        self.fc = LinearConfig::new(d, num_classes).init(device);
    }
}
