//! `cxr-models`: the model zoo.
//!
//! Every architecture is written once, against the small [`Ops`] vocabulary. [`BurnOps`] runs it
//! as Burn tensors (training, inference, the parity reference) at no extra cost; [`OnnxOps`]
//! records the same calls as ONNX nodes whose initializers are named by module path. Export is
//! therefore never a second copy of an architecture: drift can only come from a primitive, and
//! each primitive has a parity test in `cxr-export`.
//!
//! Every model ends in "spatial features → global average pool → (dropout) → linear"
//! ([`ClassifierHead`]), the contract that makes Grad-CAM exact without autodiff.
//!
//! Must not depend on Burn's autodiff, train or optimizer features: a model is initialisation
//! plus forward only.

pub mod archs;
mod burn_ops;
pub mod checkpoint;
mod head;
pub mod layers;
mod model;
pub mod names;
mod onnx_ops;
mod ops;
mod registry;
pub mod weights;

pub use burn_ops::BurnOps;
pub use head::ClassifierHead;
pub use model::{Backbone, Family, FeatureInfo, Model, Outputs};
pub use onnx_ops::OnnxOps;
pub use ops::{Act, Ops};
pub use registry::{InputSizeError, UnknownArch, Variant, build, check_arch, check_input_size, trainable_params, variants};
