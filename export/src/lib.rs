//! `cxr-export`: checkpoint → ONNX (+ model card) → Burn-vs-ONNX-Runtime parity gate → files.
//!
//! The graph is recorded by running the model's single forward definition through
//! [`cxr_models::OnnxOps`]; the parity gate then runs the written bytes in ONNX Runtime against
//! the same forward on Burn tensors and refuses to write anything unless every output agrees.
//!
//! Must not depend on `cxr-data` or `cxr-metrics`: export is a deterministic function of
//! (checkpoint, resolved config, operating points).

pub mod adopt;
pub mod graph;
pub mod macs;
pub mod parity;
pub mod perturb;
pub mod pipeline;

/// Program version stamped into the card.
pub const EXPORTER_VERSION: &str = env!("CARGO_PKG_VERSION");
