//! [`Ops`] that record ONNX nodes: the exporter's side of "write the forward pass once".

use crate::layers::{ChannelNorm, ChannelScale, Grn};
use crate::{Act, Ops};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{AvgPool2d, MaxPool2d};
use burn::nn::{BatchNorm, Dropout, Linear};
use burn::prelude::*;
use cxr_onnx::{Attr, GraphBuilder, GraphError};

/// Records every primitive into a [`GraphBuilder`]; values are ONNX value names. The first error
/// (an unsupported layer setting) is kept and returned by [`OnnxOps::finish`].
#[derive(Debug, Default)]
pub struct OnnxOps {
    /// The graph being built.
    pub graph: GraphBuilder,
    path: Vec<String>,
    error: Option<GraphError>,
    /// Integer constants (axes, slice bounds, pads) shared by value.
    int_consts: std::collections::HashMap<Vec<i64>, String>,
    /// Record re-parameterizable blocks in their training form (for counting what the published
    /// figures count) instead of the deploy form the exporter writes.
    training_form: bool,
}

fn values<const D: usize>(t: Tensor<D>) -> (Vec<usize>, Vec<f32>) {
    let dims = t.dims().to_vec();
    let data = t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default();
    (dims, data)
}

fn ints(v: [usize; 2]) -> Vec<i64> {
    v.iter().map(|&x| x as i64).collect()
}

impl OnnxOps {
    /// A fresh recorder.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A recorder that keeps re-parameterizable blocks (RepVGG) in their multi-branch training
    /// form.
    #[must_use]
    pub fn training_form() -> Self {
        Self { training_form: true, ..Self::default() }
    }

    /// The builder, or the first error met while recording.
    ///
    /// # Errors
    /// The first unsupported layer setting.
    pub fn finish(self) -> Result<GraphBuilder, GraphError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.graph),
        }
    }

    fn path_of(&self, name: &str) -> String {
        let mut p = self.path.join(".");
        if !name.is_empty() {
            if !p.is_empty() {
                p.push('.');
            }
            p.push_str(name);
        }
        p
    }

    fn init<const D: usize>(&mut self, path: &str, t: Tensor<D>) -> String {
        let (dims, data) = values(t);
        match self.graph.initializer(path, &dims, &data) {
            Ok(n) => n,
            Err(e) => {
                self.error.get_or_insert(e);
                path.to_string()
            }
        }
    }

    /// A scalar float constant (broadcast by the node that reads it).
    fn constant(&mut self, path: &str, v: f32) -> String {
        match self.graph.initializer(path, &[], &[v]) {
            Ok(n) => n,
            Err(e) => {
                self.error.get_or_insert(e);
                path.to_string()
            }
        }
    }

    /// An int64 constant, one initializer per distinct value (`const.i64.[…]`).
    fn ints_const(&mut self, v: &[i64]) -> String {
        if let Some(n) = self.int_consts.get(v) {
            return n.clone();
        }
        let name = format!("const.i64.{v:?}").replace(' ', "");
        let n = match self.graph.initializer_i64(&name, v) {
            Ok(n) => n,
            Err(e) => {
                self.error.get_or_insert(e);
                name
            }
        };
        self.int_consts.insert(v.to_vec(), n.clone());
        n
    }

    /// LayerNormalization over the last axis, with the module's weight, bias and epsilon.
    fn layer_norm(&mut self, p: &str, m: &ChannelNorm, x: &str) -> String {
        let w = self.init(&format!("{p}.weight"), m.weight.val());
        let b = self.init(&format!("{p}.bias"), m.bias.val());
        self.graph.node("LayerNormalization", p, &[x, &w, &b], vec![Attr::Int("axis", -1), Attr::Float("epsilon", m.eps as f32)])
    }

    fn pads(&mut self, p: &PaddingConfig2d, what: &str) -> Vec<i64> {
        match p {
            PaddingConfig2d::Valid => vec![0; 4],
            // Burn's order (top, left, bottom, right) is ONNX's (x1_begin, x2_begin, x1_end, x2_end).
            PaddingConfig2d::Explicit(t, l, b, r) => [t, l, b, r].iter().map(|&&v| v as i64).collect(),
            other => {
                self.error.get_or_insert(GraphError::Unsupported(format!("{what} padding {other:?} at {}", self.path_of(""))));
                vec![0; 4]
            }
        }
    }
}

impl Ops for OnnxOps {
    type T = String;
    type V = String;

    fn deploy(&self) -> bool {
        !self.training_form
    }

    fn scope<R>(&mut self, name: &str, f: impl FnOnce(&mut Self) -> R) -> R {
        self.path.push(name.to_string());
        let r = f(self);
        self.path.pop();
        r
    }

    fn conv2d(&mut self, name: &str, m: &Conv2d, x: String) -> String {
        let p = self.path_of(name);
        let w = self.init(&format!("{p}.weight"), m.weight.val());
        let mut inputs = vec![x, w];
        if let Some(b) = &m.bias {
            inputs.push(self.init(&format!("{p}.bias"), b.val()));
        }
        let pads = self.pads(&m.padding, "conv");
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        self.graph.node(
            "Conv",
            &p,
            &refs,
            vec![
                Attr::Ints("kernel_shape", ints(m.kernel_size)),
                Attr::Ints("strides", ints(m.stride)),
                Attr::Ints("dilations", ints(m.dilation)),
                Attr::Ints("pads", pads),
                Attr::Int("group", m.groups as i64),
            ],
        )
    }

    fn batch_norm(&mut self, name: &str, m: &BatchNorm, x: String) -> String {
        let p = self.path_of(name);
        let scale = self.init(&format!("{p}.weight"), m.gamma.val());
        let bias = self.init(&format!("{p}.bias"), m.beta.val());
        let mean = self.init(&format!("{p}.running_mean"), m.running_mean.value());
        let var = self.init(&format!("{p}.running_var"), m.running_var.value());
        self.graph.node(
            "BatchNormalization",
            &p,
            &[&x, &scale, &bias, &mean, &var],
            vec![Attr::Float("epsilon", m.epsilon as f32)],
        )
    }

    fn relu(&mut self, x: String) -> String {
        let p = self.path_of("relu");
        self.graph.node("Relu", &p, &[&x], vec![])
    }

    fn max_pool(&mut self, m: &MaxPool2d, x: String) -> String {
        let p = self.path_of("maxpool");
        let pads = self.pads(&m.padding, "max pool");
        self.graph.node(
            "MaxPool",
            &p,
            &[&x],
            vec![
                Attr::Ints("kernel_shape", ints(m.kernel_size)),
                Attr::Ints("strides", ints(m.stride)),
                Attr::Ints("dilations", ints(m.dilation)),
                Attr::Ints("pads", pads),
                Attr::Int("ceil_mode", i64::from(m.ceil_mode)),
            ],
        )
    }

    fn avg_pool(&mut self, m: &AvgPool2d, x: String) -> String {
        let p = self.path_of("avgpool");
        let pads = self.pads(&m.padding, "average pool");
        self.graph.node(
            "AveragePool",
            &p,
            &[&x],
            vec![
                Attr::Ints("kernel_shape", ints(m.kernel_size)),
                Attr::Ints("strides", ints(m.stride)),
                Attr::Ints("pads", pads),
                Attr::Int("count_include_pad", i64::from(m.count_include_pad)),
                Attr::Int("ceil_mode", i64::from(m.ceil_mode)),
            ],
        )
    }

    fn add(&mut self, a: String, b: String) -> String {
        let p = self.path_of("add");
        self.graph.node("Add", &p, &[&a, &b], vec![])
    }

    fn concat(&mut self, xs: &[String]) -> String {
        let p = self.path_of("concat");
        let refs: Vec<&str> = xs.iter().map(String::as_str).collect();
        self.graph.node("Concat", &p, &refs, vec![Attr::Int("axis", 1)])
    }

    fn global_avg_pool(&mut self, x: String) -> String {
        let p = self.path_of("global_pool");
        let g = self.graph.node("GlobalAveragePool", &p, &[&x], vec![]);
        self.graph.node("Flatten", &p, &[&g], vec![Attr::Int("axis", 1)])
    }

    fn dropout(&mut self, _m: &Dropout, x: String) -> String {
        // Inference graph: dropout is the identity.
        x
    }

    fn linear(&mut self, name: &str, m: &Linear, x: String) -> String {
        let p = self.path_of(name);
        // Burn keeps linear weights as [in, out]: Gemm without transposing B.
        let w = self.init(&format!("{p}.weight"), m.weight.val());
        let mut inputs = vec![x, w];
        if let Some(b) = &m.bias {
            inputs.push(self.init(&format!("{p}.bias"), b.val()));
        }
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        self.graph.node("Gemm", &p, &refs, vec![])
    }

    fn sigmoid(&mut self, x: String) -> String {
        let p = self.path_of("sigmoid");
        self.graph.node("Sigmoid", &p, &[&x], vec![])
    }

    fn act(&mut self, a: Act, x: String) -> String {
        let (op, hint, attrs) = match a {
            Act::Relu => ("Relu", "relu", vec![]),
            Act::Silu => {
                let p = self.path_of("silu");
                let s = self.graph.node("Sigmoid", &p, &[&x], vec![]);
                return self.graph.node("Mul", &p, &[&x, &s], vec![]);
            }
            Act::Gelu => {
                // Opset 18 has no Gelu: x·(1 + erf(x/√2))/2, the exact form torch uses.
                let p = self.path_of("gelu");
                let c = self.constant(&format!("{p}.inv_sqrt2"), std::f32::consts::FRAC_1_SQRT_2);
                let half = self.constant(&format!("{p}.half"), 0.5);
                let one = self.constant(&format!("{p}.one"), 1.0);
                let s = self.graph.node("Mul", &p, &[&x, &c], vec![]);
                let e = self.graph.node("Erf", &p, &[&s], vec![]);
                let e1 = self.graph.node("Add", &p, &[&e, &one], vec![]);
                let h = self.graph.node("Mul", &p, &[&x, &half], vec![]);
                return self.graph.node("Mul", &p, &[&h, &e1], vec![]);
            }
            Act::HardSwish => ("HardSwish", "hardswish", vec![]),
            // torch's hardsigmoid is relu6(x+3)/6: alpha 1/6, not ONNX's default 0.2.
            Act::HardSigmoid => ("HardSigmoid", "hardsigmoid", vec![Attr::Float("alpha", 1.0 / 6.0), Attr::Float("beta", 0.5)]),
            Act::Sigmoid => ("Sigmoid", "sigmoid", vec![]),
            Act::LeakyRelu(slope) => ("LeakyRelu", "leaky_relu", vec![Attr::Float("alpha", slope as f32)]),
        };
        let p = self.path_of(hint);
        self.graph.node(op, &p, &[&x], attrs)
    }

    fn mul(&mut self, a: String, b: String) -> String {
        let p = self.path_of("mul");
        self.graph.node("Mul", &p, &[&a, &b], vec![])
    }

    fn mean_keep(&mut self, x: String) -> String {
        let p = self.path_of("pool");
        self.graph.node("GlobalAveragePool", &p, &[&x], vec![])
    }

    fn flatten(&mut self, x: String) -> String {
        let p = self.path_of("flatten");
        self.graph.node("Flatten", &p, &[&x], vec![Attr::Int("axis", 1)])
    }

    fn channel_norm(&mut self, name: &str, m: &ChannelNorm, x: String) -> String {
        let p = self.path_of(name);
        let t = self.graph.node("Transpose", &p, &[&x], vec![Attr::Ints("perm", vec![0, 2, 3, 1])]);
        let y = self.layer_norm(&p, m, &t);
        self.graph.node("Transpose", &p, &[&y], vec![Attr::Ints("perm", vec![0, 3, 1, 2])])
    }

    fn vector_norm(&mut self, name: &str, m: &ChannelNorm, x: String) -> String {
        let p = self.path_of(name);
        self.layer_norm(&p, m, &x)
    }

    fn pointwise_linear(&mut self, name: &str, m: &Linear, x: String) -> String {
        let p = self.path_of(name);
        let w = m.weight.val(); // [in, out]
        let [i, o] = w.dims();
        let w = self.init(&format!("{p}.weight"), w.swap_dims(0, 1).reshape([o, i, 1, 1]));
        let mut inputs = vec![x, w];
        if let Some(b) = &m.bias {
            inputs.push(self.init(&format!("{p}.bias"), b.val()));
        }
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        self.graph.node("Conv", &p, &refs, vec![Attr::Ints("kernel_shape", vec![1, 1])])
    }

    fn channel_scale(&mut self, name: &str, m: &ChannelScale, x: String) -> String {
        let p = self.path_of(name);
        let g = m.gamma.val();
        let c = g.dims()[0];
        let g = self.init(&p, g.reshape([c, 1, 1]));
        self.graph.node("Mul", &p, &[&x, &g], vec![])
    }

    fn grn(&mut self, name: &str, m: &Grn, x: String) -> String {
        let p = self.path_of(name);
        let c = m.weight.dims()[0];
        let w = self.init(&format!("{p}.weight"), m.weight.val().reshape([1, c, 1, 1]));
        let b = self.init(&format!("{p}.bias"), m.bias.val().reshape([1, c, 1, 1]));
        let hw = self.ints_const(&[2, 3]);
        let ch = self.ints_const(&[1]);
        let eps = self.constant(&format!("{p}.eps"), m.eps as f32);
        let g = self.graph.node("ReduceL2", &p, &[&x, &hw], vec![Attr::Int("keepdims", 1)]);
        let gm = self.graph.node("ReduceMean", &p, &[&g, &ch], vec![Attr::Int("keepdims", 1)]);
        let gm = self.graph.node("Add", &p, &[&gm, &eps], vec![]);
        let n = self.graph.node("Div", &p, &[&g, &gm], vec![]);
        let xn = self.graph.node("Mul", &p, &[&x, &n], vec![]);
        let y = self.graph.node("Mul", &p, &[&xn, &w], vec![]);
        let y = self.graph.node("Add", &p, &[&y, &b], vec![]);
        self.graph.node("Add", &p, &[&x, &y], vec![])
    }

    fn slice_channels(&mut self, x: String, start: usize, end: usize) -> String {
        let p = self.path_of(&format!("slice{start}_{end}"));
        let s = self.ints_const(&[start as i64]);
        let e = self.ints_const(&[end as i64]);
        let a = self.ints_const(&[1]);
        self.graph.node("Slice", &p, &[&x, &s, &e, &a], vec![])
    }

    fn space_to_depth(&mut self, x: String, block: usize) -> String {
        let p = self.path_of("space_to_depth");
        self.graph.node("SpaceToDepth", &p, &[&x], vec![Attr::Int("blocksize", block as i64)])
    }

    fn blur_pool(&mut self, channels: usize, x: String) -> String {
        let p = self.path_of("blur");
        let f = crate::burn_ops::blur_filter(channels, &Device::flex());
        let f = self.init(&format!("{p}.filt"), f);
        let pads = self.ints_const(&[0, 0, 1, 1, 0, 0, 1, 1]);
        let y = self.graph.node("Pad", &p, &[&x, &pads], vec![Attr::Str("mode", "reflect")]);
        self.graph.node(
            "Conv",
            &p,
            &[&y, &f],
            vec![Attr::Ints("kernel_shape", vec![3, 3]), Attr::Ints("strides", vec![2, 2]), Attr::Int("group", channels as i64)],
        )
    }

    fn class_maps(&mut self, name: &str, m: &Linear, x: String) -> String {
        let p = self.path_of(name);
        let w = m.weight.val(); // [D, K]
        let [d, k] = w.dims();
        let kernel = w.swap_dims(0, 1).reshape([k, d, 1, 1]);
        let w = self.init(&format!("{p}.cam_weight"), kernel);
        self.graph.node(
            "Conv",
            &format!("{p}.cam"),
            &[&x, &w],
            vec![Attr::Ints("kernel_shape", vec![1, 1])],
        )
    }
}
