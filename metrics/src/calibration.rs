//! Calibration of P(y = 1) (methods.md §5.4): ECE with 15 equal-width bins in torchmetrics'
//! convention, the Brier score, and reliability-diagram data in scikit-learn's
//! `calibration_curve(strategy="uniform")` convention.
//!
//! The two bin conventions differ on purpose, each matching its reference: ECE bins are
//! `[b/k, (b+1)/k)` with p = 1 in an extra bin (`torch.bucketize(right=True) − 1`); reliability
//! bins are `(b/k, (b+1)/k]` with p = 0 in the first (`np.searchsorted` on the inner edges), and
//! empty bins are dropped.

use serde::Serialize;

fn check(probs: &[f64], positive: &[bool]) -> Option<()> {
    assert_eq!(probs.len(), positive.len(), "probabilities and labels must have the same length");
    (!probs.is_empty() && probs.iter().all(|p| (0.0..=1.0).contains(p))).then_some(())
}

/// Expected calibration error, Σ_b (n_b/N)·|ȳ_b − p̄_b| over `bins` equal-width bins (15 in the
/// study). `None` for no data or a probability outside [0, 1] (including NaN).
#[must_use]
pub fn ece(probs: &[f64], positive: &[bool], bins: usize) -> Option<f64> {
    check(probs, positive)?;
    let mut sum_p = vec![0.0; bins + 1];
    let mut sum_y = vec![0.0; bins + 1];
    let mut n = vec![0usize; bins + 1];
    for (&p, &y) in probs.iter().zip(positive) {
        // Largest edge index i with edge_i ≤ p (edges b/bins), i.e. bucketize(right=True) − 1.
        let mut b = (p * bins as f64).floor() as usize;
        while b > 0 && b as f64 / bins as f64 > p {
            b -= 1;
        }
        while b < bins && (b + 1) as f64 / bins as f64 <= p {
            b += 1;
        }
        sum_p[b] += p;
        sum_y[b] += f64::from(u8::from(y));
        n[b] += 1;
    }
    let total = probs.len() as f64;
    Some((0..=bins).filter(|&b| n[b] > 0).map(|b| n[b] as f64 / total * (sum_y[b] / n[b] as f64 - sum_p[b] / n[b] as f64).abs()).sum())
}

/// Brier score, mean((p − y)²). `None` for no data or a probability outside [0, 1].
#[must_use]
pub fn brier(probs: &[f64], positive: &[bool]) -> Option<f64> {
    check(probs, positive)?;
    Some(probs.iter().zip(positive).map(|(&p, &y)| (p - f64::from(u8::from(y))).powi(2)).sum::<f64>() / probs.len() as f64)
}

/// One non-empty bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReliabilityBin {
    /// Bin index (0-based, of `bins`).
    pub bin: usize,
    /// Images in the bin.
    pub count: usize,
    /// Mean predicted probability.
    pub mean_predicted: f64,
    /// Observed fraction of positives.
    pub fraction_positive: f64,
}

/// Reliability-diagram data: the non-empty bins of `bins` equal-width bins.
#[must_use]
pub fn reliability(probs: &[f64], positive: &[bool], bins: usize) -> Option<Vec<ReliabilityBin>> {
    check(probs, positive)?;
    let mut acc = vec![(0usize, 0.0, 0.0); bins];
    for (&p, &y) in probs.iter().zip(positive) {
        // Number of inner edges strictly below p (np.searchsorted, side="left").
        let b = (1..bins).filter(|&e| (e as f64 / bins as f64) < p).count();
        acc[b].0 += 1;
        acc[b].1 += p;
        acc[b].2 += f64::from(u8::from(y));
    }
    Some(
        acc.iter()
            .enumerate()
            .filter(|(_, a)| a.0 > 0)
            .map(|(bin, &(count, sp, sy))| ReliabilityBin { bin, count, mean_predicted: sp / count as f64, fraction_positive: sy / count as f64 })
            .collect(),
    )
}
