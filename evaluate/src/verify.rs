//! `cxr-eval verify RUN_DIR`: re-check a finished evaluation from its sealed predictions.
//!
//! Checks, each reported: the model file still hashes to the recorded SHA-256; each dataset's
//! manifest (re-read without labels) matches its seal; each predictions file matches its seal's
//! blake3; every image file still hashes to the value sealed beside its prediction; the labels,
//! read again, reproduce every metric of `results.json` exactly (the whole `datasets` and
//! `generalization_gap` sections) and the CSV tables; and, with `--reinfer N`, N random images run
//! again through ONNX Runtime reproduce their sealed probabilities.

use crate::evaluation::{DatasetSpec, binding, dataset_metrics, read_labels, read_manifest, read_options_from_json};
use crate::infer::{Input, Outcome, run_stream};
use crate::policy::PolicyRecord;
use crate::results::gaps;
use crate::seal::{Paths, load_sealed};
use cxr_core::ModelCard;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Largest |difference| allowed between a re-run probability and the sealed one.
pub const REINFER_TOLERANCE: f32 = 1e-5;

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub check: String,
    /// Whether it held.
    pub ok: bool,
    /// Details (what differed).
    pub detail: String,
}

/// Options.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The run folder.
    pub run_dir: PathBuf,
    /// The model file (default: the path in `provenance.json`).
    pub model: Option<PathBuf>,
    /// ONNX Runtime library for `--reinfer`.
    pub ort_lib: Option<PathBuf>,
    /// Images to re-run.
    pub reinfer: usize,
    /// Seed of the image choice.
    pub seed: u64,
    /// Threads for `--reinfer`.
    pub threads: usize,
}

/// A JSON file written by `run` (`results.json`, `provenance.json`), errors naming the file.
///
/// # Errors
/// Unreadable or not JSON.
pub fn read_json(p: &Path) -> anyhow::Result<Value> {
    let text = fs_err::read_to_string(p)?;
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: not valid JSON: {e}", p.display()))
}

/// Run every check; the caller fails when any is not ok.
///
/// # Errors
/// A run folder that cannot be read at all (no results.json or provenance.json).
pub fn verify(o: &VerifyOptions) -> anyhow::Result<Vec<Check>> {
    let doc = read_json(&o.run_dir.join("results.json"))?;
    let prov = read_json(&o.run_dir.join("provenance.json"))?;
    let mut checks = Vec::new();
    let mut add = |check: String, ok: bool, detail: String| {
        eprintln!("{} {check}{}", if ok { "ok  " } else { "FAIL" }, if detail.is_empty() { String::new() } else { format!(": {detail}") });
        checks.push(Check { check, ok, detail });
    };
    let card: ModelCard = serde_json::from_value(doc["card"].clone()).map_err(|e| anyhow::anyhow!("results.json: card: {e}"))?;
    let sha = doc["model"]["sha256"].as_str().unwrap_or_default().to_string();
    let model_path = o.model.clone().or_else(|| prov["model_path"].as_str().map(PathBuf::from));
    match &model_path {
        Some(p) => match fs_err::read(p) {
            Ok(bytes) => {
                let actual = cxr_runtime::sha256_hex(&bytes);
                add(format!("model {} SHA-256", p.display()), actual == sha, if actual == sha { String::new() } else { format!("{actual}, results say {sha}") });
            }
            Err(e) => add("model file".into(), false, e.to_string()),
        },
        None => add("model file".into(), false, "no --model and no model_path in provenance.json".into()),
    }
    let read = read_options_from_json(&doc["read_options"])?;
    let specs: Vec<DatasetSpec> = serde_json::from_value(prov["datasets"].clone()).map_err(|e| anyhow::anyhow!("provenance.json: datasets: {e}"))?;
    let recorded = doc["datasets"].as_array().cloned().unwrap_or_default();
    if recorded.len() != specs.len() {
        add("datasets".into(), false, format!("results.json lists {}, provenance.json {}", recorded.len(), specs.len()));
        return Ok(checks);
    }
    let mut results = Vec::new();
    let mut sealed_all = Vec::new();
    for (spec, rec) in specs.iter().zip(&recorded) {
        let name = format!("{}/{}", spec.source, spec.split().name());
        let manifest = match read_manifest(spec, &read) {
            Ok(m) => m,
            Err(e) => {
                add(format!("{name}: manifest"), false, format!("{e:#}"));
                continue;
            }
        };
        let b = binding(&card, &sha, &manifest);
        let paths = Paths::new(&o.run_dir, &b.dataset, &b.split);
        let ids: Vec<String> = manifest.records.iter().map(|r| r.id.clone()).collect();
        let (s, rows) = match load_sealed(&paths, &b, &ids) {
            Ok(Some(x)) => x,
            Ok(None) => {
                add(format!("{name}: seal"), false, format!("{} missing", paths.seal.display()));
                continue;
            }
            Err(e) => {
                add(format!("{name}: seal and manifest"), false, e.to_string());
                continue;
            }
        };
        add(format!("{name}: manifest and predictions file match the seal ({} rows)", rows.len()), true, String::new());
        let bad: Vec<String> = manifest
            .records
            .par_iter()
            .zip(&rows)
            .filter_map(|(r, row)| match fs_err::read(&r.path) {
                Ok(bytes) if blake3::hash(&bytes).to_hex().as_str() == row.image_blake3 => None,
                Ok(_) => Some(format!("{} changed", r.id)),
                Err(e) => Some(format!("{}: {e}", r.id)),
            })
            .collect();
        add(format!("{name}: image file hashes"), bad.is_empty(), summarize(&bad));
        let policy: PolicyRecord = serde_json::from_value(rec["label_policy"].clone()).map_err(|e| anyhow::anyhow!("results.json: label_policy: {e}"))?;
        let recomputed = read_labels(spec, &read, &manifest).and_then(|l| dataset_metrics(&card, policy, &l, spec.role, &s, &rows));
        match recomputed {
            Ok(r) => {
                let v = serde_json::to_value(&r)?;
                add(format!("{name}: metrics recomputed from the sealed predictions"), v == *rec, if v == *rec { String::new() } else { first_difference(rec, &v, "") });
                results.push(r);
            }
            Err(e) => add(format!("{name}: labels"), false, format!("{e:#}")),
        }
        sealed_all.push((manifest, rows));
    }
    if results.len() == recorded.len() {
        let g = serde_json::to_value(gaps(&results))?;
        add("generalization gaps recomputed".into(), g == doc["generalization_gap"], if g == doc["generalization_gap"] { String::new() } else { first_difference(&doc["generalization_gap"], &g, "") });
        for (file, text) in crate::tables::run_tables(&doc) {
            let on_disk = fs_err::read_to_string(o.run_dir.join(&file)).unwrap_or_default();
            add(format!("{file} matches results.json"), on_disk == text, String::new());
        }
    }
    if o.reinfer > 0 {
        reinfer(o, model_path.as_deref(), &sealed_all, &mut add)?;
    }
    Ok(checks)
}

fn summarize(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        n => format!("{n}: {}{}", items.iter().take(10).cloned().collect::<Vec<_>>().join("; "), if n > 10 { "; …" } else { "" }),
    }
}

/// The first path where two JSON values differ.
fn first_difference(a: &Value, b: &Value, at: &str) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let p = format!("{at}.{k}");
                match y.get(k) {
                    Some(w) if w == v => {}
                    Some(w) => return first_difference(v, w, &p),
                    None => return format!("{p} missing when recomputed"),
                }
            }
            format!("{at}: extra keys when recomputed")
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find(|(_, (v, w))| v != w).map_or_else(String::new, |(i, (v, w))| first_difference(v, w, &format!("{at}[{i}]")))
        }
        _ => format!("{at}: recorded {a}, recomputed {b}"),
    }
}

fn reinfer(o: &VerifyOptions, model: Option<&Path>, sealed: &[(cxr_data::Dataset, Vec<crate::seal::Row>)], add: &mut impl FnMut(String, bool, String)) -> anyhow::Result<()> {
    let Some(model) = model else {
        add("reinfer".into(), false, "no model file".into());
        return Ok(());
    };
    let mut m = crate::integrity::open(model, None, o.ort_lib.as_deref(), &cxr_runtime::EpOptions::new(cxr_runtime::Provider::Cpu), o.threads).or_else(|_| {
        // The sidecar may be absent where the run was copied; the SHA-256 was checked above.
        let sha = cxr_runtime::sha256_hex(&fs_err::read(model)?);
        crate::integrity::open(model, Some(&sha), o.ort_lib.as_deref(), &cxr_runtime::EpOptions::new(cxr_runtime::Provider::Cpu), o.threads)
    })?;
    let mut all: Vec<(usize, usize)> = sealed.iter().enumerate().flat_map(|(d, (ds, _))| (0..ds.len()).map(move |i| (d, i))).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(o.seed);
    all.shuffle(&mut rng);
    all.truncate(o.reinfer);
    all.sort_unstable();
    let inputs: Vec<Input> = all.iter().map(|&(d, i)| Input { path: sealed[d].0.records[i].path.clone(), bits_stored: sealed[d].0.records[i].bits_stored }).collect();
    let bar = indicatif::ProgressBar::hidden();
    let mut worst = 0.0f32;
    let mut bad = Vec::new();
    run_stream(&mut m.session, &m.card, &inputs, 0, 16, &crate::caches::Caches::none(), &bar, |outcomes| {
        for oc in outcomes {
            let (d, i) = all[oc.index()];
            let (ds, rows) = &sealed[d];
            match oc {
                Outcome::Done { probabilities, image_blake3, .. } => {
                    let diff = probabilities.iter().zip(&rows[i].probabilities).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                    worst = worst.max(diff);
                    if diff > REINFER_TOLERANCE || image_blake3 != rows[i].image_blake3 {
                        bad.push(format!("{}/{}: max |Δp| {diff:e}", ds.source, ds.records[i].id));
                    }
                }
                Outcome::Failed { error, .. } => bad.push(error),
            }
        }
        Ok(())
    })?;
    add(format!("reinfer {} random images (seed {}, tolerance {REINFER_TOLERANCE:e}, max |Δp| {worst:e})", inputs.len(), o.seed), bad.is_empty(), summarize(&bad));
    Ok(())
}
