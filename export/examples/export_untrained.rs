//! Export an untrained (seeded He-initialized) registry model with a card, through the parity
//! gate, for throughput benchmarks where the weights do not matter:
//!
//! ```sh
//! cargo run --release -p cxr-export --example export_untrained -- densenet121 224 1 OUT_DIR
//! ```
//!
//! Writes `OUT_DIR/model.onnx`, `model.onnx.sha256` and `model_card.json`.

use burn::prelude::*;
use cxr_export::pipeline::{ExportOptions, export_model, make_card};
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [arch, size, channels, out] = args.as_slice() else {
        anyhow::bail!("usage: export_untrained ARCH SIZE CHANNELS OUT_DIR");
    };
    let toml = format!("[model]\narch = \"{arch}\"\nimage_size = {size}\nin_chans = {channels}\n[train]\nepochs = 1\nbatch_size = 2\nlr = 0.001\n");
    let run = cxr_core::RawConfig::from_toml(&toml)?.resolve(|_| Ok(()), "untrained")?;
    let ops = run.labels.iter().map(|&f| cxr_core::OperatingPoint { finding: f, threshold: Some(0.5), youden_j: None, n_positive: 0, n_negative: 0 }).collect();
    let mut card = make_card(&run, ops, "untrained".into(), 0, None);
    let ch: usize = channels.parse()?;
    let model = cxr_models::build(arch, run.labels.len(), ch, 0.0, &Device::flex())?.valid();
    let (bytes, report) = export_model(&model, &mut card, &ExportOptions { ort_lib: None, threads: 2 })?;
    let out = PathBuf::from(out);
    fs_err::create_dir_all(&out)?;
    cxr_core::write_atomic(&out.join("model.onnx"), &bytes)?;
    cxr_core::write_atomic(&out.join("model.onnx.sha256"), cxr_runtime::sha256sum_line(&cxr_runtime::sha256_hex(&bytes), "model.onnx").as_bytes())?;
    cxr_core::write_atomic(&out.join("model_card.json"), card.to_json().as_bytes())?;
    eprintln!("{}: {} bytes, parity max |Δ| {:?}", out.join("model.onnx").display(), bytes.len(), report.outputs.first().map(|o| o.max_abs_diff));
    Ok(())
}
