//! `cxr-eval`: evaluate frozen ONNX models on internal and external datasets.
//!
//! Exit codes: 0 success; 1 runtime failure (data, I/O, inference); 2 usage error; 4 ONNX Runtime
//! library not found or not loadable; 5 integrity refusal (no expected hash, hash mismatch,
//! missing or invalid model card); 6 requested execution provider unavailable.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use cxr_core::{BlankPolicy, LabelPolicy, SourceId, UncertainPolicy, write_atomic, write_json_atomic};
use cxr_data::{DatasetSplit, ReadOptions, open_dataset};
use cxr_evaluate::integrity::{IntegrityError, OpenModel, open, verify_bytes};
use cxr_evaluate::results::{BOOTSTRAP_REPLICATES, BOOTSTRAP_SEED, CALIBRATION_BINS, DatasetRole, RESULTS_SCHEMA_VERSION, dataset_result, gaps};
use cxr_runtime::{Provider, RuntimeError};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "cxr-eval", version, about = "Frozen evaluation of ONNX chest X-ray classifiers through ONNX Runtime")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct ModelArgs {
    /// The ONNX model (its hash is checked against MODEL.sha256 or --expect-sha256).
    #[arg(long)]
    model: PathBuf,
    /// Expected SHA-256 of the model file (instead of the .sha256 file beside it).
    #[arg(long)]
    expect_sha256: Option<String>,
    /// ONNX Runtime library (default: ORT_DYLIB_PATH, then <exe dir>/lib/).
    #[arg(long)]
    ort_lib: Option<PathBuf>,
    /// Execution provider: cpu, cuda or tensorrt.
    #[arg(long, default_value = "cpu", value_parser = Provider::parse)]
    ep: Provider,
    /// ONNX Runtime intra-op threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate on the internal test split and external datasets; writes OUT/results.json.
    Run {
        #[command(flatten)]
        model: ModelArgs,
        /// Internal test set as SOURCE=ROOT (CheXpert: its valid.csv is read).
        #[arg(long, value_parser = parse_dataset)]
        internal: Option<(SourceId, PathBuf)>,
        /// External dataset as SOURCE=ROOT (repeatable), e.g. nih=/data/nih.
        #[arg(long, value_parser = parse_dataset)]
        external: Vec<(SourceId, PathBuf)>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Images per inference batch.
        #[arg(long, default_value_t = 16)]
        batch_size: usize,
        /// Evaluation meaning of uncertain labels: ignore, positive or negative.
        #[arg(long, default_value = "ignore", value_parser = parse_uncertain)]
        uncertain: UncertainPolicy,
        /// Evaluation meaning of blank labels: negative or ignore.
        #[arg(long, default_value = "negative", value_parser = parse_blank)]
        blank: BlankPolicy,
        /// Evaluate lateral views (and images of unknown view) too.
        #[arg(long)]
        all_views: bool,
        /// Skip malformed index rows (each listed in results.json) instead of stopping.
        #[arg(long)]
        lenient: bool,
        /// Allow image paths outside a dataset root (data on network storage); recorded.
        #[arg(long)]
        allow_outside_root: bool,
        /// BRAX: read the DICOMs instead of the PNGs.
        #[arg(long)]
        brax_dicom: bool,
        /// VinDr: a finding is positive when any radiologist marked it (default: 2 of 3).
        #[arg(long)]
        vindr_any_radiologist: bool,
        /// VinDr: a finding marked by a minority of radiologists is uncertain (default: negative).
        #[arg(long)]
        vindr_minority_uncertain: bool,
    },
    /// Print probabilities for image files as CSV on stdout.
    Predict {
        #[command(flatten)]
        model: ModelArgs,
        /// Image files (PNG, JPEG, DICOM).
        images: Vec<PathBuf>,
    },
    /// Measure inference throughput (images/s) on the chosen execution provider; JSON on stdout.
    Bench {
        #[command(flatten)]
        model: ModelArgs,
        /// Batch sizes.
        #[arg(long, value_delimiter = ',', default_value = "1,8")]
        batch: Vec<usize>,
        /// Seconds per batch size.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// Check the model's hash (and, through ONNX Runtime, its card and interface).
    Verify {
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Print the model card and interface as JSON.
    Info {
        #[command(flatten)]
        model: ModelArgs,
    },
}

fn parse_dataset(s: &str) -> Result<(SourceId, PathBuf), String> {
    let (name, root) = s.split_once('=').ok_or_else(|| format!("expected SOURCE=ROOT, got {s:?}"))?;
    Ok((SourceId::parse(name)?, PathBuf::from(root)))
}
fn parse_uncertain(s: &str) -> Result<UncertainPolicy, String> {
    match s {
        "ignore" => Ok(UncertainPolicy::Ignore),
        "positive" => Ok(UncertainPolicy::Positive),
        "negative" => Ok(UncertainPolicy::Negative),
        _ => Err(format!("expected ignore, positive or negative, got {s:?} (smooth gives soft targets, not labels)")),
    }
}
fn parse_blank(s: &str) -> Result<BlankPolicy, String> {
    match s {
        "negative" => Ok(BlankPolicy::Negative),
        "ignore" => Ok(BlankPolicy::Ignore),
        _ => Err(format!("expected negative or ignore, got {s:?}")),
    }
}

fn open_model(m: &ModelArgs) -> anyhow::Result<OpenModel> {
    open(&m.model, m.expect_sha256.as_deref(), m.ort_lib.as_deref(), m.ep, m.threads)
}

fn exit_code(e: &anyhow::Error) -> u8 {
    for c in e.chain() {
        if c.downcast_ref::<IntegrityError>().is_some() {
            return 5;
        }
        match c.downcast_ref::<RuntimeError>() {
            Some(RuntimeError::LibraryNotFound { .. } | RuntimeError::Load { .. }) => return 4,
            Some(RuntimeError::ProviderUnavailable { .. }) => return 6,
            _ => {}
        }
    }
    1
}

#[allow(clippy::too_many_arguments)]
fn run(m: &ModelArgs, internal: Option<(SourceId, PathBuf)>, external: Vec<(SourceId, PathBuf)>, out: &Path, batch_size: usize, policy: LabelPolicy, read: &ReadOptions) -> anyhow::Result<()> {
    if internal.is_none() && external.is_empty() {
        anyhow::bail!("nothing to evaluate: give --internal and/or --external");
    }
    let t0 = std::time::Instant::now();
    let mut model = open_model(m)?;
    eprintln!("model {} ({}, sha256 {} verified by {})", m.model.display(), model.card.run_id, model.verified.sha256, model.verified.sha256_source);
    // Read every index before any inference: a bad dataset fails fast.
    let mut sets = Vec::new();
    if let Some((src, root)) = internal {
        let split = if src == SourceId::Chexpert { DatasetSplit::Valid } else { DatasetSplit::All };
        sets.push((DatasetRole::InternalTest, open_dataset(src, &root, split, read)?));
    }
    for (src, root) in external {
        sets.push((DatasetRole::External, open_dataset(src, &root, DatasetSplit::All, read)?));
    }
    let mut results = Vec::new();
    let mut pred_files = Vec::new();
    for (role, ds) in &sets {
        let label = format!("{}/{}", ds.source, ds.split);
        let p = cxr_evaluate::infer::predict(&mut model.session, &model.card, ds, batch_size, &label)
            .with_context(|| format!("evaluating {label}"))?;
        let r = dataset_result(&model.card, &policy, ds, *role, &p.probabilities);
        eprintln!("{label}: {} images, macro-AUROC {}", r.images, r.macro_auroc);
        let mut csv = String::from("id");
        for f in &model.card.labels {
            csv.push(',');
            csv.push_str(f.name());
        }
        csv.push('\n');
        for (rec, row) in ds.records.iter().zip(&p.probabilities) {
            csv.push_str(&rec.id);
            for v in row {
                csv.push_str(&format!(",{v:.7}"));
            }
            csv.push('\n');
        }
        pred_files.push((format!("predictions/{}-{}.csv", ds.source, ds.split), csv));
        results.push(r);
    }
    let card = &model.card;
    let doc = json!({
        "schema_version": RESULTS_SCHEMA_VERSION,
        "evaluator": format!("cxr-eval {}", env!("CARGO_PKG_VERSION")),
        "model": {
            "file": m.model.file_name().map(|n| n.to_string_lossy().into_owned()),
            "sha256": model.verified.sha256,
            "sha256_source": model.verified.sha256_source,
            "run_id": card.run_id, "arch": card.arch, "config_hash": card.config_hash,
            "weights_blake3": card.weights_blake3,
        },
        "card": card,
        "evaluation_label_policy": policy,
        "intervals": {
            "confidence": 0.95,
            "delong": "fast DeLong (Sun & Xu 2014), AUC ± 1.96·√Var clipped to [0, 1]",
            "bootstrap_replicates": BOOTSTRAP_REPLICATES,
            "bootstrap_seed": BOOTSTRAP_SEED,
            "bootstrap_unit": "patient",
            "calibration_bins": CALIBRATION_BINS,
        },
        "read_options": {
            "frontal_only": read.frontal_only,
            "lenient": read.lenient,
            "allow_outside_root": read.allow_outside_root,
            "brax_dicom": read.brax_dicom,
            "vindr_voting": if read.vindr_voting == cxr_data::VindrVoting::Any { "any" } else { "majority" },
            "vindr_minority_uncertain": read.vindr_single_vote_uncertain,
        },
        "execution_provider": model.provider.name(),
        "datasets": results,
        "generalization_gap": gaps(&results),
    });
    for (name, text) in &pred_files {
        write_atomic(&out.join(name), text.as_bytes())?;
    }
    write_json_atomic(
        &out.join("eval_provenance.json"),
        &json!({ "seconds": t0.elapsed().as_secs_f64(), "model_path": m.model, "ort_library": cxr_runtime::locate(m.ort_lib.as_deref()).ok().map(|r| r.path), "threads": m.threads, "batch_size": batch_size }),
    )?;
    // results.json last: its presence means the evaluation finished.
    write_json_atomic(&out.join("results.json"), &doc)?;
    print_table(&results, &doc);
    eprintln!("results: {}", out.join("results.json").display());
    Ok(())
}

fn print_table(results: &[cxr_evaluate::results::DatasetResult], doc: &serde_json::Value) {
    let Some(first) = results.first() else { return };
    let fmt = |v: &serde_json::Value| v.as_f64().map_or_else(|| "undefined".to_string(), |x| format!("{x:.3}"));
    print!("{:<18}", "label");
    for r in results {
        print!("{:>16}", format!("{}/{}", r.dataset, r.split));
    }
    println!();
    for (i, l) in first.labels.iter().enumerate() {
        print!("{:<18}", l.finding.name());
        for r in results {
            print!("{:>16}", fmt(&r.labels[i].auroc));
        }
        println!();
    }
    print!("{:<18}", "macro-AUROC");
    for r in results {
        print!("{:>16}", fmt(&r.macro_auroc));
    }
    println!();
    for g in doc["generalization_gap"].as_array().into_iter().flatten() {
        println!("gap {} - {}: {} over {} labels", g["internal"].as_str().unwrap_or(""), g["external"].as_str().unwrap_or(""), fmt(&g["macro_gap"]), g["labels"].as_array().map_or(0, Vec::len));
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.command {
        Command::Run { model, internal, external, out, batch_size, uncertain, blank, all_views, lenient, allow_outside_root, brax_dicom, vindr_any_radiologist, vindr_minority_uncertain } => {
            let policy = LabelPolicy { uncertain, blank, ..LabelPolicy::default() };
            let read = ReadOptions {
                frontal_only: !all_views,
                locate_images: true,
                lenient,
                allow_outside_root,
                brax_dicom,
                vindr_voting: if vindr_any_radiologist { cxr_data::VindrVoting::Any } else { cxr_data::VindrVoting::Majority },
                vindr_single_vote_uncertain: vindr_minority_uncertain,
                labels: None,
            };
            run(&model, internal, external, &out, batch_size, policy, &read)
        }
        Command::Predict { model, images } => (|| {
            let mut m = open_model(&model)?;
            let ds = cxr_evaluate::infer::files_dataset(&images);
            let p = cxr_evaluate::infer::predict(&mut m.session, &m.card, &ds, 16, "predict")?;
            print!("path");
            for f in &m.card.labels {
                print!(",{}", f.name());
            }
            println!();
            for (img, row) in images.iter().zip(&p.probabilities) {
                print!("{}", img.display());
                for v in row {
                    print!(",{v:.7}");
                }
                println!();
            }
            Ok(())
        })(),
        Command::Bench { model, batch, seconds } => (|| {
            let mut m = open_model(&model)?;
            let points = cxr_evaluate::bench::bench(&mut m, &batch, seconds)?;
            println!("{}", serde_json::to_string_pretty(&json!({ "provider": m.provider.name(), "threads": model.threads, "run_id": m.card.run_id, "input_size": m.card.preprocess.size, "points": points }))?);
            Ok(())
        })(),
        Command::Verify { model } => (|| {
            let (_, v) = verify_bytes(&model.model, model.expect_sha256.as_deref())?;
            let m = open_model(&model)?;
            println!("OK {} sha256 {} (verified by {}), card for run {}", model.model.display(), v.sha256, v.sha256_source, m.card.run_id);
            Ok(())
        })(),
        Command::Info { model } => (|| {
            let m = open_model(&model)?;
            let inputs: Vec<String> = m.session.inputs().iter().map(|i| i.name().to_string()).collect();
            let outputs: Vec<String> = m.session.outputs().iter().map(|o| o.name().to_string()).collect();
            println!("{}", serde_json::to_string_pretty(&json!({ "sha256": m.verified.sha256, "sha256_source": m.verified.sha256_source, "inputs": inputs, "outputs": outputs, "card": m.card }))?);
            Ok(())
        })(),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}
