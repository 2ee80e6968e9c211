//! Training losses on logits with soft targets and a mask (methods.md §3): masked BCE and the
//! sigmoid focal loss, each a masked mean over all known entries.

use burn::prelude::*;
use burn::tensor::activation::{sigmoid, softplus};
use cxr_core::LossConfig;

/// The loss of `config` on logits; for the AUC losses, the BCE of their cross-entropy steps
/// (their AUC steps use [`crate::auc_loss::AucHead::loss`]).
///
/// # Errors
/// None today; kept fallible for losses with preconditions.
pub fn loss_fn(config: &LossConfig) -> anyhow::Result<impl Fn(Tensor<2>, Tensor<2>, Tensor<2>) -> Tensor<1> + use<>> {
    let config = config.clone();
    Ok(move |x: Tensor<2>, y: Tensor<2>, m: Tensor<2>| match config {
        LossConfig::Focal { alpha, gamma } => masked_focal_with_logits(x, y, m, alpha, gamma),
        _ => masked_bce_with_logits(x, y, m),
    })
}

/// Per-element ℓ(x, y) = max(x, 0) − x·y + log(1 + e^{−|x|}).
fn bce_elements(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<2> {
    logits.clone().clamp_min(0.0) - logits.clone() * targets + softplus(logits.abs().neg(), 1.0)
}

/// torchvision's `sigmoid_focal_loss` per element, `α_t·(1 − p_t)^γ·ℓ` with
/// `p_t = p·y + (1 − p)(1 − y)` and `α_t = α·y + (1 − α)(1 − y)` (no α weighting when `α < 0`),
/// then the masked mean.
pub fn masked_focal_with_logits(logits: Tensor<2>, targets: Tensor<2>, mask: Tensor<2>, alpha: f64, gamma: f64) -> Tensor<1> {
    let p = sigmoid(logits.clone());
    let ce = bce_elements(logits, targets.clone());
    let p_t = p.clone() * targets.clone() + (p.ones_like() - p) * (targets.ones_like() - targets.clone());
    let modulating = (p_t.ones_like() - p_t).clamp_min(0.0).powf_scalar(gamma);
    let mut per = ce * modulating;
    if alpha >= 0.0 {
        let alpha_t = targets.clone().mul_scalar(alpha) + (targets.ones_like() - targets).mul_scalar(1.0 - alpha);
        per = per * alpha_t;
    }
    let denom = mask.clone().sum().clamp_min(1.0);
    (per * mask).sum() / denom
}

/// `Σ mask·ℓ(x, y) / max(Σ mask, 1)` with ℓ(x, y) = max(x, 0) − x·y + log(1 + e^{−|x|}), the
/// numerically stable form of −[y log σ(x) + (1 − y) log(1 − σ(x))].
///
/// This is the masked mean over all entries (not torchxrayvision's sum of per-task means): every
/// known label counts equally, whatever its finding.
pub fn masked_bce_with_logits(logits: Tensor<2>, targets: Tensor<2>, mask: Tensor<2>) -> Tensor<1> {
    let per = bce_elements(logits, targets);
    let denom = mask.clone().sum().clamp_min(1.0);
    (per * mask).sum() / denom
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32], d: &Device) -> Tensor<2> {
        Tensor::<1>::from_floats(v, d).reshape([1, v.len()])
    }

    #[test]
    fn matches_the_definition_and_ignores_masked_entries() {
        let d = Device::flex();
        let x = [2.0f32, -1.0, 0.5, 30.0];
        let y = [1.0f32, 0.0, 0.7, 0.0];
        let m = [1.0f32, 1.0, 1.0, 0.0];
        let got: f32 = masked_bce_with_logits(t(&x, &d), t(&y, &d), t(&m, &d)).into_scalar();
        let sig = |v: f32| 1.0 / (1.0 + (-v).exp());
        let want: f32 = (0..3).map(|i| -(y[i] * sig(x[i]).ln() + (1.0 - y[i]) * (1.0 - sig(x[i])).ln())).sum::<f32>() / 3.0;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        // A huge logit on a masked entry changes nothing and stays finite.
        assert!(got.is_finite());
        let none: f32 = masked_bce_with_logits(t(&x, &d), t(&y, &d), t(&[0.0; 4], &d)).into_scalar();
        assert_eq!(none, 0.0);
    }

    #[test]
    fn focal_matches_torchvision_values() {
        // torchvision.ops.sigmoid_focal_loss(x, y, alpha, gamma, reduction="mean") on these four
        // entries (torch 2.9.1, torchvision 0.24.1): α 0.25, γ 2 → 0.18994835019111633;
        // α −1, γ 2 → 0.7294223308563232; α 0.25, γ 0 (= weighted BCE) → 0.3196139931678772.
        let d = Device::flex();
        let x = [2.0f32, -1.0, 0.5, -3.0];
        let y = [1.0f32, 0.0, 0.7, 1.0];
        let m = [1.0f32; 4];
        let got = |a, g| -> f32 { masked_focal_with_logits(t(&x, &d), t(&y, &d), t(&m, &d), a, g).into_scalar() };
        for (a, g, want) in [(0.25, 2.0, 0.189_948_35_f32), (-1.0, 2.0, 0.729_422_3), (0.25, 0.0, 0.319_614)] {
            assert!((got(a, g) - want).abs() < 1e-6, "α {a} γ {g}: {} vs {want}", got(a, g));
        }
        // γ = 0 and no α is plain BCE.
        let bce: f32 = masked_bce_with_logits(t(&x, &d), t(&y, &d), t(&m, &d)).into_scalar();
        assert!((got(-1.0, 0.0) - bce).abs() < 1e-6);
    }
}
