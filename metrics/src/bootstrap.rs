//! Percentile bootstrap of AUROC resampling clusters (patients), and of the gap between two
//! independent test sets (methods.md §5.1).
//!
//! Speed: the scores are sorted once; a replicate is a vector of multiplicities (how often each
//! cluster was drawn), and its AUROC is one linear pass over the sorted order with tie groups, so
//! a replicate costs O(N) instead of a sort. Replicates run in parallel with a per-replicate
//! ChaCha8 stream derived from (seed, replicate), so the result does not depend on threads.
//! A resample with a single class is rejected and counted (not redrawn).

use crate::class_counts;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

/// A percentile interval from a bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BootstrapCi {
    /// 2.5th percentile.
    pub low: f64,
    /// 97.5th percentile.
    pub high: f64,
    /// Replicates with both classes (used).
    pub replicates: usize,
    /// Replicates rejected for holding a single class.
    pub rejected: usize,
}

/// Sorted scores grouped into ties, with each element's cluster.
struct Prepared {
    /// Tie groups in increasing score: (positive element clusters, negative element clusters).
    groups: Vec<(Vec<u32>, Vec<u32>)>,
    clusters: usize,
}

fn prepare(scores: &[f64], positive: &[bool], clusters: Option<&[usize]>) -> Prepared {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Dense cluster indices (each element its own cluster without ids).
    let (ids, k): (Vec<u32>, usize) = match clusters {
        Some(c) => {
            let mut map = std::collections::HashMap::new();
            let ids = c.iter().map(|x| { let n = map.len(); *map.entry(*x).or_insert(n) as u32 }).collect();
            (ids, map.len())
        }
        None => ((0..scores.len() as u32).collect(), scores.len()),
    };
    let mut groups = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let (mut p, mut n) = (Vec::new(), Vec::new());
        for &e in &order[i..=j] {
            if positive[e] { p.push(ids[e]) } else { n.push(ids[e]) }
        }
        groups.push((p, n));
        i = j + 1;
    }
    Prepared { groups, clusters: k }
}

/// AUROC under cluster multiplicities `w`: Σ_groups w₊(g)·(W₋ below + ½·w₋(g)) / (W₊·W₋).
fn weighted_auc(p: &Prepared, w: &[u32]) -> Option<f64> {
    let (mut below, mut num, mut wp) = (0.0f64, 0.0f64, 0.0f64);
    for (pos, neg) in &p.groups {
        let gp: f64 = pos.iter().map(|&c| f64::from(w[c as usize])).sum();
        let gn: f64 = neg.iter().map(|&c| f64::from(w[c as usize])).sum();
        num += gp * (below + 0.5 * gn);
        below += gn;
        wp += gp;
    }
    (wp > 0.0 && below > 0.0).then(|| num / (wp * below))
}

fn replicate_weights(k: usize, seed: u64, r: u64) -> Vec<u32> {
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    seed_bytes[8..16].copy_from_slice(&r.to_le_bytes());
    let mut rng = ChaCha8Rng::from_seed(seed_bytes);
    let mut w = vec![0u32; k];
    for _ in 0..k {
        w[rng.random_range(0..k)] += 1;
    }
    w
}

/// The `q`-quantile of sorted values with linear interpolation (numpy's default).
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn interval(mut v: Vec<f64>, rejected: usize) -> Option<BootstrapCi> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(BootstrapCi { low: quantile(&v, 0.025), high: quantile(&v, 0.975), replicates: v.len(), rejected })
}

fn replicate_aucs(p: &Prepared, replicates: usize, seed: u64) -> (Vec<f64>, usize) {
    let aucs: Vec<Option<f64>> = (0..replicates as u64).into_par_iter().map(|r| weighted_auc(p, &replicate_weights(p.clusters, seed, r))).collect();
    let rejected = aucs.iter().filter(|a| a.is_none()).count();
    (aucs.into_iter().flatten().collect(), rejected)
}

/// 95% percentile interval of AUROC over `replicates` resamples of the clusters (patients; each
/// element its own cluster when `clusters` is `None`). `None` when the AUROC itself is undefined.
///
/// # Panics
/// When the slices differ in length.
#[must_use]
pub fn bootstrap_auroc(scores: &[f64], positive: &[bool], clusters: Option<&[usize]>, replicates: usize, seed: u64) -> Option<BootstrapCi> {
    class_counts(scores, positive)?;
    if let Some(c) = clusters {
        assert_eq!(c.len(), scores.len(), "one cluster per score");
    }
    let p = prepare(scores, positive, clusters);
    let (aucs, rejected) = replicate_aucs(&p, replicates, seed);
    interval(aucs, rejected)
}

/// 95% percentile interval of AUROC(a) − AUROC(b) for two independent test sets, each resampled
/// by its own clusters (replicate r pairs replicate r of each side).
#[must_use]
pub fn bootstrap_gap(a: (&[f64], &[bool], Option<&[usize]>), b: (&[f64], &[bool], Option<&[usize]>), replicates: usize, seed: u64) -> Option<BootstrapCi> {
    class_counts(a.0, a.1)?;
    class_counts(b.0, b.1)?;
    let (pa, pb) = (prepare(a.0, a.1, a.2), prepare(b.0, b.1, b.2));
    let pairs: Vec<Option<f64>> = (0..replicates as u64)
        .into_par_iter()
        .map(|r| {
            let x = weighted_auc(&pa, &replicate_weights(pa.clusters, seed, 2 * r))?;
            let y = weighted_auc(&pb, &replicate_weights(pb.clusters, seed, 2 * r + 1))?;
            Some(x - y)
        })
        .collect();
    let rejected = pairs.iter().filter(|a| a.is_none()).count();
    interval(pairs.into_iter().flatten().collect(), rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_weights_give_the_plain_auroc() {
        let s = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2];
        let y = [false, false, true, true, true, false, true];
        let p = prepare(&s, &y, None);
        let w = vec![1; s.len()];
        assert!((weighted_auc(&p, &w).unwrap() - crate::auroc(&s, &y).unwrap()).abs() < 1e-12);
        // Integer weights equal duplicating the elements.
        let w2 = [2, 0, 1, 3, 1, 1, 0];
        let (mut s2, mut y2) = (Vec::new(), Vec::new());
        for i in 0..s.len() {
            for _ in 0..w2[i] {
                s2.push(s[i]);
                y2.push(y[i]);
            }
        }
        assert!((weighted_auc(&p, &w2).unwrap() - crate::auroc(&s2, &y2).unwrap()).abs() < 1e-12);
    }

    #[test]
    fn clusters_move_together_and_results_are_seeded() {
        let s: Vec<f64> = (0..200).map(|i| f64::from((i * 37) % 101) / 101.0).collect();
        let y: Vec<bool> = (0..200).map(|i| (i * 37) % 101 > 40 + (i % 7) * 5).collect();
        let a = bootstrap_auroc(&s, &y, None, 500, 7).unwrap();
        assert_eq!(a, bootstrap_auroc(&s, &y, None, 500, 7).unwrap(), "seeded");
        let auc = crate::auroc(&s, &y).unwrap();
        assert!(a.low < auc && auc < a.high, "{a:?} around {auc}");
        // Pairs of identical elements as one patient: wider or equal interval than treating the
        // 400 elements as independent.
        let s2: Vec<f64> = s.iter().flat_map(|&v| [v, v]).collect();
        let y2: Vec<bool> = y.iter().flat_map(|&v| [v, v]).collect();
        let c2: Vec<usize> = (0..400).map(|i| i / 2).collect();
        let by_patient = bootstrap_auroc(&s2, &y2, Some(&c2), 500, 7).unwrap();
        let by_image = bootstrap_auroc(&s2, &y2, None, 500, 7).unwrap();
        assert!(by_patient.high - by_patient.low > (by_image.high - by_image.low) * 1.2, "{by_patient:?} vs {by_image:?}");
    }
}
