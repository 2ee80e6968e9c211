//! Running a dataset through the model: decoding and preprocessing in rayon workers overlap
//! with ONNX Runtime on the previous batch (a bounded queue of two batches keeps memory flat).

use cxr_core::ModelCard;
use cxr_data::{DataError, Dataset, preprocess_record};
use indicatif::{ProgressBar, ProgressStyle};
use ort::session::Session;
use ort::value::TensorRef;
use rayon::prelude::*;

/// Model outputs for every image of a dataset, in record order.
#[derive(Debug, Clone)]
pub struct Predictions {
    /// `[n][K]` probabilities.
    pub probabilities: Vec<Vec<f32>>,
    /// `[n][D]` embeddings.
    pub embeddings: Vec<Vec<f32>>,
}

/// Decode and preprocess the images at `idx` (in parallel), concatenated in order.
///
/// # Errors
/// The first unreadable image, named.
pub fn preprocess_batch(ds: &Dataset, idx: &[usize], spec: &cxr_core::PreprocessSpec) -> Result<Vec<f32>, DataError> {
    let parts: Vec<Vec<f32>> = idx.par_iter().map(|&i| preprocess_record(spec, &ds.records[i])).collect::<Result<_, _>>()?;
    Ok(parts.concat())
}

/// Run every record of `ds`.
///
/// # Errors
/// The first unreadable image (named) or an ORT failure.
pub fn predict(session: &mut Session, card: &ModelCard, ds: &Dataset, batch_size: usize, label: &str) -> anyhow::Result<Predictions> {
    let (ch, s, k) = (card.preprocess.channels as usize, card.preprocess.size as usize, card.labels.len());
    let c = &card.outputs;
    let idx: Vec<usize> = (0..ds.len()).collect();
    let chunks: Vec<&[usize]> = idx.chunks(batch_size.max(1)).collect();
    let bar = ProgressBar::new(ds.len() as u64)
        .with_style(ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} images").unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar.set_message(label.to_string());
    let mut out = Predictions { probabilities: Vec::with_capacity(ds.len()), embeddings: Vec::with_capacity(ds.len()) };
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<(usize, Vec<f32>), DataError>>(2);
        let producer = scope.spawn(move || {
            for chunk in &chunks {
                let r = preprocess_batch(ds, chunk, &card.preprocess).map(|x| (chunk.len(), x));
                let stop = r.is_err();
                if tx.send(r).is_err() || stop {
                    break;
                }
            }
        });
        for msg in rx {
            let (n, x) = msg?;
            let outs = session.run(ort::inputs![c.input.as_str() => TensorRef::from_array_view(([n, ch, s, s], &x[..]))?])?;
            let (_, p) = outs[c.probabilities.as_str()].try_extract_tensor::<f32>()?;
            let (eshape, e) = outs[c.embedding.as_str()].try_extract_tensor::<f32>()?;
            let d = eshape.get(1).copied().unwrap_or(0) as usize;
            for i in 0..n {
                out.probabilities.push(p[i * k..(i + 1) * k].to_vec());
                out.embeddings.push(e[i * d..(i + 1) * d].to_vec());
            }
            bar.inc(n as u64);
        }
        producer.join().map_err(|_| anyhow::anyhow!("preprocessing thread panicked"))?;
        Ok(())
    })?;
    bar.finish_and_clear();
    if out.probabilities.len() != ds.len() {
        anyhow::bail!("internal error: {} predictions for {} images", out.probabilities.len(), ds.len());
    }
    Ok(out)
}

/// A dataset of loose image files (for `predict`): no labels, every finding uncovered.
#[must_use]
pub fn files_dataset(paths: &[std::path::PathBuf]) -> Dataset {
    Dataset {
        source: cxr_core::SourceId::Generic,
        split: "files".into(),
        root: std::path::PathBuf::new(),
        index_files: Vec::new(),
        records: paths
            .iter()
            .map(|p| cxr_data::Record::new(p.display().to_string(), p.clone(), String::new()))
            .collect(),
        labels: cxr_data::LabelTable { covered: [false; 9], rows: vec![[cxr_core::Label::Missing; 9]; paths.len()] },
        excluded: Vec::new(),
        report: cxr_data::ReadReport::default(),
    }
}
