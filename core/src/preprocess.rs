//! Preprocessing settings: stored in the model card, read by training and evaluation alike.

use serde::{Deserialize, Serialize};

/// Resampling filter for the resize to the model's input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResizeFilter {
    /// Bilinear (PIL's `BILINEAR`, what torchvision's `Resize` uses).
    Bilinear,
    /// Nearest neighbour.
    Nearest,
}

/// Intensity normalization applied after scaling pixels to `[0, 1]` by the image's bit depth.
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
}

/// Everything needed to turn a decoded image into the model's input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreprocessSpec {
    /// Output side length (square input; the image is resized to `size × size`).
    pub size: u32,
    /// Input channels, 1 (grayscale) or 3 (the gray value repeated).
    pub channels: u32,
    /// Resampling filter.
    pub filter: ResizeFilter,
    /// Intensity normalization.
    pub normalization: Normalization,
}

impl PreprocessSpec {
    /// The default for a given size and channel count: bilinear, standardized with mean 0.5 and
    /// std 0.25 (maps `[0, 1]` to `[-2, 2]`).
    #[must_use]
    pub fn default_for(size: u32, channels: u32) -> Self {
        Self {
            size,
            channels,
            filter: ResizeFilter::Bilinear,
            normalization: Normalization::Standardize { mean: 0.5, std: 0.25 },
        }
    }
}
