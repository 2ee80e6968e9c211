//! Opening a model: hash check, card, session, and the outputs contract.

use cxr_core::{CARD_METADATA_KEY, CamSupport, ModelCard};
use cxr_runtime::{EpOptions, RanOn, RuntimeError, sha256_hex};
use ort::session::Session;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Refusals that protect the integrity of an evaluation.
#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    /// No hash to check against.
    #[error("{}: no expected hash: found no {} beside the model and no --expect-sha256; refusing to evaluate an unverified model", model.display(), sidecar.display())]
    MissingHash {
        /// Model file.
        model: PathBuf,
        /// Sidecar looked for.
        sidecar: PathBuf,
    },
    /// The bytes do not match the expected hash.
    #[error("{}: SHA-256 mismatch: the file hashes to {actual} but {source_name} says {expected}; the model was modified or corrupted, refusing to evaluate it", model.display())]
    Mismatch {
        /// Model file.
        model: PathBuf,
        /// Expected hash.
        expected: String,
        /// Actual hash.
        actual: String,
        /// Where the expected hash came from.
        source_name: String,
    },
    /// Malformed sidecar.
    #[error("{}: not a sha256sum line for {file:?}", path.display())]
    BadSidecar {
        /// Sidecar path.
        path: PathBuf,
        /// The model file name expected in it.
        file: String,
    },
    /// No or invalid card.
    #[error("{}: {message}", model.display())]
    Card {
        /// Model file.
        model: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// How the model's hash was verified (recorded in results).
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    /// SHA-256 of the bytes evaluated.
    pub sha256: String,
    /// `model.onnx.sha256` or `--expect-sha256`.
    pub sha256_source: String,
}

/// An opened, verified model.
pub struct OpenModel {
    /// The session built from the verified bytes.
    pub session: Session,
    /// The card read through ONNX Runtime.
    pub card: ModelCard,
    /// Verification record.
    pub verified: Verified,
    /// The model file.
    pub path: PathBuf,
    /// The provider asked for and the one the session runs on.
    pub ep: EpOptions,
    /// Where it really runs.
    pub ran_on: RanOn,
}

impl OpenModel {
    /// The execution provider record for results: asked for, ran on, and why it fell back.
    #[must_use]
    pub fn provider_record(&self) -> serde_json::Value {
        serde_json::json!({
            "requested": self.ep.provider.name(),
            "ran": self.ran_on.provider.name(),
            "fell_back": self.ran_on.fell_back_from.as_ref().map(|(_, why)| why),
            "device_id": (self.ep.provider != cxr_runtime::Provider::Cpu).then_some(self.ep.device_id),
            "tensorrt_fp16": (self.ep.provider == cxr_runtime::Provider::TensorRt).then_some(self.ep.trt_fp16),
        })
    }
}

fn expected_hash(model: &Path, expect: Option<&str>) -> Result<(String, String), IntegrityError> {
    if let Some(h) = expect {
        return Ok((h.trim().to_lowercase(), "--expect-sha256".into()));
    }
    let name = model.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let sidecar = model.with_file_name(format!("{name}.sha256"));
    let text = fs_err::read_to_string(&sidecar).map_err(|_| IntegrityError::MissingHash { model: model.to_path_buf(), sidecar: sidecar.clone() })?;
    let mut parts = text.split_whitespace();
    let (Some(hash), Some(file)) = (parts.next(), parts.next()) else {
        return Err(IntegrityError::BadSidecar { path: sidecar, file: name });
    };
    if file.trim_start_matches('*') != name || hash.len() != 64 {
        return Err(IntegrityError::BadSidecar { path: sidecar, file: name });
    }
    Ok((hash.to_lowercase(), format!("{name}.sha256")))
}

/// Verify the model's bytes and hash only (no runtime needed).
///
/// # Errors
/// [`IntegrityError`] or an unreadable file.
pub fn verify_bytes(model: &Path, expect: Option<&str>) -> anyhow::Result<(Vec<u8>, Verified)> {
    let (expected, source_name) = expected_hash(model, expect)?;
    let bytes = fs_err::read(model)?;
    let actual = sha256_hex(&bytes);
    if actual != expected {
        return Err(IntegrityError::Mismatch { model: model.to_path_buf(), expected, actual, source_name }.into());
    }
    Ok((bytes, Verified { sha256: actual, sha256_source: source_name }))
}

/// Verify, build the session from the verified bytes, read and check the card and the graph's
/// interface.
///
/// # Errors
/// [`IntegrityError`], [`RuntimeError`].
pub fn open(model: &Path, expect: Option<&str>, ort_lib: Option<&Path>, ep: &EpOptions, threads: usize) -> anyhow::Result<OpenModel> {
    let (bytes, verified) = verify_bytes(model, expect)?;
    let (_, env) = cxr_runtime::init(ort_lib)?;
    let (session, ran_on) = cxr_runtime::session_with(env, &bytes, ep, threads)?;
    if let Some((asked, why)) = &ran_on.fell_back_from {
        eprintln!("warning: {} unavailable ({why}); running on the CPU because of --ep-fallback (recorded)", asked.name());
    }
    drop(bytes);
    let card_err = |message: String| IntegrityError::Card { model: model.to_path_buf(), message };
    let json = session
        .metadata()
        .map_err(RuntimeError::from)?
        .custom(CARD_METADATA_KEY)
        .ok_or_else(|| card_err(format!("no model card (metadata key {CARD_METADATA_KEY:?}); export it with cxr-export or adopt it")))?;
    let card = ModelCard::from_json(&json).map_err(|e| card_err(e.to_string()))?;
    let c = &card.outputs;
    if !session.inputs().iter().any(|i| i.name() == c.input) {
        return Err(card_err(format!("the graph has no input {:?} as the card promises", c.input)).into());
    }
    let mut needed = vec![&c.logits, &c.probabilities];
    if c.features_available {
        needed.extend([&c.embedding, &c.features]);
    }
    if c.cam_support != CamSupport::Unsupported {
        needed.push(&c.cam);
    }
    for n in needed {
        if !session.outputs().iter().any(|o| o.name() == n) {
            return Err(card_err(format!("the graph has no output {n:?} as the card promises")).into());
        }
    }
    crate::infer::check_input_shape(&session, &card).map_err(|m| card_err(format!("the graph does not take the card's input: {m}")))?;
    Ok(OpenModel { session, card, verified, path: model.to_path_buf(), ep: ep.clone(), ran_on })
}
