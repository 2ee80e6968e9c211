//! Frozen by construction: the evaluator's dependency closure holds no Burn, no onnx-ir, no model
//! or training crate, and ort is built without training or binary downloads.

use cargo_metadata::{DependencyKind, MetadataCommand, PackageId};
use std::collections::{HashMap, HashSet};

fn metadata() -> cargo_metadata::Metadata {
    MetadataCommand::new().manifest_path(super::support::workspace().join("Cargo.toml")).exec().expect("cargo metadata")
}

fn normal_closure(meta: &cargo_metadata::Metadata, root: &str) -> HashSet<String> {
    let resolve = meta.resolve.as_ref().expect("resolve");
    let nodes: HashMap<&PackageId, &cargo_metadata::Node> = resolve.nodes.iter().map(|n| (&n.id, n)).collect();
    let name_of: HashMap<&PackageId, &str> = meta.packages.iter().map(|p| (&p.id, p.name.as_str())).collect();
    let start = meta.packages.iter().find(|p| p.name.as_str() == root).expect("package").id.clone();
    let mut seen = HashSet::new();
    let mut stack = vec![start];
    while let Some(id) = stack.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        for dep in &nodes[&id].deps {
            if dep.dep_kinds.iter().any(|k| k.kind == DependencyKind::Normal) {
                stack.push(dep.pkg.clone());
            }
        }
    }
    seen.iter().map(|id| name_of[id].to_string()).collect()
}

#[test]
fn evaluator_links_no_burn_no_onnx_writer_and_no_training_code() {
    let meta = metadata();
    let closure = normal_closure(&meta, "cxr-evaluate");
    assert!(closure.contains("ort"), "the evaluator must use ONNX Runtime: {closure:?}");
    let forbidden: Vec<&String> = closure.iter().filter(|n| n.starts_with("burn") || *n == "onnx-ir" || ["cxr-models", "cxr-onnx", "cxr-train", "cxr-export"].contains(&n.as_str())).collect();
    assert!(forbidden.is_empty(), "cxr-evaluate depends on {forbidden:?}");
}

/// The evaluator built on its own (as on a hospital inference box) links no libhdf5: the image
/// cache is an opt-in feature. `cargo tree -p` resolves features for that package alone, unlike
/// the workspace-wide metadata above.
#[test]
fn the_evaluator_links_hdf5_only_with_its_cache_feature() {
    let tree = |features: &[&str]| {
        let mut c = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        c.current_dir(super::support::workspace()).args(["tree", "--offline", "-p", "cxr-evaluate", "-e", "normal", "--prefix", "none"]).args(features);
        let out = c.output().expect("cargo tree");
        assert!(out.status.success(), "cargo tree: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let plain = tree(&[]);
    assert!(plain.contains("cxr-data") && !plain.contains("hdf5"), "the default evaluator build pulls HDF5:\n{plain}");
    assert!(tree(&["--features", "cache"]).contains("hdf5-metno"), "the cache feature should bring HDF5");
}

#[test]
fn ort_never_has_training_or_download_features() {
    let meta = metadata();
    let resolve = meta.resolve.as_ref().expect("resolve");
    let ort_ids: Vec<&PackageId> = meta.packages.iter().filter(|p| p.name.as_str() == "ort").map(|p| &p.id).collect();
    assert!(!ort_ids.is_empty());
    for node in resolve.nodes.iter().filter(|n| ort_ids.contains(&&n.id)) {
        let features: Vec<String> = node.features.iter().map(ToString::to_string).collect();
        for bad in ["training", "download-binaries", "fetch-models", "copy-dylibs"] {
            assert!(!features.iter().any(|f| f == bad), "ort feature {bad} is enabled: {features:?}");
        }
        assert!(features.iter().any(|f| f == "load-dynamic"), "ort must load the runtime dynamically: {features:?}");
    }
}

#[test]
fn models_and_export_ask_for_no_autodiff_and_train_links_no_onnx() {
    let meta = metadata();
    // Cargo unifies features across a workspace build, so the check is on what each crate asks
    // for: a model definition is initialisation plus forward, never autodiff or optimizers.
    for pkg in ["cxr-models", "cxr-export"] {
        let p = meta.packages.iter().find(|p| p.name.as_str() == pkg).expect("package");
        let burn = p.dependencies.iter().find(|d| d.name == "burn").expect("burn dependency");
        for bad in ["autodiff", "train", "optim"] {
            assert!(!burn.features.iter().any(|f| f == bad), "{pkg} enables burn/{bad}");
        }
    }
    // Training never touches ONNX: no ONNX Runtime anywhere below it, and no direct use of the
    // graph writer (cxr-models carries cxr-onnx for its `OnnxOps`, which training never calls).
    let t = normal_closure(&meta, "cxr-train");
    for bad in ["ort", "cxr-export", "cxr-runtime"] {
        assert!(!t.contains(bad), "cxr-train depends on {bad}");
    }
    let train = meta.packages.iter().find(|p| p.name.as_str() == "cxr-train").expect("cxr-train");
    for bad in ["cxr-onnx", "onnx-ir", "ort"] {
        assert!(!train.dependencies.iter().any(|d| d.name == bad), "cxr-train depends directly on {bad}");
    }
    let d = normal_closure(&meta, "cxr-data");
    assert!(!d.iter().any(|n| n.starts_with("burn") || n == "ort"), "cxr-data depends on Burn or ORT");
}
