//! Preprocessing as an experimental variable, end to end: one implementation for training and
//! evaluation under every strategy, histogram landmarks learned by training and carried by the
//! card, and HDF5 caches that give the same tensors as decoding on both sides.

use super::support::{ok, run, s};
use cxr_core::{Aspect, Depth, Intensity, LabelPolicy, PreprocessConfig, PreprocessSpec, PreprocessStrategy, ResizeFilter, SHARED9, SourceId};
use cxr_data::{DatasetSplit, ReadOptions, open_dataset};
use cxr_train::batches::{Feed, load_batch};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn phantom(dir: &Path, size: &str, train: &str) -> cxr_data::phantom::PhantomSummary {
    let out = ok(
        &run(
            "cxr-data",
            &[
                "phantom",
                s(dir),
                "--size",
                size,
                "--train-patients",
                train,
                "--valid-patients",
                "6",
                "--nih-patients",
                "6",
                "--mimic-patients",
                "3",
                "--padchest-patients",
                "4",
                "--vindr-images",
                "3",
                "--brax-patients",
                "3",
            ],
        ),
        "phantom",
    );
    serde_json::from_str(&out).expect("phantom summary")
}

/// Every strategy (and the other axes) on every site: training's batches and the evaluator's
/// inputs are the same numbers, with and without a cache.
#[test]
fn every_strategy_gives_identical_tensors_in_training_and_evaluation() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sum = phantom(&tmp.path().join("p"), "48", "6");
    let opts = ReadOptions { frontal_only: true, locate_images: true, ..ReadOptions::default() };
    let chexpert = open_dataset(SourceId::Chexpert, &sum.chexpert_root, DatasetSplit::All, &opts).expect("chexpert");
    let mut specs: Vec<PreprocessSpec> = cxr_core::PREPROCESS_STRATEGIES
        .iter()
        .map(|n| {
            let strategy: PreprocessStrategy = serde_json::from_value(serde_json::json!(n)).expect("strategy");
            let mut spec = PreprocessConfig { strategy: Some(strategy), ..PreprocessConfig::default() }.resolve(36, 3).expect("resolve");
            if spec.needs_fitting() {
                let fit = cxr_data::fit_landmarks(&spec, &chexpert.records, &|| {}).expect("fit");
                spec.intensity = Intensity::Histogram { landmarks: Some(fit.landmarks) };
            }
            spec
        })
        .collect();
    let base = PreprocessSpec::default_for(32, 1);
    specs.extend([
        base,
        PreprocessSpec { aspect: Aspect::Pad, filter: ResizeFilter::Bicubic, ..base },
        PreprocessSpec { aspect: Aspect::Crop, filter: ResizeFilter::Lanczos3, depth: Depth::Eight, ..base },
        PreprocessSpec { intensity: Intensity::Clahe { tiles: [3, 5], clip_limit: 3.0 }, normalization: cxr_core::Normalization::Imagenet, ..base },
    ]);
    let mut sites = vec![(SourceId::Chexpert, sum.chexpert_root.clone(), DatasetSplit::Valid)];
    for e in &sum.external {
        sites.push((SourceId::parse(&e.dataset).expect("source"), e.root.clone(), DatasetSplit::All));
    }
    let labels = SHARED9.to_vec();
    let mut compared = 0;
    for (src, root, split) in &sites {
        let ds = open_dataset(*src, root, *split, &opts).expect("open");
        let manifest = open_dataset(*src, root, *split, &ReadOptions { manifest_only: true, ..opts.clone() }).expect("manifest");
        assert_eq!(manifest.records, ds.records, "{src}: the evaluator's manifest sees the same images");
        let idx: Vec<usize> = (0..ds.len()).collect();
        for spec in &specs {
            let train = load_batch(&ds, &idx, &Feed::plain(spec, 0), &LabelPolicy::default(), &labels).unwrap_or_else(|e| panic!("{src} {spec:?}: {e}"));
            let eval: Vec<f32> = cxr_evaluate::infer::dataset_inputs(&manifest).iter().flat_map(|i| cxr_evaluate::infer::prepare(spec, i).expect("eval path").1).collect();
            assert!(train.images == eval, "{src}: training and evaluation tensors differ under {spec:?}");
            compared += 1;
        }
        // Through a cache: the same numbers on both sides.
        let spec = &specs[7];
        let cache_path = tmp.path().join(format!("{src}.h5"));
        cxr_data::cache::build_cache(&cache_path, spec, &ds, cxr_data::cache::CacheDtype::Auto, &|| {}).expect("cache");
        let cache = cxr_data::ImageCache::open(&cache_path, spec).expect("open cache");
        let decoded = load_batch(&ds, &idx, &Feed::plain(spec, 0), &LabelPolicy::default(), &labels).expect("decoded");
        let cached = load_batch(&ds, &idx, &Feed { cache: Some(&cache), ..Feed::plain(spec, 0) }, &LabelPolicy::default(), &labels).expect("cached");
        assert!(decoded.images == cached.images, "{src}: the cache changes training tensors");
        let caches = cxr_evaluate::caches::Caches::open(&[cache_path], spec).expect("eval caches");
        let eval: Vec<f32> = cxr_evaluate::infer::dataset_inputs(&manifest).iter().flat_map(|i| cxr_evaluate::infer::prepare_cached(spec, i, &caches).expect("eval").1).collect();
        assert!(eval == decoded.images, "{src}: the cache changes evaluation tensors");
        assert_eq!(caches.hits(), ds.len(), "{src}: every image came from the cache");
    }
    assert_eq!(compared, sites.len() * specs.len());
}

fn json(p: &Path) -> Value {
    serde_json::from_str(&fs_err::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).expect("json")
}

/// Histogram standardization after an adaptive ROI crop, with augmentation: training learns the
/// landmarks, the card carries them, a cache built from the run or the card serves training and
/// evaluation with the same results as decoding, and a cache for another spec is refused.
#[test]
fn histogram_landmarks_travel_to_the_card_and_caches_change_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sum = phantom(&tmp.path().join("p"), "40", "30");
    let root = sum.chexpert_root.clone();
    let cfg = tmp.path().join("cfg.toml");
    fs_err::write(&cfg, "[model]\narch = \"resnet18\"\nimage_size = 32\n[data]\nval_fraction = 0.3\n[train]\nepochs = 1\nbatch_size = 8\nlr = 0.002\nseed = 3\n[train.augment]\nrotation_degrees = 5.0\n[preprocess]\nstrategy = \"roi_histogram\"\naspect = \"pad\"\n").expect("cfg");
    let train = |runs: &str, cache: Option<&Path>| {
        let mut a = vec!["run", "--config", s(&cfg), "--train-root", s(&root)];
        let runs = tmp.path().join(runs);
        a.extend(["--runs-dir", s(&runs)]);
        if let Some(c) = cache {
            a.extend(["--cache", s(c)]);
        }
        PathBuf::from(ok(&run("cxr-train", &a), "cxr-train run").trim())
    };
    let plain = train("a", None);
    let fit = json(&plain.join(cxr_core::PREPROCESS_FIT_FILE));
    let landmarks = fit["spec"]["intensity"]["landmarks"].clone();
    assert_eq!(landmarks.as_array().map(Vec::len), Some(11), "{fit}");
    assert!(fit["fit"]["images"].as_u64().unwrap_or(0) > 10, "{fit}");

    // A cache of the training site built from the run directory's completed spec.
    let cache = tmp.path().join("train.h5");
    let build = |spec: &Path, out: &Path, extra: &[&str]| {
        let mut a = vec!["cache", "build", "--dataset", "chexpert", "--root", s(&root), "--spec", s(spec), "--out", s(out)];
        a.extend(extra);
        run("cxr-data", &a)
    };
    let r: Value = serde_json::from_str(&ok(&build(&plain, &cache, &[]), "cache build")).expect("report");
    assert_eq!((r["written_now"].as_u64(), r["failed"].as_array().map(Vec::len), r["dtype"].as_str()), (r["images"].as_u64(), Some(0), Some("uint8")), "{r}");
    let again: Value = serde_json::from_str(&ok(&build(&plain, &cache, &[]), "cache rebuild")).expect("report");
    assert_eq!(again["already_complete"], true);
    // The same file for another spec is refused: specs never mix.
    let other = tmp.path().join("other.toml");
    fs_err::write(&other, fs_err::read_to_string(&cfg).expect("cfg").replace("roi_histogram", "clahe")).expect("other");
    let mixed = build(&other, &cache, &[]);
    assert_eq!(mixed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&mixed.stderr).contains("different preprocessing"), "{}", String::from_utf8_lossy(&mixed.stderr));
    // A spec that still has to learn landmarks cannot be cached.
    let unfitted = build(&cfg, &tmp.path().join("x.h5"), &[]);
    assert!(!unfitted.status.success() && String::from_utf8_lossy(&unfitted.stderr).contains("learns its landmarks"), "{}", String::from_utf8_lossy(&unfitted.stderr));

    // Training through the cache: same run, same weights, bit for bit (augmentation included).
    let cached = train("b", Some(&cache));
    assert_eq!(cached.file_name(), plain.file_name());
    let w = |d: &Path| {
        let mut m = cxr_models::build("resnet18", 9, 1, 0.0, &burn::prelude::Device::flex()).expect("model");
        cxr_models::checkpoint::load_bytes(&mut m, fs_err::read(d.join("checkpoint.bpk")).expect("checkpoint")).expect("load");
        cxr_models::checkpoint::weights_blake3(&m)
    };
    assert_eq!(w(&plain), w(&cached), "a cache changed the trained weights");
    let served = json(&cached.join("provenance.json"))["cache"]["reads_served"].as_u64().unwrap_or(0);
    assert!(served >= r["images"].as_u64().unwrap_or(u64::MAX), "the cached run read its images from the cache: {served} reads");

    // The card carries the landmarks as learned.
    ok(&run("cxr-export", &["run", s(&plain)]), "cxr-export run");
    let card = json(&plain.join("model_card.json"));
    assert_eq!(card["preprocess"]["intensity"]["landmarks"], landmarks);
    assert_eq!(card["preprocess"]["roi"]["mode"], "adaptive");

    // Evaluation with a cache built from the card equals evaluation without one.
    let valid_cache = tmp.path().join("valid.h5");
    ok(&build(&plain.join("model_card.json"), &valid_cache, &["--split", "valid"]), "cache build from the card");
    let eval = |out: &str, cache: Option<&Path>| {
        let internal = format!("chexpert={}", s(&root));
        let out = tmp.path().join(out);
        let model = plain.join("model.onnx");
        let mut a = vec!["run", "--model", s(&model), "--internal", &internal, "--out", s(&out)];
        if let Some(c) = cache {
            a.extend(["--cache", s(c)]);
        }
        ok(&run("cxr-eval", &a), "cxr-eval run");
        out
    };
    let (e1, e2) = (eval("e1", None), eval("e2", Some(&valid_cache)));
    let r1 = json(&e1.join("results.json"));
    let r2 = json(&e2.join("results.json"));
    assert_eq!(r1, r2, "the cache changed the results");
    let prov = json(&e2.join("provenance.json"));
    let n = prov["inference"][0]["images_run"].as_u64();
    assert!(n.unwrap_or(0) > 0 && prov["inference"][0]["from_cache"].as_u64() == n, "{}", prov["inference"]);
    // A cache for another spec is refused by the evaluator, naming both keys.
    let clahe_cache = tmp.path().join("clahe.h5");
    ok(&build(&other, &clahe_cache, &["--split", "valid"]), "cache build for another spec");
    let bad = run("cxr-eval", &["run", "--model", s(&plain.join("model.onnx")), "--internal", &format!("chexpert={}", s(&root)), "--out", s(&tmp.path().join("e3")), "--cache", s(&clahe_cache)]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(bad.status.code() == Some(1) && err.contains("different preprocessing") && err.contains("cache key"), "{err}");
}
