//! One optimizer step of a run, whatever its axes: the loss (or the AUC losses' phases), SAM's
//! second pass, gradient accumulation over micro-batches, clipping, the rule, and the AUC head's
//! dual ascent. The training loop feeds it batches; the ablation tests feed it a fixed batch.

use crate::auc_loss::AucSide;
use crate::loss::loss_fn;
use crate::optim::params::ParamList;
use crate::optim::sharpness::{Sharpness, perturbed};
use crate::optim::{Phase, TrainOptimizer, clip};
use crate::schedule::{At, lr_at};
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::prelude::*;
use cxr_core::{LossConfig, ResolvedRun, TrainConfig};
use cxr_models::Model;

/// Images, soft targets and mask of one micro-batch.
pub type MicroBatch = (Tensor<4>, Tensor<2>, Tensor<2>);

/// A loss that is not finite.
#[derive(Debug, Clone, Copy)]
pub struct NonFinite {
    /// Which micro-batch of the step.
    pub micro_batch: usize,
    /// The value.
    pub value: f32,
}

/// The model, its optimizer and what the run's axes add.
pub struct Learner {
    /// The model (training point).
    pub model: Model,
    /// Its optimizer.
    pub optim: TrainOptimizer,
    /// The AUC losses' head, when the loss is one.
    pub head: Option<AucSide>,
    train: TrainConfig,
    sharpness: Option<Sharpness>,
    loss_of: Box<dyn Fn(Tensor<2>, Tensor<2>, Tensor<2>) -> Tensor<1>>,
}

impl Learner {
    /// Wrap `model` (on an autodiff device) for `run`.
    ///
    /// # Errors
    /// A loss the loop cannot build.
    pub fn new(run: &ResolvedRun, model: Model, device: &Device) -> anyhow::Result<Self> {
        let optim = TrainOptimizer::new(&run.train.optimizer, run.train.weight_decay, ParamList::of(&model));
        Ok(Self {
            model,
            optim,
            head: AucSide::new(run, run.labels.len(), device),
            train: run.train.clone(),
            sharpness: Sharpness::of(&run.train.optimizer),
            loss_of: Box::new(loss_fn(&run.train.loss)?),
        })
    }

    /// Whether step `step` (0-based) is an AUC step of the loss.
    #[must_use]
    pub fn auc_step(&self, step: u64) -> bool {
        match self.train.loss {
            LossConfig::CompositionalAuc { k, .. } => step % (2 * u64::from(k)) >= u64::from(k),
            LossConfig::AucM { .. } => true,
            _ => false,
        }
    }

    /// The training objective of `model` on one micro-batch at step kind `auc`.
    fn objective(&self, model: &Model, (x, y, m): &MicroBatch, auc: bool) -> Tensor<1> {
        let logits = model.forward(x.clone());
        match (&self.head, auc) {
            (Some(h), true) => h.loss(logits, y.clone(), m.clone()),
            _ => (self.loss_of)(logits, y.clone(), m.clone()),
        }
    }

    /// One optimizer step over `micro` (gradients averaged over them); returns each
    /// micro-batch's loss and the learning rate used.
    ///
    /// # Errors
    /// [`NonFinite`] before anything is updated when a loss is NaN or infinite.
    pub fn step(&mut self, micro: &[MicroBatch], at: At) -> Result<(Vec<f32>, f64), NonFinite> {
        let lr = lr_at(&self.train, at);
        let auc = self.auc_step(at.step);
        let phase = Phase { epoch: u64::from(at.epoch), auc_step: auc, averaged: false };
        self.optim.set_phase(phase);
        let mut acc = GradientsAccumulator::new();
        let mut head_grads = None;
        let mut losses = Vec::with_capacity(micro.len());
        for (i, batch) in micro.iter().enumerate() {
            let loss = self.objective(&self.model, batch, auc);
            let value: f32 = loss.clone().into_scalar();
            if !value.is_finite() {
                return Err(NonFinite { micro_batch: i, value });
            }
            losses.push(value);
            let scaled = if micro.len() > 1 { loss.div_scalar(micro.len() as f64) } else { loss };
            let mut grads = scaled.backward();
            let mut gm = GradientsParams::from_module(&mut grads, &self.model);
            if let Some(h) = &self.head {
                head_grads = Some(GradientsParams::from_module(&mut grads, &h.head));
            }
            if let Some(rule) = self.sharpness {
                let probe = perturbed(&self.model, &gm, &self.optim.params, rule);
                gm = GradientsParams::from_grads(self.objective(&probe, batch, auc).backward(), &probe);
            }
            acc.accumulate(&self.model, gm);
        }
        let mut grads = acc.grads();
        if let Some(cfg) = &self.train.grad_clip {
            clip::clip(&mut grads, &self.optim.params, cfg);
        }
        let model = self.model.clone();
        self.model = self.optim.step(lr, model, grads);
        if let (Some(h), Some(g)) = (&mut self.head, head_grads) {
            h.step(lr, phase, g);
        }
        Ok((losses, lr))
    }
}
