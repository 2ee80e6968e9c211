//! `cxr-evaluate`: frozen evaluation of ONNX models through ONNX Runtime.
//!
//! Frozen by construction: this crate links no Burn, no `cxr-onnx` (onnx-ir pulls burn-tensor),
//! no model or training code, and not ort's training API; `tests/it/boundaries.rs` checks it.
//! The model is hashed and the session is built from the very bytes that were hashed; the
//! card is read back through ONNX Runtime's metadata. Predictions are sealed before any label
//! is read ([`seal`], [`evaluation`]).

pub mod bench;
pub mod caches;
pub mod evaluation;
pub mod infer;
pub mod integrity;
pub mod parity;
pub mod policy;
pub mod predict;
pub mod results;
pub mod seal;
pub mod subgroups;
pub mod tables;
pub mod verify;
