//! `cxr-export run`: the whole export of one run directory.

use crate::graph::{FeatureShape, to_onnx};
use crate::parity::{ParityReport, burn_outputs, check};
use anyhow::{Context, bail};
use burn::prelude::*;
use cxr_core::{CARD_SCHEMA_VERSION, CamSupport, ExporterInfo, ModelCard, OperatingPoint, OutputsContract, ParityTolerance, ResolvedRun, write_atomic, write_json_atomic};
use cxr_models::{Model, build, checkpoint};
use cxr_runtime::{Provider, sha256_hex, sha256sum_line};
use std::path::{Path, PathBuf};

/// The gate's tolerance: `|a − b| ≤ 1e-4 + 1e-3·|b|`.
pub const TOLERANCE: ParityTolerance = ParityTolerance { atol: 1e-4, rtol: 1e-3 };
/// Batch sizes the gate runs (two, so the dynamic batch axis is exercised).
pub const PARITY_BATCHES: [usize; 2] = [1, 3];
/// Seed of the gate's synthetic inputs.
pub const PARITY_SEED: u64 = 20_240_601;

/// Export failures with their exit codes.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// ONNX Runtime disagreed with Burn: nothing was written.
    #[error("parity gate failed: ONNX Runtime does not reproduce Burn ({0}); nothing was written")]
    Parity(String),
}

/// Options.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Explicit ONNX Runtime library.
    pub ort_lib: Option<PathBuf>,
    /// ORT intra-op threads for the gate.
    pub threads: usize,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Exported {
    /// `model.onnx`.
    pub model: PathBuf,
    /// Its SHA-256.
    pub sha256: String,
    /// Whether an identical export already existed.
    pub already_done: bool,
}

fn read_json<T: for<'de> serde::Deserialize<'de>>(p: &Path) -> anyhow::Result<T> {
    let text = fs_err::read_to_string(p)?;
    serde_json::from_str(&text).with_context(|| format!("malformed {}", p.display()))
}

/// Build the card for a run.
#[must_use]
pub fn make_card(run: &ResolvedRun, ops: Vec<OperatingPoint>, weights_blake3: String, num_features: usize, source_commit: Option<String>) -> ModelCard {
    ModelCard {
        schema_version: CARD_SCHEMA_VERSION,
        run_id: run.run_id().0,
        config_hash: run.config_hash(),
        arch: run.model.arch.clone(),
        labels: run.labels.clone(),
        label_policy: run.label_policy,
        preprocess: run.preprocess,
        operating_points: ops,
        outputs: OutputsContract::standard(num_features, 32, CamSupport::LinearHead),
        weights_blake3,
        exporter: ExporterInfo { name: "cxr-export".into(), version: crate::EXPORTER_VERSION.into(), opset: cxr_onnx::OPSET, ir_version: cxr_onnx::IR_VERSION },
        parity: TOLERANCE,
        source_commit,
        efficiency: None,
        origin: None,
    }
}

/// Write ONNX for `model` with `card`, run the parity gate, and return the bytes and report.
///
/// # Errors
/// Lowering, ORT, or [`ExportError::Parity`].
pub fn export_model(model: &Model, card: &mut ModelCard, opts: &ExportOptions) -> anyhow::Result<(Vec<u8>, ParityReport)> {
    let (ch, s) = (card.preprocess.channels as usize, card.preprocess.size as usize);
    let probe = burn_outputs(model, &vec![0.0; ch * s * s], [1, ch, s, s])?;
    let fshape = &probe[3].0;
    let feat = FeatureShape { channels: fshape[1], height: fshape[2], width: fshape[3] };
    let info = model.backbone.info();
    card.outputs.num_features = feat.channels;
    card.outputs.cam_support = info.cam;
    card.outputs.embedding_dim = (info.embed_dim != feat.channels).then_some(info.embed_dim);
    card.outputs.feature_reduction = s / feat.height.max(1);
    // MACs are counted on the recorded graph itself (batch 1, the card's input), then the card
    // that carries them replaces the draft's.
    card.efficiency = None;
    let draft = to_onnx(model, card, feat)?;
    let macs = crate::macs::count(&draft, &card.outputs.logits, [ch as i64, s as i64, s as i64])?;
    card.efficiency = Some(cxr_core::Efficiency { params: cxr_models::trainable_params(model) as u64, macs, input: [ch as u32, s as u32, s as u32] });
    let bytes = crate::graph::stamp_card(&draft, card)?;
    let (_, env) = cxr_runtime::init(opts.ort_lib.as_deref())?;
    let mut session = cxr_runtime::session(env, &bytes, Provider::Cpu, opts.threads)?;
    let report = check(model, &mut session, card, TOLERANCE, &PARITY_BATCHES, PARITY_SEED)?;
    if !report.passed {
        let worst: Vec<String> =
            report.outputs.iter().filter(|o| o.violations > 0).map(|o| format!("{}: {} of {} elements off, max |diff| {:.3e}", o.name, o.violations, o.elements, o.max_abs_diff)).collect();
        return Err(ExportError::Parity(worst.join("; ")).into());
    }
    Ok((bytes, report))
}

/// Export the run in `run_dir` into the same directory.
///
/// # Errors
/// Missing or malformed run files, lowering or ORT failures, or a failed parity gate.
pub fn export_run(run_dir: &Path, opts: &ExportOptions) -> anyhow::Result<Exported> {
    if !run_dir.join("train_complete.json").is_file() {
        bail!("{}: not a finished training run (no train_complete.json)", run_dir.display());
    }
    let run: ResolvedRun = read_json(&run_dir.join("resolved.json"))?;
    let ops: Vec<OperatingPoint> = read_json(&run_dir.join("operating_points.json"))?;
    let ckpt_path = run_dir.join("checkpoint.bpk");
    let ckpt = fs_err::read(&ckpt_path)?;
    let prov: serde_json::Value = read_json(&run_dir.join("provenance.json")).unwrap_or_default();
    let commit = prov.get("git_commit").and_then(|v| v.as_str()).map(str::to_string);

    let device = Device::flex();
    let (k, ch) = (run.labels.len(), run.preprocess.channels as usize);
    let mut model = build(&run.model.arch, k, ch, run.model.dropout, &device)?;
    checkpoint::load_bytes(&mut model, ckpt.clone()).with_context(|| format!("loading {}", ckpt_path.display()))?;
    let model = model.valid();
    let mut card = make_card(&run, ops, cxr_models::checkpoint::weights_blake3(&model), model.backbone.info().num_features, commit);
    // A spec that training completed from its training set (histogram landmarks) goes into the card as used.
    let fit_path = run_dir.join(cxr_core::PREPROCESS_FIT_FILE);
    if fit_path.is_file() {
        let fit: serde_json::Value = read_json(&fit_path)?;
        card.preprocess = serde_json::from_value(fit["spec"].clone()).with_context(|| format!("{}: malformed spec", fit_path.display()))?;
    }
    if card.preprocess.needs_fitting() {
        bail!("{}: the run's preprocessing learns histogram landmarks but {} is missing", run_dir.display(), fit_path.display());
    }

    let onnx_path = run_dir.join("model.onnx");
    let sha_path = run_dir.join("model.onnx.sha256");
    let t0 = std::time::Instant::now();
    let (bytes, report) = export_model(&model, &mut card, opts)?;
    let sha = sha256_hex(&bytes);
    if onnx_path.is_file() && fs_err::read(&onnx_path)? == bytes {
        return Ok(Exported { model: onnx_path, sha256: sha, already_done: true });
    }
    // Card and report first, the model and its hash last: a model.onnx with a matching .sha256
    // beside it is the sign of a finished export.
    write_atomic(&run_dir.join("model_card.json"), card.to_json().as_bytes())?;
    write_json_atomic(&run_dir.join("export_report.json"), &report)?;
    write_json_atomic(
        &run_dir.join("export_provenance.json"),
        &serde_json::json!({ "exporter": format!("cxr-export {}", crate::EXPORTER_VERSION), "seconds": t0.elapsed().as_secs_f64(), "onnx_bytes": bytes.len() }),
    )?;
    write_atomic(&onnx_path, &bytes)?;
    write_atomic(&sha_path, sha256sum_line(&sha, "model.onnx").as_bytes())?;
    Ok(Exported { model: onnx_path, sha256: sha, already_done: false })
}
