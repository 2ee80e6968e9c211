//! Run configuration: the TOML a user writes (`RawConfig`), its resolved, hashed form
//! (`ResolvedRun`) and the run id derived from it (design.md §7).
//!
//! Machine-local settings (dataset roots, threads) never enter the hash: the same experiment has
//! the same id on every machine.

use crate::training::{AugmentConfig, GradClipConfig, LossConfig, OptimizerConfig, ScheduleConfig, check_combination};
use crate::{Aspect, Depth, Finding, Intensity, LabelPolicy, Normalization, PreprocessSpec, ResizeFilter, RoiCrop, RoiMode, SHARED9, SourceId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// Version of the resolved-run schema; part of the hash, so a change of meaning changes ids.
const RESOLVED_SCHEMA: u32 = 3;

/// The model section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Registered architecture name (`cxr-train models` lists them).
    pub arch: String,
    /// Input channels: 1 (grayscale) or 3.
    #[serde(default = "one")]
    pub in_chans: u32,
    /// Square input side in pixels.
    pub image_size: u32,
    /// Dropout probability before the classifier.
    #[serde(default)]
    pub dropout: f64,
    /// SHA-256 of a reference state dict (torchvision / timm, `.safetensors` or `.pth`) to start
    /// from; the file itself is machine-local (`cxr-train run --weights FILE`) and must match.
    /// Absent: random initialisation (and absent from the hash, so older run ids stand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretrained: Option<String>,
}

/// The data section (names only; roots are machine-local).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Training dataset (CheXpert format).
    #[serde(default = "chexpert")]
    pub train: SourceId,
    /// Fraction of training patients held out as internal validation (by patient hash).
    #[serde(default = "val_fraction")]
    pub val_fraction: f64,
    /// Keep frontal images only.
    #[serde(default = "yes")]
    pub frontal_only: bool,
}

/// The optimisation section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the training split.
    pub epochs: u32,
    /// Images per step.
    pub batch_size: u32,
    /// Peak learning rate (the schedule scales it).
    pub lr: f64,
    /// Weight decay λ, used as the optimizer's reference does (decoupled for AdamW, Lion,
    /// Muon, MARS, Schedule-Free; coupled L2 for RMSProp and PESG; proximal for Adan).
    #[serde(default = "weight_decay")]
    pub weight_decay: f64,
    /// The optimizer (`[train.optimizer]`, default AdamW with PyTorch's constants).
    #[serde(default)]
    pub optimizer: OptimizerConfig,
    /// The loss (`[train.loss]`, default masked BCE).
    #[serde(default)]
    pub loss: LossConfig,
    /// The learning-rate schedule (`[train.schedule]`, default constant).
    #[serde(default)]
    pub schedule: ScheduleConfig,
    /// Mini-batches whose gradients are summed (averaged) into one optimizer step.
    #[serde(default = "one")]
    pub grad_accumulation: u32,
    /// Gradient clipping (`[train.grad_clip]`), off when absent.
    #[serde(default)]
    pub grad_clip: Option<GradClipConfig>,
    /// Training-time augmentation (`[train.augment]`), off when absent.
    #[serde(default)]
    pub augment: Option<AugmentConfig>,
    /// Seed for initialisation, shuffling and augmentation.
    #[serde(default)]
    pub seed: u64,
    /// Stop after this many epochs without a better internal-validation macro-AUROC (0 = off).
    #[serde(default)]
    pub early_stopping_patience: u32,
}

/// A named preprocessing strategy: a starting point that the explicit keys of `[preprocess]`
/// refine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreprocessStrategy {
    /// Mean 0.5 / std 0.25 on `[0, 1]` (the default).
    Default,
    /// ImageNet mean/std.
    Imagenet,
    /// Per-image min-max to `[0, 1]`.
    Minmax,
    /// Per-image z-score.
    Zscore,
    /// Histogram standardization (landmarks learned on the training set).
    Histogram,
    /// ROI crop (fixed thresholds).
    Roi,
    /// Adaptive ROI crop, then histogram standardization.
    RoiHistogram,
    /// CLAHE (8 × 8 tiles, clip limit 2).
    Clahe,
}

/// Names accepted for `preprocess.strategy`.
pub const PREPROCESS_STRATEGIES: [&str; 8] = ["default", "imagenet", "minmax", "zscore", "histogram", "roi", "roi_histogram", "clahe"];

/// Preprocessing settings (size and channels come from the model section): an optional named
/// strategy, refined by explicit keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PreprocessConfig {
    /// Starting point.
    pub strategy: Option<PreprocessStrategy>,
    /// Resampling filter.
    pub filter: Option<ResizeFilter>,
    /// Intensity normalization.
    pub normalization: Option<Normalization>,
    /// Aspect handling.
    pub aspect: Option<Aspect>,
    /// ROI crop.
    pub roi: Option<RoiCrop>,
    /// Intensity mapping after the resize.
    pub intensity: Option<Intensity>,
    /// Working depth.
    pub depth: Option<Depth>,
}

impl PreprocessConfig {
    /// The complete spec for a model input of `size` px and `channels`.
    ///
    /// # Errors
    /// An invalid value, named.
    pub fn resolve(&self, size: u32, channels: u32) -> Result<PreprocessSpec, String> {
        let mut s = PreprocessSpec::default_for(size, channels);
        match self.strategy.unwrap_or(PreprocessStrategy::Default) {
            PreprocessStrategy::Default => {}
            PreprocessStrategy::Imagenet => s.normalization = Normalization::Imagenet,
            PreprocessStrategy::Minmax => s.normalization = Normalization::Minmax,
            PreprocessStrategy::Zscore => s.normalization = Normalization::Zscore,
            PreprocessStrategy::Histogram => s.intensity = Intensity::Histogram { landmarks: None },
            PreprocessStrategy::Roi => s.roi = Some(RoiCrop::new(RoiMode::Fixed)),
            PreprocessStrategy::RoiHistogram => {
                s.roi = Some(RoiCrop::new(RoiMode::Adaptive));
                s.intensity = Intensity::Histogram { landmarks: None };
            }
            PreprocessStrategy::Clahe => s.intensity = Intensity::clahe_default(),
        }
        s.filter = self.filter.unwrap_or(s.filter);
        s.normalization = self.normalization.unwrap_or(s.normalization);
        s.aspect = self.aspect.unwrap_or(s.aspect);
        s.roi = self.roi.or(s.roi);
        s.intensity = self.intensity.unwrap_or(s.intensity);
        s.depth = self.depth.unwrap_or(s.depth);
        s.validate()?;
        Ok(s)
    }
}

/// The label set: `"shared9"` or an explicit list of finding names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LabelsConfig {
    /// A named set.
    Named(String),
    /// An explicit ordered list.
    List(Vec<Finding>),
}

/// The config file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Model.
    pub model: ModelConfig,
    /// Label set (default `"shared9"`).
    #[serde(default = "shared9")]
    pub labels: LabelsConfig,
    /// Data.
    #[serde(default = "default_data")]
    pub data: DataConfig,
    /// Optimisation.
    pub train: TrainConfig,
    /// Training label policy.
    #[serde(default)]
    pub label_policy: LabelPolicy,
    /// Preprocessing overrides.
    #[serde(default)]
    pub preprocess: PreprocessConfig,
}

fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}
fn chexpert() -> SourceId {
    SourceId::Chexpert
}
fn val_fraction() -> f64 {
    0.1
}
fn weight_decay() -> f64 {
    1e-4
}
fn shared9() -> LabelsConfig {
    LabelsConfig::Named("shared9".into())
}
fn default_data() -> DataConfig {
    DataConfig { train: chexpert(), val_fraction: val_fraction(), frontal_only: true }
}

/// The resolved run: defaults filled, names checked, the dataset replaced by its manifest hash.
/// Its canonical JSON is what the run id hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolvedRun {
    /// Schema of this struct.
    pub schema: u32,
    /// Model.
    pub model: ModelConfig,
    /// Ordered label set.
    pub labels: Vec<Finding>,
    /// Training label policy.
    pub label_policy: LabelPolicy,
    /// Preprocessing (complete).
    pub preprocess: PreprocessSpec,
    /// Optimisation.
    pub train: TrainConfig,
    /// Data settings.
    pub data: DataConfig,
    /// blake3 of the training dataset's index manifest (labels and image list), so a changed
    /// dataset gives a new run id.
    pub train_manifest_hash: String,
}

/// A config that cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unreadable file.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// TOML syntax or schema error (unknown keys included).
    #[error("invalid config {path}: {message}")]
    Parse {
        /// File.
        path: String,
        /// Parser message (names the key and line).
        message: String,
    },
    /// A value out of range or an unknown name.
    #[error("invalid config: {0}")]
    Invalid(String),
}

impl RawConfig {
    /// Parse a config file; unknown keys are rejected.
    ///
    /// # Errors
    /// [`ConfigError::Read`] or [`ConfigError::Parse`], naming the file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = fs_err::read_to_string(path).map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        Self::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse { path: path.display().to_string(), message },
            other => other,
        })
    }

    /// Parse TOML text.
    ///
    /// # Errors
    /// [`ConfigError::Parse`].
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse { path: "<text>".into(), message: e.to_string() })
    }

    /// Resolve: fill defaults, check values, check the architecture with `arch_known`, and bind
    /// the training data by its manifest hash.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] with the reason.
    pub fn resolve(&self, arch_known: impl Fn(&str) -> Result<(), String>, train_manifest_hash: &str) -> Result<ResolvedRun, ConfigError> {
        let inv = |m: String| Err(ConfigError::Invalid(m));
        arch_known(&self.model.arch).map_err(ConfigError::Invalid)?;
        if !matches!(self.model.in_chans, 1 | 3) {
            return inv(format!("model.in_chans must be 1 or 3, got {}", self.model.in_chans));
        }
        if !(16..=4096).contains(&self.model.image_size) {
            return inv(format!("model.image_size must be in 16..=4096, got {}", self.model.image_size));
        }
        if let Some(h) = &self.model.pretrained
            && !(h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        {
            return inv(format!("model.pretrained must be the weight file's SHA-256 (64 lowercase hex digits), got {h:?}"));
        }
        if !(0.0..1.0).contains(&self.model.dropout) {
            return inv(format!("model.dropout must be in [0, 1), got {}", self.model.dropout));
        }
        if !(0.0..0.9).contains(&self.data.val_fraction) || self.data.val_fraction <= 0.0 {
            return inv(format!("data.val_fraction must be in (0, 0.9), got {}", self.data.val_fraction));
        }
        if self.train.epochs == 0 || self.train.batch_size == 0 {
            return inv("train.epochs and train.batch_size must be at least 1".into());
        }
        if !(self.train.lr > 0.0 && self.train.lr.is_finite()) {
            return inv(format!("train.lr must be positive, got {}", self.train.lr));
        }
        if !(self.train.weight_decay >= 0.0 && self.train.weight_decay.is_finite()) {
            return inv(format!("train.weight_decay must be ≥ 0, got {}", self.train.weight_decay));
        }
        if self.train.grad_accumulation == 0 {
            return inv("train.grad_accumulation must be at least 1".into());
        }
        if let Some(c) = &self.train.grad_clip
            && !(c.max_norm > 0.0 && c.max_norm.is_finite())
        {
            return inv(format!("train.grad_clip.max_norm must be positive, got {}", c.max_norm));
        }
        if let Some(a) = &self.train.augment
            && let Err(e) = a.validate()
        {
            return inv(e);
        }
        match self.train.schedule {
            ScheduleConfig::Cosine { min_lr, .. } if !(0.0..=self.train.lr).contains(&min_lr) => {
                return inv(format!("train.schedule.min_lr must be in [0, train.lr], got {min_lr}"));
            }
            ScheduleConfig::Step { every_epochs: 0, .. } => return inv("train.schedule.every_epochs must be at least 1".into()),
            ScheduleConfig::Step { gamma, .. } if !(gamma > 0.0 && gamma <= 1.0) => {
                return inv(format!("train.schedule.gamma must be in (0, 1], got {gamma}"));
            }
            _ => {}
        }
        check_combination(&self.train.optimizer, &self.train.loss).map_err(ConfigError::Invalid)?;
        let two_pass = matches!(self.train.optimizer, OptimizerConfig::Sam { .. } | OptimizerConfig::Asam { .. });
        let auc = matches!(self.train.loss, LossConfig::AucM { .. } | LossConfig::CompositionalAuc { .. });
        if self.train.grad_accumulation > 1 && (two_pass || auc) {
            return inv(format!(
                "train.grad_accumulation = {} cannot be combined with train.optimizer {:?} / train.loss {:?}: SAM's ascent and the AUC losses' batch statistics are per batch; raise train.batch_size instead",
                self.train.grad_accumulation,
                self.train.optimizer.name(),
                self.train.loss.name()
            ));
        }
        if matches!(self.train.optimizer, OptimizerConfig::ScheduleFreeAdamw { .. }) && !matches!(self.train.schedule, ScheduleConfig::Constant { warmup_steps: 0 }) {
            return inv("train.optimizer \"schedule_free_adamw\" replaces the learning-rate schedule; remove [train.schedule] and set train.optimizer.warmup_steps instead".into());
        }
        self.label_policy.validate().map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let labels = match &self.labels {
            LabelsConfig::Named(n) if n == "shared9" => SHARED9.to_vec(),
            LabelsConfig::Named(n) => {
                return inv(format!("unknown label set {n:?}; valid: \"shared9\" or a list of findings"));
            }
            LabelsConfig::List(l) => {
                let mut seen = std::collections::HashSet::new();
                if l.is_empty() || !l.iter().all(|f| seen.insert(*f)) {
                    return inv("labels must be a non-empty list without repeats".into());
                }
                l.clone()
            }
        };
        let preprocess = match self.preprocess.resolve(self.model.image_size, self.model.in_chans) {
            Ok(p) => p,
            Err(e) => return inv(e),
        };
        Ok(ResolvedRun {
            schema: RESOLVED_SCHEMA,
            model: self.model.clone(),
            labels,
            label_policy: self.label_policy,
            preprocess,
            train: self.train.clone(),
            data: self.data.clone(),
            train_manifest_hash: train_manifest_hash.to_string(),
        })
    }
}

impl ResolvedRun {
    /// Canonical JSON (struct field order, no whitespace): the hashed payload.
    #[must_use]
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Full blake3 hex of the canonical JSON.
    #[must_use]
    pub fn config_hash(&self) -> String {
        blake3::hash(self.canonical_json().as_bytes()).to_hex().to_string()
    }

    /// `<arch>-<first 12 hex of the config hash>`.
    #[must_use]
    pub fn run_id(&self) -> RunId {
        RunId(format!("{}-{}", self.model.arch, &self.config_hash()[..12]))
    }
}

/// A run's identity: `<arch>-<hash12>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RunId(pub String);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = r#"
        [model]
        arch = "resnet18"
        image_size = 64
        [train]
        epochs = 2
        batch_size = 8
        lr = 0.001
    "#;
    const CFG_REORDERED: &str = r#"
        [train]
        lr = 0.001
        batch_size = 8
        epochs = 2
        [model]
        image_size = 64
        arch = "resnet18"
    "#;
    fn known(a: &str) -> Result<(), String> {
        if a == "resnet18" { Ok(()) } else { Err(format!("unknown architecture {a:?}")) }
    }

    #[test]
    fn same_config_same_id_regardless_of_key_order() {
        let a = RawConfig::from_toml(CFG).unwrap().resolve(known, "m1").unwrap();
        let b = RawConfig::from_toml(CFG_REORDERED).unwrap().resolve(known, "m1").unwrap();
        assert_eq!(a.run_id(), b.run_id());
        assert!(a.run_id().0.starts_with("resnet18-"));
        assert_eq!(a.run_id().0.len(), "resnet18-".len() + 12);
    }

    #[test]
    fn different_data_or_hyperparameter_changes_id() {
        let raw = RawConfig::from_toml(CFG).unwrap();
        let a = raw.resolve(known, "m1").unwrap();
        assert_ne!(a.run_id(), raw.resolve(known, "m2").unwrap().run_id());
        let mut raw2 = raw.clone();
        raw2.train.lr = 0.01;
        assert_ne!(a.run_id(), raw2.resolve(known, "m1").unwrap().run_id());
        // Every ablation axis is in the id, its defaults included.
        let id = |extra: &str| RawConfig::from_toml(&format!("{CFG}\n{extra}")).unwrap().resolve(known, "m1").unwrap().run_id();
        let variants = [
            "[train.optimizer]\nname = \"lion\"",
            "[train.optimizer]\nname = \"lion\"\nbetas = [0.9, 0.98]",
            "[train.loss]\nname = \"focal\"",
            "[train.schedule]\nname = \"cosine\"",
            "[train.grad_clip]\nmax_norm = 1.0",
            "[train.augment]",
            "[train.augment]\nhflip = 0.5",
            "[preprocess]\nstrategy = \"clahe\"",
            "[preprocess]\nstrategy = \"clahe\"\nintensity = { kind = \"clahe\", clip_limit = 3.0 }",
            "[preprocess]\naspect = \"pad\"",
            "[preprocess]\nstrategy = \"roi_histogram\"",
            "[label_policy]\nuncertain = \"ones_lsr\"",
        ];
        let mut ids: Vec<_> = variants.iter().map(|v| id(v)).collect();
        ids.push(a.run_id());
        ids.push(id("[train.optimizer]\nname = \"adamw\""));
        ids.push(id("[preprocess]\nstrategy = \"default\"\naspect = \"stretch\""));
        let distinct: std::collections::HashSet<_> = ids.iter().map(|r| r.0.clone()).collect();
        assert_eq!(distinct.len(), variants.len() + 1, "each axis changes the id; spelling out the default does not: {ids:?}");
        let gb = RawConfig::from_toml(&CFG.replace("lr = 0.001", "lr = 0.001\ngrad_accumulation = 2")).unwrap().resolve(known, "m1").unwrap();
        assert_ne!(a.run_id(), gb.run_id());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_rejected() {
        let e = RawConfig::from_toml(&format!("{CFG}\n[extra]\nx = 1")).unwrap_err();
        assert!(e.to_string().contains("extra"), "{e}");
        let e = RawConfig::from_toml(&CFG.replace("lr = 0.001", "lr = 0.001\nlrr = 2")).unwrap_err();
        assert!(e.to_string().contains("lrr"), "{e}");
        let raw = RawConfig::from_toml(&CFG.replace("resnet18", "resnet19")).unwrap();
        assert!(raw.resolve(known, "m").unwrap_err().to_string().contains("resnet19"));
        let raw = RawConfig::from_toml(&CFG.replace("image_size = 64", "image_size = 64\nin_chans = 2")).unwrap();
        assert!(raw.resolve(known, "m").unwrap_err().to_string().contains("in_chans"));
    }

    #[test]
    fn defaults_are_filled() {
        let r = RawConfig::from_toml(CFG).unwrap().resolve(known, "m").unwrap();
        assert_eq!(r.labels, SHARED9.to_vec());
        assert_eq!(r.model.in_chans, 1);
        assert_eq!(r.preprocess.size, 64);
        assert_eq!(r.label_policy, LabelPolicy::default());
        assert!(r.data.frontal_only);
    }
}
