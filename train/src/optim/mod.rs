//! Optimizers chosen by `[train.optimizer]` (methods.md §2): per-tensor rules as
//! `burn::optim::Optimizer`s inside one `ModuleOptimizer`, with parameter groups where a rule
//! mixes two (Muon's AdamW half). Burn's own rules are used where they match the reference, with
//! the reference's constants (Burn's defaults differ: AdamW ε 1e-5 and λ 1e-4, RMSProp μ 0.9
//! and ε 1e-5). SAM/ASAM ([`sharpness`]), global-norm clipping ([`clip`]) and the AUC losses'
//! dual variable are steps of the training loop.

pub mod auc;
pub mod clip;
pub mod mars;
pub mod muon;
pub mod params;
pub mod schedule_free;
pub mod sharpness;
pub mod soap;
pub mod state;

use burn::module::ParamGroup;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamWConfig, AdanConfig, LearningRate, LionConfig, ModuleOptimizer, Optimizer, RmsPropConfig};
use burn::prelude::*;
use cxr_core::OptimizerConfig;

/// `start + w·(end − start)`, torch's `lerp` (the start-based form below w = 0.5, the end-based one above), which
/// several rules use for their moving averages.
pub(crate) fn lerp<const D: usize>(start: Tensor<D>, end: Tensor<D>, w: f32) -> Tensor<D> {
    if w < 0.5 { start.clone() + (end - start).mul_scalar(w) } else { end.clone() - (end - start).mul_scalar(1.0 - w) }
}

/// Another rule with its learning rate scaled (Muon's AdamW half runs at its own rate).
#[derive(Clone, Debug)]
pub struct Scaled<O> {
    /// The rule.
    pub inner: O,
    /// Multiplier of the step's learning rate.
    pub factor: f64,
}

impl<O: Optimizer> Optimizer for Scaled<O> {
    type State<const D: usize> = O::State<D>;

    fn step<const D: usize>(&self, lr: LearningRate, tensor: Tensor<D>, grad: Tensor<D>, state: Option<Self::State<D>>) -> (Tensor<D>, Option<Self::State<D>>) {
        self.inner.step(lr * self.factor, tensor, grad, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        O::to_device(state, device)
    }
}

/// What a rule needs to know beyond its config: where training stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Phase {
    /// Epoch (0-based), for PESG/PDSCA's reference-point reset.
    pub epoch: u64,
    /// Whether this step is an AUC step of the compositional loss (PDSCA).
    pub auc_step: bool,
    /// Schedule-Free: read the averaged weights instead of stepping.
    pub averaged: bool,
}

fn adamw(betas: [f64; 2], eps: f64, weight_decay: f64) -> AdamWConfig {
    AdamWConfig::new().with_beta_1(betas[0] as f32).with_beta_2(betas[1] as f32).with_epsilon(eps as f32).with_weight_decay(weight_decay as f32)
}

/// The per-tensor rule of `config` for a module whose parameters are described by `params`.
/// For SAM and ASAM this is their base rule.
///
/// # Panics
/// Never for a config that passed `check_combination`.
#[must_use]
pub fn module_optimizer(config: &OptimizerConfig, weight_decay: f64, params: &params::ParamList, phase: Phase) -> ModuleOptimizer {
    let wd = weight_decay;
    match config {
        OptimizerConfig::Adamw { betas, eps } => adamw(*betas, *eps, wd).init(),
        OptimizerConfig::Rmsprop { alpha, eps, momentum, centered } => {
            let mut c = RmsPropConfig::new().with_alpha(*alpha as f32).with_epsilon(*eps as f32).with_momentum(*momentum as f32).with_centered(*centered);
            if wd > 0.0 {
                c = c.with_weight_decay(Some(WeightDecayConfig::new(wd as f32)));
            }
            c.init()
        }
        OptimizerConfig::Muon { momentum, nesterov, ns_steps, aux_betas, aux_eps, aux_lr_ratio } => {
            let rule = muon::Muon { momentum: *momentum as f32, nesterov: *nesterov, ns_steps: *ns_steps, weight_decay: wd as f32 };
            let aux = Scaled { inner: adamw(*aux_betas, *aux_eps, wd).build(), factor: *aux_lr_ratio };
            ModuleOptimizer::from(rule).with_group(ParamGroup::from_paths(params.muon_aux_paths()), aux, None)
        }
        OptimizerConfig::ScheduleFreeAdamw { betas, eps, warmup_steps, r, weight_lr_power, .. } => ModuleOptimizer::from(schedule_free::ScheduleFreeAdamW {
            beta1: betas[0],
            beta2: betas[1],
            eps: *eps,
            weight_decay: wd,
            warmup_steps: u64::from(*warmup_steps),
            r: *r,
            weight_lr_power: *weight_lr_power,
            eval: phase.averaged,
        }),
        OptimizerConfig::Lion { betas } => LionConfig::new().with_beta_1(betas[0] as f32).with_beta_2(betas[1] as f32).with_weight_decay(wd as f32).init(),
        OptimizerConfig::Soap { betas, eps, precondition_frequency, max_precond_dim } => ModuleOptimizer::from(soap::Soap {
            beta1: betas[0],
            beta2: betas[1],
            eps: *eps,
            weight_decay: wd,
            precondition_frequency: u64::from(*precondition_frequency),
            max_precond_dim: *max_precond_dim as usize,
        }),
        OptimizerConfig::Adan { betas, eps, no_prox } => AdanConfig::new()
            .with_beta_1(betas[0] as f32)
            .with_beta_2(betas[1] as f32)
            .with_beta_3(betas[2] as f32)
            .with_epsilon(*eps as f32)
            .with_weight_decay(wd as f32)
            .with_no_prox(*no_prox)
            .init(),
        OptimizerConfig::Mars { betas, eps, gamma } => ModuleOptimizer::from(mars::Mars { beta1: betas[0], beta2: betas[1], eps: *eps, gamma: *gamma, weight_decay: wd }),
        OptimizerConfig::Sam { base, .. } | OptimizerConfig::Asam { base, .. } => module_optimizer(base, wd, params, phase),
        OptimizerConfig::Pesg { clip, epoch_decay, momentum, .. } => {
            ModuleOptimizer::from(auc::Pesg { clip: *clip, epoch_decay: *epoch_decay, weight_decay: wd, momentum: *momentum, epoch: phase.epoch })
        }
        OptimizerConfig::Pdsca { clip, epoch_decay, beta1, beta2, .. } => {
            ModuleOptimizer::from(auc::Pdsca { clip: *clip, epoch_decay: *epoch_decay, weight_decay: wd, beta1: *beta1, beta2: *beta2, auc_step: phase.auc_step, epoch: phase.epoch })
        }
    }
}

/// A module's optimizer with the phase it was built for; PESG and PDSCA are rebuilt (state kept)
/// when the phase changes.
pub struct TrainOptimizer {
    /// The rule(s).
    pub inner: ModuleOptimizer,
    /// The module's trainable parameters.
    pub params: params::ParamList,
    config: OptimizerConfig,
    weight_decay: f64,
    phase: Phase,
}

impl TrainOptimizer {
    /// Build for a module described by `params`.
    #[must_use]
    pub fn new(config: &OptimizerConfig, weight_decay: f64, params: params::ParamList) -> Self {
        let phase = Phase::default();
        Self { inner: module_optimizer(config, weight_decay, &params, phase), config: config.clone(), weight_decay, params, phase }
    }

    /// Tell the rule where training stands; a phase-dependent rule is rebuilt with its state.
    pub fn set_phase(&mut self, phase: Phase) {
        let relevant = match self.config {
            OptimizerConfig::Pesg { .. } => Phase { epoch: phase.epoch, ..Phase::default() },
            OptimizerConfig::Pdsca { .. } => Phase { averaged: false, ..phase },
            _ => Phase::default(),
        };
        if relevant != self.phase {
            let record = self.inner.to_record();
            self.inner = module_optimizer(&self.config, self.weight_decay, &self.params, relevant).load_record(record);
            self.phase = relevant;
        }
    }

    /// The weights to evaluate and checkpoint: Schedule-Free's averaged point x (computed from
    /// the state; `model`, the training point y, is not changed), any other rule's `model` itself.
    #[must_use]
    pub fn averaged<M: burn::module::Module>(&self, model: M) -> M {
        if !matches!(self.config, OptimizerConfig::ScheduleFreeAdamw { .. }) {
            return model;
        }
        let mut reader = module_optimizer(&self.config, self.weight_decay, &self.params, Phase { averaged: true, ..self.phase }).load_record(self.inner.to_record());
        let grads = clip::zero_grads(&self.params);
        reader.step(0.0, model, grads)
    }

    /// The state as burnpack bytes (for the epoch checkpoint).
    ///
    /// # Errors
    /// Serialization failure.
    pub fn to_bytes(&self) -> anyhow::Result<Vec<u8>> {
        Ok(self.inner.into_bytes().map_err(|e| anyhow::anyhow!("saving optimizer state: {e:?}"))?.to_vec())
    }

    /// Restore the state saved by [`Self::to_bytes`].
    ///
    /// # Errors
    /// Bytes that are not an optimizer record.
    pub fn load_bytes(&mut self, bytes: Vec<u8>) -> anyhow::Result<()> {
        let fresh = module_optimizer(&self.config, self.weight_decay, &self.params, self.phase);
        self.inner = fresh.from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes)).map_err(|e| anyhow::anyhow!("not an optimizer state: {e:?}"))?;
        Ok(())
    }

    /// One step.
    pub fn step<M: burn::module::Module>(&mut self, lr: LearningRate, module: M, grads: burn::optim::GradientsParams) -> M {
        self.inner.step(lr, module, grads)
    }
}
