//! `cxr-data`: generate phantom studies and summarize datasets.
//!
//! Exit codes: 0 success, 1 runtime failure (I/O, bad data), 2 usage error.

use anyhow::Context;
use clap::{Parser, Subcommand};
use cxr_core::{Finding, SHARED9, SourceId};
use cxr_data::phantom::{PhantomConfig, generate};
use cxr_data::{DatasetSplit, open_dataset};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "cxr-data", version, about = "Phantom studies and dataset summaries")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a deterministic phantom study (CheXpert-format training site, NIH-format external
    /// site) into OUT. Idempotent: an existing study with the same settings is kept.
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
        /// Plant a chest drain co-occurring with this finding at the training site
        /// (e.g. "Pneumothorax").
        #[arg(long)]
        shortcut: Option<Finding>,
    },
    /// Read a dataset's index and print its manifest and label summary as JSON.
    Summary {
        /// Dataset kind: chexpert or nih.
        #[arg(long, value_parser = SourceId::parse)]
        dataset: SourceId,
        /// Dataset root (CheXpert: the folder holding train.csv; NIH: the folder holding
        /// Data_Entry_2017.csv).
        root: PathBuf,
        /// Index: train, valid (CheXpert) or all (NIH).
        #[arg(long, default_value = "all")]
        split: String,
        /// Keep lateral views too.
        #[arg(long)]
        all_views: bool,
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

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Phantom { out, seed, size, train_patients, valid_patients, nih_patients, shortcut } => {
            let cfg = PhantomConfig {
                seed,
                size,
                chexpert_train_patients: train_patients,
                chexpert_valid_patients: valid_patients,
                nih_patients,
                shortcut,
                lateral_fraction: 0.12,
            };
            eprintln!("generating phantom study in {}", out.display());
            let s = generate(&out, &cfg).with_context(|| format!("generating phantom study in {}", out.display()))?;
            println!("{}", serde_json::to_string_pretty(&s)?);
        }
        Command::Summary { dataset, root, split, all_views } => {
            let split = match split.as_str() {
                "train" => DatasetSplit::Train,
                "valid" => DatasetSplit::Valid,
                "all" => DatasetSplit::All,
                other => anyhow::bail!("unknown split {other:?}; valid: train, valid, all"),
            };
            let ds = open_dataset(dataset, &root, split, !all_views)?;
            let labels: serde_json::Map<String, serde_json::Value> = SHARED9
                .into_iter()
                .map(|f: Finding| {
                    let [p, n, u, m] = ds.labels.counts(f);
                    (f.name().to_string(), serde_json::json!({"positive": p, "negative": n, "uncertain": u, "missing": m, "covered": ds.labels.covered[f.index()]}))
                })
                .collect();
            let patients: std::collections::HashSet<&str> = ds.records.iter().map(|r| r.patient_id.as_str()).collect();
            let summary = serde_json::json!({
                "dataset": dataset.name(),
                "split": ds.split,
                "root": ds.root,
                "index_files": ds.index_files,
                "images": ds.len(),
                "patients": patients.len(),
                "excluded": ds.excluded.len(),
                "excluded_examples": ds.excluded.iter().take(20).collect::<Vec<_>>(),
                "manifest_hash": ds.manifest_hash(),
                "labels": labels,
            });
            println!("{}", serde_json::to_string_pretty(&summary)?);
        }
    }
    Ok(())
}
