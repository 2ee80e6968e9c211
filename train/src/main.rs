//! `cxr-train`: train a model on a CheXpert-format dataset.
//!
//! Exit codes: 0 success; 1 runtime failure (data, I/O, divergence); 2 usage or config error.

use clap::{Parser, Subcommand};
use cxr_train::trainer::{MachineSettings, train};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "cxr-train", version, about = "Train chest X-ray classifiers with Burn")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train the run described by a TOML config (resumes an interrupted run; a finished run is
    /// left as it is). Prints the run directory on stdout.
    Run {
        /// Run config (TOML; unknown keys are rejected).
        #[arg(long)]
        config: PathBuf,
        /// Training dataset root on this machine (the folder holding train.csv).
        #[arg(long)]
        train_root: PathBuf,
        /// Where run directories are created.
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
    },
    /// List the registered architectures.
    Models,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
    ).init();
    let cli = Cli::parse();
    match cli.command {
        Command::Models => {
            for v in cxr_models::variants() {
                println!("{}\t{}\t{}\t{}", v.name, v.family, v.default_size, v.paper);
            }
            ExitCode::SUCCESS
        }
        Command::Run { config, train_root, runs_dir } => {
            match train(&config, &MachineSettings { train_root, runs_dir }) {
                Ok(o) => {
                    eprintln!(
                        "run {} {} (best epoch {}, val macro-AUROC {})",
                        o.run_id,
                        if o.already_complete { "was already complete" } else { "finished" },
                        o.complete.best_epoch,
                        o.complete.best_val_macro_auroc.map_or_else(|| "undefined".into(), |a| format!("{a:.4}"))
                    );
                    println!("{}", o.run_dir.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    let usage = e.chain().any(|c| c.downcast_ref::<cxr_core::ConfigError>().is_some() || c.downcast_ref::<cxr_models::UnknownArch>().is_some());
                    ExitCode::from(if usage { 2 } else { 1 })
                }
            }
        }
    }
}
