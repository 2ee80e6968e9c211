//! Benchmark: patient-level bootstrap 95% intervals of AUROC, 1,000 replicates, 9 labels,
//! 100,000 predictions from 30,000 patients (synthetic, seeded). Compared with
//! `scripts/bench_bootstrap_sklearn.py` by `scripts/bench_bootstrap.sh` (BENCHMARKS.md).
//!
//! `cargo run --release -p cxr-metrics --example bench_bootstrap [REPEAT]`

use rand::{Rng, SeedableRng};

fn main() {
    let repeat: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let (n, patients, labels, replicates) = (100_000usize, 30_000usize, 9usize, 1000usize);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let clusters: Vec<usize> = (0..n).map(|_| rng.random_range(0..patients)).collect();
    let data: Vec<(Vec<f64>, Vec<bool>)> = (0..labels)
        .map(|_| {
            let y: Vec<bool> = (0..n).map(|_| rng.random::<f64>() < 0.1).collect();
            let s: Vec<f64> = y.iter().map(|&p| ((rng.random::<f64>() + if p { 0.6 } else { 0.0 }) * 1000.0).round() / 1600.0).collect();
            (s, y)
        })
        .collect();
    let mut best = f64::INFINITY;
    for _ in 0..repeat {
        let t0 = std::time::Instant::now();
        let cis: Vec<_> = data.iter().map(|(s, y)| cxr_metrics::bootstrap_auroc(s, y, Some(&clusters), replicates, 7).expect("defined")).collect();
        best = best.min(t0.elapsed().as_secs_f64());
        assert_eq!(cis.len(), labels);
        eprintln!("first label: {:?}", cis[0]);
    }
    println!("cxr-metrics bootstrap ({labels} labels × {replicates} replicates, {n} predictions, {patients} patients, {} threads): best of {repeat}: {best:.3} s", rayon::current_num_threads());
}
