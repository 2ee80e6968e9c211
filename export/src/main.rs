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
    /// Adopt an ONNX file exported elsewhere: check it against a model card in ONNX Runtime,
    /// stamp the card into its metadata, and write it with its SHA-256.
    Adopt(AdoptArgs),
}

#[derive(clap::Args)]
struct AdoptArgs {
    /// The ONNX file.
    #[arg(long)]
    onnx: PathBuf,
    /// Its model card (JSON, the cxr card schema).
    #[arg(long)]
    card: PathBuf,
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
        Command::Adopt(a) => cxr_export::adopt::adopt(&a.onnx, &a.card, &a.out, a.ort_lib.as_deref()).map(|p| println!("{}", p.display())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}
