//! `cxr-eval`: evaluate frozen ONNX models on internal and external datasets.
//!
//! Exit codes: 0 success; 1 runtime failure (data, I/O, inference, NaN/Inf outputs); 2 usage
//! error; 3 `predict` wrote at least one error row; 4 ONNX Runtime library not found or not
//! loadable; 5 integrity refusal (no expected hash, hash mismatch, missing or invalid model card,
//! a graph that does not meet the card's contract, sealed predictions of another model or
//! modified); 6 requested execution provider unavailable (without `--ep-fallback`); 7 `verify`
//! found a mismatch.

mod cli;

use clap::Parser;
use cli::{Cli, Command, ModelArgs};
use cxr_core::write_json_atomic;
use cxr_evaluate::evaluation::{DatasetSpec, RunSpec, read_options_json};
use cxr_evaluate::integrity::{IntegrityError, OpenModel, open, verify_bytes};
use cxr_evaluate::results::{BOOTSTRAP_REPLICATES, BOOTSTRAP_SEED, CALIBRATION_BINS, DatasetRole, RESULTS_SCHEMA_VERSION};
use cxr_evaluate::seal::SealError;
use cxr_runtime::RuntimeError;
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;

fn open_model(m: &ModelArgs) -> anyhow::Result<OpenModel> {
    open(&m.model, m.expect_sha256.as_deref(), m.ort_lib.as_deref(), &m.ep_options(), m.threads)
}

/// A failure with its own exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Coded {
    code: u8,
    message: String,
}

fn exit_code(e: &anyhow::Error) -> u8 {
    for c in e.chain() {
        if let Some(x) = c.downcast_ref::<Coded>() {
            return x.code;
        }
        if c.downcast_ref::<IntegrityError>().is_some() || matches!(c.downcast_ref::<SealError>(), Some(SealError::OtherRun { .. } | SealError::Tampered { .. })) {
            return 5;
        }
        match c.downcast_ref::<RuntimeError>() {
            Some(RuntimeError::LibraryNotFound { .. } | RuntimeError::Load { .. }) => return 4,
            Some(RuntimeError::ProviderUnavailable { .. }) => return 6,
            _ => {}
        }
    }
    1
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn run(m: &ModelArgs, spec: &RunSpec) -> anyhow::Result<()> {
    if spec.datasets.is_empty() {
        anyhow::bail!("nothing to evaluate: give --internal and/or --external");
    }
    let (started, t0) = (unix_now(), std::time::Instant::now());
    let mut model = open_model(m)?;
    eprintln!("model {} ({}, sha256 {} verified by {})", m.model.display(), model.card.run_id, model.verified.sha256, model.verified.sha256_source);
    let out = cxr_evaluate::evaluation::run(&mut model, spec)?;
    let card = &model.card;
    let doc = json!({
        "schema_version": RESULTS_SCHEMA_VERSION,
        "evaluator": format!("cxr-eval {}", env!("CARGO_PKG_VERSION")),
        "model": {
            "file": m.model.file_name().map(|n| n.to_string_lossy().into_owned()),
            "sha256": model.verified.sha256,
            "sha256_source": model.verified.sha256_source,
            "run_id": card.run_id, "arch": card.arch, "config_hash": card.config_hash,
            "weights_blake3": card.weights_blake3,
        },
        "card": card,
        "settings": { "batch_size": spec.batch_size },
        "intervals": {
            "confidence": 0.95,
            "delong": "fast DeLong (Sun & Xu 2014), AUC ± 1.96·√Var clipped to [0, 1]",
            "bootstrap_replicates": BOOTSTRAP_REPLICATES,
            "bootstrap_seed": BOOTSTRAP_SEED,
            "bootstrap_unit": "patient",
            "calibration_bins": CALIBRATION_BINS,
            "subgroups": "DeLong 95% interval per group",
        },
        "read_options": read_options_json(&spec.read),
        "execution_provider": model.provider_record(),
        "audit": {
            "order": ["image manifests read without labels", "predictions written and sealed per dataset", "labels read, checked against the sealed manifest", "metrics computed from the sealed predictions"],
            "image_hash": "blake3 of each image file, in the predictions file",
        },
        "datasets": out.results,
        "generalization_gap": out.gaps,
    });
    // A GPU run checks itself against the CPU provider on seeded inputs (parity.json); the
    // README's provider table says which providers have such a report.
    let parity = if model.ran_on.provider == cxr_runtime::Provider::Cpu {
        json!("cpu: the reference")
    } else {
        let report = cxr_evaluate::parity::parity(&m.model, m.expect_sha256.as_deref(), m.ort_lib.as_deref(), &m.ep_options(), m.threads, 8, 0)?;
        write_json_atomic(&spec.out.join("parity.json"), &report)?;
        eprintln!("parity {} vs cpu: max |Δp| {:e} (tolerance {:e}) → parity.json", report.provider, report.max_abs_difference, report.tolerance);
        serde_json::to_value(&report)?
    };
    let tables = cxr_evaluate::tables::run_tables(&doc);
    for (name, text) in &tables {
        cxr_core::write_atomic(&spec.out.join(name), text.as_bytes())?;
    }
    let abs = |p: &Path| fs_err::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let datasets: Vec<DatasetSpec> = spec.datasets.iter().map(|d| DatasetSpec { root: abs(&d.root), ..d.clone() }).collect();
    write_json_atomic(
        &spec.out.join("provenance.json"),
        &json!({
            "evaluator": format!("cxr-eval {}", env!("CARGO_PKG_VERSION")),
            "started_unix": started, "finished_unix": unix_now(), "seconds": t0.elapsed().as_secs_f64(),
            "model_path": abs(&m.model),
            "ort_library": cxr_runtime::locate(m.ort_lib.as_deref()).ok().map(|r| r.path),
            "threads": m.threads, "batch_size": spec.batch_size,
            "execution_provider": model.provider_record(),
            "datasets": datasets,
            "inference": out.inference,
            "events": out.events.iter().map(|(t, e)| json!({"seconds": t, "event": e})).collect::<Vec<_>>(),
            "peak_host_memory_bytes": cxr_evaluate::bench::peak_host_memory_bytes(),
            "provider_parity": parity,
        }),
    )?;
    // results.json last: its presence means the evaluation finished.
    write_json_atomic(&spec.out.join("results.json"), &doc)?;
    print_table(&out.results, &doc);
    eprintln!("results: {} (tables in {})", spec.out.join("results.json").display(), spec.out.join("tables").display());
    Ok(())
}

fn print_table(results: &[cxr_evaluate::results::DatasetResult], doc: &serde_json::Value) {
    let Some(first) = results.first() else { return };
    let fmt = |v: &serde_json::Value| v.as_f64().map_or_else(|| "undefined".to_string(), |x| format!("{x:.3}"));
    print!("{:<18}", "label");
    for r in results {
        print!("{:>16}", format!("{}/{}", r.dataset, r.split));
    }
    println!();
    for (i, l) in first.labels.iter().enumerate() {
        print!("{:<18}", l.finding.name());
        for r in results {
            print!("{:>16}", fmt(&r.labels[i].auroc));
        }
        println!();
    }
    print!("{:<18}", "macro-AUROC");
    for r in results {
        print!("{:>16}", fmt(&r.macro_auroc));
    }
    println!();
    for g in doc["generalization_gap"].as_array().into_iter().flatten() {
        println!("gap {} - {}: {} over {} labels", g["internal"].as_str().unwrap_or(""), g["external"].as_str().unwrap_or(""), fmt(&g["macro_gap"]), g["labels"].as_array().map_or(0, Vec::len));
    }
}

fn bench_table(points: &[cxr_evaluate::bench::BenchPoint]) {
    eprintln!("{:<12}{:>7}{:>12}{:>10}{:>10}{:>10}", "mode", "batch", "images/s", "p50 ms", "p90 ms", "p99 ms");
    for p in points {
        let l = |f: fn(&cxr_evaluate::bench::Latency) -> f64| p.latency_ms.as_ref().map_or_else(|| "-".to_string(), |x| format!("{:.2}", f(x)));
        eprintln!("{:<12}{:>7}{:>12.1}{:>10}{:>10}{:>10}", p.mode, p.batch, p.images_per_second, l(|x| x.p50), l(|x| x.p90), l(|x| x.p99));
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(a) => {
            let mut datasets = Vec::new();
            if let Some((source, root)) = a.internal.clone() {
                datasets.push(DatasetSpec { role: DatasetRole::InternalTest, source, root });
            }
            datasets.extend(a.external.iter().cloned().map(|(source, root)| DatasetSpec { role: DatasetRole::External, source, root }));
            let spec = RunSpec { datasets, out: a.out.clone(), batch_size: a.batch_size.max(1), policies: a.policies(), read: a.read_options(), caches: a.cache.clone() };
            run(&a.model, &spec)
        }
        Command::Predict(a) => {
            let mut m = open_model(&a.model)?;
            let opts = cxr_evaluate::predict::PredictOptions { inputs: a.inputs.clone(), format: a.format, frontal_only: a.frontal_only, deidentify: a.deidentify, batch_size: a.batch_size.max(1) };
            let summary = match &a.out {
                Some(p) => {
                    // Written beside, renamed at the end: a reader never sees half a file.
                    let tmp = p.with_extension("partial");
                    let mut f = std::io::BufWriter::new(fs_err::File::create(&tmp)?);
                    let s = cxr_evaluate::predict::predict(&mut m, &opts, &mut f)?;
                    std::io::Write::flush(&mut f)?;
                    drop(f);
                    fs_err::rename(&tmp, p)?;
                    s
                }
                None => cxr_evaluate::predict::predict(&mut m, &opts, &mut std::io::stdout().lock())?,
            };
            eprintln!("{} images predicted, {} error rows", summary.predicted, summary.failed);
            if summary.failed > 0 {
                return Err(Coded {
                    code: cxr_evaluate::predict::EXIT_IMAGE_ERRORS,
                    message: format!("{} of {} images failed (see their error rows)", summary.failed, summary.failed + summary.predicted),
                }
                .into());
            }
            Ok(())
        }
        Command::Bench(a) => {
            let mut m = open_model(&a.model)?;
            let mut points = cxr_evaluate::bench::bench(&mut m, &a.batch, a.seconds, a.warmup, a.min_runs)?;
            if let Some((source, root)) = &a.dataset {
                let read = cxr_data::ReadOptions { frontal_only: true, locate_images: true, manifest_only: true, ..Default::default() };
                let spec = DatasetSpec { role: DatasetRole::External, source: *source, root: root.clone() };
                let ds = cxr_evaluate::evaluation::read_manifest(&spec, &read)?;
                let mut inputs = cxr_evaluate::infer::dataset_inputs(&ds);
                if let Some(n) = a.images {
                    inputs.truncate(n);
                }
                for &b in &a.batch {
                    points.push(cxr_evaluate::bench::bench_end_to_end(&mut m, &inputs, b, a.passes)?);
                }
            }
            bench_table(&points);
            let doc = json!({
                "provider": m.provider_record(), "threads": a.model.threads, "run_id": m.card.run_id, "arch": m.card.arch,
                "model_sha256": m.verified.sha256, "input_size": m.card.preprocess.size,
                "points": points,
                "peak_host_memory_bytes": cxr_evaluate::bench::peak_host_memory_bytes(),
                "peak_device_memory_bytes": serde_json::Value::Null,
                "device_memory_note": if m.ran_on.provider == cxr_runtime::Provider::Cpu { "no device: CPU provider" } else { "not measured by this build (use nvidia-smi during the run)" },
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
            Ok(())
        }
        Command::Verify(a) => {
            let checks = cxr_evaluate::verify::verify(&cxr_evaluate::verify::VerifyOptions {
                run_dir: a.run_dir.clone(),
                model: a.model.clone(),
                ort_lib: a.ort_lib.clone(),
                reinfer: a.reinfer,
                seed: a.seed,
                threads: a.threads,
            })?;
            println!("{}", serde_json::to_string_pretty(&checks)?);
            let failed = checks.iter().filter(|c| !c.ok).count();
            if failed > 0 {
                return Err(Coded { code: 7, message: format!("{}: {failed} of {} checks failed", a.run_dir.display(), checks.len()) }.into());
            }
            eprintln!("{}: all {} checks passed", a.run_dir.display(), checks.len());
            Ok(())
        }
        Command::Check(a) => {
            let (_, v) = verify_bytes(&a.model.model, a.model.expect_sha256.as_deref())?;
            let m = open_model(&a.model)?;
            println!("OK {} sha256 {} (verified by {}), card for run {}, runs on {}", a.model.model.display(), v.sha256, v.sha256_source, m.card.run_id, m.ran_on.provider.name());
            Ok(())
        }
        Command::Parity(a) => {
            let report = cxr_evaluate::parity::parity(&a.model.model, a.model.expect_sha256.as_deref(), a.model.ort_lib.as_deref(), &a.model.ep_options(), a.model.threads, a.inputs, a.seed)?;
            let text = serde_json::to_string_pretty(&report)?;
            if let Some(p) = &a.out {
                cxr_core::write_atomic(p, format!("{text}\n").as_bytes())?;
            }
            println!("{text}");
            if !report.within_tolerance {
                return Err(Coded { code: 7, message: format!("{} differs from cpu by {:e} (tolerance {:e})", report.provider, report.max_abs_difference, report.tolerance) }.into());
            }
            Ok(())
        }
        Command::Info(a) => {
            let Some(args) = a.model_args() else {
                return Err(Coded { code: 2, message: "info needs a model: cxr-eval info MODEL.onnx".into() }.into());
            };
            let m = open_model(&args)?;
            let inputs: Vec<String> = m.session.inputs().iter().map(|i| i.name().to_string()).collect();
            let outputs: Vec<String> = m.session.outputs().iter().map(|o| o.name().to_string()).collect();
            println!("{}", serde_json::to_string_pretty(&json!({ "sha256": m.verified.sha256, "sha256_source": m.verified.sha256_source, "inputs": inputs, "outputs": outputs, "card": m.card }))?);
            match &m.card.efficiency {
                Some(e) => eprintln!("{} ({}): {} parameters, {:.3} GMACs at {}×{}×{}", m.card.arch, m.card.run_id, e.params, e.macs as f64 / 1e9, e.input[0], e.input[1], e.input[2]),
                None => eprintln!("{} ({}): the card records no parameter or MAC count", m.card.arch, m.card.run_id),
            }
            Ok(())
        }
        Command::Tables(a) => {
            let docs: Vec<serde_json::Value> = a.run_dirs.iter().map(|d| cxr_evaluate::verify::read_json(&d.join("results.json"))).collect::<anyhow::Result<_>>()?;
            let (auroc, gap) = cxr_evaluate::tables::across_models(&docs);
            cxr_core::write_atomic(&a.out.join("models_macro_auroc.csv"), auroc.as_bytes())?;
            cxr_core::write_atomic(&a.out.join("models_macro_gap.csv"), gap.as_bytes())?;
            print!("{auroc}");
            eprintln!("tables: {} and {}", a.out.join("models_macro_auroc.csv").display(), a.out.join("models_macro_gap.csv").display());
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match dispatch(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}
