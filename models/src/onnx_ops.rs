//! [`Ops`] that record ONNX nodes: the exporter's side of "write the forward pass once".

use crate::Ops;
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
