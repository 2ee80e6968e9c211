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
        /// Reference weights (torchvision / timm state dict, .safetensors or .pth) whose SHA-256
        /// the config gives as model.pretrained.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// An HDF5 cache of the training images (`cxr-data cache build`); it must have been built
        /// for this run's preprocessing, and images it lacks are decoded.
        #[arg(long)]
        cache: Option<PathBuf>,
    },
    /// Forward and forward+backward images/s of one architecture on the CPU backend (synthetic
    /// input, 3 channels); JSON on stdout.
    Bench {
        /// Architecture.
        #[arg(long)]
        arch: String,
        /// Input side.
        #[arg(long, default_value_t = 224)]
        size: usize,
        /// Batch size.
        #[arg(long, default_value_t = 8)]
        batch: usize,
        /// Timed iterations per mode (median reported).
        #[arg(long, default_value_t = 3)]
        iters: usize,
        /// Untimed warm-up iterations per mode.
        #[arg(long, default_value_t = 1)]
        warmup: usize,
        /// Instead, time the forward pass per primitive kind (convolution types, norms,
        /// activations, …) and print where the time goes.
        #[arg(long)]
        profile: bool,
        /// Instead, time a whole training step under each of these optimizers (comma-separated,
        /// or `all`), with the step cost relative to AdamW's.
        #[arg(long, value_delimiter = ',')]
        optimizers: Vec<String>,
    },
    /// Check that a reference state dict (torchvision / timm, .safetensors or .pth) loads into an
    /// architecture, and print the SHA-256 to put in the config as model.pretrained.
    Weights {
        /// Architecture.
        #[arg(long)]
        arch: String,
        /// The weight file.
        #[arg(long)]
        file: PathBuf,
        /// Input channels of the run (1: the stem's RGB weights are summed).
        #[arg(long, default_value_t = 1)]
        in_chans: usize,
    },
    /// List the registered architectures with their trainable parameter counts, counted from
    /// the built module.
    Models {
        /// Classifier outputs the count assumes.
        #[arg(long, default_value_t = 9)]
        num_classes: usize,
        /// Input channels the count assumes.
        #[arg(long, default_value_t = 1)]
        in_chans: usize,
        /// A JSON list of {"name", "params", "family", "default_input"} on stdout.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into())).init();
    let cli = Cli::parse();
    match cli.command {
        Command::Models { num_classes, in_chans, json } => {
            if num_classes == 0 || !matches!(in_chans, 1 | 3) {
                eprintln!("error: --num-classes must be at least 1 and --in-chans 1 or 3");
                return ExitCode::from(2);
            }
            let device = burn::prelude::Device::flex();
            let rows: Vec<serde_json::Value> = cxr_models::variants()
                .iter()
                .map(|v| {
                    let params = cxr_models::build(v.name, num_classes, in_chans, 0.0, &device).map_or(0, |m| cxr_models::trainable_params(&m));
                    serde_json::json!({"name": v.name, "params": params, "family": v.family, "default_input": [in_chans, v.default_size, v.default_size]})
                })
                .collect();
            if json {
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for (r, v) in rows.iter().zip(cxr_models::variants()) {
                    println!("{}\t{}\t{}\t{}\t{}", v.name, v.family, r["params"], v.default_size, v.paper);
                }
            }
            ExitCode::SUCCESS
        }
        Command::Bench { arch, size, batch, iters, warmup, optimizers, .. } if !optimizers.is_empty() => {
            let names: Vec<String> = if optimizers == ["all"] { cxr_core::OPTIMIZER_NAMES.iter().map(|s| (*s).to_string()).collect() } else { optimizers };
            match cxr_train::bench::bench_optimizers(&arch, size, batch, iters.max(1), warmup, &names) {
                Ok(rows) => {
                    for r in &rows {
                        eprintln!("{:<20} {:>8.3} s/step {}", r.optimizer, r.seconds_per_step, r.relative_to_adamw.map_or_else(String::new, |x| format!("{x:.2}× AdamW")));
                    }
                    println!("{}", serde_json::to_string(&rows).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Bench { arch, size, batch, iters, profile: true, .. } => match cxr_train::bench::profile_forward(&arch, size, batch, iters) {
            Ok(rows) => {
                for r in &rows {
                    eprintln!("{:<22} {:>5} calls {:>9.4} s {:>6.1}%", r.kind, r.calls, r.seconds, 100.0 * r.share);
                }
                println!("{}", serde_json::to_string(&rows).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Bench { arch, size, batch, iters, warmup, .. } => match cxr_train::bench::bench_arch(&arch, size, batch, iters.max(1), warmup) {
            Ok(b) => {
                eprintln!("{}: forward {:.2} images/s, forward+backward {:.2} images/s ({}×{}, batch {})", b.arch, b.forward_images_per_s, b.forward_backward_images_per_s, size, size, batch);
                println!("{}", serde_json::to_string(&b).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Weights { arch, file, in_chans } => {
            let device = burn::prelude::Device::flex();
            let model = match cxr_models::build(&arch, 9, in_chans, 0.0, &device) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            match cxr_models::weights::load_file(model, &arch, &file, &cxr_models::weights::LoadOptions { replace_head: true }) {
                Ok((_, report)) => {
                    let sha = cxr_train::trainer::file_sha256(&file).unwrap_or_default();
                    eprintln!(
                        "{}: {} tensors load into {arch}; classifier replaced ({} keys); stem {}",
                        file.display(),
                        report.loaded,
                        report.replaced_head.len(),
                        report.adapted_stem.map_or_else(|| "kept".to_string(), |s| format!("{s} summed to one channel"))
                    );
                    println!("{sha}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Run { config, train_root, runs_dir, weights, cache } => match train(&config, &MachineSettings { train_root, runs_dir, weights, cache }) {
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
                let usage = e
                    .chain()
                    .any(|c| c.downcast_ref::<cxr_core::ConfigError>().is_some() || c.downcast_ref::<cxr_models::UnknownArch>().is_some() || c.downcast_ref::<cxr_models::InputSizeError>().is_some());
                ExitCode::from(if usage { 2 } else { 1 })
            }
        },
    }
}
