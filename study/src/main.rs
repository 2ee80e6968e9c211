//! `cxr-study`: the phantom study end to end, as separate processes (the evaluator never shares
//! a process with training code): `cxr-data phantom` → `cxr-train run` → `cxr-export run` →
//! `cxr-eval run` on the internal test split and the five external sites (NIH, MIMIC,
//! PadChest, VinDr, BRAX). Each step is idempotent, so a rerun skips finished work and an interrupted
//! study resumes where it stopped.
//!
//! Exit codes: 0 success; 1 a step failed (its own message and exit code are printed); 2 usage.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

#[derive(Parser)]
#[command(name = "cxr-study", version, about = "Run the phantom external-validation study end to end")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate phantom sites, train, export and evaluate; prints the AUROC table.
    Run {
        /// Study folder (data, runs, evaluations).
        #[arg(long, default_value = "study-out")]
        out: PathBuf,
        /// Run config.
        #[arg(long, default_value = "configs/phantom-resnet18.toml")]
        config: PathBuf,
        /// Phantom seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Phantom image height in pixels.
        #[arg(long, default_value_t = 96)]
        size: u32,
        /// CheXpert-format training patients.
        #[arg(long, default_value_t = 300)]
        train_patients: usize,
        /// Plant a chest drain co-occurring with this finding at the training site.
        #[arg(long)]
        shortcut: Option<String>,
    },
}

fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let p = exe.parent().map(|d| d.join(name)).context("no executable directory")?;
    if !p.is_file() {
        bail!("{} not found beside cxr-study; build all binaries first (cargo build --release --bins)", p.display());
    }
    Ok(p)
}

/// Run a step; stderr streams through, stdout is captured and returned.
fn step(what: &str, program: &str, args: &[&str]) -> anyhow::Result<String> {
    eprintln!("== {what}");
    let out = Command::new(sibling(program)?).args(args).stderr(Stdio::inherit()).output().with_context(|| format!("starting {program}"))?;
    if !out.status.success() {
        bail!("{what} failed ({program} exited with {})", out.status.code().map_or_else(|| "a signal".into(), |c| c.to_string()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The external phantom sites, each in its dataset's format.
const EXTERNAL: [&str; 5] = ["nih", "mimic", "padchest", "vindr", "brax"];

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn run(out: &Path, config: &Path, seed: u64, size: u32, train_patients: usize, shortcut: Option<&str>) -> anyhow::Result<()> {
    let data = out.join("data");
    let (seed_s, size_s, tp) = (seed.to_string(), size.to_string(), train_patients.to_string());
    let data_s = s(&data);
    let mut args = vec!["phantom", data_s.as_str(), "--seed", &seed_s, "--size", &size_s, "--train-patients", &tp];
    if let Some(f) = shortcut {
        args.extend(["--shortcut", f]);
    }
    step("phantom data", "cxr-data", &args)?;
    let chexpert = data.join("chexpert/CheXpert-v1.0-small");
    let runs = out.join("runs");
    let run_dir = step("train", "cxr-train", &["run", "--config", &s(config), "--train-root", &s(&chexpert), "--runs-dir", &s(&runs)])?;
    let run_dir = PathBuf::from(run_dir.trim());
    step("export", "cxr-export", &["run", &s(&run_dir)])?;
    let eval_dir = run_dir.join("eval").join("phantom");
    let model = s(&run_dir.join("model.onnx"));
    let internal = format!("chexpert={}", s(&chexpert));
    let externals: Vec<String> = EXTERNAL.iter().map(|name| format!("{name}={}", s(&data.join(name)))).collect();
    let mut args = vec!["run", "--model", model.as_str(), "--internal", internal.as_str()];
    for e in &externals {
        args.extend(["--external", e.as_str()]);
    }
    let out_s = s(&eval_dir);
    args.extend(["--out", out_s.as_str()]);
    let table = step("evaluate", "cxr-eval", &args)?;
    print!("{table}");
    println!("results: {}", eval_dir.join("results.json").display());
    println!("run:     {}", run_dir.display());
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Cmd::Run { out, config, seed, size, train_patients, shortcut } = cli.command;
    match run(&out, &config, seed, size, train_patients, shortcut.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
