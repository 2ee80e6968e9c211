//! The single preprocessing implementation used by training and evaluation alike: the pipeline
//! documented on [`cxr_core::PreprocessSpec`].
//!
//! [`prepare`] runs the stages an HDF5 cache stores (ROI crop, aspect, resize, intensity mapping)
//! and returns the integer image; [`normalize`] turns `[0, 1]` values into the model's input;
//! [`preprocess`] is both. Training augments between the two.

mod clahe;
mod fit;
mod geometry;
mod histogram;
mod levels;
mod normalize;
mod roi;

pub use clahe::clahe;
pub use fit::{FitReport, fit_landmarks};
pub use geometry::{Prepared, resize_to_levels};
pub use histogram::{LandmarkFit, landmarks_of, standardize};
pub use levels::{LevelImage, Samples, load_levels};
pub use normalize::normalize;
pub use roi::{otsu, roi_box, roi_crop};

use crate::{DataError, GrayImage};
use cxr_core::{Intensity, PreprocessSpec};
use std::path::Path;

/// The cached stages: ROI crop, aspect handling and resize at the working depth, then the
/// intensity mapping.
///
/// # Errors
/// Pixels outside `[0, 1]` (a decoding bug upstream), an image the spec cannot handle (ROI crop
/// finds no body, a constant image under histogram standardization), histogram standardization
/// without landmarks, or a resize failure.
pub fn prepare(spec: &PreprocessSpec, img: &GrayImage) -> Result<Prepared, String> {
    prepare_levels(spec, LevelImage::from_gray(img)?)
}

/// [`prepare`] for an image already at its levels (what [`load_levels`] gives).
///
/// # Errors
/// As [`prepare`].
pub fn prepare_levels(spec: &PreprocessSpec, img: LevelImage) -> Result<Prepared, String> {
    let mut img = img.at_depth(spec.depth);
    if let Some(roi) = &spec.roi {
        img = roi_crop(roi, img)?;
    }
    let mut p = resize_to_levels(spec, img)?;
    let side = p.size as usize;
    match spec.intensity {
        Intensity::None => {}
        Intensity::Clahe { tiles, clip_limit } => p.pixels = clahe(&p.pixels, side, side, p.levels, tiles, clip_limit),
        Intensity::Histogram { landmarks: Some(l) } => standardize(&mut p.pixels, p.levels, &l)?,
        Intensity::Histogram { landmarks: None } => {
            return Err("histogram standardization has no landmarks: training learns them from its training set and stores them in the card".into());
        }
    }
    Ok(p)
}

/// Decode a file ([`load_levels`]) and run the cached stages: the one path training, the cache
/// and the evaluator take from a file.
///
/// # Errors
/// [`DataError::Image`] naming the file.
pub fn prepare_path(spec: &PreprocessSpec, path: &Path, bits_stored: Option<u8>) -> Result<Prepared, DataError> {
    let img = load_levels(path, bits_stored)?;
    prepare_levels(spec, img).map_err(|message| DataError::Image { path: path.to_path_buf(), message })
}

/// Turn a decoded image into the model input `[channels, size, size]`: [`prepare`], then
/// [`normalize`].
///
/// # Errors
/// As [`prepare`] and [`normalize`].
pub fn preprocess(spec: &PreprocessSpec, img: &GrayImage) -> Result<Vec<f32>, String> {
    normalize(spec, &prepare(spec, img)?.to_unit())
}

/// [`prepare_path`] then [`normalize`], with errors naming the file.
///
/// # Errors
/// [`DataError::Image`] naming the file.
pub fn preprocess_file(spec: &PreprocessSpec, path: &Path) -> Result<Vec<f32>, DataError> {
    let p = prepare_path(spec, path, None)?;
    normalize(spec, &p.to_unit()).map_err(|message| DataError::Image { path: path.to_path_buf(), message })
}

/// [`prepare_path`] for a dataset record, with the bits stored its index states.
///
/// # Errors
/// [`DataError::Image`] naming the file.
pub fn prepare_record(spec: &PreprocessSpec, record: &crate::Record) -> Result<Prepared, DataError> {
    prepare_path(spec, &record.path, record.bits_stored)
}

/// [`preprocess_file`] for a dataset record, using the bits stored its index states.
///
/// # Errors
/// [`DataError::Image`] naming the file.
pub fn preprocess_record(spec: &PreprocessSpec, record: &crate::Record) -> Result<Vec<f32>, DataError> {
    let p = prepare_record(spec, record)?;
    normalize(spec, &p.to_unit()).map_err(|message| DataError::Image { path: record.path.clone(), message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxr_core::{Aspect, Normalization, ResizeFilter, RoiCrop, RoiMode};

    fn ramp(w: u32, h: u32) -> GrayImage {
        let pixels = (0..w * h).map(|i| (i % w) as f32 / (w - 1) as f32).collect();
        GrayImage { width: w, height: h, pixels, bit_depth: 8 }
    }

    #[test]
    fn resizes_normalizes_and_repeats_channels() {
        let spec = PreprocessSpec::default_for(16, 3);
        let out = preprocess(&spec, &ramp(40, 30)).unwrap();
        assert_eq!(out.len(), 3 * 16 * 16);
        assert_eq!(&out[..256], &out[256..512]);
        assert!(out[0] < -1.5 && out[15] > 1.5, "{} {}", out[0], out[15]);
    }

    #[test]
    fn same_size_is_untouched_except_normalization() {
        let spec = PreprocessSpec::default_for(8, 1);
        let img = ramp(8, 8);
        let out = preprocess(&spec, &img).unwrap();
        // Rounded to the 8-bit levels the source has, then standardized.
        for (o, i) in out.iter().zip(&img.pixels) {
            assert!((o - ((i * 255.0).round() / 255.0 - 0.5) / 0.25).abs() < 1e-6);
        }
    }

    #[test]
    fn rejects_out_of_range_pixels_and_missing_landmarks() {
        let mut img = ramp(8, 8);
        img.pixels[3] = 1.5;
        let e = preprocess(&PreprocessSpec::default_for(8, 1), &img).unwrap_err();
        assert!(e.contains("1.5"), "{e}");
        let spec = PreprocessSpec { intensity: Intensity::Histogram { landmarks: None }, ..PreprocessSpec::default_for(8, 1) };
        assert!(preprocess(&spec, &ramp(8, 8)).unwrap_err().contains("no landmarks"));
    }

    #[test]
    fn every_stage_runs_in_order() {
        // A ramp body inside black padding: ROI crop removes the padding, so the resized image
        // spans the ramp's full range; CLAHE and z-score run on the result.
        let (w, h) = (60u32, 40u32);
        let mut px = vec![0.0f32; (w * h) as usize];
        for y in 5..35 {
            for x in 10..50 {
                px[(y * w + x) as usize] = 0.1 + 0.8 * (x - 10) as f32 / 39.0;
            }
        }
        let img = GrayImage { width: w, height: h, pixels: px, bit_depth: 8 };
        let spec = PreprocessSpec {
            roi: Some(RoiCrop::new(RoiMode::Fixed)),
            aspect: Aspect::Pad,
            filter: ResizeFilter::Bilinear,
            intensity: Intensity::clahe_default(),
            normalization: Normalization::Zscore,
            ..PreprocessSpec::default_for(32, 1)
        };
        let p = prepare(&PreprocessSpec { intensity: Intensity::None, ..spec }, &img).unwrap();
        // 40 × 30 content padded to 40 × 40: rows 0..4 of the 32 px output are padding.
        assert_eq!(p.pixels[0], 0);
        assert!(p.pixels[16 * 32 + 31] > 200, "{}", p.pixels[16 * 32 + 31]);
        let out = preprocess(&spec, &img).unwrap();
        let mean = out.iter().sum::<f32>() / out.len() as f32;
        assert!(mean.abs() < 1e-4);
    }
}
