//! The inference pipeline: images are hashed, decoded and preprocessed by rayon workers while
//! ONNX Runtime runs the previous batch; a bounded queue of two batches keeps memory flat on any
//! dataset size. Every image comes out as an [`Outcome`], in input order: its probabilities and
//! file hash, or why it failed (unreadable file, NaN or Inf in the model's output). `run` stops at
//! the first failure; `predict` writes failures as error rows.

use crate::caches::Caches;
use cxr_core::ModelCard;
use cxr_data::{DataError, normalize};
use indicatif::{ProgressBar, ProgressStyle};
use ort::session::Session;
use ort::value::TensorRef;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// One image to run.
#[derive(Debug, Clone)]
pub struct Input {
    /// Image file.
    pub path: PathBuf,
    /// Bits stored, when the index states it (16-bit PNGs).
    pub bits_stored: Option<u8>,
}

/// What became of one image.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The model's probabilities, in the card's label order, and the file's blake3.
    Done {
        /// Index into the inputs.
        index: usize,
        /// blake3 of the image file's bytes.
        image_blake3: String,
        /// Probabilities.
        probabilities: Vec<f32>,
    },
    /// The image could not be used.
    Failed {
        /// Index into the inputs.
        index: usize,
        /// Why (names the file).
        error: String,
    },
}

impl Outcome {
    /// Index into the inputs.
    #[must_use]
    pub fn index(&self) -> usize {
        match self {
            Self::Done { index, .. } | Self::Failed { index, .. } => *index,
        }
    }
}

/// Hash, decode and preprocess one image.
///
/// # Errors
/// The file cannot be read or decoded (named).
pub fn prepare(spec: &cxr_core::PreprocessSpec, input: &Input) -> Result<(String, Vec<f32>), DataError> {
    prepare_cached(spec, input, &Caches::none())
}

/// [`prepare`], taking the cached stages from `caches` when one holds the file's content.
///
/// # Errors
/// As [`prepare`].
pub fn prepare_cached(spec: &cxr_core::PreprocessSpec, input: &Input, caches: &Caches) -> Result<(String, Vec<f32>), DataError> {
    let bytes = fs_err::read(&input.path).map_err(|e| DataError::Image { path: input.path.clone(), message: e.to_string() })?;
    let hash = blake3::hash(&bytes).to_hex().to_string();
    drop(bytes);
    let named = |message| DataError::Image { path: input.path.clone(), message };
    let prepared = match caches.get(&hash) {
        Some(p) => p?,
        None => cxr_data::prepare_path(spec, &input.path, input.bits_stored)?,
    };
    let x = normalize(spec, &prepared.to_unit()).map_err(named)?;
    Ok((hash, x))
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
#[must_use]
pub fn progress(len: usize, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64).with_style(ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} images, {per_sec}, eta {eta}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar.set_message(label.to_string());
    bar
}

/// Check the card's input contract against the graph: the input is `[N, C, H, W]` with C, H and W
/// either symbolic or equal to the card's channels and size.
///
/// # Errors
/// A message naming the mismatch.
pub fn check_input_shape(session: &Session, card: &ModelCard) -> Result<(), String> {
    let name = &card.outputs.input;
    let Some(input) = session.inputs().iter().find(|i| i.name() == name) else {
        return Err(format!("the graph has no input {name:?}"));
    };
    let Some(shape) = input.dtype().tensor_shape() else {
        return Err(format!("input {name:?} is not a tensor"));
    };
    let dims: Vec<i64> = shape.iter().copied().collect();
    let want = [-1, i64::from(card.preprocess.channels), i64::from(card.preprocess.size), i64::from(card.preprocess.size)];
    if dims.len() != 4 {
        return Err(format!("input {name:?} has shape {dims:?}; expected [N, C, H, W]"));
    }
    for (i, (&d, &w)) in dims.iter().zip(&want).enumerate().skip(1) {
        if d > 0 && d != w {
            let what = ["batch", "channel count", "height", "width"][i];
            return Err(format!("input {name:?} has {what} {d} but the card's preprocessing gives {w} (shape {dims:?}, card: {} channels at {} px)", card.preprocess.channels, card.preprocess.size));
        }
    }
    Ok(())
}

/// Run `inputs[start..]` in batches of `batch_size`, calling `sink` with each batch's outcomes in
/// input order (after the batch ran). `sink` may stop the run by returning an error.
///
/// # Errors
/// An ORT failure, or the sink's error.
pub fn run_stream(
    session: &mut Session,
    card: &ModelCard,
    inputs: &[Input],
    start: usize,
    batch_size: usize,
    caches: &Caches,
    bar: &ProgressBar,
    mut sink: impl FnMut(Vec<Outcome>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (ch, s, k) = (card.preprocess.channels as usize, card.preprocess.size as usize, card.labels.len());
    let c = &card.outputs;
    let per = ch * s * s;
    let idx: Vec<usize> = (start..inputs.len()).collect();
    let chunks: Vec<&[usize]> = idx.chunks(batch_size.max(1)).collect();
    type Prepared = Vec<(usize, Result<(String, Vec<f32>), DataError>)>;
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Prepared>(2);
        scope.spawn(move || {
            for chunk in &chunks {
                let prepared: Prepared = chunk.par_iter().map(|&i| (i, prepare_cached(&card.preprocess, &inputs[i], caches))).collect();
                if tx.send(prepared).is_err() {
                    break;
                }
            }
        });
        for prepared in rx {
            let mut outcomes = Vec::with_capacity(prepared.len());
            let mut ok: Vec<(usize, String)> = Vec::new();
            let mut x = Vec::with_capacity(prepared.len() * per);
            for (i, r) in prepared {
                match r {
                    Ok((hash, t)) => {
                        x.extend_from_slice(&t);
                        ok.push((i, hash));
                    }
                    Err(e) => outcomes.push(Outcome::Failed { index: i, error: e.to_string() }),
                }
            }
            if !ok.is_empty() {
                let n = ok.len();
                let outs = session.run(ort::inputs![c.input.as_str() => TensorRef::from_array_view(([n, ch, s, s], &x[..]))?])?;
                let (shape, p) = outs[c.probabilities.as_str()].try_extract_tensor::<f32>()?;
                if shape.len() != 2 || shape[0] as usize != n || shape[1] as usize != k {
                    anyhow::bail!("output {:?} has shape {shape:?}; the card promises [{n}, {k}]", c.probabilities);
                }
                for (j, (i, hash)) in ok.into_iter().enumerate() {
                    let row = p[j * k..(j + 1) * k].to_vec();
                    if row.iter().any(|v| !v.is_finite()) {
                        outcomes.push(Outcome::Failed { index: i, error: format!("{}: the model output NaN or Inf ({row:?})", inputs[i].path.display()) });
                    } else {
                        outcomes.push(Outcome::Done { index: i, image_blake3: hash, probabilities: row });
                    }
                }
            }
            outcomes.sort_by_key(Outcome::index);
            bar.inc(outcomes.len() as u64);
            sink(outcomes)?;
        }
        Ok(())
    })
}

/// The inputs of a dataset's records.
#[must_use]
pub fn dataset_inputs(ds: &cxr_data::Dataset) -> Vec<Input> {
    ds.records.iter().map(|r| Input { path: r.path.clone(), bits_stored: r.bits_stored }).collect()
}

/// Image files under `paths` (files as given; folders walked recursively, sorted): PNG, JPEG and
/// DICOM by extension.
///
/// # Errors
/// A path that does not exist or a folder that cannot be read.
pub fn collect_images(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let mut entries: Vec<PathBuf> = fs_err::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if is_image_name(&p) {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(std::io::Error::new(std::io::ErrorKind::NotFound, format!("{}: no such file or folder", p.display())));
        }
    }
    Ok(out)
}

fn is_image_name(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| ["png", "jpg", "jpeg", "dcm", "dicom"].contains(&e.to_ascii_lowercase().as_str()))
}
