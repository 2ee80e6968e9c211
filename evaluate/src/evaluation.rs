//! One evaluation, in the order that makes it auditable:
//!
//! 1. read every dataset's image manifest **without its labels** (fail fast on a bad index);
//! 2. per dataset, run the model on every image (resuming a partial file) and **seal** the
//!    predictions ([`crate::seal`]);
//! 3. only then read the labels, checking they describe the very images that were sealed;
//! 4. compute the metrics from the sealed rows (never from memory), so `cxr-eval verify`
//!    recomputes the same bytes.
//!
//! `results.json` holds no timings, dates or absolute paths; those go to `provenance.json`.

use crate::caches::Caches;
use crate::infer::{Outcome, dataset_inputs, progress, run_stream};
use crate::integrity::OpenModel;
use crate::policy::{PolicyOverrides, PolicyRecord};
use crate::results::{DatasetResult, DatasetRole, dataset_result, gaps};
use crate::seal::{Binding, Paths, Row, Seal, load_sealed, open_partial, seal};
use cxr_core::{Label, ModelCard, SourceId};
use cxr_data::{Dataset, DatasetSplit, ReadOptions, open_dataset};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One dataset to evaluate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSpec {
    /// Its role.
    pub role: DatasetRole,
    /// Source.
    pub source: SourceId,
    /// Root folder on this machine.
    pub root: PathBuf,
}

impl DatasetSpec {
    /// The index read: CheXpert's internal test set is `valid.csv`; everything else is read whole.
    #[must_use]
    pub fn split(&self) -> DatasetSplit {
        if self.source == SourceId::Chexpert && self.role == DatasetRole::InternalTest { DatasetSplit::Valid } else { DatasetSplit::All }
    }
}

/// Read the image manifest only (no label is parsed).
///
/// # Errors
/// A bad index, or no image left to evaluate.
pub fn read_manifest(spec: &DatasetSpec, read: &ReadOptions) -> anyhow::Result<Dataset> {
    let opts = ReadOptions { manifest_only: true, ..read.clone() };
    let ds = open_dataset(spec.source, &spec.root, spec.split(), &opts)?;
    if ds.is_empty() {
        anyhow::bail!(
            "{}: no images to evaluate in {} ({} index rows excluded, e.g. {})",
            spec.root.display(),
            spec.source,
            ds.excluded.len(),
            ds.excluded.first().map_or_else(String::new, |e| format!("{}: {}", e.id, e.reason))
        );
    }
    Ok(ds)
}

/// Read the labels of the images that were sealed: the full index read again, checked against
/// the sealed manifest. Records that a `--lenient` label read skipped keep all-missing labels
/// and are counted.
///
/// # Errors
/// A bad label file, or a label read that lists other images than the manifest.
pub fn read_labels(spec: &DatasetSpec, read: &ReadOptions, manifest: &Dataset) -> anyhow::Result<Dataset> {
    let opts = ReadOptions { manifest_only: false, ..read.clone() };
    let mut full = open_dataset(spec.source, &spec.root, spec.split(), &opts)?;
    if full.image_manifest_hash() == manifest.image_manifest_hash() {
        return Ok(full);
    }
    let by_id: std::collections::HashMap<&str, usize> = full.records.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
    let extra = full.records.iter().filter(|r| !manifest.records.iter().any(|m| m.id == r.id)).count();
    if !read.lenient || extra > 0 {
        anyhow::bail!(
            "{}: the label read lists other images than the sealed manifest ({} of {} sealed images missing, {extra} new); the index changed during the run",
            spec.root.display(),
            manifest.records.iter().filter(|m| !by_id.contains_key(m.id.as_str())).count(),
            manifest.len()
        );
    }
    let mut rows = Vec::with_capacity(manifest.len());
    let mut unlabeled = 0;
    for m in &manifest.records {
        match by_id.get(m.id.as_str()) {
            Some(&i) => rows.push(full.labels.rows[i]),
            None => {
                unlabeled += 1;
                rows.push([Label::Missing; 9]);
            }
        }
    }
    full.report.counters.insert("label row skipped by the lenient label read (all labels missing)".into(), unlabeled);
    full.records = manifest.records.clone();
    full.excluded = manifest.excluded.clone();
    full.labels.rows = rows;
    Ok(full)
}

/// The binding of a dataset's predictions.
#[must_use]
pub fn binding(card: &ModelCard, model_sha256: &str, ds: &Dataset) -> Binding {
    Binding {
        model_sha256: model_sha256.to_string(),
        dataset: ds.source.name().to_string(),
        split: ds.split.clone(),
        image_manifest_hash: ds.image_manifest_hash(),
        images: ds.len(),
        labels: card.labels.iter().map(|f| f.name().to_string()).collect(),
        preprocess: card.preprocess,
    }
}

/// What one dataset's inference did (for provenance).
#[derive(Debug, Clone, Serialize)]
pub struct InferenceLog {
    /// `source/split`.
    pub dataset: String,
    /// Images already in a partial file when the run started (resumed).
    pub resumed_at: usize,
    /// Whether the predictions were already sealed (nothing run).
    pub already_sealed: bool,
    /// Images run now.
    pub images_run: usize,
    /// Seconds.
    pub seconds: f64,
    /// Images whose cached stages came from an HDF5 cache (the rest were decoded).
    pub from_cache: usize,
}

/// Run the model on a dataset's manifest and seal the predictions, resuming a partial file; or
/// load them when already sealed.
///
/// # Errors
/// An image that cannot be used (the first failure, named; NaN/Inf outputs list the images),
/// predictions of another model in the folder, or I/O.
pub fn predict_and_seal(model: &mut OpenModel, out: &Path, ds: &Dataset, batch_size: usize, caches: &Caches) -> anyhow::Result<(Seal, Vec<Row>, InferenceLog)> {
    let t0 = Instant::now();
    let b = binding(&model.card, &model.verified.sha256, ds);
    let paths = Paths::new(out, &b.dataset, &b.split);
    let ids: Vec<String> = ds.records.iter().map(|r| r.id.clone()).collect();
    let label = format!("{}/{}", b.dataset, b.split);
    if let Some((s, rows)) = load_sealed(&paths, &b, &ids)? {
        eprintln!("{label}: predictions already sealed ({}), not run again", paths.relative);
        return Ok((s, rows, InferenceLog { dataset: label, resumed_at: ds.len(), already_sealed: true, images_run: 0, seconds: 0.0, from_cache: 0 }));
    }
    let mut writer = open_partial(&paths, &b, &ids)?;
    let start = writer.rows;
    if start > 0 {
        eprintln!("{label}: resuming after {start} of {} images", ds.len());
    }
    let inputs = dataset_inputs(ds);
    let hits_before = caches.hits();
    let bar = progress(ds.len(), &label);
    bar.set_position(start as u64);
    run_stream(&mut model.session, &model.card, &inputs, start, batch_size, caches, &bar, |outcomes| {
        let failed: Vec<String> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Failed { index, error } => Some(format!("{} ({error})", ds.records[*index].id)),
                Outcome::Done { .. } => None,
            })
            .collect();
        if !failed.is_empty() {
            anyhow::bail!("{label}: {} image(s) cannot be used, nothing after them was predicted: {}", failed.len(), failed.join("; "));
        }
        let rows: Vec<Row> = outcomes
            .into_iter()
            .filter_map(|o| match o {
                Outcome::Done { index, image_blake3, probabilities } => Some(Row { id: ds.records[index].id.clone(), image_blake3, probabilities }),
                Outcome::Failed { .. } => None,
            })
            .collect();
        writer.append(&rows)?;
        Ok(())
    })?;
    bar.finish_and_clear();
    let s = seal(&paths, &b, writer)?;
    let rows = crate::seal::read_sealed_file(&paths, &s, &ids)?;
    eprintln!("{label}: {} predictions sealed in {} (blake3 {})", rows.len(), paths.relative, &s.predictions_blake3[..16]);
    Ok((s, rows, InferenceLog { dataset: label, resumed_at: start, already_sealed: false, images_run: ds.len() - start, seconds: t0.elapsed().as_secs_f64(), from_cache: caches.hits() - hits_before }))
}

/// blake3 of each index/label file, named relative to the dataset root.
///
/// # Errors
/// An unreadable file.
pub fn index_file_hashes(ds: &Dataset) -> anyhow::Result<Vec<Value>> {
    ds.index_files
        .iter()
        .map(|f| {
            let bytes = fs_err::read(f)?;
            let name = f.strip_prefix(&ds.root).unwrap_or(f).display().to_string();
            Ok(json!({"file": name, "blake3": blake3::hash(&bytes).to_hex().to_string()}))
        })
        .collect()
}

/// The metrics of one sealed dataset, with its audit block.
///
/// # Errors
/// An unreadable label file.
pub fn dataset_metrics(card: &ModelCard, policy: PolicyRecord, labelled: &Dataset, role: DatasetRole, s: &Seal, rows: &[Row]) -> anyhow::Result<DatasetResult> {
    let probs: Vec<Vec<f32>> = rows.iter().map(|r| r.probabilities.clone()).collect();
    let audit = json!({
        "image_manifest_hash": s.binding.image_manifest_hash,
        "predictions_file": s.predictions_file,
        "predictions_blake3": s.predictions_blake3,
        "index_and_label_files": index_file_hashes(labelled)?,
    });
    Ok(dataset_result(card, policy, labelled, role, &probs, audit))
}

/// How the indexes were read, as recorded in `results.json`.
#[must_use]
pub fn read_options_json(read: &ReadOptions) -> Value {
    json!({
        "frontal_only": read.frontal_only,
        "lenient": read.lenient,
        "allow_outside_root": read.allow_outside_root,
        "brax_dicom": read.brax_dicom,
        "vindr_voting": if read.vindr_voting == cxr_data::VindrVoting::Any { "any" } else { "majority" },
        "vindr_minority_uncertain": read.vindr_single_vote_uncertain,
    })
}

/// The reading options a `results.json` records (for `verify`).
///
/// # Errors
/// A missing or mistyped field.
pub fn read_options_from_json(v: &Value) -> anyhow::Result<ReadOptions> {
    let b = |k: &str| v[k].as_bool().ok_or_else(|| anyhow::anyhow!("read_options.{k} missing"));
    Ok(ReadOptions {
        frontal_only: b("frontal_only")?,
        lenient: b("lenient")?,
        allow_outside_root: b("allow_outside_root")?,
        brax_dicom: b("brax_dicom")?,
        vindr_voting: if v["vindr_voting"] == "any" { cxr_data::VindrVoting::Any } else { cxr_data::VindrVoting::Majority },
        vindr_single_vote_uncertain: b("vindr_minority_uncertain")?,
        locate_images: true,
        labels: None,
        manifest_only: false,
    })
}

/// Everything `run` needs besides the opened model.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// Datasets, internal first.
    pub datasets: Vec<DatasetSpec>,
    /// Output folder.
    pub out: PathBuf,
    /// Images per batch.
    pub batch_size: usize,
    /// Label policies.
    pub policies: PolicyOverrides,
    /// How indexes are read.
    pub read: ReadOptions,
    /// HDF5 image caches built for the card's preprocessing (`--cache`).
    pub caches: Vec<PathBuf>,
}

/// The results of a run before they are written.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Per dataset.
    pub results: Vec<DatasetResult>,
    /// Gaps.
    pub gaps: Vec<Value>,
    /// Per dataset inference log.
    pub inference: Vec<InferenceLog>,
    /// Ordered steps with seconds since the start (provenance).
    pub events: Vec<(f64, String)>,
}

/// Steps 1–4 of the module doc.
///
/// # Errors
/// Any failure, named; finished datasets stay sealed for a rerun.
pub fn run(model: &mut OpenModel, spec: &RunSpec) -> anyhow::Result<RunOutput> {
    let t0 = Instant::now();
    let mut events = Vec::new();
    let mut event = |s: String| {
        eprintln!("{s}");
        events.push((t0.elapsed().as_secs_f64(), s));
    };
    let caches = Caches::open(&spec.caches, &model.card.preprocess)?;
    if !spec.caches.is_empty() {
        event(format!("opened {} image caches built for the card's preprocessing", spec.caches.len()));
    }
    let manifests: Vec<Dataset> = spec.datasets.iter().map(|d| read_manifest(d, &spec.read)).collect::<anyhow::Result<_>>()?;
    event(format!("read {} image manifests (labels not parsed)", manifests.len()));
    let mut sealed = Vec::new();
    let mut inference = Vec::new();
    for m in &manifests {
        let (s, rows, log) = predict_and_seal(model, &spec.out, m, spec.batch_size, &caches)?;
        event(format!("sealed {} ({} rows, blake3 {})", s.predictions_file, rows.len(), s.predictions_blake3));
        sealed.push((s, rows));
        inference.push(log);
    }
    let mut results = Vec::new();
    for ((d, m), (s, rows)) in spec.datasets.iter().zip(&manifests).zip(&sealed) {
        let labelled = read_labels(d, &spec.read, m)?;
        event(format!("read labels of {}/{} after its seal", labelled.source, labelled.split));
        let r = dataset_metrics(&model.card, spec.policies.resolve(d.source), &labelled, d.role, s, rows)?;
        results.push(r);
    }
    let gaps = gaps(&results);
    Ok(RunOutput { results, gaps, inference, events })
}
