//! `cxr-export`: export a trained run to ONNX behind a parity gate.
//!
//! Exit codes: 0 success; 1 runtime failure (missing files, ORT errors); 2 usage error;
//! 3 parity gate failed (nothing written); 4 ONNX Runtime library not found.

use clap::{Parser, Subcommand};
use cxr_export::pipeline::{ExportError, ExportOptions, export_run};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "cxr-export", version, about = "Export trained runs to ONNX with a Burn-vs-ONNX-Runtime parity gate")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Export runs/<run-id>: writes model.onnx, model.onnx.sha256, model_card.json and
    /// export_report.json beside the checkpoint, only if ONNX Runtime reproduces Burn.
    Run {
        /// The run directory (holds checkpoint.bpk, resolved.json, operating_points.json).
        run_dir: PathBuf,
        /// ONNX Runtime library (default: ORT_DYLIB_PATH, then <exe dir>/lib/).
        #[arg(long)]
        ort_lib: Option<PathBuf>,
        /// Intra-op threads for the parity gate.
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Adopt a classifier exported elsewhere (e.g. torchvision): check its input, output and
    /// repeatability in ONNX Runtime, wrap it into the logits/probabilities contract with a card,
    /// and write it with its SHA-256.
    Adopt(AdoptArgs),
}

#[derive(clap::Args)]
struct AdoptArgs {
    /// The ONNX classifier (one NCHW float input with a dynamic batch axis, an [N, K] output).
    model: PathBuf,
    /// The preprocessing it expects: size=S,channels=C,mean=M,std=D[,filter=bilinear|nearest].
    #[arg(long)]
    preprocess: String,
    /// Output columns as findings: `Cardiomegaly,Edema` (in column order) or
    /// `2=Cardiomegaly,7=Edema` (picked from a wider output).
    #[arg(long)]
    labels: String,
    /// What the output holds: logits or sigmoid (softmax is refused).
    #[arg(long, default_value = "logits")]
    activation: String,
    /// The output to adopt, when the graph has several.
    #[arg(long)]
    output: Option<String>,
    /// Frozen thresholds, a JSON list of {"finding", "threshold"}; without it F1 is undefined.
    #[arg(long)]
    operating_points: Option<PathBuf>,
    /// Architecture name recorded in the card.
    #[arg(long, default_value = "adopted")]
    arch: String,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// ONNX Runtime library.
    #[arg(long)]
    ort_lib: Option<PathBuf>,
}

fn exit_code(e: &anyhow::Error) -> u8 {
    if e.chain().any(|c| c.downcast_ref::<ExportError>().is_some()) {
        3
    } else if e.chain().any(|c| matches!(c.downcast_ref::<cxr_runtime::RuntimeError>(), Some(cxr_runtime::RuntimeError::LibraryNotFound { .. } | cxr_runtime::RuntimeError::Load { .. }))) {
        4
    } else {
        1
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { run_dir, ort_lib, threads } => export_run(&run_dir, &ExportOptions { ort_lib, threads }).map(|e| {
            eprintln!("{} {} (sha256 {})", if e.already_done { "already exported:" } else { "exported" }, e.model.display(), e.sha256);
            println!("{}", e.model.display());
        }),
        Command::Adopt(a) => {
            use cxr_export::adopt::{Activation, AdoptOptions, adopt, parse_labels, parse_preprocess};
            let parsed = (parse_preprocess(&a.preprocess), parse_labels(&a.labels), Activation::parse(&a.activation));
            match parsed {
                (Ok(preprocess), Ok(labels), Ok(activation)) => {
                    let opts = AdoptOptions { preprocess, labels, activation, output: a.output, operating_points: a.operating_points, arch: a.arch, ort_lib: a.ort_lib };
                    adopt(&a.model, &a.out, &opts).map(|p| println!("{}", p.display()))
                }
                (p, l, act) => {
                    for e in [p.err(), l.err(), act.err()].into_iter().flatten() {
                        eprintln!("error: {e}");
                    }
                    return ExitCode::from(2);
                }
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}
