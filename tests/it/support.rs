//! Shared helpers: locating the workspace, the shared folder, the built binaries and ONNX Runtime.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// `CXR_SHARED_DIR`, default `../shared` beside the workspace root. `None` (with a message) when
/// absent, unless `CXR_REQUIRE_SHARED=1`, which makes absence a failure.
pub(crate) fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("CXR_SHARED_DIR").map_or_else(|| workspace().join("../shared"), PathBuf::from);
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CXR_REQUIRE_SHARED").as_deref() != Ok("1"),
        "CXR_REQUIRE_SHARED=1 but the shared folder {} does not exist (set CXR_SHARED_DIR)",
        dir.display()
    );
    eprintln!("SKIP: shared folder {} not found (set CXR_SHARED_DIR to run this test)", dir.display());
    None
}

/// A workspace binary built in the same profile as this test (`cargo build --bins` first).
pub(crate) fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    // target/<profile>/deps/it-<hash> → target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target profile dir");
    let p = dir.join(name);
    assert!(p.is_file(), "{} not built: run `cargo build --release --bins` before the tests (scripts/test.sh does)", p.display());
    p
}

/// The ONNX Runtime library, required.
pub(crate) fn ort_lib() -> PathBuf {
    let p = std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from).unwrap_or_else(|| workspace().join(".ort/lib/libonnxruntime.so.1.31.1"));
    assert!(p.is_file(), "ONNX Runtime not found at {}: run scripts/setup.sh", p.display());
    p
}

/// Run a workspace binary with ONNX Runtime available.
pub(crate) fn run(name: &str, args: &[&str]) -> Output {
    Command::new(bin(name)).args(args).env("ORT_DYLIB_PATH", ort_lib()).output().expect("spawn")
}

/// Assert success, printing stderr otherwise; returns stdout.
pub(crate) fn ok(out: &Output, what: &str) -> String {
    assert!(out.status.success(), "{what} failed ({:?}):\n{}", out.status.code(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Path as &str.
pub(crate) fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A tiny exported model (resnet18 at 32 px, untrained, thresholds 0.5) written to
/// `dir/model.onnx` with its SHA-256 sidecar; returns the path and the bytes.
pub(crate) fn tiny_model(dir: &Path) -> (PathBuf, Vec<u8>) {
    use burn::prelude::*;
    let raw = cxr_core::RawConfig::from_toml("[model]\narch = \"resnet18\"\nimage_size = 32\n[train]\nepochs = 1\nbatch_size = 2\nlr = 0.001\n").expect("cfg");
    let run_cfg = raw.resolve(|_| Ok(()), "t").expect("resolve");
    let ops = run_cfg.labels.iter().map(|&f| cxr_core::OperatingPoint { finding: f, threshold: Some(0.5), youden_j: None, n_positive: 1, n_negative: 1 }).collect();
    let mut card = cxr_export::pipeline::make_card(&run_cfg, ops, "t".into(), 0, None);
    let model = cxr_models::build("resnet18", 9, 1, 0.0, &Device::flex()).expect("build").valid();
    let opts = cxr_export::pipeline::ExportOptions { ort_lib: Some(ort_lib()), threads: 1 };
    let (bytes, _) = cxr_export::pipeline::export_model(&model, &mut card, &opts).expect("export");
    (write_model(dir, "model.onnx", &bytes), bytes)
}

/// Write model bytes and their `sha256sum` sidecar.
pub(crate) fn write_model(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    fs_err::create_dir_all(dir).expect("mkdir");
    let m = dir.join(name);
    fs_err::write(&m, bytes).expect("write");
    fs_err::write(dir.join(format!("{name}.sha256")), cxr_runtime::sha256sum_line(&cxr_runtime::sha256_hex(bytes), name)).expect("write");
    m
}
