//! `cxr-data`: generate phantom studies, summarize datasets, render the label-mapping document.
//!
//! Exit codes: 0 success, 1 runtime failure (I/O, bad data, images that fail `--check-images`),
//! 2 usage error.

use anyhow::Context;
use clap::{Parser, Subcommand};
use cxr_core::{Finding, SHARED9, SourceId};
use cxr_data::cache::{CacheDtype, build_cache};
use cxr_data::phantom::{PhantomConfig, generate};
use cxr_data::{Dataset, DatasetSplit, ReadOptions, VindrVoting, load_gray_hinted, open_dataset};
use rayon::prelude::*;
use serde_json::{Value, json};
use std::path::PathBuf;

mod bench;
mod preview;
mod spec;

#[derive(Parser)]
#[command(name = "cxr-data", version, about = "Phantom studies, dataset summaries and the label-mapping document")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a deterministic phantom study (a CheXpert-format training site and NIH, MIMIC,
    /// PadChest, VinDr and BRAX-format external sites) into OUT. Idempotent: an existing study
    /// with the same settings is kept.
    Phantom {
        /// Output folder (must be new, empty, or an earlier phantom study with the same settings).
        out: PathBuf,
        /// Master seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Nominal image height in pixels.
        #[arg(long, default_value_t = 96)]
        size: u32,
        /// CheXpert training patients.
        #[arg(long, default_value_t = 300)]
        train_patients: usize,
        /// CheXpert validation (internal test) patients.
        #[arg(long, default_value_t = 100)]
        valid_patients: usize,
        /// NIH patients.
        #[arg(long, default_value_t = 200)]
        nih_patients: usize,
        /// MIMIC-CXR-JPG patients.
        #[arg(long, default_value_t = 150)]
        mimic_patients: usize,
        /// PadChest patients.
        #[arg(long, default_value_t = 150)]
        padchest_patients: usize,
        /// VinDr-CXR images.
        #[arg(long, default_value_t = 150)]
        vindr_images: usize,
        /// BRAX patients.
        #[arg(long, default_value_t = 150)]
        brax_patients: usize,
        /// Plant a chest drain co-occurring with this finding at the training site
        /// (e.g. "Pneumothorax").
        #[arg(long)]
        shortcut: Option<Finding>,
    },
    /// Read a dataset's label files and print image, patient and four-state label counts (all
    /// images and frontal images) as JSON on stdout.
    Summary {
        /// Dataset kind: chexpert, mimic, nih, padchest, vindr, brax or generic.
        #[arg(long, value_parser = SourceId::parse)]
        dataset: SourceId,
        /// Dataset root (the folder holding the label files and images in the dataset's layout).
        #[arg(long)]
        root: PathBuf,
        /// The label file, when it is not at its standard place under the root (a .csv.gz copy,
        /// VinDr's Kaggle train.csv, a generic CSV elsewhere).
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Also check that every image exists and decodes; failures are listed (exit 1).
        #[arg(long)]
        check_images: bool,
        /// Skip malformed rows (each listed) instead of stopping at the first.
        #[arg(long)]
        lenient: bool,
        /// Allow image paths outside the root (data on network storage); recorded.
        #[arg(long)]
        allow_outside_root: bool,
        /// BRAX: read the DICOMs (DicomPath) instead of the PNGs (PngPath).
        #[arg(long)]
        brax_dicom: bool,
        /// VinDr: a finding is positive when any radiologist marked it (default: 2 of 3).
        #[arg(long)]
        vindr_any_radiologist: bool,
        /// VinDr: a finding marked by a minority of radiologists is uncertain (default: negative).
        #[arg(long)]
        vindr_minority_uncertain: bool,
    },
    /// Print the label-mapping document (docs/label-mapping.md) generated from the readers' tables.
    MappingDoc,
    /// The HDF5 image cache.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Preprocessing throughput on one core (decode + resize + normalize, CLAHE, cache reads and
    /// builds) on files it writes into DIR; JSON on stdout (scripts/bench_preprocess.sh runs the
    /// Python peers on the same files).
    Bench {
        /// Folder for the generated inputs.
        #[arg(long)]
        dir: PathBuf,
        /// Phantom images in the cache.
        #[arg(long, default_value_t = 600)]
        cache_images: usize,
        /// Seconds per timed measurement (best of 3).
        #[arg(long, default_value_t = 1.0)]
        min_seconds: f64,
    },
    /// Write a PNG grid of a few images under each preprocessing strategy (rows: images,
    /// columns: strategies) and its legend beside it (.json); prints the legend.
    Preview {
        #[command(flatten)]
        data: DataArgs,
        /// Output PNG.
        #[arg(long)]
        out: PathBuf,
        /// Images (spread evenly over the dataset).
        #[arg(long, default_value_t = 4)]
        images: usize,
        /// Tile side in pixels.
        #[arg(long, default_value_t = 256)]
        size: u32,
        /// Strategies, comma-separated, or `all`: default, imagenet, minmax, zscore, histogram,
        /// roi, roi_histogram, clahe.
        #[arg(long, value_delimiter = ',', default_value = "all")]
        strategies: Vec<String>,
    },
}

/// Which dataset a command reads.
#[derive(clap::Args)]
struct DataArgs {
    /// Dataset kind: chexpert, mimic, nih, padchest, vindr, brax or generic.
    #[arg(long, value_parser = SourceId::parse)]
    dataset: SourceId,
    /// Dataset root.
    #[arg(long)]
    root: PathBuf,
    /// The label file, when it is not at its standard place under the root.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Which index: all, train or valid (CheXpert's files; other sources read everything).
    #[arg(long, default_value = "all")]
    split: String,
    /// Keep lateral views too (default: frontal only, as training and evaluation read).
    #[arg(long)]
    all_views: bool,
}

impl DataArgs {
    fn open(&self) -> anyhow::Result<Dataset> {
        let split = match self.split.as_str() {
            "all" => DatasetSplit::All,
            "train" => DatasetSplit::Train,
            "valid" => DatasetSplit::Valid,
            other => anyhow::bail!("--split {other:?}: all, train or valid"),
        };
        let opts = ReadOptions { frontal_only: !self.all_views, locate_images: true, labels: self.labels.clone(), ..ReadOptions::default() };
        Ok(open_dataset(self.dataset, &self.root, split, &opts)?)
    }
}

#[derive(Subcommand)]
enum CacheCommand {
    /// Store every image of a dataset preprocessed by a spec's cached stages (ROI crop, aspect,
    /// resize, intensity mapping) in an HDF5 file, in parallel. Resumes an interrupted build;
    /// refuses to add to a cache built for another spec. Prints a JSON report.
    Build {
        #[command(flatten)]
        data: DataArgs,
        /// The spec: a run config (.toml), a run directory, a model card (model_card.json), a
        /// resolved.json or a preprocess_fit.json.
        #[arg(long)]
        spec: PathBuf,
        /// Output file (.h5).
        #[arg(long)]
        out: PathBuf,
        /// Storage: auto (8-bit when the working depth is), u8 or u16.
        #[arg(long, default_value = "auto")]
        dtype: String,
    },
    /// Print a cache's attributes and counts as JSON.
    Info {
        /// The cache file.
        cache: PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

fn label_counts(ds: &Dataset, keep: impl Fn(usize) -> bool) -> Value {
    let rows: Vec<_> = ds.labels.rows.iter().enumerate().filter(|(i, _)| keep(*i)).map(|(_, r)| *r).collect();
    let table = cxr_data::LabelTable { covered: ds.labels.covered, rows };
    SHARED9
        .into_iter()
        .map(|f: Finding| {
            let [p, n, u, m] = table.counts(f);
            (f.name().to_string(), json!({"positive": p, "negative": n, "uncertain": u, "missing": m}))
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Check every image in parallel (exists, stays inside the root unless allowed, decodes); the
/// failures, listed.
fn check_images(ds: &Dataset, allow_outside_root: bool) -> anyhow::Result<Vec<Value>> {
    let root = std::fs::canonicalize(&ds.root).with_context(|| format!("{}", ds.root.display()))?;
    let bar = indicatif::ProgressBar::new(ds.len() as u64)
        .with_style(indicatif::ProgressStyle::with_template("checking images {bar:30} {pos}/{len} {eta}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
    let failures: Vec<Value> = ds
        .records
        .par_iter()
        .filter_map(|r| {
            let res = cxr_data::sources::resolve_inside_root(&r.path, &root, allow_outside_root).and_then(|_| load_gray_hinted(&r.path, r.bits_stored)).map_err(|e| e.to_string());
            bar.inc(1);
            res.err().map(|e| json!({"id": r.id, "path": r.path, "error": e}))
        })
        .collect();
    bar.finish_and_clear();
    Ok(failures)
}

fn summary(dataset: SourceId, root: PathBuf, opts: &ReadOptions, check: bool) -> anyhow::Result<()> {
    let ds = open_dataset(dataset, &root, DatasetSplit::All, opts)?;
    let patients: std::collections::HashSet<&str> = ds.records.iter().map(|r| r.patient_id.as_str()).collect();
    let studies: std::collections::HashSet<(&str, &str)> = ds.records.iter().filter_map(|r| r.study_id.as_deref().map(|s| (r.patient_id.as_str(), s))).collect();
    let frontal: Vec<bool> = ds.records.iter().map(|r| r.frontal).collect();
    let mut splits = std::collections::BTreeMap::<String, usize>::new();
    for r in &ds.records {
        *splits.entry(r.official_split.clone().unwrap_or_else(|| "none".into())).or_default() += 1;
    }
    let mut doc = json!({
        "dataset": dataset.name(),
        "images": ds.len(),
        "frontal_images": frontal.iter().filter(|f| **f).count(),
        "patients": patients.len(),
        "studies": studies.len(),
        "official_split": splits,
        "labels": {
            "all": label_counts(&ds, |_| true),
            "frontal": label_counts(&ds, |i| frontal[i]),
        },
        "covered": SHARED9.iter().filter(|f| ds.labels.covered[f.index()]).map(|f| f.name()).collect::<Vec<_>>(),
        "index_files": ds.index_files,
        "skipped_rows": ds.report.skipped_rows.iter().map(|s| &s.error).collect::<Vec<_>>(),
        "unknown_tokens": ds.report.unknown_tokens,
        "counters": ds.report.counters,
        "outside_root_allowed": ds.report.outside_root_allowed,
        "outside_root_paths": ds.report.outside_root_paths,
        "excluded": ds.excluded.len(),
        "manifest_hash": ds.manifest_hash(),
    });
    let failures = if check { Some(check_images(&ds, opts.allow_outside_root)?) } else { None };
    if let Some(f) = &failures {
        doc["image_check"] = json!({"checked": ds.len(), "failed": f.len(), "failures": f});
    }
    println!("{}", serde_json::to_string_pretty(&doc)?);
    if let Some(f) = failures.filter(|f| !f.is_empty()) {
        anyhow::bail!("{} of {} images failed to decode (listed under image_check.failures)", f.len(), ds.len());
    }
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Phantom { out, seed, size, train_patients, valid_patients, nih_patients, mimic_patients, padchest_patients, vindr_images, brax_patients, shortcut } => {
            let cfg = PhantomConfig {
                seed,
                size,
                chexpert_train_patients: train_patients,
                chexpert_valid_patients: valid_patients,
                nih_patients,
                mimic_patients,
                padchest_patients,
                vindr_images,
                brax_patients,
                shortcut,
                lateral_fraction: 0.12,
            };
            eprintln!("generating phantom study in {}", out.display());
            let s = generate(&out, &cfg).with_context(|| format!("generating phantom study in {}", out.display()))?;
            println!("{}", serde_json::to_string_pretty(&s)?);
        }
        Command::Summary { dataset, root, labels, check_images, lenient, allow_outside_root, brax_dicom, vindr_any_radiologist, vindr_minority_uncertain } => {
            let opts = ReadOptions {
                frontal_only: false,
                lenient,
                allow_outside_root,
                labels,
                locate_images: false,
                vindr_voting: if vindr_any_radiologist { VindrVoting::Any } else { VindrVoting::Majority },
                vindr_single_vote_uncertain: vindr_minority_uncertain,
                brax_dicom,
                manifest_only: false,
            };
            summary(dataset, root, &opts, check_images)?;
        }
        Command::MappingDoc => print!("{}", cxr_data::sources::mapping_markdown()),
        Command::Cache(CacheCommand::Build { data, spec, out, dtype }) => {
            let dtype = match dtype.as_str() {
                "auto" => CacheDtype::Auto,
                "u8" => CacheDtype::U8,
                "u16" => CacheDtype::U16,
                other => anyhow::bail!("--dtype {other:?}: auto, u8 or u16"),
            };
            let spec = spec::load_spec(&spec)?;
            let ds = data.open()?;
            let bar = indicatif::ProgressBar::new(ds.len() as u64)
                .with_style(indicatif::ProgressStyle::with_template("caching {bar:30} {pos}/{len} images {per_sec} {eta}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
            let t0 = std::time::Instant::now();
            let report = build_cache(&out, &spec, &ds, dtype, &|| bar.inc(1))?;
            bar.finish_and_clear();
            let mut doc = serde_json::to_value(&report)?;
            doc["seconds"] = json!(t0.elapsed().as_secs_f64());
            println!("{}", serde_json::to_string_pretty(&doc)?);
            if !report.failed.is_empty() {
                anyhow::bail!("{} of {} images could not be prepared (listed under failed); the rest are cached", report.failed.len(), report.images);
            }
        }
        Command::Cache(CacheCommand::Info { cache }) => println!("{}", serde_json::to_string_pretty(&cxr_data::cache::info(&cache)?)?),
        Command::Bench { dir, cache_images, min_seconds } => println!("{}", serde_json::to_string_pretty(&bench::bench(&dir, cache_images, min_seconds)?)?),
        Command::Preview { data, out, images, size, strategies } => {
            let ds = data.open()?;
            let legend = preview::preview(&ds, &preview::strategies(&strategies)?, images, size, &out)?;
            eprintln!(
                "wrote {} ({} images x {} strategies; columns: {})",
                out.display(),
                legend["rows"].as_array().map_or(0, Vec::len),
                legend["columns"].as_array().map_or(0, Vec::len),
                legend["columns"]
            );
            println!("{}", serde_json::to_string_pretty(&legend)?);
        }
    }
    Ok(())
}
