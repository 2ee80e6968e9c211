//! `cxr-export adopt`: bring an ONNX file made elsewhere under the card contract.
//!
//! There is no Burn model to compare with, so there is no parity gate: adoption checks that the
//! graph has the card's input and outputs, that ONNX Runtime runs it with the shapes the card
//! implies (two batch sizes), stamps the card into `metadata_props`, and writes the file with its
//! SHA-256.

use crate::parity::synthetic_input;
use anyhow::{Context, bail};
use cxr_core::{CARD_METADATA_KEY, CamSupport, ModelCard, write_atomic};
use cxr_onnx::{Message, ModelProto};
use cxr_runtime::{Provider, sha256_hex, sha256sum_line};
use ort::value::TensorRef;
use std::path::{Path, PathBuf};

/// Adopt `onnx` with `card` into `out`; returns the written model path.
///
/// # Errors
/// Unreadable files, a card that fails validation, a graph that breaks the contract, or ORT errors.
pub fn adopt(onnx: &Path, card_path: &Path, out: &Path, ort_lib: Option<&Path>) -> anyhow::Result<PathBuf> {
    let card = ModelCard::from_json(&fs_err::read_to_string(card_path)?).with_context(|| format!("{}", card_path.display()))?;
    let mut model = ModelProto::parse_from_bytes(&fs_err::read(onnx)?).with_context(|| format!("{}: not an ONNX model", onnx.display()))?;
    let c = &card.outputs;
    let graph = model.graph.as_ref().with_context(|| format!("{}: no graph", onnx.display()))?;
    if !graph.input.iter().any(|i| i.name == c.input) {
        bail!("{}: no graph input named {:?} (the card's input)", onnx.display(), c.input);
    }
    let mut required = vec![&c.logits, &c.probabilities, &c.embedding, &c.features];
    if c.cam_support != CamSupport::Unsupported {
        required.push(&c.cam);
    }
    for name in &required {
        if !graph.output.iter().any(|o| &o.name == *name) {
            bail!("{}: no graph output named {name:?} (required by the card)", onnx.display());
        }
    }
    model.metadata_props.retain(|p| p.key != CARD_METADATA_KEY);
    model.metadata_props.push(Default::default());
    if let Some(e) = model.metadata_props.last_mut() {
        e.key = CARD_METADATA_KEY.into();
        e.value = card.to_json();
    }
    let bytes = model.write_to_bytes().context("serializing the adopted model")?;
    let (_, env) = cxr_runtime::init(ort_lib)?;
    let mut session = cxr_runtime::session(env, &bytes, Provider::Cpu, 2)?;
    let (ch, s, k) = (card.preprocess.channels as usize, card.preprocess.size as usize, card.labels.len());
    for n in [1usize, 2] {
        let x = synthetic_input(7 + n as u64, n, ch, s);
        let outs = session.run(ort::inputs![c.input.as_str() => TensorRef::from_array_view(([n, ch, s, s], &x[..]))?])?;
        for (name, want) in [(&c.logits, vec![n, k]), (&c.probabilities, vec![n, k]), (&c.embedding, vec![n, c.num_features])] {
            let (shape, _) = outs[name.as_str()].try_extract_tensor::<f32>()?;
            let got: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
            if got != want {
                bail!("{}: output {name:?} has shape {got:?}, the card implies {want:?}", onnx.display());
            }
        }
    }
    fs_err::create_dir_all(out)?;
    let sha = sha256_hex(&bytes);
    write_atomic(&out.join("model_card.json"), card.to_json().as_bytes())?;
    let path = out.join("model.onnx");
    write_atomic(&path, &bytes)?;
    write_atomic(&out.join("model.onnx.sha256"), sha256sum_line(&sha, "model.onnx").as_bytes())?;
    Ok(path)
}
