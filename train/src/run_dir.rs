//! The write-once run directory `runs/<run-id>/` (design.md §7).
//!
//! A directory with the same resolved config is resumed (or left alone when complete); one whose
//! `resolved.json` differs is refused. Every file is written atomically, and `state.json` is
//! written last after each epoch, so an interruption at any point resumes from the last finished
//! epoch without losing it.

use anyhow::{Context, bail};
use cxr_core::{ResolvedRun, write_atomic, write_json_atomic};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Progress saved after every epoch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs finished.
    pub epochs_done: u32,
    /// Epoch (1-based) with the best internal-validation macro-AUROC.
    pub best_epoch: Option<u32>,
    /// That score.
    pub best_score: Option<f64>,
    /// Epochs since the best one.
    pub epochs_since_best: u32,
    /// Whether early stopping ended training.
    pub stopped_early: bool,
}

/// Written when training finished.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainComplete {
    /// Run id.
    pub run_id: String,
    /// Best epoch.
    pub best_epoch: u32,
    /// Its internal-validation macro-AUROC.
    pub best_val_macro_auroc: Option<f64>,
    /// blake3 of `checkpoint.bpk`.
    pub checkpoint_blake3: String,
    /// Epochs run.
    pub epochs_run: u32,
}

/// Where a run stands.
#[derive(Debug)]
pub enum Status {
    /// Nothing trained yet.
    Fresh,
    /// Interrupted after some epochs.
    Resume(TrainState),
    /// Finished earlier.
    Complete(TrainComplete),
}

/// An opened run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// Its path.
    pub path: PathBuf,
}

impl RunDir {
    /// Open or create `runs_dir/<run-id>` for `resolved`, copying the config text in.
    ///
    /// # Errors
    /// A directory holding a different run, or I/O errors.
    pub fn open(runs_dir: &Path, resolved: &ResolvedRun, config_text: &str) -> anyhow::Result<(Self, Status)> {
        let path = runs_dir.join(resolved.run_id().0);
        let me = Self { path: path.clone() };
        let resolved_path = path.join("resolved.json");
        if resolved_path.is_file() {
            let text = fs_err::read_to_string(&resolved_path)?;
            let prev: ResolvedRun = serde_json::from_str(&text).with_context(|| format!("{} is not a resolved run", resolved_path.display()))?;
            if prev != *resolved {
                bail!("{} exists with different content (resolved.json differs); refusing to overwrite a write-once run", path.display());
            }
            if let Some(done) = me.read_json::<TrainComplete>("train_complete.json")? {
                return Ok((me, Status::Complete(done)));
            }
            if let Some(state) = me.read_json::<TrainState>("state.json")? {
                return Ok((me, Status::Resume(state)));
            }
            return Ok((me, Status::Fresh));
        }
        fs_err::create_dir_all(&path)?;
        write_atomic(&path.join("config.toml"), config_text.as_bytes())?;
        write_json_atomic(&resolved_path, resolved)?;
        Ok((me, Status::Fresh))
    }

    /// Read a JSON file of the run if present.
    ///
    /// # Errors
    /// Unreadable or malformed file.
    pub fn read_json<T: for<'de> Deserialize<'de>>(&self, name: &str) -> anyhow::Result<Option<T>> {
        let p = self.path.join(name);
        if !p.is_file() {
            return Ok(None);
        }
        let text = fs_err::read_to_string(&p)?;
        Ok(Some(serde_json::from_str(&text).with_context(|| format!("malformed {}", p.display()))?))
    }

    /// Path of a file in the run.
    #[must_use]
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Folder holding the resumable state of epoch `e`.
    #[must_use]
    pub fn epoch_dir(&self, e: u32) -> PathBuf {
        self.path.join(format!("epoch-{e:04}"))
    }

    /// Rewrite `train_log.jsonl` keeping its first `n` lines (drops a line from an epoch that was
    /// logged but whose state was not saved).
    ///
    /// # Errors
    /// I/O errors.
    pub fn truncate_log(&self, n: usize) -> anyhow::Result<()> {
        let p = self.file("train_log.jsonl");
        if !p.is_file() {
            return Ok(());
        }
        let text = fs_err::read_to_string(&p)?;
        let kept: String = text.lines().take(n).map(|l| format!("{l}\n")).collect();
        write_atomic(&p, kept.as_bytes())?;
        Ok(())
    }

    /// Append one JSON line to `train_log.jsonl` (atomically rewritten).
    ///
    /// # Errors
    /// I/O errors.
    pub fn append_log(&self, line: &serde_json::Value) -> anyhow::Result<()> {
        let p = self.file("train_log.jsonl");
        let mut text = if p.is_file() { fs_err::read_to_string(&p)? } else { String::new() };
        text.push_str(&serde_json::to_string(line)?);
        text.push('\n');
        write_atomic(&p, text.as_bytes())?;
        Ok(())
    }
}
