//! The single preprocessing function used by training and evaluation alike.

use crate::{DataError, GrayImage, load_gray, load_gray_hinted};
use cxr_core::{Normalization, PreprocessSpec, ResizeFilter};
use fast_image_resize::images::{TypedImage, TypedImageRef};
use fast_image_resize::pixels::F32;
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use std::path::Path;

/// Turn a decoded image into the model input: resize to `spec.size²` with `spec.filter` (always
/// explicit, never silent), normalize, and lay out as `[channels, size, size]` (the gray plane
/// repeated for 3 channels).
///
/// # Errors
/// Pixels outside `[0, 1]` (a decoding bug upstream) or a resize failure.
pub fn preprocess(spec: &PreprocessSpec, img: &GrayImage) -> Result<Vec<f32>, String> {
    if img.pixels.len() != img.width as usize * img.height as usize {
        return Err("pixel buffer does not match the image size".into());
    }
    if let Some(bad) = img.pixels.iter().find(|v| !(0.0..=1.0).contains(*v)) {
        return Err(format!("pixel value {bad} outside [0, 1]"));
    }
    let size = spec.size;
    let resized: Vec<f32> = if img.width == size && img.height == size {
        img.pixels.clone()
    } else {
        let src_px: Vec<F32> = img.pixels.iter().map(|&v| F32::new(v)).collect();
        let src = TypedImageRef::new(img.width, img.height, &src_px).map_err(|e| e.to_string())?;
        let mut dst = TypedImage::<F32>::new(size, size);
        let alg = match spec.filter {
            ResizeFilter::Bilinear => ResizeAlg::Convolution(FilterType::Bilinear),
            ResizeFilter::Nearest => ResizeAlg::Nearest,
        };
        Resizer::new()
            .resize_typed(&src, &mut dst, &ResizeOptions::new().resize_alg(alg))
            .map_err(|e| e.to_string())?;
        // Bilinear overshoot is impossible (non-negative weights), but clamp rounding error.
        dst.pixels().iter().map(|p| p.0.clamp(0.0, 1.0)).collect()
    };
    let Normalization::Standardize { mean, std } = spec.normalization;
    let plane: Vec<f32> = resized.iter().map(|v| (v - mean) / std).collect();
    let mut out = Vec::with_capacity(plane.len() * spec.channels as usize);
    for _ in 0..spec.channels {
        out.extend_from_slice(&plane);
    }
    Ok(out)
}

/// [`load_gray`] then [`preprocess`], with errors naming the file.
///
/// # Errors
/// [`DataError::Image`] naming the file.
pub fn preprocess_file(spec: &PreprocessSpec, path: &Path) -> Result<Vec<f32>, DataError> {
    let img = load_gray(path)?;
    preprocess(spec, &img).map_err(|message| DataError::Image { path: path.to_path_buf(), message })
}

/// [`preprocess_file`] for a dataset record, using the bits stored its index states.
///
/// # Errors
/// [`DataError::Image`] naming the file.
pub fn preprocess_record(spec: &PreprocessSpec, record: &crate::Record) -> Result<Vec<f32>, DataError> {
    let img = load_gray_hinted(&record.path, record.bits_stored)?;
    preprocess(spec, &img).map_err(|message| DataError::Image { path: record.path.clone(), message })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // A horizontal ramp stays a ramp: the first column is dark, the last bright.
        assert!(out[0] < -1.5 && out[15] > 1.5, "{} {}", out[0], out[15]);
    }

    #[test]
    fn same_size_is_untouched_except_normalization() {
        let spec = PreprocessSpec::default_for(8, 1);
        let img = ramp(8, 8);
        let out = preprocess(&spec, &img).unwrap();
        for (o, i) in out.iter().zip(&img.pixels) {
            assert!((o - (i - 0.5) / 0.25).abs() < 1e-6);
        }
    }

    #[test]
    fn rejects_out_of_range_pixels() {
        let mut img = ramp(8, 8);
        img.pixels[3] = 1.5;
        let e = preprocess(&PreprocessSpec::default_for(8, 1), &img).unwrap_err();
        assert!(e.contains("1.5"), "{e}");
    }
}
