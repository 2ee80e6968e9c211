//! The phantom generator is not a toy: labels are their signs, Cardiomegaly is a measured
//! cardiothoracic ratio, and findings are local signs that the global intensity histogram cannot
//! see, while the sites' acquisition signatures can be seen.

use cxr_core::Finding;
use cxr_data::phantom::{Artifact, PLANTED, Site, SiteKind, render, sample_case};
use cxr_metrics::auroc;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn extent(mask: &[bool], w: u32) -> Option<u32> {
    let xs: Vec<u32> = mask.iter().enumerate().filter(|(_, m)| **m).map(|(i, _)| i as u32 % w).collect();
    Some(xs.iter().max()? - xs.iter().min()? + 1)
}

#[test]
fn every_label_equals_its_mask_being_non_empty() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut positives = [0usize; 9];
    for _ in 0..300 {
        let case = sample_case(&mut rng, Artifact::None);
        let r = render(&case, 80, 96);
        for f in PLANTED {
            assert_eq!(case.has(f), r.mask_nonempty(f), "{f}: label and mask disagree");
            positives[f.index()] += usize::from(case.has(f));
        }
        let none = PLANTED.iter().all(|&f| !r.mask_nonempty(f));
        assert_eq!(case.has(Finding::NoFinding), none, "No Finding must mean every mask is empty");
        positives[0] += usize::from(none);
    }
    // Realistic co-occurring prevalences: every label present and absent.
    for f in PLANTED.into_iter().chain([Finding::NoFinding]) {
        let p = positives[f.index()];
        assert!((15..285).contains(&p), "{f}: {p} of 300 positive");
    }
}

#[test]
fn cardiomegaly_agrees_with_the_ratio_measured_from_the_masks() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for i in 0..200 {
        let case = sample_case(&mut rng, Artifact::None);
        let (w, h) = if i % 2 == 0 { (64, 64) } else { (100, 120) };
        let r = render(&case, w, h);
        let heart = extent(&r.heart, w).expect("heart");
        let thorax = extent(&r.lungs, w).expect("lungs");
        let ctr = f64::from(heart) / f64::from(thorax);
        assert_eq!(ctr > 0.5, case.has(Finding::Cardiomegaly), "case {i}: measured CTR {ctr:.3}, built with {:.3}", case.ctr);
    }
}

/// 16-bin normalized histogram.
fn histogram(px: &[f32]) -> Vec<f64> {
    let mut h = vec![0.0; 16];
    for &v in px {
        h[((v * 16.0) as usize).min(15)] += 1.0;
    }
    h.iter().map(|c| c / px.len() as f64).collect()
}

/// Logistic regression on standardized features, fitted on `train`, scored on `test`.
fn logistic_auroc(x: &[Vec<f64>], y: &[bool], train: &[usize], test: &[usize]) -> f64 {
    let d = x[0].len();
    let mean: Vec<f64> = (0..d).map(|j| train.iter().map(|&i| x[i][j]).sum::<f64>() / train.len() as f64).collect();
    let sd: Vec<f64> = (0..d).map(|j| (train.iter().map(|&i| (x[i][j] - mean[j]).powi(2)).sum::<f64>() / train.len() as f64).sqrt().max(1e-9)).collect();
    let z = |i: usize| -> Vec<f64> { (0..d).map(|j| (x[i][j] - mean[j]) / sd[j]).collect() };
    let (mut w, mut b) = (vec![0.0; d], 0.0);
    for _ in 0..500 {
        let (mut gw, mut gb) = (vec![0.0; d], 0.0);
        for &i in train {
            let zi = z(i);
            let p = 1.0 / (1.0 + (-(b + zi.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>())).exp());
            let e = p - f64::from(u8::from(y[i]));
            gb += e;
            for j in 0..d {
                gw[j] += e * zi[j];
            }
        }
        b -= 0.5 * gb / train.len() as f64;
        for j in 0..d {
            w[j] -= 0.5 * (gw[j] / train.len() as f64 + 1e-3 * w[j]);
        }
    }
    let scores: Vec<f64> = test.iter().map(|&i| b + z(i).iter().zip(&w).map(|(a, c)| a * c).sum::<f64>()).collect();
    let labels: Vec<bool> = test.iter().map(|&i| y[i]).collect();
    auroc(&scores, &labels).expect("both classes in the test half")
}

#[test]
fn histograms_separate_sites_but_not_findings() {
    let n = 600;
    let mut feats = Vec::new();
    let mut cases = Vec::new();
    let mut site_is_nih = Vec::new();
    for i in 0..n {
        let mut rng = ChaCha8Rng::seed_from_u64(1000 + i as u64);
        let kind = if i % 2 == 0 { SiteKind::Chexpert } else { SiteKind::Nih };
        let site = Site::new(kind);
        let case = sample_case(&mut rng, Artifact::None);
        let (w, h) = site.dims(64);
        let px = site.acquire(&mut rng, &render(&case, w, h).density, w, h);
        feats.push(histogram(&px));
        cases.push(case);
        site_is_nih.push(kind == SiteKind::Nih);
    }
    let train: Vec<usize> = (0..n).filter(|i| i % 4 < 2).collect();
    let test: Vec<usize> = (0..n).filter(|i| i % 4 >= 2).collect();
    let site_auc = logistic_auroc(&feats, &site_is_nih, &train, &test);
    assert!(site_auc > 0.95, "sites must be separable from the histogram: AUROC {site_auc:.3}");
    for f in PLANTED.into_iter().chain([Finding::NoFinding]) {
        let y: Vec<bool> = cases.iter().map(|c| c.has(f)).collect();
        let a = logistic_auroc(&feats, &y, &train, &test);
        eprintln!("histogram AUROC {f}: {a:.3}");
        assert!(a < 0.7, "{f} is visible in the global histogram (AUROC {a:.3}): findings must be local signs");
    }
}
