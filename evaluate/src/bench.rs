//! `cxr-eval bench`: inference throughput of a verified model on one execution provider.

use crate::integrity::OpenModel;
use ort::value::TensorRef;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Throughput at one batch size.
#[derive(Debug, Clone, Serialize)]
pub struct BenchPoint {
    /// Batch size.
    pub batch: usize,
    /// Timed runs.
    pub iterations: usize,
    /// Images per second.
    pub images_per_second: f64,
    /// Median latency per batch (ms).
    pub median_batch_ms: f64,
}

/// Time `session.run` on constant synthetic input, after two warm-up runs, for at least
/// `seconds` (and at least 3 runs) per batch size.
///
/// # Errors
/// ORT failures.
pub fn bench(m: &mut OpenModel, batches: &[usize], seconds: f64) -> anyhow::Result<Vec<BenchPoint>> {
    let (ch, s) = (m.card.preprocess.channels as usize, m.card.preprocess.size as usize);
    let input = m.card.outputs.input.clone();
    let mut out = Vec::new();
    for &b in batches {
        let x = vec![0.1f32; b * ch * s * s];
        let mut run = || -> anyhow::Result<()> {
            let _ = m.session.run(ort::inputs![input.as_str() => TensorRef::from_array_view(([b, ch, s, s], &x[..]))?])?;
            Ok(())
        };
        run()?;
        run()?;
        let mut times = Vec::new();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs_f64(seconds) || times.len() < 3 {
            let t = Instant::now();
            run()?;
            times.push(t.elapsed().as_secs_f64());
        }
        let total = start.elapsed().as_secs_f64();
        times.sort_by(f64::total_cmp);
        out.push(BenchPoint { batch: b, iterations: times.len(), images_per_second: (b * times.len()) as f64 / total, median_batch_ms: times[times.len() / 2] * 1e3 });
    }
    Ok(out)
}
