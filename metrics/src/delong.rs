//! DeLong's AUROC variance, fast O(N log N) form (Sun & Xu 2014; methods.md §5.1).
//!
//! With m positives and n negatives: T_z midranks of all scores, T_x within positives, T_y within
//! negatives; AUC = Σ_pos T_z/(m·n) − (m+1)/(2n); V₁₀,i = (T_z,i − T_x,i)/n for positives,
//! V₀₁,j = 1 − (T_z,j − T_y,j)/m for negatives; Var = S₁₀/m + S₀₁/n with sample variances
//! (ddof = 1). The 95% interval is AUC ± 1.96·√Var, clipped to [0, 1].

use crate::class_counts;
use crate::ranks::midranks;
use serde::Serialize;

/// An AUROC with its DeLong variance and 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DelongAuc {
    /// AUROC.
    pub auc: f64,
    /// DeLong variance.
    pub variance: f64,
    /// Lower end of the 95% interval.
    pub ci_low: f64,
    /// Upper end of the 95% interval.
    pub ci_high: f64,
}

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

fn sample_var(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (v.len() - 1) as f64
}

/// DeLong AUROC and 95% interval; `None` when a class is absent or a score is NaN.
#[must_use]
pub fn delong(scores: &[f64], positive: &[bool]) -> Option<DelongAuc> {
    let (m, n) = class_counts(scores, positive)?;
    let pos: Vec<f64> = scores.iter().zip(positive).filter(|(_, p)| **p).map(|(s, _)| *s).collect();
    let neg: Vec<f64> = scores.iter().zip(positive).filter(|(_, p)| !**p).map(|(s, _)| *s).collect();
    let all: Vec<f64> = pos.iter().chain(&neg).copied().collect();
    let (tz, tx, ty) = (midranks(&all), midranks(&pos), midranks(&neg));
    let (mf, nf) = (m as f64, n as f64);
    // The Mann–Whitney U (midranks are multiples of ½, so the sum and U are exact) divided
    // once: `Σ/(mn) − (m+1)/(2n)` rounds twice and put a perfect separation an ulp below 1, with
    // an interval that missed the exact AUC.
    let u = tz[..m].iter().sum::<f64>() - mf * (mf + 1.0) / 2.0;
    let auc = (u / (mf * nf)).clamp(0.0, 1.0);
    let v10: Vec<f64> = (0..m).map(|i| (tz[i] - tx[i]) / nf).collect();
    let v01: Vec<f64> = (0..n).map(|j| 1.0 - (tz[m + j] - ty[j]) / mf).collect();
    // A variance of identical components can round an ulp below 0.
    let variance = (sample_var(&v10) / mf + sample_var(&v01) / nf).max(0.0);
    let half = Z95 * variance.sqrt();
    Some(DelongAuc { auc, variance, ci_low: (auc - half).max(0.0), ci_high: (auc + half).min(1.0) })
}
