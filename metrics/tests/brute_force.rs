//! The new metrics against their textbook definitions on random small inputs (with ties).

use cxr_metrics::{at_threshold, auroc, average_precision, brier, delong, ece};
use proptest::prelude::*;

fn data() -> impl Strategy<Value = (Vec<f64>, Vec<bool>)> {
    proptest::collection::vec((0u8..6, any::<bool>()), 2..40).prop_map(|v| v.into_iter().map(|(s, y)| (f64::from(s) / 5.0, y)).unzip())
}

/// AP by its definition: for each distinct threshold t (descending), precision at t times the
/// recall gained at t.
fn ap_brute(s: &[f64], y: &[bool]) -> f64 {
    let mut ts: Vec<f64> = s.to_vec();
    ts.sort_by(|a, b| b.total_cmp(a));
    ts.dedup();
    let p = y.iter().filter(|&&v| v).count() as f64;
    let (mut ap, mut last) = (0.0, 0.0);
    for t in ts {
        let tp = s.iter().zip(y).filter(|(v, l)| **v >= t && **l).count() as f64;
        let called = s.iter().filter(|v| **v >= t).count() as f64;
        ap += (tp / p - last) * tp / called;
        last = tp / p;
    }
    ap
}

/// A perfectly separating input proptest found in a fresh CI run: DeLong's AUC came out an ulp
/// below 1, and its interval missed the exact value.
#[test]
fn delong_on_a_perfect_separation_is_exactly_one() {
    let s = [0.4, 0.4, 0.0, 0.4, 0.4, 0.0, 0.0];
    let y = [true, true, false, true, true, false, false];
    let d = delong(&s, &y).expect("both classes");
    assert_eq!((d.auc, d.variance, d.ci_low, d.ci_high), (1.0, 0.0, 1.0, 1.0));
    assert_eq!(auroc(&s, &y), Some(1.0));
}

proptest! {
    #[test]
    fn delong_auc_is_the_mann_whitney_auc_and_the_interval_contains_it((s, y) in data()) {
        if let Some(a) = auroc(&s, &y) {
            let d = delong(&s, &y).expect("defined with both classes");
            prop_assert!((d.auc - a).abs() < 1e-12);
            prop_assert!(d.variance >= 0.0 && d.ci_low <= a && a <= d.ci_high);
        } else {
            prop_assert!(delong(&s, &y).is_none());
        }
    }

    #[test]
    fn average_precision_matches_its_definition((s, y) in data()) {
        match average_precision(&s, &y) {
            Some(ap) => prop_assert!((ap - ap_brute(&s, &y)).abs() < 1e-12),
            None => prop_assert!(y.iter().all(|&v| v) || y.iter().all(|&v| !v)),
        }
    }

    #[test]
    fn confusion_counts_and_calibration((s, y) in data(), t in 0u8..6) {
        let t = f64::from(t) / 5.0;
        let r = at_threshold(&s, &y, t);
        prop_assert_eq!(r.tp + r.fp + r.tn + r.fn_, s.len());
        if let Some(f1) = r.f1 {
            let (p, rc) = (r.precision.unwrap_or(0.0), r.recall.unwrap_or(0.0));
            if p + rc > 0.0 { prop_assert!((f1 - 2.0 * p * rc / (p + rc)).abs() < 1e-12); }
        }
        let b = brier(&s, &y).expect("probabilities");
        let brute = s.iter().zip(&y).map(|(p, l)| (p - if *l { 1.0 } else { 0.0 }).powi(2)).sum::<f64>() / s.len() as f64;
        prop_assert!((b - brute).abs() < 1e-12);
        // One bin: ECE = |mean(y) − mean(p)| (p = 1 goes to the extra bin, so exclude it).
        if s.iter().all(|&p| p < 1.0) {
            let e = ece(&s, &y, 1).expect("ece");
            let my = y.iter().filter(|&&v| v).count() as f64 / y.len() as f64;
            let mp = s.iter().sum::<f64>() / s.len() as f64;
            prop_assert!((e - (my - mp).abs()).abs() < 1e-12);
        }
    }
}

#[test]
fn undefined_is_none_never_zero() {
    assert_eq!(average_precision(&[0.2, 0.3], &[false, false]), None);
    assert_eq!(delong(&[0.2, 0.3], &[true, true]), None);
    let r = at_threshold(&[0.1, 0.2], &[false, false], 0.5);
    assert_eq!((r.precision, r.recall, r.f1), (None, None, None));
    assert_eq!(r.specificity, Some(1.0));
    assert_eq!(brier(&[1.5], &[true]), None, "probabilities outside [0, 1]");
    assert_eq!(ece(&[f64::NAN], &[true], 15), None);
}
