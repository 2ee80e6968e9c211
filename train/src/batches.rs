//! Turning a dataset into batches of preprocessed images, targets and masks.

use crate::augment::{augment, image_rng};
use cxr_core::{AugmentConfig, Finding, Label, LabelPolicy, PreprocessSpec};
use cxr_data::cache::file_blake3;
use cxr_data::{DataError, Dataset, ImageCache, Record, normalize, prepare_record};
use rayon::prelude::*;

/// The uniform draw in `[0, 1)` that places an LSR target (U-Ones+LSR, U-Zeros+LSR) within its
/// range: fixed per run seed, image and finding, so every epoch, and a resumed run, sees the same
/// soft label.
#[must_use]
pub fn lsr_draw(seed: u64, record_id: &str, finding: Finding) -> f32 {
    let h = blake3::hash(format!("{seed}\0lsr\0{record_id}\0{}", finding.name()).as_bytes());
    let v = u32::from_le_bytes([h.as_bytes()[0], h.as_bytes()[1], h.as_bytes()[2], h.as_bytes()[3]]);
    (f64::from(v) / 4_294_967_296.0) as f32
}

/// Training targets (soft) and masks for one row, in the run's label order; `seed` and
/// `record_id` place LSR targets ([`lsr_draw`]).
#[must_use]
pub fn targets(policy: &LabelPolicy, labels: &[Finding], row: &[Label; 9], covered: &[bool; 9], seed: u64, record_id: &str) -> (Vec<f32>, Vec<f32>) {
    labels
        .iter()
        .map(|f| match policy.target_drawn(row[f.index()], covered[f.index()], lsr_draw(seed, record_id, *f)) {
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

/// Where a batch's images come from and what training does to them: the (completed) spec, an
/// optional HDF5 cache of the prepared stages, and augmentation with the epoch it is seeded by.
#[derive(Clone, Copy)]
pub struct Feed<'a> {
    /// Preprocessing.
    pub spec: &'a PreprocessSpec,
    /// A cache built for `spec` (its cache key checked when opened); images it lacks are decoded.
    pub cache: Option<&'a ImageCache>,
    /// Augmentation and the epoch (training batches only).
    pub augment: Option<(&'a AugmentConfig, u32)>,
    /// The run seed (LSR draws, augmentation).
    pub seed: u64,
}

impl<'a> Feed<'a> {
    /// Decode every image, no augmentation.
    #[must_use]
    pub fn plain(spec: &'a PreprocessSpec, seed: u64) -> Self {
        Self { spec, cache: None, augment: None, seed }
    }

    /// One record's model input.
    ///
    /// # Errors
    /// The image, named.
    pub fn image(&self, record: &Record) -> Result<Vec<f32>, DataError> {
        // The cache is looked up by the file's content hash, so an edited image is decoded afresh.
        let cached = match self.cache {
            Some(c) => c.get(&file_blake3(&record.path)?),
            None => None,
        };
        let prepared = match cached {
            Some(p) => p?,
            None => prepare_record(self.spec, record)?,
        };
        let mut plane = prepared.to_unit();
        if let Some((cfg, epoch)) = self.augment {
            plane = augment(&plane, prepared.size as usize, cfg, &mut image_rng(self.seed, epoch, &record.id));
        }
        normalize(self.spec, &plane).map_err(|message| DataError::Image { path: record.path.clone(), message })
    }
}

/// Load and preprocess the images at `indices` in parallel (decoding in rayon workers) and
/// gather their targets.
///
/// # Errors
/// The first image that cannot be read, named.
pub fn load_batch(ds: &Dataset, indices: &[usize], feed: &Feed<'_>, policy: &LabelPolicy, labels: &[Finding]) -> Result<Batch, DataError> {
    let images: Vec<Vec<f32>> = indices.par_iter().map(|&i| feed.image(&ds.records[i])).collect::<Result<_, _>>()?;
    let mut b = Batch { n: indices.len(), images: Vec::new(), targets: Vec::new(), masks: Vec::new() };
    for (img, &i) in images.into_iter().zip(indices) {
        b.images.extend(img);
        let (t, m) = targets(policy, labels, &ds.labels.rows[i], &ds.labels.covered, feed.seed, &ds.records[i].id);
        b.targets.extend(t);
        b.masks.extend(m);
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxr_core::UncertainPolicy;

    #[test]
    fn lsr_targets_are_seeded_fixed_and_spread_over_their_range() {
        let p = LabelPolicy { uncertain: UncertainPolicy::OnesLsr, ..LabelPolicy::default() };
        let labels = [Finding::Edema];
        let mut row = [Label::Missing; 9];
        row[Finding::Edema.index()] = Label::Uncertain;
        let covered = [true; 9];
        let draw = |seed, id: &str| targets(&p, &labels, &row, &covered, seed, id).0[0];
        assert_eq!(draw(1, "img-7"), draw(1, "img-7"), "the same image keeps its soft label");
        let vals: Vec<f32> = (0..400).map(|i| draw(1, &format!("img-{i}"))).collect();
        assert!(vals.iter().all(|v| (0.55..=0.85).contains(v)));
        let mean = vals.iter().sum::<f32>() / 400.0;
        assert!((mean - 0.70).abs() < 0.02, "uniform over [0.55, 0.85]: mean {mean}");
        assert!(vals.iter().cloned().fold(f32::MAX, f32::min) < 0.57 && vals.iter().cloned().fold(0.0, f32::max) > 0.83);
        assert_ne!(draw(1, "img-3"), draw(2, "img-3"), "the seed changes the draw");
        let z = LabelPolicy { uncertain: UncertainPolicy::ZerosLsr, ..LabelPolicy::default() };
        let zv = targets(&z, &labels, &row, &covered, 1, "img-3").0[0];
        assert!((0.0..=0.30).contains(&zv));
    }
}
