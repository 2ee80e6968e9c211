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
