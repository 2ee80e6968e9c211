//! The AUC-M square loss with its learnable a, b and dual variable α, one of each per label
//! (Yuan et al., ICCV 2021; LibAUC 2.0.1 `AUCMLoss`), methods.md §3.4, on sigmoid scores.
//!
//! v1 takes the positive fraction p from the batch (LibAUC's `auto=True`); v2 is the
//! class-conditional form without LibAUC 2.0.1's leaked inner mean (issue #74). A label counts
//! only when the batch has both a known positive and a known negative for it (LibAUC would
//! divide by zero in v2); the loss is the mean over those labels. Soft targets (LSR) count as
//! positive above 0.5. α is a dual variable: the loss uses it as a constant and
//! [`AucHead::ascend_alpha`] updates it in closed form, as PESG and PDSCA do.

use crate::optim::params::ParamList;
use crate::optim::{Phase, TrainOptimizer};
use anyhow::Context;
use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use cxr_core::{AucVersion, LossConfig, ResolvedRun, write_atomic, write_json_atomic};
use std::path::Path;

/// a, b and α per label.
#[derive(Module, Debug)]
pub struct AucHead {
    /// Target score of positives.
    pub a: Param<Tensor<1>>,
    /// Target score of negatives.
    pub b: Param<Tensor<1>>,
    /// Dual variable (not trained by gradient).
    pub alpha: Param<Tensor<1>>,
}

impl AucHead {
    /// a = b = α = 0 for `k` labels, as LibAUC starts.
    #[must_use]
    pub fn new(k: usize, device: &Device) -> Self {
        Self { a: Param::from_tensor(Tensor::zeros([k], device)), b: Param::from_tensor(Tensor::zeros([k], device)), alpha: Param::from_tensor(Tensor::zeros([k], device)) }
    }

    /// From saved values.
    #[must_use]
    pub fn from_values(a: &[f32], b: &[f32], alpha: &[f32], device: &Device) -> Self {
        let t = |v: &[f32]| Param::from_tensor(Tensor::<1>::from_floats(v, device));
        Self { a: t(a), b: t(b), alpha: t(alpha) }
    }

    /// (a, b, α) as plain vectors.
    #[must_use]
    pub fn values(&self) -> [Vec<f32>; 3] {
        let v = |p: &Param<Tensor<1>>| p.val().into_data().try_to_vec::<f32>().unwrap_or_default();
        [v(&self.a), v(&self.b), v(&self.alpha)]
    }

    /// The AUC-M loss of `scores` (probabilities, `[n, K]`) against `targets` where `mask` is 1.
    #[must_use]
    pub fn loss(&self, scores: Tensor<2>, targets: Tensor<2>, mask: Tensor<2>, margin: f64, version: AucVersion) -> Tensor<1> {
        let [_, k] = scores.dims();
        let pos = targets.greater_elem(0.5).float() * mask.clone();
        let neg = mask.clone() - pos.clone();
        let n = mask.sum_dim(0); // [1, K]
        let n_pos = pos.clone().sum_dim(0);
        let n_neg = neg.clone().sum_dim(0);
        let valid = n_pos.clone().greater_elem(0.0).float() * n_neg.clone().greater_elem(0.0).float();
        let a = self.a.val().reshape([1, k]);
        let b = self.b.val().reshape([1, k]);
        let alpha = self.alpha.val().detach().reshape([1, k]);
        let sq_a = (scores.clone() - a).powf_scalar(2.0);
        let sq_b = (scores.clone() - b).powf_scalar(2.0);
        let per_label = match version {
            AucVersion::V1 => {
                let nn = n.clamp_min(1.0);
                let p = n_pos / nn.clone();
                let q = p.ones_like() - p.clone();
                let mean = |t: Tensor<2>| t.sum_dim(0) / nn.clone();
                q.clone() * mean(sq_a * pos.clone())
                    + p.clone() * mean(sq_b * neg.clone())
                    + alpha.clone().mul_scalar(2.0) * (p.clone() * q.clone() * margin + mean(p.clone() * scores.clone() * neg - q.clone() * scores * pos))
                    - p * q * alpha.clone() * alpha
            }
            AucVersion::V2 => {
                let e_pos = |t: Tensor<2>| t.sum_dim(0) / n_pos.clone().clamp_min(1.0);
                let e_neg = |t: Tensor<2>| t.sum_dim(0) / n_neg.clone().clamp_min(1.0);
                e_pos(sq_a * pos.clone()) + e_neg(sq_b * neg.clone()) + alpha.clone().mul_scalar(2.0) * (e_neg(scores.clone() * neg).add_scalar(margin) - e_pos(scores * pos)) - alpha.clone() * alpha
            }
        };
        (per_label * valid.clone()).sum() / valid.sum().clamp_min(1.0)
    }

    /// PESG/PDSCA's dual ascent: `α ← clamp(α + lr·(2·(m + b − a) − 2·α), 0, 999)`, with the a
    /// and b of after the step.
    #[must_use]
    pub fn ascend_alpha(self, lr: f64, margin: f64) -> Self {
        let (a, b) = (self.a.val().detach(), self.b.val().detach());
        let id = self.alpha.id;
        let alpha = self.alpha.val().detach();
        let next = (alpha.clone() + ((b - a).add_scalar(margin).mul_scalar(2.0) - alpha.mul_scalar(2.0)).mul_scalar(lr)).clamp(0.0, 999.0);
        // A fresh leaf (from the values) so that the dual variable stays out of every graph.
        let device = next.device();
        let leaf = Tensor::<1>::from_data(next.into_data(), &device);
        let leaf = if device.is_autodiff() { leaf.require_grad() } else { leaf };
        Self { alpha: Param::initialized(id, leaf), ..self }
    }
}

/// The AUC losses' side of training: the head, its own optimizer (the model's rule, PESG or
/// PDSCA) and the loss constants.
pub struct AucSide {
    /// a, b, α.
    pub head: AucHead,
    optim: TrainOptimizer,
    margin: f64,
    version: AucVersion,
}

impl AucSide {
    /// For a run whose loss is AUC-M or compositional AUC; `None` otherwise.
    #[must_use]
    pub fn new(run: &ResolvedRun, k: usize, device: &Device) -> Option<Self> {
        let (margin, version) = match run.train.loss {
            LossConfig::AucM { margin, version } | LossConfig::CompositionalAuc { margin, version, .. } => (margin, version),
            _ => return None,
        };
        let head = crate::optim::params::with_stable_ids(AucHead::new(k, device), "auc_head");
        let optim = TrainOptimizer::new(&run.train.optimizer, run.train.weight_decay, ParamList::of(&head));
        Some(Self { head, optim, margin, version })
    }

    /// The AUC-M loss of the model's logits.
    #[must_use]
    pub fn loss(&self, logits: Tensor<2>, targets: Tensor<2>, mask: Tensor<2>) -> Tensor<1> {
        self.head.loss(sigmoid(logits), targets, mask, self.margin, self.version)
    }

    /// Step a and b with the gradient, then ascend α (on AUC steps only: PDSCA's cross-entropy
    /// steps leave α alone).
    pub fn step(&mut self, lr: f64, phase: Phase, grads: GradientsParams) {
        self.optim.set_phase(phase);
        let head = std::mem::replace(&mut self.head, AucHead::new(0, &Device::flex().autodiff()));
        let head = self.optim.step(lr, head, grads);
        self.head = if phase.auc_step { head.ascend_alpha(lr, self.margin) } else { head };
    }

    /// Save a, b, α and the optimizer state into an epoch folder.
    ///
    /// # Errors
    /// I/O errors.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let [a, b, alpha] = self.head.values();
        write_json_atomic(&dir.join("auc_head.json"), &serde_json::json!({ "a": a, "b": b, "alpha": alpha }))?;
        write_atomic(&dir.join("auc_head_optimizer.bpk"), &self.optim.to_bytes()?)?;
        Ok(())
    }

    /// Restore what [`Self::save`] wrote, keeping the head's parameter ids (the optimizer state is
    /// keyed by them).
    ///
    /// # Errors
    /// Missing or malformed files, named.
    pub fn load(&mut self, dir: &Path, device: &Device) -> anyhow::Result<()> {
        let path = dir.join("auc_head.json");
        let v: serde_json::Value = serde_json::from_str(&fs_err::read_to_string(&path)?).with_context(|| format!("malformed {}", path.display()))?;
        let floats = |k: &str| -> anyhow::Result<Vec<f32>> {
            v[k].as_array()
                .with_context(|| format!("{}: no {k}", path.display()))?
                .iter()
                .map(|x| x.as_f64().map(|f| f as f32).with_context(|| format!("{}: {k} is not numeric", path.display())))
                .collect()
        };
        let put = |p: Param<Tensor<1>>, vals: Vec<f32>| Param::initialized(p.id, Tensor::<1>::from_floats(vals.as_slice(), device).require_grad());
        let head = std::mem::replace(&mut self.head, AucHead::new(0, device));
        self.head = AucHead { a: put(head.a, floats("a")?), b: put(head.b, floats("b")?), alpha: put(head.alpha, floats("alpha")?) };
        self.optim.load_bytes(fs_err::read(dir.join("auc_head_optimizer.bpk"))?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t2(v: &[f32], n: usize, device: &Device) -> Tensor<2> {
        Tensor::<1>::from_floats(v, device).reshape([n, v.len() / n])
    }

    const S: [f32; 6] = [0.9, 0.2, 0.6, 0.4, 0.75, 0.1];
    const Y: [f32; 6] = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0];

    #[test]
    fn v1_matches_libauc() {
        // libauc 2.0.1 AUCMLoss(margin=1.0, version="v1") with a = 0.3, b = 0.1, α = 0.5 on
        // these six scores and labels: 0.2510416507720947 (torch 2.9.1, float32).
        let d = Device::flex();
        let h = AucHead::from_values(&[0.3], &[0.1], &[0.5], &d);
        let got: f32 = h.loss(t2(&S, 6, &d), t2(&Y, 6, &d), t2(&[1.0; 6], 6, &d), 1.0, AucVersion::V1).into_scalar();
        assert!((got - V1_REFERENCE).abs() < 1e-6, "{got} vs {V1_REFERENCE}");
    }

    const V1_REFERENCE: f32 = 0.251_041_65;

    #[test]
    fn v2_is_the_intended_class_conditional_form() {
        let d = Device::flex();
        let (a, b, al, m) = (0.3f64, 0.1f64, 0.5f64, 1.0f64);
        let h = AucHead::from_values(&[a as f32], &[b as f32], &[al as f32], &d);
        let got: f32 = h.loss(t2(&S, 6, &d), t2(&Y, 6, &d), t2(&[1.0; 6], 6, &d), m, AucVersion::V2).into_scalar();
        let (p, n): (Vec<f64>, Vec<f64>) =
            (S.iter().zip(Y).filter(|(_, y)| *y == 1.0).map(|(s, _)| f64::from(*s)).collect(), S.iter().zip(Y).filter(|(_, y)| *y == 0.0).map(|(s, _)| f64::from(*s)).collect());
        let mean = |v: &[f64], f: &dyn Fn(f64) -> f64| v.iter().map(|x| f(*x)).sum::<f64>() / v.len() as f64;
        let want = mean(&p, &|s| (s - a).powi(2)) + mean(&n, &|s| (s - b).powi(2)) + 2.0 * al * (m + mean(&n, &|s| s) - mean(&p, &|s| s)) - al * al;
        assert!((f64::from(got) - want).abs() < 1e-6, "{got} vs {want}");
    }

    #[test]
    fn masked_entries_and_one_class_labels_do_not_count() {
        let d = Device::flex();
        let h = AucHead::from_values(&[0.3, 0.0], &[0.1, 0.0], &[0.5, 0.0], &d);
        // Label 1 has only positives among its known entries: it is left out, and the result is
        // label 0's loss alone; masking label 0's last entry changes it.
        let s: Vec<f32> = S.iter().flat_map(|v| [*v, 0.5]).collect();
        let y: Vec<f32> = Y.iter().flat_map(|v| [*v, 1.0]).collect();
        let all = vec![1.0f32; 12];
        let two: f32 = h.loss(t2(&s, 6, &d), t2(&y, 6, &d), t2(&all, 6, &d), 1.0, AucVersion::V2).into_scalar();
        let h1 = AucHead::from_values(&[0.3], &[0.1], &[0.5], &d);
        let one: f32 = h1.loss(t2(&S, 6, &d), t2(&Y, 6, &d), t2(&[1.0; 6], 6, &d), 1.0, AucVersion::V2).into_scalar();
        assert!((two - one).abs() < 1e-6, "{two} vs {one}");
        let mut m = all.clone();
        m[10] = 0.0;
        let masked: f32 = h.loss(t2(&s, 6, &d), t2(&y, 6, &d), t2(&m, 6, &d), 1.0, AucVersion::V2).into_scalar();
        assert!((masked - two).abs() > 1e-4);
    }

    #[test]
    fn alpha_ascends_in_closed_form_and_is_clamped() {
        let d = Device::flex();
        let h = AucHead::from_values(&[0.3, 5.0], &[0.1, 0.0], &[0.5, 0.1], &d).ascend_alpha(0.1, 1.0);
        let [_, _, al] = h.values();
        // 0.5 + 0.1·(2·(1 + 0.1 − 0.3) − 1.0) = 0.56; 0.1 + 0.1·(2·(1 − 5) − 0.2) < 0 → 0.
        assert!((al[0] - 0.56).abs() < 1e-6 && al[1] == 0.0, "{al:?}");
    }
}
