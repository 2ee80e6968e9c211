//! Turning a dataset into batches of preprocessed images, targets and masks.

use cxr_core::{Finding, Label, LabelPolicy, PreprocessSpec};
use cxr_data::{DataError, Dataset, preprocess_record};
use rayon::prelude::*;

/// Training targets (soft) and masks for one row, in the run's label order.
#[must_use]
pub fn targets(policy: &LabelPolicy, labels: &[Finding], row: &[Label; 9], covered: &[bool; 9]) -> (Vec<f32>, Vec<f32>) {
    labels
        .iter()
        .map(|f| match policy.target(row[f.index()], covered[f.index()]) {
            Some(t) => (t, 1.0),
            None => (0.0, 0.0),
        })
        .unzip()
}

/// One batch: images `[n, C, S, S]` flattened, targets and masks `[n, K]` flattened.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Number of images.
    pub n: usize,
    /// Pixels.
    pub images: Vec<f32>,
    /// Targets.
    pub targets: Vec<f32>,
    /// Masks.
    pub masks: Vec<f32>,
}

/// Load and preprocess the images at `indices` in parallel (decoding in rayon workers) and
/// gather their targets.
///
/// # Errors
/// The first image that cannot be read, named.
pub fn load_batch(ds: &Dataset, indices: &[usize], spec: &PreprocessSpec, policy: &LabelPolicy, labels: &[Finding]) -> Result<Batch, DataError> {
    let images: Vec<Vec<f32>> = indices.par_iter().map(|&i| preprocess_record(spec, &ds.records[i])).collect::<Result<_, _>>()?;
    let mut b = Batch { n: indices.len(), images: Vec::new(), targets: Vec::new(), masks: Vec::new() };
    for (img, &i) in images.into_iter().zip(indices) {
        b.images.extend(img);
        let (t, m) = targets(policy, labels, &ds.labels.rows[i], &ds.labels.covered);
        b.targets.extend(t);
        b.masks.extend(m);
    }
    Ok(b)
}
