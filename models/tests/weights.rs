//! Loading reference weights: files, key rules, head replacement, one-channel stems, and the
//! errors that list what does not fit.

use burn::prelude::*;
use burn::tensor::TensorData;
use cxr_models::build;
use cxr_models::weights::{LoadOptions, StateDict, WeightsError, key_rules, load_file, load_state_dict, read_state_dict, to_safetensors};
use std::path::Path;

mod common;
use common::{image, state_dict_for};

const KEEP: LoadOptions = LoadOptions { replace_head: false };
const NEW_HEAD: LoadOptions = LoadOptions { replace_head: true };

fn logits(m: &cxr_models::Model, x: Tensor<4>) -> Vec<f32> {
    m.forward(x).into_data().try_to_vec().expect("f32")
}

fn close(a: &[f32], b: &[f32], what: &str) {
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-4 * scale + 1e-6, "{what}: {x} vs {y}");
    }
}

/// A grey image through the 1-channel model equals the same image copied to RGB through the
/// 3-channel model: the stem's RGB weights were summed.
#[test]
fn one_channel_stems_sum_the_rgb_weights() {
    let d = Device::flex();
    for arch in ["resnet18", "tresnet_m", "efficientnet_b0"] {
        let rgb = build(arch, 5, 3, 0.0, &d).expect("build");
        let sd = state_dict_for(&rgb, 2.0);
        let (rgb, _) = load_state_dict(rgb, arch, sd.clone(), "t", &KEEP).expect("rgb");
        let (grey, report) = load_state_dict(build(arch, 5, 1, 0.0, &d).expect("build"), arch, sd, "t", &KEEP).expect("grey");
        assert!(report.adapted_stem.is_some(), "{arch}: stem not adapted");
        let g: Vec<f32> = image(2, 64).into_iter().take(2 * 64 * 64).collect();
        let x1 = Tensor::<4>::from_data(TensorData::new(g.clone(), [2, 1, 64, 64]), &d);
        let x3 = x1.clone().repeat_dim(1, 3);
        close(&logits(&grey, x1), &logits(&rgb, x3), arch);
    }
}

#[test]
fn a_new_head_leaves_the_classifier_out_and_keeps_the_backbone() {
    let d = Device::flex();
    let imagenet = build("densenet121", 1000, 3, 0.0, &d).expect("build");
    let sd = state_dict_for(&imagenet, 2.0);
    let (m, report) = load_state_dict(build("densenet121", 9, 1, 0.0, &d).expect("build"), "densenet121", sd.clone(), "t", &NEW_HEAD).expect("load");
    assert_eq!(report.replaced_head, vec!["classifier.bias".to_string(), "classifier.weight".to_string()]);
    assert_eq!(m.num_classes(), 9);
    // Without replacing, the 1000-way classifier does not fit a 9-way head: listed as shapes.
    let e = load_state_dict(build("densenet121", 9, 1, 0.0, &d).expect("build"), "densenet121", sd, "imagenet.pth", &KEEP).expect_err("error");
    let msg = e.to_string();
    assert!(msg.contains("imagenet.pth") && msg.contains("2 wrong shapes") && msg.contains("classifier.weight [1000, 1024] (expected [9, 1024])"), "{msg}");
}

#[test]
fn unknown_missing_and_misshapen_keys_are_listed() {
    let d = Device::flex();
    let model = build("resnet18", 5, 3, 0.0, &d).expect("build");
    let mut sd = state_dict_for(&model, 2.0);
    sd.remove("layer2.0.bn1.running_var");
    sd.insert("layer9.0.conv1.weight".into(), (vec![1], vec![0.0]));
    sd.insert("layer1.0.conv1.weight".into(), (vec![64, 64, 1, 1], vec![0.0; 64 * 64]));
    let e = load_state_dict(model, "resnet18", sd, "w.safetensors", &KEEP).expect_err("error");
    let WeightsError::Mismatch { unknown, missing, shapes, .. } = &e else { panic!("{e}") };
    assert_eq!(unknown, &vec!["layer9.0.conv1.weight".to_string()]);
    assert_eq!(missing, &vec!["layer2.0.bn1.running_var".to_string()]);
    assert_eq!(shapes, &vec!["layer1.0.conv1.weight [64, 64, 1, 1] (expected [64, 64, 3, 3])".to_string()]);
    let msg = e.to_string();
    assert!(msg.contains("w.safetensors") && msg.contains("resnet18") && msg.contains("1 unknown keys: layer9.0.conv1.weight"), "{msg}");
}

/// torchvision's pre-0.3 DenseNet keys (`norm.1`, `conv.2`) load through the family's rule and
/// give the same model.
#[test]
fn legacy_densenet_keys_load_by_rule() {
    let d = Device::flex();
    let model = build("densenet121", 5, 3, 0.0, &d).expect("build");
    let sd = state_dict_for(&model, 2.0);
    let legacy: StateDict = sd
        .iter()
        .map(|(k, v)| {
            let old = ["norm1", "norm2", "conv1", "conv2"].iter().fold(k.clone(), |k, n| if k.contains("denselayer") { k.replace(&format!(".{n}."), &format!(".{}.{}.", &n[..n.len() - 1], &n[n.len() - 1..])) } else { k });
            (old, v.clone())
        })
        .collect();
    assert!(legacy.contains_key("features.denseblock1.denselayer1.norm.1.weight"));
    let x = Tensor::<4>::from_data(TensorData::new(image(1, 64), [1, 3, 64, 64]), &d);
    let (a, _) = load_state_dict(build("densenet121", 5, 3, 0.0, &d).expect("build"), "densenet121", sd, "new", &KEEP).expect("new keys");
    let (b, _) = load_state_dict(model, "densenet121", legacy, "legacy", &KEEP).expect("legacy keys");
    assert_eq!(logits(&a, x.clone()), logits(&b, x));
    assert!(key_rules("resnet").is_empty(), "only DenseNet needs a rule");
}

#[test]
fn safetensors_files_load_like_the_state_dict() {
    let d = Device::flex();
    let model = build("mobilenetv3_large_100", 5, 3, 0.0, &d).expect("build");
    let sd = state_dict_for(&model, 2.0);
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("mnv3.safetensors");
    std::fs::write(&path, to_safetensors(&sd)).expect("write");
    assert_eq!(read_state_dict(&path).expect("read"), sd);
    let x = Tensor::<4>::from_data(TensorData::new(image(1, 64), [1, 3, 64, 64]), &d);
    let (a, _) = load_state_dict(build("mobilenetv3_large_100", 5, 3, 0.0, &d).expect("build"), "mobilenetv3_large_100", sd, "mem", &KEEP).expect("memory");
    let (b, _) = load_file(model, "mobilenetv3_large_100", &path, &KEEP).expect("file");
    assert_eq!(logits(&a, x.clone()), logits(&b, x));
}

/// A PyTorch checkpoint written by `torch.save({"state_dict": …, "epoch": 3})` with a float16
/// tensor and a step counter: unwrapped, converted, counters kept for the loader to ignore.
#[test]
fn pytorch_checkpoints_are_unwrapped_and_converted() {
    let sd = read_state_dict(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nested_state_dict.pth"))).expect("read");
    assert_eq!(sd["features.denseblock1.denselayer1.norm.1.weight"], (vec![3], vec![1.0, 2.0, 3.0]));
    assert_eq!(sd["conv.weight"], (vec![2, 1, 1, 1], vec![0.5, -1.25]));
    let missing = read_state_dict(Path::new("/nonexistent/w.pth")).expect_err("error").to_string();
    assert!(missing.contains("/nonexistent/w.pth") && missing.contains("no such file"), "{missing}");
    let dir = tempfile::tempdir().expect("tmp");
    let odd = dir.path().join("w.onnx");
    std::fs::write(&odd, b"x").expect("write");
    assert!(read_state_dict(&odd).expect_err("error").to_string().contains("use .safetensors, .pth"));
}
