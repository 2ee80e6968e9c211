//! Average precision (the threshold-free AUPRC, scikit-learn's `average_precision_score`) and the
//! confusion-matrix metrics at a frozen operating point (methods.md §5.3).
//!
//! Undefined values (no predicted positives for precision, no positives for recall, …) are `None`,
//! never a silent 0.

use crate::class_counts;
use serde::Serialize;

/// AP = Σₙ (Rₙ − Rₙ₋₁)·Pₙ over the distinct scores in decreasing order (ties form one
/// threshold). `None` when a class is absent or a score is NaN.
#[must_use]
pub fn average_precision(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let (m, _) = class_counts(scores, positive)?;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp, mut ap, mut last_recall) = (0usize, 0usize, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        for &k in &order[i..=j] {
            if positive[k] { tp += 1 } else { fp += 1 }
        }
        let recall = tp as f64 / m as f64;
        ap += (recall - last_recall) * tp as f64 / (tp + fp) as f64;
        last_recall = recall;
        i = j + 1;
    }
    Some(ap)
}

/// Counts and rates at a threshold: an image is called positive when its score ≥ the threshold
/// (the convention of scikit-learn's `roc_curve` thresholds and of Youden points).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AtThreshold {
    /// The threshold.
    pub threshold: f64,
    /// True positives.
    pub tp: usize,
    /// False positives.
    pub fp: usize,
    /// True negatives.
    pub tn: usize,
    /// False negatives.
    pub fn_: usize,
    /// TP / (TP + FP); `None` with no positive calls.
    pub precision: Option<f64>,
    /// Sensitivity, TP / (TP + FN); `None` with no positives.
    pub recall: Option<f64>,
    /// TN / (TN + FP); `None` with no negatives.
    pub specificity: Option<f64>,
    /// 2·TP / (2·TP + FP + FN); `None` when that denominator is 0.
    pub f1: Option<f64>,
}

/// Metrics at a frozen threshold (NaN scores are never called positive; callers reject NaN first).
///
/// # Panics
/// When the slices differ in length.
#[must_use]
pub fn at_threshold(scores: &[f64], positive: &[bool], threshold: f64) -> AtThreshold {
    assert_eq!(scores.len(), positive.len(), "scores and labels must have the same length");
    let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
    for (&s, &y) in scores.iter().zip(positive) {
        match (s >= threshold, y) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
    }
    let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
    AtThreshold {
        threshold,
        tp,
        fp,
        tn,
        fn_,
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn_),
        specificity: ratio(tn, tn + fp),
        f1: ratio(2 * tp, 2 * tp + fp + fn_),
    }
}
