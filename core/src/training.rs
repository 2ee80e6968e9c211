//! The training ablation axes of a run config: optimizer, loss, learning-rate schedule and
//! gradient clipping (methods.md §2–§3). Every field is part of the resolved run, so every axis
//! is in the hashed run id; defaults are the reference implementations' defaults.

use serde::{Deserialize, Serialize};

fn f(v: f64) -> f64 {
    v
}

macro_rules! defaults {
    ($($name:ident: $ty:ty = $v:expr;)*) => { $(fn $name() -> $ty { $v })* };
}

defaults! {
    adamw_betas: [f64; 2] = [0.9, 0.999];
    eps8: f64 = f(1e-8);
    rms_alpha: f64 = f(0.99);
    muon_momentum: f64 = f(0.95);
    yes: bool = true;
    ns_steps: u32 = 5;
    muon_aux_betas: [f64; 2] = [0.9, 0.95];
    eps10: f64 = f(1e-10);
    sf_weight_lr_power: f64 = f(2.0);
    bn_batches: u32 = 50;
    lion_betas: [f64; 2] = [0.9, 0.99];
    soap_betas: [f64; 2] = [0.95, 0.95];
    soap_freq: u32 = 10;
    soap_max_dim: u32 = 10_000;
    adan_betas: [f64; 3] = [0.98, 0.92, 0.99];
    mars_betas: [f64; 2] = [0.95, 0.99];
    mars_gamma: f64 = f(0.025);
    sam_rho: f64 = f(0.05);
    asam_rho: f64 = f(0.5);
    asam_eta: f64 = f(0.01);
    one: f64 = f(1.0);
    epoch_decay: f64 = f(2e-3);
    pesg_momentum: f64 = f(0.9);
    decay_factor: f64 = f(10.0);
    pdsca_beta1: f64 = f(0.99);
    pdsca_beta2: f64 = f(0.999);
    focal_alpha: f64 = f(0.25);
    focal_gamma: f64 = f(2.0);
    k_one: u32 = 1;
    step_gamma: f64 = f(0.1);
}

fn base_adamw() -> Box<OptimizerConfig> {
    Box::new(OptimizerConfig::Adamw { betas: adamw_betas(), eps: eps8() })
}

/// The optimizer (`[train.optimizer]`, chosen by `name`). The learning rate and weight decay are
/// `train.lr` and `train.weight_decay`; these are the rule's own constants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// AdamW, PyTorch's rule (decay before the moments, ε after the bias-corrected root).
    Adamw {
        /// (β1, β2).
        #[serde(default = "adamw_betas")]
        betas: [f64; 2],
        /// ε.
        #[serde(default = "eps8")]
        eps: f64,
    },
    /// RMSProp, PyTorch's rule (coupled L2 decay, ε outside the root).
    Rmsprop {
        /// Smoothing constant α.
        #[serde(default = "rms_alpha")]
        alpha: f64,
        /// ε.
        #[serde(default = "eps8")]
        eps: f64,
        /// Momentum μ.
        #[serde(default)]
        momentum: f64,
        /// Centered variant.
        #[serde(default)]
        centered: bool,
    },
    /// Muon (Keller Jordan's `SingleDeviceMuon`) on hidden ≥2-D weights, convolution filters
    /// flattened to (out, in·kh·kw); the stem, the classifier and every 1-D parameter go to AdamW.
    Muon {
        /// Momentum β (an EMA: `buf ← β·buf + (1−β)·g`).
        #[serde(default = "muon_momentum")]
        momentum: f64,
        /// Nesterov look-ahead.
        #[serde(default = "yes")]
        nesterov: bool,
        /// Newton–Schulz iterations.
        #[serde(default = "ns_steps")]
        ns_steps: u32,
        /// The AdamW half's (β1, β2) (`MuonWithAuxAdam`).
        #[serde(default = "muon_aux_betas")]
        aux_betas: [f64; 2],
        /// The AdamW half's ε.
        #[serde(default = "eps10")]
        aux_eps: f64,
        /// The AdamW half's learning rate as a multiple of `train.lr` (Keller: 3e-4 / 0.02).
        #[serde(default = "aux_lr_ratio")]
        aux_lr_ratio: f64,
    },
    /// Schedule-Free AdamW (facebookresearch/schedule_free): the checkpoint holds the averaged
    /// weights x with BatchNorm statistics recomputed at x.
    ScheduleFreeAdamw {
        /// (β1, β2).
        #[serde(default = "adamw_betas")]
        betas: [f64; 2],
        /// ε.
        #[serde(default = "eps8")]
        eps: f64,
        /// Built-in linear warm-up in optimizer steps (use this, not `train.schedule`).
        #[serde(default)]
        warmup_steps: u32,
        /// Polynomial averaging power r.
        #[serde(default)]
        r: f64,
        /// Weighting exponent of the learning rate in the average.
        #[serde(default = "sf_weight_lr_power")]
        weight_lr_power: f64,
        /// Training batches run (no gradient) to recompute BatchNorm statistics at x.
        #[serde(default = "bn_batches")]
        bn_batches: u32,
    },
    /// Lion (google/automl).
    Lion {
        /// (β1, β2).
        #[serde(default = "lion_betas")]
        betas: [f64; 2],
    },
    /// SOAP (nikhilvyas/SOAP at f42d296): Adam in the eigenbasis of Shampoo's preconditioner.
    Soap {
        /// (β1, β2); β2 also smooths the preconditioner (`shampoo_beta = -1`).
        #[serde(default = "soap_betas")]
        betas: [f64; 2],
        /// ε.
        #[serde(default = "eps8")]
        eps: f64,
        /// Eigenbasis refresh period in steps.
        #[serde(default = "soap_freq")]
        precondition_frequency: u32,
        /// Dimensions larger than this get no preconditioner.
        #[serde(default = "soap_max_dim")]
        max_precond_dim: u32,
    },
    /// Adan (sail-sg/Adan), β in the code convention (they multiply the old state).
    Adan {
        /// (β1, β2, β3).
        #[serde(default = "adan_betas")]
        betas: [f64; 3],
        /// ε.
        #[serde(default = "eps8")]
        eps: f64,
        /// Decoupled instead of proximal weight decay.
        #[serde(default)]
        no_prox: bool,
    },
    /// MARS-AdamW (AGI-Arena/MARS) on every ≥2-D weight, convolutions included; 1-D parameters
    /// go to AdamW with β (0.9, 0.95).
    Mars {
        /// (β1, β2).
        #[serde(default = "mars_betas")]
        betas: [f64; 2],
        /// ε.
        #[serde(default = "eps8")]
        eps: f64,
        /// Variance-reduction scale γ.
        #[serde(default = "mars_gamma")]
        gamma: f64,
    },
    /// SAM (Foret et al. 2021; davda54/sam): ascend to θ + ρ·g/‖g‖, take the base step with the
    /// gradient there. BatchNorm statistics come from the first pass only.
    Sam {
        /// Neighbourhood radius ρ.
        #[serde(default = "sam_rho")]
        rho: f64,
        /// The base rule.
        #[serde(default = "base_adamw")]
        base: Box<OptimizerConfig>,
    },
    /// ASAM (Kwon et al. 2021; SamsungLabs/ASAM): SAM in the parameter-scaled neighbourhood.
    Asam {
        /// Radius ρ.
        #[serde(default = "asam_rho")]
        rho: f64,
        /// η in T_θ = |θ| + η.
        #[serde(default = "asam_eta")]
        eta: f64,
        /// The base rule.
        #[serde(default = "base_adamw")]
        base: Box<OptimizerConfig>,
    },
    /// PESG (LibAUC 2.0.1), the optimizer of the AUC-M loss (SGD mode).
    Pesg {
        /// Gradient clip (element-wise).
        #[serde(default = "one")]
        clip: f64,
        /// Pull towards the reference point θ_ref.
        #[serde(default = "epoch_decay")]
        epoch_decay: f64,
        /// μ (weights the new term, as LibAUC does).
        #[serde(default = "pesg_momentum")]
        momentum: f64,
        /// Learning-rate divisor at each epoch's regularizer update.
        #[serde(default = "decay_factor")]
        decay_factor: f64,
    },
    /// PDSCA (LibAUC 2.0.1), the optimizer of the compositional AUC loss.
    Pdsca {
        /// Gradient clip (element-wise).
        #[serde(default = "one")]
        clip: f64,
        /// Pull towards the reference point θ_ref.
        #[serde(default = "epoch_decay")]
        epoch_decay: f64,
        /// β1 of the cross-entropy steps.
        #[serde(default = "pdsca_beta1")]
        beta1: f64,
        /// β2 of the AUC steps.
        #[serde(default = "pdsca_beta2")]
        beta2: f64,
        /// Learning-rate divisor at each epoch's regularizer update.
        #[serde(default = "decay_factor")]
        decay_factor: f64,
    },
}

fn aux_lr_ratio() -> f64 {
    3e-4 / 0.02
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        *base_adamw()
    }
}

/// Valid optimizer names, for error messages.
pub const OPTIMIZER_NAMES: &[&str] = &["adamw", "rmsprop", "muon", "schedule_free_adamw", "lion", "soap", "adan", "mars", "sam", "asam", "pesg", "pdsca"];

impl OptimizerConfig {
    /// The `name` it is chosen by.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Adamw { .. } => "adamw",
            Self::Rmsprop { .. } => "rmsprop",
            Self::Muon { .. } => "muon",
            Self::ScheduleFreeAdamw { .. } => "schedule_free_adamw",
            Self::Lion { .. } => "lion",
            Self::Soap { .. } => "soap",
            Self::Adan { .. } => "adan",
            Self::Mars { .. } => "mars",
            Self::Sam { .. } => "sam",
            Self::Asam { .. } => "asam",
            Self::Pesg { .. } => "pesg",
            Self::Pdsca { .. } => "pdsca",
        }
    }
}

/// The training loss (`[train.loss]`, chosen by `name`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum LossConfig {
    /// Masked BCE with logits on soft targets: the masked mean over all known entries.
    #[default]
    Bce,
    /// Sigmoid focal loss (torchvision), masked mean. `alpha < 0` disables the α weighting.
    Focal {
        /// α (weight of positives).
        #[serde(default = "focal_alpha")]
        alpha: f64,
        /// γ.
        #[serde(default = "focal_gamma")]
        gamma: f64,
    },
    /// AUC-M (LibAUC `AUCMLoss`) on sigmoid scores, per label, averaged; needs `pesg`.
    AucM {
        /// Margin m.
        #[serde(default = "one")]
        margin: f64,
        /// `v1` (positive fraction from the batch) or `v2` (class-conditional means).
        #[serde(default)]
        version: AucVersion,
    },
    /// Compositional AUC (LibAUC `CompositionalAUCLoss`): `k` BCE steps then `k` AUC-M steps,
    /// alternating; needs `pdsca`.
    CompositionalAuc {
        /// Steps per phase.
        #[serde(default = "k_one")]
        k: u32,
        /// Margin m.
        #[serde(default = "one")]
        margin: f64,
        /// AUC-M version of the AUC phase.
        #[serde(default)]
        version: AucVersion,
    },
}

/// The two forms of the AUC-M square loss (methods.md §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AucVersion {
    /// Positive fraction p weighting.
    #[default]
    V1,
    /// Class-conditional means (without LibAUC 2.0.1's leaked inner mean).
    V2,
}

impl LossConfig {
    /// The `name` it is chosen by.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Bce => "bce",
            Self::Focal { .. } => "focal",
            Self::AucM { .. } => "auc_m",
            Self::CompositionalAuc { .. } => "compositional_auc",
        }
    }
}

/// The learning-rate schedule (`[train.schedule]`), in optimizer steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScheduleConfig {
    /// `train.lr` throughout, after an optional linear warm-up.
    Constant {
        /// Linear warm-up steps from lr/warmup to lr.
        #[serde(default)]
        warmup_steps: u32,
    },
    /// Linear warm-up, then cosine from `train.lr` down to `min_lr` at the last step.
    Cosine {
        /// Warm-up steps.
        #[serde(default)]
        warmup_steps: u32,
        /// Final learning rate.
        #[serde(default)]
        min_lr: f64,
    },
    /// Linear warm-up, then multiply by `gamma` every `every_epochs` epochs.
    Step {
        /// Warm-up steps.
        #[serde(default)]
        warmup_steps: u32,
        /// Decay period in epochs.
        every_epochs: u32,
        /// Decay factor.
        #[serde(default = "step_gamma")]
        gamma: f64,
    },
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self::Constant { warmup_steps: 0 }
    }
}

/// Gradient clipping (`[train.grad_clip]`), applied to the accumulated gradient before the step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradClipConfig {
    /// Largest L2 norm.
    pub max_norm: f64,
    /// Over all parameters together (`global`, the default) or each tensor alone (`tensor`).
    #[serde(default)]
    pub over: ClipScope,
}

/// What a clipping norm is taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ClipScope {
    /// All parameters' gradients as one vector.
    #[default]
    Global,
    /// Each tensor on its own.
    Tensor,
}

/// Check the combination of axes; `Err` says what is wrong and what would be valid.
///
/// # Errors
/// A message naming the fields.
pub fn check_combination(optimizer: &OptimizerConfig, loss: &LossConfig) -> Result<(), String> {
    match (optimizer, loss) {
        (OptimizerConfig::Pesg { .. }, LossConfig::AucM { .. }) | (OptimizerConfig::Pdsca { .. }, LossConfig::CompositionalAuc { .. }) => {}
        (OptimizerConfig::Pesg { .. }, l) => {
            return Err(format!("train.optimizer \"pesg\" updates the AUC-M loss's dual variable and needs train.loss \"auc_m\", not {:?}", l.name()));
        }
        (OptimizerConfig::Pdsca { .. }, l) => {
            return Err(format!("train.optimizer \"pdsca\" alternates BCE and AUC steps and needs train.loss \"compositional_auc\", not {:?}", l.name()));
        }
        (o, LossConfig::AucM { .. }) => {
            return Err(format!("train.loss \"auc_m\" is a min-max objective and needs train.optimizer \"pesg\", not {:?}", o.name()));
        }
        (o, LossConfig::CompositionalAuc { .. }) => {
            return Err(format!("train.loss \"compositional_auc\" needs train.optimizer \"pdsca\", not {:?}", o.name()));
        }
        _ => {}
    }
    if let OptimizerConfig::Sam { base, .. } | OptimizerConfig::Asam { base, .. } = optimizer
        && matches!(**base, OptimizerConfig::Sam { .. } | OptimizerConfig::Asam { .. } | OptimizerConfig::ScheduleFreeAdamw { .. } | OptimizerConfig::Pesg { .. } | OptimizerConfig::Pdsca { .. })
    {
        return Err(format!("train.optimizer.base {:?} cannot be the base rule of {:?}; use adamw, rmsprop, muon, lion, soap, adan or mars", base.name(), optimizer.name()));
    }
    check_values(optimizer)?;
    if let LossConfig::Focal { gamma, .. } = loss
        && !(*gamma >= 0.0 && gamma.is_finite())
    {
        return Err(format!("train.loss.gamma must be ≥ 0, got {gamma}"));
    }
    if let LossConfig::CompositionalAuc { k: 0, .. } = loss {
        return Err("train.loss.k must be at least 1".into());
    }
    Ok(())
}

fn beta_ok(b: f64) -> bool {
    (0.0..1.0).contains(&b)
}

fn check_values(o: &OptimizerConfig) -> Result<(), String> {
    let bad = |what: &str, v: f64| Err(format!("train.optimizer.{what} out of range: {v}"));
    let betas: Vec<f64> = match o {
        OptimizerConfig::Adamw { betas, .. }
        | OptimizerConfig::ScheduleFreeAdamw { betas, .. }
        | OptimizerConfig::Lion { betas }
        | OptimizerConfig::Soap { betas, .. }
        | OptimizerConfig::Mars { betas, .. } => betas.to_vec(),
        OptimizerConfig::Adan { betas, .. } => betas.to_vec(),
        OptimizerConfig::Muon { momentum, aux_betas, .. } => vec![*momentum, aux_betas[0], aux_betas[1]],
        OptimizerConfig::Rmsprop { alpha, momentum, .. } => vec![*alpha, *momentum],
        OptimizerConfig::Pesg { momentum, .. } => vec![*momentum],
        OptimizerConfig::Pdsca { beta1, beta2, .. } => vec![*beta1, *beta2],
        OptimizerConfig::Sam { rho, base } | OptimizerConfig::Asam { rho, base, .. } => {
            if !(*rho > 0.0 && rho.is_finite()) {
                return bad("rho", *rho);
            }
            return check_values(base);
        }
    };
    if let Some(b) = betas.iter().find(|b| !beta_ok(**b)) {
        return bad("betas", *b);
    }
    match o {
        OptimizerConfig::Muon { ns_steps: 0, .. } => bad("ns_steps", 0.0),
        OptimizerConfig::Soap { precondition_frequency: 0, .. } => bad("precondition_frequency", 0.0),
        OptimizerConfig::Pesg { decay_factor, .. } | OptimizerConfig::Pdsca { decay_factor, .. } if *decay_factor <= 0.0 => bad("decay_factor", *decay_factor),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct T {
        optimizer: OptimizerConfig,
        #[serde(default)]
        loss: LossConfig,
    }

    fn parse(s: &str) -> Result<T, String> {
        toml::from_str(s).map_err(|e| e.to_string())
    }

    #[test]
    fn names_defaults_and_unknown_keys() {
        let t = parse("[optimizer]\nname = \"lion\"").unwrap();
        assert_eq!(t.optimizer, OptimizerConfig::Lion { betas: [0.9, 0.99] });
        assert_eq!(t.loss, LossConfig::Bce);
        let e = parse("[optimizer]\nname = \"adamx\"").unwrap_err();
        for n in OPTIMIZER_NAMES {
            assert!(e.contains(n), "the error lists {n}: {e}");
        }
        assert!(parse("[optimizer]\nname = \"lion\"\nbeta = [0.9, 0.9]").is_err(), "unknown keys are refused");
        let t = parse("[optimizer]\nname = \"sam\"\nrho = 0.1\n[optimizer.base]\nname = \"rmsprop\"").unwrap();
        assert_eq!(t.optimizer.name(), "sam");
        let t = parse("[optimizer]\nname = \"pesg\"\n[loss]\nname = \"auc_m\"\nversion = \"v2\"").unwrap();
        assert!(check_combination(&t.optimizer, &t.loss).is_ok());
        let e = parse("[optimizer]\nname = \"adamw\"\n[loss]\nname = \"hinge\"").unwrap_err();
        assert!(e.contains("focal") && e.contains("compositional_auc"), "{e}");
    }

    #[test]
    fn incompatible_combinations_are_refused() {
        let adamw = OptimizerConfig::default();
        let pesg = OptimizerConfig::Pesg { clip: 1.0, epoch_decay: 2e-3, momentum: 0.9, decay_factor: 10.0 };
        let auc = LossConfig::AucM { margin: 1.0, version: AucVersion::V1 };
        assert!(check_combination(&adamw, &auc).unwrap_err().contains("pesg"));
        assert!(check_combination(&pesg, &LossConfig::Bce).unwrap_err().contains("auc_m"));
        let nested = OptimizerConfig::Sam { rho: 0.05, base: Box::new(OptimizerConfig::Sam { rho: 0.05, base: base_adamw() }) };
        assert!(check_combination(&nested, &LossConfig::Bce).is_err());
        let bad = OptimizerConfig::Adamw { betas: [1.0, 0.999], eps: 1e-8 };
        assert!(check_combination(&bad, &LossConfig::Bce).unwrap_err().contains("betas"));
    }
}

/// Training-time augmentation (`[train.augment]`), off when absent. Applied to the resized
/// `[0, 1]` image between the cached stages and normalization, seeded per run seed, epoch and
/// image; never applied to validation, export or evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AugmentConfig {
    /// Random resized crop: the crop's area as a fraction of the image, drawn uniformly
    /// (`[1, 1]` turns it off).
    #[serde(default = "crop_scale")]
    pub crop_scale: [f64; 2],
    /// Random resized crop: the crop's aspect ratio, drawn log-uniformly.
    #[serde(default = "crop_ratio")]
    pub crop_ratio: [f64; 2],
    /// Rotation, drawn uniformly from `±rotation_degrees`.
    #[serde(default = "rotation")]
    pub rotation_degrees: f64,
    /// Translation, drawn uniformly from `±translate` of the side, per axis.
    #[serde(default = "translate")]
    pub translate: f64,
    /// Brightness factor drawn from `[1 − brightness, 1 + brightness]`.
    #[serde(default = "jitter")]
    pub brightness: f64,
    /// Contrast factor drawn from `[1 − contrast, 1 + contrast]` (about the image mean).
    #[serde(default = "jitter")]
    pub contrast: f64,
    /// Probability of a horizontal flip; 0 by default because laterality matters (the heart is
    /// on the left, and a flipped film teaches the wrong anatomy).
    #[serde(default)]
    pub hflip: f64,
}

fn crop_scale() -> [f64; 2] {
    [0.8, 1.0]
}
fn crop_ratio() -> [f64; 2] {
    [0.75, 4.0 / 3.0]
}
fn rotation() -> f64 {
    10.0
}
fn translate() -> f64 {
    0.05
}
fn jitter() -> f64 {
    0.1
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self { crop_scale: crop_scale(), crop_ratio: crop_ratio(), rotation_degrees: rotation(), translate: translate(), brightness: jitter(), contrast: jitter(), hflip: 0.0 }
    }
}

impl AugmentConfig {
    /// Check the ranges.
    ///
    /// # Errors
    /// A message naming the field.
    pub fn validate(&self) -> Result<(), String> {
        let [s0, s1] = self.crop_scale;
        if !(s0 > 0.0 && s0 <= s1 && s1 <= 1.0) {
            return Err(format!("train.augment.crop_scale must satisfy 0 < low <= high <= 1, got {:?}", self.crop_scale));
        }
        let [r0, r1] = self.crop_ratio;
        if !(r0 > 0.0 && r0 <= r1 && r1.is_finite()) {
            return Err(format!("train.augment.crop_ratio must satisfy 0 < low <= high, got {:?}", self.crop_ratio));
        }
        for (name, v, max) in
            [("rotation_degrees", self.rotation_degrees, 180.0), ("translate", self.translate, 0.5), ("brightness", self.brightness, 1.0), ("contrast", self.contrast, 1.0), ("hflip", self.hflip, 1.0)]
        {
            if !(0.0..=max).contains(&v) {
                return Err(format!("train.augment.{name} must be in [0, {max}], got {v}"));
            }
        }
        Ok(())
    }
}
