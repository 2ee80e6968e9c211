//! The registry: one explicit list of every variant (ripgrep / onnx-ir style, no link-time
//! magic). Adding a variant is one row here plus its family's constructor.

use crate::archs::{densenet, resnet};
use crate::{Backbone, ClassifierHead, Model};
use burn::prelude::*;

/// A registered variant.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    /// timm / torchvision name.
    pub name: &'static str,
    /// Family.
    pub family: &'static str,
    /// Paper.
    pub paper: &'static str,
    /// Reference input size.
    pub default_size: u32,
    build: fn(in_chans: usize, device: &Device) -> Backbone,
}

const VARIANTS: &[Variant] = &[
    Variant {
        name: "resnet18",
        family: "resnet",
        paper: "He et al. 2016, arXiv:1512.03385",
        default_size: 224,
        build: |c, d| Backbone::ResNet(resnet::resnet18(c).init(d)),
    },
    Variant {
        name: "resnet34",
        family: "resnet",
        paper: "He et al. 2016, arXiv:1512.03385",
        default_size: 224,
        build: |c, d| Backbone::ResNet(resnet::resnet34(c).init(d)),
    },
    Variant {
        name: "densenet121",
        family: "densenet",
        paper: "Huang et al. 2017, arXiv:1608.06993",
        default_size: 224,
        build: |c, d| Backbone::DenseNet(densenet::densenet121(c).init(d)),
    },
];

/// Every registered variant.
#[must_use]
pub fn variants() -> &'static [Variant] {
    VARIANTS
}

/// An architecture name that is not registered.
#[derive(Debug, thiserror::Error)]
#[error("unknown architecture {name:?}. Valid options: {}", VARIANTS.iter().map(|v| v.name).collect::<Vec<_>>().join(", "))]
pub struct UnknownArch {
    /// The name given.
    pub name: String,
}

/// Check a name against the registry.
///
/// # Errors
/// [`UnknownArch`] listing the valid names.
pub fn check_arch(name: &str) -> Result<&'static Variant, UnknownArch> {
    VARIANTS.iter().find(|v| v.name == name).ok_or_else(|| UnknownArch { name: name.to_string() })
}

/// Build a freshly initialised model.
///
/// # Errors
/// [`UnknownArch`].
pub fn build(name: &str, num_classes: usize, in_chans: usize, dropout: f64, device: &Device) -> Result<Model, UnknownArch> {
    let v = check_arch(name)?;
    let backbone = (v.build)(in_chans, device);
    let head = ClassifierHead::new(backbone.info().num_features, num_classes, dropout, device);
    Ok(Model { backbone, head })
}
