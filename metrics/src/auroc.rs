//! Tie-aware AUROC (Mann–Whitney with midranks; methods.md §5.1).

/// AUROC = P(s₊ > s₋) + ½·P(s₊ = s₋), computed in O(n log n) with midranks.
///
/// Returns `None` ("undefined", never 0) when either class is absent, or when a score is NaN.
#[must_use]
pub fn auroc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let (n_pos, n_neg) = class_counts(scores, positive)?;
    // Sum of the (1-based) midranks of the positives.
    let ranks = crate::ranks::midranks(scores);
    let rank_sum_pos: f64 = ranks.iter().zip(positive).filter(|(_, p)| **p).map(|(r, _)| r).sum();
    let (m, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum_pos - m * (m + 1.0) / 2.0) / (m * n))
}

/// `(positives, negatives)` when both classes are present and no score is NaN: the condition
/// for any ranking metric to be defined.
///
/// # Panics
/// When the slices differ in length (a caller bug).
#[must_use]
pub fn class_counts(scores: &[f64], positive: &[bool]) -> Option<(usize, usize)> {
    assert_eq!(scores.len(), positive.len(), "scores and labels must have the same length");
    if scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    (n_pos > 0 && n_neg > 0).then_some((n_pos, n_neg))
}

/// AUROC over the entries whose target is known (`Some`); `true` = positive.
#[must_use]
pub fn auroc_masked(scores: &[f64], targets: &[Option<bool>]) -> Option<f64> {
    assert_eq!(scores.len(), targets.len(), "scores and targets must have the same length");
    let (s, y): (Vec<f64>, Vec<bool>) = scores
        .iter()
        .zip(targets)
        .filter_map(|(&s, t)| t.map(|t| (s, t)))
        .unzip();
    auroc(&s, &y)
}

/// Unweighted mean over the defined values; `None` when none is defined.
#[must_use]
pub fn macro_mean(values: &[Option<f64>]) -> Option<f64> {
    let d: Vec<f64> = values.iter().flatten().copied().collect();
    (!d.is_empty()).then(|| d.iter().sum::<f64>() / d.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition: count pairs.
    fn brute(scores: &[f64], pos: &[bool]) -> Option<f64> {
        let (mut num, mut den) = (0.0, 0.0);
        for (i, &pi) in pos.iter().enumerate() {
            for (j, &pj) in pos.iter().enumerate() {
                if pi && !pj {
                    den += 1.0;
                    if scores[i] > scores[j] {
                        num += 1.0;
                    } else if scores[i] == scores[j] {
                        num += 0.5;
                    }
                }
            }
        }
        (den > 0.0).then(|| num / den)
    }

    fn case() -> impl Strategy<Value = (Vec<f64>, Vec<bool>)> {
        (1usize..40).prop_flat_map(|n| {
            // Scores from a small set of values, so ties are frequent.
            (prop::collection::vec((0u8..6).prop_map(f64::from), n), prop::collection::vec(any::<bool>(), n))
        })
    }

    proptest! {
        #[test]
        fn equals_brute_force_mann_whitney((s, y) in case()) {
            let a = auroc(&s, &y);
            let b = brute(&s, &y);
            prop_assert_eq!(a.is_some(), b.is_some());
            if let (Some(a), Some(b)) = (a, b) {
                prop_assert!((a - b).abs() < 1e-12, "{} vs {}", a, b);
            }
        }

        #[test]
        fn invariant_to_monotone_transforms((s, y) in case()) {
            let t: Vec<f64> = s.iter().map(|v| (v * 0.7).exp() - 3.0).collect();
            prop_assert_eq!(auroc(&s, &y), auroc(&t, &y));
        }

        #[test]
        fn flipping_scores_gives_one_minus((s, y) in case()) {
            let neg: Vec<f64> = s.iter().map(|v| -v).collect();
            if let (Some(a), Some(b)) = (auroc(&s, &y), auroc(&neg, &y)) {
                prop_assert!((a + b - 1.0).abs() < 1e-12);
            }
        }

        #[test]
        fn masked_entries_are_ignored((s, y) in case(), junk in prop::collection::vec(-5.0f64..5.0, 0..10)) {
            let mut s2 = s.clone();
            let mut t: Vec<Option<bool>> = y.iter().map(|&b| Some(b)).collect();
            for j in &junk { s2.push(*j); t.push(None); }
            prop_assert_eq!(auroc_masked(&s2, &t), auroc(&s, &y));
        }
    }

    #[test]
    fn one_class_is_undefined_not_zero() {
        assert_eq!(auroc(&[0.1, 0.9], &[true, true]), None);
        assert_eq!(auroc(&[0.1, 0.9], &[false, false]), None);
        assert_eq!(auroc(&[], &[]), None);
    }

    #[test]
    fn known_values() {
        assert_eq!(auroc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]), Some(0.75));
        assert_eq!(auroc(&[0.5, 0.5], &[false, true]), Some(0.5));
        assert_eq!(macro_mean(&[Some(1.0), None, Some(0.5)]), Some(0.75));
        assert_eq!(macro_mean(&[None]), None);
    }
}
