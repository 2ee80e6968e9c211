//! Preprocessing settings: stored in the model card, read by training and evaluation alike.
//!
//! The pipeline they describe, in order (implemented once, in `cxr_data::preprocess`):
//!
//! 1. decode to `[0, 1]` at the source's depth (8-bit: 255 levels; 16-bit and DICOM: 65535
//!    levels after scaling by the bits stored), or reduce to 8 bits first when `depth = "8bit"`;
//! 2. ROI crop ([`RoiCrop`], optional) on the full-resolution image;
//! 3. aspect handling ([`Aspect`]) and the resize to `size × size` with [`ResizeFilter`], rounded
//!    to the working depth's integer levels (as PIL does for an 8-bit image);
//! 4. an intensity mapping on those levels ([`Intensity`]: none, CLAHE, or histogram
//!    standardization with landmarks learned on the training set);
//! 5. [`Normalization`] to the model's input values, and the channel layout.
//!
//! Steps 1–4 give an integer image that the HDF5 cache stores; [`PreprocessSpec::cache_key`]
//! hashes exactly the settings of those steps.

use serde::{Deserialize, Serialize};

/// Resampling filter for the resize to the model's input size (PIL's convolution filters, with
/// the support widened by the scale factor when downsampling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResizeFilter {
    /// Bilinear (PIL's `BILINEAR`, what torchvision's `Resize` uses).
    Bilinear,
    /// Nearest neighbour.
    Nearest,
    /// Box / area averaging (PIL's `BOX`).
    Box,
    /// Bicubic (PIL's `BICUBIC`, a = −0.5).
    Bicubic,
    /// Lanczos with three lobes (PIL's `LANCZOS`).
    Lanczos3,
}

/// How a non-square image becomes square before the resize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Aspect {
    /// Resize each side independently (distorts a non-square image).
    #[default]
    Stretch,
    /// Pad the short side with black, centred, to a square (keeps everything, keeps proportions).
    Pad,
    /// Crop the long side, centred, to a square (keeps proportions, loses the edges).
    Crop,
}

/// How the ROI crop sets its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RoiMode {
    /// `dark` and `bright` as given.
    #[default]
    Fixed,
    /// From the image's own histogram: Otsu's threshold `t` gives `dark = t / 2` and
    /// `bright = (1 + t) / 2` (the midpoints between the two classes and black or white), so an
    /// under- or over-exposed film keeps its body.
    Adaptive,
}

/// Removal of black borders, padding and collimation.
///
/// The rule: a pixel is *content* when `dark < v < bright` (black padding and burnt-in borders
/// fall below, unexposed collimated areas above). Rows and then columns are trimmed from each edge
/// inward while less than `min_content` of their pixels are content. The remaining box must cover
/// at least `min_area` of the image, else the image is refused ("finds no body").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoiCrop {
    /// Threshold source.
    #[serde(default)]
    pub mode: RoiMode,
    /// Values at or below are background (fixed mode).
    #[serde(default = "roi_dark")]
    pub dark: f32,
    /// Values at or above are background (fixed mode).
    #[serde(default = "roi_bright")]
    pub bright: f32,
    /// A border row or column is kept once this fraction of its pixels is content.
    #[serde(default = "roi_min_content")]
    pub min_content: f32,
    /// The smallest acceptable box, as a fraction of the image area.
    #[serde(default = "roi_min_area")]
    pub min_area: f32,
}

fn roi_dark() -> f32 {
    0.04
}
fn roi_bright() -> f32 {
    0.96
}
fn roi_min_content() -> f32 {
    0.05
}
fn roi_min_area() -> f32 {
    0.2
}

impl RoiCrop {
    /// The defaults for `mode`.
    #[must_use]
    pub fn new(mode: RoiMode) -> Self {
        Self { mode, dark: roi_dark(), bright: roi_bright(), min_content: roi_min_content(), min_area: roi_min_area() }
    }
}

/// The percentiles whose values are the histogram-standardization landmarks (Nyúl & Udupa's
/// deciles between the 1st and 99th percentiles).
pub const HISTOGRAM_PERCENTILES: [f32; 11] = [1.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 99.0];

/// An intensity mapping on the resized integer image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Intensity {
    /// None.
    #[default]
    None,
    /// Contrast-limited adaptive histogram equalization, OpenCV's `createCLAHE` on the working
    /// depth's levels (256 bins for 8-bit, 65536 for 16-bit).
    Clahe {
        /// Tiles across and down (OpenCV's `tileGridSize`).
        #[serde(default = "clahe_tiles")]
        tiles: [u32; 2],
        /// OpenCV's `clipLimit` (a multiple of the mean bin count).
        #[serde(default = "clahe_clip")]
        clip_limit: f32,
    },
    /// Histogram standardization (Nyúl & Udupa 1999): each image's [`HISTOGRAM_PERCENTILES`] are
    /// mapped piecewise-linearly onto `landmarks`, the mean landmarks of the training set on a
    /// `[0, 1]` scale; the result is clamped to `[0, 1]`.
    Histogram {
        /// Learned by training (absent in a config, present in every card).
        #[serde(default)]
        landmarks: Option<[f32; 11]>,
    },
}

fn clahe_tiles() -> [u32; 2] {
    [8, 8]
}
fn clahe_clip() -> f32 {
    2.0
}

impl Intensity {
    /// CLAHE with OpenCV's usual settings (8 × 8 tiles, clip limit 2).
    #[must_use]
    pub fn clahe_default() -> Self {
        Self::Clahe { tiles: clahe_tiles(), clip_limit: clahe_clip() }
    }
}

/// The working depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Depth {
    /// The source's own: 8-bit images at 255 levels, 16-bit images (PNG, DICOM) at 65535.
    #[default]
    #[serde(rename = "native")]
    Native,
    /// Every image reduced to 8 bits, `round(v · 255)` (the stated conversion rule for 16-bit
    /// data).
    #[serde(rename = "8bit")]
    Eight,
}

/// The run-directory file in which training records a spec completed from the training set
/// (histogram landmarks): `{"spec": PreprocessSpec, "fit": …}`. Export puts its `spec` in the card.
pub const PREPROCESS_FIT_FILE: &str = "preprocess_fit.json";

/// ImageNet's per-channel mean (RGB).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet's per-channel standard deviation (RGB).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];
/// The single-channel form (the channel means, as timm does for `in_chans = 1`).
pub const IMAGENET_GRAY: (f32, f32) = (0.449, 0.226);

/// Intensity normalization of the `[0, 1]` image into the model's input values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Normalization {
    /// `(x − mean) / std` with one mean and std for every channel.
    Standardize {
        /// Mean subtracted.
        mean: f32,
        /// Standard deviation divided by.
        std: f32,
    },
    /// ImageNet's statistics: per channel for 3 channels (the gray value replicated), their
    /// channel means ([`IMAGENET_GRAY`]) for 1 channel.
    Imagenet,
    /// Per image, `(x − min) / (max − min)` to `[0, 1]`; a constant image is refused.
    Minmax,
    /// Per image, `(x − mean) / std` (population std); a constant image is refused.
    Zscore,
}

/// Everything needed to turn a decoded image into the model's input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreprocessSpec {
    /// Output side length (square input).
    pub size: u32,
    /// Input channels, 1 (grayscale) or 3 (the gray value repeated).
    pub channels: u32,
    /// Resampling filter.
    pub filter: ResizeFilter,
    /// Intensity normalization.
    pub normalization: Normalization,
    /// Aspect handling before the resize.
    #[serde(default)]
    pub aspect: Aspect,
    /// ROI crop before everything else.
    #[serde(default)]
    pub roi: Option<RoiCrop>,
    /// Intensity mapping after the resize.
    #[serde(default)]
    pub intensity: Intensity,
    /// Working depth.
    #[serde(default)]
    pub depth: Depth,
}

/// The settings of the cached stages (everything but normalization and channels).
#[derive(Serialize)]
struct CacheKey<'a> {
    size: u32,
    filter: ResizeFilter,
    aspect: Aspect,
    roi: &'a Option<RoiCrop>,
    intensity: &'a Intensity,
    depth: Depth,
}

impl PreprocessSpec {
    /// The default for a given size and channel count: bilinear, stretched, standardized with
    /// mean 0.5 and std 0.25 (maps `[0, 1]` to `[-2, 2]`).
    #[must_use]
    pub fn default_for(size: u32, channels: u32) -> Self {
        Self {
            size,
            channels,
            filter: ResizeFilter::Bilinear,
            normalization: Normalization::Standardize { mean: 0.5, std: 0.25 },
            aspect: Aspect::Stretch,
            roi: None,
            intensity: Intensity::None,
            depth: Depth::Native,
        }
    }

    /// BLAKE3 (hex) of the settings of the stages an HDF5 cache stores: size, filter, aspect, ROI,
    /// intensity mapping (with its landmarks) and depth. Two specs that differ only in
    /// normalization or channels share a cache.
    #[must_use]
    pub fn cache_key(&self) -> String {
        let key = CacheKey { size: self.size, filter: self.filter, aspect: self.aspect, roi: &self.roi, intensity: &self.intensity, depth: self.depth };
        blake3::hash(serde_json::to_string(&key).unwrap_or_default().as_bytes()).to_hex().to_string()
    }

    /// Whether training must learn something from its training set first (histogram landmarks).
    #[must_use]
    pub fn needs_fitting(&self) -> bool {
        matches!(self.intensity, Intensity::Histogram { landmarks: None })
    }

    /// Check the values a config can get wrong.
    ///
    /// # Errors
    /// A message naming the field.
    pub fn validate(&self) -> Result<(), String> {
        if !(16..=8192).contains(&self.size) {
            return Err(format!("preprocess size must be in 16..=8192, got {}", self.size));
        }
        if self.channels != 1 && self.channels != 3 {
            return Err(format!("preprocess channels must be 1 or 3, got {}", self.channels));
        }
        if let Normalization::Standardize { std, .. } = self.normalization
            && std.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
        {
            return Err(format!("preprocess.normalization.std must be positive, got {std}"));
        }
        if let Some(r) = self.roi {
            let frac = |v: f32| (0.0..=1.0).contains(&v);
            if !(frac(r.dark) && frac(r.bright) && r.dark < r.bright) {
                return Err(format!("preprocess.roi needs 0 <= dark < bright <= 1, got dark {} and bright {}", r.dark, r.bright));
            }
            if !(r.min_content > 0.0 && r.min_content <= 1.0) || !(r.min_area > 0.0 && r.min_area <= 1.0) {
                return Err(format!("preprocess.roi.min_content and min_area must be in (0, 1], got {} and {}", r.min_content, r.min_area));
            }
        }
        match self.intensity {
            Intensity::Clahe { tiles, clip_limit } => {
                if tiles.iter().any(|&t| t == 0 || t > self.size) {
                    return Err(format!("preprocess.intensity.tiles must be in 1..={} (the size), got {tiles:?}", self.size));
                }
                if !(clip_limit.is_finite() && clip_limit > 0.0) {
                    return Err(format!("preprocess.intensity.clip_limit must be positive, got {clip_limit}"));
                }
            }
            Intensity::Histogram { landmarks: Some(l) } => {
                if l.iter().any(|v| !(0.0..=1.0).contains(v)) || l.windows(2).any(|w| w[1] < w[0]) || l[10] <= l[0] {
                    return Err(format!("preprocess.intensity.landmarks must rise within [0, 1], got {l:?}"));
                }
            }
            Intensity::None | Intensity::Histogram { landmarks: None } => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_written_before_the_strategies_reads_as_the_old_pipeline() {
        let old = r#"{"size":224,"channels":3,"filter":"bilinear","normalization":{"kind":"standardize","mean":0.5,"std":0.25}}"#;
        let spec: PreprocessSpec = serde_json::from_str(old).unwrap();
        assert_eq!(spec, PreprocessSpec::default_for(224, 3));
    }

    #[test]
    fn cache_key_ignores_normalization_and_channels_only() {
        let a = PreprocessSpec::default_for(224, 3);
        let b = PreprocessSpec { channels: 1, normalization: Normalization::Zscore, ..a };
        assert_eq!(a.cache_key(), b.cache_key());
        for c in [
            PreprocessSpec { size: 256, ..a },
            PreprocessSpec { filter: ResizeFilter::Bicubic, ..a },
            PreprocessSpec { aspect: Aspect::Pad, ..a },
            PreprocessSpec { roi: Some(RoiCrop::new(RoiMode::Fixed)), ..a },
            PreprocessSpec { intensity: Intensity::clahe_default(), ..a },
            PreprocessSpec { depth: Depth::Eight, ..a },
        ] {
            assert_ne!(a.cache_key(), c.cache_key(), "{c:?}");
        }
    }

    #[test]
    fn validation_names_the_field() {
        let a = PreprocessSpec::default_for(224, 3);
        let bad = |s: PreprocessSpec, what: &str| assert!(s.validate().unwrap_err().contains(what), "{s:?}");
        bad(PreprocessSpec { intensity: Intensity::Clahe { tiles: [0, 8], clip_limit: 2.0 }, ..a }, "tiles");
        bad(PreprocessSpec { intensity: Intensity::Clahe { tiles: [8, 8], clip_limit: 0.0 }, ..a }, "clip_limit");
        bad(PreprocessSpec { roi: Some(RoiCrop { dark: 0.9, bright: 0.1, ..RoiCrop::new(RoiMode::Fixed) }), ..a }, "dark < bright");
        let mut l = [0.0; 11];
        l[3] = 0.5;
        bad(PreprocessSpec { intensity: Intensity::Histogram { landmarks: Some(l) }, ..a }, "landmarks");
        bad(PreprocessSpec { size: 8, ..a }, "size");
        assert!(a.validate().is_ok());
    }
}
