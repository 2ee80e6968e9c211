//! Command-line arguments (clap derive).

use clap::{Args, Parser, Subcommand};
use cxr_core::{BlankPolicy, SourceId, UncertainPolicy};
use cxr_data::ReadOptions;
use cxr_evaluate::policy::{PolicyOverrides, parse_blank, parse_dataset_policy, parse_uncertain};
use cxr_evaluate::predict::Format;
use cxr_runtime::{EpOptions, Provider};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "cxr-eval", version, about = "Frozen evaluation of ONNX chest X-ray classifiers through ONNX Runtime")]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Args, Clone)]
pub(crate) struct ModelArgs {
    /// The ONNX model (its hash is checked against MODEL.sha256 or --expect-sha256).
    #[arg(long)]
    pub(crate) model: PathBuf,
    /// Expected SHA-256 of the model file (instead of the .sha256 file beside it).
    #[arg(long)]
    pub(crate) expect_sha256: Option<String>,
    /// ONNX Runtime library (default: ORT_DYLIB_PATH, then <exe dir>/lib/).
    #[arg(long)]
    pub(crate) ort_lib: Option<PathBuf>,
    /// Execution provider: cpu, cuda or tensorrt. Unavailable → exit 6, unless --ep-fallback.
    #[arg(long, default_value = "cpu", value_parser = Provider::parse)]
    pub(crate) ep: Provider,
    /// Run on the CPU (recorded in the results) when the requested provider is unavailable.
    #[arg(long)]
    pub(crate) ep_fallback: bool,
    /// GPU ordinal for cuda and tensorrt.
    #[arg(long, default_value_t = 0)]
    pub(crate) device_id: i32,
    /// TensorRT: build fp16 engines.
    #[arg(long)]
    pub(crate) trt_fp16: bool,
    /// TensorRT: cache engines (and timing data) in this folder across runs.
    #[arg(long)]
    pub(crate) trt_engine_cache: Option<PathBuf>,
    /// ONNX Runtime intra-op threads.
    #[arg(long, default_value_t = 2)]
    pub(crate) threads: usize,
}

impl ModelArgs {
    pub(crate) fn ep_options(&self) -> EpOptions {
        EpOptions { provider: self.ep, device_id: self.device_id, trt_fp16: self.trt_fp16, trt_engine_cache: self.trt_engine_cache.clone(), fallback: self.ep_fallback }
    }
}

#[derive(Args, Clone)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) model: ModelArgs,
    /// Internal test set as SOURCE=ROOT (CheXpert: its valid.csv is read).
    #[arg(long, value_parser = parse_dataset)]
    pub(crate) internal: Option<(SourceId, PathBuf)>,
    /// External dataset as SOURCE=ROOT (repeatable), e.g. nih=/data/nih.
    #[arg(long, value_parser = parse_dataset)]
    pub(crate) external: Vec<(SourceId, PathBuf)>,
    /// Output folder (a rerun resumes there; predictions of another model are refused).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Images per inference batch.
    #[arg(long, default_value_t = 16)]
    pub(crate) batch_size: usize,
    /// An HDF5 image cache built for the card's preprocessing (`cxr-data cache build`;
    /// repeatable). Images it holds skip decoding; needs a build with the `cache` feature.
    #[arg(long)]
    pub(crate) cache: Vec<PathBuf>,
    /// Uncertain labels on every dataset: ignore (mask), positive or negative (default: each
    /// source's documented default).
    #[arg(long, value_parser = parse_uncertain)]
    pub(crate) uncertain: Option<UncertainPolicy>,
    /// Blank labels on every dataset: negative or ignore (mask) (default: per source).
    #[arg(long, value_parser = parse_blank)]
    pub(crate) blank: Option<BlankPolicy>,
    /// One dataset's policy, e.g. mimic:uncertain=positive,blank=ignore (repeatable; wins).
    #[arg(long = "policy", value_parser = parse_dataset_policy)]
    pub(crate) per_dataset: Vec<(SourceId, Option<UncertainPolicy>, Option<BlankPolicy>)>,
    /// Evaluate lateral views (and images of unknown view) too.
    #[arg(long)]
    pub(crate) all_views: bool,
    /// Skip malformed index rows (each listed in results.json) instead of stopping.
    #[arg(long)]
    pub(crate) lenient: bool,
    /// Allow image paths outside a dataset root (data on network storage); recorded.
    #[arg(long)]
    pub(crate) allow_outside_root: bool,
    /// BRAX: read the DICOMs instead of the PNGs.
    #[arg(long)]
    pub(crate) brax_dicom: bool,
    /// VinDr: a finding is positive when any radiologist marked it (default: 2 of 3).
    #[arg(long)]
    pub(crate) vindr_any_radiologist: bool,
    /// VinDr: a finding marked by a minority of radiologists is uncertain (default: negative).
    #[arg(long)]
    pub(crate) vindr_minority_uncertain: bool,
}

impl RunArgs {
    pub(crate) fn policies(&self) -> PolicyOverrides {
        PolicyOverrides { uncertain: self.uncertain, blank: self.blank, per_dataset: self.per_dataset.clone() }
    }

    pub(crate) fn read_options(&self) -> ReadOptions {
        ReadOptions {
            frontal_only: !self.all_views,
            locate_images: true,
            lenient: self.lenient,
            allow_outside_root: self.allow_outside_root,
            brax_dicom: self.brax_dicom,
            vindr_voting: if self.vindr_any_radiologist { cxr_data::VindrVoting::Any } else { cxr_data::VindrVoting::Majority },
            vindr_single_vote_uncertain: self.vindr_minority_uncertain,
            labels: None,
            manifest_only: false,
        }
    }
}

#[derive(Args, Clone)]
pub(crate) struct PredictArgs {
    #[command(flatten)]
    pub(crate) model: ModelArgs,
    /// Image files and folders (walked recursively): PNG, JPEG, DICOM.
    #[arg(required = true)]
    pub(crate) inputs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub(crate) format: Format,
    /// Write here (atomically) instead of stdout.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Refuse images whose DICOM header states a non-frontal view (error rows, exit 3).
    #[arg(long)]
    pub(crate) frontal_only: bool,
    /// Keep paths, patient identifiers and DICOM tags out of every output.
    #[arg(long)]
    pub(crate) deidentify: bool,
    /// Images per batch.
    #[arg(long, default_value_t = 16)]
    pub(crate) batch_size: usize,
}

#[derive(Args, Clone)]
pub(crate) struct BenchArgs {
    #[command(flatten)]
    pub(crate) model: ModelArgs,
    /// Batch sizes.
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    pub(crate) batch: Vec<usize>,
    /// Seconds per batch size (inference only).
    #[arg(long, default_value_t = 5.0)]
    pub(crate) seconds: f64,
    /// Warm-up runs per batch size.
    #[arg(long, default_value_t = 3)]
    pub(crate) warmup: usize,
    /// Timed runs at least.
    #[arg(long, default_value_t = 5)]
    pub(crate) min_runs: usize,
    /// Also time the pipeline end to end on a dataset's images, SOURCE=ROOT.
    #[arg(long, value_parser = parse_dataset)]
    pub(crate) dataset: Option<(SourceId, PathBuf)>,
    /// At most this many images of the dataset.
    #[arg(long)]
    pub(crate) images: Option<usize>,
    /// Passes over the dataset's images per batch size.
    #[arg(long, default_value_t = 1)]
    pub(crate) passes: usize,
}

#[derive(Args, Clone)]
pub(crate) struct VerifyArgs {
    /// A folder written by `cxr-eval run`.
    pub(crate) run_dir: PathBuf,
    /// The model file (default: the path recorded in provenance.json).
    #[arg(long)]
    pub(crate) model: Option<PathBuf>,
    /// Re-run this many random images and compare with their sealed predictions.
    #[arg(long, default_value_t = 0)]
    pub(crate) reinfer: usize,
    /// Seed of the --reinfer choice.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// ONNX Runtime library.
    #[arg(long)]
    pub(crate) ort_lib: Option<PathBuf>,
    /// Threads for --reinfer.
    #[arg(long, default_value_t = 2)]
    pub(crate) threads: usize,
}

#[derive(Args, Clone)]
pub(crate) struct ModelOnly {
    #[command(flatten)]
    pub(crate) model: ModelArgs,
}

/// `cxr-eval info MODEL.onnx`.
#[derive(Args, Clone)]
pub(crate) struct InfoArgs {
    /// The ONNX model (its hash is checked against MODEL.sha256 or --expect-sha256).
    #[arg(value_name = "MODEL")]
    pub(crate) path: Option<PathBuf>,
    /// The model, as the other commands take it.
    #[arg(long = "model", conflicts_with = "path")]
    pub(crate) model_flag: Option<PathBuf>,
    /// Expected SHA-256 of the model file.
    #[arg(long)]
    pub(crate) expect_sha256: Option<String>,
    /// ONNX Runtime library.
    #[arg(long)]
    pub(crate) ort_lib: Option<PathBuf>,
}

impl InfoArgs {
    /// The CPU model arguments for this file.
    pub(crate) fn model_args(&self) -> Option<ModelArgs> {
        Some(ModelArgs {
            model: self.path.clone().or_else(|| self.model_flag.clone())?,
            expect_sha256: self.expect_sha256.clone(),
            ort_lib: self.ort_lib.clone(),
            ep: Provider::Cpu,
            ep_fallback: false,
            device_id: 0,
            trt_fp16: false,
            trt_engine_cache: None,
            threads: 1,
        })
    }
}

#[derive(Args, Clone)]
pub(crate) struct ParityArgs {
    #[command(flatten)]
    pub(crate) model: ModelArgs,
    /// Random inputs compared.
    #[arg(long, default_value_t = 8)]
    pub(crate) inputs: usize,
    /// Their seed.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Also write the report here.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Args, Clone)]
pub(crate) struct TablesArgs {
    /// Run folders written by `cxr-eval run` (one per model).
    #[arg(required = true)]
    pub(crate) run_dirs: Vec<PathBuf>,
    /// Folder for models_macro_auroc.csv and models_macro_gap.csv.
    #[arg(long)]
    pub(crate) out: PathBuf,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Evaluate on the internal test split and external datasets: sealed predictions,
    /// results.json, CSV tables, provenance.json in OUT.
    Run(RunArgs),
    /// Probabilities and positive calls for image files or folders (CSV or JSON lines).
    Predict(PredictArgs),
    /// Throughput and latency on the chosen execution provider; JSON on stdout, a table on stderr.
    Bench(BenchArgs),
    /// Re-check a finished run: hashes, seals, every metric, optionally re-inference.
    Verify(VerifyArgs),
    /// Check a model's hash, card and interface.
    Check(ModelOnly),
    /// Compare an execution provider's outputs with the CPU provider's (max difference).
    Parity(ParityArgs),
    /// Print the model card and interface as JSON.
    Info(InfoArgs),
    /// Tables across models: architecture × dataset macro-AUROC and macro gap.
    Tables(TablesArgs),
}

fn parse_dataset(s: &str) -> Result<(SourceId, PathBuf), String> {
    let (name, root) = s.split_once('=').ok_or_else(|| format!("expected SOURCE=ROOT, got {s:?}"))?;
    Ok((SourceId::parse(name)?, PathBuf::from(root)))
}
