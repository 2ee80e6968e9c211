//! Operating points: Youden's J on internal validation (methods.md §5.3).

/// The threshold maximising TPR − FPR, predicting positive when `score >= threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YoudenPoint {
    /// Threshold (one of the observed scores).
    pub threshold: f64,
    /// J = TPR − FPR at it.
    pub j: f64,
    /// True-positive rate at it.
    pub tpr: f64,
    /// False-positive rate at it.
    pub fpr: f64,
}

/// Youden's J over every observed score as a threshold. Ties in J go to the highest threshold
/// (the first maximum along sklearn's decreasing `roc_curve` thresholds). `None` when either class
/// is absent or a score is NaN.
#[must_use]
pub fn youden(scores: &[f64], positive: &[bool]) -> Option<YoudenPoint> {
    let (n_pos, n_neg) = crate::auroc::class_counts(scores, positive)?;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut best: Option<YoudenPoint> = None;
    let mut i = 0;
    while i < order.len() {
        let t = scores[order[i]];
        while i < order.len() && scores[order[i]] == t {
            if positive[order[i]] { tp += 1 } else { fp += 1 }
            i += 1;
        }
        let tpr = tp as f64 / n_pos as f64;
        let fpr = fp as f64 / n_neg as f64;
        let j = tpr - fpr;
        if best.is_none_or(|b| j > b.j) {
            best = Some(YoudenPoint { threshold: t, j, tpr, fpr });
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_separation_picks_lowest_positive() {
        let p = youden(&[0.1, 0.2, 0.7, 0.9], &[false, false, true, true]).unwrap();
        assert_eq!(p.threshold, 0.7);
        assert_eq!(p.j, 1.0);
    }

    #[test]
    fn matches_brute_force_search() {
        let s = [0.3, 0.1, 0.5, 0.5, 0.8, 0.2, 0.9, 0.4];
        let y = [true, false, true, false, true, false, false, true];
        let p = youden(&s, &y).unwrap();
        let mut best = f64::MIN;
        for &t in &s {
            let tp = s.iter().zip(&y).filter(|(v, y)| **v >= t && **y).count() as f64;
            let fp = s.iter().zip(&y).filter(|(v, y)| **v >= t && !**y).count() as f64;
            best = best.max(tp / 4.0 - fp / 4.0);
        }
        assert!((p.j - best).abs() < 1e-12);
    }

    #[test]
    fn undefined_with_one_class() {
        assert!(youden(&[0.1, 0.2], &[true, true]).is_none());
    }
}
