//! Decoding radiographs to grayscale in `[0, 1]`: JPEG, 8- and 16-bit PNG (colour reduced to
//! luma, alpha dropped) and DICOM (see [`crate::dicom`]).
//!
//! The one rule for 16-bit data: divide by `2^BitsStored − 1` when the bits stored are known (the
//! DICOM header, or the index for PNGs converted from DICOM such as PadChest's
//! `BitsStored_DICOM`), else by the format's range (65535; 255 for 8-bit data). A sample above
//! the stated range is an error naming the file, never clipped.

use crate::DataError;
use std::io::Read;
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

/// [`load_gray_hinted`] without a bits-stored hint.
///
/// # Errors
/// As [`load_gray_hinted`].
pub fn load_gray(path: &Path) -> Result<GrayImage, DataError> {
    load_gray_hinted(path, None)
}

/// Decode an image file and scale it to `[0, 1]` by the module's rule; `bits_stored` is the
/// index's statement for 16-bit PNGs (ignored for 8-bit data; DICOM files carry their own).
///
/// # Errors
/// [`DataError::Image`] naming the file when it cannot be opened or decoded (missing, truncated,
/// corrupt, an unsupported DICOM encoding), or holds samples outside the stated range.
pub fn load_gray_hinted(path: &Path, bits_stored: Option<u8>) -> Result<GrayImage, DataError> {
    match decode_raster(path)? {
        None => crate::dicom::load(path),
        Some(img) => from_dynamic(&img, bits_stored).map_err(|message| DataError::Image { path: path.to_path_buf(), message }),
    }
}

/// Decode a PNG or JPEG (format sniffed from the bytes), or `None` for a DICOM file, which has
/// its own decoder.
///
/// # Errors
/// [`DataError::Image`] naming the file.
pub(crate) fn decode_raster(path: &Path) -> Result<Option<image::DynamicImage>, DataError> {
    let err = |message: String| DataError::Image { path: path.to_path_buf(), message };
    let mut head = [0u8; 132];
    let n = {
        let mut f = fs_err::File::open(path).map_err(|e| err(e.to_string()))?;
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..]).map_err(|e| err(e.to_string()))? {
                0 => break,
                k => n += k,
            }
        }
        n
    };
    if n == 0 {
        return Err(err("empty file".into()));
    }
    if crate::dicom::is_dicom(path, &head[..n]) {
        return Ok(None);
    }
    let img = image::ImageReader::open(path).map_err(|e| err(e.to_string()))?.with_guessed_format().map_err(|e| err(e.to_string()))?.decode().map_err(|e| err(e.to_string()))?;
    Ok(Some(img))
}

/// The module's 16-bit rule, in one place for the float and the integer decoders: the top value
/// `2^bits − 1` for the bits stored (9–16; 16 when unknown), or an error naming the first sample
/// above it.
pub(crate) fn sixteen_bit_max(raw: &[u16], bits_stored: Option<u8>) -> Result<u32, String> {
    let bits = bits_stored.filter(|b| (9..=16).contains(b)).unwrap_or(16);
    let max = (1u32 << bits) - 1;
    if max < 65535
        && let Some(bad) = raw.iter().find(|&&v| u32::from(v) > max)
    {
        return Err(format!("16-bit sample {bad} exceeds {max}, the range of the {bits} bits stored"));
    }
    Ok(max)
}

pub(crate) fn from_dynamic(img: &image::DynamicImage, bits_stored: Option<u8>) -> Result<GrayImage, String> {
    use image::DynamicImage as D;
    let (width, height) = (img.width(), img.height());
    if width == 0 || height == 0 {
        return Err("empty image".into());
    }
    let sixteen = |raw: &[u16]| -> Result<Vec<f32>, String> {
        let max = sixteen_bit_max(raw, bits_stored)?;
        Ok(raw.iter().map(|&v| (f64::from(v) / f64::from(max)) as f32).collect())
    };
    let (pixels, bit_depth): (Vec<f32>, u8) = match img {
        D::ImageLuma8(b) => (b.as_raw().iter().map(|&v| f32::from(v) / 255.0).collect(), 8),
        D::ImageLuma16(b) => (sixteen(b.as_raw())?, 16),
        D::ImageLumaA16(_) | D::ImageRgb16(_) | D::ImageRgba16(_) => (sixteen(img.to_luma16().as_raw())?, 16),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bit_rule() {
        let img = image::DynamicImage::ImageLuma16(image::ImageBuffer::from_raw(2, 1, vec![0u16, 4095]).unwrap());
        assert_eq!(from_dynamic(&img, Some(12)).unwrap().pixels, vec![0.0, 1.0]);
        assert!((from_dynamic(&img, None).unwrap().pixels[1] - 4095.0 / 65535.0).abs() < 1e-7);
        let over = image::DynamicImage::ImageLuma16(image::ImageBuffer::from_raw(1, 1, vec![5000u16]).unwrap());
        assert!(from_dynamic(&over, Some(12)).unwrap_err().contains("exceeds 4095"));
        let rgba = image::DynamicImage::ImageRgba8(image::ImageBuffer::from_raw(1, 1, vec![255u8, 255, 255, 0]).unwrap());
        assert_eq!(from_dynamic(&rgba, None).unwrap().pixels, vec![1.0]);
    }
}
