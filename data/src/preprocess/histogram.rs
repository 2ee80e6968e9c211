//! Histogram standardization (Nyúl & Udupa, "On standardizing the MR image intensity scale",
//! 1999): an image's landmarks are its [`HISTOGRAM_PERCENTILES`]; training learns the standard
//! landmarks as the mean, over the training images, of each image's landmarks rescaled so that
//! its 1st percentile is 0 and its 99th is 1; every image (training or external) is then mapped
//! piecewise-linearly from its own landmarks onto the standard ones, with the end segments
//! extended, and clamped to `[0, 1]`.

use cxr_core::HISTOGRAM_PERCENTILES;

/// The landmarks of integer pixels in `0..=levels`, as values in `[0, 1]` (linear interpolation
/// between order statistics, NumPy's default `percentile` method).
#[must_use]
pub fn landmarks_of(pixels: &[u16], levels: u16) -> [f32; 11] {
    let mut hist = vec![0usize; usize::from(levels) + 1];
    for &v in pixels {
        hist[usize::from(v)] += 1;
    }
    let n = pixels.len();
    // The k-th smallest value (0-based), scanning the cumulative histogram forward.
    let (mut bin, mut below) = (0usize, 0usize);
    let mut kth = |k: usize| -> f64 {
        while below + hist[bin] <= k {
            below += hist[bin];
            bin += 1;
        }
        bin as f64
    };
    let mut out = [0.0f32; 11];
    for (o, p) in out.iter_mut().zip(HISTOGRAM_PERCENTILES) {
        let rank = f64::from(p) / 100.0 * (n - 1) as f64;
        let (lo, frac) = (rank.floor() as usize, rank - rank.floor());
        let a = kth(lo);
        let b = if frac > 0.0 { kth(lo + 1) } else { a };
        *o = ((a + (b - a) * frac) / f64::from(levels)) as f32;
    }
    out
}

/// An image's landmarks rescaled to its 1st–99th percentile range, or `None` when that range is
/// empty (a constant image has no scale to learn from).
#[must_use]
fn unit_landmarks(landmarks: &[f32; 11]) -> Option<[f32; 11]> {
    let span = landmarks[10] - landmarks[0];
    (span > 0.0).then(|| landmarks.map(|m| (m - landmarks[0]) / span))
}

/// Map `pixels` (values in `0..=levels`) from their own landmarks onto `standard`, in place.
///
/// # Errors
/// A constant image (1st and 99th percentiles equal): standardization is undefined for it.
pub fn standardize(pixels: &mut [u16], levels: u16, standard: &[f32; 11]) -> Result<(), String> {
    let own = landmarks_of(pixels, levels);
    if own[10] <= own[0] {
        return Err(format!("histogram standardization is undefined for this image: its 1st and 99th percentiles are equal ({})", own[0]));
    }
    // Knots with strictly increasing source values (tied landmarks share the mean target).
    let mut knots: Vec<(f32, f32, u32)> = Vec::with_capacity(11);
    for (&s, &t) in own.iter().zip(standard) {
        match knots.last_mut() {
            Some(k) if k.0 == s => {
                k.1 += t;
                k.2 += 1;
            }
            _ => knots.push((s, t, 1)),
        }
    }
    let knots: Vec<(f32, f32)> = knots.into_iter().map(|(s, t, c)| (s, t / c as f32)).collect();
    let seg = |i: usize, v: f32| {
        let ((s0, t0), (s1, t1)) = (knots[i], knots[i + 1]);
        t0 + (v - s0) * (t1 - t0) / (s1 - s0)
    };
    let scale = f32::from(levels);
    let lut: Vec<u16> = (0..=levels)
        .map(|q| {
            let v = f32::from(q) / scale;
            let i = knots.partition_point(|k| k.0 <= v).saturating_sub(1).min(knots.len() - 2);
            (seg(i, v).clamp(0.0, 1.0) * scale).round() as u16
        })
        .collect();
    for p in pixels.iter_mut() {
        *p = lut[usize::from(*p)];
    }
    Ok(())
}

/// Accumulates the standard landmarks over training images.
#[derive(Debug, Clone, Default)]
pub struct LandmarkFit {
    sum: [f64; 11],
    images: usize,
}

impl LandmarkFit {
    /// Add one image's landmarks; `false` when the image is constant and cannot contribute.
    pub fn add(&mut self, landmarks: &[f32; 11]) -> bool {
        let Some(u) = unit_landmarks(landmarks) else { return false };
        for (s, v) in self.sum.iter_mut().zip(u) {
            *s += f64::from(v);
        }
        self.images += 1;
        true
    }

    /// Merge another accumulator (for parallel fitting).
    #[must_use]
    pub fn merge(mut self, other: &Self) -> Self {
        for (s, o) in self.sum.iter_mut().zip(other.sum) {
            *s += o;
        }
        self.images += other.images;
        self
    }

    /// Images that contributed.
    #[must_use]
    pub fn images(&self) -> usize {
        self.images
    }

    /// The standard landmarks (`None` before any image contributed).
    #[must_use]
    pub fn landmarks(&self) -> Option<[f32; 11]> {
        (self.images > 0).then(|| self.sum.map(|s| (s / self.images as f64) as f32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landmarks_match_numpy_percentiles() {
        // np.percentile(np.arange(101), [1, 10, ..., 99]) = the percentiles themselves.
        let px: Vec<u16> = (0..=100).collect();
        let l = landmarks_of(&px, 100);
        for (v, p) in l.iter().zip(HISTOGRAM_PERCENTILES) {
            assert!((v - p / 100.0).abs() < 1e-6, "{v} {p}");
        }
        // Interpolated ranks: np.percentile([0, 10], 1) = 0.1.
        assert!((landmarks_of(&[0, 10], 255)[0] - 0.1 / 255.0).abs() < 1e-7);
    }

    #[test]
    fn standardization_maps_own_landmarks_onto_the_standard_ones() {
        // A dark low-contrast image (values 20..=59) onto a standard scale that is linear in [0, 1].
        let mut px: Vec<u16> = (0..4000).map(|i| 20 + (i % 40) as u16).collect();
        let standard: [f32; 11] = HISTOGRAM_PERCENTILES.map(|p| (p - 1.0) / 98.0);
        standardize(&mut px, 255, &standard).unwrap();
        let after = landmarks_of(&px, 255);
        for (a, s) in after.iter().zip(standard) {
            assert!((a - s).abs() < 2.0 / 255.0 + 0.03, "{after:?}");
        }
        let mut flat = vec![7u16; 100];
        assert!(standardize(&mut flat, 255, &standard).unwrap_err().contains("percentiles are equal"));
    }

    #[test]
    fn fit_averages_unit_landmarks_and_skips_constant_images() {
        let mut fit = LandmarkFit::default();
        let a = HISTOGRAM_PERCENTILES.map(|p| 0.2 + 0.004 * p);
        let b = HISTOGRAM_PERCENTILES.map(|p| 0.1 + 0.002 * p);
        assert!(fit.add(&a) && fit.add(&b) && !fit.add(&[0.3; 11]));
        let l = fit.landmarks().unwrap();
        assert_eq!(fit.images(), 2);
        assert!(l[0].abs() < 1e-6 && (l[10] - 1.0).abs() < 1e-6 && (l[5] - 49.0 / 98.0).abs() < 1e-5, "{l:?}");
    }
}
