//! Masked binary cross-entropy with logits on soft targets (methods.md §3.1).

use burn::prelude::*;
use burn::tensor::activation::softplus;

/// `Σ mask·ℓ(x, y) / max(Σ mask, 1)` with ℓ(x, y) = max(x, 0) − x·y + log(1 + e^{−|x|}), the
/// numerically stable form of −[y log σ(x) + (1 − y) log(1 − σ(x))].
///
/// This is the masked mean over all entries (not torchxrayvision's sum of per-task means): every
/// known label counts equally, whatever its finding.
pub fn masked_bce_with_logits(logits: Tensor<2>, targets: Tensor<2>, mask: Tensor<2>) -> Tensor<1> {
    let per = logits.clone().clamp_min(0.0) - logits.clone() * targets + softplus(logits.abs().neg(), 1.0);
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
}
