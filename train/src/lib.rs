//! `cxr-train`: training on the CheXpert-format site.
//!
//! The ablation axes of the run config — optimizer ([`optim`]), loss ([`loss`], [`auc_loss`]),
//! uncertainty strategy ([`batches`]), schedule ([`schedule`]), accumulation and clipping — put
//! together per step by [`learner`]; seeded; internal validation each epoch (model selection,
//! early stopping, and the operating points frozen into the model card); a write-once run
//! directory named by the config hash; and bit-identical resume from the last finished epoch.
//!
//! Must not depend on ONNX Runtime, `cxr-onnx` or `cxr-export`: training never touches ONNX.

pub mod auc_loss;
pub mod augment;
pub mod batches;
pub mod bench;
pub mod learner;
pub mod loss;
pub mod optim;
pub mod preprocess_fit;
pub mod provenance;
pub mod run_dir;
pub mod schedule;
pub mod trainer;
