//! `cxr-train`: training on the CheXpert-format site.
//!
//! Masked BCE with soft targets, AdamW, seeded, internal validation each epoch (model selection,
//! early stopping, and the operating points frozen into the model card), a write-once run
//! directory named by the config hash, and resume from the last finished epoch.
//!
//! Must not depend on ONNX Runtime, `cxr-onnx` or `cxr-export`: training never touches ONNX.

pub mod batches;
pub mod bench;
pub mod loss;
pub mod provenance;
pub mod run_dir;
pub mod trainer;
