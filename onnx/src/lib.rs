//! `cxr-onnx`: writing ONNX graphs.
//!
//! [`GraphBuilder`] collects nodes and named initializers and serializes a `ModelProto` with one
//! pinned opset and IR version, a dynamic batch axis, and the model card in `metadata_props`.
//! Uses the protobuf message types that `onnx-ir` re-exports (rust-protobuf, no `protoc`).
//!
//! The evaluator must not depend on this crate (onnx-ir pulls burn-tensor); it reads models
//! through ONNX Runtime only.

mod builder;

pub use builder::{Attr, GraphBuilder, GraphError, IR_VERSION, OPSET};
pub use onnx_ir::{AttributeProto, AttributeType, Message, ModelProto, NodeProto, TensorProto, ValueInfoProto};
pub use protobuf::EnumOrUnknown;
