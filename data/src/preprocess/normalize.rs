//! The last step: `[0, 1]` values to the model's input values, and the channel layout.

use cxr_core::{IMAGENET_GRAY, IMAGENET_MEAN, IMAGENET_STD, Normalization, PreprocessSpec};

/// Population mean and standard deviation, in `f64`.
fn mean_std(plane: &[f32]) -> (f64, f64) {
    let n = plane.len() as f64;
    let mean = plane.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = plane.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Normalize a `size × size` plane of `[0, 1]` values and lay it out as `[channels, size, size]`.
///
/// # Errors
/// Min-max or z-score of a constant image (no range to normalize by).
pub fn normalize(spec: &PreprocessSpec, plane: &[f32]) -> Result<Vec<f32>, String> {
    let ch = spec.channels as usize;
    // One affine map (scale, offset) per channel: x ↦ x · scale + offset.
    let maps: Vec<(f32, f32)> = match spec.normalization {
        Normalization::Standardize { mean, std } => vec![(1.0 / std, -mean / std); ch],
        Normalization::Imagenet if ch == 3 => IMAGENET_MEAN.iter().zip(IMAGENET_STD).map(|(&m, s)| (1.0 / s, -m / s)).collect(),
        Normalization::Imagenet => vec![(1.0 / IMAGENET_GRAY.1, -IMAGENET_GRAY.0 / IMAGENET_GRAY.1); ch],
        Normalization::Minmax => {
            let (lo, hi) = plane.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            if hi <= lo {
                return Err(format!("min-max normalization is undefined for a constant image (every value {lo})"));
            }
            vec![(1.0 / (hi - lo), -lo / (hi - lo)); ch]
        }
        Normalization::Zscore => {
            let (mean, std) = mean_std(plane);
            if std <= 1e-12 {
                return Err(format!("z-score normalization is undefined for a constant image (every value {mean})"));
            }
            vec![((1.0 / std) as f32, (-mean / std) as f32); ch]
        }
    };
    let mut out = Vec::with_capacity(plane.len() * ch);
    for (scale, offset) in maps {
        out.extend(plane.iter().map(|&v| v * scale + offset));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_normalization_against_its_definition() {
        let plane = [0.0f32, 0.25, 0.5, 1.0];
        let spec = |n, ch| PreprocessSpec { normalization: n, ..PreprocessSpec::default_for(2, ch) };
        let close = |a: &[f32], b: &[f32]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);

        let im = normalize(&spec(Normalization::Imagenet, 3), &plane).unwrap();
        let want: Vec<f32> = (0..3).flat_map(|c| plane.iter().map(move |v| (v - IMAGENET_MEAN[c]) / IMAGENET_STD[c])).collect();
        assert!(close(&im, &want), "{im:?}");
        let gray = normalize(&spec(Normalization::Imagenet, 1), &plane).unwrap();
        assert!(close(&gray, &plane.map(|v| (v - 0.449) / 0.226)));

        let mm = normalize(&spec(Normalization::Minmax, 1), &[0.2, 0.4, 0.6, 0.2]).unwrap();
        assert!(close(&mm, &[0.0, 0.5, 1.0, 0.0]), "{mm:?}");

        let z = normalize(&spec(Normalization::Zscore, 1), &plane).unwrap();
        let (m, s) = (0.4375f32, (((0.4375f32).powi(2) + 0.1875f32.powi(2) + 0.0625f32.powi(2) + 0.5625f32.powi(2)) / 4.0).sqrt());
        assert!(close(&z, &plane.map(|v| (v - m) / s)), "{z:?}");

        for n in [Normalization::Minmax, Normalization::Zscore] {
            assert!(normalize(&spec(n, 1), &[0.3; 4]).unwrap_err().contains("constant image"));
        }
        let st = normalize(&spec(Normalization::Standardize { mean: 0.5, std: 0.25 }, 3), &plane).unwrap();
        assert!(close(&st[8..], &[-2.0, -1.0, 0.0, 2.0]));
    }
}
