//! Resume after `kill -9`: a run killed in the middle of an epoch and started again with the same
//! command ends with the same weights as a run that was never interrupted, byte for byte. The
//! config exercises every piece of resumable state: optimizer moments (Adan's gradient
//! difference included), the schedule (warm-up + cosine, by step), gradient accumulation, LSR
//! soft labels, dropout's RNG, augmentation draws and the data order.

use super::support::{bin, ok, run, s};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const CONFIG: &str = "[model]\narch = \"resnet18\"\nimage_size = 32\ndropout = 0.2\n[data]\nval_fraction = 0.25\n[label_policy]\nuncertain = \"ones_lsr\"\n\
[train]\nepochs = 3\nbatch_size = 8\nlr = 0.002\nseed = 5\ngrad_accumulation = 2\n[train.optimizer]\nname = \"adan\"\n[train.schedule]\nname = \"cosine\"\nwarmup_steps = 2\n[train.augment]\nhflip = 0.5\n";

fn args<'a>(cfg: &'a Path, root: &'a Path, runs: &'a Path) -> [&'a str; 7] {
    ["run", "--config", s(cfg), "--train-root", s(root), "--runs-dir", s(runs)]
}

fn state(runs: &Path) -> Option<Value> {
    let dir = fs_err::read_dir(runs).ok()?.find_map(|e| e.ok().map(|e| e.path()))?;
    serde_json::from_str(&fs_err::read_to_string(dir.join("state.json")).ok()?).ok()
}

#[test]
fn a_run_killed_mid_epoch_resumes_to_the_same_weights() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("p");
    ok(&run("cxr-data", &["phantom", s(&data), "--size", "32", "--train-patients", "60", "--valid-patients", "6", "--nih-patients", "6"]), "phantom");
    let root = data.join("chexpert/CheXpert-v1.0-small");
    let cfg = tmp.path().join("cfg.toml");
    fs_err::write(&cfg, CONFIG).expect("cfg");

    let straight = PathBuf::from(ok(&run("cxr-train", &args(&cfg, &root, &tmp.path().join("a"))), "uninterrupted run").trim());

    let runs = tmp.path().join("b");
    let mut child = std::process::Command::new(bin("cxr-train")).args(args(&cfg, &root, &runs)).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().expect("spawn");
    let t0 = Instant::now();
    // Wait for epoch 1 to be committed, then kill (SIGKILL) a moment into epoch 2.
    while state(&runs).is_none() {
        assert!(t0.elapsed() < Duration::from_secs(300), "no epoch committed within 5 minutes");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(150));
    child.kill().expect("kill -9");
    let _ = child.wait();
    let done = state(&runs).expect("state")["epochs_done"].as_u64().expect("epochs_done");
    assert!((1..3).contains(&done), "killed after {done} of 3 epochs: the kill must land mid-run");

    let out = run("cxr-train", &args(&cfg, &root, &runs));
    let resumed = PathBuf::from(ok(&out, "resumed run").trim());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("after epoch {done}")), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(resumed.file_name(), straight.file_name(), "same config, same run id");

    // Bit-identical weights (the checkpoint files also store random parameter ids, so the
    // weights are compared, every value and running statistic, not the files).
    let weights = |d: &Path| {
        let mut m = cxr_models::build("resnet18", 9, 1, 0.2, &burn::prelude::Device::flex()).expect("model");
        cxr_models::checkpoint::load_bytes(&mut m, fs_err::read(d.join("checkpoint.bpk")).expect("checkpoint")).expect("load");
        cxr_models::checkpoint::weights_blake3(&m)
    };
    assert_eq!(weights(&straight), weights(&resumed), "the resumed run's weights differ from the uninterrupted run's");
    let log = |d: &Path| -> Vec<(f64, f64)> {
        fs_err::read_to_string(d.join("train_log.jsonl"))
            .expect("log")
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("line"))
            .map(|v| (v["train_loss"].as_f64().expect("loss"), v["lr"].as_f64().expect("lr")))
            .collect()
    };
    assert_eq!(log(&straight), log(&resumed), "every epoch's loss and learning rate agree");
    // The run's efficiency record.
    let prov: Value = serde_json::from_str(&fs_err::read_to_string(resumed.join("provenance.json")).expect("provenance")).expect("json");
    assert_eq!(prov["epochs"].as_array().map(Vec::len), Some(3));
    assert!(prov["epochs"][0]["images_per_second"].as_f64().is_some_and(|v| v > 0.0) && prov["peak_rss_bytes"].as_u64().is_some_and(|v| v > 0));
}
