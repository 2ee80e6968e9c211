//! Learning histogram-standardization landmarks from a training set.

use super::{landmarks_of, prepare_record};
use crate::{DataError, LandmarkFit, Record};
use cxr_core::{Intensity, PreprocessSpec};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// What a landmark fit learned and from which images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// The standard landmarks (1st percentile 0, 99th 1).
    pub landmarks: [f32; 11],
    /// Images that contributed.
    pub images: usize,
    /// Ids of images left out because they are constant between their 1st and 99th percentiles.
    pub constant: Vec<String>,
}

/// Learn the standard landmarks from `records` under `spec` (every stage before the intensity
/// mapping: ROI crop, aspect, resize, depth), in parallel; `on_image` is called once per image.
///
/// # Errors
/// The first image that cannot be read or prepared, named; [`DataError::Invalid`] when no image
/// has a usable histogram.
pub fn fit_landmarks(spec: &PreprocessSpec, records: &[Record], on_image: &(dyn Fn() + Sync)) -> Result<FitReport, DataError> {
    let stages = PreprocessSpec { intensity: Intensity::None, ..*spec };
    let each: Vec<[f32; 11]> = records
        .par_iter()
        .map(|r| {
            let p = prepare_record(&stages, r)?;
            on_image();
            Ok(landmarks_of(&p.pixels, p.levels))
        })
        .collect::<Result<_, DataError>>()?;
    let mut fit = LandmarkFit::default();
    let mut constant = Vec::new();
    for (r, l) in records.iter().zip(&each) {
        if !fit.add(l) {
            constant.push(r.id.clone());
        }
    }
    let landmarks = fit.landmarks().ok_or_else(|| DataError::Invalid(format!("histogram standardization: none of the {} training images has a usable histogram (all constant)", records.len())))?;
    Ok(FitReport { landmarks, images: fit.images(), constant })
}
