//! Burn vs ONNX Runtime: every primitive of the `Ops` vocabulary, and every registered variant
//! end to end through the exporter's gate (BatchNorm running statistics ≠ (0, 1), dropout > 0).

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::TensorData;
use cxr_core::{ModelCard, RawConfig};
use cxr_export::parity::synthetic_input;
use cxr_export::perturb::randomize_batch_norm;
use cxr_export::pipeline::{ExportOptions, export_model, make_card};
use cxr_models::{BurnOps, OnnxOps, Ops, build, check_arch, variants};
use ort::value::TensorRef;

/// A primitive (or a small composition) run through any `Ops`.
trait Prim {
    fn run<O: Ops>(&self, o: &mut O, x: O::T) -> O::T;
}

fn env() -> &'static ort::environment::Environment {
    &cxr_runtime::init(Some(&super::support::ort_lib())).expect("ONNX Runtime").1
}

/// Run `p` on Burn and on ONNX Runtime and compare elementwise with the exporter's tolerance.
fn compare<P: Prim>(name: &str, p: &P, shape: [usize; 4]) {
    let input = synthetic_input(42, shape.iter().product(), 1, 1);
    let x = Tensor::<4>::from_data(TensorData::new(input.clone(), shape), &Device::flex());
    let want = p.run(&mut BurnOps, x);
    let dims: Vec<usize> = want.dims().to_vec();
    let want: Vec<f32> = want.into_data().try_to_vec::<f32>().expect("f32");
    let mut o = OnnxOps::new();
    let y = p.run(&mut o, "x".to_string());
    let mut g = o.finish().expect("lowering");
    g.output_alias(&y, "y");
    let idims: Vec<Option<i64>> = shape.iter().map(|&d| Some(d as i64)).collect();
    let odims: Vec<Option<i64>> = dims.iter().map(|&d| Some(d as i64)).collect();
    let bytes = g.finish(name, ("x", &idims), &[("y", odims)], &[], "test").expect("serialize");
    let mut session = cxr_runtime::session(env(), &bytes, cxr_runtime::Provider::Cpu, 1).expect("session");
    let outs = session.run(ort::inputs!["x" => TensorRef::from_array_view((shape, &input[..])).expect("input")]).expect("run");
    let (oshape, got) = outs["y"].try_extract_tensor::<f32>().expect("output");
    assert_eq!(oshape.iter().map(|&d| d as usize).collect::<Vec<_>>(), dims, "{name}: shape");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() <= 1e-4 + 1e-3 * w.abs(), "{name}: element {i}: ORT {g} vs Burn {w}");
    }
}

struct ConvCase(Conv2d);
impl Prim for ConvCase {
    fn run<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        o.conv2d("conv", &self.0, x)
    }
}

#[test]
fn conv_grouped_strided_padded_dilated() {
    let d = Device::flex();
    let grouped = Conv2dConfig::new([4, 6], [3, 3]).with_stride([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).with_groups(2).init(&d);
    compare("conv_grouped", &ConvCase(grouped), [2, 4, 9, 9]);
    let dilated = Conv2dConfig::new([3, 5], [3, 3]).with_dilation([2, 2]).with_padding(PaddingConfig2d::Explicit(2, 1, 2, 1)).with_bias(false).init(&d);
    compare("conv_dilated_asymmetric", &ConvCase(dilated), [1, 3, 10, 10]);
    let stem = Conv2dConfig::new([1, 8], [7, 7]).with_stride([2, 2]).with_padding(PaddingConfig2d::Explicit(3, 3, 3, 3)).init(&d);
    compare("conv_stem", &ConvCase(stem), [2, 1, 16, 16]);
}

struct BnCase(BatchNorm);
impl Prim for BnCase {
    fn run<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        let y = o.batch_norm("bn", &self.0, x);
        o.relu(y)
    }
}

#[test]
fn batch_norm_uses_running_statistics() {
    let bn = randomize_batch_norm(BatchNormConfig::new(5).init(&Device::flex()));
    let mean: Vec<f32> = bn.running_mean.value().into_data().try_to_vec().expect("f32");
    assert!(mean.iter().any(|m| m.abs() > 1e-3), "running mean must not be zero in this test");
    compare("batch_norm", &BnCase(bn), [3, 5, 4, 4]);
}

struct PoolCase(MaxPool2d, AvgPool2d);
impl Prim for PoolCase {
    fn run<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        let a = o.max_pool(&self.0, x.clone());
        let b = o.avg_pool(&self.1, x);
        o.concat(&[a, b])
    }
}

#[test]
fn pools_and_concat() {
    let max = MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init();
    let avg = AvgPool2dConfig::new([3, 3]).with_strides([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init();
    compare("pools_padded", &PoolCase(max, avg), [2, 3, 9, 9]);
    let max = MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init();
    let avg = AvgPool2dConfig::new([2, 2]).with_strides([2, 2]).init();
    compare("pools_plain", &PoolCase(max, avg), [1, 2, 8, 8]);
}

struct ResidualCase(Conv2d, Conv2d);
impl Prim for ResidualCase {
    fn run<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        let a = o.conv2d("a", &self.0, x.clone());
        let b = o.conv2d("b", &self.1, x);
        let s = o.add(a, b);
        o.relu(s)
    }
}

#[test]
fn add_and_relu() {
    let d = Device::flex();
    let c = || Conv2dConfig::new([3, 4], [1, 1]).init(&d);
    compare("residual", &ResidualCase(c(), c()), [2, 3, 5, 5]);
}

struct CamCase(Linear);
impl Prim for CamCase {
    fn run<O: Ops>(&self, o: &mut O, x: O::T) -> O::T {
        o.class_maps("fc", &self.0, x)
    }
}

#[test]
fn class_maps_are_the_head_applied_per_position() {
    compare("cam", &CamCase(LinearConfig::new(6, 3).init(&Device::flex())), [2, 6, 3, 3]);
}

fn card_for(arch: &str, size: u32, dropout: f64) -> ModelCard {
    let raw = RawConfig::from_toml(&format!(
        "[model]\narch = \"{arch}\"\nimage_size = {size}\ndropout = {dropout}\n[train]\nepochs = 1\nbatch_size = 2\nlr = 0.001\n"
    ))
    .expect("config");
    let run = raw.resolve(|a| check_arch(a).map(|_| ()).map_err(|e| e.to_string()), "test").expect("resolve");
    let ops = run.labels.iter().map(|&f| cxr_core::OperatingPoint { finding: f, threshold: Some(0.5), youden_j: None, n_positive: 0, n_negative: 0 }).collect();
    make_card(&run, ops, "test".into(), 0, None)
}

fn onnx_checker(bytes: &[u8]) {
    let Some(py) = std::env::var_os("CXR_ONNX_PYTHONPATH") else {
        assert!(std::env::var("CXR_REQUIRE_ONNX_CHECKER").as_deref() != Ok("1"), "CXR_REQUIRE_ONNX_CHECKER=1 but CXR_ONNX_PYTHONPATH is unset");
        eprintln!("SKIP onnx.checker: CXR_ONNX_PYTHONPATH unset (scripts/setup.sh --with-onnx-checker installs it)");
        return;
    };
    let f = tempfile::NamedTempFile::new().expect("tmp");
    fs_err::write(f.path(), bytes).expect("write");
    let out = std::process::Command::new("python3")
        .args(["-c", "import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", super::support::s(f.path())])
        .env("PYTHONPATH", py)
        .output()
        .expect("python3");
    assert!(out.status.success(), "onnx.checker full_check failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn every_registered_variant_passes_the_gate_and_the_onnx_checker() {
    let opts = ExportOptions { ort_lib: Some(super::support::ort_lib()), threads: 2 };
    for v in variants() {
        let d = Device::flex();
        d.seed(7);
        let mut card = card_for(v.name, 64, 0.2);
        let model = build(v.name, card.labels.len(), 1, 0.2, &d).expect("build");
        let model = randomize_batch_norm(model).valid();
        let (bytes, report) = export_model(&model, &mut card, &opts).unwrap_or_else(|e| panic!("{}: {e:#}", v.name));
        let outputs = if card.outputs.cam_support == cxr_core::CamSupport::Unsupported { 4 } else { 5 };
        assert!(report.passed && report.outputs.len() == outputs, "{}: {report:?}", v.name);
        assert_eq!(report.batch_sizes, vec![1, 3], "the gate must exercise the dynamic batch axis");
        let eff = card.efficiency.as_ref().expect("the card records params and MACs");
        assert_eq!(eff.params, cxr_models::trainable_params(&model) as u64, "{}", v.name);
        assert!(eff.macs > 0 && eff.input == [1, 64, 64], "{}: {eff:?}", v.name);
        onnx_checker(&bytes);
    }
}

#[test]
fn the_gate_fails_when_onnx_and_burn_disagree() {
    let d = Device::flex();
    d.seed(1);
    let mut card = card_for("resnet18", 32, 0.0);
    let a = randomize_batch_norm(build("resnet18", 9, 1, 0.0, &d).expect("build")).valid();
    let b = randomize_batch_norm(build("resnet18", 9, 1, 0.0, &d).expect("build")).valid();
    let opts = ExportOptions { ort_lib: Some(super::support::ort_lib()), threads: 1 };
    let (bytes, _) = export_model(&a, &mut card, &opts).expect("export a");
    let mut session = cxr_runtime::session(env(), &bytes, cxr_runtime::Provider::Cpu, 1).expect("session");
    let report = cxr_export::parity::check(&b, &mut session, &card, cxr_export::pipeline::TOLERANCE, &[2], 3).expect("check");
    assert!(!report.passed, "a graph of other weights must fail the gate");
    assert!(report.outputs.iter().any(|o| o.violations > 0));
}

/// The exporter's MAC count at each variant's reference input (3 channels, 1000 classes) is
/// within 2% of the published figure (methods.md §6). RepVGG's figure is its multi-branch
/// training form; the exported deploy form is cheaper by exactly the folded branches.
#[test]
fn macs_match_the_published_figures() {
    use cxr_export::graph::{FeatureShape, to_onnx, to_onnx_training_form};
    let d = Device::flex();
    let mut report = Vec::new();
    for v in variants() {
        let model = build(v.name, 1000, 3, 0.0, &d).expect("build");
        let mut card = card_for(v.name, v.default_size, 0.0);
        card.preprocess.channels = 3;
        let feat = FeatureShape { channels: model.backbone.info().num_features, height: 1, width: 1 };
        let s = i64::from(v.default_size);
        let bytes = to_onnx_training_form(&model, &card, feat).expect("graph");
        let macs = cxr_export::macs::count(&bytes, "logits", [3, s, s]).expect("count") as f64 / 1e9;
        let rel = (macs - v.reference_gmacs).abs() / v.reference_gmacs;
        report.push(format!("{} {macs:.3} vs {:.3} ({:+.2}%)", v.name, v.reference_gmacs, 100.0 * (macs - v.reference_gmacs) / v.reference_gmacs));
        assert!(rel <= 0.02, "{}: {macs:.4} GMACs at {} vs published {}", v.name, v.default_size, v.reference_gmacs);
        if v.name == "repvgg_b0" {
            let deploy = cxr_export::macs::count(&to_onnx(&model, &card, feat).expect("graph"), "logits", [3, s, s]).expect("count") as f64 / 1e9;
            assert!(deploy < macs * 0.95 && deploy > macs * 0.85, "deploy form {deploy} vs training form {macs}");
        }
    }
    eprintln!("{}", report.join("\n"));
}
