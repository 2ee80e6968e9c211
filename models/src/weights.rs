//! Reference weights (torchvision / timm state dicts) from local `.safetensors` or `.pth` files.
//!
//! Files are read with burn-store's readers; keys are matched to Burn parameters through
//! [`crate::names::torch_names`] (the names the forward pass gives every tensor) after at most
//! one list of regex rules per family (torchvision's legacy DenseNet keys). The classifier can be
//! replaced by the study's head, and the first convolution adapted to one input channel by
//! summing its RGB weights. Anything that does not fit is an error that lists it.

use crate::names::{Layout, TorchName, torch_names};
use crate::Model;
use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::tensor::TensorData;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A state dict: key → (shape, values as f32).
pub type StateDict = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// Weights that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The file could not be read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// Keys or shapes do not fit the architecture.
    #[error("{source_name}: the weights do not fit {arch}:{}", mismatch_lines(unknown, missing, shapes))]
    Mismatch {
        /// Where the weights came from.
        source_name: String,
        /// Architecture.
        arch: String,
        /// Keys in the file the architecture does not have.
        unknown: Vec<String>,
        /// Tensors the architecture needs that the file lacks.
        missing: Vec<String>,
        /// `key: file shape vs expected shape`.
        shapes: Vec<String>,
    },
}

fn mismatch_lines(unknown: &[String], missing: &[String], shapes: &[String]) -> String {
    let mut s = String::new();
    for (what, list) in [("unknown keys", unknown), ("missing keys", missing), ("wrong shapes", shapes)] {
        if !list.is_empty() {
            s.push_str(&format!("\n  {} {what}: {}", list.len(), list.iter().take(12).cloned().collect::<Vec<_>>().join(", ")));
            if list.len() > 12 {
                s.push_str(", …");
            }
        }
    }
    s
}

/// Read a `.safetensors` or PyTorch (`.pth`, `.pt`, `.bin`) state dict. A checkpoint that nests
/// its weights under `state_dict` or `model` is unwrapped; float16, bfloat16 and float64 tensors
/// are converted to float32.
///
/// # Errors
/// [`WeightsError::Read`].
pub fn read_state_dict(path: &Path) -> Result<StateDict, WeightsError> {
    use burn::store::ModuleStore;
    let err = |m: String| WeightsError::Read { path: path.display().to_string(), message: m };
    if !path.is_file() {
        return Err(err("no such file".into()));
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    // Index renumbering is off: torchvision's `Sequential`s have gaps (`block.0`, `block.2`).
    let tensors: Vec<burn::store::burn_pack::Tensor> = match ext.as_str() {
        "safetensors" => {
            let mut s = burn::store::SafetensorsStore::from_file(path).map_indices_contiguous(false);
            s.get_all_tensors().map_err(|e| err(e.to_string()))?.values().cloned().collect()
        }
        "pth" | "pt" | "bin" | "ckpt" => {
            let mut s = burn::store::PytorchStore::from_file(path).map_indices_contiguous(false);
            s.get_all_tensors().map_err(|e| err(e.to_string()))?.values().cloned().collect()
        }
        other => return Err(err(format!("unknown weight file type {other:?}: use .safetensors, .pth, .pt or .bin"))),
    };
    if tensors.is_empty() {
        return Err(err("no tensors found".into()));
    }
    // A training checkpoint nests the weights (`{"state_dict": …, "epoch": …}`): unwrap.
    let nest = ["state_dict.", "model."].into_iter().find(|p| tensors.iter().all(|t| t.name.starts_with(p)));
    let mut sd = StateDict::new();
    for t in tensors {
        let name = nest.map_or(t.name.as_str(), |p| &t.name[p.len()..]).to_string();
        let shape = t.shape.to_vec();
        let bytes = t.to_bytes().map_err(|e| err(format!("{name}: {e}")))?;
        let data = TensorData::from_bytes(bytes, shape.clone(), t.dtype);
        let values = if data.dtype() == burn::tensor::DType::F32 {
            data.try_to_vec::<f32>()
        } else {
            data.convert::<f32>().try_to_vec::<f32>()
        }
        .map_err(|e| err(format!("{name}: {e:?}")))?;
        sd.insert(name, (shape, values));
    }
    Ok(sd)
}

/// Serialize a state dict as `.safetensors` bytes (8-byte header length, JSON header, float32
/// data), readable by [`read_state_dict`] and by `safetensors.torch.load_file`.
#[must_use]
pub fn to_safetensors(sd: &StateDict) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut data: Vec<u8> = Vec::new();
    for (k, (shape, v)) in sd {
        let start = data.len();
        data.extend(v.iter().flat_map(|x| x.to_le_bytes()));
        header.insert(k.clone(), serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}));
    }
    let header = serde_json::Value::Object(header).to_string();
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.into_bytes());
    bytes.extend(data);
    bytes
}

/// Rules that rewrite a family's historical keys into the ones its forward pass uses (a regex
/// and its replacement, applied in order).
#[must_use]
pub fn key_rules(family: &str) -> &'static [(&'static str, &'static str)] {
    match family {
        // torchvision's DenseNet checkpoints from before 0.3 spell `norm1` as `norm.1`; its own
        // `_load_state_dict` applies this same pattern.
        "densenet" => &[(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$", "$1$2")],
        _ => &[],
    }
}

/// Keys every family ignores: buffers PyTorch keeps that carry no weights.
fn ignored(key: &str) -> bool {
    key.ends_with("num_batches_tracked")
}

/// Options for [`load_state_dict`].
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Leave the model's own classifier in place and ignore the file's (a new label head).
    pub replace_head: bool,
}

/// What loading did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Tensors loaded.
    pub loaded: usize,
    /// The file's classifier keys left out for the study's head.
    pub replaced_head: Vec<String>,
    /// The first convolution, if its RGB weights were summed to one channel.
    pub adapted_stem: Option<String>,
    /// Keys ignored (BatchNorm step counters).
    pub ignored: usize,
}

struct Apply {
    stack: Vec<String>,
    values: HashMap<String, (Vec<usize>, Vec<f32>)>,
}

impl ModuleMapper for Apply {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.stack.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.stack.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let path = self.stack.join(".");
        match self.values.remove(&path) {
            Some((shape, v)) => {
                // The parameter's own device and autodiff setting; a lazily initialised one is
                // never drawn.
                let t = Tensor::<D>::from_data(TensorData::new(v, shape), &param.lazy_device());
                let id = param.id;
                param.transform_for_load(t, id)
            }
            None => param,
        }
    }
}

/// Sum the colour axis of a stem weight `[o, m·3, k, k]` (timm's `adapt_input_conv`; `m` > 1
/// for a space-to-depth stem whose channel index is `block·3 + colour`).
fn sum_rgb(shape: &[usize], v: &[f32]) -> (Vec<usize>, Vec<f32>) {
    let (o, cin, kk) = (shape[0], shape[1], shape[2] * shape[3]);
    let m = cin / 3;
    let mut out = vec![0.0f32; o * m * kk];
    for a in 0..o {
        for b in 0..m {
            for c in 0..3 {
                for k in 0..kk {
                    out[(a * m + b) * kk + k] += v[((a * cin) + b * 3 + c) * kk + k];
                }
            }
        }
    }
    (vec![o, m, shape[2], shape[3]], out)
}

/// Load a reference state dict into `model` (built for `arch`).
///
/// # Errors
/// [`WeightsError::Mismatch`] listing unknown keys, missing keys and wrong shapes.
pub fn load_state_dict(model: Model, arch: &str, sd: StateDict, source_name: &str, opts: &LoadOptions) -> Result<(Model, LoadReport), WeightsError> {
    let family = crate::check_arch(arch).map(|v| v.family).unwrap_or_default();
    let rules: Vec<(regex::Regex, &str)> = key_rules(family).iter().filter_map(|(p, r)| regex::Regex::new(p).ok().map(|re| (re, *r))).collect();
    let head = format!("{}.", model.backbone.info().head_name);
    let mut report = LoadReport::default();
    let mut file: HashMap<String, (Vec<usize>, Vec<f32>)> = HashMap::new();
    for (k, v) in sd {
        let mut key = k.strip_prefix("module.").unwrap_or(&k).to_string();
        for (re, rep) in &rules {
            key = re.replace(&key, *rep).into_owned();
        }
        if ignored(&key) {
            report.ignored += 1;
        } else if opts.replace_head && key.starts_with(&head) {
            report.replaced_head.push(key);
        } else {
            file.insert(key, v);
        }
    }
    let names: Vec<TorchName> = torch_names(&model);
    let (mut missing, mut shapes) = (Vec::new(), Vec::new());
    let mut values = HashMap::new();
    for n in &names {
        if opts.replace_head && n.torch.starts_with(&head) {
            continue;
        }
        let Some((shape, v)) = file.remove(&n.torch) else {
            missing.push(n.torch.clone());
            continue;
        };
        let want = n.torch_shape();
        let (shape, v) = if n.stem && shape.len() == 4 && want.len() == 4 && shape[1] == 3 * want[1] && shape[0] == want[0] && shape[2..] == want[2..] {
            report.adapted_stem = Some(n.torch.clone());
            sum_rgb(&shape, &v)
        } else {
            (shape, v)
        };
        let numel: usize = want.iter().product();
        // A linear layer may come as a 1×1 convolution (DPN's classifier); `[C, 1, 1]` may
        // become `[C]` (torchvision's layer scale).
        let squeezed: Vec<usize> = shape.iter().copied().filter(|&d| d != 1).collect();
        let want_squeezed: Vec<usize> = want.iter().copied().filter(|&d| d != 1).collect();
        if v.len() != numel || squeezed != want_squeezed {
            shapes.push(format!("{} {:?} (expected {:?})", n.torch, shape, want));
            continue;
        }
        let v = match n.layout {
            Layout::Same => v,
            Layout::Linear => {
                let (o, i) = (want[0], want[1]);
                let mut t = vec![0.0f32; v.len()];
                for a in 0..o {
                    for b in 0..i {
                        t[b * o + a] = v[a * i + b];
                    }
                }
                t
            }
        };
        values.insert(n.burn.clone(), (n.shape.clone(), v));
    }
    let mut unknown: Vec<String> = file.into_keys().collect();
    unknown.sort();
    if !unknown.is_empty() || !missing.is_empty() || !shapes.is_empty() {
        return Err(WeightsError::Mismatch { source_name: source_name.to_string(), arch: arch.to_string(), unknown, missing, shapes });
    }
    report.loaded = values.len();
    let model = model.map(&mut Apply { stack: Vec::new(), values });
    Ok((model, report))
}

/// Read `path` and load it (see [`load_state_dict`]).
///
/// # Errors
/// [`WeightsError`].
pub fn load_file(model: Model, arch: &str, path: &Path, opts: &LoadOptions) -> Result<(Model, LoadReport), WeightsError> {
    let sd = read_state_dict(path)?;
    load_state_dict(model, arch, sd, &path.display().to_string(), opts)
}
