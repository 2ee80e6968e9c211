//! Completing the preprocessing spec from the training set before the first epoch: histogram
//! standardization learns its landmarks here, once per run (a resumed run reads them back), and
//! the completed spec is what training, validation and the exported card use.

use crate::run_dir::RunDir;
use anyhow::Context;
use cxr_core::{Intensity, PREPROCESS_FIT_FILE, PreprocessSpec, write_json_atomic};
use cxr_data::{Dataset, FitReport, fit_landmarks};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

/// The file's content.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreprocessFit {
    /// The completed spec.
    pub spec: PreprocessSpec,
    /// What the fit learned from which images.
    pub fit: FitReport,
}

/// The spec training uses: `spec` itself when nothing is learned, else `spec` with the landmarks
/// of `train` (read from the run directory when an earlier attempt already fitted them).
///
/// # Errors
/// An unreadable image (named), no usable training image, or I/O.
pub fn complete_spec(spec: &PreprocessSpec, train: &Dataset, dir: &RunDir) -> anyhow::Result<PreprocessSpec> {
    if !spec.needs_fitting() {
        return Ok(*spec);
    }
    if let Some(done) = dir.read_json::<PreprocessFit>(PREPROCESS_FIT_FILE)? {
        return Ok(done.spec);
    }
    let bar =
        ProgressBar::new(train.len() as u64).with_style(ProgressStyle::with_template("histogram landmarks [{bar:30}] {pos}/{len} training images").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let fit = fit_landmarks(spec, &train.records, &|| bar.inc(1)).context("learning histogram-standardization landmarks from the training set")?;
    bar.finish_and_clear();
    if !fit.constant.is_empty() {
        tracing::warn!("histogram landmarks: {} constant training images left out of the fit (listed in {PREPROCESS_FIT_FILE})", fit.constant.len());
    }
    tracing::info!("histogram landmarks from {} training images: {:?}", fit.images, fit.landmarks);
    let done = PreprocessFit { spec: PreprocessSpec { intensity: Intensity::Histogram { landmarks: Some(fit.landmarks) }, ..*spec }, fit };
    write_json_atomic(&dir.file(PREPROCESS_FIT_FILE), &done)?;
    Ok(done.spec)
}
