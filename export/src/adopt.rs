//! `cxr-export adopt`: bring a classifier exported elsewhere (a torchvision or torchxrayvision
//! ONNX file) under the card contract.
//!
//! There is no Burn model to compare with, so there is no parity gate. Adoption instead checks
//! what the evaluator relies on: one NCHW float input whose channels and side match the declared
//! preprocessing with a dynamic batch axis, one `[N, K]` output declared as logits or sigmoid
//! probabilities (softmax is refused: a multi-label evaluation needs independent scores), and
//! finite, repeatable outputs on seeded inputs at two batch sizes. The graph is wrapped, not
//! changed: its input is renamed `image`, the declared columns are gathered in label order, and
//! `logits`/`probabilities` are derived from them. The card records the origin (original
//! SHA-256, output, columns, activation), `cam` unsupported, no embedding or features, and
//! operating points only when given (F1 is then reported undefined).

use crate::parity::synthetic_input;
use anyhow::{Context, bail};
use cxr_core::{
    CARD_SCHEMA_VERSION, CamSupport, Efficiency, ExporterInfo, Finding, ModelCard, Normalization, OperatingPoint, Origin, OutputsContract, ParityTolerance, PreprocessSpec, ResizeFilter, write_atomic,
};
use cxr_onnx::{Message, ModelProto, NodeProto, TensorProto};
use cxr_runtime::{Provider, sha256_hex, sha256sum_line};
use ort::value::TensorRef;
use std::path::{Path, PathBuf};

/// What the foreign model's output holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Raw scores; probabilities are their sigmoid.
    Logits,
    /// Independent probabilities; logits are their log-odds.
    Sigmoid,
}

impl Activation {
    /// Parse `logits`, `sigmoid`; `softmax` is refused with the reason.
    ///
    /// # Errors
    /// Anything else.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "logits" | "none" => Ok(Self::Logits),
            "sigmoid" => Ok(Self::Sigmoid),
            "softmax" => Err("softmax outputs are refused: they make the labels compete, and a multi-label evaluation needs one independent score per finding".into()),
            o => Err(format!("unknown activation {o:?}: logits or sigmoid")),
        }
    }
    fn name(self) -> &'static str {
        match self {
            Self::Logits => "logits",
            Self::Sigmoid => "sigmoid",
        }
    }
}

/// Parse `size=224,channels=3,filter=bilinear,mean=0.5,std=0.25` (size, channels, mean and std
/// required; filter defaults to bilinear).
///
/// # Errors
/// A missing or malformed field, named.
pub fn parse_preprocess(spec: &str) -> Result<PreprocessSpec, String> {
    let (mut size, mut channels, mut mean, mut std, mut filter) = (None, None, None, None, ResizeFilter::Bilinear);
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| format!("--preprocess: {part:?} is not key=value"))?;
        let num = |v: &str| v.parse::<f64>().map_err(|_| format!("--preprocess: {k}={v:?} is not a number"));
        match k {
            "size" => size = Some(num(v)? as u32),
            "channels" => channels = Some(num(v)? as u32),
            "mean" => mean = Some(num(v)? as f32),
            "std" => std = Some(num(v)? as f32),
            "filter" => filter = serde_json::from_value(serde_json::json!(v)).map_err(|_| format!("--preprocess: filter {v:?}: bilinear or nearest"))?,
            other => return Err(format!("--preprocess: unknown key {other:?} (size, channels, filter, mean, std)")),
        }
    }
    fn need<T>(o: Option<T>, k: &str) -> Result<T, String> {
        o.ok_or_else(|| format!("--preprocess needs {k}=…"))
    }
    let (size, channels, mean, std) = (need(size, "size")?, need(channels, "channels")?, need(mean, "mean")?, need(std, "std")?);
    if !matches!(channels, 1 | 3) || !(16..=4096).contains(&size) || std.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return Err(format!("--preprocess: channels must be 1 or 3, size in 16..=4096 and std positive (got {channels}, {size}, {std})"));
    }
    Ok(PreprocessSpec { filter, normalization: Normalization::Standardize { mean, std }, ..PreprocessSpec::default_for(size, channels) })
}

/// Parse the label map: `Cardiomegaly,Edema` (the output's columns in order) or
/// `2=Cardiomegaly,7=Edema` (columns picked from a wider output). Returns (column, finding).
///
/// # Errors
/// Unknown findings, repeats, malformed pairs.
pub fn parse_labels(map: &str) -> Result<Vec<(usize, Finding)>, String> {
    let mut out = Vec::new();
    for (i, part) in map.split(',').map(str::trim).filter(|p| !p.is_empty()).enumerate() {
        let (col, name) = match part.split_once('=') {
            Some((c, n)) => (c.trim().parse::<usize>().map_err(|_| format!("--labels: {c:?} is not a column index"))?, n),
            None => (i, part),
        };
        let f: Finding = name.parse().map_err(|e| format!("--labels: {e}"))?;
        if out.iter().any(|&(c, g)| c == col || g == f) {
            return Err(format!("--labels: column {col} or {} appears twice", f.name()));
        }
        out.push((col, f));
    }
    if out.is_empty() {
        return Err("--labels: no labels".into());
    }
    Ok(out)
}

/// What to adopt.
#[derive(Debug, Clone)]
pub struct AdoptOptions {
    /// The declared preprocessing.
    pub preprocess: PreprocessSpec,
    /// (output column, finding), in label order.
    pub labels: Vec<(usize, Finding)>,
    /// What the output holds.
    pub activation: Activation,
    /// The output to wrap, when the graph has several.
    pub output: Option<String>,
    /// Frozen thresholds (JSON list of `{"finding", "threshold"}`), if any.
    pub operating_points: Option<PathBuf>,
    /// Architecture name for the card.
    pub arch: String,
    /// ONNX Runtime library.
    pub ort_lib: Option<PathBuf>,
}

fn dims(v: &cxr_onnx::ValueInfoProto) -> Option<Vec<Option<i64>>> {
    let t = v.type_.as_ref()?.tensor_type();
    let s = t.shape.as_ref()?;
    Some(s.dim.iter().map(|d| if d.has_dim_value() { Some(d.dim_value()) } else { None }).collect())
}

fn node(op: &str, name: &str, inputs: &[&str], output: &str) -> NodeProto {
    let mut n = NodeProto::new();
    n.op_type = op.into();
    n.name = name.into();
    n.input = inputs.iter().map(|s| (*s).to_string()).collect();
    n.output = vec![output.to_string()];
    n
}

fn output_info(name: &str, k: i64) -> cxr_onnx::ValueInfoProto {
    let mut v = cxr_onnx::ValueInfoProto::new();
    v.name = name.into();
    let tt = v.type_.mut_or_insert_default().mut_tensor_type();
    tt.elem_type = 1;
    let shape = tt.shape.mut_or_insert_default();
    shape.dim.push(Default::default());
    shape.dim.push(Default::default());
    shape.dim[0].set_dim_param("batch".into());
    shape.dim[1].set_dim_value(k);
    v
}

/// Adopt `onnx` into `out` (`model.onnx`, its `.sha256`, `model_card.json`).
///
/// # Errors
/// A graph that breaks the contract (named), unreadable files, ORT errors.
pub fn adopt(onnx: &Path, out: &Path, opts: &AdoptOptions) -> anyhow::Result<PathBuf> {
    let original = fs_err::read(onnx)?;
    let original_sha = sha256_hex(&original);
    let mut model = ModelProto::parse_from_bytes(&original).map_err(|e| anyhow::anyhow!("{}: not an ONNX model: {e}", onnx.display()))?;
    let file = onnx.display().to_string();
    let (spec, k) = (opts.preprocess, opts.labels.len());
    let graph = model.graph.as_mut().with_context(|| format!("{file}: no graph"))?;
    let inits: std::collections::HashSet<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
    let inputs: Vec<usize> = (0..graph.input.len()).filter(|&i| !inits.contains(&graph.input[i].name)).collect();
    let [input_idx] = inputs[..] else {
        bail!("{file}: {} graph inputs; adoption needs exactly one image input", inputs.len());
    };
    let in_name = graph.input[input_idx].name.clone();
    let in_dims = dims(&graph.input[input_idx]).with_context(|| format!("{file}: input {in_name:?} has no tensor shape"))?;
    if graph.input[input_idx].type_.as_ref().map(|t| t.tensor_type().elem_type) != Some(1) {
        bail!("{file}: input {in_name:?} is not float32");
    }
    let want = [None, Some(i64::from(spec.channels)), Some(i64::from(spec.size)), Some(i64::from(spec.size))];
    if in_dims.len() != 4 {
        bail!("{file}: input {in_name:?} has {} axes; adoption needs NCHW", in_dims.len());
    }
    if let Some(b) = in_dims[0] {
        bail!("{file}: input {in_name:?} has a fixed batch of {b}; export it with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={{\"{in_name}\": {{0: \"batch\"}}}}))");
    }
    if in_dims[1..] != want[1..] {
        bail!("{file}: input {in_name:?} is {:?}, the declared preprocessing gives [N, {}, {}, {}]", in_dims, spec.channels, spec.size, spec.size);
    }
    let out_idx = match &opts.output {
        Some(o) => graph.output.iter().position(|v| &v.name == o).with_context(|| format!("{file}: no graph output {o:?}"))?,
        None if graph.output.len() == 1 => 0,
        None => bail!("{file}: {} graph outputs ({}); name the one to adopt with --output", graph.output.len(), graph.output.iter().map(|o| o.name.as_str()).collect::<Vec<_>>().join(", ")),
    };
    let raw = graph.output[out_idx].name.clone();
    let width = dims(&graph.output[out_idx]).and_then(|d| if d.len() == 2 { d[1] } else { None });
    if let Some(d) = dims(&graph.output[out_idx])
        && d.len() != 2
    {
        bail!("{file}: output {raw:?} has {} axes; adoption needs [N, K]", d.len());
    }
    if let Some(w) = width
        && let Some(&(c, f)) = opts.labels.iter().find(|(c, _)| *c as i64 >= w)
    {
        bail!("{file}: --labels maps column {c} to {} but output {raw:?} has {w} columns", f.name());
    }
    // The op behind the output, looking through Identity nodes.
    let mut value = raw.clone();
    while let Some(p) = graph.node.iter().find(|n| n.output.iter().any(|o| o == &value)) {
        if matches!(p.op_type.as_str(), "Softmax" | "LogSoftmax") {
            bail!("{file}: output {raw:?} comes from a {} node: softmax scores compete across labels, and a multi-label evaluation needs independent ones", p.op_type);
        }
        match (p.op_type.as_str(), p.input.first()) {
            ("Identity", Some(i)) => value = i.clone(),
            _ => break,
        }
    }
    if graph.output.iter().chain(graph.input.iter()).any(|v| ["image", "logits", "probabilities"].contains(&v.name.as_str()) && v.name != in_name) {
        bail!("{file}: the graph already has a value named image, logits or probabilities");
    }
    // Wrap: rename the input, gather the declared columns, derive logits and probabilities.
    for n in &mut graph.node {
        for i in &mut n.input {
            if *i == in_name {
                *i = "image".into();
            }
        }
    }
    graph.input[input_idx].name = "image".into();
    let mut cols = TensorProto::new();
    cols.name = "adopt.columns".into();
    cols.data_type = 7;
    cols.dims = vec![k as i64];
    cols.int64_data = opts.labels.iter().map(|&(c, _)| c as i64).collect();
    let mut one = TensorProto::new();
    one.name = "adopt.one".into();
    one.data_type = 1;
    one.float_data = vec![1.0];
    graph.initializer.extend([cols, one]);
    let mut gather = node("Gather", "adopt/gather", &[&raw, "adopt.columns"], "adopt.selected");
    let mut axis = cxr_onnx::AttributeProto::new();
    axis.name = "axis".into();
    axis.type_ = cxr_onnx::EnumOrUnknown::new(cxr_onnx::AttributeType::INT);
    axis.i = 1;
    gather.attribute.push(axis);
    graph.node.push(gather);
    match opts.activation {
        Activation::Logits => {
            graph.node.push(node("Identity", "adopt/logits", &["adopt.selected"], "logits"));
            graph.node.push(node("Sigmoid", "adopt/probabilities", &["adopt.selected"], "probabilities"));
        }
        Activation::Sigmoid => {
            graph.node.push(node("Identity", "adopt/probabilities", &["adopt.selected"], "probabilities"));
            graph.node.push(node("Sub", "adopt/complement", &["adopt.one", "adopt.selected"], "adopt.complement"));
            graph.node.push(node("Div", "adopt/odds", &["adopt.selected", "adopt.complement"], "adopt.odds"));
            graph.node.push(node("Log", "adopt/logits", &["adopt.odds"], "logits"));
        }
    }
    graph.output = vec![output_info("logits", k as i64), output_info("probabilities", k as i64)];

    let labels: Vec<Finding> = opts.labels.iter().map(|&(_, f)| f).collect();
    let operating_points = read_operating_points(opts.operating_points.as_deref(), &labels)?;
    let opset = model.opset_import.iter().find(|o| o.domain.is_empty()).map_or(0, |o| o.version);
    let mut outputs = OutputsContract::standard(0, 0, CamSupport::Unsupported);
    outputs.features_available = false;
    let mut card = ModelCard {
        schema_version: CARD_SCHEMA_VERSION,
        run_id: format!("adopted-{}", &original_sha[..12]),
        config_hash: original_sha.clone(),
        arch: opts.arch.clone(),
        labels,
        label_policy: cxr_core::LabelPolicy::default(),
        preprocess: spec,
        operating_points,
        outputs,
        weights_blake3: blake3::hash(&original).to_hex().to_string(),
        exporter: ExporterInfo { name: "cxr-export adopt".into(), version: crate::EXPORTER_VERSION.into(), opset, ir_version: model.ir_version },
        // No reference implementation: what was checked is repeatability (identical outputs).
        parity: ParityTolerance { atol: 0.0, rtol: 0.0 },
        source_commit: None,
        efficiency: None,
        origin: Some(Origin {
            kind: "adopted".into(),
            original_sha256: original_sha,
            original_file: onnx.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            original_output: raw,
            columns: opts.labels.iter().map(|&(c, _)| c).collect(),
            activation: opts.activation.name().into(),
        }),
    };
    let draft = model.write_to_bytes().context("serializing the adopted model")?;
    let params: u64 =
        model.graph.as_ref().map_or(0, |g| g.initializer.iter().filter(|t| t.data_type == 1 && !t.name.starts_with("adopt.")).map(|t| t.dims.iter().product::<i64>().max(0) as u64).sum());
    match crate::macs::count(&draft, "logits", [i64::from(spec.channels), i64::from(spec.size), i64::from(spec.size)]) {
        Ok(macs) => card.efficiency = Some(Efficiency { params, macs, input: [spec.channels, spec.size, spec.size] }),
        Err(e) => tracing::warn!("{file}: MACs not counted ({e}); the card records none"),
    }
    crate::graph::set_card(&mut model, &card);
    let bytes = model.write_to_bytes().context("serializing the adopted model")?;
    check_runs(&bytes, &card, &file, opts.ort_lib.as_deref())?;
    fs_err::create_dir_all(out)?;
    let sha = sha256_hex(&bytes);
    write_atomic(&out.join("model_card.json"), card.to_json().as_bytes())?;
    let path = out.join("model.onnx");
    write_atomic(&path, &bytes)?;
    write_atomic(&out.join("model.onnx.sha256"), sha256sum_line(&sha, "model.onnx").as_bytes())?;
    Ok(path)
}

fn read_operating_points(path: Option<&Path>, labels: &[Finding]) -> anyhow::Result<Vec<OperatingPoint>> {
    let blank = |f: Finding, t: Option<f64>| OperatingPoint { finding: f, threshold: t, youden_j: None, n_positive: 0, n_negative: 0 };
    let Some(p) = path else {
        return Ok(labels.iter().map(|&f| blank(f, None)).collect());
    };
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Row {
        finding: Finding,
        threshold: f64,
    }
    let rows: Vec<Row> = serde_json::from_str(&fs_err::read_to_string(p)?).with_context(|| format!("{}: expected a JSON list of {{\"finding\", \"threshold\"}}", p.display()))?;
    labels
        .iter()
        .map(|&f| {
            let r = rows.iter().find(|r| r.finding == f).with_context(|| format!("{}: no threshold for {}", p.display(), f.name()))?;
            if !(0.0..=1.0).contains(&r.threshold) {
                bail!("{}: threshold {} for {} is not a probability", p.display(), r.threshold, f.name());
            }
            Ok(blank(f, Some(r.threshold)))
        })
        .collect()
}

/// Two batch sizes of seeded inputs, each run twice: shapes `[n, K]`, finite, probabilities in
/// `[0, 1]`, identical on repetition.
fn check_runs(bytes: &[u8], card: &ModelCard, file: &str, ort_lib: Option<&Path>) -> anyhow::Result<()> {
    let (_, env) = cxr_runtime::init(ort_lib)?;
    let mut session = cxr_runtime::session(env, bytes, Provider::Cpu, 2).with_context(|| format!("{file}: ONNX Runtime cannot load the wrapped graph"))?;
    let (ch, s, k) = (card.preprocess.channels as usize, card.preprocess.size as usize, card.labels.len());
    for n in [1usize, 3] {
        let x = synthetic_input(11 + n as u64, n, ch, s);
        let mut first: Option<Vec<Vec<f32>>> = None;
        for _ in 0..2 {
            let outs = session.run(ort::inputs!["image" => TensorRef::from_array_view(([n, ch, s, s], &x[..]))?]).with_context(|| format!("{file}: ONNX Runtime failed on a batch of {n}"))?;
            let mut got = Vec::new();
            for name in ["logits", "probabilities"] {
                let (shape, v) = outs[name].try_extract_tensor::<f32>()?;
                let shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
                if shape != [n, k] {
                    bail!("{file}: {name} has shape {shape:?} for a batch of {n}; the labels give [{n}, {k}]");
                }
                if name == "probabilities" && v.iter().any(|p| !(0.0..=1.0).contains(p)) {
                    bail!("{file}: probabilities outside [0, 1] or not finite on seeded inputs (is the activation really {}?)", card.origin.as_ref().map_or("", |o| o.activation.as_str()));
                }
                if name == "logits" && v.iter().any(|l| l.is_nan()) {
                    bail!("{file}: NaN scores on seeded inputs");
                }
                got.push(v.to_vec());
            }
            match &first {
                None => first = Some(got),
                Some(f) if *f != got => bail!("{file}: outputs differ between two runs of the same input: not repeatable"),
                Some(_) => {}
            }
        }
    }
    Ok(())
}
