//! The graph builder.

use onnx_ir::{AttributeProto, AttributeType, GraphProto, Message, ModelProto, NodeProto, TensorProto, TypeProto, ValueInfoProto};
use protobuf::{EnumOrUnknown, MessageField};
use std::collections::HashSet;

/// The one pinned opset (ONNX Runtime 1.31 accepts ≤ 26; design.md §0 targets 17–21).
pub const OPSET: i64 = 18;
/// IR version 8 (the requirement; ORT accepts ≤ 13).
pub const IR_VERSION: i64 = 8;

/// A node attribute.
#[derive(Debug, Clone)]
pub enum Attr {
    /// One integer.
    Int(&'static str, i64),
    /// Integers.
    Ints(&'static str, Vec<i64>),
    /// One float.
    Float(&'static str, f32),
    /// A string.
    Str(&'static str, &'static str),
}

/// A graph that cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// Two initializers with one name (two modules with the same path).
    #[error("duplicate initializer name {0:?}")]
    DuplicateInitializer(String),
    /// Data length does not match the dims.
    #[error("initializer {name:?}: {len} values for dims {dims:?}")]
    BadInitializer {
        /// Name.
        name: String,
        /// Values given.
        len: usize,
        /// Dims given.
        dims: Vec<usize>,
    },
    /// A layer configuration ONNX lowering does not support.
    #[error("cannot lower {0}")]
    Unsupported(String),
    /// Serialization failure.
    #[error("protobuf: {0}")]
    Protobuf(String),
}

/// Collects nodes and initializers.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    names: HashSet<String>,
    counter: usize,
}

const FLOAT: i32 = 1;

fn value_info(name: &str, dims: &[Option<i64>]) -> ValueInfoProto {
    let mut v = ValueInfoProto::new();
    v.name = name.into();
    let mut tp = TypeProto::new();
    let tt = tp.mut_tensor_type();
    tt.elem_type = FLOAT;
    let shape = tt.shape.mut_or_insert_default();
    for d in dims {
        shape.dim.push(Default::default());
        if let Some(last) = shape.dim.last_mut() {
            match d {
                Some(x) => last.set_dim_value(*x),
                None => last.set_dim_param("batch".into()),
            }
        }
    }
    v.type_ = MessageField::some(tp);
    v
}

impl GraphBuilder {
    /// An empty graph.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a float32 initializer under `name` (a module path such as `layer1.0.conv1.weight`).
    ///
    /// # Errors
    /// A repeated name or a length that does not match `dims`.
    pub fn initializer(&mut self, name: &str, dims: &[usize], data: &[f32]) -> Result<String, GraphError> {
        if dims.iter().product::<usize>() != data.len() {
            return Err(GraphError::BadInitializer { name: name.into(), len: data.len(), dims: dims.to_vec() });
        }
        if !self.names.insert(name.to_string()) {
            return Err(GraphError::DuplicateInitializer(name.into()));
        }
        let mut t = TensorProto::new();
        t.name = name.into();
        t.dims = dims.iter().map(|&d| d as i64).collect();
        t.data_type = FLOAT;
        t.raw_data = data.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>().into();
        self.initializers.push(t);
        Ok(name.to_string())
    }

    /// Add an int64 initializer (shape arguments).
    ///
    /// # Errors
    /// A repeated name.
    pub fn initializer_i64(&mut self, name: &str, data: &[i64]) -> Result<String, GraphError> {
        if !self.names.insert(name.to_string()) {
            return Err(GraphError::DuplicateInitializer(name.into()));
        }
        let mut t = TensorProto::new();
        t.name = name.into();
        t.dims = vec![data.len() as i64];
        t.data_type = 7; // INT64
        t.raw_data = data.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>().into();
        self.initializers.push(t);
        Ok(name.to_string())
    }

    /// Add a node; returns the name of its (single) output, derived from `hint` and unique.
    pub fn node(&mut self, op: &str, hint: &str, inputs: &[&str], attrs: Vec<Attr>) -> String {
        self.counter += 1;
        let base = if hint.is_empty() { op.to_lowercase() } else { hint.to_string() };
        let mut out = format!("{base}/{}", op);
        if !self.names.insert(out.clone()) {
            out = format!("{base}/{op}_{}", self.counter);
            self.names.insert(out.clone());
        }
        let mut n = NodeProto::new();
        n.op_type = op.into();
        n.name = out.clone();
        n.input = inputs.iter().map(|s| (*s).to_string()).collect();
        n.output = vec![out.clone()];
        for a in attrs {
            let mut p = AttributeProto::new();
            match a {
                Attr::Int(name, v) => {
                    p.name = name.into();
                    p.type_ = EnumOrUnknown::new(AttributeType::INT);
                    p.i = v;
                }
                Attr::Ints(name, v) => {
                    p.name = name.into();
                    p.type_ = EnumOrUnknown::new(AttributeType::INTS);
                    p.ints = v;
                }
                Attr::Float(name, v) => {
                    p.name = name.into();
                    p.type_ = EnumOrUnknown::new(AttributeType::FLOAT);
                    p.f = v;
                }
                Attr::Str(name, v) => {
                    p.name = name.into();
                    p.type_ = EnumOrUnknown::new(AttributeType::STRING);
                    p.s = v.as_bytes().to_vec().into();
                }
            }
            n.attribute.push(p);
        }
        self.nodes.push(n);
        out
    }

    /// Route `value` to a graph output named `name` (an `Identity` node).
    pub fn output_alias(&mut self, value: &str, name: &str) {
        let mut n = NodeProto::new();
        n.op_type = "Identity".into();
        n.name = format!("output/{name}");
        n.input = vec![value.to_string()];
        n.output = vec![name.to_string()];
        self.names.insert(name.to_string());
        self.nodes.push(n);
    }

    /// Serialize: `input` with its dims (`None` = the dynamic batch axis), outputs with theirs,
    /// and `metadata` as `metadata_props`.
    ///
    /// # Errors
    /// Serialization failure.
    pub fn finish(
        self,
        graph_name: &str,
        input: (&str, &[Option<i64>]),
        outputs: &[(&str, Vec<Option<i64>>)],
        metadata: &[(&str, &str)],
        producer_version: &str,
    ) -> Result<Vec<u8>, GraphError> {
        let mut g = GraphProto::new();
        g.name = graph_name.into();
        g.node = self.nodes;
        g.initializer = self.initializers;
        g.input.push(value_info(input.0, input.1));
        for (name, dims) in outputs {
            g.output.push(value_info(name, dims));
        }
        let mut m = ModelProto::new();
        m.ir_version = IR_VERSION;
        m.producer_name = "cxr-export".into();
        m.producer_version = producer_version.into();
        m.opset_import.push(Default::default());
        if let Some(op) = m.opset_import.last_mut() {
            op.domain = String::new();
            op.version = OPSET;
        }
        for (k, v) in metadata {
            m.metadata_props.push(Default::default());
            if let Some(e) = m.metadata_props.last_mut() {
                e.key = (*k).to_string();
                e.value = (*v).to_string();
            }
        }
        m.graph = MessageField::some(g);
        m.write_to_bytes().map_err(|e| GraphError::Protobuf(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_parsable_model_with_metadata() {
        let mut g = GraphBuilder::new();
        let w = g.initializer("conv.weight", &[2, 1, 1, 1], &[1.0, 2.0]).unwrap();
        let c = g.node("Conv", "conv", &["x", &w], vec![Attr::Ints("kernel_shape", vec![1, 1])]);
        g.output_alias(&c, "y");
        let bytes = g.finish("t", ("x", &[None, Some(1), Some(4), Some(4)]), &[("y", vec![None, Some(2), Some(4), Some(4)])], &[("k", "v")], "0").unwrap();
        let m = ModelProto::parse_from_bytes(&bytes).unwrap();
        assert_eq!(m.ir_version, IR_VERSION);
        assert_eq!(m.opset_import[0].version, OPSET);
        assert_eq!(m.metadata_props[0].key, "k");
        let graph = m.graph.unwrap();
        assert_eq!(graph.node.len(), 2);
        assert_eq!(graph.initializer[0].name, "conv.weight");
    }

    #[test]
    fn duplicate_initializers_are_refused() {
        let mut g = GraphBuilder::new();
        g.initializer("a", &[1], &[1.0]).unwrap();
        assert!(matches!(g.initializer("a", &[1], &[1.0]), Err(GraphError::DuplicateInitializer(_))));
        assert!(matches!(g.initializer("b", &[2], &[1.0]), Err(GraphError::BadInitializer { .. })));
    }
}
