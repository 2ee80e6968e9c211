//! Golden tests against PyTorch: every registered architecture, every tensor filled with a
//! closed-form function of its reference state-dict key and index (identically in
//! `scripts/golden_reference.py`, which also picks each architecture's weight gain so that the
//! logits depend on the input and float32 rounding stays below 2e-5 of their scale), loaded
//! through the weight loader, must give the logits torchvision / timm gave in float64
//! (`fixtures/golden.json`). Burn-vs-ONNX parity cannot catch an error
//! both sides share; this can (a wrong name, layout, epsilon, activation constant or order).

use burn::prelude::*;
use burn::tensor::TensorData;
use cxr_models::weights::{LoadOptions, load_state_dict};
use cxr_models::{build, variants};

mod common;
use common::{image, state_dict_for};

#[test]
fn every_variant_reproduces_the_reference_logits() {
    let fixture: serde_json::Value = serde_json::from_str(include_str!("fixtures/golden.json")).expect("golden.json");
    let (k, batch, size) = (fixture["classes"].as_u64().unwrap() as usize, fixture["batch"].as_u64().unwrap() as usize, fixture["size"].as_u64().unwrap() as usize);
    let device = Device::flex();
    let x = Tensor::<4>::from_data(TensorData::new(image(batch, size), [batch, 3, size, size]), &device);
    let mut checked = 0;
    for v in variants() {
        let Some(want) = fixture["logits"].get(v.name) else {
            assert!(v.name == "resnet34" || v.name.is_empty(), "{}: no reference logits; rerun scripts/golden_reference.py", v.name);
            continue;
        };
        let gain = fixture["gain"][v.name].as_f64().expect("gain");
        let want: Vec<f32> = want.as_array().expect("array").iter().map(|x| x.as_f64().unwrap() as f32).collect();
        let model = build(v.name, k, 3, 0.0, &device).expect("build");
        let sd = state_dict_for(&model, gain);
        let (model, report) = load_state_dict(model, v.name, sd, "golden", &LoadOptions { replace_head: false }).unwrap_or_else(|e| panic!("{e}"));
        assert!(report.loaded > 0 && report.adapted_stem.is_none());
        let got: Vec<f32> = model.forward(x.clone()).into_data().try_to_vec().expect("f32");
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        // The logits must depend on the input: samples differ by 25 times the tolerance.
        let between = want[..k].iter().zip(&want[k..2 * k]).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(scale > 1e-2 && between > 5e-3 * scale, "{}: degenerate reference logits {want:?}", v.name);
        assert_eq!(got.len(), want.len(), "{}", v.name);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= 2e-4 * scale + 1e-5, "{}: logit {i}: Burn {g} vs PyTorch {w} (scale {scale})", v.name);
        }
        checked += 1;
    }
    assert!(checked >= 19, "only {checked} variants checked");
}
