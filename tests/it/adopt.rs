//! `cxr-export adopt`: a classifier exported elsewhere is wrapped under the card contract after
//! the checks the evaluator relies on, and the evaluator then runs it like a native export.

use super::support::{ok, run, s};
use cxr_onnx::{Attr, GraphBuilder};
use ort::value::TensorRef;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A foreign classifier as torch.onnx.export writes one: input `input.1` `[batch, 1, 32, 32]`,
/// conv → ReLU → pool → linear → `scores` `[batch, 12]`, optionally ending in `tail` (Softmax,
/// Log) or with a fixed batch.
fn foreign(dir: &Path, name: &str, tail: Option<&str>, fixed_batch: bool) -> PathBuf {
    let mut g = GraphBuilder::new();
    let w: Vec<f32> = (0..36).map(|i| ((i as f32) * 0.7).sin() * 0.5).collect();
    let cw = g.initializer("conv.weight", &[4, 1, 3, 3], &w).expect("w");
    let c = g.node("Conv", "conv", &["input.1", &cw], vec![Attr::Ints("kernel_shape", vec![3, 3]), Attr::Ints("pads", vec![1, 1, 1, 1])]);
    let r = g.node("Relu", "relu", &[&c], vec![]);
    let p = g.node("GlobalAveragePool", "pool", &[&r], vec![]);
    let f = g.node("Flatten", "flatten", &[&p], vec![Attr::Int("axis", 1)]);
    let fw: Vec<f32> = (0..48).map(|i| ((i as f32) * 1.3).cos()).collect();
    let lw = g.initializer("fc.weight", &[4, 12], &fw).expect("fw");
    let mut y = g.node("Gemm", "fc", &[&f, &lw], vec![]);
    if let Some(op) = tail {
        y = g.node(op, "tail", &[&y], vec![]);
    }
    g.output_alias(&y, "scores");
    let batch = if fixed_batch { Some(1) } else { None };
    let bytes = g.finish("foreign", ("input.1", &[batch, Some(1), Some(32), Some(32)]), &[("scores", vec![batch, Some(12)])], &[], "torch").expect("onnx");
    let path = dir.join(name);
    fs_err::write(&path, bytes).expect("write");
    path
}

fn adopt(model: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut a = vec!["adopt", s(model), "--preprocess", "size=32,channels=1,mean=0.5,std=0.25", "--out", s(out)];
    a.extend(extra);
    run("cxr-export", &a)
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn outputs(bytes: &[u8], input: &str, names: &[&str], x: &[f32]) -> Vec<Vec<f32>> {
    let env = &cxr_runtime::init(Some(&super::support::ort_lib())).expect("ort").1;
    let mut session = cxr_runtime::session(env, bytes, cxr_runtime::Provider::Cpu, 1).expect("session");
    let outs = session.run(ort::inputs![input => TensorRef::from_array_view(([2usize, 1, 32, 32], x)).expect("x")]).expect("run");
    names.iter().map(|n| outs[*n].try_extract_tensor::<f32>().expect("f32").1.to_vec()).collect()
}

#[test]
fn a_foreign_classifier_is_wrapped_checked_and_evaluated() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let model = foreign(dir, "tv.onnx", None, false);
    let out = dir.join("adopted");
    let ops = dir.join("ops.json");
    fs_err::write(&ops, r#"[{"finding": "Edema", "threshold": 0.4}, {"finding": "Atelectasis", "threshold": 0.6}, {"finding": "Cardiomegaly", "threshold": 0.5}]"#).expect("ops");
    let o = adopt(&model, &out, &["--labels", "3=Atelectasis,0=Cardiomegaly,7=Edema", "--operating-points", s(&ops), "--arch", "toy_cnn"]);
    ok(&o, "adopt");
    let card: Value = serde_json::from_str(&fs_err::read_to_string(out.join("model_card.json")).expect("card")).expect("json");
    assert_eq!(card["origin"]["kind"], "adopted");
    assert_eq!(card["origin"]["original_sha256"], cxr_runtime::sha256_hex(&fs_err::read(&model).expect("read")));
    assert_eq!(card["origin"]["columns"], serde_json::json!([3, 0, 7]));
    assert_eq!(card["outputs"]["cam_support"], "unsupported");
    assert_eq!(card["outputs"]["features_available"], false);
    assert_eq!(card["labels"], serde_json::json!(["Atelectasis", "Cardiomegaly", "Edema"]));
    assert_eq!(card["operating_points"][0]["threshold"], 0.6);
    assert_eq!(card["efficiency"]["params"], 36 + 48);
    assert_eq!(card["efficiency"]["macs"], 4 * 9 * 32 * 32 + 4 * 12);

    // The wrapped graph gives the declared columns of the original, and their sigmoid.
    let x: Vec<f32> = (0..2 * 32 * 32).map(|i| ((i as f32) * 0.01).sin()).collect();
    let orig = &outputs(&fs_err::read(&model).expect("read"), "input.1", &["scores"], &x)[0];
    let got = outputs(&fs_err::read(out.join("model.onnx")).expect("read"), "image", &["logits", "probabilities"], &x);
    for b in 0..2 {
        for (j, &c) in [3usize, 0, 7].iter().enumerate() {
            let raw = orig[b * 12 + c];
            assert!((got[0][b * 3 + j] - raw).abs() < 1e-6);
            assert!((got[1][b * 3 + j] - 1.0 / (1.0 + (-raw).exp())).abs() < 1e-6);
        }
    }

    // The evaluator runs it like a native export (no embedding, no cam needed); without
    // operating points F1 is undefined.
    let data = dir.join("phantom");
    ok(&run("cxr-data", &["phantom", s(&data), "--size", "32", "--train-patients", "12", "--valid-patients", "6", "--nih-patients", "6"]), "phantom");
    let info = run("cxr-eval", &["info", s(&out.join("model.onnx"))]);
    ok(&info, "info");
    let bare = dir.join("bare");
    ok(&adopt(&model, &bare, &["--labels", "Cardiomegaly,Edema"]), "adopt without thresholds");
    let eval_out = dir.join("eval");
    let o = run(
        "cxr-eval",
        &["run", "--model", s(&bare.join("model.onnx")), "--internal", &format!("chexpert={}", s(&data.join("chexpert/CheXpert-v1.0-small"))), "--external", &format!("nih={}", s(&data.join("nih"))), "--out", s(&eval_out), "--batch-size", "4"],
    );
    ok(&o, "cxr-eval run on an adopted model");
    let results: Value = serde_json::from_str(&fs_err::read_to_string(eval_out.join("results.json")).expect("results")).expect("json");
    fn f1s<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, x)| if k == "f1" || k == "macro_f1" { out.push(x) } else { f1s(x, out) }),
            Value::Array(a) => a.iter().for_each(|x| f1s(x, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    f1s(&results, &mut found);
    assert!(!found.is_empty() && found.iter().all(|v| !v.is_number()), "F1 without thresholds must be undefined: {found:?}");
    assert!(results.to_string().contains("Cardiomegaly"), "results name the labels");
}

#[test]
fn contract_breaking_graphs_are_refused_with_the_reason() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let out = dir.join("out");
    let labels = ["--labels", "Cardiomegaly,Edema"];
    let refused = |o: &std::process::Output, code: i32, needle: &str| {
        assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
        assert!(stderr(o).contains(needle), "expected {needle:?} in: {}", stderr(o));
        assert!(!out.join("model.onnx").exists(), "nothing written");
    };
    let plain = foreign(dir, "plain.onnx", None, false);
    refused(&adopt(&plain, &out, &["--labels", "Cardiomegaly", "--activation", "softmax"]), 2, "softmax outputs are refused");
    refused(&adopt(&foreign(dir, "softmax.onnx", Some("Softmax"), false), &out, &labels), 1, "comes from a Softmax node");
    refused(&adopt(&foreign(dir, "fixed.onnx", None, true), &out, &labels), 1, "fixed batch of 1; export it with a dynamic batch axis");
    let o = run("cxr-export", &["adopt", s(&plain), "--preprocess", "size=32,channels=3,mean=0.5,std=0.25", "--labels", "Edema", "--out", s(&out)]);
    refused(&o, 1, "the declared preprocessing gives [N, 3, 32, 32]");
    refused(&adopt(&plain, &out, &["--labels", "12=Edema"]), 1, "maps column 12 to Edema but output \"scores\" has 12 columns");
    refused(&adopt(&plain, &out, &["--labels", "Cardiomegaly,Pneumonitis"]), 2, "Pneumonitis");
    refused(&adopt(&foreign(dir, "nan.onnx", Some("Log"), false), &out, &labels), 1, "NaN scores on seeded inputs");
    let o = run("cxr-export", &["adopt", s(&plain), "--preprocess", "size=32,channels=1", "--labels", "Edema", "--out", s(&out)]);
    refused(&o, 2, "--preprocess needs mean=");
}
