//! Bad input gets a clear one-line error naming the file (and row or field), a documented exit
//! code, and no partial output left looking complete.

use super::support::{ok, run, s};
use cxr_runtime::sha256_hex;
use std::path::{Path, PathBuf};

fn tiny_phantom(dir: &Path) -> PathBuf {
    ok(&run("cxr-data", &["phantom", s(dir), "--size", "32", "--train-patients", "12", "--valid-patients", "6", "--nih-patients", "6"]), "phantom");
    dir.join("chexpert/CheXpert-v1.0-small")
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write_config(dir: &Path, arch: &str, extra: &str) -> PathBuf {
    let p = dir.join("cfg.toml");
    fs_err::write(&p, format!("[model]\narch = \"{arch}\"\nimage_size = 32\n[train]\nepochs = 1\nbatch_size = 4\nlr = 0.001\n{extra}")).expect("write");
    p
}

#[test]
fn training_inputs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tiny_phantom(&tmp.path().join("p"));
    let runs = tmp.path().join("runs");

    // Missing dataset folder.
    let cfg = write_config(tmp.path(), "resnet18", "");
    let o = run("cxr-train", &["run", "--config", s(&cfg), "--train-root", "/nonexistent/chexpert", "--runs-dir", s(&runs)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent/chexpert: not found"), "{}", stderr(&o));

    // Unknown architecture: a usage error listing the valid names.
    let cfg = write_config(tmp.path(), "resnet19", "");
    let o = run("cxr-train", &["run", "--config", s(&cfg), "--train-root", s(&root), "--runs-dir", s(&runs)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("\"resnet19\"") && stderr(&o).contains("Valid options: resnet18"), "{}", stderr(&o));

    // An input size the architecture cannot take: a usage error naming the config field.
    let cfg = write_config(tmp.path(), "tresnet_m", "").to_path_buf();
    fs_err::write(&cfg, fs_err::read_to_string(&cfg).expect("cfg").replace("image_size = 32", "image_size = 34")).expect("write");
    let o = run("cxr-train", &["run", "--config", s(&cfg), "--train-root", s(&root), "--runs-dir", s(&runs)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cfg.toml: model.image_size") && stderr(&o).contains("tresnet_m cannot take 34×34 inputs: the side must be a multiple of 4"), "{}", stderr(&o));

    // Unknown config key: rejected with the key named.
    let cfg = write_config(tmp.path(), "resnet18", "learning_rate = 0.1\n");
    let o = run("cxr-train", &["run", "--config", s(&cfg), "--train-root", s(&root), "--runs-dir", s(&runs)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("learning_rate") && stderr(&o).contains("cfg.toml"), "{}", stderr(&o));

    // Malformed CSV row: file, row and field named.
    let csv = root.join("train.csv");
    let text = fs_err::read_to_string(&csv).expect("csv");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[3] = lines[3].replacen(",Frontal,", ",Sideways,", 1).replacen(",Lateral,", ",Sideways,", 1);
    fs_err::write(&csv, lines.join("\n") + "\n").expect("write");
    let cfg = write_config(tmp.path(), "resnet18", "");
    let o = run("cxr-train", &["run", "--config", s(&cfg), "--train-root", s(&root), "--runs-dir", s(&runs)]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("train.csv: row 4, field \"Frontal/Lateral\"") && e.contains("Sideways"), "{e}");
    assert!(!runs.exists() || fs_err::read_dir(&runs).expect("runs").next().is_none(), "no run directory for a failed index read");
}

#[test]
fn evaluation_inputs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tiny_phantom(&tmp.path().join("p"));
    // A real exported model, made in-process.
    let (m, _) = super::support::tiny_model(tmp.path());

    // Missing ONNX Runtime library: exit 4, the places looked at and the setup command.
    let o = std::process::Command::new(super::support::bin("cxr-eval")).args(["check", "--model", s(&m)]).env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so").output().expect("spawn");
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("ORT_DYLIB_PATH=/nonexistent/libonnxruntime.so") && stderr(&o).contains("scripts/setup.sh"), "{}", stderr(&o));

    // A GPU provider on the CPU runtime: exit 6, named, never a silent CPU fall-back.
    let o = run("cxr-eval", &["check", "--model", s(&m), "--ep", "cuda"]);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert!(stderr(&o).contains("execution provider cuda is not available") && stderr(&o).contains("libonnxruntime_providers_cuda.so"), "{}", stderr(&o));

    // Missing dataset folder.
    let out = tmp.path().join("eval");
    let o = run("cxr-eval", &["run", "--model", s(&m), "--external", "nih=/nonexistent/nih", "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent/nih: not found"), "{}", stderr(&o));

    // Unreadable image: named, and no results.json.
    let victim = fs_err::read_dir(root.join("valid")).expect("valid").next().expect("patient").expect("entry").path();
    let jpg = walk_first_jpg(&victim);
    fs_err::write(&jpg, b"not a jpeg").expect("corrupt");
    let o = run("cxr-eval", &["run", "--model", s(&m), "--internal", &format!("chexpert={}", s(&root)), "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(s(&jpg)) && stderr(&o).contains("cannot use image"), "{}", stderr(&o));
    assert!(!out.join("results.json").exists(), "no results for a failed evaluation");

    // Model without a card: refused with exit 5.
    let mut g = cxr_onnx::GraphBuilder::new();
    let y = g.node("Relu", "r", &["image"], vec![]);
    g.output_alias(&y, "logits");
    let nocard = g.finish("x", ("image", &[None, Some(1), Some(32), Some(32)]), &[("logits", vec![None, Some(1), Some(32), Some(32)])], &[], "t").expect("bytes");
    let p = tmp.path().join("nocard.onnx");
    fs_err::write(&p, &nocard).expect("write");
    let o = run("cxr-eval", &["check", "--model", s(&p), "--expect-sha256", &sha256_hex(&nocard)]);
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).contains("no model card"), "{}", stderr(&o));
}

fn walk_first_jpg(dir: &Path) -> PathBuf {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs_err::read_dir(&d).expect("dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "jpg") && p.to_string_lossy().contains("frontal") {
                return p;
            }
        }
    }
    panic!("no frontal jpg under {}", dir.display());
}

/// A torchvision-named state dict (`.safetensors`) for `arch` with 3 channels and 1000 classes.
fn reference_weights(path: &Path, arch: &str) {
    let model = cxr_models::build(arch, 1000, 3, 0.0, &burn::prelude::Device::flex()).expect("build");
    let sd: cxr_models::weights::StateDict = cxr_models::names::torch_names(&model)
        .into_iter()
        .map(|n| {
            let shape = n.torch_shape();
            let numel: usize = shape.iter().product();
            let var = n.torch.ends_with("running_var");
            (n.torch, (shape, (0..numel).map(|i| if var { 1.0f32 } else { 0.01 * (i as f32 * 0.37).sin() }).collect()))
        })
        .collect();
    fs_err::write(path, cxr_models::weights::to_safetensors(&sd)).expect("write");
}

#[test]
fn training_from_reference_weights() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tiny_phantom(&tmp.path().join("p"));
    let runs = tmp.path().join("runs");
    let weights = tmp.path().join("resnet18-imagenet.safetensors");
    reference_weights(&weights, "resnet18");
    let sha = sha256_hex(&fs_err::read(&weights).expect("read"));

    // `cxr-train weights` checks the file and prints the SHA-256 the config needs.
    let o = run("cxr-train", &["weights", "--arch", "resnet18", "--file", s(&weights)]);
    ok(&o, "weights");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), sha);
    assert!(stderr(&o).contains("100 tensors load into resnet18") && stderr(&o).contains("conv1.weight summed to one channel"), "{}", stderr(&o));
    let o = run("cxr-train", &["weights", "--arch", "densenet121", "--file", s(&weights)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("resnet18-imagenet.safetensors") && stderr(&o).contains("unknown keys") && stderr(&o).contains("missing keys"), "{}", stderr(&o));

    // Weights the config does not name, a config naming weights not given, a file that is not
    // the one named: refused before training, the file or config named.
    let split = "[data]\nval_fraction = 0.5\n";
    let plain = write_config(tmp.path(), "resnet18", split);
    let o = run("cxr-train", &["run", "--config", s(&plain), "--train-root", s(&root), "--runs-dir", s(&runs), "--weights", s(&weights)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("has no model.pretrained"), "{}", stderr(&o));
    let named = write_config(tmp.path(), "resnet18", split);
    let text = fs_err::read_to_string(&named).expect("cfg").replace("image_size = 32\n", &format!("image_size = 32\npretrained = \"{sha}\"\n"));
    fs_err::write(&named, text).expect("write");
    let o = run("cxr-train", &["run", "--config", s(&named), "--train-root", s(&root), "--runs-dir", s(&runs)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&sha) && stderr(&o).contains("--weights"), "{}", stderr(&o));
    let other = tmp.path().join("other.safetensors");
    reference_weights(&other, "resnet34");
    let o = run("cxr-train", &["run", "--config", s(&named), "--train-root", s(&root), "--runs-dir", s(&runs), "--weights", s(&other)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("other.safetensors: SHA-256") && stderr(&o).contains("does not match"), "{}", stderr(&o));

    // The named file: training starts from it and says so.
    let o = run("cxr-train", &["run", "--config", s(&named), "--train-root", s(&root), "--runs-dir", s(&runs), "--weights", s(&weights)]);
    ok(&o, "train from weights");
    let run_dir = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    let report: serde_json::Value = serde_json::from_str(&fs_err::read_to_string(run_dir.join("pretrained.json")).expect("pretrained.json")).expect("json");
    assert_eq!(report["sha256"], sha);
    assert_eq!(report["tensors_loaded"], 100);
    assert_eq!(report["classifier_replaced"], serde_json::json!(["fc.bias", "fc.weight"]));
    assert_eq!(report["stem_summed_to_one_channel"], "conv1.weight");
}

/// A tiny phantom training site, a runs folder, and `cxr-train run` with the test config plus
/// `extra` TOML.
struct TrainingFixture {
    tmp: tempfile::TempDir,
    root: std::path::PathBuf,
    runs: std::path::PathBuf,
}

impl TrainingFixture {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tiny_phantom(&tmp.path().join("p"));
        let runs = tmp.path().join("runs");
        Self { tmp, root, runs }
    }

    fn train(&self, extra: &str) -> std::process::Output {
        let cfg = write_config(self.tmp.path(), "resnet18", extra);
        run("cxr-train", &["run", "--config", s(&cfg), "--train-root", s(&self.root), "--runs-dir", s(&self.runs)])
    }
}

#[test]
fn preprocessing_specs() {
    let t = TrainingFixture::new();
    let (runs, train) = (&t.runs, |extra: &str| t.train(extra));
    // An unknown strategy: a usage error listing the valid ones.
    let o = train("[preprocess]\nstrategy = \"sharpen\"\n");
    assert_eq!(o.status.code(), Some(2));
    for n in cxr_core::PREPROCESS_STRATEGIES {
        assert!(stderr(&o).contains(n), "the valid strategies are listed ({n} missing): {}", stderr(&o));
    }
    // Values a spec cannot take, named.
    let o = train("[preprocess]\nintensity = { kind = \"clahe\", tiles = [0, 8] }\n");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("preprocess.intensity.tiles"), "{}", stderr(&o));
    let o = train("[preprocess]\nroi = { dark = 0.5, bright = 0.2 }\n");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("dark < bright"), "{}", stderr(&o));
    assert!(!runs.exists() || fs_err::read_dir(&runs).expect("runs").next().is_none(), "no run directory for a refused config");
    // A spec an image cannot satisfy: the ROI crop finds no body; the run stops naming the file.
    let o = train("[data]\nval_fraction = 0.5\n[preprocess]\nroi = { dark = 0.995, bright = 1.0 }\n");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("ROI crop finds no body") && stderr(&o).contains(".jpg"), "{}", stderr(&o));
}

#[test]
fn training_axes() {
    let t = TrainingFixture::new();
    let (root, runs, train) = (&t.root, &t.runs, |extra: &str| t.train(extra));
    let tmp = &t.tmp;
    // An unknown optimizer or loss: a usage error listing the valid names.
    let o = train("[train.optimizer]\nname = \"adamx\"\n");
    assert_eq!(o.status.code(), Some(2));
    for n in cxr_core::OPTIMIZER_NAMES {
        assert!(stderr(&o).contains(n), "the valid names are listed ({n} missing): {}", stderr(&o));
    }
    let o = train("[train.loss]\nname = \"hinge\"\n");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("hinge") && stderr(&o).contains("focal") && stderr(&o).contains("compositional_auc"), "{}", stderr(&o));
    // Incompatible combinations, each saying what would be valid.
    let o = train("[train.optimizer]\nname = \"pesg\"\n");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("needs train.loss \"auc_m\""), "{}", stderr(&o));
    let o = train("grad_accumulation = 2\n[train.optimizer]\nname = \"sam\"\n");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("train.grad_accumulation = 2 cannot be combined"), "{}", stderr(&o));
    let o = train("[train.optimizer]\nname = \"schedule_free_adamw\"\n[train.schedule]\nname = \"cosine\"\n");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("replaces the learning-rate schedule"), "{}", stderr(&o));
    // A learning rate ≤ 0.
    let cfg = write_config(tmp.path(), "resnet18", "");
    fs_err::write(&cfg, fs_err::read_to_string(&cfg).expect("cfg").replace("lr = 0.001", "lr = 0.0")).expect("write");
    let o = run("cxr-train", &["run", "--config", s(&cfg), "--train-root", s(&root), "--runs-dir", s(&runs)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("train.lr must be positive, got 0"), "{}", stderr(&o));
    assert!(!runs.exists() || fs_err::read_dir(&runs).expect("runs").next().is_none(), "no run directory for a refused config");

    // A loss that overflows: the run stops naming the epoch and step, and is not marked complete.
    let cfg = write_config(tmp.path(), "resnet18", "[data]\nval_fraction = 0.5\n[train.optimizer]\nname = \"rmsprop\"\n");
    fs_err::write(&cfg, fs_err::read_to_string(&cfg).expect("cfg").replace("lr = 0.001", "lr = 1e37")).expect("write");
    let o = run("cxr-train", &["run", "--config", s(&cfg), "--train-root", s(&root), "--runs-dir", s(&runs)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("training diverged at epoch 1, optimizer step ") && e.contains("keeps its last complete checkpoint"), "{e}");
    let dir = fs_err::read_dir(&runs).expect("runs").next().expect("run dir").expect("entry").path();
    assert!(!dir.join("train_complete.json").exists() && !dir.join("checkpoint.bpk").exists());
}
