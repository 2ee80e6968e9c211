//! Working depth, aspect handling and the resize: from a decoded `[0, 1]` image to the
//! `size × size` integer image at the working depth.
//!
//! The image arrives at its working levels (8-bit: 255, 16-bit: 65535) and is resized as
//! integers with fast_image_resize's convolution (PIL's algorithm), so an 8-bit image resizes as
//! PIL resizes an `L` image: within ±1 grey level (tested against PIL fixtures).

use super::levels::{LevelImage, Samples};
use cxr_core::{Aspect, PreprocessSpec, ResizeFilter};
use fast_image_resize::images::{TypedImage, TypedImageRef};
use fast_image_resize::pixels::{U8, U16};
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};

/// The integer image the cached stages produce: `size × size` values in `0..=levels`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Side length.
    pub size: u32,
    /// The working depth's top level: 255 or 65535.
    pub levels: u16,
    /// Row-major values.
    pub pixels: Vec<u16>,
}

impl Prepared {
    /// Values scaled to `[0, 1]`.
    #[must_use]
    pub fn to_unit(&self) -> Vec<f32> {
        let inv = 1.0 / f32::from(self.levels);
        self.pixels.iter().map(|&v| f32::from(v) * inv).collect()
    }
}

fn alg(filter: ResizeFilter) -> ResizeAlg {
    match filter {
        ResizeFilter::Nearest => ResizeAlg::Nearest,
        ResizeFilter::Bilinear => ResizeAlg::Convolution(FilterType::Bilinear),
        ResizeFilter::Box => ResizeAlg::Convolution(FilterType::Box),
        // PIL's bicubic is Keys' cubic with a = −0.5, i.e. Catmull-Rom.
        ResizeFilter::Bicubic => ResizeAlg::Convolution(FilterType::CatmullRom),
        ResizeFilter::Lanczos3 => ResizeAlg::Convolution(FilterType::Lanczos3),
    }
}

/// A centred square: the crop of the long side or the black padding of the short side.
fn squared<T: Copy + Default>(q: Vec<T>, w: u32, h: u32, aspect: Aspect) -> (Vec<T>, u32, u32) {
    match aspect {
        Aspect::Stretch => (q, w, h),
        _ if w == h => (q, w, h),
        // Copied out rather than fast_image_resize's crop option, whose kernels reach past the
        // crop box; PIL's `crop().resize()` (and ours) treat the crop's edges as the image's.
        Aspect::Crop => {
            let side = w.min(h);
            let (ox, oy) = (((w - side) / 2) as usize, ((h - side) / 2) as usize);
            let s = side as usize;
            let out = q.chunks_exact(w as usize).skip(oy).take(s).flat_map(|row| &row[ox..ox + s]).copied().collect();
            (out, side, side)
        }
        Aspect::Pad => {
            let side = w.max(h);
            let (ox, oy) = ((side - w) / 2, (side - h) / 2);
            let mut out = vec![T::default(); (side * side) as usize];
            for (y, row) in q.chunks_exact(w as usize).enumerate() {
                let start = ((y as u32 + oy) * side + ox) as usize;
                out[start..start + w as usize].copy_from_slice(row);
            }
            (out, side, side)
        }
    }
}

/// Apply the aspect rule and resize to `spec.size²` at the image's working depth.
///
/// # Errors
/// A resize failure (message from fast_image_resize).
pub fn resize_to_levels(spec: &PreprocessSpec, img: LevelImage) -> Result<Prepared, String> {
    let levels = img.levels();
    let size = spec.size;
    let opts = ResizeOptions::new().resize_alg(alg(spec.filter));
    let (w0, h0) = (img.width, img.height);
    let pixels = match img.samples {
        Samples::U8(q) => {
            let (q, w, h) = squared(q, w0, h0, spec.aspect);
            if w == size && h == size {
                q.iter().map(|&v| u16::from(v)).collect()
            } else {
                let src = TypedImageRef::<U8>::from_buffer(w, h, &q).map_err(|e| e.to_string())?;
                let mut dst = TypedImage::<U8>::new(size, size);
                Resizer::new().resize_typed(&src, &mut dst, &opts).map_err(|e| e.to_string())?;
                dst.pixels().iter().map(|p| u16::from(p.0)).collect()
            }
        }
        Samples::U16(q) => {
            let (q, w, h) = squared(q, w0, h0, spec.aspect);
            if w == size && h == size {
                q
            } else {
                // A byte view of the samples, not a copy (10 MB for a 5-megapixel film).
                let src = TypedImageRef::<U16>::from_buffer(w, h, bytemuck::cast_slice(&q)).map_err(|e| e.to_string())?;
                let mut dst = TypedImage::<U16>::new(size, size);
                Resizer::new().resize_typed(&src, &mut dst, &opts).map_err(|e| e.to_string())?;
                dst.pixels().iter().map(|p| p.0).collect()
            }
        }
    };
    Ok(Prepared { size, levels, pixels })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxr_core::Depth;

    fn img(w: u32, h: u32, f: impl Fn(u32, u32) -> f32, bit_depth: u8) -> LevelImage {
        let pixels = (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).map(|(x, y)| f(x, y)).collect();
        LevelImage::from_gray(&crate::GrayImage { width: w, height: h, pixels, bit_depth }).unwrap()
    }

    #[test]
    fn pad_keeps_proportions_and_crop_keeps_the_centre() {
        // A 40 × 20 white image: padded to 40 × 40, the top and bottom quarters are black.
        let white = img(40, 20, |_, _| 1.0, 8);
        let spec = PreprocessSpec { aspect: Aspect::Pad, filter: ResizeFilter::Nearest, ..PreprocessSpec::default_for(20, 1) };
        let p = resize_to_levels(&spec, white).unwrap();
        let row = |y: usize| &p.pixels[y * 20..(y + 1) * 20];
        assert!(row(0).iter().all(|&v| v == 0) && row(4).iter().all(|&v| v == 0));
        assert!(row(5).iter().all(|&v| v == 255) && row(14).iter().all(|&v| v == 255));
        assert!(row(15).iter().all(|&v| v == 0));
        // Cropped, a left-to-right split image keeps only its centre columns 10..30.
        let split = img(40, 20, |x, _| if x < 10 || x >= 30 { 0.0 } else { 1.0 }, 8);
        let spec = PreprocessSpec { aspect: Aspect::Crop, ..spec };
        assert!(resize_to_levels(&spec, split.clone()).unwrap().pixels.iter().all(|&v| v == 255));
        let spec = PreprocessSpec { aspect: Aspect::Stretch, ..spec };
        assert!(resize_to_levels(&spec, split).unwrap().pixels.contains(&0));
    }

    #[test]
    fn depth_follows_the_source_unless_reduced() {
        let ramp = img(64, 64, |x, _| x as f32 / 63.0, 16);
        let spec = PreprocessSpec::default_for(32, 1);
        let p = resize_to_levels(&spec, ramp.clone()).unwrap();
        assert_eq!(p.levels, 65535);
        assert!(p.pixels.iter().any(|&v| v > 255 && v < 65535));
        let p8 = resize_to_levels(&spec, ramp.at_depth(Depth::Eight)).unwrap();
        assert_eq!(p8.levels, 255);
        for (a, b) in p.to_unit().iter().zip(p8.to_unit()) {
            assert!((a - b).abs() <= 1.0 / 255.0, "{a} {b}");
        }
    }

    #[test]
    fn every_filter_keeps_a_flat_image_flat() {
        let flat = img(37, 23, |_, _| 100.0 / 255.0, 8);
        for f in [ResizeFilter::Bilinear, ResizeFilter::Nearest, ResizeFilter::Box, ResizeFilter::Bicubic, ResizeFilter::Lanczos3] {
            let p = resize_to_levels(&PreprocessSpec { filter: f, ..PreprocessSpec::default_for(16, 1) }, flat.clone()).unwrap();
            assert!(p.pixels.iter().all(|&v| v == 100), "{f:?}");
        }
    }
}
