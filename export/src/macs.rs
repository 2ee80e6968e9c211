//! Multiply-accumulates by shape inference over an ONNX graph.
//!
//! One multiply-add counts 1 (the convention of torchvision's published "GFLOPS", timm's GMACs
//! and fvcore). Only convolutions and matrix products are counted, on the path to the output
//! asked for (so the `cam` branch is not charged); element-wise work (BatchNorm, activations,
//! gating, normalization) is a few percent at most and is what those tools leave out as well.
//! Shapes are inferred from the input's dims (batch 1) and the initializers, op by op, for the
//! ops our graphs and common PyTorch exports use; an op it cannot infer is an error naming it.

use cxr_onnx::{Message, ModelProto, NodeProto, TensorProto};
use std::collections::{HashMap, HashSet};

/// Why MACs could not be counted.
#[derive(Debug, thiserror::Error)]
pub enum MacsError {
    /// Not an ONNX model.
    #[error("not an ONNX model: {0}")]
    Parse(String),
    /// An op whose output shape is not inferred here.
    #[error("cannot infer the output shape of {op} node {node:?}: {why}")]
    Unsupported {
        /// Op type.
        op: String,
        /// Node name.
        node: String,
        /// Reason.
        why: String,
    },
    /// The requested output is not in the graph.
    #[error("the graph has no output {0:?}")]
    NoOutput(String),
}

type Shape = Vec<i64>;

fn attr_ints(n: &NodeProto, name: &str) -> Option<Vec<i64>> {
    n.attribute.iter().find(|a| a.name == name).map(|a| a.ints.clone())
}

fn attr_int(n: &NodeProto, name: &str, default: i64) -> i64 {
    n.attribute.iter().find(|a| a.name == name).map_or(default, |a| a.i)
}

fn int_values(t: &TensorProto) -> Vec<i64> {
    if !t.int64_data.is_empty() {
        return t.int64_data.clone();
    }
    if t.data_type == 7 {
        return t.raw_data.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect();
    }
    if t.data_type == 6 {
        return t.raw_data.chunks_exact(4).map(|c| i64::from(i32::from_le_bytes(c.try_into().unwrap_or([0; 4])))).collect();
    }
    t.int32_data.iter().map(|&v| i64::from(v)).collect()
}

fn broadcast(a: &Shape, b: &Shape) -> Option<Shape> {
    let n = a.len().max(b.len());
    let get = |s: &Shape, i: usize| if i + s.len() >= n { s[i + s.len() - n] } else { 1 };
    (0..n)
        .map(|i| {
            let (x, y) = (get(a, i), get(b, i));
            if x == y || y == 1 {
                Some(x)
            } else if x == 1 {
                Some(y)
            } else {
                None
            }
        })
        .collect()
}

fn axis(a: i64, rank: usize) -> usize {
    if a < 0 { (a + rank as i64).max(0) as usize } else { a as usize }
}

/// Output side of a window op (`ceil` as PyTorch does it: a window must start inside the input
/// or the left padding).
fn window(size: i64, k: i64, stride: i64, pad_begin: i64, pad_end: i64, dilation: i64, ceil: bool) -> i64 {
    let span = size + pad_begin + pad_end - dilation * (k - 1) - 1;
    if ceil {
        let mut out = (span + stride - 1).div_euclid(stride) + 1;
        if (out - 1) * stride >= size + pad_begin {
            out -= 1;
        }
        out
    } else {
        span.div_euclid(stride) + 1
    }
}

/// MACs of the convolutions and matrix products `output` depends on, for one input of shape
/// `input_chw` (`[C, H, W]`).
///
/// # Errors
/// [`MacsError`].
pub fn count(onnx: &[u8], output: &str, input_chw: [i64; 3]) -> Result<u64, MacsError> {
    let model = ModelProto::parse_from_bytes(onnx).map_err(|e| MacsError::Parse(e.to_string()))?;
    let g = model.graph.as_ref().ok_or_else(|| MacsError::Parse("no graph".into()))?;
    let mut shapes: HashMap<String, Shape> = HashMap::new();
    let mut consts: HashMap<String, Vec<i64>> = HashMap::new();
    for t in &g.initializer {
        shapes.insert(t.name.clone(), t.dims.clone());
        if matches!(t.data_type, 6 | 7) {
            consts.insert(t.name.clone(), int_values(t));
        }
    }
    let inits: HashSet<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
    for i in g.input.iter().filter(|i| !inits.contains(i.name.as_str())) {
        shapes.insert(i.name.clone(), vec![1, input_chw[0], input_chw[1], input_chw[2]]);
    }
    // Nodes `output` depends on.
    let producer: HashMap<&str, usize> = g.node.iter().enumerate().flat_map(|(i, n)| n.output.iter().map(move |o| (o.as_str(), i))).collect();
    if !producer.contains_key(output) {
        return Err(MacsError::NoOutput(output.to_string()));
    }
    let mut needed = HashSet::new();
    let mut stack = vec![output.to_string()];
    while let Some(v) = stack.pop() {
        if let Some(&i) = producer.get(v.as_str())
            && needed.insert(i)
        {
            stack.extend(g.node[i].input.iter().filter(|s| !s.is_empty()).cloned());
        }
    }
    let mut macs: u64 = 0;
    for (idx, n) in g.node.iter().enumerate() {
        let bad = |why: String| MacsError::Unsupported { op: n.op_type.clone(), node: n.name.clone(), why };
        let input = |k: usize| -> Result<Shape, MacsError> {
            n.input.get(k).and_then(|s| shapes.get(s)).cloned().ok_or_else(|| bad(format!("input {k} has no known shape")))
        };
        let x = if n.input.is_empty() { Vec::new() } else { input(0)? };
        let out: Shape = match n.op_type.as_str() {
            "Conv" => {
                let w = input(1)?;
                let (k, g_) = (&w[2..], attr_int(n, "group", 1));
                let strides = attr_ints(n, "strides").unwrap_or_else(|| vec![1; k.len()]);
                let dil = attr_ints(n, "dilations").unwrap_or_else(|| vec![1; k.len()]);
                let pads = attr_ints(n, "pads").unwrap_or_else(|| vec![0; 2 * k.len()]);
                let mut o = vec![x[0], w[0]];
                for d in 0..k.len() {
                    o.push(window(x[2 + d], k[d], strides[d], pads[d], pads[d + k.len()], dil[d], false));
                }
                if needed.contains(&idx) {
                    let spatial: i64 = o[2..].iter().product();
                    let kernel: i64 = k.iter().product();
                    macs += (o[0] * o[1] * spatial * (x[1] / g_) * kernel) as u64;
                }
                o
            }
            "MaxPool" | "AveragePool" => {
                let k = attr_ints(n, "kernel_shape").ok_or_else(|| bad("no kernel_shape".into()))?;
                let strides = attr_ints(n, "strides").unwrap_or_else(|| vec![1; k.len()]);
                let dil = attr_ints(n, "dilations").unwrap_or_else(|| vec![1; k.len()]);
                let pads = attr_ints(n, "pads").unwrap_or_else(|| vec![0; 2 * k.len()]);
                let ceil = attr_int(n, "ceil_mode", 0) == 1;
                let mut o = x[..2].to_vec();
                for d in 0..k.len() {
                    o.push(window(x[2 + d], k[d], strides[d], pads[d], pads[d + k.len()], dil[d], ceil));
                }
                o
            }
            "GlobalAveragePool" | "GlobalMaxPool" => {
                let mut o = x[..2].to_vec();
                o.extend(std::iter::repeat_n(1, x.len() - 2));
                o
            }
            "Flatten" => {
                let a = axis(attr_int(n, "axis", 1), x.len());
                vec![x[..a].iter().product(), x[a..].iter().product()]
            }
            "Gemm" => {
                let b = input(1)?;
                let (ta, tb) = (attr_int(n, "transA", 0) == 1, attr_int(n, "transB", 0) == 1);
                let (m, k) = if ta { (x[1], x[0]) } else { (x[0], x[1]) };
                let nn = if tb { b[0] } else { b[1] };
                if needed.contains(&idx) {
                    macs += (m * k * nn) as u64;
                }
                vec![m, nn]
            }
            "MatMul" => {
                let b = input(1)?;
                let (m, k, nn) = (x[x.len() - 2], x[x.len() - 1], b[b.len() - 1]);
                let batch = broadcast(&x[..x.len() - 2].to_vec(), &b[..b.len() - 2].to_vec()).ok_or_else(|| bad("batch dims do not broadcast".into()))?;
                if needed.contains(&idx) {
                    macs += (batch.iter().product::<i64>() * m * k * nn) as u64;
                }
                let mut o = batch;
                o.extend([m, nn]);
                o
            }
            "Relu" | "LeakyRelu" | "Sigmoid" | "HardSigmoid" | "HardSwish" | "Erf" | "Identity" | "BatchNormalization" | "LayerNormalization" | "Softmax"
            | "Clip" | "Tanh" | "Dropout" | "Sqrt" | "Exp" | "Neg" | "Elu" | "Gelu" | "Cast" => x,
            "Add" | "Mul" | "Div" | "Sub" | "Pow" | "Max" | "Min" => {
                let b = input(1)?;
                broadcast(&x, &b).ok_or_else(|| bad(format!("{x:?} and {b:?} do not broadcast")))?
            }
            "Concat" => {
                let a = axis(attr_int(n, "axis", 0), x.len());
                let mut o = x.clone();
                o[a] = (0..n.input.len()).map(|k| input(k).map(|s| s[a])).sum::<Result<i64, _>>()?;
                o
            }
            "Transpose" => {
                let perm = attr_ints(n, "perm").unwrap_or_else(|| (0..x.len() as i64).rev().collect());
                perm.iter().map(|&p| x[p as usize]).collect()
            }
            "ReduceL2" | "ReduceMean" | "ReduceSum" | "ReduceMax" => {
                let axes = n.input.get(1).and_then(|a| consts.get(a)).cloned().or_else(|| attr_ints(n, "axes")).unwrap_or_else(|| (0..x.len() as i64).collect());
                let keep = attr_int(n, "keepdims", 1) == 1;
                let axes: HashSet<usize> = axes.iter().map(|&a| axis(a, x.len())).collect();
                x.iter().enumerate().filter_map(|(i, &d)| if axes.contains(&i) { keep.then_some(1) } else { Some(d) }).collect()
            }
            "Slice" => {
                let get = |k: usize| n.input.get(k).and_then(|s| consts.get(s)).cloned();
                let (starts, ends) = (get(1).ok_or_else(|| bad("starts not constant".into()))?, get(2).ok_or_else(|| bad("ends not constant".into()))?);
                let axes = get(3).unwrap_or_else(|| (0..starts.len() as i64).collect());
                let steps = get(4).unwrap_or_else(|| vec![1; starts.len()]);
                let mut o = x.clone();
                for (((&s, &e), &a), &st) in starts.iter().zip(&ends).zip(&axes).zip(&steps) {
                    let a = axis(a, x.len());
                    let d = x[a];
                    let clamp = |v: i64| if v < 0 { (v + d).max(0) } else { v.min(d) };
                    o[a] = ((clamp(e) - clamp(s)).max(0) + st.abs() - 1) / st.abs();
                }
                o
            }
            "Gather" => {
                let idx = input(1)?;
                let a = axis(attr_int(n, "axis", 0), x.len());
                let mut o = x[..a].to_vec();
                o.extend(idx);
                o.extend(&x[a + 1..]);
                o
            }
            "SpaceToDepth" => {
                let b = attr_int(n, "blocksize", 1);
                vec![x[0], x[1] * b * b, x[2] / b, x[3] / b]
            }
            "Pad" => {
                let pads = n.input.get(1).and_then(|s| consts.get(s)).cloned().or_else(|| attr_ints(n, "pads")).ok_or_else(|| bad("pads not constant".into()))?;
                let r = x.len();
                x.iter().enumerate().map(|(i, &d)| d + pads[i] + pads[i + r]).collect()
            }
            "Reshape" => {
                let target = n.input.get(1).and_then(|s| consts.get(s)).cloned().ok_or_else(|| bad("shape not constant".into()))?;
                let total: i64 = x.iter().product();
                let mut o: Shape = target.iter().enumerate().map(|(i, &d)| if d == 0 { x[i] } else { d }).collect();
                if let Some(p) = o.iter().position(|&d| d == -1) {
                    let known: i64 = o.iter().filter(|&&d| d != -1).product();
                    o[p] = total / known.max(1);
                }
                o
            }
            other => return Err(bad(format!("op {other} is not supported by the MAC counter"))),
        };
        if let Some(o) = n.output.first() {
            shapes.insert(o.clone(), out);
        }
    }
    Ok(macs)
}
