//! Decoding radiographs to grayscale in `[0, 1]` by their bit depth.

use crate::DataError;
use std::path::Path;

/// A decoded grayscale image, row-major, values in `[0, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct GrayImage {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Pixels.
    pub pixels: Vec<f32>,
    /// Bits per sample of the source (8 or 16; 32 for float sources).
    pub bit_depth: u8,
}

/// Decode an image file (PNG 8/16-bit, JPEG; colour is converted to luma, alpha dropped) and scale
/// it to `[0, 1]` by its bit depth (255 or 65535), as torchxrayvision does with `maxval`.
///
/// # Errors
/// [`DataError::Image`] naming the file when it cannot be opened or decoded, or holds pixels
/// outside the valid range.
pub fn load_gray(path: &Path) -> Result<GrayImage, DataError> {
    let err = |message: String| DataError::Image { path: path.to_path_buf(), message };
    let img = image::ImageReader::open(path)
        .map_err(|e| err(e.to_string()))?
        .with_guessed_format()
        .map_err(|e| err(e.to_string()))?
        .decode()
        .map_err(|e| err(e.to_string()))?;
    from_dynamic(&img).map_err(err)
}

pub(crate) fn from_dynamic(img: &image::DynamicImage) -> Result<GrayImage, String> {
    use image::DynamicImage as D;
    let (width, height) = (img.width(), img.height());
    if width == 0 || height == 0 {
        return Err("empty image".into());
    }
    let (pixels, bit_depth): (Vec<f32>, u8) = match img {
        D::ImageLuma8(b) => (b.as_raw().iter().map(|&v| f32::from(v) / 255.0).collect(), 8),
        D::ImageLuma16(b) => (b.as_raw().iter().map(|&v| f32::from(v) / 65535.0).collect(), 16),
        D::ImageLumaA16(_) | D::ImageRgb16(_) | D::ImageRgba16(_) => {
            (img.to_luma16().as_raw().iter().map(|&v| f32::from(v) / 65535.0).collect(), 16)
        }
        D::ImageRgb32F(_) | D::ImageRgba32F(_) => {
            let v: Vec<f32> = img.to_luma32f().into_raw();
            if let Some(bad) = v.iter().find(|x| !(0.0..=1.0).contains(*x)) {
                return Err(format!("float pixel {bad} outside [0, 1]"));
            }
            (v, 32)
        }
        _ => (img.to_luma8().as_raw().iter().map(|&v| f32::from(v) / 255.0).collect(), 8),
    };
    Ok(GrayImage { width, height, pixels, bit_depth })
}
