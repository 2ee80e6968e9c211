//! The integer image the pipeline works on: samples at the working depth (8-bit: `0..=255`,
//! 16-bit: `0..=65535`). PNG and JPEG decode straight into it (no float round trip, which cost
//! more than the resize on a 5-megapixel film); DICOM and float sources arrive as a
//! [`GrayImage`] and are rounded to their depth's levels.

use crate::{DataError, GrayImage};
use cxr_core::Depth;
use std::path::Path;

/// Samples of a [`LevelImage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Samples {
    /// 8-bit working depth: values `0..=255`.
    U8(Vec<u8>),
    /// 16-bit working depth: values `0..=65535`.
    U16(Vec<u16>),
}

/// A grayscale image at its working depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelImage {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Row-major samples.
    pub samples: Samples,
}

impl LevelImage {
    /// The top level: 255 or 65535.
    #[must_use]
    pub fn levels(&self) -> u16 {
        match self.samples {
            Samples::U8(_) => 255,
            Samples::U16(_) => 65535,
        }
    }

    /// Sample `i` as a value in `[0, 1]`.
    #[must_use]
    pub fn unit(&self, i: usize) -> f32 {
        match &self.samples {
            Samples::U8(v) => f32::from(v[i]) / 255.0,
            Samples::U16(v) => f32::from(v[i]) / 65535.0,
        }
    }

    /// Round a `[0, 1]` image to its depth's levels (8-bit sources to 255, others to 65535).
    ///
    /// # Errors
    /// A buffer that does not match the size, or a value outside `[0, 1]` (a decoding bug).
    pub fn from_gray(img: &GrayImage) -> Result<Self, String> {
        if img.pixels.len() != img.width as usize * img.height as usize {
            return Err("pixel buffer does not match the image size".into());
        }
        if let Some(bad) = img.pixels.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(format!("pixel value {bad} outside [0, 1]"));
        }
        let samples = if img.bit_depth <= 8 {
            Samples::U8(img.pixels.iter().map(|&v| (v * 255.0).round() as u8).collect())
        } else {
            Samples::U16(img.pixels.iter().map(|&v| (v * 65535.0).round() as u16).collect())
        };
        Ok(Self { width: img.width, height: img.height, samples })
    }

    /// Reduce to 8 bits when `depth` says so, `round(v · 255 / 65535)`.
    #[must_use]
    pub fn at_depth(self, depth: Depth) -> Self {
        match (depth, self.samples) {
            (Depth::Eight, Samples::U16(v)) => Self { samples: Samples::U8(v.iter().map(|&q| ((u32::from(q) * 255 + 32767) / 65535) as u8).collect()), ..self },
            (_, samples) => Self { samples, ..self },
        }
    }
}

/// 16-bit samples scaled to `0..=65535` by the bits stored (see [`crate::load_gray_hinted`]).
fn scale_sixteen(raw: Vec<u16>, bits_stored: Option<u8>) -> Result<Vec<u16>, String> {
    let max = crate::image_io::sixteen_bit_max(&raw, bits_stored)?;
    if max == 65535 {
        return Ok(raw);
    }
    Ok(raw.iter().map(|&v| ((u32::from(v) * 65535 + max / 2) / max) as u16).collect())
}

/// Decode an image file to its working levels: PNG and JPEG directly, DICOM and float images
/// through [`crate::load_gray_hinted`]'s rules.
///
/// # Errors
/// [`DataError::Image`] naming the file.
pub fn load_levels(path: &Path, bits_stored: Option<u8>) -> Result<LevelImage, DataError> {
    let err = |message: String| DataError::Image { path: path.to_path_buf(), message };
    let Some(img) = crate::image_io::decode_raster(path)? else {
        let g = crate::load_gray_hinted(path, bits_stored)?;
        return LevelImage::from_gray(&g).map_err(err);
    };
    use image::DynamicImage as D;
    let (width, height) = (img.width(), img.height());
    if width == 0 || height == 0 {
        return Err(err("empty image".into()));
    }
    let samples = match img {
        D::ImageLuma8(b) => Samples::U8(b.into_raw()),
        D::ImageLuma16(b) => Samples::U16(scale_sixteen(b.into_raw(), bits_stored).map_err(err)?),
        D::ImageLumaA16(_) | D::ImageRgb16(_) | D::ImageRgba16(_) => Samples::U16(scale_sixteen(img.to_luma16().into_raw(), bits_stored).map_err(err)?),
        D::ImageRgb32F(_) | D::ImageRgba32F(_) => {
            let g = crate::image_io::from_dynamic(&img, bits_stored).map_err(err)?;
            return LevelImage::from_gray(&g).map_err(err);
        }
        other => Samples::U8(other.to_luma8().into_raw()),
    };
    Ok(LevelImage { width, height, samples })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bit_scaling_is_exact_rounding() {
        assert_eq!(scale_sixteen(vec![0, 4095, 2048], Some(12)).unwrap(), vec![0, 65535, 32776]);
        assert_eq!(scale_sixteen(vec![7, 65535], None).unwrap(), vec![7, 65535]);
        assert!(scale_sixteen(vec![5000], Some(12)).unwrap_err().contains("exceeds 4095"));
    }

    #[test]
    fn reducing_to_eight_bits_rounds() {
        let img = LevelImage { width: 3, height: 1, samples: Samples::U16(vec![0, 128, 65535]) };
        assert_eq!(img.at_depth(Depth::Eight).samples, Samples::U8(vec![0, 0, 255]));
        let g = GrayImage { width: 2, height: 1, pixels: vec![0.5, 1.0], bit_depth: 8 };
        assert_eq!(LevelImage::from_gray(&g).unwrap().samples, Samples::U8(vec![128, 255]));
    }
}
