//! `cxr-eval bench`: throughput and latency of a verified model on one execution provider.
//!
//! Inference only: constant synthetic input, `session.run` timed per batch after warm-up, for at
//! least the given seconds and runs per batch size; throughput, latency p50/p90/p99 and peak host
//! memory (VmHWM). End to end (`--dataset`): the evaluator's own pipeline from image files
//! (hash, decode, preprocess in parallel, overlapping inference), timed as a whole.

use crate::infer::{Input, run_stream};
use crate::integrity::OpenModel;
use ort::value::TensorRef;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Measurements at one batch size.
#[derive(Debug, Clone, Serialize)]
pub struct BenchPoint {
    /// `inference` (synthetic tensors) or `end_to_end` (image files).
    pub mode: &'static str,
    /// Batch size.
    pub batch: usize,
    /// Timed batches (inference) or passes over the images (end to end).
    pub iterations: usize,
    /// Images per second.
    pub images_per_second: f64,
    /// Batch latency percentiles in ms (inference only).
    pub latency_ms: Option<Latency>,
}

/// Latency percentiles.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// Nearest-rank percentile of sorted values.
#[must_use]
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Peak resident memory of this process in bytes (Linux `VmHWM`), when known.
#[must_use]
pub fn peak_host_memory_bytes() -> Option<u64> {
    let s = fs_err::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Time `session.run` on constant synthetic input, after `warmup` runs, for at least `seconds`
/// and at least `min_runs` runs per batch size.
///
/// # Errors
/// ORT failures.
pub fn bench(m: &mut OpenModel, batches: &[usize], seconds: f64, warmup: usize, min_runs: usize) -> anyhow::Result<Vec<BenchPoint>> {
    let (ch, s) = (m.card.preprocess.channels as usize, m.card.preprocess.size as usize);
    let input = m.card.outputs.input.clone();
    let mut out = Vec::new();
    for &b in batches {
        let x = vec![0.1f32; b * ch * s * s];
        let mut run = || -> anyhow::Result<()> {
            let _ = m.session.run(ort::inputs![input.as_str() => TensorRef::from_array_view(([b, ch, s, s], &x[..]))?])?;
            Ok(())
        };
        for _ in 0..warmup {
            run()?;
        }
        let mut times = Vec::new();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs_f64(seconds) || times.len() < min_runs.max(1) {
            let t = Instant::now();
            run()?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let total: f64 = times.iter().sum::<f64>() / 1e3;
        times.sort_by(f64::total_cmp);
        out.push(BenchPoint {
            mode: "inference",
            batch: b,
            iterations: times.len(),
            images_per_second: (b * times.len()) as f64 / total,
            latency_ms: Some(Latency { p50: percentile(&times, 50.0), p90: percentile(&times, 90.0), p99: percentile(&times, 99.0) }),
        });
    }
    Ok(out)
}

/// Run the evaluator's pipeline over `inputs` `passes` times (after one warm-up pass over the
/// first batch) and report images per second.
///
/// # Errors
/// An image that cannot be used, or ORT failures.
pub fn bench_end_to_end(m: &mut OpenModel, inputs: &[Input], batch: usize, passes: usize) -> anyhow::Result<BenchPoint> {
    let bar = indicatif::ProgressBar::hidden();
    let warm = &inputs[..batch.min(inputs.len())];
    run_stream(&mut m.session, &m.card, warm, 0, batch, &crate::caches::Caches::none(), &bar, |_| Ok(()))?;
    let t = Instant::now();
    for _ in 0..passes.max(1) {
        run_stream(&mut m.session, &m.card, inputs, 0, batch, &crate::caches::Caches::none(), &bar, |outcomes| {
            if let Some(crate::infer::Outcome::Failed { error, .. }) = outcomes.iter().find(|o| matches!(o, crate::infer::Outcome::Failed { .. })) {
                anyhow::bail!("{error}");
            }
            Ok(())
        })?;
    }
    let secs = t.elapsed().as_secs_f64();
    Ok(BenchPoint { mode: "end_to_end", batch, iterations: passes.max(1), images_per_second: (inputs.len() * passes.max(1)) as f64 / secs, latency_ms: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 90.0), 90.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
        assert!(peak_host_memory_bytes().is_some_and(|b| b > 0));
    }
}
